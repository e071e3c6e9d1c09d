"""Write a query result out for other tools: CSL-JSON, RIS, BibTeX or CSV.

CSL-JSON items come from :mod:`evidence.pages.cite` (the conventions pandoc and
Zotero use, so the file works with ``pandoc --citeproc``); BibTeX is each
entry's original text, byte for byte.  Every format carries what ``evidence
add`` needs to read the entry back unchanged: the citation key, the PMID,
the month and the outcome fields (in CSL-JSON's ``custom`` object, as pandoc
accepts, and as ``name: value`` lines in ``note``, as Zotero keeps them in
its Extra field; in RIS as ``N1`` lines).  A CSV export has every column and
re-imports too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from evidence.curation.importers import BIBTEX_TO_RIS, ETAL

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csljson", "ris", "bibtex", "csv")


def export_table(table: "pd.DataFrame", fmt: str) -> str:
    """The rows of ``table`` (a full evidence table, or a query of it) in format ``fmt``."""
    if fmt == "csljson":
        return json.dumps([csl_export_item(row) for _, row in table.iterrows()], indent=2, ensure_ascii=False) + "\n"
    if fmt == "ris":
        return ris_text(table)
    from evidence.analysis.formats import format_bibtex, format_csv
    from evidence.library.table import COLUMNS

    if fmt == "bibtex":
        return format_bibtex(table, [])
    if fmt == "csv":
        return format_csv(table, [c for c in COLUMNS if c != "raw"])
    raise ValueError(f"unknown export format {fmt!r}")


def outcome_texts(row: "pd.Series") -> dict[str, str]:
    """The entry's outcome fields as plain text, in schema order.

    Taken from the table's columns (``@string`` macros resolved), but as the
    entry writes it whenever that means the same value: a rate written
    ``67.50`` keeps its precision, which the GRIM check depends on.
    """
    from evidence.analysis.formats import plain
    from evidence.library.fields import OUTCOME_FIELDS, FieldValueError, parse_field

    written = _written_fields(row)
    texts = {}
    for spec in OUTCOME_FIELDS:
        text = _column_text(spec.name, spec.kind, row, plain)
        if text is None:
            continue
        own = written.get(spec.name)
        if own is not None and own != text:
            try:
                if parse_field(spec.name, own) == parse_field(spec.name, text):
                    text = own
            except FieldValueError:
                pass
        texts[spec.name] = text
    return texts


def _column_text(name: str, kind: str, row: "pd.Series", plain: Any) -> str | None:
    def cell(column: str) -> Any:
        return plain(row[column]) if column in row.index else None

    if name == "response_rate_ci":
        low, high = cell("response_rate_ci_low"), cell("response_rate_ci_high")
        return f"{_number(low)}-{_number(high)}" if low is not None and high is not None else None
    value = cell(name)
    if name == "response_rate":
        if value is None or cell("rate_source") == "computed":
            return None
        bound = cell("response_rate_bound") or "="
        return ("" if bound == "=" else bound) + _number(value)
    if value is None or value == [] or value == "":
        return None
    if kind == "list":
        return "; ".join(str(item) for item in value)
    if kind == "rate":
        return _number(value)
    return str(value)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _written_fields(row: "pd.Series") -> dict[str, str]:
    """The outcome fields as the entry's own text writes them, decoded."""
    from evidence.library.fields import FIELDS_BY_NAME
    from evidence.library.files import parse_bib_text
    from evidence.library.normalise import decode_latex

    raw = row["raw"] if "raw" in row.index else None
    if not isinstance(raw, str) or not raw:
        return {}
    entries, _ = parse_bib_text(raw, "")
    fields = entries[0].fields if entries else {}
    return {name: decode_latex(value) for name, value in fields.items() if name in FIELDS_BY_NAME}


def csl_export_item(row: "pd.Series") -> dict[str, Any]:
    """A CSL-JSON item that keeps organisations whole, "others", and the outcome fields."""
    from evidence.pages.cite import csl_item

    item = csl_item(row)
    keywords = list(row["keywords"]) if "keywords" in row.index and isinstance(row["keywords"], list) else []
    if item.get("keyword") and any("," in str(k) for k in keywords):
        item["keyword"] = "; ".join(str(k) for k in keywords)  # a keyword with a comma stays one keyword
    if item.get("author"):
        item["author"] = [_csl_export_name(name) for name in item["author"]]
    outcomes = outcome_texts(row)
    if outcomes:
        item["custom"] = dict(outcomes)
        lines = [f"{name}: {value}" for name, value in outcomes.items()]
        item["note"] = "\n".join(([item["note"]] if item.get("note") else []) + lines)
    return item


