"""Byte-exact, locked, atomic edits of .bib files.

The .bib files are shared and reviewed in git, so an edit must change only
what it means to change: setting a field rewrites that field's value (or adds
one line in the entry's own indentation), and every other byte of the file,
comments, ``@string``s, spacing, other entries, stays as it was.

Every write holds a file lock (``filelock``) for the whole read-modify-write
and lands atomically: a temporary file in the same folder, flushed and
fsynced, then renamed over the original.  If anything fails before the
rename, the original file is untouched.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

from evidence.errors import EvidenceError
from evidence.library.fields import FIELDS_BY_NAME, FieldValueError, check_outcomes, parse_field

LOCK_TIMEOUT_SECONDS = 30
_FIELD_NAME = re.compile(r"^[A-Za-z][\w:-]*$")
VERIFICATION_FIELDS = ("verified_by", "verified_on", "verified_fields")


@dataclass(frozen=True)
class FieldSpan:
    """Where one field sits in an entry's raw text: the whole ``name = value`` and the value."""

    name: str
    start: int
    value_start: int
    value_end: int


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once; on any failure the old file stays."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def locked_update(path: Path, change: Callable[[str], str]) -> str:
    """Read, change and write ``path`` under its lock; returns the new text.

    ``change`` may raise to abandon the edit: nothing is written then.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)
    try:
        with lock:
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            new = change(old)
            if new != old:
                atomic_write(path, new)
            return new
    except Timeout as error:
        raise EvidenceError(f"{path} is locked by another evidence command; try again") from error


def entry_bounds(text: str, key: str, file: str = "") -> tuple[int, int]:
    """Start and end offsets of entry ``key`` in ``text`` (as bibtexparser found it)."""
    from evidence.library.files import parse_bib_text

    entries, _ = parse_bib_text(text, file)
    for entry in entries:
        if entry.key == key:
            line_start = _line_offset(text, entry.line)
            start = text.find(entry.raw, line_start)
            if start < 0:
                break
            return start, start + len(entry.raw)
    raise EvidenceError(f"{file}: no entry with key {key!r}")


def _line_offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


def field_spans(raw: str) -> list[FieldSpan]:
    """The fields of one entry's raw text, scanned with brace and quote nesting."""
    opening = raw.find("{") if "{" in raw[: raw.find("(") if "(" in raw else len(raw)] else raw.find("(")
    position = raw.index(",", opening) + 1
    spans = []
    end = len(raw) - 1  # the closing brace
    while position < end:
        match = re.compile(r"[\s,]*([A-Za-z][\w:.+-]*)\s*=\s*").match(raw, position)
        if not match or match.end() > end:
            break
        value_start = match.end()
        value_end = _value_end(raw, value_start, end)
        spans.append(FieldSpan(match.group(1).lower(), match.start(1), value_start, value_end))
        position = value_end
    return spans


def _value_end(raw: str, position: int, end: int) -> int:
    """End of a value: braced, quoted or bare parts joined by ``#``."""
    while True:
        if raw[position] == "{":
            depth = 0
            for index in range(position, end + 1):
                depth += {"{": 1, "}": -1}.get(raw[index], 0)
                if depth == 0:
                    position = index + 1
                    break
        elif raw[position] == '"':
            index = position + 1
            depth = 0
            while index < end and not (raw[index] == '"' and depth == 0):
                depth += {"{": 1, "}": -1}.get(raw[index], 0)
                index += 1
            position = index + 1
        else:
            match = re.compile(r"[^\s,#}]*").match(raw, position)
            position = match.end() if match else position
        after = re.compile(r"\s*#\s*").match(raw, position)
        if after and after.end() < end:
            position = after.end()
            continue
        return position


def _brace_value(value: str) -> str:
    depth = 0
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise EvidenceError(f"unbalanced braces in value {value!r}")
    return "{" + value + "}"


