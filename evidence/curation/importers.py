"""Bring references in from other tools: BibTeX, RIS, CSL-JSON and PubMed MEDLINE.

Every format is read into :class:`Record` values (an entry type and plain
BibTeX field values), which become BibTeX text with a generated citation key.
Nothing is written here: :func:`plan_import` returns what would be added and
what was skipped, and the caller appends it in one locked, atomic write, so
an import that fails anywhere changes nothing.

Citation keys follow one documented pattern: the first author's family name,
the year and the first significant word of the title, in lower-case ASCII
(``wang1994observation``); when that key is taken, ``a``, ``b``, ... are
appended.  Keys already present in a BibTeX import are kept.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from evidence.errors import EvidenceError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("bibtex", "ris", "csljson", "medline")
STOPWORDS = frozenset(
    "a an the of on in for and with to from by at is are as its into via vs versus or after before between".split()
)
RIS_TYPES = {"JOUR": "article", "JFULL": "article", "MGZN": "article", "NEWS": "article", "BOOK": "book",
             "CHAP": "incollection", "CONF": "inproceedings", "CPAPER": "inproceedings", "THES": "phdthesis",
             "RPRT": "techreport", "UNPB": "unpublished", "ELEC": "misc", "GEN": "misc"}
BIBTEX_TO_RIS = {"article": "JOUR", "book": "BOOK", "incollection": "CHAP", "inbook": "CHAP", "inproceedings": "CONF",
                 "conference": "CONF", "phdthesis": "THES", "mastersthesis": "THES", "techreport": "RPRT",
                 "unpublished": "UNPB"}
CSL_TO_BIBTEX = {"article-journal": "article", "article": "article", "article-magazine": "article",
                 "article-newspaper": "article", "book": "book", "chapter": "incollection",
                 "paper-conference": "inproceedings", "thesis": "phdthesis", "report": "techreport",
                 "manuscript": "unpublished", "journal-article": "article", "proceedings-article": "inproceedings",
                 "book-chapter": "incollection", "dissertation": "phdthesis"}
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


@dataclass
class Record:
    """One reference to add: BibTeX entry type, field values as plain text, and a key if it has one."""

    entry_type: str
    fields: dict[str, str]
    key: str | None = None
    raw: str | None = None  # the original BibTeX text, kept byte for byte when the key is kept


@dataclass
class ImportPlan:
    """What an import would add (key and BibTeX text) and what it skipped, with why."""

    added: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


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
    raise EvidenceError("cannot tell the format (BibTeX, RIS, CSL-JSON or MEDLINE); give --format")


def read_records(text: str, fmt: str = "auto", source: str = "<input>") -> list[Record]:
    fmt = detect_format(text) if fmt == "auto" else fmt
    readers = {"bibtex": read_bibtex, "ris": read_ris, "csljson": read_csljson, "medline": read_medline}
    if fmt not in readers:
        raise EvidenceError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    records = readers[fmt](text, source)
    if not records:
        raise EvidenceError(f"{source}: no references found (read as {fmt})")
    return records


def read_bibtex(text: str, source: str) -> list[Record]:
    from evidence.library.files import parse_bib_text

    entries, problems = parse_bib_text(text, source)
    if problems:
        raise EvidenceError("; ".join(str(p) for p in problems) + "; nothing was imported")
    return [Record(e.entry_type, dict(e.fields), e.key, e.raw) for e in entries]


def read_ris(text: str, source: str) -> list[Record]:
    import rispy

    try:
        items = rispy.loads(text)
    except Exception as error:
        raise EvidenceError(f"{source}: not valid RIS: {error}") from error
    records = []
    for item in items:
        fields: dict[str, str] = {}
        authors = item.get("authors") or item.get("first_authors") or []
        if authors:
            fields["author"] = " and ".join(authors)
        _put(fields, "title", item.get("title") or item.get("primary_title"))
        container = item.get("journal_name") or item.get("secondary_title") or item.get("alternate_title1")
        year = re.match(r"\d{4}", str(item.get("year") or item.get("publication_year") or ""))
        _put(fields, "journal" if RIS_TYPES.get(item.get("type_of_reference", ""), "misc") == "article" else "booktitle",
             container)
        _put(fields, "year", year.group() if year else None)
        _put(fields, "volume", item.get("volume"))
        _put(fields, "number", item.get("number") or item.get("issue"))
        start, end = item.get("start_page"), item.get("end_page")
        _put(fields, "pages", f"{start}--{end}" if start and end else start)
        _put(fields, "doi", item.get("doi"))
        _put(fields, "abstract", item.get("abstract"))
        _put(fields, "keywords", "; ".join(item.get("keywords") or []))
        _put(fields, "url", (item.get("urls") or [None])[0])
        _put(fields, "language", item.get("language"))
        _put(fields, "publisher", item.get("publisher"))
        records.append(Record(RIS_TYPES.get(item.get("type_of_reference", ""), "misc"), fields))
    return records


def read_csljson(text: str, source: str) -> list[Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise EvidenceError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from error
    items = data if isinstance(data, list) else data.get("items", [data]) if isinstance(data, dict) else []
    return [record_from_csl(item) for item in items if isinstance(item, dict)]


def record_from_csl(item: dict[str, Any]) -> Record:
    """A CSL-JSON item (or a Crossref 'message', which is nearly one) as a record."""

    def text(name: str) -> str | None:
        value = item.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        return str(value).strip() if value not in (None, "") else None

    entry_type = CSL_TO_BIBTEX.get(str(item.get("type", "")), "misc")
    fields: dict[str, str] = {}
    names = [_csl_name(a) for a in item.get("author") or [] if isinstance(a, dict)]
    _put(fields, "author", " and ".join(n for n in names if n))
    _put(fields, "title", text("title"))
    _put(fields, "booktitle" if entry_type in ("inproceedings", "incollection") else "journal", text("container-title"))
    issued = item.get("issued") or item.get("published-print") or item.get("published-online") or {}
    parts = (issued.get("date-parts") or [[None]])[0] if isinstance(issued, dict) else [None]
    if parts and parts[0]:
        _put(fields, "year", str(parts[0]))
        if len(parts) > 1 and isinstance(parts[1], int) and 1 <= parts[1] <= 12:
            _put(fields, "month", MONTH_NAMES[parts[1] - 1])
    for csl, bib in (("volume", "volume"), ("issue", "number"), ("page", "pages"), ("DOI", "doi"), ("PMID", "pmid"),
                     ("URL", "url"), ("language", "language"), ("abstract", "abstract"), ("note", "note"),
                     ("publisher", "publisher")):
        _put(fields, bib, text(csl))
    if "pages" in fields:
        fields["pages"] = re.sub(r"\s*[-\u2013]\s*", "--", fields["pages"])
    _put(fields, "keywords", text("keyword"))
    key = str(item["id"]) if re.fullmatch(r"[\w:.-]+", str(item.get("id", ""))) else None
    return Record(entry_type, fields, key)


def _csl_name(name: dict[str, Any]) -> str:
    if name.get("literal"):
        return "{" + str(name["literal"]) + "}"
    family, given = str(name.get("family", "")).strip(), str(name.get("given", "")).strip()
    return f"{family}, {given}" if given else family


def read_medline(text: str, source: str) -> list[Record]:
    records = []
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
        _put(fields, "title", (tags.get("TI") or [None])[0])
        _put(fields, "journal", (tags.get("JT") or tags.get("TA") or [None])[0])
        date_parts = ((tags.get("DP") or [""])[0]).split()
        if date_parts and date_parts[0][:4].isdecimal():
            fields["year"] = date_parts[0][:4]
            if len(date_parts) > 1 and date_parts[1][:3].lower() in MONTH_NAMES:
                fields["month"] = date_parts[1][:3].lower()
        _put(fields, "volume", (tags.get("VI") or [None])[0])
        _put(fields, "number", (tags.get("IP") or [None])[0])
        _put(fields, "pages", ((tags.get("PG") or [""])[0]).replace("-", "--") or None)
        _put(fields, "pmid", tags["PMID"][0])
        doi = next((v.split()[0] for v in tags.get("LID", []) + tags.get("AID", []) if v.endswith("[doi]")), None)
        _put(fields, "doi", doi)
        _put(fields, "abstract", (tags.get("AB") or [None])[0])
        _put(fields, "language", (tags.get("LA") or [None])[0])
        _put(fields, "keywords", "; ".join(tags.get("OT") or tags.get("MH") or []))
        records.append(Record("article", fields))
    return records


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


def to_bibtex(record: Record, key: str) -> str:
    """The record as a BibTeX entry; values in braces, special characters escaped."""
    from evidence.curation.edit import _brace_value

    lines = [f"@{record.entry_type}{{{key},"]
    for name, value in record.fields.items():
        escaped = re.sub(r"(?<!\\)([%&#])", r"\\\1", value) if name not in ("url", "doi") else value
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


def plan_import(records: list[Record], table: "pd.DataFrame", allow_duplicates: bool = False) -> ImportPlan:
    """Keys and BibTeX text for the records to add; duplicates skipped unless allowed."""
    from evidence.library.normalise import decode_latex

    plan = ImportPlan()
    taken = set(table.index.astype(str))
    known = library_identities(table)
    for record in records:
        plain = {k: decode_latex(v) for k, v in record.fields.items() if k in ("doi", "pmid", "title", "year")}
        identities = _identity(plain)
        duplicate = next((known[i] for i in identities if i in known), None)
        label = record.key or plain.get("title", "untitled")[:80]
        if duplicate and not allow_duplicates:
            plan.skipped.append(f"{label}: already in the library as {duplicate}")
            continue
        if record.key and record.key not in taken:
            key, text = record.key, record.raw or to_bibtex(record, record.key)
        else:
            key = unique_key(base_key(record), taken)
            text = to_bibtex(record, key)
        taken.add(key)
        for identity in identities:
            known.setdefault(identity, key)
        plan.added.append((key, text))
    return plan
