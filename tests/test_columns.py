"""The table built a part of the file at a time equals the table built from all rows at once.

The reference is the simple path: every entry parsed, every row built, then
the table (``read_file_rows``, ``_merge``, ``frame_from_rows``).  The cold
load builds columns part by part instead (``read_file_columns``,
``parallel.file_columns``); these tests hold every column, every dtype and
the problems, in order, to the reference.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA, EXAMPLE_REFS, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parallel import entry, other, separators, string

from bench.generate import generate
from evidence.library import parallel
from evidence.library.cache import Cache
from evidence.library.files import find_bib_files
from evidence.library.table import (
    COLUMNS,
    REPEATED_COLUMNS,
    _merge,
    entry_record,
    frame_from_lists,
    frame_from_rows,
    load_table,
    read_file_rows,
)

BIB_FILES = sorted(find_bib_files([DATA, EXAMPLE_REFS]))


def reference_table(paths: list[Path], names: list[str] | None = None) -> tuple[pd.DataFrame, list]:
    """The table and problems as the simple path builds them: all rows first, then the table."""
    files = find_bib_files(paths)
    result = _merge([read_file_rows(path) for path in files], files, [], names or list(COLUMNS))
    return result.table, result.problems


def assert_same_table(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(table.columns) == list(expected.columns)
    assert [str(t) for t in table.dtypes] == [str(t) for t in expected.dtypes]
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert table.index.tolist() == expected.index.tolist()


def serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", "0")


@pytest.mark.parametrize("path", BIB_FILES, ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.parametrize("chunk", [None, 1, 300])
def test_every_test_library_loads_the_same_table_part_by_part(path, chunk, monkeypatch):
    serial(monkeypatch)
    expected, problems = reference_table([path])
    if chunk is not None:  # parts of one block each (a few hundred characters), or the whole file
        monkeypatch.setattr(parallel, "CHUNK_CHARS", chunk)
    result = load_table([path], use_cache=False)
    assert_same_table(result.table, expected)
    assert result.problems == problems


def test_several_files_with_a_key_in_two_of_them(tmp_path, monkeypatch):
    serial(monkeypatch)
    first = tmp_path / "a.bib"
    first.write_text("@article{same, title = {First}, year = 2001}\n@article{only_a, title = {A}}\n")
    (tmp_path / "b.bib").write_text("@article{same, title = {Second}}\n@misc{only_b, note = {B}}\n")
    expected, problems = reference_table([tmp_path])
    monkeypatch.setattr(parallel, "CHUNK_CHARS", 10)
    result = load_table([tmp_path], use_cache=False)
    assert_same_table(result.table, expected)
    assert result.problems == problems and any("duplicate key, already defined" in p.message for p in problems)
    assert result.table.loc["same", "title"] == "First"


@pytest.mark.parametrize("columns", [["key"], ["title", "year"], ["raw", "authors", "design", "n"]])
def test_only_the_wanted_columns_are_kept(columns, tmp_path, monkeypatch):
    serial(monkeypatch)
    path = tmp_path / "lib.bib"
    path.write_text(generate(60), encoding="utf-8")
    expected, problems = reference_table([path], [c for c in COLUMNS if c in columns or c == "key"])
    monkeypatch.setattr(parallel, "CHUNK_CHARS", 2000)
    result = load_table([path], use_cache=False, columns=columns)
    assert_same_table(result.table, expected)
    assert result.problems == problems


GENERATED = generate(400)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, len(GENERATED)))
def test_the_generated_library_in_parts_of_any_size(chunk):
    """The benchmark's own kind of library (macros, accents, outcome fields), cut anywhere a block starts."""
    columns, problems = parallel.file_columns(GENERATED, "lib.bib", entry_record, COLUMNS, chunk_chars=chunk)
    rows, expected_problems = parallel.file_rows(GENERATED, "lib.bib", entry_record)
    assert_same_table(frame_from_lists(columns), frame_from_rows(rows))
    assert problems == expected_problems


def test_the_generated_library_in_two_processes(tmp_path, monkeypatch):
    path = tmp_path / "lib.bib"
    path.write_text(GENERATED, encoding="utf-8")
    serial(monkeypatch)
    expected, problems = reference_table([path])
    monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", "1")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 1000)
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel, "CHUNK_CHARS", 5000)
    result = load_table([path], use_cache=False)
    assert_same_table(result.table, expected)
    assert result.problems == problems


