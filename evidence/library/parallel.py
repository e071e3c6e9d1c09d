"""Parse one large .bib file in parts, and in several processes, with exactly the serial parse's result.

bibtexparser's splitter is plain Python and takes most of a cold load; a
file's entries are independent of each other except through ``@string``
macros and duplicate keys.  So the text is cut at entry boundaries, each
part is parsed by :func:`evidence.library.files.parse_bib_text` in its own
process, and the results are joined in order.  The same cuts bound memory
(:func:`file_columns`): a part's blocks and entries become table columns
and are dropped before the next part is parsed.

Where the text may be cut: bibtexparser starts a new block at every ``@type{``
(or ``@type(``) that begins a line, whatever came before, so a cut just
before such a line changes no block but the one before it, and only when
that one was left unclosed (then the serial parse reports "Unexpected block
start" where a part would report the end of the file).

What each part must see: every ``@string`` of the file, wherever it is
defined (the serial parse resolves macros against all of them).  They are
found first (cheaply: only the ``@string`` blocks are parsed) and written
into each part where they change no line number: after the last block of
the first part, and in the blank lines that stand for the text before
every other part.  A part's own line numbers are therefore the file's.

When the parallel result could differ from the serial one, the file is
parsed serially instead (the result is always the serial one):

* a part's last block failed to parse (it may have been cut);
* a key is defined in two parts, or a macro twice (the serial parse reports
  the second against the first, which no single part sees);
* two macro names differ only in case, or a macro's definition does not
  read back the same when written into a part.

A property test holds the result identical to the serial parse: entries,
their line numbers and raw text, and failed blocks.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Sequence

from evidence.errors import Problem
from evidence.library.files import SWALLOWED_FIELD, BibEntry, moved_problem, parse_bib_text

if TYPE_CHECKING:
    from evidence.progress import ProgressCallback

#: Files (in characters) smaller than this are parsed serially: starting a process costs more than it saves.
PARALLEL_MIN_CHARS = 1_000_000
#: Set to 0 (or ``off``/``false``/``no``) to parse every file serially.
PARALLEL_ENV = "EVIDENCE_PARALLEL_PARSE"

#: A line that starts a block, as bibtexparser's splitter sees one (``_BLOCK_START`` at a line start).
_BLOCK_START = re.compile(r"^[^\S\n]*@\w*[ \t]*[{(]", re.MULTILINE)
#: The same after a line break (found faster, from any position).
_NEXT_BLOCK = re.compile(r"\n[^\S\n]*@\w*[ \t]*[{(]")
#: A block start at a given ``@``.
_AT_BLOCK = re.compile(r"@\w*[ \t]*[{(]")
#: Where an ``@string`` block may start (bibtexparser takes any type beginning so, in any case).
_STRING = re.compile(r"@[sS][tT][rR][iI][nN][gG]")


@dataclass(frozen=True)
class ParseReport:
    """How a file was parsed: in how many parts, or why serially."""

    parts: int
    reason: str = ""


def parallel_enabled() -> bool:
    """Whether the environment allows parsing in parallel (``EVIDENCE_PARALLEL_PARSE``)."""
    return os.environ.get(PARALLEL_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def parse_bib_text_auto(text: str, file: str) -> tuple[list[BibEntry], list[Problem]]:
    """:func:`~evidence.library.files.parse_bib_text`, in two processes for a large file.

    Serial for files under :data:`PARALLEL_MIN_CHARS`, on machines with one
    core, or when ``EVIDENCE_PARALLEL_PARSE=0``.
    """
    if not _worth_it(text):
        return parse_bib_text(text, file)
    entries, problems, _ = parse_bib_text_parallel(text, file, parts=2)
    return entries, problems


Record = Callable[[BibEntry], "tuple[dict[str, Any], list[Problem]]"]


def file_rows(
    text: str,
    file: str,
    record: Record,
    progress: "ProgressCallback | None" = None,
    prepare: "Callable[[list[BibEntry]], list[BibEntry]] | None" = None,
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Each entry of one file's text through ``record`` (a table row and its problems), large files in two processes.

    The problems come as the serial loop gives them: the parse's, then each
    entry's in order.  ``record`` must be a module-level function (it is
    sent to the other process by name).  ``prepare`` runs over all of the
    file's entries before any becomes a row (crossref inheritance needs every
    parent in view), so a file that needs it is parsed in one process.
    """
    if prepare is None and _worth_it(text):
        rows, problems, _ = parse_bib_text_parallel(text, file, parts=2, record=record)
        return rows, problems
    entries, problems = parse_bib_text(text, file)
    if prepare is not None:
        entries = prepare(entries)
    rows = []
    name = Path(file).name
    for number, entry in enumerate(entries, start=1):
        row, entry_problems = record(entry)
        rows.append(row)
        problems.extend(entry_problems)
        if progress and number % 2000 == 0:
            progress(f"reading {name}", number, len(entries))
    return rows, problems


