"""Bring references in from other tools: BibTeX, RIS, CSL-JSON, PubMed MEDLINE and CSV.

Every format is read into :class:`Record` values (an entry type and plain
BibTeX field values), which become BibTeX text with a generated citation key.
Nothing is written here: :func:`plan_import` returns what would be added,
what was skipped and which entries are invalid, and the caller appends the
valid ones in one locked, atomic write.  One bad entry does not sink an
import: it becomes a :class:`~evidence.errors.Problem` naming its source and
line, and the rest goes in (the CLI's ``--all-or-nothing`` refuses them all
instead).  A source that cannot be read at all stops the import.

Citation keys follow one documented pattern: the first author's family name,
the year and the first significant word of the title, in lower-case ASCII
(``wang1994observation``); when that key is taken, ``a``, ``b``, ... are
appended.  Keys already present in the source (BibTeX keys, RIS ``ID``,
CSL-JSON ``id``, the CSV ``key`` column) are kept.

What ``evidence export`` writes comes back the same: the PMID (RIS ``AN``),
the month (RIS ``DA``), notes (RIS ``N1``), and the outcome fields (CSL-JSON
``custom`` or ``name: value`` lines in ``note``/``N1``).  Names without a
comma in RIS and CSL ``literal`` names are organisations and stay one name.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from evidence.errors import EvidenceError, Problem
from evidence.library.normalise import ETAL

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("bibtex", "ris", "csljson", "medline", "csv")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "for",
        "and",
        "with",
        "to",
        "from",
        "by",
        "at",
        "is",
        "are",
        "as",
        "its",
        "into",
        "via",
        "vs",
        "versus",
        "or",
        "after",
        "before",
        "between",
    ]
)
RIS_TYPES = {
    "JOUR": "article",
    "JFULL": "article",
    "MGZN": "article",
    "NEWS": "article",
    "BOOK": "book",
    "CHAP": "incollection",
    "CONF": "inproceedings",
    "CPAPER": "inproceedings",
    "THES": "phdthesis",
    "RPRT": "techreport",
    "UNPB": "unpublished",
    "ELEC": "misc",
    "GEN": "misc",
}
BIBTEX_TO_RIS = {
    "article": "JOUR",
    "book": "BOOK",
    "incollection": "CHAP",
    "inbook": "CHAP",
    "inproceedings": "CONF",
    "conference": "CONF",
    "phdthesis": "THES",
    "mastersthesis": "THES",
    "techreport": "RPRT",
    "unpublished": "UNPB",
}
CSL_TO_BIBTEX = {
    "article-journal": "article",
    "article": "article",
    "article-magazine": "article",
    "article-newspaper": "article",
    "book": "book",
    "chapter": "incollection",
    "paper-conference": "inproceedings",
    "thesis": "phdthesis",
    "report": "techreport",
    "manuscript": "unpublished",
    "journal-article": "article",
    "proceedings-article": "inproceedings",
    "book-chapter": "incollection",
    "dissertation": "phdthesis",
}
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
#: Entry types whose container is a book or proceedings rather than a journal.
_IN_BOOK = ("inproceedings", "incollection", "inbook", "conference")
_PUBLISHED_BY = ("book", "techreport", "phdthesis", "mastersthesis", "misc", "unpublished")


@dataclass
class Record:
    """One reference to add: BibTeX entry type, field values as plain text, and a key if it has one.

    ``source`` and ``line`` say where it was read, for the problems reported about it.
    """

    entry_type: str
    fields: dict[str, str]
    key: str | None = None
    raw: str | None = None  # the original BibTeX text, kept byte for byte when the key is kept
    source: str = "<input>"
    line: int | None = None
    #: whether the values are BibTeX text already (LaTeX kept); plain text (RIS, CSL-JSON, MEDLINE) is escaped
    latex: bool = False

    @property
    def label(self) -> str:
        """How a message names the record: its key, else the start of its title."""
        return self.key or (self.fields.get("title") or "untitled")[:80]


@dataclass
class ImportPlan:
    """What an import would add (key and BibTeX text), what it skipped and why, and the invalid entries."""

    added: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def detect_format(text: str) -> str:
    stripped = text.lstrip("\ufeff \t\r\n")
    if re.search(r"^TY  - ", text, re.M):
        return "ris"
    if re.search(r"^PMID- ", text, re.M):
        return "medline"
    if stripped.startswith(("[", "{")):
        return "csljson"
    if re.search(r"^\s*@\s*\w+\s*[{(]", text, re.M):
        return "bibtex"
    if re.match(r'"?key"?,', stripped):
        return "csv"
    raise EvidenceError("cannot tell the format (BibTeX, RIS, CSL-JSON, MEDLINE or CSV); give --format")


def read_source(source: Path | str) -> tuple[str, list[str]]:
    """The text of an import source (``-`` for standard input) and warnings about how it was decoded.

    Files that are not UTF-8 are decoded as :func:`evidence.library.files.decode_bib_bytes`
    decodes a library file (declared or detected encoding, with a warning).
    A missing, unreadable or undecodable file is a one-line error naming it.
    """
    from evidence.library.files import decode_bib_bytes, read_input

    name = str(source)
    if name != "-" and Path(source).is_dir():
        raise EvidenceError(f"{name}: is a folder; give the files in it")
    data = read_input(source)  # the input cap, and no devices or FIFOs
    text, problem = decode_bib_bytes(data, name)
    if text is None:
        raise EvidenceError(str(problem))
    warnings = [str(problem)] if problem else []
    return text.removeprefix("\ufeff"), warnings


def read_records(text: str, fmt: str = "auto", source: str = "<input>") -> list[Record]:
    """Every record of one source; any invalid entry raises (the all-or-nothing reading)."""
    records, problems = read_source_records(text, fmt, source)
    if problems:
        raise EvidenceError("; ".join(str(p) for p in problems) + "; nothing was imported")
    return records


def read_source_records(text: str, fmt: str = "auto", source: str = "<input>") -> tuple[list[Record], list[Problem]]:
    """The records of one source and a problem for each entry that could not be read.

    Raises :class:`EvidenceError` only when the source as a whole cannot be
    read (unknown format, invalid JSON, nothing found).
    """
    fmt = detect_format(text) if fmt == "auto" else fmt
    readers: dict[str, Callable[[str, str], tuple[list[Record], list[Problem]]]] = {
        "bibtex": read_bibtex,
        "ris": read_ris,
        "csljson": read_csljson,
        "medline": read_medline,
        "csv": read_csv,
    }
    if fmt not in readers:
        raise EvidenceError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    records, problems = readers[fmt](text, source)
    if not records and not problems:
        raise EvidenceError(f"{source}: no references found (read as {fmt})")
    return records, problems


def read_bibtex(text: str, source: str) -> tuple[list[Record], list[Problem]]:
    from evidence.library.files import parse_bib_text

    entries, problems = parse_bib_text(text, source)
    records = [Record(e.entry_type, dict(e.fields), e.key, e.raw, source, e.line, latex=True) for e in entries]
    return records, problems


def _ris_lines(text: str) -> list[int]:
    """The line number of each record's ``TY`` tag, in order."""
    return [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"^TY  - ", text, re.M)]


