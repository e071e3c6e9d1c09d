"""Write a query result as text: an aligned table, CSV, JSON, Markdown or BibTeX.

One function per format over the same (table, columns) input, chosen through
:data:`FORMATTERS`, so the CLI's ``--format`` is a dictionary lookup.  Values
are turned into plain Python (``None`` for missing, lists kept as lists) by
:func:`records`, the single place that knows about pandas' missing values.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_COLUMNS = ("key", "year", "design", "n", "responders", "response_rate", "title")
#: Columns that are too long for a terminal table and are left out of ``--columns all``.
WIDE_COLUMNS = ("raw", "abstract", "title_raw", "authors")
_HEADINGS = {"response_rate": "rate %", "responders": "resp", "first_author": "author"}


def plain(value: Any) -> Any:
    """A cell as plain Python: ``None`` for any missing value (None, NaN, NA, NaT), lists as lists."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, float):  # numpy.float64 too
        return None if math.isnan(value) else float(value)
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return value


def records(table: "pd.DataFrame", columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows as dictionaries of plain values, in table order."""
    names = list(columns)
    values = [plain_values(table[name]) for name in names]
    return [dict(zip(names, row)) for row in zip(*values)]


def plain_values(column: "pd.Series") -> list[Any]:
    """A column's cells as :func:`plain` values.

    Typed columns are converted by pandas in one pass (``None`` for
    missing); going cell by cell through pandas' scalars costs ten times as
    much on a large query result.
    """
    if column.dtype == object:
        return [plain(value) for value in column.tolist()]
    values = column.to_numpy(dtype=object, na_value=None).tolist()
    return [plain(value) for value in values] if str(column.dtype) == "Float64" else values


def cell_text(column: str, value: Any, bound: Any = None) -> str:
    """How one value reads in a table cell: lists joined with ``; ``, rates to 1 decimal."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_name(v) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, float):
        if column.endswith("rate") or column.endswith("_low") or column.endswith("_high"):
            prefix = bound if bound in (">=", "<=") else ""
            return f"{prefix}{value:.1f}"
        return f"{value:g}" if not math.isnan(value) else ""
    return str(value)


def _name(name: dict[str, str]) -> str:
    return ", ".join(part for part in (name.get("family"), name.get("given")) if part)


def output_columns(fmt: str, requested: Sequence[str] | None = None) -> list[str]:
    """The columns a query prints in format ``fmt``: ``requested``, or that format's default.

    ``requested == ["all"]`` means every column that suits the format: a
    terminal table leaves out :data:`WIDE_COLUMNS`, other formats only ``raw``
    (the BibTeX format prints it anyway).  JSON and CSV default to all of them,
    since they are read by programs; the text formats to :data:`DEFAULT_COLUMNS`.
    """
    from evidence.analysis.query import check_columns
    from evidence.library.table import COLUMNS

    if list(requested or ()) == ["all"] or (not requested and fmt in ("json", "csv")):
        return [c for c in COLUMNS if c not in WIDE_COLUMNS or (fmt != "table" and c != "raw")]
    return check_columns(requested) if requested else list(DEFAULT_COLUMNS)


def needed_columns(fmt: str, columns: Sequence[str]) -> set[str]:
    """The table columns format ``fmt`` reads to show ``columns``.

    A rate is shown with its bound (``>=70.0``), so it needs
    ``response_rate_bound``; BibTeX output is the entry as written.
    """
    needed = set(columns)
    if fmt in ("table", "markdown") and "response_rate" in needed:
        needed.add("response_rate_bound")
    if fmt == "bibtex":
        needed.add("raw")
    return needed


def _text_rows(table: "pd.DataFrame", columns: Sequence[str]) -> list[list[str]]:
    # one list, not one .iloc per row: a condition page's query prints thousands of rows
    bounds = plain_values(table["response_rate_bound"]) if "response_rate" in columns else None
    rows = []
    for index, record in enumerate(records(table, columns)):
        bound = bounds[index] if bounds is not None else None
        rows.append([cell_text(c, record[c], bound if c == "response_rate" else None) for c in columns])
    return rows


def format_table(table: "pd.DataFrame", columns: Sequence[str], width: int | None = None) -> str:
    """An aligned table for the terminal; the widest column is cut to fit ``width``."""
    width = width or shutil.get_terminal_size((80, 24)).columns
    headings = [_HEADINGS.get(c, c) for c in columns]
    rows = [[" ".join(cell.split()) for cell in row] for row in _text_rows(table, columns)]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headings)]
    spare = width - (sum(widths) + 2 * (len(widths) - 1))
    if spare < 0 and widths:
        widest = max(range(len(widths)), key=widths.__getitem__)
        widths[widest] = max(len(headings[widest]), widths[widest] + spare, 8)
    numeric = [_is_numeric(table, c) for c in columns]

    def line(cells: list[str]) -> str:
        out = []
        for cell, size, right in zip(cells, widths, numeric):
            cell = cell if len(cell) <= size else cell[: size - 1] + "…"
            out.append(cell.rjust(size) if right else cell.ljust(size))
        return "  ".join(out).rstrip()

    lines = [line(headings), "  ".join("-" * w for w in widths)]
    lines.extend(line(row) for row in rows)
    count = len(rows)
    lines.append(f"({count} {'entry' if count == 1 else 'entries'})")
    return "\n".join(lines) + "\n"


