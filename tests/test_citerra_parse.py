"""citerra's reading is used only where it is exactly bibtexparser's: parse_bib_text's result, or None."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.errors import EvidenceError
from evidence.library import cache, citerra_parse
from evidence.library.citerra_parse import parse_bib_text_citerra
from evidence.library.files import parse_bib_text, read_bib_file

TESTS = Path(__file__).parent


def reference(text: str, file: str = "t.bib"):
    """bibtexparser's reading, whatever the environment says."""
    with mock.patch.dict(os.environ, {"EVIDENCE_PARSER": "bibtexparser"}):
        return parse_bib_text(text, file)


def assert_same_or_declined(text: str, file: str = "t.bib"):
    """The fast result, when there is one, equals bibtexparser's; returns it (or None)."""
    fast = parse_bib_text_citerra(text, file)
    if fast is not None:
        assert fast == reference(text, file)
        assert fast[1] == []  # a result is only ever given with no problems
    return fast


# ---- generated .bib text -------------------------------------------------------------------------------------------


def mostly(usual, odd, weight: int = 20):
    """Usual text most of the time and odd text now and then, so that most files are read by citerra."""
    return st.one_of(*[usual] * weight, odd)


def pieces(*chosen: str, max_size: int = 10):
    """Text made of these characters and longer pieces (an accent, an escape, a group)."""
    return st.lists(st.sampled_from(chosen), max_size=max_size).map("".join)


space = mostly(st.sampled_from([" ", "", "  ", "\t", "\n  "]), st.sampled_from(["\r\n  ", "\\\n", "\u00a0", "\n"]))
keys = mostly(
    st.integers(0, 10**4).map(lambda n: f"k{n}"),
    st.sampled_from(["wang1994", "Wang1994", "doe:2020-a", "negrão14", "", "two words", "k@x", "Author+real"]),
)
names = mostly(
    st.sampled_from(["title", "Title", "author", "year", "journal", "note", "month"]),
    st.sampled_from(["my field", "AUTHOR+an", "% c\n title", "t\\,x"]),
)
macros = st.sampled_from(["jan", "zgzj", "ZGZJ", "sleepmed", "undefined"])
braced_text = pieces(*'ab é,="#@%\n\\{}', "\\{", '{\\"u}', "\\\\", "{x}", "\n@misc{x}")
quoted_text = pieces(*"ab é,=#@{}%\n\\", '\\"', '{"}', "{x}")
usual_parts = st.one_of(
    pieces(*'ab é,="#@%\n', '{\\"u}', "{X}", "{{Y}}", "\\&", "\\\n").map(lambda v: "{" + v + "}"),
    pieces(*"ab é,=#@%\n", "{X}", "\\&").map(lambda v: '"' + v + '"'),
    st.integers(0, 3000).map(str),
    macros,
)
odd_parts = st.one_of(
    braced_text.map(lambda v: "{" + v + "}"),
    quoted_text.map(lambda v: '"' + v + '"'),
    st.sampled_from(
        [
            '{Acupuncture for {RLS} in {M{\\"u}nchen}}',
            "{{{{{deep}}}}}",
            '"Simon {"}the {saint"',
            '"a {x"y} b"',
            '"ends in {"}',
            "{a \\{ b}",
            "{a\n@misc{inner,}",
            "{a\n  @misc{inner,}}",
            "{mail me@home{x}}",
            "{50\\% better}",
            '"C:\\\\"',
            "abc def",
            "{a} {b}",
            "",
            "{unclosed",
        ]
    ),
)
parts = mostly(usual_parts, odd_parts)
values = st.lists(parts, min_size=1, max_size=3).map(lambda ps: " # ".join(ps))
fields = st.lists(st.tuples(names, space, values, space), max_size=4)


def _entry(kind, open_space, key, pairs, trailing, close):
    body = "".join(f"{sp}{name} ={after}{value}," for name, sp, value, after in pairs)
    if not trailing and body:
        body = body[:-1]
    return f"@{kind}{open_space}{{{key},{body}\n{close}"


