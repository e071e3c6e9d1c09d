"""Fetch one reference by DOI from Crossref's REST API.

The base URL is configurable (``--crossref-url`` or ``EVIDENCE_CROSSREF_URL``)
so tests and mirrors can stand in for the public API.  The answer is
untrusted: it is fetched through :func:`evidence.curation.http.fetch` (overall
deadline, size cap), decoded as strict UTF-8, parsed as JSON without
``NaN``/``Infinity`` and with its nesting bounded, and every field the record
is built from is type-checked before anything reaches a ``.bib`` file
(``year = {nan}`` or ``author = {['a']}`` are refused, not written).  Any
failure is an :class:`EvidenceError` of one line, and nothing is written.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from evidence.curation.http import FetchError, fetch
from evidence.curation.importers import MONTH_NAMES, Record, record_from_csl
from evidence.defaults import CROSSREF_URL
from evidence.errors import EvidenceError

DEFAULT_BASE_URL = CROSSREF_URL
TIMEOUT_SECONDS = 20
DEADLINE_SECONDS = 60
MAX_BYTES = 5 * 1024 * 1024

TEXT_FIELDS = (
    "title",
    "container-title",
    "volume",
    "issue",
    "page",
    "DOI",
    "PMID",
    "URL",
    "language",
    "abstract",
    "note",
    "publisher",
    "keyword",
    "type",
)


def fetch_doi(
    doi: str, base_url: str = DEFAULT_BASE_URL, timeout: float = TIMEOUT_SECONDS, deadline: float = DEADLINE_SECONDS
) -> Record:
    """The Crossref record for ``doi`` as an import :class:`Record`, checked field by field."""
    doi = doi.strip().removeprefix("https://doi.org/").removeprefix("doi:")
    if not doi.startswith("10."):
        raise EvidenceError(f"{doi!r} is not a DOI (DOIs start with '10.')")
    url = f"{base_url.rstrip('/')}/works/{urllib.parse.quote(doi, safe='/')}"
    try:
        body = fetch(url, timeout=timeout, deadline=deadline, max_bytes=MAX_BYTES)
    except FetchError as error:
        if error.status == 404:
            raise EvidenceError(f"Crossref has no record of DOI {doi}") from None
        if error.status is not None:
            raise EvidenceError(f"Crossref {error}; nothing was added") from None
        if error.kind == "unreachable":
            raise EvidenceError(
                f"cannot reach Crossref at {base_url} ({error}); are you offline? Nothing was added"
            ) from None
        raise EvidenceError(f"Crossref: {error}; nothing was added") from None
    return record_from_answer(body, doi)


def record_from_answer(body: bytes, doi: str) -> Record:
    """The record in a Crossref answer's bytes, checked; any answer at all gives a record or a one-line error."""
    message = parse_answer(body, doi)
    record = record_from_csl(message)
    record.key = None  # Crossref ids are not citation keys
    record.fields.setdefault("doi", doi)
    if "abstract" in record.fields:  # Crossref abstracts are JATS XML
        record.fields["abstract"] = " ".join(re.sub(r"<[^>]+>", " ", record.fields["abstract"]).split())
    check_record(record, f"Crossref's answer for {doi}")
    return record


def parse_answer(body: bytes, doi: str) -> dict[str, Any]:
    """The ``message`` of a Crossref answer, or a one-line error saying what is wrong with it."""
    where = f"Crossref's answer for {doi}"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EvidenceError(f"{where} is not valid UTF-8 (byte {error.start}); nothing was added") from None
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # the C decoder counts its depth against the recursion limit
        raise EvidenceError(f"{where} is JSON nested too deep to be a record; nothing was added") from None
    except ValueError:  # JSONDecodeError, and NaN or Infinity
        raise EvidenceError(f"{where} is not JSON; nothing was added") from None
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        raise EvidenceError(f"{where} has no record; nothing was added")
    check_message(message, where)
    return message


def check_message(message: dict[str, Any], where: str) -> None:
    """Refuse a Crossref message whose fields have the wrong types, before a record is built from it."""
    for name in TEXT_FIELDS:
        value = message.get(name)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in items):
            raise EvidenceError(f"{where}: field {name!r} is not text; nothing was added")
    authors = message.get("author")
    if authors is not None:
        if not isinstance(authors, list) or not all(isinstance(a, dict) for a in authors):
            raise EvidenceError(f"{where}: 'author' is not a list of names; nothing was added")
        for author in authors:
            for part in ("family", "given", "literal"):
                if author.get(part) is None:
                    author.pop(part, None)  # null is absent, never the text "None"
                elif not isinstance(author[part], str):
                    raise EvidenceError(f"{where}: an author's {part!r} is not text; nothing was added")
    for name in ("issued", "published-print", "published-online"):
        date = message.get(name)
        if date is None:
            continue
        parts = date.get("date-parts") if isinstance(date, dict) else None
        if parts is None:
            continue
        if not (
            isinstance(parts, list)
            and all(isinstance(p, list) for p in parts)
            and all((isinstance(n, int) and not isinstance(n, bool)) or n is None for p in parts for n in p)
        ):
            raise EvidenceError(f"{where}: {name!r} is not a date; nothing was added")


def check_record(record: Record, where: str) -> None:
    """Refuse a record a .bib file should not receive: non-text values, control characters, a year that is not one."""
    for name, value in record.fields.items():
        if not isinstance(value, str):
            raise EvidenceError(f"{where}: field {name!r} is not text; nothing was added")
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
            raise EvidenceError(f"{where}: field {name!r} holds control characters; nothing was added")
        if not _balanced(value):
            raise EvidenceError(f"{where}: field {name!r} has unbalanced braces; nothing was added")
    year = record.fields.get("year")
    if year is not None and not re.fullmatch(r"\d{4}", year):
        raise EvidenceError(f"{where}: year {year[:20]!r} is not a year; nothing was added")
    month = record.fields.get("month")
    if month is not None and month not in MONTH_NAMES:
        raise EvidenceError(f"{where}: month {month[:20]!r} is not a month; nothing was added")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _balanced(value: str) -> bool:
    depth = 0
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