def _is_numeric(table: "pd.DataFrame", column: str) -> bool:
    return str(table[column].dtype) in ("Int64", "Float64")


def format_csv(table: "pd.DataFrame", columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    cells = [[_csv_cell(value) for value in plain_values(table[c])] for c in columns]
    writer.writerows(zip(*cells))
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    """Lists joined as in the terminal table; the csv module writes ``None`` as empty and numbers as ``str``."""
    return cell_text("", value) if isinstance(value, list) else value


def format_json(table: "pd.DataFrame", columns: Sequence[str]) -> str:
    return json.dumps(records(table, columns), ensure_ascii=False, indent=2) + "\n"


def format_markdown(table: "pd.DataFrame", columns: Sequence[str]) -> str:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    lines = [row(columns), row(["---"] * len(columns))]
    lines.extend(row(cells) for cells in _text_rows(table, columns))
    return "\n".join(lines) + "\n"


def format_bibtex(table: "pd.DataFrame", columns: Sequence[str]) -> str:
    """The entries exactly as written in their files, separated by a blank line."""
    return "".join(raw + "\n\n" for raw in table["raw"].tolist())


FORMATTERS: dict[str, Callable[["pd.DataFrame", Sequence[str]], str]] = {
    "table": format_table,
    "csv": format_csv,
    "json": format_json,
    "markdown": format_markdown,
    "bibtex": format_bibtex,
}


def format_entry(row: "pd.Series") -> str:
    """One entry in full for ``evidence show``: bibliography, outcome data, provenance."""
    from evidence.library.table import BIBLIOGRAPHIC_COLUMNS, OUTCOME_COLUMNS

    def block(title: str, names: Sequence[str]) -> list[str]:
        lines = [title]
        for name in names:
            value = plain(row[name])
            if value is None or value == []:
                continue
            bound = plain(row["response_rate_bound"]) if name == "response_rate" else None
            text = cell_text(name, value, bound)
            if name == "response_rate" and plain(row["rate_source"]) == "computed":
                text += " (computed from responders/n)"
            lines.append(f"  {name:<22} {text}")
        return lines if len(lines) > 1 else [title, "  (none recorded)"]

    skip = {"key", "title_raw", "authors", "response_rate_bound", "rate_source"}
    lines = [f"{row['key']}  ({row['entry_type']})"]
    lines += block("Reference:", [c for c in BIBLIOGRAPHIC_COLUMNS if c not in skip])
    lines += block("Outcome data:", [c for c in OUTCOME_COLUMNS if c not in skip])
    lines += ["Source:", f"  {row['source_file']}:{row['source_line']}"]
    return "\n".join(lines) + "\n"


def format_arms(arms: "pd.DataFrame") -> str:
    """An entry's rows of the outcome table for ``evidence show``: one line per arm, grouped by outcome."""
    if arms.empty:
        return ""
    lines = ["Outcome table:"]
    for row in records(
        arms,
        [
            c
            for c in ("outcome", "timepoint", "arm", "role", "n", "events", "mean", "sd", "file", "line")
            if c in arms.columns
        ],
    ):
        numbers = (
            f"{row['events']}/{row['n']}"
            if row.get("events") is not None
            else (
                f"mean {row['mean']} (SD {row['sd']}), n {row['n']}" if row.get("mean") is not None else f"n {row['n']}"
            )
        )
        when = f" ({row['timepoint']})" if row.get("timepoint") else ""
        lines.append(f"  {row['outcome']}{when}: {row['arm']} [{row['role']}] {numbers}  ({row['file']}:{row['line']})")
    return "\n".join(lines) + "\n"