def parse_bib_text_parallel(
    text: str, file: str, parts: int = 2, processes: bool = True, record: Record | None = None
) -> tuple[list[Any], list[Problem], ParseReport]:
    """Parse ``text`` in ``parts`` pieces (one in this process, the rest in others); the serial result.

    With ``record``, each part's entries also go through it in that part's
    process, and the rows come back instead of the entries (the problems:
    the parse's, then the records').  ``processes=False`` handles the pieces
    one after another in this process (for tests: the same cutting and
    joining, without the pool).
    """
    plan = _plan(text, parts)
    if isinstance(plan, str):
        return (*_parse_part(text, file, record), ParseReport(1, plan))
    texts, last_blocks = plan
    if processes and len(texts) > 1:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(len(texts) - 1, mp_context=context) as pool:
            futures = [pool.submit(_parse_part_with_keys, part, file, record) for part in texts[1:]]
            results = [_parse_part_with_keys(texts[0], file, record)] + [future.result() for future in futures]
    else:
        results = [_parse_part_with_keys(part, file, record) for part in texts]
    reason = _cannot_join(results, last_blocks)
    if reason:
        return (*_parse_part(text, file, record), ParseReport(1, reason))
    items = [item for part in results for item in part.items]
    problems = _in_serial_order([part.problems for part in results])
    problems += [problem for part in results for problem in part.record_problems]
    return items, problems, ParseReport(len(texts))


@dataclass
class _Part:
    items: list[Any]
    problems: list[Problem]
    keys: list[str]
    record_problems: list[Problem]


def _parse_part_with_keys(text: str, file: str, record: Record | None) -> _Part:
    """One part: its entries (or rows), the parse's problems, its keys and the records' problems."""
    entries, problems = parse_bib_text(text, file)
    keys = [entry.key for entry in entries]
    if record is None:
        return _Part(entries, problems, keys, [])
    rows, later = [], []
    for entry in entries:
        row, entry_problems = record(entry)
        rows.append(row)
        later.extend(entry_problems)
    return _Part(rows, problems, keys, later)


def _parse_part(text: str, file: str, record: Record | None) -> tuple[list[Any], list[Problem]]:
    part = _parse_part_with_keys(text, file, record)
    return part.items, part.problems + part.record_problems