def read_ris(text: str, source: str) -> tuple[list[Record], list[Problem]]:
    import rispy

    try:
        items = rispy.loads(text, delimiter_tags_mapping={})  # a URL may hold ';'; one UR line is one value
    except Exception as error:
        raise EvidenceError(f"{source}: not valid RIS: {error}") from error
    lines = _ris_lines(text)
    records = []
    for number, item in enumerate(items):
        entry_type = RIS_TYPES.get(item.get("type_of_reference", ""), "misc")
        fields: dict[str, str] = {}
        authors = item.get("authors") or item.get("first_authors") or []
        _put(fields, "author", " and ".join(_name_from_ris(a) for a in authors if str(a).strip()))
        _put(fields, "title", item.get("title") or item.get("primary_title"))
        container = item.get("journal_name") or item.get("secondary_title") or item.get("alternate_title1")
        _put(fields, "booktitle" if entry_type in _IN_BOOK else "journal", container)
        published = item.get("year") or item.get("publication_year") or item.get("date") or ""
        year = re.match(r"\d{1,4}(?!\d)", str(published))
        _put(fields, "year", year.group() if year else None)
        _put(fields, "month", _month_from_ris_date(item.get("date") or item.get("publication_year") or ""))
        _put(fields, "volume", item.get("volume"))
        _put(fields, "number", item.get("number") or item.get("issue"))
        start, end = item.get("start_page"), item.get("end_page")
        _put(fields, "pages", f"{start}--{end}" if start and end else start)
        _put(fields, "doi", item.get("doi"))
        accession = str(item.get("accession_number") or "").strip()
        _put(fields, "pmid", accession if accession.isdecimal() else None)
        _put(fields, "abstract", item.get("abstract"))
        _put(fields, "keywords", "; ".join(item.get("keywords") or []))
        _put(fields, "url", "; ".join(str(u).strip() for u in item.get("urls") or [] if str(u).strip()))
        _put(fields, "language", item.get("language"))
        _put(fields, "publisher", item.get("publisher"))
        _take_notes(fields, item.get("notes") or [])
        key = str(item.get("id", "")).strip()
        line = lines[number] if number < len(lines) else None
        records.append(Record(entry_type, fields, key if _KEY.fullmatch(key) else None, source=source, line=line))
    return records, []