entries = st.builds(
    _entry,
    mostly(
        st.sampled_from(["article", "ARTICLE", "book", "conference"]), st.sampled_from(["commentary", "stringent", ""])
    ),
    mostly(st.sampled_from(["", " "]), st.sampled_from(["\n", "\t"])),
    keys,
    fields,
    st.booleans(),
    mostly(st.just("}"), st.sampled_from(["", ")"]), weight=40),
)
strings = st.builds(
    lambda name, value: f"@string{{{name} = {value}}}",
    st.one_of(macros.filter(lambda m: m != "undefined"), st.sampled_from(["Zgzj", "m1", "m2"])),
    st.sampled_from(["{Chinese Acupuncture}", '"Sleep Medicine"', "{Jan{uary}}", '"a}b"', "zgzj # { more}"]),
)
others = st.sampled_from(
    [
        "% a line comment",
        "@comment{a comment {with braces}}",
        '@preamble{"\\newcommand{\\noopsort}[1]{#1}"}',
        "@comment{a comment {with braces}}",
        "@COMMENT this line only",
        "% a line comment {",
        "% @misc{commented, title = {x}}",
        "free text with an address, me@example.org",
        "@comment{unclosed",
        "@misc(paren, title = {P})",
        "@string(padded = {P})",
        "@article\n{nextline, title = {N}}",
        "@book{nofields}",
        "@book{trailing,}",
        "@{notype, title = {x}}",
    ]
)
good_others = st.sampled_from(["% a line comment", "@comment{a comment {with braces}}", '@preamble{"x" # {y}}'])
blocks = st.lists(mostly(st.one_of(*[entries] * 8, strings, good_others), others), max_size=6)
separators = mostly(st.sampled_from(["\n", "\n\n", "\n% between\n"]), st.sampled_from(["\r\n", " ", "\\\n"]))


@st.composite
def bib_texts(draw):
    chosen = draw(blocks)
    text = ""
    for block in chosen:
        text += block + draw(separators)
    return text if draw(st.booleans()) else text.rstrip()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bib_texts())
def test_a_generated_file_reads_as_bibtexparser_reads_it_or_is_declined(text):
    pytest.importorskip("citerra")
    assert_same_or_declined(text)


clean_values = st.one_of(
    pieces(*'ab é,="#%\n', '{\\"u}', "{X}", "{{Y}}", "\\&", max_size=12).map(lambda v: "{" + v + "}"),
    pieces(*"ab é,=#%()", "{X}", max_size=12).map(lambda v: '"' + v + '"'),
    st.integers(1900, 2030).map(str),
    st.sampled_from(["jan", "zgzj", 'zgzj # " suppl"']),
)
clean_pairs = st.lists(
    st.tuples(st.sampled_from(["title", "author", "year", "journal", "note"]), clean_values),
    unique_by=lambda p: p[0],
    max_size=5,
)
clean_data = st.lists(
    st.tuples(st.sampled_from(["article", "Book", "misc"]), st.integers(0, 10**6), clean_pairs),
    min_size=1,
    max_size=5,
    unique_by=lambda e: e[1],
)


def render(data) -> str:
    """Entries (type, key number, [(field, value)]) as a .bib file, after one @string."""
    entries = [
        f"@{kind}{{key{key},\n" + "".join(f"  {name} = {value},\n" for name, value in pairs) + "}\n"
        for kind, key, pairs in data
    ]
    return '@string{zgzj = "Chinese Acupuncture"}\n' + "\n".join(entries)


@settings(max_examples=200, deadline=None)
@given(clean_data)
def test_a_well_formed_file_is_read_by_citerra_and_equals_bibtexparser(data):
    pytest.importorskip("citerra")
    fast = assert_same_or_declined(render(data))
    assert fast is not None
    assert len(fast[0]) == len(data)


@st.composite
def nearly_clean_texts(draw):
    """A well-formed file with one odd thing in it: a value, a field name, a key, spacing, or a block between."""
    data = draw(clean_data)
    number = draw(st.integers(0, len(data) - 1))
    kind, key, pairs = data[number]
    change = draw(st.sampled_from(["value", "name", "space", "block", "key"]))
    if change == "key":
        text = render(data).replace(f"key{key},", draw(keys) + ",", 1)
        return text
    if change == "block":
        text = render(data)
        at = text.index(f"@{kind}{{key{key},")
        return text[:at] + draw(others) + draw(separators) + text[at:]
    pairs = pairs or [("title", "{t}")]
    which = draw(st.integers(0, len(pairs) - 1))
    name, value = pairs[which]
    if change == "value":
        value = draw(st.one_of(odd_parts, values))
    elif change == "name":
        name = draw(names)
    else:
        value = draw(space) + value + draw(space)
    pairs = [*pairs[:which], (name, value), *pairs[which + 1 :]]
    return render([*data[:number], (kind, key, pairs), *data[number + 1 :]])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nearly_clean_texts())
def test_a_file_with_one_odd_thing_reads_as_bibtexparser_reads_it_or_is_declined(text):
    pytest.importorskip("citerra")
    assert_same_or_declined(text)


# ---- what citerra reads differently: each is declined, or read as bibtexparser reads it -------------------------

