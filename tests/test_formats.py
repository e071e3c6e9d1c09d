"""Output formats of a query result."""

from __future__ import annotations

import csv
import io
import json

from conftest import DATA, EXAMPLE_REFS

from evidence.analysis.formats import (
    format_bibtex,
    format_csv,
    format_entry,
    format_json,
    format_markdown,
    format_table,
)
from evidence.library.table import load_table

COLUMNS = ["key", "year", "n", "response_rate", "condition", "title"]


def example():
    table = load_table([DATA / "library" / "two-arm.bib", EXAMPLE_REFS]).table
    return table.loc[["wang1994", "shi2003", "zhou2002"]]


def test_table_is_aligned_and_fits_80_columns():
    text = format_table(example(), COLUMNS, width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].split() == ["key", "year", "n", "rate", "%", "condition", "title"]
    assert ">=70.0" in lines[2] and "67.5" in lines[3]
    assert lines[-1] == "(3 entries)"
    assert "…" in text  # long titles are cut


def test_json_records_use_null_and_lists():
    records = json.loads(format_json(example(), COLUMNS))
    assert records[0] == {
        "key": "wang1994",
        "year": 1994,
        "n": None,
        "response_rate": 70.0,
        "condition": ["restless legs syndrome"],
        "title": "Observation on clinic effect of galvano-acupuncture on restless leg syndrome",
    }


def test_csv_round_trips():
    rows = list(csv.DictReader(io.StringIO(format_csv(example(), COLUMNS))))
    assert rows[1]["n"] == "40" and rows[1]["response_rate"] == "67.5" and rows[2]["n"] == ""
    assert rows[0]["condition"] == "restless legs syndrome"


def test_markdown_escapes_pipes():
    table = example().copy()
    table.loc["shi2003", "title"] = "a | b"
    lines = format_markdown(table, ["key", "title"]).splitlines()
    assert lines[:2] == ["| key | title |", "| --- | --- |"]
    assert lines[3] == "| shi2003 | a \\| b |"


def test_bibtex_is_byte_for_byte():
    path = DATA / "library" / "messy.bib"
    table = load_table([path]).table
    text = format_bibtex(table.loc[["muller2001"]], [])
    original = path.read_text()
    assert text.rstrip("\n") in original
    assert text.startswith('@Article{muller2001,\n   author    =   {M{\\"u}ller')


def test_show_lists_outcomes_and_provenance():
    text = format_entry(load_table([DATA / "library" / "two-arm.bib"]).table.loc["shi2003"])
    assert "  responders             27" in text
    assert "67.5 (computed from responders/n)" in text
    assert text.rstrip().endswith("library/two-arm.bib:" + text.rstrip().rsplit(":", 1)[1])
    empty = format_entry(load_table([EXAMPLE_REFS]).table.loc["dai2006"])
    assert "design" not in empty
