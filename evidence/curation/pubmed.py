"""Fetch references by PMID from NCBI E-utilities (``efetch``, XML).

A PubMed record carries what a reviewer needs to judge a study before
reading it: the structured abstract with its section labels, the publication
types (``Randomized Controlled Trial``, ``Meta-Analysis``) and the MeSH terms.
They become BibTeX fields (``abstract``, ``pmid``, ``doi``, ``pubtype``,
``mesh``; docs/fields.md), so ``evidence extract`` can read the abstract later
without the network.

NCBI asks clients to stay at or under 3 requests a second without an API key
and 10 with one (``NCBI_API_KEY``); :class:`RateLimiter` spaces requests to
that, with an injectable clock so tests need not sleep.  Every request goes
through :func:`evidence.curation.http.fetch` (overall deadline, size cap,
retries with backoff on 429 and 5xx).  The XML is parsed by ``defusedxml``,
which refuses entity declarations, so a hostile answer cannot expand itself
into gigabytes.

Nothing is written here: :func:`fetch_pmids` returns import records and the
caller appends them in one locked, atomic write.  A PMID that PubMed does not
know stops the whole fetch, so a typo never half-imports a list.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from evidence.curation.importers import MONTH_NAMES, Record
from evidence.defaults import PUBMED_URL
from evidence.errors import EvidenceError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    import pandas as pd

DEFAULT_BASE_URL = PUBMED_URL
BATCH_SIZE = 200
"""PMIDs per efetch request: NCBI recommends POST beyond about 200 ids."""
DEADLINE_SECONDS = 60.0
MAX_BYTES = 20 * 1024 * 1024
RATE_WITHOUT_KEY = 3.0
RATE_WITH_KEY = 10.0
_PMID = re.compile(r"^\d{1,9}$")


@dataclass
class RateLimiter:
    """Spaces calls at least ``1 / per_second`` apart.

    ``clock`` and ``sleep`` are injectable so a test can check the spacing
    with a fake clock instead of waiting in real time.
    """

    per_second: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = field(default=None, init=False)

    def wait(self) -> None:
        now = self.clock()
        if self._last is not None:
            gap = 1.0 / self.per_second - (now - self._last)
            if gap > 0:
                self.sleep(gap)
                now = self.clock()
        self._last = now


def default_limiter(api_key: str | None) -> RateLimiter:
    """NCBI's limits: 3 requests a second without an API key, 10 with one."""
    return RateLimiter(RATE_WITH_KEY if api_key else RATE_WITHOUT_KEY)


def normalise_pmid(text: str) -> str:
    """A PMID as digits; accepts ``PMID: 123``, ``pmid:123`` and PubMed URLs."""
    value = text.strip()
    value = re.sub(r"^(?:https?://)?(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/", "", value)
    value = re.sub(r"^pmid\s*:?\s*", "", value, flags=re.I).strip().strip("/")
    if not _PMID.match(value) or int(value) == 0:
        raise EvidenceError(f"{text.strip()!r} is not a PMID (PMIDs are whole numbers, e.g. 26784863)")
    return str(int(value))


