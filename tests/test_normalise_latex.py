"""LaTeX decoded chunk by chunk, and names split without bibtexparser's walkers, give exactly the old results.

The references are the whole-value path (``decode_latex_whole``: pylatexenc
reads every value that needs it whole) and bibtexparser's own name
functions; the sample of real values is ``tests/data/library/latex-values.json``
(sources in ``latex-values.md`` beside it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.library import normalise
from evidence.library.normalise import Name, decode_latex, decode_latex_whole, split_names, split_persons

SAMPLE = json.loads((Path(__file__).parent / "data" / "library" / "latex-values.json").read_text(encoding="utf-8"))


def _outcome(function, value):
    """A function's result, or the kind of exception it raised: the two paths must fail alike too."""
    try:
        return function(value)
    except Exception as error:  # compared, not hidden
        return type(error)


def reference_split_names(raw: str) -> tuple[Name, ...]:
    """``split_names`` as it was: bibtexparser's splitter and name parser, pylatexenc on whole values."""
    if "\\" in raw:
        raw = normalise.decode_unbraced_accents(raw)
    if raw[:4].lower() == "and " or raw[-4:].lower() == " and" or raw.lower().startswith("and\n"):
        raw = normalise._DANGLING_AND.sub("", raw)
    names = []
    for person in (p.strip() for p in split_multiple_persons_names(raw)):
        if not person or person.lower() == "and":
            continue
        if person.lower() == "others":
            name = Name(normalise.ETAL)
        elif "=" in person and normalise._NAME_PART.search(person):
            name = normalise._extended_name(person)
        else:
            parts = parse_single_name_into_parts(person, strict=False)
            name = Name(
                decode_latex_whole(" ".join(parts.von + parts.last)),
                decode_latex_whole(" ".join(parts.first)),
                decode_latex_whole(" ".join(parts.jr)),
            )
        if name.family or name.given:
            names.append(name)
    return tuple(names)


def test_the_sample_is_large_and_needs_pylatexenc():
    assert len(SAMPLE["values"]) >= 1000 and len(SAMPLE["names"]) >= 400
    assert all(normalise._needs_decoder(item["value"]) for item in SAMPLE["values"])


def test_real_values_decode_as_pylatexenc_decodes_them_whole():
    different = [
        item
        for item in SAMPLE["values"]
        if _outcome(decode_latex, item["value"]) != _outcome(decode_latex_whole, item["value"])
    ]
    assert different == []


def test_real_name_lists_split_as_bibtexparser_splits_them():
    different = [item for item in SAMPLE["names"] if split_names(item["value"]) != reference_split_names(item["value"])]
    assert different == []


def test_pylatexenc_reads_only_the_chunks_with_latex(monkeypatch):
    seen: list[str] = []
    original = normalise._latex_to_text
    monkeypatch.setattr(normalise, "_latex_to_text", lambda text: seen.append(text) or original(text))
    normalise._decode_chunk.cache_clear()
    abstract = (
        "We study " + "plain words " * 200 + "and the {\\TeX} tokenizer of Erd\\H{o}s and P\\'olya in $\\alpha$ steps."
    )
    assert decode_latex(abstract) == decode_latex_whole(abstract)
    assert seen and all(len(text) < 30 for text in seen)  # never the 2,400 plain characters
    seen.clear()
    decode_latex("Another title typeset in {\\TeX}")  # the chunk recurs: decoded once per library
    assert seen == []


def test_context_effects_keep_a_value_whole_or_together():
    for value in [
        "\\TeX is",  # the macro eats the space after it
        "\\ss x",
        "\\c c and \\v Z",  # an accent's letter after white space
        "\\frac{1} {2} x",  # a second argument after white space
        "{\\frac{1} }",  # an argument missing at a closing brace, not at the end
        "50% of \\TeX\nnext line",  # a comment runs to the end of its line
        "\\frac{1} %\n\\TeX more",  # an argument found after a comment
        "a \\\\ b",  # a line break
        "\\begin{itemize} \\item a \\end{itemize}",
        "{{GaN}}\\{0001\\}",  # an escaped brace is no group
        "Dvo\\ifmmode \\check{r}\\else \\v{r}\\fi{}\\'ak",
    ]:
        assert decode_latex(value) == decode_latex_whole(value), value


def test_accented_letters_need_no_pylatexenc_call_per_name(monkeypatch):
    seen: list[str] = []
    original = normalise._latex_to_text
    monkeypatch.setattr(normalise, "_latex_to_text", lambda text: seen.append(text) or original(text))
    normalise._decode_chunk.cache_clear()
    assert decode_latex('M{\\"u}ller-Sch{\\"o}n') == "Müller-Schön"
    assert decode_latex('Sch{\\"o}n M{\\"u}ller') == "Schön Müller"
    assert set(seen) <= {'{\\"u}', '{\\"o}'}  # the letters, each asked once, not the names