def set_in_raw(raw: str, updates: dict[str, str]) -> str:
    """The entry with ``updates`` applied: existing values replaced in place, new fields appended."""
    for name, value in updates.items():
        spans = {s.name: s for s in field_spans(raw)}
        braced = _brace_value(value)
        if name in spans:
            span = spans[name]
            raw = raw[: span.value_start] + braced + raw[span.value_end :]
        else:
            raw = _append_field(raw, name, braced, list(spans.values()))
    return raw


def _append_field(raw: str, name: str, braced: str, spans: list[FieldSpan]) -> str:
    """Add ``name = value`` after the last field, copying how the last field is written."""
    if not spans:
        closing = len(raw) - 1
        return raw[:closing].rstrip() + f"\n  {name} = {braced},\n" + raw[closing:]
    last = spans[-1]
    line_start = raw.rfind("\n", 0, last.start) + 1
    indent = raw[line_start : last.start] if raw[line_start : last.start].strip() == "" else "  "
    separator = _separator(raw, spans, name, len(indent))
    tail = raw[last.value_end :]
    has_comma = tail.lstrip().startswith(",")
    insert_at = last.value_end + (tail.index(",") + 1 if has_comma else 0)
    new_field = f"\n{indent}{name}{separator}{braced}"
    # keep the style: a trailing comma after the last field stays after the new last field
    return raw[:insert_at] + ("" if has_comma else ",") + new_field + ("," if has_comma else "") + raw[insert_at:]


def _separator(raw: str, spans: list[FieldSpan], name: str, indent: int) -> str:
    """The ``=`` with the spacing the entry uses; aligned when the other fields are aligned."""
    columns, after = set(), " "
    for span in spans:
        equals = re.compile(r"\s*=(\s*)").match(raw, span.start + len(span.name))
        if equals:
            line_start = raw.rfind("\n", 0, span.start) + 1
            columns.add(span.start + len(span.name) + equals.group().index("=") - line_start)
            after = equals.group(1) or ""
    if len(columns) == 1 and len(spans) > 1:
        column = columns.pop()
        if indent + len(name) < column:
            return " " * (column - indent - len(name)) + "=" + after
    return " = "


def unset_in_raw(raw: str, names: Iterable[str]) -> str:
    """The entry without fields ``names``; a field alone on its line takes its line with it."""
    for name in names:
        spans = {s.name: s for s in field_spans(raw)}
        if name not in spans:
            continue
        span = spans[name]
        start, end = span.start, span.value_end
        comma = re.compile(r"\s*,").match(raw, end)
        if comma:
            end = comma.end()
        line_start = raw.rfind("\n", 0, start) + 1
        line_end = raw.find("\n", end)
        if raw[line_start:start].strip() == "" and line_end >= 0 and raw[end:line_end].strip() == "":
            start, end = line_start, line_end + 1
        raw = raw[:start] + raw[end:]
    return raw


def validate_outcome_updates(updates: dict[str, str]) -> None:
    """Check names and values of ``field=value`` updates before anything is written."""
    for name, value in updates.items():
        if not _FIELD_NAME.match(name):
            raise EvidenceError(f"{name!r} is not a field name")
        if name in FIELDS_BY_NAME:
            try:
                parse_field(name, value)
            except FieldValueError as error:
                raise EvidenceError(str(error)) from error


def _check_entry(raw: str, key: str) -> None:
    """Refuse an edit that leaves the entry breaking a rule across fields (e.g. responders > n)."""
    from evidence.library.files import parse_bib_text

    entries, problems = parse_bib_text(raw, "")
    if problems or not entries:
        raise EvidenceError(f"{key}: the edit would leave the entry unparsable")
    values = {}
    for name, value in entries[0].fields.items():
        if name in FIELDS_BY_NAME:
            try:
                values[name] = parse_field(name, value)
            except FieldValueError as error:
                raise EvidenceError(f"{key}: {error}") from error
    errors = [message for severity, message in check_outcomes(values) if severity == "error"]
    if errors:
        raise EvidenceError(f"{key}: {'; '.join(errors)}; nothing was changed")


