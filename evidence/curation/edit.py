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

import codecs
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

from evidence.errors import EvidenceError
from evidence.library.fields import FIELDS_BY_NAME, FieldValueError, check_outcomes, parse_field

LOCK_TIMEOUT_SECONDS = 30
TEMP_SUFFIX = ".evidence-tmp"
_FIELD_NAME = re.compile(r"^[A-Za-z][\w:-]*$")
VERIFICATION_FIELDS = ("verified_by", "verified_on", "verified_fields")


@dataclass(frozen=True)
class FieldSpan:
    """Where one field sits in an entry's raw text: the whole ``name = value`` and the value."""

    name: str
    start: int
    value_start: int
    value_end: int


@dataclass(frozen=True)
class FileFormat:
    """How a .bib file is written, so that an edit writes it back the same way."""

    encoding: str = "utf-8"  # utf-8, utf-16-le or utf-16-be
    bom: bytes = b""
    crlf: bool = False  # every line ends in CRLF; edits are made on LF text and written back with CRLF

    def decode(self, data: bytes) -> str:
        text = data[len(self.bom) :].decode(self.encoding)
        return text.replace("\r\n", "\n") if self.crlf else text

    def encode(self, text: str) -> bytes:
        return self.bom + (text.replace("\n", "\r\n") if self.crlf else text).encode(self.encoding)


def file_format(data: bytes, file: str = "") -> FileFormat:
    """The encoding, byte-order mark and line endings of ``data``; an encoding we cannot keep is an error.

    UTF-8 (with or without a BOM) and UTF-16 with a BOM are kept as they are.
    Anything else (latin-1, UTF-16 without a BOM) stops the edit with the
    place of the first undecodable byte: writing it back as UTF-8 would
    change every non-ASCII character in the file.
    """
    if data.startswith(codecs.BOM_UTF8):
        fmt = FileFormat("utf-8", codecs.BOM_UTF8)
    elif data.startswith(codecs.BOM_UTF16_LE):
        fmt = FileFormat("utf-16-le", codecs.BOM_UTF16_LE)
    elif data.startswith(codecs.BOM_UTF16_BE):
        fmt = FileFormat("utf-16-be", codecs.BOM_UTF16_BE)
    else:
        fmt = FileFormat()
    try:
        text = fmt.decode(data)
    except UnicodeDecodeError as error:
        offset = error.start + len(fmt.bom)
        line = data[:offset].count(b"\n") + 1
        hint = "; it looks like UTF-16 without a byte-order mark" if data[1:2] == b"\0" or data[:1] == b"\0" else ""
        raise EvidenceError(
            f"{file}:{line}: cannot decode as {fmt.encoding.upper()} at byte offset {offset}{hint}; "
            "save the file as UTF-8; nothing was changed"
        ) from None
    if "\0" in text and fmt.encoding == "utf-8":
        line = text[: text.index("\0")].count("\n") + 1
        raise EvidenceError(
            f"{file}:{line}: the file holds NUL bytes (UTF-16 without a byte-order mark?); nothing was changed"
        )
    newlines = text.count("\n")
    crlf = newlines > 0 and text.count("\r\n") == newlines
    return FileFormat(fmt.encoding, fmt.bom, crlf)


def atomic_write(
    path: Path, text: str | bytes, *, check_unchanged: bool = False, expected: bytes | None = None
) -> None:
    """Replace ``path`` with ``text`` all at once; on any failure the old file stays.

    A symlink is followed: its target is replaced and the link kept.  The
    file's mode, owner and group are kept.  With ``check_unchanged``, the
    file is read again just before the rename and the write is abandoned if
    it no longer holds ``expected`` (the bytes read before the edit; ``None``
    for a file that did not exist): another program changed it meanwhile.  Failures
    (a full disk, a read-only folder) are one-line :class:`EvidenceError`\\ s.
    """
    target = Path(os.path.realpath(path))
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    if info is not None and not _writable(target):
        raise EvidenceError(f"{path} is read-only; nothing was changed (make it writable to edit it)")
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _copy_ownership(temporary, info, target)
        if check_unchanged and _read_or_none(target) != expected:
            raise EvidenceError(
                f"{path} was changed by another program while evidence was editing it; "
                "nothing was written (run the command again)"
            )
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise EvidenceError(f"cannot write {path}: {error.strerror or error}; nothing was changed") from None
    finally:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
    try:
        directory = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return  # written and renamed; only the folder's fsync is not possible here (e.g. Windows)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _copy_ownership(temporary: str, info: os.stat_result | None, target: Path) -> None:
    """Give the new file the old one's mode, owner and group; a new file gets 0644 less the umask."""
    if info is None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        return
    os.chmod(temporary, stat.S_IMODE(info.st_mode))
    if not hasattr(os, "chown"):
        return
    mine = os.stat(temporary)
    if (mine.st_uid, mine.st_gid) == (info.st_uid, info.st_gid):
        return
    try:
        os.chown(temporary, info.st_uid, info.st_gid)
    except PermissionError:
        try:
            os.chown(temporary, -1, info.st_gid)
        except PermissionError:
            pass
        mine = os.stat(temporary)
        if mine.st_uid != info.st_uid:
            raise EvidenceError(
                f"{target} belongs to another user, and rewriting it would make it yours; nothing was changed"
            ) from None
        if mine.st_gid != info.st_gid:
            raise EvidenceError(f"cannot keep the group of {target}; nothing was changed") from None


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def remove_leftover_temporaries(target: Path) -> list[Path]:
    """Delete the temporary files killed runs left beside ``target``: only ours, by our naming pattern.

    Call only while holding ``target``'s lock: every writer of the file holds
    it, so any temporary file of ours for it belongs to a run that died.
    """
    # the suffix of earlier versions (.tmp) too: their leftovers are ours as well
    pattern = re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}(?:" + re.escape(TEMP_SUFFIX) + r"|\.tmp)")
    removed: list[Path] = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        if not pattern.fullmatch(name):
            continue
        leftover = target.parent / name
        try:
            if stat.S_ISREG(leftover.lstat().st_mode):
                leftover.unlink()
                removed.append(leftover)
        except OSError:
            pass
    return removed