DIFFERENT = {
    "a quote inside braces inside quotes": '@a{k, t = "a {x"y} b"}\n',
    'an escaped quote {"} inside quotes': '@a{k, t = "a {"} b"}\n@b{j, t = {c}}\n',
    "type and brace on separate lines": "@article\n{k, t = {a}}\n",
    "a type beginning with 'comment'": "@commentary{k, t = {a}}\n",
    "a block start at a line start inside a value": "@a{k, t = {a\n@b{x}}}\n",
    "a no-break space between tokens (citerra panics)": "@a{k, t =\u00a0{a}}\n",
    "a duplicate key": "@a{k, t = {a}}\n@a{k, t = {b}}\n",
    "a field given twice": "@a{k, t = {a}, t = {b}}\n",
    "a missing comma": "@a{k, t = {a}\n u = {b}}\n",
    "a trailing backslash in quotes": '@a{k, t = "C:\\\\", u = {x}}\n',
    "a block in parentheses": "@a(k, t = {a})\n",
    "an address in a comment before a brace": "mail me foo@bar{ x }\n@a{k, t={a}}\n",
    "an unclosed entry": "@a{k, t = {a}\n@b{j, t = {b}}\n",
    "a brace after an escaped backslash (bibtexparser skips it)": "@a{k, t = {\\\\}}\n@b{j, t = {b}}\n",
}


@pytest.mark.parametrize("text", DIFFERENT.values(), ids=DIFFERENT.keys())
def test_where_citerra_reads_otherwise_it_is_declined(text):
    pytest.importorskip("citerra")
    assert parse_bib_text_citerra(text, "t.bib") is None


SAME = {
    "macros, concatenation and case": '@STRING{Zg = "Zhongguo"}\n@Article{k1,\n  journal = zG,\n  note = zg # " extra",\n  Title = {A {Big} Title},\n}\n',
    "a key on the next line, CRLF": "@book{\r\n  k2,\r\n  title = {x},\r\n  year = 1999\r\n}\r\n",
    "escaped braces go to bibtexparser": "@misc{k3, title = {a \\{ b \\}}, note = {\\\\ x}}\n",
    "a type citerra renames": "@conference{k4, title = {C}}\n",
    "preamble and comments": '% hello\n@preamble{"x"}\n@comment{ a {b} }\n@misc{k5, title = "q"}\n',
    "an entry ending the file without a line break": '@misc{k6, title = {x}, note = "y"}',
}


@pytest.mark.parametrize("text", SAME.values(), ids=SAME.keys())
def test_well_formed_text_is_read_by_citerra_exactly(text):
    pytest.importorskip("citerra")
    fast = parse_bib_text_citerra(text, "t.bib")
    assert fast is not None
    assert fast == reference(text)


def test_line_numbers_skip_a_line_break_after_a_backslash_as_bibtexparser_does():
    pytest.importorskip("citerra")
    text = "@misc{a, title = {one \\\n two}}\n\n@misc{b, title = {x}}\n"
    entries, problems = parse_bib_text_citerra(text, "t.bib")
    assert [entry.line for entry in entries] == [1, 3]  # the file's own line 4 is bibtexparser's 3
    assert entries[0].fields["title"] == "one \\\n two"
    assert entries[1].raw == "@misc{b, title = {x}}"


def test_non_ascii_text_keeps_its_offsets():
    pytest.importorskip("citerra")
    text = '% Müller and Gödel\n@misc{a, title = {Ärger über Öl}}\n@misc{b, author = {Zoë}, title = "É"}\n'
    fast = parse_bib_text_citerra(text, "t.bib")
    assert fast == reference(text)
    assert [entry.raw[:8] for entry in fast[0]] == ["@misc{a,", "@misc{b,"]


# ---- every committed .bib file -------------------------------------------------------------------------------------

COMMITTED = sorted(p for p in TESTS.rglob("*.bib") if p.is_file()) + sorted((TESTS.parent / "refs").glob("*.bib"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(TESTS.parent)))
def test_every_committed_file_reads_as_bibtexparser_reads_it_or_is_declined(path):
    pytest.importorskip("citerra")
    text, _ = read_bib_file(path)
    if text is not None:
        assert_same_or_declined(text, str(path))


def test_most_committed_files_are_read_by_citerra():
    pytest.importorskip("citerra")
    read = [path for path in COMMITTED if parse_bib_text_citerra(read_bib_file(path)[0] or "", str(path)) is not None]
    assert len(read) >= len(COMMITTED) // 2
    assert TESTS.parent / "refs" / "restless-legs.bib" in read


# ---- the setting ---------------------------------------------------------------------------------------------------