#: What a citation key may hold: anything BibTeX accepts between ``{`` and ``,``.
_KEY = re.compile(r"[^\s,{}()\"#%=\\]+")


def _month_from_ris_date(value: object) -> str | None:
    """``2008/10//`` or ``2008/10/05`` -> ``oct``."""
    match = re.match(r"\s*\d{4}/(\d{1,2})", str(value))
    if match and 1 <= int(match.group(1)) <= 12:
        return MONTH_NAMES[int(match.group(1)) - 1]
    return None


def _name_from_ris(name: object) -> str:
    """``Family, Given`` as it is; a name without a comma is an organisation, kept whole in braces."""
    text = " ".join(str(name).split())
    if text.lower() in ("others", "et al.", "et al"):
        return "others"
    if "," in text or " " not in text:
        parts = [plain_to_bibtex(part.strip()) for part in text.split(",")]
        if len(parts) == 3:  # RIS writes "Family, Given, Suffix"; BibTeX wants "Family, Suffix, Given"
            parts = [parts[0], parts[2], parts[1]]
        return ", ".join(parts)
    return "{" + plain_to_bibtex(text) + "}"


def _take_notes(fields: dict[str, str], notes: Iterable[object]) -> None:
    """Notes: ``name: value`` lines naming an outcome field become that field; the rest is the note."""
    from evidence.library.fields import FIELDS_BY_NAME

    kept = []
    for note in notes:
        for line in str(note).splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() in FIELDS_BY_NAME and value.strip():
                fields.setdefault(name.strip(), value.strip())  # CSL's custom object, read first, wins
            elif line.strip():
                kept.append(line.strip())
    _put(fields, "note", " ".join(kept))


def read_csljson(text: str, source: str) -> tuple[list[Record], list[Problem]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise EvidenceError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from error
    except RecursionError as error:
        raise EvidenceError(f"{source}: not valid CSL-JSON: nested too deeply") from error
    items = data if isinstance(data, list) else data.get("items", [data]) if isinstance(data, dict) else []
    records, problems = [], []
    for number, item in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(item, dict):
            problems.append(Problem(source, None, None, "error", f"item {number} is not a CSL-JSON object; skipped"))
            continue
        try:
            record = record_from_csl(item)
        except (TypeError, ValueError, AttributeError, IndexError) as error:  # a value of the wrong JSON type
            label = str(item.get("id") or f"item {number}")[:80]
            problems.append(Problem(source, None, label, "error", f"not a valid CSL-JSON item ({error}); skipped"))
            continue
        record.source = source
        records.append(record)
    return records, problems


def record_from_csl(item: dict[str, Any]) -> Record:
    """A CSL-JSON item (or a Crossref 'message', which is nearly one) as a record."""

    def text(name: str) -> str | None:
        value = item.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, (dict, list)):
            return None
        return str(value).strip() if value not in (None, "") else None

    entry_type = CSL_TO_BIBTEX.get(str(item.get("type", "")), "misc")
    fields: dict[str, str] = {}
    authors: list[Any] = item["author"] if isinstance(item.get("author"), list) else []
    names = [_name_from_csl(a) for a in authors if isinstance(a, dict)]
    _put(fields, "author", " and ".join(n for n in names if n))
    _put(fields, "title", text("title"))
    _put(fields, "booktitle" if entry_type in _IN_BOOK else "journal", text("container-title"))
    issued = item.get("issued") or item.get("published-print") or item.get("published-online") or {}
    parts = (issued.get("date-parts") or [[None]])[0] if isinstance(issued, dict) else [None]
    if isinstance(parts, list) and parts and isinstance(parts[0], (int, str)) and str(parts[0]).strip():
        _put(fields, "year", str(parts[0]))
        month = parts[1] if len(parts) > 1 else None
        if isinstance(month, str) and month.isdecimal():
            month = int(month)
        if isinstance(month, int) and 1 <= month <= 12:
            _put(fields, "month", MONTH_NAMES[month - 1])
    for csl, bib in (
        ("volume", "volume"),
        ("issue", "number"),
        ("page", "pages"),
        ("DOI", "doi"),
        ("PMID", "pmid"),
        ("URL", "url"),
        ("language", "language"),
        ("abstract", "abstract"),
        ("publisher", "publisher"),
    ):
        _put(fields, bib, text(csl))
    if "pages" in fields:
        fields["pages"] = re.sub(r"\s*[-\u2013]\s*", "--", fields["pages"])
    _put(fields, "keywords", text("keyword"))
    custom = item.get("custom")
    if isinstance(custom, dict):
        from evidence.library.fields import FIELDS_BY_NAME

        for name, value in custom.items():
            if name in FIELDS_BY_NAME and isinstance(value, (str, int, float)) and not isinstance(value, bool):
                _put(fields, name, value)
    _take_notes(fields, [text("note") or ""])
    key = str(item["id"]) if _KEY.fullmatch(str(item.get("id", ""))) else None
    return Record(entry_type, fields, key)