PIECES = [
    "\\TeX", "\\TeX{}", "\\LaTeX", '{\\"u}', '\\"u', "\\'e", "\\' e", "\\'{e}", "{\\'e}", "\\c c", "\\c", "\\v Z",
    "\\ss", "\\ss{}", "\\o", "\\&", "\\%", "%", "&", "#", "\\#", "~", "--", "---", "``", "''", "'", "`", "-",
    "\\emph{", "\\emph", "\\textbf{x}", "{\\bf", "{\\it x}", "\\frac{1}", "{2}", "2", "\\\\", "\\ ", "\\", "$x$",
    "$", "$\\alpha$", "x^2", "x_2", "^", "_", "{", "}", "{}", "[", "]", "\\cite[p.~3]{k}", "\\url{http://a b}",
    "\\href{u}{t}", "\\foo", "\\foo{x}", "a", "b", "Word", 'M{\\"u}ller', "\\i", "\\'\\i", "\\/", "\\,", "\\Dash",
    "\\'\\\"u", '\\"{u}', "{\\c c}", "\\c{c}", "{\\v{s}}", "\\o{}", "{\\ss}", "\\ss{}x", "{\\'\\i}", '\\"',
    '\\emph{\\"u}', '\\c{\\"u}', "\\mbox{\\c{c}}", "\\ifmmode", "\\else", "\\fi{}", "\\acro{EPS}", "\\begin{x}",
    "\\end{x}", "\\verb|a b|", "\\(", "\\)", "\\{", "\\}", "\\$", "{{GaN}}", "\\sqrt[3]{x}", "\\section*{s}", "$\\alpha$x", "\\i", "α", "²", "\\TeXα",
]  # fmt: skip
latexish = st.lists(
    st.tuples(st.sampled_from(PIECES), st.sampled_from([" ", "  ", "\n", "\n\n", "\t", "", "%", "% c\n"])),
    min_size=1,
    max_size=10,
).map(lambda pairs: "".join(piece + space for piece, space in pairs))
latexish_values = st.one_of(
    latexish, latexish.map(lambda v: "{" + v + "}"), latexish.map(lambda v: "{{" + v + "}} " + v)
)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(latexish_values)
def test_chunked_decoding_equals_the_whole_value_path(value: str):
    assert _outcome(decode_latex, value) == _outcome(decode_latex_whole, value)


name_lists = st.lists(
    st.sampled_from(
        [
            'M{\\"u}ller, H.', "{World Health Organization}", "{\\'E}mile", "\\'E", "\\o", "\\v{S}afr\\'anek", "\\v",
            "{S}", "\\", "\\ ", "\\{", "\\}", "\\\\", "Li", "and", " and ", "AND", "{", "}", " ", "\n", "~", ",",
            "{x and}", "and{", "}and", '{\\"o}', "x", "\\'", "\\i", "\\mbox{\\c{c}}", "{{x}}", "{\\v{S}}", "an", "d",
            "{{\\c{c}}}", "\\ifmmode \\mbox{\\c{c}}\\else \\c{c}\\fi{}", "others", "family=Gogh, given=V.",
        ]
    ),
    max_size=12,
).map("".join)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(name_lists)
def test_persons_split_around_braces_and_escapes_as_bibtexparser_splits_them(raw: str):
    assert split_persons(raw) == split_multiple_persons_names(raw)
    assert split_names(raw) == reference_split_names(raw)


name_words = st.sampled_from(
    ["Li", "van", "der", "Wang", "D.", "Y.", "jr", "Jr.", "III", "de", "la", "O'Neil", "Smith-Jones", "1st", "ß", "é"]
    + ["É", "-", ".", "and", "others"]
)
persons = st.lists(
    st.tuples(name_words, st.sampled_from([" ", ", ", ",", "~", "  ", "\n", " ,", "\t"])), min_size=1, max_size=5
).map(lambda pairs: "".join(word + space for word, space in pairs).strip())


@settings(max_examples=1500, deadline=None)
@given(persons)
def test_common_name_shapes_are_parsed_as_bibtexparser_parses_them(person: str):
    simple = normalise._simple_name(person)
    if simple is not None:
        parts = parse_single_name_into_parts(person, strict=False)
        expected = Name(
            decode_latex(" ".join(parts.von + parts.last)),
            decode_latex(" ".join(parts.first)),
            decode_latex(" ".join(parts.jr)),
        )
        assert simple == expected


def test_names_keep_their_initials_and_short_form():
    name = split_names("Lee, Ching-Hua and Pozas-Kerstjens, A. B.")
    assert [n.short for n in name] == ["Lee CH", "Pozas-Kerstjens AB"]
    assert name[0] == Name("Lee", "Ching-Hua") and hash(name[0]) == hash(Name("Lee", "Ching-Hua"))


@pytest.mark.parametrize(
    "raw",
    [
        "x\\ and y",  # an escaped space is still white space to bibtexparser
        "x \\'and y",
        "x an\\'d y",  # escapes are invisible to its search for `` and ``
        "x \\' and y",
        "a and \\Thanh and b",  # a name after ``and`` loses its leading escape
        " and \\' and M{\\\"u}ller, H.",
        "Gon\\ifmmode \\mbox{\\c{c}}\\else \\c{c}\\fi{}alves, A. and \\v{S}afr\\'anek, D.",
        "x and \\o",  # escapes only: no new name
        "{Simon and Schuster} and {\\v{S}}koda, J.",
    ],
)
def test_lists_with_escapes_split_as_bibtexparser_splits_them(raw: str):
    assert split_persons(raw) == split_multiple_persons_names(raw)


def test_a_macro_pylatexenc_fails_on_leaves_the_value_as_written(tmp_path):
    from evidence.library.table import load_table

    value = "See \\href{http://a.b}{this} page"  # pylatexenc raises IndexError on \href
    assert decode_latex(value) == decode_latex_whole(value) == "See \\hrefhttp://a.bthis page"
    bib = tmp_path / "href.bib"
    bib.write_text("@article{k, title = {" + value + "}, author = {Li, X.}, year = 2020, journal = {J}}\n")
    table = load_table([bib], use_cache=False).table
    assert table.loc["k", "title"] == "See \\hrefhttp://a.bthis page"
