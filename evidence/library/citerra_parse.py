"""citerra, a Rust-backed BibTeX parser, as an optional fast path that gives exactly bibtexparser's result.

bibtexparser 2 is the reference: every entry, line number, error message
and problem a user sees is bibtexparser's.  citerra parses a large file in a
fraction of bibtexparser's time, but it is young and reads some text
differently (it accepts ``@article`` and ``{`` on separate lines, which
bibtexparser reads as a comment; it takes ``"a {"} b"`` as ``"a {"``
without a word of warning; in tolerant mode it panics on some text that is
not ASCII).
So its result is used only where it can be shown to be bibtexparser's, and
:func:`parse_bib_text_citerra` returns ``None`` (the caller then parses with
bibtexparser) whenever it cannot show that:

* citerra reports any diagnostic or failed block, or raises (or panics);
* a place where bibtexparser would start a block (``@type{`` or ``@type(``
  anywhere outside a block, or at the start of a line inside one) is not
  where citerra starts one, or a block opens with ``(``;
* a key is defined twice, or a field twice in one entry (bibtexparser
  reports both as problems), or a value swallowed the next field.

Each entry citerra found is then checked against bibtexparser's rules, at C
speed, by a regular expression that describes a subset of BibTeX on which
bibtexparser's splitter has no choices to make (braced values nested up to
four deep without ``\\{``, ``\\}`` or ``\\\\``, quoted values without ``"``
inside, bare words, and ``#`` concatenations of these), and citerra's key,
field names and values as written must equal what that expression reads.
An entry outside the subset, or where the two disagree, is given to
bibtexparser itself (its text alone), and so are ``@string``, ``@preamble``
and ``@comment`` blocks; each must come back as one block of the same kind
and the same text.  Values are then resolved exactly as
:func:`~evidence.library.files.parse_bib_text` resolves them
(:func:`~evidence.library.files.resolve_value`), and line numbers are
counted as bibtexparser counts them (a line break right after a backslash
does not count).  A large file is given to citerra in pieces
(:func:`_pieces`), to bound the memory its document takes.

The choice of parser is the ``EVIDENCE_PARSER`` setting (see
:func:`chosen_parser`).
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

from evidence.errors import EvidenceError, Problem
from evidence.library.files import BibEntry, resolve_value, swallowed_field_problems

#: ``bibtexparser``, ``citerra`` or ``auto``.
PARSER_ENV = "EVIDENCE_PARSER"
PARSERS = ("bibtexparser", "citerra", "auto")
#: citerra when it is installed and a file passes every check, else bibtexparser (see docs/performance.md).
DEFAULT_PARSER = "auto"
INSTALL_HINT = "pip install 'evidence[fast]'"

#: Where bibtexparser starts a block: its ``_BLOCK_START`` with the opening bracket.
_BLOCK_START = re.compile(r"@(\w*)[ \t]*([{(])")
#: A line that starts a block, from the line break before it.
_LINE_BLOCK_START = re.compile(r"\n[^\S\n]*@\w*[ \t]*[{(]")
#: citerra reads a file in pieces of about this many characters (see :func:`_pieces`).
PIECE_CHARS = 1 << 20
#: Types bibtexparser reads as something other than an entry: it tests the lower-cased type's start.
_SPECIAL_TYPES = ("comment", "preamble", "string")

# What bibtexparser's splitter reads without a choice to make.  Its marks are
# the characters ``{ } " , =`` and line breaks not preceded by a backslash, and
# ``@type{``; a value ends at the first ``,`` or ``}`` outside braces and quotes.
#: A key or field name: no mark, no escape, no block start; bibtexparser strips the whitespace around it.
_WORD = r'[^{}",=@\\\s]++'
_NAME = rf"\s*+({_WORD}(?:\s++{_WORD})*+)\s*+"
_BRACED_INNER = r"(?:[^{}\\]++|\\[^{}\\])*+"  # no \{ or \} (bibtexparser skips them, BibTeX counts them)
_BRACED = r"\{" + _BRACED_INNER + r"\}"
for _depth in range(3):
    _BRACED = r"\{(?:[^{}\\]++|\\[^{}\\]|" + _BRACED + r")*+\}"
# no quote inside (bibtexparser ignores braces within quotes, BibTeX does not), and not ending in ``{"}``, which
# bibtexparser takes for an escaped quote
_QUOTED = r'"(?:[^"\\]++|\\[^"\\])*+(?<!\{)"'
_BARE = r'[^\s{}",=#@\\]++'
_PART = f"(?:{_BRACED}|{_QUOTED}|{_BARE})"
_VALUE = rf"{_PART}(?:\s*+#\s*+{_PART})*+"
_FIELD_TEXT = rf"{_NAME}=\s*+({_VALUE})\s*+"
#: An entry in the subset, whole: type, key, then fields each ended by a comma but perhaps the last.
_ENTRY = re.compile(rf"@(\w*)[ \t]*\{{\s*+({_WORD})\s*+,(?:{_FIELD_TEXT},)*+(?:{_FIELD_TEXT})?\s*+\}}")
#: One field of such an entry (name, value as written), found one after another.
_FIELD = re.compile(_FIELD_TEXT)


@dataclass
class _Block:
    kind: str  # entry, string, preamble, comment
    start: int  # character offsets in the text
    end: int
    #: An entry's (key, type, [(field, value as written)]) when the fast check read it; else bibtexparser reads it.
    read: tuple[str, str, list[tuple[str, str]]] | None


def chosen_parser() -> str:
    """The ``EVIDENCE_PARSER`` setting: ``bibtexparser``, ``citerra`` or ``auto`` (the default).

    ``auto`` uses citerra when it is installed; ``citerra`` insists on it (a
    one-line error when it is missing); ``bibtexparser`` never uses it.  With
    either of the first two, a file citerra cannot be shown to read as
    bibtexparser does is parsed by bibtexparser.
    """
    value = os.environ.get(PARSER_ENV, "").strip().lower() or DEFAULT_PARSER
    if value not in PARSERS:
        raise EvidenceError(f"{PARSER_ENV}={value!r} is not a parser; choose one of {', '.join(PARSERS)}")
    return value


def citerra_installed() -> bool:
    """Whether citerra can be imported (without importing it)."""
    return find_spec("citerra") is not None


def parser_in_use() -> str:
    """``citerra`` when the setting and the installation let files be read by citerra, else ``bibtexparser``."""
    choice = chosen_parser()
    if choice == "bibtexparser":
        return "bibtexparser"
    if citerra_installed():
        return "citerra"
    if choice == "citerra":
        raise EvidenceError(f"{PARSER_ENV}=citerra but citerra is not installed ({INSTALL_HINT})")
    return "bibtexparser"


def parse_if_chosen(text: str, file: str) -> tuple[list[BibEntry], list[Problem]] | None:
    """citerra's result when the setting allows it and it is bibtexparser's; else ``None``."""
    if parser_in_use() != "citerra":
        return None
    return parse_bib_text_citerra(text, file)


def parse_bib_text_citerra(text: str, file: str) -> tuple[list[BibEntry], list[Problem]] | None:
    """What :func:`evidence.library.files.parse_bib_text` returns for ``text``, read by citerra; or ``None``.

    ``None`` means citerra's reading could not be shown to be bibtexparser's
    (see the module's docstring); the caller must then parse with
    bibtexparser, so that problems are always reported as bibtexparser
    reports them.  A result is only ever returned with no problems.
    """
    result = citerra_reading(text, file)
    return None if isinstance(result, str) else result


def citerra_reading(text: str, file: str) -> tuple[list[BibEntry], list[Problem]] | str:
    """:func:`parse_bib_text_citerra`'s result, or why citerra's reading was not used (for the benchmark's tally)."""
    try:
        import citerra
    except ImportError:
        return "citerra is not installed"
    blocks: list[_Block] = []
    for begin, end in _pieces(text):
        piece = text[begin:end]
        try:
            document = citerra.parse(piece, tolerant=False, capture_source=True, preserve_raw=True)
        except Exception as error:
            return f"citerra: {type(error).__name__}"
        except BaseException as error:  # a panic in citerra's Rust code arrives as pyo3's PanicException
            if isinstance(error, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            return f"citerra: {type(error).__name__}"
        if document.status != "ok" or document.diagnostics or document.failed_blocks:
            return "citerra: diagnostics"
        found = _blocks(document, piece)
        del document  # citerra's document is ten times its text: one piece's at a time
        if isinstance(found, str):
            return found
        blocks += [_Block(block.kind, block.start + begin, block.end + begin, block.read) for block in found]
    reason = _different_block_starts(text, blocks)
    if reason:
        return reason
    return _entries(text, file, blocks)


def _pieces(text: str) -> list[tuple[int, int]]:
    """The text cut before lines that start a block, about every :data:`PIECE_CHARS` characters.

    citerra's document takes about ten times the memory of its text, and
    memory it frees is not given back to the system, so a large file is
    read piece by piece.  A cut before a line that starts a block splits no
    block this module accepts: one that went on past such a line is
    abandoned there by bibtexparser (:func:`_different_block_starts`).
    """
    cuts = [0]
    while True:
        found = _LINE_BLOCK_START.search(text, cuts[-1] + PIECE_CHARS)
        if found is None:
            break
        cuts.append(found.start() + 1)
    return list(zip(cuts, [*cuts[1:], len(text)]))


def _blocks(document: Any, text: str) -> list[_Block] | str:
    """citerra's blocks that start with ``@``, in the order of the text, with character offsets.

    Entries are read (:func:`_read_entry`) here, so that nothing of
    citerra's document is needed, or kept alive, afterwards.
    """
    entries, strings, preambles, comments = document.entries, document.strings, document.preambles, document.comments
    lists = {"entry": entries, "string": strings, "preamble": preambles, "comment": comments}
    spans: list[tuple[str, int, int, Any]] = []
    for block in document.blocks:
        items = lists.get(block.kind)
        if items is None:
            return f"citerra: a block of kind {block.kind!r}"
        item = items[block.index]
        if block.kind == "comment" and not (item.raw or "").startswith("@"):
            continue  # text between blocks; bibtexparser's implicit comment
        source = item.source
        if source is None:
            return "citerra: a block without its place in the text"
        spans.append((block.kind, source.byte_start, source.byte_end, item))
    offsets = _char_offsets(text, [offset for _, start, end, _ in spans for offset in (start, end)])
    if offsets is None:
        return "citerra: byte offsets out of order"
    result = []
    previous_end = 0
    for number, (kind, _, _, item) in enumerate(spans):
        start, end = offsets[2 * number], offsets[2 * number + 1]
        if start < previous_end or end <= start or text[start] != "@":
            return "citerra: a block's place in the text"
        read = _read_entry(text[start:end], item) if kind == "entry" else None
        result.append(_Block(kind, start, end, read))
        previous_end = end
    return result


def _char_offsets(text: str, byte_offsets: list[int]) -> list[int] | None:
    """citerra's byte offsets (ascending) as offsets into ``text``; ``None`` if they are not ascending."""
    if text.isascii():
        return byte_offsets
    data = text.encode("utf-8")
    result, last_byte, last_char = [], 0, 0
    for offset in byte_offsets:
        if offset < last_byte:
            return None
        try:
            last_char += len(data[last_byte:offset].decode("utf-8"))
        except UnicodeDecodeError:
            return None
        last_byte = offset
        result.append(last_char)
    return result


def _different_block_starts(text: str, blocks: list[_Block]) -> str:
    """Where bibtexparser would not start a block exactly where citerra does, with ``{``; ``""`` when it would.

    bibtexparser starts a block at every ``@type{`` or ``@type(`` outside a
    block, and abandons a block at one that starts a line inside it.  One
    inside a block but not at a line start is harmless only inside a value,
    which the entry checks make sure of (keys and field names hold no ``@``).
    """
    starts = {block.start: block for block in blocks}
    begins = [block.start for block in blocks]
    found = 0
    for match in _BLOCK_START.finditer(text):
        at = match.start()
        block = starts.get(at)
        if block is not None:
            if match.group(2) != "{":
                return "a block opened with '('"
            kind = match.group(1).lower()
            if block.kind == "entry" and kind.startswith(_SPECIAL_TYPES):  # citerra's own type is not used
                return "an entry type bibtexparser reads otherwise"
            found += 1
            continue
        inside = bisect_right(begins, at) - 1
        if inside < 0 or at >= blocks[inside].end:
            return "a block start outside citerra's blocks"
        line_start = text.rfind("\n", 0, at) + 1
        if text[line_start:at].isspace() or line_start == at:
            return "a block start at the start of a line inside a block"
    return "" if found == len(blocks) else "a citerra block where bibtexparser starts none"


def _entries(text: str, file: str, blocks: list[_Block]) -> tuple[list[BibEntry], list[Problem]] | str:
    """The entries, each read by the fast check where it applies and by bibtexparser where not."""
    read = [block.read for block in blocks]
    # blocks bibtexparser must read: @string, @preamble, @comment, entries outside the subset
    others = [number for number, block in enumerate(blocks) if block.read is None]
    checked = _bibtexparser_blocks(text, [blocks[n] for n in others])
    if checked is None:
        return "a block bibtexparser reads otherwise"
    strings: dict[str, str] = {}
    slow_entries = []
    for number, parsed in zip(others, checked):
        if blocks[number].kind == "string":
            strings[parsed.key] = parsed.value
        elif blocks[number].kind == "entry":
            slow_entries.append(parsed)
            read[number] = (parsed.key, parsed.entry_type, [(f.key, f.value) for f in parsed.fields])
    if slow_entries and swallowed_field_problems(slow_entries, file):
        return "a missing comma"
    macros = {key.lower(): value for key, value in strings.items()}  # as parse_bib_text: the later of Foo, FOO
    entries: list[BibEntry] = []
    keys: set[str] = set()
    line, counted = 1, 0
    for block, fast in zip(blocks, read):
        if block.kind != "entry" or fast is None:
            continue
        key, entry_type, pairs = fast
        if key in keys:
            return "a duplicate key"
        keys.add(key)
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            return "a field given twice"
        line += text.count("\n", counted, block.start) - text.count("\\\n", counted, block.start)
        counted = block.start
        entries.append(
            BibEntry(
                key=key,
                entry_type=entry_type.lower(),
                fields={name.lower(): resolve_value(value, macros) for name, value in pairs},
                file=file,
                line=line,
                raw=text[block.start : block.end],
            )
        )
    return entries, []


def _read_entry(raw: str, entry: Any) -> tuple[str, str, list[tuple[str, str]]] | None:
    """(key, type, [(field name, value as written)]) when ``raw`` is in the subset and citerra read it so."""
    whole = _ENTRY.fullmatch(raw)
    if whole is None or whole.group(2) != entry.key:
        return None
    pairs = _FIELD.findall(raw, whole.end(2))
    if pairs != [(item.name, item.raw_value) for item in entry.fields]:
        return None
    return whole.group(2), whole.group(1), pairs


def _bibtexparser_blocks(text: str, blocks: list[_Block]) -> list[Any] | None:
    """Each block's text read by bibtexparser alone: one block of the same kind and text each, else ``None``.

    A block's reading depends only on its own text, but for one thing: a
    ``{"}`` inside quotes counts as an escaped quote only when some text
    follows it, so a line break follows every block but one that ends the file.
    """
    if not blocks:
        return []
    import logging

    import bibtexparser
    from bibtexparser.model import Entry, ExplicitComment, Preamble, String

    expected = {"entry": Entry, "string": String, "preamble": Preamble, "comment": ExplicitComment}
    raws = [text[block.start : block.end] for block in blocks]
    joined = "\n".join(raws) + ("" if blocks[-1].end == len(text) else "\n")
    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)
    library = bibtexparser.parse_string(joined, parse_stack=[])
    parsed = library.blocks
    if library.failed_blocks or len(parsed) != len(blocks):
        return None
    for block, raw, result in zip(blocks, raws, parsed):
        if type(result) is not expected[block.kind] or result.raw != raw:
            return None
    return parsed
