"""export: CSL-JSON for pandoc/Zotero, RIS, byte-exact BibTeX, CSV."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from conftest import EXAMPLE_REFS

from evidence.cli import cli
from evidence.curation.export import export_table, ris_item
from evidence.library.table import load_table


def test_csljson_has_pandoc_conventions():
    result = CliRunner().invoke(cli, ["export", "--refs", str(EXAMPLE_REFS), "--design", "systematic-review"])
    (item,) = json.loads(result.stdout)
    assert item["id"] == "cui2008" and item["type"] == "article-journal"
    assert item["issued"] == {"date-parts": [[2008]]} and item["DOI"] == "10.1002/14651858.CD006457.pub2"


def test_bibtex_export_is_byte_for_byte(tmp_path):
    out = tmp_path / "out.bib"
    result = CliRunner().invoke(cli, ["export", "--refs", str(EXAMPLE_REFS), "--format", "bibtex", "-o", str(out)])
    assert result.exit_code == 0
    source = (EXAMPLE_REFS / "restless-legs.bib").read_text()
    for block in out.read_text().strip().split("\n\n@"):
        assert ("@" + block.lstrip("@")).strip() in source


def test_ris_and_csv():
    table = load_table([EXAMPLE_REFS]).table
    item = ris_item(table.loc["yang1993"])
    assert item["type_of_reference"] == "JOUR" and item["authors"] == ["Yang, Y. D."]
    assert (item["start_page"], item["end_page"], item["year"]) == ("13", "14", "1993")
    rows = list(csv.DictReader(io.StringIO(export_table(table, "csv"))))
    assert len(rows) == len(table) and rows[0]["key"] == "wang1994" and "raw" not in rows[0]


def test_ris_export_writes_no_numbering_lines_and_one_record_per_entry():
    from evidence.curation.export import ris_text

    table = load_table([EXAMPLE_REFS.parent / "tests" / "data" / "library" / "two-arm.bib"], use_cache=False).table
    text = ris_text(table)
    assert text.count("TY  - ") == len(table) == text.count("ER  - ")
    assert not any(line.strip().rstrip(".").isdigit() for line in text.splitlines())
    assert "ID  - shi2003" in text and "N1  - n: 40" in text and "N1  - responders: 27" in text
