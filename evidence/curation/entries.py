"""Whole-entry curation: rename a key, remove an entry, merge two entries, start a library.

These are the commands people know from Better BibTeX, JabRef and papis.  A
citation key is referenced from more than its entry: outcome rows in
``*.outcomes.csv`` files beside the .bib (column ``key``), ``crossref`` and
``xdata`` fields of other entries, and citations in pages (``[@key]``,
``\\cite{key}``).  Renaming or removing an entry deals with each of them, so
no reference is left dangling.

Every file is changed through :func:`evidence.curation.edit.locked_update`
(file lock, atomic write), and only the bytes that hold the key change:
other entries, comments and other CSV rows stay byte for byte.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from evidence.defaults import DEFAULT_REFS
from evidence.errors import EvidenceError, UnknownKeyError

if TYPE_CHECKING:
    from evidence.library.files import BibEntry, LoadResult

OUTCOME_TABLE_GLOB = "*.outcomes.csv"
#: Fields whose value names other entries' keys.
KEY_LIST_FIELDS = ("crossref", "xdata", "xref", "related", "ids", "entryset")
_KEY_PATTERN = re.compile(r"^[^\s,{}()=\"#%'~\\]+$")


@dataclass
class Change:
    """What a curation command did: one message per file changed, and conflicts or warnings to show."""

    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _library_entries(refs: Iterable[Path]) -> "LoadResult":
    from evidence.library.files import load_entries

    return load_entries(list(refs) or [DEFAULT_REFS])


def _entry(entries: "list[BibEntry]", key: str) -> "BibEntry":
    from evidence.analysis.query import closest

    for entry in entries:
        if entry.key == key:
            return entry
    raise UnknownKeyError(key, closest(key, [e.key for e in entries], n=3))


def locked_update(path: Path, change: Callable[[str], str]) -> str:
    """:func:`evidence.curation.edit.locked_update`, with a file that is not UTF-8 refused in one line.

    Such a file loads (with a warning), but is edited only once converted,
    so that an edit never changes the encoding of every other byte.
    """
    from evidence.curation.edit import locked_update as update

    try:
        return update(path, change)
    except UnicodeDecodeError as error:
        raise EvidenceError(
            f"{path}: not UTF-8 (byte offset {error.start}); save it as UTF-8 to edit it. Nothing was changed"
        ) from error


def outcome_tables(bib: Path) -> list[Path]:
    """The outcome tables that belong with ``bib``: ``*.outcomes.csv`` in its folder."""
    return sorted(p for p in bib.parent.glob(OUTCOME_TABLE_GLOB) if p.is_file())


_ENTRY_KEY = re.compile(rb"^[ \t]*@[ \t]*(?!string|comment|preamble)\w+[ \t]*[{(][ \t]*([^,\s{}()]+)", re.M | re.I)


def citation_keys(paths: Iterable[Path]) -> list[str]:
    """Every key under ``paths``, found with a regular expression: fast enough for shell completion.

    Never raises: completion must not print errors into the user's shell.
    """
    from evidence.library.files import find_bib_files

    keys: list[str] = []
    try:
        files = find_bib_files(p for p in paths if Path(p).exists())
    except Exception:
        return keys
    for path in files:
        try:
            keys.extend(m.group(1).decode("utf-8", "replace") for m in _ENTRY_KEY.finditer(path.read_bytes()))
        except OSError:
            continue
    return sorted(set(keys))


# --- rename ------------------------------------------------------------------


def rename_key(refs: Iterable[Path], old: str, new: str, pages: Iterable[Path] = ()) -> Change:
    """Rename entry ``old`` to ``new`` everywhere the library refers to it, and in ``pages``.

    Refused (nothing changed) when ``new`` is not a valid key or is already
    taken; BibTeX keys are compared case-insensitively for that, as BibTeX does.
    """
    new = new.strip()
    if not _KEY_PATTERN.match(new):
        raise EvidenceError(f"{new!r} is not a valid citation key (no spaces, commas, braces or quotes)")
    result = _library_entries(refs)
    entry = _entry(result.entries, old)
    clash = next((e for e in result.entries if e.key.lower() == new.lower() and e.key != old), None)
    if clash is not None:
        raise EvidenceError(f"key {new!r} is already used at {clash.file}:{clash.line}; nothing was renamed")
    pages = list(pages)
    for page in pages:
        if not page.is_file():
            raise EvidenceError(f"{page}: no such page; nothing was renamed")
    change = Change()
    bib = Path(entry.file)

    def rename_entry(text: str) -> str:
        return _rename_header(text, old, new, str(bib))

    locked_update(bib, rename_entry)
    change.messages.append(f"{old} -> {new} in {bib}")
    for path, count in _update_references(result, old, new):
        change.messages.append(f"{count} crossref/xdata reference(s) updated in {path}")
    for table in outcome_tables(bib):
        count = _update_outcome_rows(table, old, lambda row: new)
        if count:
            change.messages.append(f"{count} outcome row(s) renamed in {table}")
    for page in pages:
        count = rename_citations_in_file(page, old, new)
        change.messages.append(f"{count} citation(s) renamed in {page}")
    return change


def _rename_header(text: str, old: str, new: str, file: str) -> str:
    from evidence.curation.edit import entry_bounds

    start, end = entry_bounds(text, old, file)
    raw = text[start:end]
    header = re.compile(r"(@\s*\w+\s*[{(]\s*)" + re.escape(old) + r"(\s*,)")
    renamed, count = header.subn(lambda m: m.group(1) + new + m.group(2), raw, count=1)
    if count != 1:
        raise EvidenceError(f"{file}: cannot find the key of {old!r} in its entry's first line")
    return text[:start] + renamed + text[end:]


def _update_references(result: "LoadResult", old: str, new: str | None) -> list[tuple[Path, int]]:
    """Rewrite ``crossref``/``xdata``... values naming ``old`` in every file; ``None`` only counts them."""
    files: dict[str, list[str]] = {}
    for entry in result.entries:
        if any(old in _key_list(entry.fields.get(name, "")) for name in KEY_LIST_FIELDS):
            files.setdefault(entry.file, []).append(entry.key)
    changed = []
    for file, keys in files.items():
        if new is None:
            changed.append((Path(file), len(keys)))
            continue

        def change(text: str, keys: list[str] = keys, file: str = file) -> str:
            for key in keys:
                text = _replace_in_key_fields(text, key, old, new, file)
            return text

        locked_update(Path(file), change)
        changed.append((Path(file), len(keys)))
    return changed


def _key_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",")]


def _replace_in_key_fields(text: str, key: str, old: str, new: str, file: str) -> str:
    from evidence.curation.edit import entry_bounds, field_spans

    start, end = entry_bounds(text, key, file)
    raw = text[start:end]
    for span in sorted(field_spans(raw), key=lambda s: -s.value_start):
        if span.name in KEY_LIST_FIELDS:
            value = raw[span.value_start : span.value_end]
            pattern = re.compile(r"(?<![^\s{\",])" + re.escape(old) + r"(?![^\s}\",])")
            raw = raw[: span.value_start] + pattern.sub(new, value) + raw[span.value_end :]
    return text[:start] + raw + text[end:]


def _update_outcome_rows(table: Path, key: str, rewrite: Callable[[list[str]], str | None]) -> int:
    """Rewrite (or, when ``rewrite`` returns ``None``, drop) the rows of ``table`` whose key is ``key``.

    Other rows keep their exact bytes; a rewritten row is written in the
    file's own CSV dialect.  Returns how many rows matched.
    """
    count = 0

    def change(text: str) -> str:
        nonlocal count
        count = 0
        lines = text.splitlines(keepends=True)
        reader = csv.reader(io.StringIO(text))
        try:
            header = next(reader)
        except StopIteration:
            return text
        if "key" not in header:
            raise EvidenceError(f"{table}:1: no 'key' column; outcome rows not changed")
        column = header.index("key")
        out = lines[: reader.line_num]
        consumed = reader.line_num
        for row in reader:
            record_lines = lines[consumed : reader.line_num]
            consumed = reader.line_num
            if column < len(row) and row[column] == key:
                count += 1
                replacement = rewrite(row)
                if replacement is not None:
                    row = list(row)
                    row[column] = replacement
                    buffer = io.StringIO()
                    ending = "\r\n" if record_lines and record_lines[-1].endswith("\r\n") else "\n"
                    csv.writer(buffer, lineterminator=ending).writerow(row)
                    out.append(buffer.getvalue())
                continue
            out.extend(record_lines)
        return "".join(out)

    locked_update(table, change)
    return count


_PANDOC_KEY_END = r"(?![\w])(?![:.#$%&\-+?<>~/]\w)"
_CITE_COMMAND = re.compile(r"(\\[A-Za-z]*cite[A-Za-z]*\*?(?:\s*\[[^\]]*\]){0,2}\s*\{)([^{}]*)(\})")


def rename_citations(text: str, old: str, new: str) -> tuple[str, int]:
    """``text`` with pandoc citations (``[@old]``, ``@old``, ``@{old}``) and ``\\cite{old}`` renamed; and how many."""
    count = 0

    def pandoc(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return match.group(1) + ("{" + new + "}" if match.group(2) else new)

    pattern = re.compile(r"((?<![\w.@])-?@)(\{)?" + re.escape(old) + r"(?(2)\}|" + _PANDOC_KEY_END + ")")
    text = pattern.sub(pandoc, text)

    def cite(match: re.Match[str]) -> str:
        nonlocal count
        keys = match.group(2).split(",")
        renamed = [
            re.sub(r"^(\s*)" + re.escape(old) + r"(\s*)$", r"\g<1>" + new.replace("\\", r"\\") + r"\2", k) for k in keys
        ]
        count += sum(a != b for a, b in zip(keys, renamed))
        return match.group(1) + ",".join(renamed) + match.group(3)

    return _CITE_COMMAND.sub(cite, text), count


def rename_citations_in_file(page: Path, old: str, new: str) -> int:
    count = 0

    def change(text: str) -> str:
        nonlocal count
        text, count = rename_citations(text, old, new)
        return text

    locked_update(page, change)
    return count


# --- remove ------------------------------------------------------------------


def remove_entry(refs: Iterable[Path], key: str) -> Change:
    """Remove entry ``key`` and its outcome rows; entries that still point at it are reported."""
    result = _library_entries(refs)
    entry = _entry(result.entries, key)
    bib = Path(entry.file)
    locked_update(bib, lambda text: _without_entry(text, key, str(bib)))
    change = Change([f"removed {key} from {bib}"])
    for table in outcome_tables(bib):
        count = _update_outcome_rows(table, key, lambda row: None)
        if count:
            change.messages.append(f"removed {count} outcome row(s) from {table}")
    for path, count in _update_references(result, key, None):
        change.warnings.append(
            f"{path}: {count} entr{'y' if count == 1 else 'ies'} still refer to {key} (crossref/xdata)"
        )
    return change


def _without_entry(text: str, key: str, file: str) -> str:
    """``text`` without the entry, and without the blank line that separated it from the next one."""
    from evidence.curation.edit import entry_bounds

    start, end = entry_bounds(text, key, file)
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip() == "":
        start = line_start
    after = re.compile(r"[ \t]*\r?\n(?:[ \t]*\r?\n)?").match(text, end)
    if after:
        end = after.end()
    return text[:start] + text[end:]


# --- merge -------------------------------------------------------------------


def merge_entries(refs: Iterable[Path], keep: str, other: str, pages: Iterable[Path] = ()) -> Change:
    """Merge entry ``other`` into ``keep``: fields only ``other`` has are added, then ``other`` is removed.

    A field both have with different values keeps ``keep``'s value and is
    reported as a conflict (the dropped value in the message, so nothing is
    lost without a word).  Outcome rows and citations of ``other`` move to
    ``keep``.
    """
    from evidence.curation.edit import entry_bounds, set_in_raw

    if keep == other:
        raise EvidenceError("give two different keys to merge")
    result = _library_entries(refs)
    kept, dropped = _entry(result.entries, keep), _entry(result.entries, other)
    additions = {name: value for name, value in dropped.fields.items() if name not in kept.fields and value.strip()}
    change = Change()
    for name, value in dropped.fields.items():
        mine = kept.fields.get(name)
        if mine is not None and " ".join(mine.split()) != " ".join(value.split()):
            change.warnings.append(f"conflict in {name}: kept {mine!r} ({keep}), dropped {value!r} ({other})")

    def add_fields(text: str) -> str:
        start, end = entry_bounds(text, keep, kept.file)
        return text[:start] + set_in_raw(text[start:end], additions) + text[end:]

    if additions:
        locked_update(Path(kept.file), add_fields)
    locked_update(Path(dropped.file), lambda text: _without_entry(text, other, dropped.file))
    added = f" (added {', '.join(additions)})" if additions else ""
    change.messages.append(f"merged {other} into {keep}{added}; {other} removed from {dropped.file}")
    for table in outcome_tables(Path(dropped.file)):
        count = _update_outcome_rows(table, other, lambda row: keep)
        if count:
            change.messages.append(f"{count} outcome row(s) of {other} now under {keep} in {table}")
    for path, count in _update_references(result, other, keep):
        change.messages.append(f"{count} crossref/xdata reference(s) updated in {path}")
    for page in pages:
        change.messages.append(f"{rename_citations_in_file(page, other, keep)} citation(s) renamed in {page}")
    return change


# --- init --------------------------------------------------------------------

GITIGNORE_LINES = (".evidence-cache/", "*.bib.lock", "*.lock", ".*.tmp")
EXAMPLE_ENTRY = """% An example entry: a study with its outcome data (see docs/fields.md).
% Replace it with your own references: evidence add export.ris --to refs/library.bib