def _worth_it(text: str) -> bool:
    return len(text) >= PARALLEL_MIN_CHARS and parallel_enabled() and _cores() >= 2


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _plan(text: str, parts: int) -> tuple[list[str], list[int]] | str:
    """The texts to parse, one per part, and the line of each part's last block; or why not to cut.

    Only the places to cut and the ``@string`` blocks are looked for, so
    planning costs a few scans of the text at C speed, not a parse.
    """
    first = _BLOCK_START.search(text)
    cuts = _cuts(text, first.start() if first else len(text), parts)
    if not cuts:
        return "too few blocks to cut"
    strings = _string_definitions(text)
    if isinstance(strings, str):
        return strings
    bounds = [0, *cuts, len(text)]
    texts, last_blocks = [], []
    lines_before = 0  # counted part by part, so the text is counted once
    for number in range(len(bounds) - 1):
        begin, end = bounds[number], bounds[number + 1]
        others = "".join(f"@string{{{key} = {value}}}\n" for key, value, start in strings if not begin <= start < end)
        last = _last_block(text, begin, end)
        last_blocks.append(lines_before + _lines(text, begin, last) + 1)
        if number == 0:
            body = text[begin:end]
            texts.append(body + ("" if body.endswith("\n") or not others else "\n") + others)
        else:
            room = lines_before - _lines(others, 0, len(others))
            if room < 0:
                return "not enough lines before a part for the macros it needs"
            texts.append(others + "\n" * room + text[begin:end])
        lines_before += _lines(text, last, end) + _lines(text, begin, last)
    return texts, last_blocks


def _lines(text: str, start: int, end: int) -> int:
    """Line breaks between ``start`` and ``end`` as bibtexparser counts them.

    Its splitter skips a line break right after a backslash (it takes it for
    an escaped character), so its line numbers fall behind the file's after
    ``\\`` at the end of a line; the parts must number lines the same way.
    """
    return text.count("\n", start, end) - text.count("\\\n", start, end)