def _name_from_csl(name: dict[str, Any]) -> str:
    """A CSL name as BibTeX: ``Family, Given``; a literal (an organisation) in braces; "others" as it is."""
    if name.get("literal"):
        literal = " ".join(str(name["literal"]).split())
        return "others" if literal.lower() in ("others", "et al.") else "{" + plain_to_bibtex(literal) + "}"
    particle = str(name.get("non-dropping-particle", "") or name.get("dropping-particle", "")).strip()
    family = " ".join(p for p in (particle, str(name.get("family", "")).strip()) if p)
    given, suffix = str(name.get("given", "")).strip(), str(name.get("suffix", "")).strip()
    if family == ETAL and not given:
        return "others"
    family, given, suffix = plain_to_bibtex(family), plain_to_bibtex(given), plain_to_bibtex(suffix)
    if "," in family:  # a family name BibTeX braced ("{Bell, II}"): keep it one name
        family = "{" + family + "}"
    if suffix:
        return f"{family}, {suffix}, {given}"
    if given:
        return f"{family}, {given}"
    return "{" + family + "}" if " " in family else family


def read_medline(text: str, source: str) -> tuple[list[Record], list[Problem]]:
    records: list[Record] = []
    starts = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"^PMID- ", text, re.M)]
    for block in re.split(r"\n\s*\n(?=PMID- )", text.strip()):
        tags: dict[str, list[str]] = {}
        last = None
        for line in block.splitlines():
            match = re.match(r"^([A-Z]{2,4})\s*- (.*)$", line)
            if match:
                last = match.group(1)
                tags.setdefault(last, []).append(match.group(2).strip())
            elif last and line.startswith("      "):
                tags[last][-1] += " " + line.strip()
        if "PMID" not in tags:
            continue
        fields: dict[str, str] = {}
        _put(fields, "author", " and ".join(tags.get("FAU") or tags.get("AU") or []))
        _put(fields, "title", _first(tags, "TI"))
        _put(fields, "journal", _first(tags, "JT", "TA"))
        date_parts = ((tags.get("DP") or [""])[0]).split()
        if date_parts and date_parts[0][:4].isdecimal():
            fields["year"] = date_parts[0][:4]
            if len(date_parts) > 1 and date_parts[1][:3].lower() in MONTH_NAMES:
                fields["month"] = date_parts[1][:3].lower()
        _put(fields, "volume", _first(tags, "VI"))
        _put(fields, "number", _first(tags, "IP"))
        _put(fields, "pages", ((tags.get("PG") or [""])[0]).replace("-", "--") or None)
        _put(fields, "pmid", tags["PMID"][0])
        doi = next((v.split()[0] for v in tags.get("LID", []) + tags.get("AID", []) if v.endswith("[doi]")), None)
        _put(fields, "doi", doi)
        _put(fields, "abstract", _first(tags, "AB"))
        _put(fields, "language", _first(tags, "LA"))
        _put(fields, "keywords", "; ".join(tags.get("OT") or tags.get("MH") or []))
        line = starts[len(records)] if len(records) < len(starts) else None
        records.append(Record("article", fields, source=source, line=line))
    return records, []


