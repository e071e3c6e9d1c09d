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


plain_text = st.text(alphabet=st.characters(blacklist_characters="\\{}$~%&^_-`'", blacklist_categories=("Cs",)))


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
        st.from_regex(r"[-`'a]{1,6}", fullmatch=True),
        st.sampled_from(["13--14", "a---b", "``quoted''", "{-}-", "{--}", "'" * 3, "`" * 4]),
        st.from_regex(r"\{[A-Za-z]{1,6}\}", fullmatch=True),
        st.sampled_from(
            ["\\%", "\\&", "\\_", "\\#", "70\\%", "{RLS}", "{\\'e}", "\\\\", "$x$", "\\%\\", 'M{\\"u}ller']
        ),
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
    st.lists(
        st.sampled_from(["and", "AND", "aNd", "an", "nd", "Wang", "D.", "~", ",", " ", "  ", "\t", "\n", "\r", "x"])
    ).map("".join),
    st.lists(st.sampled_from(["Wang, D", "Li, X.", "and", " ", "\n", "{", "}", "\\", "Yang"]), max_size=10).map(
        " ".join
    ),
    st.text(alphabet="andAND \t\r\nx{}\\,.~\u00a0", max_size=40),
    st.lists(
        st.sampled_from(
            [
                'M{\\"u}ller, H.',
                "{World Health Organization}",
                "{Simon and Schuster}",
                "{\\'E}mile",
                "Li",
                "and",
                " and ",
                "{",
                "}",
                "\\",
                "\\ ",
                " ",
                "{x and}",
                "and{",
                "}and",
            ]
        ),
        max_size=8,
    ).map("".join),
)


@settings(max_examples=1500, deadline=None)
@given(name_lists)
def test_person_splitting_agrees_with_bibtexparser(raw: str):
    assert split_persons(raw) == split_multiple_persons_names(raw)


from evidence.library.normalise import decode_unbraced_accents, math_to_unicode, parse_date


def test_dashes_and_tex_quotes_are_typographic_with_or_without_other_latex():
    assert decode_latex("1990--1995") == "1990\u20131995"
    assert decode_latex("cure---or not") == "cure\u2014or not"
    assert decode_latex("``cured'' patients") == "\u201ccured\u201d patients"
    assert decode_latex("{RLS}--a review") == "RLS\u2013a review"
    assert decode_latex('M{\\"u}ller--Smith') == "M\u00fcller\u2013Smith"
    assert decode_latex("it's a-b") == "it's a-b"


def test_math_in_titles_becomes_unicode():
    assert decode_latex("$\\alpha$-GaN") == "\u03b1-GaN"
    assert decode_latex("H$_2$O and CO$_{2}$") == "H\u2082O and CO\u2082"
    assert decode_latex("$\\mathrm{CO}_2$ at $10^{-3}$ M") == "CO\u2082 at 10\u207b\u00b3 M"
    assert decode_latex("$\\beta$-amyloid in $\\mu$m") == "\u03b2-amyloid in \u03bcm"
    assert decode_latex("$\\mathcal{O}(n \\log n)$") == "O(n log n)"
    assert decode_latex("$x_{q}$") == "x_q"  # no subscript q in Unicode: written out
    assert decode_latex("costs 5\\$ and $\\sqrt{2}$") == "costs 5$ and \u221a2"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "$\\alpha$",
                "H$_2$O",
                "$x^{2}$",
                "$\\mathrm{A}_b$",
                "$\\frac{1}{2}$",
                "a",
                " ",
                "$",
                "\\$",
                "{",
                "}",
                "_",
                "^",
                "$\\foo$",
                "\\(",
                "\\)",
                "$x_{ij}^{q}$",
            ]
        ),
        max_size=8,
    ).map("".join)
)
def test_math_conversion_is_total_and_deterministic(value: str):
    first = decode_latex(value)
    assert decode_latex(value) == first
    assert isinstance(math_to_unicode(value), str)


def test_unbraced_accents_are_decoded_before_names_are_split():
    assert decode_unbraced_accents("Mu\\~noz") == "Mu\u00f1oz"
    names = split_names("Mu\\~noz, Juan and Garc\\'ia, Ana and \\v Sinkovec, A and Stra\\ss{}er, Q and G\\\"{o}del, K")
    assert [n.family for n in names] == ["Mu\u00f1oz", "Garc\u00eda", "\u0160inkovec", "Stra\u00dfer", "G\u00f6del"]
    assert names[0].given == "Juan"


def test_biblatex_extended_names():
    (name,) = split_names("family=Gogh, given=Vincent, prefix=van, useprefix=true")
    assert name == Name("van Gogh", "Vincent")
    (name,) = split_names('given={Jean Paul}, family="Sartre", suffix=Jr.')
    assert name == Name("Sartre", "Jean Paul", "Jr.")


def test_dangling_and_is_not_a_name_and_others_is_kept():
    assert [n.family for n in split_names("Smith, J. and")] == ["Smith"]
    assert [n.family for n in split_names("and Li, X")] == ["Li"]
    assert [n.family for n in split_names("Li, X and others")] == ["Li", "et al."]


def test_biblatex_dates():
    assert parse_date("1998/1999") == (1998, None)
    assert parse_date("2006-02") == (2006, 2)
    assert parse_date("2006-02-13") == (2006, 2)
    assert parse_date("../1999") == (1999, None)
    assert parse_date("2004?") == (2004, None)
    assert parse_date("2004-04-05T14:34:00") == (2004, 4)
    assert parse_date("spring") == (None, None)
    assert parse_date("2004-13") == (2004, None)


@given(
    st.integers(min_value=0, max_value=9999),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=0, max_value=9999),
)
def test_date_ranges_give_their_start(year: int, month: int, end: int):
    assert parse_date(f"{year:04d}-{month:02d}/{end:04d}") == (year, month)


def test_month_ranges_and_day_first_dates():
    assert parse_month('jun # "--" # jul') == 6
    assert parse_date("01.08.1993") == (1993, 8)


def test_years_as_real_libraries_write_them():
    assert parse_year("1991--1992") == 1991 and parse_year("1987--date{}") == 1987
    assert parse_year("{\\noopsort{1973b}}1973") == 1973
    assert parse_year('"1989" # "\\unskip--"') == 1989
    assert parse_year("1994 (to appear)") == 1994 and parse_year("June 1980") == 1980
    assert parse_year("1989 [1987]") == 1989 and parse_year("2005/2006") == 2005
    assert [parse_year(v) for v in ("1994a", "19xx", "198?", "unknown", "12345")] == [None] * 5


@given(
    st.integers(min_value=0, max_value=9999),
    st.integers(min_value=0, max_value=9999),
    st.sampled_from(["--", "-", "\u2013", "/", ", "]),
)
def test_a_year_range_gives_its_first_year(first: int, last: int, separator: str):
    assert parse_year(f"{first:04d}{separator}{last:04d}") == first
