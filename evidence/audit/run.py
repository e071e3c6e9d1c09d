"""Audit many pages in one run: files, folders of pages, or ``-`` for standard input.

The library is loaded and indexed once (:func:`evidence.audit.match.build_index`),
then each page is read and judged.  A page that cannot be read is a
:class:`PageError` naming it, never a traceback, and the others are still
audited.  The run has one exit status: 2 when a page could not be read, 1
when any page failed (a contradicted claim, an unresolved reference, or a
verdict named by ``fail_on``), else 0.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence, TextIO

from evidence.audit.arms import outcome_arms
from evidence.audit.claims import parse_page, read_page
from evidence.audit.judge import PageAudit, audit_page
from evidence.audit.match import build_index

if TYPE_CHECKING:
    import pandas as pd

#: The table columns the audit reads (matching, arms, verdicts, records); loading only these keeps a large
#: library's abstracts and raw entries out of memory, as a query does.
AUDIT_COLUMNS = (
    "key",
    "doi",
    "pmid",
    "first_author",
    "year",
    "title",
    "container",
    "volume",
    "pages",
    "keywords",
    "design",
    "country",
    "intervention",
    "comparator",
    "n",
    "responders",
    "response_rate",
    "response_rate_bound",
    "response_definition",
    "control_n",
    "control_responders",
    "control_response_rate",
    "studies",
    "participants",
    "data_source",
    "extracted_from",
    "verified_by",
    "verified_fields",
)

#: File endings audited when a folder is given.
PAGE_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")


@dataclass(frozen=True)
class PageError:
    """A page that could not be audited, and why, as one line."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class AuditRun:
    """The audits of every page that could be read, and an error per page that could not."""

    audits: tuple[PageAudit, ...]
    errors: tuple[PageError, ...]

    def exit_status(self, fail_on: Iterable[str] = ()) -> int:
        extra = set(fail_on)
        if self.errors:
            return 2
        return 1 if any(audit.failed(extra) for audit in self.audits) else 0


def page_sources(arguments: Sequence[str]) -> tuple[list[str], list[PageError]]:
    """The pages named: files as given, the pages inside folders (sorted, recursively), and ``-``."""
    sources: list[str] = []
    errors: list[PageError] = []
    for argument in arguments:
        if argument == "-":
            sources.append("-")
            continue
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
            if not found:
                errors.append(PageError(argument, f"no pages ({', '.join(PAGE_SUFFIXES)}) in this folder"))
            sources += [str(p) for p in found]
        elif not path.exists():
            errors.append(PageError(argument, "no such file"))
        else:
            sources.append(argument)
    return sources, errors


def audit_pages(
    arguments: Sequence[str],
    table: "pd.DataFrame",
    library: dict[str, Any] | None = None,
    stdin: TextIO | None = None,
    outcomes: "pd.DataFrame | None" = None,
) -> AuditRun:
    """Audit every page named by ``arguments`` against ``table``, indexing the table (and grouping the
    ``outcomes`` table's arms by study) once."""
    sources, errors = page_sources(arguments)
    index = build_index(table)
    arms = outcome_arms(outcomes)
    audits: list[PageAudit] = []
    for source in sources:
        try:
            if source == "-":
                text = (stdin or sys.stdin).read()
                page = parse_page(text, "<stdin>")
            else:
                page = read_page(source)
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            errors.append(PageError(source, f"cannot read the page: {reason}"))
            continue
        audits.append(audit_page(page, table, library, index, arms=arms))
    return AuditRun(tuple(audits), tuple(errors))