@article{shi2003,
  author = {Shi, Y. L. and Wang, Y. M.},
  title = {Observation on therapeutic effects of acupuncture plus steaming washing with herbal drugs
           for restless legs syndrome},
  journal = {Chinese Acupuncture and Moxibustion},
  year = {2003}, volume = {23}, number = {11}, pages = {651--652},
  condition = {restless legs syndrome},
  intervention = {acupuncture; herbal steaming washing},
  comparator = {oryzanol; diazepam},
  design = {quasi-rct}, country = {China},
  n = {40}, responders = {27}, control_n = {40}, control_responders = {18},
  response_definition = {cured (all symptoms gone)},
  data_source = {primary},
}
"""


def init_library(folder: Path) -> Change:
    """Create ``folder/refs/`` with an example entry and a ``.gitignore`` for caches and locks.

    Nothing that exists is overwritten: an existing library keeps its files,
    and an existing ``.gitignore`` only gains the lines it lacks.
    """
    from evidence.curation.edit import atomic_write

    change = Change()
    refs = folder / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    if any(refs.rglob("*.bib")):
        change.warnings.append(f"{refs} already has .bib files; no example entry written")
    else:
        example = refs / "example.bib"
        atomic_write(example, EXAMPLE_ENTRY)
        change.messages.append(f"created {example}")
    gitignore = folder / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    missing = [line for line in GITIGNORE_LINES if line not in existing.splitlines()]
    if missing:
        prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
        atomic_write(gitignore, prefix + "# evidence: caches, lock and temporary files\n" + "\n".join(missing) + "\n")
        change.messages.append(f"{'updated' if existing else 'created'} {gitignore}")
    if not change.messages:
        change.messages.append(f"{folder} is already set up")
    return change