def _verified_fields(fields: dict[str, str]) -> set[str] | None:
    """Which fields the current verification covers; ``None`` when the entry is not verified."""
    if not fields.get("verified_by", "").strip():
        return None
    listed = {f.strip() for f in fields.get("verified_fields", "").split(";") if f.strip()}
    return listed or {name for name in FIELDS_BY_NAME if name not in VERIFICATION_FIELDS}


def set_fields(path: Path, key: str, updates: dict[str, str]) -> list[str]:
    """Set fields of entry ``key`` in ``path``; returns messages for the user.

    Setting a field that a verification covers clears the verification: the
    new value has not been checked by anyone.
    """
    validate_outcome_updates(updates)
    messages: list[str] = []

    def change(text: str) -> str:
        from evidence.library.files import parse_bib_text

        start, end = entry_bounds(text, key, str(path))
        raw = text[start:end]
        fields = next(e.fields for e in parse_bib_text(raw, "")[0])
        new_raw = set_in_raw(raw, updates)
        covered = _verified_fields(fields)
        touched = sorted(set(updates) & covered) if covered is not None else []
        if touched:
            new_raw = unset_in_raw(new_raw, VERIFICATION_FIELDS)
            messages.append(f"{key}: verification by {fields['verified_by']} cleared, since {', '.join(touched)} changed")
        _check_entry(new_raw, key)
        return text[:start] + new_raw + text[end:]

    locked_update(path, change)
    return messages + [f"{key}: set {', '.join(updates)} in {path}"]


def unset_fields(path: Path, key: str, names: list[str]) -> list[str]:
    def change(text: str) -> str:
        start, end = entry_bounds(text, key, str(path))
        raw = text[start:end]
        present = {s.name for s in field_spans(raw)}
        missing = [n for n in names if n.lower() not in present]
        if missing:
            raise EvidenceError(f"{key} has no field {', '.join(missing)}")
        return text[:start] + unset_in_raw(raw, [n.lower() for n in names]) + text[end:]

    locked_update(path, change)
    return [f"{key}: removed {', '.join(names)} from {path}"]


def verify_entry(path: Path, key: str, by: str, fields: list[str] | None = None, today: date | None = None) -> list[str]:
    """Record that ``by`` checked the entry's outcome data (or only ``fields``) against the source."""
    if not by.strip():
        raise EvidenceError("--by needs the name of the person who verified the data")
    unknown = [f for f in fields or [] if f not in FIELDS_BY_NAME]
    if unknown:
        raise EvidenceError(f"not outcome fields: {', '.join(unknown)}")
    updates = {"verified_by": by, "verified_on": (today or date.today()).isoformat()}
    if fields:
        updates["verified_fields"] = "; ".join(fields)

    def change(text: str) -> str:
        start, end = entry_bounds(text, key, str(path))
        raw = text[start:end]
        if not fields:
            raw = unset_in_raw(raw, ["verified_fields"])
        new_raw = set_in_raw(raw, updates)
        _check_entry(new_raw, key)
        return text[:start] + new_raw + text[end:]

    locked_update(path, change)
    scope = ", ".join(fields) if fields else "all outcome fields"
    return [f"{key}: verified by {by} on {updates['verified_on']} ({scope})"]


def append_entries(path: Path, texts: list[str], check: Callable[[str], None] | None = None) -> None:
    """Append BibTeX entries to ``path`` under its lock; ``check`` sees the final text and may refuse it."""

    def change(text: str) -> str:
        separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        new = text + separator + "\n\n".join(t.rstrip("\n") for t in texts) + "\n"
        if check:
            check(new)
        return new

    path.parent.mkdir(parents=True, exist_ok=True)
    locked_update(path, change)
