"""Write a query result out for other tools: CSL-JSON, RIS, BibTeX or CSV.

CSL-JSON items come from :mod:`evidence.pages.cite` (the conventions pandoc and
Zotero use, so the file works with ``pandoc --citeproc``); BibTeX is each
entry's original text, byte for byte; RIS goes through rispy.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from evidence.curation.importers import BIBTEX_TO_RIS

if TYPE_CHECKING:
    import pandas as pd

def export_table(table: "pd.DataFrame", fmt: str) -> str:
    if fmt == "csljson":
        from evidence.pages.cite import csl_items

        return json.dumps(csl_items(table), indent=2, ensure_ascii=False) + "\n"
    if fmt == "ris":
        return ris_text(table)
    from evidence.analysis.formats import format_bibtex, format_csv
    from evidence.library.table import COLUMNS

    if fmt == "bibtex":
        return format_bibtex(table, [])
    if fmt == "csv":
        return format_csv(table, [c for c in COLUMNS if c != "raw"])
    raise ValueError(f"unknown export format {fmt!r}")


def ris_item(row: "pd.Series") -> dict[str, Any]:
    from evidence.analysis.formats import plain

    value = {name: plain(row[name]) for name in row.index}
    item: dict[str, Any] = {"type_of_reference": BIBTEX_TO_RIS.get(value["entry_type"], "GEN")}
    if value["authors"]:
        item["authors"] = [", ".join(p for p in (a.get("family"), a.get("given")) if p) for a in value["authors"]]
    simple = {"title": "title", "container": "journal_name", "volume": "volume", "issue": "number", "doi": "doi",
              "abstract": "abstract", "language": "language", "note": "notes"}
    for column, tag in simple.items():
        if value[column] is not None:
            item[tag] = value[column] if tag != "notes" else [value[column]]
    if value["year"] is not None:
        item["year"] = str(value["year"])
    if value["pages"]:
        first, _, last = str(value["pages"]).partition("-")
        item["start_page"] = first
        if last:
            item["end_page"] = last
    if value["keywords"]:
        item["keywords"] = list(value["keywords"])
    if value["url"]:
        item["urls"] = [value["url"]]
    return item


def ris_text(table: "pd.DataFrame") -> str:
    import rispy

    return rispy.dumps([ris_item(row) for _, row in table.iterrows()])
