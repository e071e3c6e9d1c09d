"""Entries -> the typed evidence table."""

from __future__ import annotations

import pandas as pd
from conftest import DATA, EXAMPLE_REFS

from evidence.library.table import COLUMNS, load_table


def test_columns_and_dtypes():
    table = load_table([EXAMPLE_REFS]).table
    assert list(table.columns) == list(COLUMNS)
    assert str(table["year"].dtype) == "Int64" and str(table["n"].dtype) == "Int64"
    assert str(table["response_rate"].dtype) == "Float64"
    assert isinstance(table["design"].dtype, pd.CategoricalDtype)
    assert table.index.tolist() == table["key"].tolist()


def test_messy_entry_is_normalised_and_keeps_raw_title():
    result = load_table([DATA / "library" / "messy.bib"])
    row = result.table.loc["muller2001"]
    assert row["authors_display"] == "Müller H, Østergaard L, World Health Organization"
    assert row["first_author"] == "Müller"
    assert row["title"] == "RLS in China: a first look"
    assert row["title_raw"] == "{RLS} in {C}hina: a {\\em first} look"
    assert row["container"] == "Journal of Gansu College of Traditional Chinese Medicine"
    assert (row["year"], row["month"], row["pages"]) == (2001, 9, "13-14")
    assert row["doi"] == "10.1000/XYZ.1"
    assert row["keywords"] == ["acupuncture", "sleep"]
    assert row["condition"] == ["Restless Legs Syndrome", "insomnia"]
    assert row["response_rate"] == 75.0 and row["rate_source"] == "computed"
    assert result.table.loc["book2010", "first_author"] == "Smith"


def test_reported_rate_without_counts_stays_a_rate_not_counts():
    row = load_table([EXAMPLE_REFS]).table.loc["wang1994"]
    assert row["response_rate"] == 70.0 and row["response_rate_bound"] == ">="
    assert row["rate_source"] == "reported" and row["data_source"] == "secondary"
    assert pd.isna(row["n"]) and pd.isna(row["responders"])


def test_bad_field_value_is_a_problem_and_the_entry_still_loads(write_bib):
    path = write_bib(
        "@misc{x2000, title = {T}, year = {20x0}, n = {ten}, design = {trial}, responders = {5}}\n"
        "@misc{y2000, title = {U}, n = {10}, responders = {12}}\n"
    )
    result = load_table([path])
    assert result.table.index.tolist() == ["x2000", "y2000"]
    found = {(p.key, p.line, p.severity, p.message) for p in result.problems}
    assert ("x2000", 1, "warning", "year is not a number: '20x0'") in found
    assert ("x2000", 1, "error", "n must be a whole number, got 'ten'") in found
    assert any(k == "x2000" and "unknown design 'trial'" in m for k, _, _, m in found)
    assert ("y2000", 2, "error", "responders (12) greater than n (10)") in found
    assert pd.isna(result.table.loc["x2000", "n"]) and pd.isna(result.table.loc["x2000", "design"])
    assert pd.isna(result.table.loc["y2000", "response_rate"])  # never derived from impossible counts


def test_example_library_numbers_match_the_sources():
    table = load_table([EXAMPLE_REFS]).table
    shi = table.loc["shi2003"]
    # Shi's three arms are in refs/restless-legs.outcomes.csv (tests/test_outcomes.py), not the shorthand
    assert all(pd.isna(shi[name]) for name in ("n", "responders", "control_n", "control_responders"))
    assert shi["design"] == "quasi-rct"
    assert table.loc["cui2008", "studies"] == 2 and table.loc["cui2008", "participants"] == 170
    huang = table.loc["huang2021"]
    assert (huang["n"], huang["control_n"], huang["response_rate"]) == (640, 447, 47.8)
    assert (huang["response_rate_ci_low"], huang["response_rate_ci_high"]) == (38.3, 57.3)
    assert pd.isna(table.loc["zhou2002", "n"])


from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.library.files import BibEntry
from evidence.library.table import build_table

field_names = st.sampled_from(
    [
        "author",
        "editor",
        "title",
        "year",
        "month",
        "pages",
        "n",
        "responders",
        "response_rate",
        "design",
        "condition",
        "keywords",
        "doi",
        "response_rate_ci",
        "verified_on",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(field_names, st.text(max_size=40), max_size=8))
def test_any_field_values_build_a_row_without_raising(fields):
    entry = BibEntry("k", "article", fields, "f.bib", 1, "@article{k}")
    table, problems = build_table([entry])
    assert table.index.tolist() == ["k"]
    assert all(p.key == "k" and p.line == 1 for p in problems)
    rate = table.loc["k", "response_rate"]
    assert pd.isna(rate) or 0 <= rate <= 100