def read_pmid_file(path: Path) -> list[str]:
    """PMIDs from a file: one or more per line, ``#`` starts a comment; ``file:line:`` on a bad one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise EvidenceError(f"{path}: cannot read the PMID file ({error})") from error
    pmids = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = re.sub(r"\bpmid\s*:?\s*", "", line.split("#", 1)[0], flags=re.I)
        for token in re.split(r"[\s,;]+", content.strip()):
            if token:
                try:
                    pmids.append(normalise_pmid(token))
                except EvidenceError as error:
                    raise EvidenceError(f"{path}:{number}: {error}") from None
    return pmids


def known_pmids(table: "pd.DataFrame") -> dict[str, str]:
    """PMID -> citation key for every entry of the library that has one."""
    import pandas as pd

    if "pmid" not in table.columns:
        return {}
    known: dict[str, str] = {}
    keys = table["key"] if "key" in table.columns else table.index
    for key, pmid in zip(keys, table["pmid"]):
        if not pd.isna(pmid) and str(pmid).strip().isdigit():
            known.setdefault(str(int(str(pmid).strip())), str(key))
    return known


def new_pmids(pmids: Iterable[str], table: "pd.DataFrame") -> tuple[list[str], list[str]]:
    """The PMIDs to fetch (in order, once each) and a message for each one the library already has.

    This runs before any request: a PMID already in the library costs no
    request to NCBI.
    """
    known = known_pmids(table)
    wanted: list[str] = []
    skipped: list[str] = []
    for pmid in pmids:
        pmid = normalise_pmid(pmid)
        if pmid in known:
            skipped.append(f"PMID {pmid}: already in the library as {known[pmid]}")
        elif pmid not in wanted:
            wanted.append(pmid)
    return wanted, skipped


def efetch_url(base_url: str, pmids: list[str], api_key: str | None = None) -> str:
    query = {"db": "pubmed", "id": ",".join(pmids), "retmode": "xml", "tool": "evidence"}
    if api_key:
        query["api_key"] = api_key
    return f"{base_url.rstrip('/')}/efetch.fcgi?{urllib.parse.urlencode(query, safe=',')}"


def fetch_pmids(
    pmids: list[str],
    base_url: str = DEFAULT_BASE_URL,
    api_key: str | None = None,
    *,
    limiter: RateLimiter | None = None,
    deadline: float = DEADLINE_SECONDS,
    max_bytes: int = MAX_BYTES,
    fetcher: Callable[..., bytes] | None = None,
    allow_missing: bool = False,
) -> list[Record]:
    """Import records for ``pmids``, in the order given; raises if any PMID is unknown to PubMed.

    With ``allow_missing`` the PMIDs PubMed does not know are left out instead,
    for callers that report them one by one.  ``deadline`` and ``max_bytes``
    apply to each request.  ``fetcher``
    replaces :func:`evidence.curation.http.fetch` (its keyword signature)
    in tests.
    """
    from evidence.curation.http import FetchError, fetch

    fetcher = fetcher or fetch
    limiter = limiter or default_limiter(api_key)
    records: dict[str, Record] = {}
    for start in range(0, len(pmids), BATCH_SIZE):
        batch = pmids[start : start + BATCH_SIZE]
        limiter.wait()
        url = efetch_url(base_url, batch, api_key)
        try:
            body = fetcher(url, deadline=deadline, max_bytes=max_bytes)
        except FetchError as error:
            where = "PMID " + batch[0] if len(batch) == 1 else f"PMIDs {batch[0]}..{batch[-1]}"
            raise EvidenceError(f"PubMed: {error} (fetching {where}); nothing was added") from error
        for record in parse_efetch(body, source=base_url):
            records.setdefault(record.fields["pmid"], record)
    missing = [p for p in pmids if p not in records]
    if missing and not allow_missing:
        raise EvidenceError(f"PubMed has no record of PMID {', '.join(missing)}; nothing was added")
    return [records[p] for p in pmids if p in records]


def parse_efetch(body: bytes, source: str = "PubMed") -> list[Record]:
    """Records from an efetch ``PubmedArticleSet``; garbage, bad UTF-8 and entity tricks are refused."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EvidenceError(
            f"{source}: the answer is not valid UTF-8 (byte {error.start}); nothing was added"
        ) from None
    try:
        root = fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise EvidenceError(f"{source}: the answer declares XML entities, which are refused ({error})") from None
    except ParseError as error:
        raise EvidenceError(f"{source}: the answer is not XML ({error}); nothing was added") from None
    if root.tag == "eFetchResult" or root.find("ERROR") is not None:
        message = " ".join((root.findtext("ERROR") or "unknown error").split())
        raise EvidenceError(f"{source}: PubMed answered with an error: {message}")
    if root.tag != "PubmedArticleSet":
        raise EvidenceError(f"{source}: expected a PubmedArticleSet, got <{root.tag}>; nothing was added")
    return [record_from_article(article) for article in root.findall("PubmedArticle")]


