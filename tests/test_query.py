"""Filters, sorting and column checks over the table."""

from __future__ import annotations

import pytest
from conftest import EXAMPLE_REFS
from hypothesis import given
from hypothesis import strategies as st

from evidence.analysis.query import (
    Filters,
    apply_filters,
    check_columns,
    closest,
    known_values,
    sort_table,
    text_matches,
)
from evidence.errors import EvidenceError
from evidence.library.table import load_table

LIBRARY = """
@article{a2001, author = {Alpha, A.}, title = {Acupuncture for sleep}, journal = {J}, year = 2001,
  abstract = {A trial of needles.}, keywords = {insomnia; needles},
  condition = {insomnia}, intervention = {acupuncture}, design = {rct}, country = {China}, n = {50}, responders = {20}}
@article{b2005, author = {Beta, B.}, title = {Massage for restless legs}, journal = {J}, year = 2005,
  condition = {Restless Legs Syndrome}, intervention = {massage}, design = {cohort}, country = {United Kingdom}, n = {12}}
@article{c2010, author = {Gamma, C.}, title = {Background reading}, journal = {J}, year = 2010}
"""


@pytest.fixture
def table(write_bib):
    return load_table([write_bib(LIBRARY)]).table


def keys(table, **filters):
    return apply_filters(table, Filters(**filters)).index.tolist()


def test_each_filter(table):
    assert keys(table) == ["a2001", "b2005", "c2010"]
    assert keys(table, condition="restless leg") == ["b2005"]
    assert keys(table, condition="RESTLESS LEGS SYNDROME") == ["b2005"]
    assert keys(table, condition="legs restless") == []
    assert keys(table, intervention="acupuncture") == ["a2001"]
    assert keys(table, design=("rct", "cohort")) == ["a2001", "b2005"]
    assert keys(table, country="united kingdom") == ["b2005"]
    assert keys(table, year_from=2005) == ["b2005", "c2010"]
    assert keys(table, year_to=2005) == ["a2001", "b2005"]
    assert keys(table, min_n=20) == ["a2001"]
    assert keys(table, has_outcome=True) == ["a2001", "b2005"]
    assert keys(table, search="needles") == ["a2001"]  # abstract and keywords
    assert keys(table, search="MASSAGE") == ["b2005"]
    assert keys(table, condition="insomnia", min_n=60) == []


def test_sort_and_columns(table):
    assert sort_table(table, ["-year"]).index.tolist() == ["c2010", "b2005", "a2001"]
    assert sort_table(table, ["n"]).index.tolist() == ["b2005", "a2001", "c2010"]  # missing last
    assert sort_table(table, ["condition"]).index.tolist()[0] == "c2010"  # empty list sorts first
    with pytest.raises(EvidenceError, match="did you mean year"):
        check_columns(["yeer"])


def test_known_values_and_suggestions():
    table = load_table([EXAMPLE_REFS]).table
    assert known_values(table, "condition") == ["restless legs syndrome"]
    assert closest("restles legs", ["restless legs syndrome", "insomnia"])[0] == "restless legs syndrome"


def test_example_library_restless_legs_query():
    table = load_table([EXAMPLE_REFS]).table
    found = keys(table, condition="restless legs", has_outcome=True)
    assert found == ["wang1994", "yang1993", "huang2021"]  # shi2003's arms are in the outcome table


words_st = st.lists(st.from_regex(r"[a-z]{2,8}", fullmatch=True), min_size=1, max_size=6)


@given(words_st, st.data())
def test_any_run_of_words_matches_its_text(words, data):
    start = data.draw(st.integers(0, len(words) - 1))
    end = data.draw(st.integers(start + 1, len(words)))
    text = " ".join(words)
    assert text_matches(" ".join(words[start:end]).upper(), text)


FILTER_OPTIONS = [
    ([], {}),
    (["--condition", "restless legs"], {"condition": "restless legs"}),
    (["--intervention", "acupuncture"], {"intervention": "acupuncture"}),
    (["--design", "rct"], {"design": ("rct",)}),
    (["--country", "china"], {"country": "china"}),
    (["--year-from", "2005"], {"year_from": 2005}),
    (["--year-to", "2005"], {"year_to": 2005}),
    (["--min-n", "20"], {"min_n": 20}),
    (["--min-n", "0"], {"min_n": 0}),
    (["--has-outcome"], {"has_outcome": True}),
    (["--search", "needles"], {"search": "needles"}),
]


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown", "bibtex"])
@pytest.mark.parametrize("options,filters", FILTER_OPTIONS, ids=lambda o: " ".join(o) if isinstance(o, list) else "")
def test_query_reads_only_the_columns_it_needs_and_prints_the_same(write_bib, fmt, options, filters):
    """Each filter and format names the columns it reads; a missing one would fail here or change the output."""
    from click.testing import CliRunner

    from evidence.analysis.formats import DEFAULT_COLUMNS, FORMATTERS
    from evidence.cli import cli
    from evidence.library.table import COLUMNS

    path = write_bib(LIBRARY)
    full = load_table([path], use_cache=False).table
    args = ["query", "--refs", str(path), "--format", fmt, "--sort", "-year", *options]
    if fmt == "table":
        args += ["--columns", "key,first_author,response_rate,condition"]
    runs = [CliRunner().invoke(cli, args) for _ in range(2)]  # builds the cache, then reads columns from it
    expected_rows = sort_table(apply_filters(full, Filters(**filters)), ["-year"])
    names = {
        "table": ["key", "first_author", "response_rate", "condition"],
        "markdown": list(DEFAULT_COLUMNS),
    }.get(fmt, [c for c in COLUMNS if c != "raw"])
    for run in runs:
        assert run.exit_code == 0, run.output
        assert run.stdout == FORMATTERS[fmt](expected_rows, names)
