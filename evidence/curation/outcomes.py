"""Byte-exact, locked, atomic edits of outcome CSVs (``*.outcomes.csv``).

Outcome files are shared and reviewed in git like the .bib files, so an
edit changes one row and nothing else: the other rows, their quoting, the
line endings (LF or CRLF) and a UTF-8 BOM stay byte for byte.  Only a value
for a column the header lacks touches a second line, the header, which
gains that column at its end (shorter rows read as empty there).

Writes hold the same file lock and land through the same atomic write as
.bib edits (:mod:`evidence.curation.edit`).  Values are checked with the
loader's own rules first, so an edit never writes a row ``check`` rejects.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Mapping

from evidence.errors import EvidenceError
from evidence.library.outcomes import OUTCOME_COLUMNS, parse_outcome_values

#: The columns a new file starts with, in this order.
NEW_FILE_COLUMNS = OUTCOME_COLUMNS
_IDENTITY = ("key", "outcome", "timepoint", "arm")
_PHYSICAL_LINE = re.compile(r"[^\n]*\n|[^\n]+$")
_BOM = "\ufeff"


def set_outcome_row(path: Path, key: str, outcome: str, timepoint: str, arm: str, values: Mapping[str, str]) -> str:
    """Set ``values`` (column -> text) in the row of ``key``/``outcome``/``timepoint``/``arm``, or add that row.

    Returns "changed", "added" or "unchanged".  Raises :class:`EvidenceError`
    (one line, naming the file) when a value breaks a rule, a column is
    unknown, the row is given twice, or the file cannot be edited safely.
    """
    from filelock import FileLock, Timeout

    from evidence.curation.edit import LOCK_TIMEOUT_SECONDS, atomic_write

    unknown = [name for name in values if name not in OUTCOME_COLUMNS]
    if unknown:
        raise EvidenceError(f"{path}: unknown column(s) {', '.join(unknown)}; known: {', '.join(OUTCOME_COLUMNS)}")
    if not key or not outcome or not arm:
        raise EvidenceError(f"{path}: an outcome row needs a key, an outcome and an arm")
    lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)
    try:
        with lock:
            old = _read(path)
            new, what = changed_text(old, str(path), key, outcome, timepoint, arm, values)
            if new != old:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, new)
            return what
    except Timeout as error:
        raise EvidenceError(f"{path} is locked by another evidence command; try again") from error


def _read(path: Path) -> str:
    if not path.exists():
        return ""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")  # a BOM stays in the text as U+FEFF and is written back
    except UnicodeDecodeError as error:
        raise EvidenceError(f"{path}: not UTF-8 (byte offset {error.start}); save it as UTF-8 to edit it") from error


def changed_text(
    text: str, file: str, key: str, outcome: str, timepoint: str, arm: str, values: Mapping[str, str]
) -> tuple[str, str]:
    """The file's new text and what happened ("changed", "added", "unchanged"); pure, for tests."""
    bom = _BOM if text.startswith(_BOM) else ""
    lines = _PHYSICAL_LINE.findall(text[len(bom) :])
    ending = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    rows = _rows(lines, file)
    if not rows:
        header = list(NEW_FILE_COLUMNS)
        lines = [_format(header, ending)]
        rows = [(0, 1, header)]
    header_start, header_end, header_cells = rows[0]
    header = [cell.strip().lower() for cell in header_cells]
    for name in ("key", "outcome", "arm"):
        if name not in header:
            raise EvidenceError(f"{file}:{header_start + 1}: the header lacks the column {name}")
    wanted = {"key": key, "outcome": outcome, "timepoint": timepoint or "", "arm": arm}
    matches = [(start, end, cells) for start, end, cells in rows[1:] if _same_row(header, cells, wanted)]
    if len(matches) > 1:
        where = ", ".join(str(start + 1) for start, _, _ in matches)
        raise EvidenceError(
            f"{file}: {key}: the row {outcome}/{timepoint}/{arm} is given more than once "
            f"(lines {where}); remove the extra rows first"
        )
    new_columns = [name for name in values if name not in header and values[name] != ""]
    if "timepoint" not in header and wanted["timepoint"]:
        new_columns.append("timepoint")
    current = dict(zip(header, matches[0][2])) if matches else {}
    merged = {name: current.get(name, "") for name in header}
    merged.update({name: str(value) for name, value in values.items()})
    merged.update(wanted)
    _, found = parse_outcome_values(merged)
    errors = [message for severity, message in found if severity == "error"]
    if errors:
        line = matches[0][0] + 1 if matches else len(lines) + 1
        raise EvidenceError(f"{file}:{line}: {key}: {errors[0]}")
    if new_columns:
        header += list(dict.fromkeys(new_columns))
        added = list(header_cells) + list(dict.fromkeys(new_columns))
        lines[header_start:header_end] = [_format(added, _ending(lines[header_end - 1], ending))]
    cells = [merged.get(name, "") for name in header]
    if matches:
        start, end, old_cells = matches[0]
        old_ending = _ending(lines[end - 1], "")
        padded = old_cells + [""] * (len(header) - len(old_cells))
        if padded[: len(header)] == cells and not new_columns:
            return text, "unchanged"
        lines[start:end] = [_format(_trimmed(cells, len(old_cells)), old_ending)]
        return bom + "".join(lines), "changed"
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += ending
    lines.append(_format(cells, ending))
    return bom + "".join(lines), "added"


def _ending(line: str, default: str) -> str:
    """A line's own ending; ``default`` for a last line without one."""
    return "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else default


def _rows(lines: list[str], file: str) -> list[tuple[int, int, list[str]]]:
    """Each non-blank CSV row with the physical lines it spans (start, end), so it can be replaced in place."""
    reader = csv.reader(iter(lines))
    rows = []
    start = 0
    try:
        for cells in reader:
            end = reader.line_num
            if any(cell.strip() for cell in cells):
                rows.append((start, end, cells))
            start = end
    except csv.Error as error:
        raise EvidenceError(f"{file}:{reader.line_num}: cannot read the CSV: {error}") from error
    return rows


def _same_row(header: list[str], cells: list[str], wanted: Mapping[str, str]) -> bool:
    row = dict(zip(header, (cell.strip() for cell in cells)))
    if row.get("key", "") != wanted["key"]:
        return False
    return all(row.get(name, "").lower() == wanted[name].lower() for name in ("outcome", "timepoint", "arm"))


def _trimmed(cells: list[str], width: int) -> list[str]:
    """Keep a row as short as it was when the new cells past its end are empty."""
    while len(cells) > width and cells[-1] == "":
        cells = cells[:-1]
    return cells


def _format(cells: list[str], ending: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=ending).writerow(cells)
    return out.getvalue()