def _first(tags: dict[str, list[str]], *names: str) -> str | None:
    """The first value of the first of ``names`` present among a MEDLINE record's tags."""
    return next((tags[name][0] for name in names if tags.get(name)), None)


#: CSV columns (as ``evidence export --format csv`` writes them) that are BibTeX fields under another name.
_CSV_RENAMES = {"issue": "number"}
#: Columns derived from others, or about where the entry was: not fields.
_CSV_DERIVED = frozenset(
    [
        "key",
        "entry_type",
        "authors",
        "authors_display",
        "first_author",
        "title",
        "title_raw",
        "container",
        "month",
        "pages",
        "response_rate",
        "response_rate_bound",
        "rate_source",
        "response_rate_ci_low",
        "response_rate_ci_high",
        "source_file",
        "source_line",
        "raw",
    ]
)


def read_csv(text: str, source: str) -> tuple[list[Record], list[Problem]]:
    """Rows of a CSV export (one per entry, with the table's column names) as records."""
    from evidence.library.table import COLUMNS

    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    if "key" not in columns or not {"title", "title_raw"} & set(columns):
        raise EvidenceError(f"{source}:1: not an evidence CSV export: it needs 'key' and 'title' columns")
    unknown = [c for c in columns if c not in COLUMNS]
    records, problems = [], []
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(value is None for value in row.values()):
                problems.append(Problem(source, line, row.get("key"), "error", "row has the wrong number of cells"))
                continue
            records.append(_record_from_csv_row(row, source, line))
    except csv.Error as error:
        raise EvidenceError(f"{source}:{reader.line_num}: not valid CSV: {error}") from error
    if unknown:
        problems.append(Problem(source, 1, None, "warning", f"columns ignored: {', '.join(unknown)}"))
    return records, problems


def _record_from_csv_row(row: dict[str, str], source: str, line: int) -> Record:
    value = {name: (cell or "").strip() for name, cell in row.items()}
    entry_type = value.get("entry_type") or "misc"
    fields: dict[str, str] = {}
    authors = [a.strip() for a in value.get("authors", "").split(";") if a.strip()]
    _put(fields, "author", " and ".join(_name_from_ris(a) for a in authors))
    _put(fields, "title", value.get("title_raw") or plain_to_bibtex(value.get("title", "")))
    container = value.get("container")
    container_field = (
        "booktitle" if entry_type in _IN_BOOK else "publisher" if entry_type in _PUBLISHED_BY else "journal"
    )
    _put(fields, container_field, plain_to_bibtex(container or ""))
    fields_month: str | None = None
    if value.get("month", "").isdecimal() and 1 <= int(value["month"]) <= 12:
        fields_month = MONTH_NAMES[int(value["month"]) - 1]
    _put(fields, "pages", re.sub(r"\s*-\s*", "--", value.get("pages", "")))
    for name, cell in value.items():
        if name in _CSV_DERIVED or not cell:
            continue
        _put(fields, _CSV_RENAMES.get(name, name), cell if name in VERBATIM_FIELDS else plain_to_bibtex(cell))
    _put(fields, "month", fields_month)
    if value.get("response_rate") and value.get("rate_source") != "computed":
        bound = value.get("response_rate_bound") or "="
        _put(fields, "response_rate", ("" if bound == "=" else bound) + _number(value["response_rate"]))
    if value.get("response_rate_ci_low") and value.get("response_rate_ci_high"):
        low, high = _number(value["response_rate_ci_low"]), _number(value["response_rate_ci_high"])
        _put(fields, "response_rate_ci", f"{low}-{high}")
    if value.get("control_response_rate"):
        fields["control_response_rate"] = _number(value["control_response_rate"])
    # every value is BibTeX text by now: title_raw as written, the other cells escaped
    return Record(entry_type, fields, value.get("key") or None, source=source, line=line, latex=True)


