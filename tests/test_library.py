"""Loading .bib files: encodings, parse failures, duplicates, provenance."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from conftest import DATA, EXAMPLE_REFS

from evidence.errors import EvidenceError
from evidence.library.files import decode_bib_bytes, find_bib_files, load_entries, parse_bib_text

GOOD = "@article{a2000,\n  title = {A},\n  year = {2000}\n}\n"


def test_messy_file_loads_good_entries_and_reports_the_broken_one():
    result = load_entries([DATA / "library" / "messy.bib"])
    keys = [e.key for e in result.entries]
    assert keys == ["muller2001", "book2010", "fine2020"]
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.key == "broken"
    assert problem.line == 26
    assert problem.severity == "error"
    assert "not closed" in problem.message
    assert str(problem).startswith(f"{DATA / 'library' / 'messy.bib'}:26: broken: error:")


def test_entry_keeps_file_line_raw_text_and_resolved_macros():
    entry = load_entries([DATA / "library" / "messy.bib"]).entries[0]
    assert entry.line == 5
    assert entry.raw.startswith("@Article{muller2001,") and entry.raw.endswith("}")
    assert entry.entry_type == "article"
    assert entry.fields["journal"] == "Journal of Gansu College of {T}raditional {C}hinese {M}edicine"
    assert entry.fields["month"] == "sep"


def test_missing_comma_after_key_is_reported_with_line(tmp_path: Path):
    entries, problems = parse_bib_text("@article{nocomma\n  title = {T}\n}\n" + GOOD, "x.bib")
    assert [e.key for e in entries] == ["a2000"]
    assert problems[0].line == 1 and problems[0].file == "x.bib"
    assert "comma" in problems[0].message.lower()


def test_duplicate_key_in_one_file_and_across_files(write_bib):
    first = write_bib(GOOD + GOOD, "a.bib")
    second = write_bib(GOOD, "b.bib")
    result = load_entries([first.parent])
    assert [e.key for e in result.entries] == ["a2000"]
    messages = sorted((p.file, p.line, p.message) for p in result.problems)
    assert len(messages) == 2
    assert "first defined on line 1" in messages[0][2]
    assert messages[1][0] == str(second) and f"already defined at {first}:1" in messages[1][2]


@pytest.mark.parametrize(
    "encoding,prefix",
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
    ],
)
def test_supported_encodings(tmp_path: Path, encoding: str, prefix: bytes):
    path = tmp_path / "enc.bib"
    path.write_bytes(prefix + "@article{m2000, title = {Müller}, year = 2000}\n".encode(encoding))
    result = load_entries([path])
    assert result.problems == []
    assert result.entries[0].fields["title"] == "Müller"


def test_latin1_file_loads_with_a_warning_naming_its_encoding(tmp_path: Path):
    latin = tmp_path / "latin.bib"
    latin.write_bytes("@article{x, title = {Le café de la gare à Montréal}}\n".encode("latin-1"))
    (tmp_path / "good.bib").write_text(GOOD)
    result = load_entries([tmp_path])
    assert [e.key for e in result.entries] == ["a2000", "x"]
    assert result.entries[1].fields["title"] == "Le café de la gare à Montréal"
    (problem,) = result.problems
    assert problem.file == str(latin) and problem.severity == "warning"
    assert "not UTF-8: read as" in problem.message


def test_undecodable_bytes_name_the_byte_offset(monkeypatch):
    import evidence.library.files as files

    monkeypatch.setattr(files, "_decode_other_encoding", lambda data: None)
    text, problem = decode_bib_bytes(b"@article{x, title = {caf\xe9}}\n", "bad.bib")
    assert text is None and problem is not None and problem.line == 1
    assert "byte offset 24" in problem.message and "0xe9" in problem.message


def test_decode_reports_line_of_bad_byte(monkeypatch):
    import evidence.library.files as files

    monkeypatch.setattr(files, "_decode_other_encoding", lambda data: None)
    text, problem = decode_bib_bytes(b"ok\nok\n\xff", "f.bib")
    assert text is None and problem is not None and problem.line == 3


def test_find_bib_files_recurses_sorted_and_rejects_missing(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bib").write_text(GOOD)
    (tmp_path / "a.bib").write_text(GOOD)
    (tmp_path / "notes.txt").write_text("x")
    assert find_bib_files([tmp_path]) == [tmp_path / "a.bib", tmp_path / "sub" / "b.bib"]
    with pytest.raises(EvidenceError, match="no such file"):
        find_bib_files([tmp_path / "missing"])


def test_example_library_loads_cleanly():
    result = load_entries([EXAMPLE_REFS])
    assert result.problems == []
    assert {"wang1994", "yang1993", "cui2008", "shi2003", "zhou2002", "huang2021"} <= {e.key for e in result.entries}


from hypothesis import given, settings
from hypothesis import strategies as st

bibtex_like = st.lists(
    st.sampled_from(list('@{}(),="#%\\ \nabcxyz0123') + ["@article{", "@string{", "@comment", "title = ", "author = "]),
    max_size=80,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.one_of(bibtex_like, st.text(max_size=200)))
def test_any_text_parses_into_entries_and_problems_without_raising(text: str):
    entries, problems = parse_bib_text(text, "fuzz.bib")
    for problem in problems:
        assert problem.file == "fuzz.bib" and problem.line is not None and problem.line >= 1
    for entry in entries:
        assert entry.raw and entry.line >= 1


def _with_default_stack(text: str) -> list[tuple[str, dict[str, str]]]:
    """What bibtexparser's own default parse stack makes of ``text``."""
    import bibtexparser

    library = bibtexparser.parse_string(text)
    return [(e.key, {f.key.lower(): str(f.value) for f in e.fields}) for e in library.entries]


field_value = st.one_of(
    st.lists(st.sampled_from(list('{}"\\# ab') + ["jr", "JR", "{x}", '"y"', " # "]), max_size=12).map("".join),
    st.sampled_from(["jr", "JR", "mar", "12", "{A} # {B}", '"a" # "b"', "{a}{b}", '{a"b}', '"a{"}b"', "{a\\}"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(field_value, min_size=1, max_size=4))
def test_field_values_are_what_bibtexparsers_default_stack_gives(values: list[str]):
    """Our one-pass @string and enclosing rule must agree with the middlewares it replaces."""
    body = ",\n".join(f"  f{i} = {value}" for i, value in enumerate(values))
    text = f'@string{{jr = {{Journal of Rest}}}}\n@string{{mar = "March"}}\n@article{{k,\n{body}\n}}\n'
    ours = [(e.key, e.fields) for e in parse_bib_text(text, "x.bib")[0]]
    assert ours == _with_default_stack(text)


def test_generated_library_fields_match_bibtexparsers_default_stack():
    import runpy

    generate = runpy.run_path(str(Path(__file__).parent.parent / "bench" / "generate.py"))["generate"]
    text = generate(300)
    ours = [(e.key, e.fields) for e in parse_bib_text(text, "x.bib")[0]]
    assert len(ours) == 300
    assert ours == _with_default_stack(text)