def test_the_setting_chooses_the_parser(monkeypatch):
    monkeypatch.setenv("EVIDENCE_PARSER", "bibtexparser")
    assert citerra_parse.parser_in_use() == "bibtexparser"
    assert citerra_parse.parse_if_chosen("@misc{a, title = {x}}", "t.bib") is None
    monkeypatch.setenv("EVIDENCE_PARSER", "fastest")
    with pytest.raises(EvidenceError, match="EVIDENCE_PARSER='fastest' is not a parser"):
        citerra_parse.parser_in_use()
    monkeypatch.setattr(citerra_parse, "citerra_installed", lambda: False)
    monkeypatch.setenv("EVIDENCE_PARSER", "auto")
    assert citerra_parse.parser_in_use() == "bibtexparser"
    monkeypatch.setenv("EVIDENCE_PARSER", "citerra")
    with pytest.raises(EvidenceError, match=r"citerra is not installed \(pip install 'evidence\[fast\]'\)"):
        citerra_parse.parser_in_use()


def test_with_citerra_chosen_parse_bib_text_gives_citerra_s_reading(monkeypatch):
    pytest.importorskip("citerra")
    monkeypatch.setenv("EVIDENCE_PARSER", "citerra")
    calls = []
    real = citerra_parse.parse_bib_text_citerra
    monkeypatch.setattr(citerra_parse, "parse_bib_text_citerra", lambda t, f: calls.append(f) or real(t, f))
    entries, problems = parse_bib_text("@misc{a, title = {x}}\n", "t.bib")
    assert calls == ["t.bib"] and [e.key for e in entries] == ["a"] and problems == []
    entries, problems = parse_bib_text("@misc{a, title = {x}\n@misc{b, title = {y}}\n", "t.bib")
    assert [e.key for e in entries] == ["b"]  # declined: bibtexparser's problem, as always
    assert problems[0].line == 1 and "entry not closed" in problems[0].message


def test_the_parser_is_part_of_the_cache_s_build_id(monkeypatch):
    pytest.importorskip("citerra")
    ids = {}
    for parser in ("bibtexparser", "citerra"):
        monkeypatch.setenv("EVIDENCE_PARSER", parser)
        cache.build_id.cache_clear()
        ids[parser] = cache.build_id()
    cache.build_id.cache_clear()
    assert ids["bibtexparser"] != ids["citerra"]


def test_a_library_loads_to_the_same_table_with_either_parser(monkeypatch):
    pytest.importorskip("citerra")
    from evidence.library.table import load_table

    tables = {}
    for parser in ("bibtexparser", "citerra"):
        monkeypatch.setenv("EVIDENCE_PARSER", parser)
        result = load_table([TESTS.parent / "refs"], use_cache=False)
        tables[parser] = result
    assert tables["citerra"].table.equals(tables["bibtexparser"].table)
    assert tables["citerra"].problems == tables["bibtexparser"].problems


def test_a_bad_setting_is_one_line_from_the_command(tmp_path):
    from click.testing import CliRunner

    from evidence.cli import cli

    env = {"EVIDENCE_PARSER": "fastest", "EVIDENCE_CACHE_DIR": str(tmp_path / "cache")}
    result = CliRunner().invoke(cli, ["check", "--no-cache", "--refs", str(TESTS.parent / "refs")], env=env)
    assert result.exit_code == 2
    assert "EVIDENCE_PARSER='fastest' is not a parser; choose one of bibtexparser, citerra, auto" in result.stderr
    assert "Traceback" not in result.output


def test_a_file_cut_in_two_is_read_by_citerra_part_by_part_as_bibtexparser_reads_it_whole(monkeypatch):
    pytest.importorskip("citerra")
    from evidence.library.parallel import parse_bib_text_parallel

    data = [
        ("article", n, [("title", f"{{Study {n} of {{RLS}}}}"), ("journal", "zgzj"), ("note", "late")])
        for n in range(40)
    ]
    text = render(data) + "\n@string{late = {defined after use}}\n"
    read = []
    real = citerra_parse.parse_bib_text_citerra
    monkeypatch.setattr(citerra_parse, "parse_bib_text_citerra", lambda t, f: read.append(real(t, f)) or read[-1])
    monkeypatch.setenv("EVIDENCE_PARSER", "citerra")
    entries, problems, report = parse_bib_text_parallel(text, "t.bib", parts=2, processes=False)
    assert report.parts == 2
    assert len(read) == 2 and all(result is not None for result in read)
    assert (entries, problems) == reference(text)
    assert entries[0].fields["journal"] == "Chinese Acupuncture"
    assert entries[0].fields["note"] == "defined after use"  # a macro defined in the other part


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(nearly_clean_texts(), bib_texts()), st.integers(1, 200))
def test_a_file_read_in_pieces_reads_as_the_whole(text, piece):
    pytest.importorskip("citerra")
    whole = parse_bib_text_citerra(text, "t.bib")
    with mock.patch.object(citerra_parse, "PIECE_CHARS", piece):
        pieces = assert_same_or_declined(text)
    if whole is not None:
        assert pieces == whole
