"""Checks across entries, and the exit status rules."""

from __future__ import annotations

from conftest import EXAMPLE_REFS

from evidence.errors import Problem
from evidence.library.check import check_library, exit_status
from evidence.library.table import load_table

DUPLICATES = """
@article{a1, author = {Li, X.}, title = {Acupuncture for restless legs: a trial}, journal = {J}, year = 2004, doi = {10.1/ABC}}
@article{a2, author = {Li, Y.}, title = {Acupuncture for restless legs - a trial.}, journal = {J}, year = 2004}
@article{a3, author = {Wu, Z.}, title = {Other}, journal = {J}, year = 2004, doi = {10.1/abc}, pmid = {123}}
@article{a4, author = {Wu, Z.}, title = {Other again}, journal = {K}, year = 2005, pmid = {123}}
"""


def test_duplicate_identifiers_and_likely_duplicates(write_bib):
    problems = check_library(load_table([write_bib(DUPLICATES)]))
    found = [(p.key, p.severity, p.message) for p in problems]
    assert ("a3", "error", "same DOI 10.1/abc as a1 (" + str(problems[0].file) + ":2)") in found
    assert any(k == "a4" and s == "error" and m.startswith("same PMID 123 as a3") for k, s, m in found)
    assert any(k == "a2" and s == "warning" and "likely duplicate of a1" in m for k, s, m in found)
    assert len(found) == 3


def test_example_library_is_clean():
    assert check_library(load_table([EXAMPLE_REFS])) == []


def test_exit_status():
    warning = Problem("f", 1, "k", "warning", "w")
    error = Problem("f", 1, "k", "error", "e")
    assert exit_status([], strict=True) == 0
    assert exit_status([warning], strict=False) == 0
    assert exit_status([warning], strict=True) == 1
    assert exit_status([warning, error], strict=False) == 2


# --- the likely-duplicate search: the word index against every pair -------------------------------

from unittest import mock

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.library import check

titles = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab -:.é_")), max_size=14),
    st.lists(st.sampled_from(["acupuncture", "legs", "trial", "restless", "a", "pain", "RLS", "the"]), max_size=6).map(
        " ".join
    ),
    st.sampled_from(
        [
            "Acupuncture for restless legs: a trial",
            "Acupuncture for restless legs - a trial.",
            "Acupuncture for restless leg: a trial",
            "???",
            "",
        ]
    ),
    st.none(),
)
rows = st.lists(
    st.tuples(
        st.sampled_from(["Li", "li", "Wu", None]),
        st.sampled_from([2004, 2005, None]),
        titles,
        st.sampled_from([None, "10.1/a", "10.1/A", "10.1/b"]),
        st.sampled_from([None, "1", "2"]),
    ),
    max_size=30,
)


def _table(drawn: list[tuple]) -> pd.DataFrame:
    records = [
        {
            "key": f"k{i}",
            "first_author": author,
            "year": year,
            "title": title,
            "doi": doi,
            "pmid": pmid,
            "source_file": "refs/a.bib",
            "source_line": 3 * i + 1,
        }
        for i, (author, year, title, doi, pmid) in enumerate(drawn)
    ]
    columns = ["key", "first_author", "year", "title", "doi", "pmid", "source_file", "source_line"]
    table = pd.DataFrame(records, columns=columns)
    table["year"] = table["year"].astype("Int64")
    return table.set_index(pd.Index(table["key"], name=None))


@settings(max_examples=300, deadline=None)
@given(rows, st.sampled_from([(4_000_000, 10_000), (1, 1), (30, 5)]))
def test_word_index_finds_exactly_what_comparing_every_pair_finds(drawn, limits):
    table = _table(drawn)
    pairs, batch_rows = limits
    with mock.patch.object(check, "_PAIRS_PER_BATCH", pairs), mock.patch.object(check, "_ROWS_PER_BATCH", batch_rows):
        assert check.likely_duplicates(table) == check.likely_duplicates_exhaustive(table)


def test_likely_duplicates_reports_the_first_earlier_match_once():
    table = _table(
        [
            ("Li", 2004, "Acupuncture for restless legs: a trial", None, None),
            ("Wu", 2004, "Acupuncture for restless legs: a trial", None, None),
            ("li", 2004, "Acupuncture for restless legs - a trial.", None, None),
            ("Li", 2004, "Acupuncture for restless leg: a trial", None, None),
            ("Li", 2004, "???", None, None),
            ("Li", 2004, "", None, None),
            ("Li", 2004, "Acupuncture for restless legs: a trial", "10.1/a", None),
        ]
    )
    found = [(p.key, p.line, p.message) for p in check.likely_duplicates(table)]
    assert [key for key, _, _ in found] == ["k2", "k3", "k5", "k6"]
    assert found[0][2] == "likely duplicate of k0 (refs/a.bib:1): same first author and year, titles 100% alike"
    assert "likely duplicate of k0" in found[1][2] and "99% alike" in found[1][2]
    assert "likely duplicate of k4" in found[2][2]  # two titles without words are alike, as they always were
    assert found == [(p.key, p.line, p.message) for p in check.likely_duplicates_exhaustive(table)]


def test_common_subsequence_length_matches_the_textbook_table():
    from hypothesis import given as given_

    @settings(max_examples=300, deadline=None)
    @given_(st.text(alphabet="abc é", max_size=15), st.text(alphabet="abc é", max_size=15))
    def same(a, b):
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
        assert check._common_subsequence_length(check._letter_masks(a), len(a), b) == table[-1][-1]

    same()