def _text(element: "Element | None") -> str:
    """All text inside ``element`` (italics, sub- and superscripts included), whitespace collapsed."""
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def record_from_article(article: "Element") -> Record:
    """One ``PubmedArticle`` as an import record with plain BibTeX field values."""
    citation = article.find("MedlineCitation")
    if citation is None:
        raise EvidenceError("PubMed: an article without a MedlineCitation; nothing was added")
    pmid = _text(citation.find("PMID"))
    if not pmid.isdigit():
        raise EvidenceError(f"PubMed: an article with PMID {pmid!r}, which is not a number; nothing was added")
    art = citation.find("Article")
    fields: dict[str, str] = {}

    def put(name: str, value: str | None) -> None:
        if value and value.strip():
            fields[name] = " ".join(value.split())

    authors = []
    for author in art.findall("AuthorList/Author") if art is not None else []:
        collective = _text(author.find("CollectiveName"))
        if collective:
            authors.append("{" + collective + "}")
            continue
        family, given = _text(author.find("LastName")), _text(author.find("ForeName")) or _text(author.find("Initials"))
        if family:
            authors.append(f"{family}, {given}" if given else family)
    put("author", " and ".join(authors))
    put("title", _text(art.find("ArticleTitle")).rstrip(".") if art is not None else "")
    journal = art.find("Journal") if art is not None else None
    if journal is not None:
        put("journal", _text(journal.find("Title")) or _text(journal.find("ISOAbbreviation")))
        put("volume", _text(journal.find("JournalIssue/Volume")))
        put("number", _text(journal.find("JournalIssue/Issue")))
        year, month = _pub_date(journal.find("JournalIssue/PubDate"))
        put("year", year)
        put("month", month)
    if art is not None:
        put("pages", _text(art.find("Pagination/MedlinePgn")).replace("-", "--"))
        put("language", _text(art.find("Language")))
    put("pmid", pmid)
    put("doi", _doi(article))
    put("abstract", abstract_text(art.find("Abstract") if art is not None else None))
    put(
        "pubtype",
        "; ".join(_text(t) for t in art.findall("PublicationTypeList/PublicationType")) if art is not None else "",
    )
    put("mesh", "; ".join(_text(h.find("DescriptorName")) for h in citation.findall("MeshHeadingList/MeshHeading")))
    return Record("article", fields)


def abstract_text(abstract: "Element | None") -> str:
    """The abstract as one paragraph, each labelled section as ``LABEL: text``."""
    if abstract is None:
        return ""
    parts = []
    for section in abstract.findall("AbstractText"):
        text = _text(section)
        label = (section.get("Label") or "").strip()
        if text:
            parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


def _doi(article: "Element") -> str:
    for path in ("PubmedData/ArticleIdList/ArticleId", "MedlineCitation/Article/ELocationID"):
        for node in article.findall(path):
            if (node.get("IdType") or node.get("EIdType")) == "doi" and _text(node):
                return _text(node)
    return ""


def _pub_date(date: "Element | None") -> tuple[str, str]:
    if date is None:
        return "", ""
    year = _text(date.find("Year"))
    month = _text(date.find("Month"))[:3].lower()
    if not year:  # <MedlineDate>2003 Nov-Dec</MedlineDate>
        medline = _text(date.find("MedlineDate"))
        found = re.match(r"(\d{4})\s*([A-Za-z]{3})?", medline)
        year, month = (found.group(1), (found.group(2) or "").lower()) if found else ("", "")
    if month.isdigit() and 1 <= int(month) <= 12:
        month = MONTH_NAMES[int(month) - 1]
    return year, month if month in MONTH_NAMES else ""


def add_by_pmid(
    pmids: list[str],
    pmid_file: Path | None,
    table: "pd.DataFrame",
    base_url: str = DEFAULT_BASE_URL,
    api_key: str | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> tuple[list[Record], list[str]]:
    """Records for the PMIDs given and in ``pmid_file`` that the library lacks, and a line per PMID it has.

    The library is consulted first, so only new PMIDs cost a request.
    """
    wanted = [*pmids, *(read_pmid_file(pmid_file) if pmid_file else [])]
    if not wanted:
        return [], []
    fetch_list, known = new_pmids(wanted, table)
    if progress and fetch_list:
        progress(f"fetching {len(fetch_list)} PMID{'s' if len(fetch_list) != 1 else ''} from PubMed", 0, None)
    return (fetch_pmids(fetch_list, base_url, api_key) if fetch_list else []), known