#: A field that swallowed the next one (a missing comma): a parse problem listed after the failed blocks.
swallowed = st.builds(
    lambda key: f"@article{{{key},\n  volume = {{5}}\n  number = {{4}},\n  year = 2001,\n}}",
    st.integers(0, 10**6).map(lambda n: f"s{n}"),
)
outcome = st.builds(
    lambda key, n, responders: (
        f"@article{{{key},\n  title = {{T}},\n  n = {{{n}}},\n  responders = {{{responders}}},\n}}"
    ),
    st.integers(0, 10**6).map(lambda n: f"o{n}"),
    st.sampled_from(["40", "x", "-1"]),
    st.sampled_from(["27", "50", ""]),
)
blocks = st.lists(st.one_of(entry, entry, entry, string, other, swallowed, outcome), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks, separators, st.booleans(), st.integers(1, 400))
def test_any_file_in_parts_of_any_size_is_the_serial_result(parts, separator, final_newline, chunk):
    """Unclosed blocks at a cut, keys and macros in several parts, failed and swallowed fields: the serial result."""
    text = separator.join(parts) + ("\n" if final_newline else "")
    columns, problems = parallel.file_columns(
        text, "refs/a.bib", entry_record, COLUMNS, repeated=REPEATED_COLUMNS, chunk_chars=chunk
    )
    rows, expected_problems = parallel.file_rows(text, "refs/a.bib", entry_record)
    assert columns == {name: [row[name] for row in rows] for name in COLUMNS}
    assert problems == expected_problems


def test_a_large_file_is_parsed_a_part_at_a_time(monkeypatch):
    """What keeps memory down: no parse sees much more than a part, and the table is still the same."""
    sizes: list[int] = []
    original = parallel.parse_bib_text

    def recording(text, file):
        sizes.append(len(text))
        return original(text, file)

    monkeypatch.setattr(parallel, "parse_bib_text", recording)
    columns, _ = parallel.file_columns(GENERATED, "lib.bib", entry_record, ["key", "source_line"], chunk_chars=5000)
    assert len(sizes) >= len(GENERATED) // 6000 and max(sizes) < 5000 + 2000  # a part, one block more, the macros
    rows, _ = parallel.file_rows(GENERATED, "lib.bib", entry_record)
    assert columns == {"key": [r["key"] for r in rows], "source_line": [r["source_line"] for r in rows]}


def test_repeated_values_are_stored_once():
    columns, _ = parallel.file_columns(
        GENERATED, "lib.bib", entry_record, COLUMNS, repeated=REPEATED_COLUMNS, chunk_chars=3000
    )
    containers = [c for c in columns["container"] if c is not None]
    assert len(containers) > len(set(containers)) > 1
    assert len({id(c) for c in containers}) == len(set(containers))  # one object per distinct journal
    assert len({id(t) for t in columns["title"]}) == len(columns["title"])  # other columns untouched


def test_a_key_defined_in_two_parts_is_reported_as_the_serial_parse_reports_it():
    text = GENERATED + "@article{" + GENERATED.split("@article{", 2)[1].split(",", 1)[0] + ", title = {again}}\n"
    columns, problems = parallel.file_columns(text, "lib.bib", entry_record, COLUMNS, chunk_chars=2000)
    rows, expected = parallel.file_rows(text, "lib.bib", entry_record)
    assert columns["key"] == [row["key"] for row in rows] and problems == expected
    assert any(p.message.startswith("duplicate key") for p in problems)


def test_cache_parts_larger_than_a_pickle_frame_read_back_the_same(tmp_path):
    """Parts are pickled straight into the file: large arrays (written as buffers) and shared strings included."""
    count = 50_000
    parts = {
        "problems": [],
        "year": pd.array(list(range(count)), dtype="Int64"),
        "title": pd.array([f"title {i % 97}" for i in range(count)], dtype="str"),
        "authors": pd.Series([[{"family": "Wang", "given": str(i)}] for i in range(count)], dtype=object).array,
    }
    signature = ("lib.bib", 1, 2, "0" * 64)
    cache = Cache(tmp_path / "cache")
    cache.store("file", [signature], parts)
    loaded = cache.load("file", [signature])
    assert loaded is not None and not cache.notes
    assert pickle.dumps({k: list(v) for k, v in loaded.items()}) == pickle.dumps({k: list(v) for k, v in parts.items()})
    assert cache.load("file", [signature], ["year"]) is not None


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t,
        lambda t: t + "@article{" + t.split("@article{", 2)[1].split(",", 1)[0] + ", title = {again}}\n",
        lambda t: t.replace("\n@", "\n@article{cut, title = {never closed}\n@", 200),
        lambda t: t + "@string{zgzj = {twice}}\n",
    ],
    ids=["clean", "key in both halves", "unclosed blocks", "macro twice"],
)
def test_two_processes_give_the_serial_result_or_fall_back_to_it(change, monkeypatch):
    text = change(GENERATED)
    rows, expected = parallel.file_rows(text, "lib.bib", entry_record)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 1000)
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", "1")
    columns, problems = parallel.file_columns(text, "lib.bib", entry_record, COLUMNS, chunk_chars=7000)
    assert columns == {name: [row[name] for row in rows] for name in COLUMNS}
    assert problems == expected
