"""The table cache: reused only while every file is byte-identical; never trusted when broken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import evidence.library.table as table_module
from evidence.library.table import load_table
from evidence.progress import Progress

ENTRY = "@article{{k{n}, author = {{Li, X.}}, title = {{T{n}}}, journal = {{J}}, year = 2000, n = {{{value}}}}}\n"


def write(folder: Path, name: str, *values: int) -> Path:
    path = folder / name
    path.write_text("".join(ENTRY.format(n=f"{name[0]}{i}", value=v) for i, v in enumerate(values)))
    return path


def count_parses(monkeypatch) -> list[Path]:
    parsed: list[Path] = []
    original = table_module.read_file_columns

    def counting(path, progress=None, *args):
        parsed.append(Path(path))
        return original(path, progress, *args)

    monkeypatch.setattr(table_module, "read_file_columns", counting)
    return parsed


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch, private_cache_dir):
    write(tmp_path, "a.bib", 10, 20)
    parsed = count_parses(monkeypatch)
    first = load_table([tmp_path])
    second = load_table([tmp_path])
    assert parsed == [tmp_path / "a.bib"]
    assert second.table.equals(first.table)
    assert list(private_cache_dir.glob("file-*.cache")) and not (tmp_path / ".evidence-cache").exists()


def test_same_size_edit_in_the_same_second_is_seen(tmp_path):
    path = write(tmp_path, "a.bib", 10)
    assert load_table([tmp_path]).table["n"].tolist() == [10]
    stat = path.stat()
    path.write_text(path.read_text().replace("{10}", "{90}"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert load_table([tmp_path]).table["n"].tolist() == [90]


def test_editing_one_file_reparses_only_that_file(tmp_path, monkeypatch):
    write(tmp_path, "a.bib", 1)
    b = write(tmp_path, "b.bib", 2)
    load_table([tmp_path])
    parsed = count_parses(monkeypatch)
    b.write_text(b.read_text().replace("{2}", "{3}"))
    result = load_table([tmp_path])
    assert parsed == [b]
    assert result.table["n"].tolist() == [1, 3]


def test_duplicate_keys_across_files_are_still_reported_from_cache(tmp_path):
    (tmp_path / "a.bib").write_text(ENTRY.format(n="x", value=1))
    (tmp_path / "b.bib").write_text(ENTRY.format(n="x", value=2))
    for _ in range(2):
        result = load_table([tmp_path])
        assert result.table["n"].tolist() == [1]
        assert [p.message.split(",")[0] for p in result.problems] == ["duplicate key"]


def test_corrupt_cache_is_ignored_with_a_note_and_rebuilt(tmp_path, private_cache_dir):
    write(tmp_path, "a.bib", 5)
    load_table([tmp_path])
    for cache_file in private_cache_dir.glob("*.cache"):
        cache_file.write_bytes(b"not a pickle")
    result = load_table([tmp_path])
    assert result.table["n"].tolist() == [5]
    assert result.notes and "ignored and rebuilt" in result.notes[0]
    assert load_table([tmp_path]).notes == []


def test_truncated_cache_is_ignored_with_a_note_and_rebuilt(tmp_path, private_cache_dir):
    write(tmp_path, "a.bib", 5, 6)
    load_table([tmp_path])
    (cache_file,) = private_cache_dir.glob("file-*.cache")
    cache_file.write_bytes(cache_file.read_bytes()[:-40])
    result = load_table([tmp_path])
    assert result.table["n"].tolist() == [5, 6]
    assert "ignored and rebuilt" in result.notes[0]


def test_cache_of_another_format_version_is_rebuilt(tmp_path, monkeypatch):
    import evidence.library.cache

    write(tmp_path, "a.bib", 5)
    load_table([tmp_path])
    monkeypatch.setattr(evidence.library.cache, "FORMAT", evidence.library.cache.FORMAT + 1)
    monkeypatch.setattr(
        evidence.library.cache.Cache, "_path", lambda self, kind, signatures: next(self.folder.glob(f"{kind}-*"))
    )
    result = load_table([tmp_path])
    assert result.table["n"].tolist() == [5]
    assert "stale format" in result.notes[0]


def test_a_change_to_the_row_building_code_is_never_served_old_rows(tmp_path, monkeypatch):
    """The cache key holds a digest of the code that builds rows: a fix to entry_record is seen at once."""
    import evidence.library.cache

    write(tmp_path, "a.bib", 5)
    assert load_table([tmp_path]).table["title"].tolist() == ["Ta0"]
    original = table_module.entry_record

    def shouting(entry):
        row, problems = original(entry)
        return {**row, "title": row["title"].upper()}, problems

    monkeypatch.setattr(table_module, "entry_record", shouting)
    monkeypatch.setattr(evidence.library.cache, "build_id", lambda: "another build of the code")
    assert load_table([tmp_path]).table["title"].tolist() == ["TA0"]


def test_the_build_id_covers_versions_and_code():
    from evidence.library.cache import _package_version, build_id

    assert len(build_id()) == 64
    assert _package_version("bibtexparser").startswith("bibtexparser-2.")


@pytest.mark.parametrize("cached", [False, True])
def test_a_column_subset_is_the_same_from_the_cache_and_from_the_files(tmp_path, cached):
    write(tmp_path, "a.bib", 10, 20, 30)
    full = load_table([tmp_path], use_cache=False).table
    if cached:
        load_table([tmp_path])
    subset = load_table([tmp_path], use_cache=cached, columns=["n", "title", "design"]).table
    assert list(subset.columns) == ["key", "title", "design", "n"]
    assert subset.equals(full[["key", "title", "design", "n"]])
    assert subset.dtypes.equals(full.dtypes[["key", "title", "design", "n"]])


def test_unknown_columns_are_refused(tmp_path):
    write(tmp_path, "a.bib", 1)
    with pytest.raises(ValueError, match="not table columns: nope"):
        load_table([tmp_path], columns=["n", "nope"])


def test_a_cache_that_cannot_be_written_leaves_no_temporary_file(tmp_path, monkeypatch, private_cache_dir):
    import evidence.library.cache

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    write(tmp_path, "a.bib", 5)
    monkeypatch.setattr(evidence.library.cache.os, "replace", full_disk)
    result = load_table([tmp_path])
    assert result.table["n"].tolist() == [5]
    assert result.notes == [f"cannot write cache in {private_cache_dir}: No space left on device"]
    assert [p.name for p in private_cache_dir.iterdir()] == ["key"]


def test_no_cache_writes_nothing(tmp_path, private_cache_dir):
    write(tmp_path, "a.bib", 5)
    assert load_table([tmp_path], use_cache=False).table["n"].tolist() == [5]
    assert list(private_cache_dir.iterdir()) == []


def test_cli_no_cache_option(tmp_path, private_cache_dir):
    from click.testing import CliRunner

    from evidence.cli import cli

    write(tmp_path, "a.bib", 5)
    result = CliRunner().invoke(
        cli, ["query", "--refs", str(tmp_path), "--no-cache", "--format", "csv", "--columns", "n"]
    )
    assert result.stdout.splitlines() == ["n", "5"]
    assert list(private_cache_dir.iterdir()) == []


def test_start_up_imports_no_heavy_library():
    code = (
        "import sys, evidence.cli\n"
        "heavy = [m for m in ('pandas', 'statsmodels', 'matplotlib', 'citeproc', 'rich', 'bibtexparser') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == ""


def test_progress_is_silent_when_disabled_or_quick():
    with Progress(enabled=False) as off:
        off("reading", 1, 10)
        assert off._bar is None
    with Progress(enabled=True, delay=3600) as quick:
        quick("reading", 1, 10)
        assert quick._bar is None
    with Progress(enabled=True, delay=0) as slow:
        slow("reading", 1, 10)
        assert slow._bar is not None


def test_progress_bar_appears_during_one_long_step():
    """bibtexparser reports nothing while it splits a large file; the bar must still come up."""
    import time

    with Progress(enabled=True, delay=0.3) as progress:
        progress("parsing big.bib", 0, None)
        assert progress._bar is None
        deadline = time.monotonic() + 5
        while progress._bar is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert progress._bar is not None
        assert progress._bar.tasks[0].description == "parsing big.bib"
    assert progress._closed


def test_alternating_sets_of_refs_reuse_each_files_cache(tmp_path, monkeypatch):
    """--refs A --refs B, then --refs A, then both again: every file is parsed once, in any order."""
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir(), b.mkdir()
    write(a, "a.bib", 1)
    write(b, "b.bib", 2)
    parsed = count_parses(monkeypatch)
    assert load_table([a]).table["n"].tolist() == [1]
    assert load_table([a, b]).table["n"].tolist() == [1, 2]
    assert load_table([a]).table["n"].tolist() == [1]
    assert load_table([b, a]).table["n"].tolist() == [2, 1]
    assert load_table([a, b]).table["n"].tolist() == [1, 2]
    assert sorted(p.name for p in parsed) == ["a.bib", "b.bib"]


def test_a_set_of_files_from_per_file_caches_equals_a_fresh_load(tmp_path):
    (tmp_path / "a.bib").write_text(ENTRY.format(n="x", value=1) + ENTRY.format(n="y", value=3))
    (tmp_path / "b.bib").write_text("")
    (tmp_path / "c.bib").write_text(ENTRY.format(n="x", value=2) + ENTRY.format(n="z", value=4))
    fresh = load_table([tmp_path], use_cache=False)
    for path in (tmp_path / "a.bib", tmp_path / "c.bib"):  # per-file caches first, then the set from them
        load_table([path])
    merged = load_table([tmp_path])
    assert merged.table.equals(fresh.table) and merged.table.dtypes.equals(fresh.table.dtypes)
    assert merged.problems == fresh.problems and [p.key for p in merged.problems] == ["kx"]
    again = load_table([tmp_path])  # now from the set's own table cache
    assert again.table.equals(fresh.table) and again.problems == fresh.problems


def test_the_least_recently_used_cache_files_go_past_the_limit(tmp_path, monkeypatch, private_cache_dir):
    import time

    import evidence.library.cache

    monkeypatch.setattr(evidence.library.cache, "MAX_CACHE_FILES", 3)
    files = [write(tmp_path, f"{name}.bib", 1) for name in "abcde"]
    for path in files[:3]:
        load_table([path])
        time.sleep(0.01)
    old = time.time() - 100
    for cache_file in private_cache_dir.glob("file-*.cache"):
        os.utime(cache_file, (old, old))
    load_table([files[0]])  # a.bib used again: now the most recent
    parsed = count_parses(monkeypatch)
    load_table([files[3]])
    load_table([files[4]])
    assert len(list(private_cache_dir.glob("file-*.cache"))) == 3
    load_table([files[0]])
    assert parsed == [files[3], files[4]]  # a.bib still cached; b and c went first


from hypothesis import given, settings
from hypothesis import strategies as st

library_shapes = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 99)), max_size=12
)


@settings(max_examples=40, deadline=None)
@given(library_shapes, st.lists(st.sets(st.integers(0, 3)), max_size=3), st.permutations(range(4)))
def test_any_order_of_cached_loads_equals_a_fresh_load(entries, earlier_sets, order):
    """Tables merged from per-file caches (duplicates across files included) equal a load without any cache."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder, cache = Path(tmp) / "lib", Path(tmp) / "cache"
        folder.mkdir()
        texts = ["" for _ in range(4)]
        seen: set[tuple[int, str]] = set()
        for file, key, value in entries:
            if (file, key) not in seen:  # a key twice in one file is bibtexparser's own error, tested elsewhere
                seen.add((file, key))
                texts[file] += ENTRY.format(n=key, value=value)
        paths = [folder / f"f{i}.bib" for i in range(4)]
        for path, text in zip(paths, texts, strict=True):
            path.write_text(text)
        chosen = [paths[i] for i in order]
        fresh = load_table(chosen, use_cache=False)
        for subset in earlier_sets:
            if subset:
                load_table([paths[i] for i in sorted(subset)], cache_dir=cache)
        for _ in range(2):  # from per-file caches, then from the set's own table
            cached = load_table(chosen, cache_dir=cache)
            assert cached.table.equals(fresh.table) and cached.table.dtypes.equals(fresh.table.dtypes)
            assert cached.problems == fresh.problems and cached.notes == []
