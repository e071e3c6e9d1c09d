"""Fetch the studies a page cites but the library lacks, so the page can be audited at once.

Real research pages list "(pmid: 26784863)" or a DOI under each study.  When
such a reference resolves to no entry, :func:`fetch_missing` fetches it
(PubMed by PMID, else Crossref by DOI), proposes data from its abstract with
:mod:`evidence.curation.extract`, and writes one .bib file (``to``) and its
outcome CSV beside it.  The study-level values (design, participants,
studies, country, blinding) go into the entry with ``extracted_by`` naming
the extractor and no ``verified_by``: the audit then judges claims against
them as "supported by unverified data", never as "supported".

Everything is fetched and extracted before anything is written, and each
file is written once under its lock, so a failure leaves no half-written
file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from evidence.curation.importers import Record

if TYPE_CHECKING:
    import pandas as pd

    from evidence.audit.claims import ListedReference as CitedReference


@dataclass
class FetchReport:
    """Keys written, references that could not be fetched (and why), and the files written."""

    added: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def unresolved_references(pages: Iterable[Path], table: "pd.DataFrame") -> list[CitedReference]:
    """The references of ``pages`` that match no entry but carry a PMID or a DOI, once each."""
    from evidence.audit.claims import read_page
    from evidence.audit.match import build_index, match_reference

    library = build_index(table)
    found: dict[str, CitedReference] = {}
    for path in pages:
        for reference in read_page(path).references:
            if not (reference.pmid or reference.doi):
                continue
            if match_reference(reference, library).key is None:
                found.setdefault(reference.pmid or str(reference.doi).lower(), reference)
    return list(found.values())


def _study_fields(record: Record) -> None:
    """Add what the abstract states about the study to the record, marked as machine-extracted."""
    from evidence.curation.extract import EXTRACTED_BY, extract_abstract

    proposal = extract_abstract("", record.fields.get("abstract", ""))
    for name in ("design", "country", "blinding", "participants", "studies"):
        value = getattr(proposal, name)
        if value is not None:
            record.fields[name] = str(value.value)
    if any(name in record.fields for name in ("design", "participants", "studies")):
        source = f"PMID {record.fields['pmid']}" if record.fields.get("pmid") else f"DOI {record.fields.get('doi')}"
        record.fields["extracted_from"] = f"abstract ({source})"
        record.fields["extracted_by"] = EXTRACTED_BY


def fetch_missing(
    references: list[CitedReference],
    to: Path,
    table: "pd.DataFrame",
    pubmed_url: str | None = None,
    crossref_url: str | None = None,
    api_key: str | None = None,
    fetchers: dict[str, Any] | None = None,
) -> FetchReport:
    """Fetch, extract and write the ``references`` to ``to`` (a .bib) and its outcome CSV.

    A reference that cannot be fetched is reported and the others still
    are; ``fetchers`` may replace ``{"pubmed": fetch_pmids, "crossref": fetch_doi}`` in tests.
    """
    from evidence.curation import crossref, pubmed
    from evidence.curation.edit import append_entries
    from evidence.curation.extract import extract_abstract, write_proposals
    from evidence.curation.importers import plan_import
    from evidence.errors import EvidenceError

    fetchers = fetchers or {"pubmed": pubmed.fetch_pmids, "crossref": crossref.fetch_doi}
    report = FetchReport()
    records: list[Record] = []
    pmids = [pubmed.normalise_pmid(r.pmid) for r in references if r.pmid]
    wanted, known = pubmed.new_pmids(pmids, table)
    report.skipped += known
    if wanted:  # one request for all of them (NCBI's rate limit), each unknown PMID reported on its own
        try:
            found = fetchers["pubmed"](wanted, pubmed_url or pubmed.DEFAULT_BASE_URL, api_key, allow_missing=True)
        except EvidenceError as error:
            found = []
            report.failed += [f"PMID {pmid}: {error}" for pmid in wanted]
        else:
            have = {record.fields.get("pmid") for record in found}
            report.failed += [f"PMID {pmid}: PubMed has no record of it" for pmid in wanted if pmid not in have]
        records += found
    for reference in references:
        if reference.pmid or not reference.doi:
            continue
        try:
            records.append(fetchers["crossref"](reference.doi, crossref_url or crossref.DEFAULT_BASE_URL))
        except EvidenceError as error:
            report.failed.append(f"DOI {reference.doi}: {error}")
    for record in records:
        _study_fields(record)
    plan = plan_import(records, table)
    report.skipped += plan.skipped
    if not plan.added:
        return report
    append_entries(to, [text for _, text in plan.added])
    report.added = [key for key, _ in plan.added]
    by_key = {key: _record_of(text, records) for key, text in plan.added}
    proposals = [extract_abstract(key, record.fields.get("abstract", "")) for key, record in by_key.items()]
    report.messages.append(
        f"added {len(report.added)} entr{'y' if len(report.added) == 1 else 'ies'} to {to}: "
        f"{', '.join(report.added)} (machine-extracted, not verified)"
    )
    report.messages += write_proposals([p for p in proposals if p.arms], {key: to for key in by_key})
    return report


def _record_of(text: str, records: list[Record]) -> Record:
    """The record a planned BibTeX entry was made from, found by its PMID or DOI."""
    for record in records:
        pmid, doi = record.fields.get("pmid"), record.fields.get("doi")
        if (pmid and f"pmid = {{{pmid}}}" in text) or (doi and f"doi = {{{doi}}}" in text):
            return record
    return Record("article", {})


def fetch_missing_for_pages(
    pages: Iterable[Path],
    to: Path,
    table: "pd.DataFrame",
    pubmed_url: str | None = None,
    crossref_url: str | None = None,
    api_key: str | None = None,
) -> list[str]:
    """``audit --fetch-missing``: fetch what ``pages`` cite and the library lacks; lines for the user."""
    references = unresolved_references(pages, table)
    if not references:
        return ["fetch-missing: every reference with a PMID or DOI is already in the library"]
    report = fetch_missing(references, to, table, pubmed_url, crossref_url, api_key)
    return (
        report.messages
        + [f"skipped {line}" for line in report.skipped]
        + [f"could not fetch {line}" for line in report.failed]
    )
