"""Fetch one reference by DOI from Crossref's REST API.

The base URL is configurable (``--crossref-url`` or ``EVIDENCE_CROSSREF_URL``)
so tests and mirrors can stand in for the public API.  Any network failure
becomes an :class:`EvidenceError` with a plain message, and nothing is
written.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

from evidence import __version__
from evidence.defaults import CROSSREF_URL
from evidence.errors import EvidenceError
from evidence.curation.importers import Record, record_from_csl

DEFAULT_BASE_URL = CROSSREF_URL
TIMEOUT_SECONDS = 20


def fetch_doi(doi: str, base_url: str = DEFAULT_BASE_URL, timeout: float = TIMEOUT_SECONDS) -> Record:
    """The Crossref record for ``doi`` as an import :class:`Record`."""
    doi = doi.strip().removeprefix("https://doi.org/").removeprefix("doi:")
    if not doi.startswith("10."):
        raise EvidenceError(f"{doi!r} is not a DOI (DOIs start with '10.')")
    url = f"{base_url.rstrip('/')}/works/{urllib.parse.quote(doi, safe='/')}"
    request = urllib.request.Request(url, headers={"User-Agent": f"evidence/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise EvidenceError(f"Crossref has no record of DOI {doi}") from error
        raise EvidenceError(f"Crossref answered {error.code} {error.reason} for {doi}; nothing was added") from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EvidenceError(f"cannot reach Crossref at {base_url} ({reason}); are you offline? Nothing was added") from error
    except json.JSONDecodeError as error:
        raise EvidenceError(f"Crossref's answer for {doi} is not JSON; nothing was added") from error
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        raise EvidenceError(f"Crossref's answer for {doi} has no record; nothing was added")
    record = record_from_csl(message)
    record.key = None  # Crossref ids are not citation keys
    record.fields.setdefault("doi", doi)
    if "abstract" in record.fields:  # Crossref abstracts are JATS XML
        record.fields["abstract"] = " ".join(re.sub(r"<[^>]+>", " ", record.fields["abstract"]).split())
    return record