def _csl_export_name(name: dict[str, str]) -> dict[str, str]:
    """A name without given names (an organisation, or "others") as a CSL literal, so no tool splits it."""
    if set(name) == {"family"}:
        return {"literal": "others" if name["family"] == ETAL else name["family"]}
    return name


def ris_item(row: "pd.Series") -> dict[str, Any]:
    """The RIS tags (as rispy names them) of one row."""
    from evidence.analysis.formats import plain

    value = {name: plain(row[name]) for name in row.index}
    key = value.get("key") if value.get("key") is not None else getattr(row, "name", None)
    item: dict[str, Any] = {"type_of_reference": BIBTEX_TO_RIS.get(value["entry_type"], "GEN")}
    if key:
        item["id"] = str(key)
    if value["authors"]:
        item["authors"] = [_ris_name(a) for a in value["authors"]]
    simple = {
        "title": "title",
        "container": "journal_name",
        "volume": "volume",
        "issue": "number",
        "doi": "doi",
        "abstract": "abstract",
        "language": "language",
        "pmid": "accession_number",
    }
    for column, tag in simple.items():
        if value.get(column) is not None:
            item[tag] = value[column]
    if value["year"] is not None:
        item["year"] = str(value["year"])
        month = value.get("month")
        item["date"] = f"{value['year']:04d}/{month:02d}//" if month else f"{value['year']:04d}///"
    if value["pages"]:
        first, _, last = str(value["pages"]).partition("-")
        item["start_page"] = first
        if last:
            item["end_page"] = last
    if value["keywords"]:
        item["keywords"] = list(value["keywords"])
    if value["url"]:
        item["urls"] = [value["url"]]
    notes = [value["note"]] if value.get("note") else []
    notes += [f"{name}: {text}" for name, text in outcome_texts(row).items()]
    if notes:
        item["notes"] = notes
    return item


def _ris_name(name: dict[str, str]) -> str:
    """``Family, Given``; an organisation stays one name (no comma), "others" stays "others"."""
    if name.get("family") == ETAL and not name.get("given"):
        return "others"
    family, suffix = name.get("family", ""), name.get("suffix", "")
    if "," in family and name.get("given") and not suffix:  # a braced "{Weir, Jr.}": RIS puts the suffix last
        family, suffix = (part.strip() for part in family.split(",", 1))
    parts = [family, name.get("given", ""), suffix]
    return ", ".join(p for p in parts if p) if parts[1] or parts[2] else parts[0] or name.get("literal", "")


#: RIS tags in the order they are written; AU, KW, UR and N1 repeat once per value.
_RIS_ORDER = (
    ("TY", "type_of_reference"),
    ("ID", "id"),
    ("AU", "authors"),
    ("TI", "title"),
    ("JO", "journal_name"),
    ("PY", "year"),
    ("DA", "date"),
    ("VL", "volume"),
    ("IS", "number"),
    ("SP", "start_page"),
    ("EP", "end_page"),
    ("DO", "doi"),
    ("AN", "accession_number"),
    ("AB", "abstract"),
    ("LA", "language"),
    ("KW", "keywords"),
    ("UR", "urls"),
    ("N1", "notes"),
)


def ris_text(table: "pd.DataFrame") -> str:
    """RIS records with no numbering lines (which rispy writes and other readers take for text)."""
    records = []
    for _, row in table.iterrows():
        item = ris_item(row)
        lines: list[str] = []
        for tag, name in _RIS_ORDER:
            values = item.get(name)
            for value in values if isinstance(values, list) else [values] if values is not None else []:
                # RIS has no continuation lines: a note's lines become N1 lines, other values one line
                texts = str(value).splitlines() if tag == "N1" else [" ".join(str(value).split())]
                lines.extend(f"{tag}  - {text}" for text in texts if text.strip() or tag == "TY")
        lines.append("ER  - ")
        records.append("\n".join(lines))
    return "\n\n".join(records) + ("\n" if records else "")