def locked_update(path: Path, change: Callable[[str], str]) -> str:
    """Read, change and write ``path`` under its lock; returns the new text.

    ``change`` sees the text with LF line ends and may raise to abandon the
    edit: nothing is written then.  The file's encoding, byte-order mark and
    CRLF line ends are kept; a symlink is followed (the lock is the
    target's).  A read-only file, a folder where the lock cannot be made, a
    full disk, or a change by another program between the read and the
    write stops the edit with a one-line :class:`EvidenceError`, and the file
    is left as it was.
    """
    from filelock import FileLock, Timeout

    target = Path(os.path.realpath(path))
    if target.exists() and not _writable(target):
        raise EvidenceError(f"{path} is read-only; nothing was changed (make it writable to edit it)")
    lock = FileLock(str(target) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise EvidenceError(f"{path} is locked by another evidence command; try again") from None
    except OSError as error:
        raise EvidenceError(
            f"cannot create the lock file {target}.lock ({error.strerror or error}); "
            "is the folder read-only? Nothing was changed"
        ) from None
    try:
        remove_leftover_temporaries(target)
        try:
            old_bytes = _read_or_none(target)
        except OSError as error:
            raise EvidenceError(f"cannot read {path}: {error.strerror or error}; nothing was changed") from None
        fmt = file_format(old_bytes, str(path)) if old_bytes is not None else FileFormat()
        old = fmt.decode(old_bytes) if old_bytes is not None else ""
        new = change(old)
        if new != old:
            atomic_write(target, fmt.encode(new), check_unchanged=True, expected=old_bytes)
        return new
    finally:
        lock.release()


def _writable(path: Path) -> bool:
    """Whether the user may write ``path``; a file without any write bit counts as read-only even for root."""
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


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


def validate_outcome_updates(updates: dict[str, str], force: bool = False) -> None:
    """Check names and values of ``field=value`` updates before anything is written.

    A name that is neither a standard BibTeX/BibLaTeX field nor an outcome
    field is refused unless ``force``: a typo such as ``responder`` would be
    written and then ignored by every command.
    """
    from difflib import get_close_matches

    from evidence.library.fields import known_field_names

    known = known_field_names()
    for name, value in updates.items():
        if not _FIELD_NAME.match(name):
            raise EvidenceError(f"{name!r} is not a field name")
        if name not in known and not force:
            close = get_close_matches(name, sorted(known), n=3, cutoff=0.7)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
            raise EvidenceError(f"unknown field {name!r}{hint}; use --force to set it anyway; nothing was changed")
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
        reason = problems[0].message if problems else "the edit would leave the entry unparsable"
        raise EvidenceError(f"{key}: {reason}; nothing was changed")
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


def set_fields(path: Path, key: str, updates: dict[str, str], force: bool = False) -> list[str]:
    """Set fields of entry ``key`` in ``path``; returns messages for the user.

    Either the file changes and every value reads back as given, or an
    :class:`EvidenceError` says why not: an entry whose fields already run
    together (a missing comma) is refused, since writing into it would be
    lost in the neighbouring value.  Setting a field that a verification
    covers clears the verification: the new value has not been checked by
    anyone.  Unknown field names need ``force``.
    """
    from evidence.library.files import parse_bib_text

    validate_outcome_updates(updates, force)
    messages: list[str] = []
    unchanged: list[str] = []

    def change(text: str) -> str:
        start, end = entry_bounds(text, key, str(path))
        raw = text[start:end]
        entries, problems = parse_bib_text(raw, str(path))
        if problems:
            line = text[:start].count("\n") + (problems[0].line or 1)
            raise EvidenceError(
                f"{path}:{line}: {key}: {problems[0].message}; fix the entry first, nothing was changed"
            )
        fields = entries[0].fields
        unchanged[:] = [name for name, value in updates.items() if fields.get(name) == value]
        new_raw = set_in_raw(raw, updates)
        covered = _verified_fields(fields)
        touched = sorted((set(updates) - set(unchanged)) & covered) if covered is not None else []
        if touched:
            new_raw = unset_in_raw(new_raw, VERIFICATION_FIELDS)
            by = fields["verified_by"]
            messages.append(f"{key}: verification by {by} cleared, since {', '.join(touched)} changed")
        _check_entry(new_raw, key)
        _check_reads_back(new_raw, key, updates)
        return text[:start] + new_raw + text[end:]

    locked_update(path, change)
    changed = [name for name in updates if name not in unchanged]
    if not changed:
        return [f"{key}: {', '.join(updates)} already as given in {path}; nothing to change"]
    same = f" ({', '.join(unchanged)} already as given)" if unchanged else ""
    return messages + [f"{key}: set {', '.join(changed)} in {path}{same}"]


def _check_reads_back(raw: str, key: str, updates: dict[str, str]) -> None:
    """Refuse an edit whose values would not read back exactly as given: the user would be told a lie."""
    from evidence.library.files import parse_bib_text

    entries, problems = parse_bib_text(raw, "")
    fields = entries[0].fields if entries and not problems else {}
    wrong = [name for name, value in updates.items() if fields.get(name) != value]
    if wrong:
        raise EvidenceError(f"{key}: {', '.join(wrong)} would not read back as given; nothing was changed")


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


def verify_entry(
    path: Path, key: str, by: str, fields: list[str] | None = None, today: date | None = None
) -> list[str]:
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