def _number(text: str) -> str:
    """``70.0`` -> ``70``: a float written back without a decimal it never had."""
    return text[:-2] if text.endswith(".0") else text


def _put(fields: dict[str, str], name: str, value: object) -> None:
    if value is not None and str(value).strip():
        fields[name] = " ".join(str(value).split())


def ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def base_key(record: Record) -> str:
    """``family + year + first significant title word``, lower-case ASCII."""
    from evidence.library.normalise import decode_latex, split_names

    names = split_names(record.fields.get("author", "") or record.fields.get("editor", ""))
    family = ascii_word(names[0].family) if names else "anon"
    year = re.match(r"\d{4}", record.fields.get("year", ""))
    words = [ascii_word(w) for w in decode_latex(record.fields.get("title", "")).split()]
    word = next((w for w in words if w and w not in STOPWORDS), "")
    return f"{family or 'anon'}{year.group() if year else ''}{word}"


def unique_key(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    for suffix in _suffixes():
        if base + suffix not in taken:
            return base + suffix
    raise AssertionError("unreachable")


def _suffixes() -> Iterable[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    yield from letters
    for first in letters:
        for second in letters:
            yield first + second


#: Fields written verbatim: no LaTeX in them, and no escaping.
VERBATIM_FIELDS = ("url", "doi", "eprint", "file")
#: Fields whose value the readers build as a BibTeX name list (each name already escaped).
NAME_FIELDS = ("author", "editor")
_PLAIN_ESCAPES = (
    ("\\", "\\textbackslash{}"),
    ("$", "\\$"),
    ("%", "\\%"),
    ("&", "\\&"),
    ("#", "\\#"),
    ("~", "\\textasciitilde{}"),
)
#: A dash, backquote or quote followed by another: TeX would join the two into a dash or a curly quote.
_LIGATURE_START = re.compile(r"([-`'])(?=\1)")


def plain_to_bibtex(text: str) -> str:
    """Plain text (from RIS, CSL-JSON, MEDLINE, a CSV cell) as a BibTeX value that decodes back to it.

    Without this, ``$5`` would become math, ``--`` an en dash and ``~`` a
    space.  Braces are escaped when they pair up and dropped when they
    do not, since BibTeX cannot hold an unbalanced brace.
    """
    if not re.search(r"[\\$%&#~{}]|--|``|''", text):
        return text
    braces = "{" in text or "}" in text
    balanced = _balanced(text) if braces else True
    if braces:
        text = text.replace("\\", "\x00")
        text = text.replace("{", "\x01" if balanced else "").replace("}", "\x02" if balanced else "")
        text = text.replace("\x00", "\\")
    for char, escaped in _PLAIN_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    text = _LIGATURE_START.sub(r"\1{}", text)
    return text.replace("\x01", "\\{").replace("\x02", "\\}")


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += 1 if char == "{" else -1 if char == "}" else 0
        if depth < 0:
            return False
    return depth == 0


def to_bibtex(record: Record, key: str) -> str:
    """The record as a BibTeX entry; values in braces, plain text escaped so it reads back the same."""
    from evidence.curation.edit import _brace_value

    lines = [f"@{record.entry_type}{{{key},"]
    for name, value in record.fields.items():
        if name in VERBATIM_FIELDS:
            escaped = value
        elif record.latex or name in NAME_FIELDS:
            escaped = re.sub(r"(?<!\\)([%&#])", r"\\\1", value)
        else:
            escaped = plain_to_bibtex(value)
        lines.append(f"  {name} = {_brace_value(escaped)},")
    lines.append("}")
    return "\n".join(lines)


def _identity(fields: dict[str, Any]) -> list[str]:
    """What makes two references the same: DOI, PMID, or title and year."""
    from evidence.library.check import normalised_title

    ids = []
    if fields.get("doi"):
        ids.append("doi:" + str(fields["doi"]).lower().removeprefix("https://doi.org/"))
    if fields.get("pmid"):
        ids.append("pmid:" + str(fields["pmid"]))
    title = normalised_title(fields.get("title"))
    if title and fields.get("year"):
        ids.append(f"title:{title}:{fields['year']}")
    return ids


def library_identities(table: "pd.DataFrame") -> dict[str, str]:
    import pandas as pd

    known: dict[str, str] = {}
    for _, row in table.iterrows():
        fields = {
            "doi": None if pd.isna(row["doi"]) else row["doi"],
            "pmid": None if pd.isna(row["pmid"]) else row["pmid"],
            "title": None if pd.isna(row["title"]) else row["title"],
            "year": None if pd.isna(row["year"]) else int(row["year"]),
        }
        for identity in _identity(fields):
            known.setdefault(identity, str(row["key"]))
    return known


def record_problems(record: Record) -> list[Problem]:
    """Errors in a record's outcome fields, checked as ``evidence set`` checks them, at the record's source line."""
    from evidence.library.fields import FIELDS_BY_NAME, FieldValueError, check_outcomes, parse_field

    problems, values = [], {}
    for name, value in record.fields.items():
        if name in FIELDS_BY_NAME:
            try:
                values[name] = parse_field(name, value)
            except FieldValueError as error:
                problems.append(str(error))
    problems += [message for severity, message in check_outcomes(values) if severity == "error"]
    return [
        Problem(record.source, record.line, record.label, "error", f"{message}; not imported") for message in problems
    ]


def plan_import(records: list[Record], table: "pd.DataFrame", allow_duplicates: bool = False) -> ImportPlan:
    """Keys and BibTeX text for the records to add; duplicates skipped unless allowed, invalid ones reported."""
    from evidence.library.normalise import decode_latex

    plan = ImportPlan()
    taken = set(table.index.astype(str))
    known = library_identities(table)
    for record in records:
        invalid = record_problems(record)
        if invalid:
            plan.problems.extend(invalid)
            continue
        plain = {k: decode_latex(v) for k, v in record.fields.items() if k in ("doi", "pmid", "title", "year")}
        identities = _identity(plain)
        duplicate = next((known[i] for i in identities if i in known), None)
        label = record.key or plain.get("title", "untitled")[:80]
        if duplicate and not allow_duplicates:
            plan.skipped.append(f"{label}: already in the library as {duplicate}")
            continue
        try:
            if record.key and record.key not in taken:
                key, text = record.key, record.raw or to_bibtex(record, record.key)
            else:
                key = unique_key(base_key(record), taken)
                text = to_bibtex(record, key)
        except EvidenceError as error:
            plan.problems.append(Problem(record.source, record.line, record.label, "error", f"{error}; not imported"))
            continue
        taken.add(key)
        for identity in identities:
            known.setdefault(identity, key)
        plan.added.append((key, text))
    return plan


def prepare_import(
    sources: Iterable[Path | str],
    table: "pd.DataFrame",
    fmt: str = "auto",
    dois: Iterable[str] = (),
    fetch: Callable[[str], Record] | None = None,
    allow_duplicates: bool = False,
    progress: Callable[[str, int, int | None], None] | None = None,
    fetched: Iterable[Record] = (),
) -> ImportPlan:
    """Read every source and DOI and plan the import against the library ``table``.

    A DOI the library already has is reported as skipped without going to
    the network.  Sources that cannot be read at all raise
    :class:`EvidenceError`; invalid entries become ``plan.problems``.
    ``fetched`` are records already fetched elsewhere (PubMed), planned with
    the rest so that keys and duplicates are decided once.
    """
    sources, dois = list(sources), list(dois)
    records: list[Record] = list(fetched)
    problems: list[Problem] = []
    notes: list[str] = []
    for number, source in enumerate(sources):
        if progress:
            progress(f"reading {source}", number, len(sources))
        text, warnings = read_source(source)
        notes += warnings
        source_records, source_problems = read_source_records(text, fmt, str(source))
        records += source_records
        problems += source_problems
    skipped = []
    known = library_identities(table) if dois and not allow_duplicates else {}
    for number, doi in enumerate(dois):
        existing = known.get("doi:" + doi.strip().lower().removeprefix("https://doi.org/").removeprefix("doi:"))
        if existing:
            skipped.append(f"{doi}: already in the library as {existing}; not fetched")
            continue
        if progress:
            progress(f"fetching {doi}", number, len(dois))
        if fetch is None:
            raise EvidenceError(f"cannot fetch DOI {doi}: no fetcher given")
        records.append(fetch(doi))
    if progress:
        progress("looking for duplicates", 0, None)
    plan = plan_import(records, table, allow_duplicates)
    plan.skipped[:0] = skipped
    plan.problems[:0] = problems
    plan.notes = notes
    return plan
