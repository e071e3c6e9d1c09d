"""Display values from raw BibTeX: LaTeX, names, months, pages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.library.normalise import (
    Name,
    decode_latex,
    normalise_pages,
    parse_month,
    parse_year,
    split_keywords,
    split_list,
    split_names,
)


def test_decode_latex_accents_braces_and_spaces():
    assert decode_latex('M{\\"u}ller') == "Müller"
    assert decode_latex("{RLS} in {C}hina") == "RLS in China"
    assert decode_latex("a  b\n c") == "a b c"
    assert decode_latex("70\\% cured") == "70% cured"


def test_split_names_handles_both_orders_latex_and_corporate():
    names = split_names('M{\\"u}ller, Hans and Lars {\\O}stergaard and {World Health Organization} and others')
    assert names[0] == Name("Müller", "Hans")
    assert names[1] == Name("Østergaard", "Lars")
    assert names[2].family == "World Health Organization" and names[2].given == ""
    assert names[3].family == "et al."


def test_name_initials_and_short_form():
    assert Name("Wang", "D. Y.").short == "Wang DY"
    assert Name("Jin", "Young-Soo").initials == "YS"
    assert Name("van Gogh", "Vincent").short == "van Gogh V"


def test_months_years_pages():
    assert [parse_month(m) for m in ("mar", "March", "3", "03", "Sept.", "13", "spring")] == [3, 3, 3, 3, 9, None, None]
    assert parse_year(" 1994 ") == 1994 and parse_year("1994a") is None and parse_year("") is None
    assert parse_year("199²") is None and parse_month("²") is None
    assert normalise_pages("13--14") == "13-14"
    assert normalise_pages("13 -- 14") == "13-14"
    assert normalise_pages("651–2") == "651-2"


def test_split_lists_and_keywords():
    assert split_list("acupuncture; ear acupuncture ;; ") == ["acupuncture", "ear acupuncture"]
    assert split_keywords("a, b") == ["a", "b"]
    assert split_keywords("a, b; c") == ["a, b", "c"]


plain_text = st.text(alphabet=st.characters(blacklist_characters="\\{}$~%&^_", blacklist_categories=("Cs",)))


@given(plain_text)
def test_text_without_latex_only_has_white_space_folded(text: str):
    assert decode_latex(text) == " ".join(text.split()) or decode_latex(text) == text.strip()


@given(st.integers(min_value=1, max_value=99999), st.integers(min_value=1, max_value=99999))
def test_page_ranges_always_use_one_hyphen(first: int, last: int):
    assert normalise_pages(f"{first}--{last}") == f"{first}-{last}"


@given(st.lists(st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True), min_size=1, max_size=5))
def test_split_names_keeps_every_family_name(families: list[str]):
    raw = " and ".join(f"{family}, A. B." for family in families)
    assert [n.family for n in split_names(raw)] == families


from evidence.library.normalise import _decode_with_pylatexenc

escaped_words = st.lists(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
        st.from_regex(r"\{[A-Za-z]{1,6}\}", fullmatch=True),
        st.sampled_from(["\\%", "\\&", "\\_", "\\#", "70\\%", "{RLS}", "{\\'e}", "\\\\", "$x$", "\\%\\", "M{\\\"u}ller"]),
    ),
    min_size=1,
    max_size=8,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(escaped_words)
def test_fast_path_agrees_with_pylatexenc(value: str):
    assert decode_latex(value) == " ".join(_decode_with_pylatexenc(value).split())


from bibtexparser.middlewares.names import split_multiple_persons_names

from evidence.library.normalise import split_persons

name_lists = st.one_of(
    st.lists(st.sampled_from(["and", "AND", "aNd", "an", "nd", "Wang", "D.", "~", ",", " ", "  ", "\t", "\n", "\r", "x"]))
    .map("".join),
    st.lists(st.sampled_from(["Wang, D", "Li, X.", "and", " ", "\n", "{", "}", "\\", "Yang"]), max_size=10).map(" ".join),
    st.text(alphabet="andAND \t\r\nx{}\\,.~\u00a0", max_size=40),
    st.lists(
        st.sampled_from(['M{\\"u}ller, H.', "{World Health Organization}", "{Simon and Schuster}", "{\\'E}mile",
                         "Li", "and", " and ", "{", "}", "\\", "\\ ", " ", "{x and}", "and{", "}and"]),
        max_size=8,
    ).map("".join),
)


@settings(max_examples=1500, deadline=None)
@given(name_lists)
def test_person_splitting_agrees_with_bibtexparser(raw: str):
    assert split_persons(raw) == split_multiple_persons_names(raw)
