"""Parsing a .bib file in parts, in several processes, gives exactly the serial parse."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.library import parallel
from evidence.library.files import parse_bib_text
from evidence.library.parallel import parse_bib_text_auto, parse_bib_text_parallel

keys = st.one_of(st.sampled_from(["wang1994", "Wang1994", "yang1993"]), st.integers(0, 10**6).map(lambda n: f"k{n}"))
macros = st.sampled_from(["zgzj", "ZGZJ", "sleepmed", "jan", "undefined"])
plain = st.text(alphabet=st.sampled_from(list('ab {}é\\@%"#,=\n')), max_size=12)
values = st.one_of(
    macros,
    st.integers(1900, 2030).map(str),
    plain.map(lambda v: "{" + v.replace("{", "").replace("}", "") + "}"),
    st.sampled_from(
        [
            "{Acupuncture for {RLS}}",
            '"quoted {value}"',
            'zgzj # " extra"',
            "{unclosed",
            "{a\n@misc{inner,}",
            '{M{\\"u}ller}',
            "{50\\% better}",
            "{a line ending in a backslash \\\n counts as no line break}",
        ]
    ),
)
names = st.sampled_from(["title", "journal", "year", "month", "note", "Title"])
fields = st.lists(st.tuples(names, values), max_size=4)
entry = st.builds(
    lambda kind, key, pairs, close, indent: (
        f"{indent}@{kind}{{{key},\n" + "".join(f"  {name} = {value},\n" for name, value in pairs) + close
    ),
    st.sampled_from(["article", "ARTICLE", "book", "misc"]),
    keys,
    fields,
    st.sampled_from(["}"] * 8 + ["", ")"]),
    st.sampled_from(["", "", "  "]),
)
string = st.builds(
    lambda name, value: f"@string{{{name} = {value}}}",
    st.one_of(macros.filter(lambda m: m != "undefined"), st.integers(0, 10**6).map(lambda n: f"m{n}")),
    st.sampled_from(["{Chinese Acupuncture and Moxibustion}", '"Sleep Medicine"', "{Jan{uary}}"]),
)
other = st.sampled_from(
    [
        '@preamble{"\\newcommand{\\noopsort}[1]{#1}"}',
        "@comment{a comment {with braces}}",
        "% a line comment {",
        "% closing }",
        "free text between entries",
        "@comment{unclosed",
        "@misc(paren, title = {P})",
        "  @string(padded = {P})",
    ]
)
blocks = st.lists(st.one_of(entry, entry, entry, string, other), min_size=1, max_size=25)
separators = st.sampled_from(["\n", "\n\n", "\n% c\n"])


def _text(parts: list[str], separator: str, final_newline: bool) -> str:
    return separator.join(parts) + ("\n" if final_newline else "")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks, separators, st.booleans(), st.integers(2, 4))
def test_parts_joined_are_the_serial_parse(parts, separator, final_newline, count):
    text = _text(parts, separator, final_newline)
    entries, problems, report = parse_bib_text_parallel(text, "refs/a.bib", parts=count, processes=False)
    assert (entries, problems) == parse_bib_text(text, "refs/a.bib"), report


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks, separators)
def test_parts_parsed_in_other_processes_are_the_serial_parse(parts, separator):
    text = _text(parts, separator, True)
    entries, problems, _ = parse_bib_text_parallel(text, "refs/a.bib", parts=2, processes=True)
    assert (entries, problems) == parse_bib_text(text, "refs/a.bib")


GENERATED = (
    "@string{zgzj = {Chinese Acupuncture and Moxibustion}}\n\n"
    + "".join(
        f"@article{{key{i},\n  author = {{Wang, D. Y.}},\n  title = {{Trial {{RLS}} number {i}}},\n"
        f"  journal = zgzj,\n  year = {1990 + i % 30},\n  month = mar,\n}}\n\n"
        for i in range(400)
    )
    + "@string{late = {Defined at the end}}\n@misc{last, note = late}\n"
)


def test_a_clean_file_is_parsed_in_parts_with_its_macros_everywhere():
    entries, problems, report = parse_bib_text_parallel(GENERATED, "lib.bib", parts=2)
    assert report.parts == 2 and report.reason == ""
    assert (entries, problems) == parse_bib_text(GENERATED, "lib.bib")
    assert entries[0].fields["journal"] == "Chinese Acupuncture and Moxibustion" == entries[-2].fields["journal"]
    assert entries[-1].fields["note"] == "Defined at the end"  # defined after every entry of the first part
    assert [e.line for e in entries[:2]] == [3, 11] and entries[-1].line == GENERATED.count("\n")


@pytest.mark.parametrize(
    "change,reason",
    [
        (lambda t: t + "@article{key3, title = {again}}\n", "two parts"),
        (lambda t: t.replace("@article{key200,\n", "@article{key200,\n  broken = {\n", 1), "failed"),
        (lambda t: t + "@string{ZGZJ = {upper}}\n", "case"),
        (lambda t: t + "@string{zgzj = {twice}}\n", "twice"),
    ],
)
def test_files_the_parts_cannot_reproduce_are_parsed_serially(change, reason):
    text = change(GENERATED)
    entries, problems, report = parse_bib_text_parallel(text, "lib.bib", parts=4, processes=False)
    assert report.parts == 1 and reason in report.reason, report
    assert (entries, problems) == parse_bib_text(text, "lib.bib")


def test_only_large_files_and_only_when_allowed(monkeypatch):
    calls = []
    monkeypatch.setattr(
        parallel,
        "parse_bib_text_parallel",
        lambda text, file, parts=2: calls.append(parts) or (*parse_bib_text(text, file), None),
    )
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    assert parse_bib_text_auto(GENERATED, "lib.bib") == parse_bib_text(GENERATED, "lib.bib") and calls == []
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 1000)
    assert parse_bib_text_auto(GENERATED, "lib.bib") == parse_bib_text(GENERATED, "lib.bib") and calls == [2]
    for off in ("0", "off", "false"):
        monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", off)
        parse_bib_text_auto(GENERATED, "lib.bib")
    assert calls == [2]
    monkeypatch.setattr(parallel, "_cores", lambda: 1)
    monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", "1")
    parse_bib_text_auto(GENERATED, "lib.bib")
    assert calls == [2]


def test_the_table_of_a_large_file_is_the_same_either_way(tmp_path, monkeypatch):
    from evidence.library.table import load_table

    path = tmp_path / "lib.bib"
    path.write_text(GENERATED, encoding="utf-8")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 1000)
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    together = load_table([path], use_cache=False)
    monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", "0")
    alone = load_table([path], use_cache=False)
    assert together.table.equals(alone.table) and together.problems == alone.problems
    assert len(together.table) == 401


def test_line_numbers_follow_bibtexparser_after_a_backslash_at_a_line_end():
    # bibtexparser does not count a line break right after a backslash; the parts must not either
    text = GENERATED.replace("title = {Trial {RLS} number 3}", "title = {Trial \\TeX\\\n number 3}", 1)
    entries, problems, report = parse_bib_text_parallel(text, "lib.bib", parts=2, processes=False)
    assert report.parts == 2
    assert (entries, problems) == parse_bib_text(text, "lib.bib")
    assert entries[-1].line == text.count("\n") - 1  # one line behind the file, as serially


def test_rows_and_their_problems_come_back_in_the_serial_order(monkeypatch):
    from evidence.library.table import entry_record

    text = GENERATED.replace("  year = 1995,\n", "  year = 1995,\n  n = {many},\n", 3)
    text = text.replace("@article{key100,", "@article{broken, title = {never closed}\n@article{key100,", 1)
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", "0")
    serial_rows, serial_problems = parallel.file_rows(text, "lib.bib", entry_record)
    monkeypatch.setenv("EVIDENCE_PARALLEL_PARSE", "1")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 1000)
    rows, problems, report = parse_bib_text_parallel(text, "lib.bib", parts=3, record=entry_record)
    assert report.parts == 3
    assert rows == serial_rows and problems == serial_problems
    assert parallel.file_rows(text, "lib.bib", entry_record) == (serial_rows, serial_problems)
    assert [p.key for p in problems][0] == "broken" and sum("many" in p.message for p in problems) >= 3