def _cuts(text: str, first_block: int, parts: int) -> list[int]:
    """Offsets of line starts just before a block, near equal shares of the text, each part with a block."""
    cuts: list[int] = []
    for number in range(1, parts):
        found = _NEXT_BLOCK.search(text, max(len(text) * number // parts, first_block + 1, cuts[-1] if cuts else 0))
        if found is None:
            break
        cuts.append(found.start() + 1)
    return cuts


def _last_block(text: str, begin: int, end: int) -> int:
    """The line start of the last block in ``text[begin:end]`` (whose first line starts a block)."""
    window = 65_536
    while True:
        low = max(begin, end - window)
        found = None
        for found in _NEXT_BLOCK.finditer(text, low, end):
            pass
        if found is not None:
            return found.start() + 1
        if low == begin:
            return begin
        window *= 8


def _string_definitions(text: str) -> list[tuple[str, str, int]] | str:
    """Every ``@string`` of the file as (name, value as written, offset); or why they cannot be carried over.

    Only the ``@string`` blocks are parsed (each up to the next block), which
    is cheap, and their definitions are checked to read back the same when
    written into a part.
    """
    import bibtexparser

    chunks, offsets = [], []
    for found in _STRING.finditer(text):
        at = found.start()
        line_start = text.rfind("\n", 0, at) + 1
        if text[line_start:at].strip() or not _AT_BLOCK.match(text, at):
            continue  # not where bibtexparser starts a block
        following = _NEXT_BLOCK.search(text, at)
        chunk = text[line_start : following.start() + 1 if following else len(text)]
        chunks.append(chunk if chunk.endswith("\n") else chunk + "\n")
        offsets.append(line_start)
    if not chunks:
        return []
    library = bibtexparser.parse_string("".join(chunks), parse_stack=[])
    if library.failed_blocks or len(library.strings) != len(chunks):
        return "an @string block does not parse on its own, or is defined twice"
    names = [block.key for block in library.strings]
    if len({name.lower() for name in names}) != len(names):
        return "two @string names differ only in case"
    definitions = [(block.key, str(block.value), offset) for block, offset in zip(library.strings, offsets)]
    written = "".join(f"@string{{{key} = {value}}}\n" for key, value, _ in definitions)
    again = bibtexparser.parse_string(written, parse_stack=[])
    if again.failed_blocks or [(b.key, b.value) for b in again.strings] != [(k, v) for k, v, _ in definitions]:
        return "an @string definition does not read back the same"
    return definitions


def _cannot_join(results: list[_Part], last_blocks: list[int]) -> str:
    """Why the parts' results may differ from the serial parse's, or ``""`` when they cannot."""
    for part, last_line in zip(results[:-1], last_blocks[:-1]):
        if any(problem.line == last_line for problem in part.problems):
            return "the last block of a part failed to parse"
    seen: set[str] = set()
    for part in results:
        keys = set(part.keys)
        if keys & seen:
            return "a key is defined in two parts"
        seen |= keys
    return ""


#: Text (in characters) parsed at a time by :func:`file_columns`: each part's bibtexparser blocks and entries
#: are dropped as soon as its rows are in the columns, so a file's blocks are never all alive at once.
CHUNK_CHARS = 2_000_000

Columns = dict[str, list[Any]]

#: The text a forked worker reads (set just before the pool forks, so the text is shared rather than sent).
_FORKED_TEXT: str | None = None


def file_columns(
    text: str,
    file: str,
    record: Record,
    names: Sequence[str],
    progress: "ProgressCallback | None" = None,
    prepare: "Callable[[list[BibEntry]], list[BibEntry]] | None" = None,
    repeated: Collection[str] = (),
    chunk_chars: int | None = None,
) -> tuple[Columns, list[Problem]]:
    """:func:`file_rows` as columns (``names``, each a list in entry order), built a part of the file at a time.

    The result equals the rows of :func:`file_rows` turned into columns, and
    the problems are the same, in the same order.  The text is parsed in
    parts of about ``chunk_chars`` characters (cut as :func:`_plan` cuts, the
    ``@string`` macros carried over, line numbers shifted back to the
    file's), and each part's rows go into the columns before the next part is
    parsed; a large file is also shared between two processes.  Values of the
    ``repeated`` columns are stored once per distinct value (journal names,
    entry types): equal, but one object.  When parts could change the result
    (a key defined in two parts, macros that cannot be carried over), the
    file is parsed whole and only the records are made entry by entry.
    """
    names = tuple(names)
    size = CHUNK_CHARS if chunk_chars is None else max(1, chunk_chars)
    builder = _ColumnBuilder(names, repeated)
    if prepare is None and (len(text) > size or _worth_it(text)):
        strings = _string_definitions(text)
        if not isinstance(strings, str):
            piece = _parallel_columns(text, file, record, builder, strings, size, progress) if _worth_it(text) else None
            if piece is None or piece.reason == _CUT_BLOCK:
                piece = _range_columns(
                    text, 0, len(text), 0, 0, len(text), file, record, builder, strings, size, progress
                )
            if not piece.reason:
                return piece.columns, piece.problems + piece.record_problems
    piece = _whole_columns(text, file, record, builder, prepare, progress)
    return piece.columns, piece.problems + piece.record_problems


_CUT_BLOCK = "the last block of a part failed to parse"
_KEY_TWICE = "a key is defined in two parts"


@dataclass
class _Piece:
    """A range of the file as columns: the parse's problems, the records' problems, or why it must be redone."""

    columns: Columns
    problems: list[Problem]
    record_problems: list[Problem]
    reason: str = ""


class _ColumnBuilder:
    """Rows appended a batch at a time to column lists; repeated values stored once."""

    def __init__(self, names: Sequence[str], repeated: Collection[str]) -> None:
        self.names = tuple(names)
        self.repeated = frozenset(repeated)

    def empty(self) -> Columns:
        return {name: [] for name in self.names}

    def memos(self) -> dict[str, dict[Any, Any]]:
        return {name: {} for name in self.names if name in self.repeated}

    def add(self, columns: Columns, memos: dict[str, dict[Any, Any]], rows: list[dict[str, Any]], shift: int) -> None:
        """Append ``rows`` to ``columns``; ``source_line`` moved by ``shift`` lines (a part's lines to the file's)."""
        if not rows:
            return
        if len(self.names) == 1:
            values: Iterable[tuple[Any, ...]] = [tuple(map(itemgetter(self.names[0]), rows))]
        else:
            values = zip(*map(itemgetter(*self.names), rows))
        for name, column_values in zip(self.names, values):
            memo = memos.get(name)
            if name == "source_line" and shift:
                columns[name].extend([line + shift for line in column_values])
            elif memo is not None:
                columns[name].extend(map(memo.setdefault, column_values, column_values))
            else:
                columns[name].extend(column_values)


def _in_serial_order(parts: list[list[Problem]]) -> list[Problem]:
    """The parse problems of consecutive parts as one parse lists them: blocks that failed, then swallowed fields."""
    if len(parts) == 1:
        return parts[0]
    failed = [p for part in parts for p in part if not p.message.startswith(SWALLOWED_FIELD)]
    return failed + [p for part in parts for p in part if p.message.startswith(SWALLOWED_FIELD)]


def _shifted(problems: list[Problem], shift: int) -> list[Problem]:
    if not shift:
        return problems
    return [moved_problem(p, shift) for p in problems]


def _records(
    entries: list[BibEntry],
    record: Record,
    builder: _ColumnBuilder,
    columns: Columns,
    memos: dict[str, dict[Any, Any]],
    shift: int,
    record_problems: list[Problem],
    done: "Callable[[int], None] | None" = None,
) -> None:
    """Each entry through ``record`` into the columns, a batch at a time; ``entries`` is emptied as it goes."""
    batch = 2000
    for start in range(0, len(entries), batch):
        if done is not None and start:
            done(start)
        rows = []
        for entry in entries[start : start + batch]:
            row, problems = record(entry)
            rows.append(row)
            record_problems.extend(_shifted(problems, shift))
        entries[start : start + batch] = [None] * len(rows)  # type: ignore[list-item]  # the entry goes with its row
        builder.add(columns, memos, rows, shift)


def _whole_columns(
    text: str,
    file: str,
    record: Record,
    builder: _ColumnBuilder,
    prepare: "Callable[[list[BibEntry]], list[BibEntry]] | None",
    progress: "ProgressCallback | None",
) -> _Piece:
    """The file parsed in one piece (what parts cannot reproduce); rows still made into columns as they come."""
    entries, problems = parse_bib_text(text, file)
    if prepare is not None:
        entries = prepare(entries)
    columns: Columns = builder.empty()
    record_problems: list[Problem] = []
    name, count = Path(file).name, len(entries)
    done = (lambda number: progress(f"reading {name}", number, count)) if progress else None
    _records(entries, record, builder, columns, builder.memos(), 0, record_problems, done)
    del entries
    return _Piece(columns, problems, record_problems)


def _range_columns(
    text: str,
    begin: int,
    end: int,
    base: int,
    lines_before: int,
    file_end: int,
    file: str,
    record: Record,
    builder: _ColumnBuilder,
    strings: list[tuple[str, str, int]],
    size: int,
    progress: "ProgressCallback | None" = None,
) -> _Piece:
    """The blocks of ``text[begin:end]`` as columns, parsed about ``size`` characters at a time.

    ``text`` starts at offset ``base`` of the file (a worker may hold only its
    share), ``lines_before`` is the line count (bibtexparser's) before
    ``begin`` and ``file_end`` the file's length.  A part whose last block
    failed may have been cut inside that block: it is parsed again with the
    next part joined to it.  A key met in two parts cannot be reported as the
    serial parse reports it, so the range comes back with a reason instead.
    """
    columns, memos = builder.empty(), builder.memos()
    parts: list[list[Problem]] = []
    record_problems: list[Problem] = []
    keys: set[str] = set()
    name = Path(file).name
    start, lines = begin, lines_before
    while start < end:
        cut = _next_cut(text, start, size, end)
        while True:
            chunk, shift = _chunk_text(text, start, cut, base, lines, strings)
            entries, chunk_problems = parse_bib_text(chunk, file)
            del chunk
            last_line = lines + _lines(text, start, _last_block(text, start, cut)) + 1
            if not any(p.line is not None and p.line + shift == last_line for p in chunk_problems):
                break
            if cut == end:
                if base + end < file_end:
                    return _Piece(columns, [], record_problems, _CUT_BLOCK)
                break
            cut = _next_cut(text, cut, size, end)  # the last block may have been cut: parse it whole
        chunk_keys = [entry.key for entry in entries]
        if not keys.isdisjoint(chunk_keys):
            return _Piece(columns, [], record_problems, _KEY_TWICE)
        keys.update(chunk_keys)
        parts.append(_shifted(chunk_problems, shift))
        _records(entries, record, builder, columns, memos, shift, record_problems)
        del entries
        lines += _lines(text, start, cut)
        start = cut
        if progress:
            progress(f"reading {name}", start - begin, end - begin)
    return _Piece(columns, _in_serial_order(parts) if parts else [], record_problems)


def _next_cut(text: str, start: int, size: int, end: int) -> int:
    """Where the part that begins at ``start`` ends: a line that starts a block about ``size`` on, or ``end``."""
    if start + size >= end:
        return end
    found = _NEXT_BLOCK.search(text, start + size, end)
    return found.start() + 1 if found else end


def _chunk_text(
    text: str, start: int, end: int, base: int, lines: int, strings: list[tuple[str, str, int]]
) -> tuple[str, int]:
    """The text to parse for ``text[start:end]`` with every macro defined elsewhere, and the shift of its lines.

    The macros go before the part (its first line starts a block) and the
    lines are shifted back; the file's first part, which may begin with
    anything, gets them after its last block, as :func:`_plan` does.
    """
    first, last = base + start, base + end
    others = "".join(f"@string{{{key} = {value}}}\n" for key, value, at in strings if not first <= at < last)
    body = text[start:end]
    if first == 0:
        return body + ("" if body.endswith("\n") or not others else "\n") + others, lines
    return others + body, lines - _lines(others, 0, len(others))


def _parallel_columns(
    text: str,
    file: str,
    record: Record,
    builder: _ColumnBuilder,
    strings: list[tuple[str, str, int]],
    size: int,
    progress: "ProgressCallback | None",
) -> _Piece | None:
    """The file's first half in this process and its second half in another; ``None`` when they cannot be joined."""
    global _FORKED_TEXT
    first = _BLOCK_START.search(text)
    cuts = _cuts(text, first.start() if first else len(text), 2)
    if not cuts:
        return None
    cut = cuts[0]
    arguments = (cut, _lines(text, 0, cut), len(text), file, record, builder, strings, size)
    methods = multiprocessing.get_all_start_methods()
    forked = "fork" in methods
    context = multiprocessing.get_context("fork" if forked else "spawn")
    try:
        _FORKED_TEXT = text if forked else None  # a forked worker reads it from here: nothing is copied
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            future = pool.submit(_second_half, None if forked else text[cut:], *arguments)
            head = _range_columns(text, 0, cut, 0, 0, len(text), file, record, builder, strings, size, progress)
            tail = future.result()
    finally:
        _FORKED_TEXT = None
    if head.reason or tail.reason:
        return _Piece({}, [], [], head.reason or tail.reason)
    if not set(head.columns["key"]).isdisjoint(tail.columns["key"]):
        return _Piece({}, [], [], _KEY_TWICE)
    for name in builder.names:
        head.columns[name].extend(tail.columns.pop(name))
    problems = _in_serial_order([head.problems, tail.problems])
    return _Piece(head.columns, problems, head.record_problems + tail.record_problems)


def _second_half(
    share: str | None,
    cut: int,
    lines_before: int,
    file_end: int,
    file: str,
    record: Record,
    builder: _ColumnBuilder,
    strings: list[tuple[str, str, int]],
    size: int,
) -> _Piece:
    """In the worker: the columns of the text from ``cut`` on (``share``, or the forked parent's text)."""
    if share is None:
        assert _FORKED_TEXT is not None
        return _range_columns(
            _FORKED_TEXT, cut, file_end, 0, lines_before, file_end, file, record, builder, strings, size
        )
    return _range_columns(share, 0, len(share), cut, lines_before, file_end, file, record, builder, strings, size)
