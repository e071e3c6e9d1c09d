"""``evidence.Library``: the documented Python API, and the one front door the CLI goes through.

A :class:`Library` owns what every operation needs to agree on: the paths of
the .bib files (``refs/`` by default), whether the cache is used, the
defaults for citation style, citation mode and pooling method, and the table
once it is loaded.  Its methods are the operations of the command line, one
each: ``evidence query`` calls :meth:`Library.query`, ``evidence set`` calls
:meth:`Library.set`, and so on, so what the CLI can do a script can do too.

The table is loaded lazily and kept: the first method that needs it parses
(or reads the cache), later ones reuse it.  A method that changes the files
(``add``, ``set``, ``unset``, ``verify``) drops the loaded table, so the next
read sees the change.  Heavy libraries are imported inside the methods, so
``import evidence`` stays cheap.

>>> from evidence import Library
>>> lib = Library("refs")
>>> lib.query(condition="restless legs", has_outcome=True).index.tolist()[:2]
['wang1994', 'yang1993']
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from evidence.defaults import (
    CROSSREF_URL,
    DEFAULT_CITATIONS,
    DEFAULT_METHOD,
    DEFAULT_OUT,
    DEFAULT_REFS,
    DEFAULT_STYLE,
    PUBMED_URL,
)
from evidence.errors import EvidenceError, Problem, UnknownKeyError

if TYPE_CHECKING:
    import pandas as pd

    from evidence.analysis.certainty import Thresholds
    from evidence.analysis.query import Filters
    from evidence.analysis.summary import Summary
    from evidence.audit.judge import PageAudit
    from evidence.audit.run import AuditRun
    from evidence.curation.entries import Change
    from evidence.curation.extract import ExtractRun
    from evidence.curation.importers import ImportPlan, Record
    from evidence.library.table import TableResult
    from evidence.progress import ProgressCallback

PathLike = str | Path


class Library:
    """A reference library: the .bib files under ``refs`` and the evidence table built from them.

    ``refs`` is a .bib file, a folder of them, or a list of either (default
    ``refs/``).  ``use_cache=False`` rebuilds the table from the files every
    time.  ``style``, ``citations`` and ``method`` are the defaults of
    :meth:`summarize` and :meth:`render`; ``progress`` receives progress
    reports from long operations (the CLI passes its progress bar).
    """

    def __init__(
        self,
        refs: PathLike | Iterable[PathLike] | None = None,
        *,
        use_cache: bool = True,
        cache_dir: Path | None = None,
        style: str = DEFAULT_STYLE,
        citations: str = DEFAULT_CITATIONS,
        method: str = DEFAULT_METHOD,
        progress: "ProgressCallback | None" = None,
    ) -> None:
        if refs is None:
            paths = [DEFAULT_REFS]
        elif isinstance(refs, (str, Path)):
            paths = [Path(refs)]
        else:
            paths = [Path(p) for p in refs] or [DEFAULT_REFS]
        self.paths: list[Path] = paths
        self.use_cache = use_cache
        self.cache_dir = cache_dir
        self.style = style
        self.citations = citations
        self.method = method
        self.progress = progress
        self._loaded: TableResult | None = None
        self._loaded_columns: frozenset[str] | None = None  # None: every column
        self._outcomes: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"Library({[str(p) for p in self.paths]!r})"

    # --- loading --------------------------------------------------------------------------------

    def load(self, columns: Iterable[str] | None = None) -> "TableResult":
        """The table with its problems and files; only ``columns`` (plus ``key``) when given.

        What was loaded is kept: a later call for the same or fewer columns
        reuses it, and one for more columns loads again (from the cache, only
        what it needs, which is what makes a query on a large library fast).
        """
        from evidence.library.table import load_table

        wanted = None if columns is None else frozenset(columns) | {"key"}
        if self._loaded is not None and (self._loaded_columns is None or (wanted and wanted <= self._loaded_columns)):
            return self._loaded if wanted is None else _only_columns(self._loaded, wanted)
        result = load_table(
            self.paths, use_cache=self.use_cache, cache_dir=self.cache_dir, progress=self.progress, columns=wanted
        )
        if not result.files:
            raise EvidenceError(f"no .bib files found in {', '.join(map(str, self.paths))}")
        self._loaded, self._loaded_columns = result, wanted
        return result

    @property
    def table(self) -> "pd.DataFrame":
        """The evidence table: one row per entry, indexed by key (columns in ``docs/fields.md``)."""
        return self.load().table

    @property
    def problems(self) -> list[Problem]:
        """Problems met while loading (unparsable entries, bad outcome values), as records."""
        return self.load().problems

    @property
    def files(self) -> list[Path]:
        """The .bib files the library is made of."""
        return self.load(columns=["key"]).files

    def reload(self) -> None:
        """Forget the loaded table, so the next call reads the files (or the cache) again."""
        self._loaded = self._loaded_columns = self._outcomes = None

    @property
    def outcomes(self) -> "pd.DataFrame":
        """The long outcome table: one row per study, outcome, time point and arm (``docs/fields.md``).

        It joins every ``*.outcomes.csv`` under the library's paths with the
        BibTeX shorthand (``n``, ``responders``, ``control_n`` ...); its
        problems are reported by :meth:`check`.
        """
        from evidence.library.outcomes import SHORTHAND_COLUMNS, load_outcomes

        if self._outcomes is None:  # only the columns the shorthand rows are built from: cheap from the cache
            studies = self.load(columns=SHORTHAND_COLUMNS).table
            self._outcomes, _ = load_outcomes(self.paths, studies, check=False)  # check() reports the problems
        return self._outcomes

    def file_of(self, key: str) -> Path:
        """The .bib file that holds ``key``; an unknown key raises with the closest keys."""
        from evidence.analysis.query import closest

        table = self.load(columns=["source_file"]).table
        if key not in table.index:
            raise UnknownKeyError(key, closest(key, table.index, n=3))
        return Path(str(table.at[key, "source_file"]))

    # --- reading ----------------------------------------------------------------------------------

    def check(self) -> list[Problem]:
        """Every problem in the library: parsing, field values, duplicates, rules across fields."""
        from evidence.library.check import check_library

        return check_library(self.load(), self.paths)

    def query(
        self,
        filters: "Filters | None" = None,
        *,
        sort: Sequence[str] = (),
        columns: Iterable[str] | None = None,
        **criteria: Any,
    ) -> "pd.DataFrame":
        """The entries that match, sorted; filters as :class:`~evidence.analysis.query.Filters` or keywords.

        ``lib.query(condition="restless legs", design=("rct",), min_n=30)`` and
        ``lib.query(Filters(condition="restless legs"))`` are the same.  ``sort``
        names columns, ``-`` first for descending.  ``columns`` loads only
        those (plus what filtering and sorting need), which is much faster on a
        large cached library.
        """
        from evidence.analysis.query import apply_filters, query_columns, sort_table

        chosen = self._filters(filters, criteria)
        if chosen.has_outcome and not chosen.outcome_keys:
            from evidence.library.outcomes import outcome_table_keys

            chosen = replace(chosen, outcome_keys=outcome_table_keys(self.paths))
        needed = None if columns is None else query_columns(chosen, sort, columns)
        return sort_table(apply_filters(self.load(columns=needed).table, chosen), list(sort))

    def entry(self, key: str) -> "pd.Series":
        """One entry's row of the table; an unknown key raises with the closest keys."""
        from evidence.analysis.query import closest

        table = self.table
        if key not in table.index:
            raise UnknownKeyError(key, closest(key, table.index, n=3))
        return table.loc[key]

    def arms(self, key: str) -> "pd.DataFrame":
        """Entry ``key``'s rows of the outcome table (one per outcome, time point and arm); empty when none."""
        self.entry(key)  # an unknown key raises with the closest keys
        return self.outcomes[self.outcomes["key"] == key]

    # --- writing about the evidence ---------------------------------------------------------------

    def summarize(
        self,
        condition: str,
        intervention: str | None = None,
        *,
        method: str | None = None,
        style: str | None = None,
        citations: str | None = None,
        outcome: str | None = None,
        comparator: str | None = None,
        measure: str | None = None,
        hksj: bool = False,
        thresholds: "Thresholds | None" = None,
    ) -> "Summary":
        """The numbers a paragraph about ``condition`` is written from (see ``docs/summaries.md``).

        Comparisons (intervention arm against control arm) come from
        :attr:`outcomes`; ``outcome`` and ``comparator`` select them,
        ``measure`` (rr, or, rd, md, smd), ``method`` (dl, reml, fixed, mh) and
        ``hksj`` say how they are pooled, ``thresholds`` what counts as an
        important effect when certainty is rated.
        """
        from evidence.analysis.certainty import DEFAULT_THRESHOLDS
        from evidence.analysis.summary import summarize

        return summarize(
            self.table,
            condition,
            intervention,
            method=method or self.method,
            style=style or self.style,
            citations=citations or self.citations,
            outcomes=self.outcomes,
            outcome=outcome,
            comparator=comparator,
            measure=measure,
            hksj=hksj,
            thresholds=thresholds or DEFAULT_THRESHOLDS,
        )

    def paragraph(self, condition: str, fmt: str = "markdown", *, templates: Path | None = None, **options: Any) -> str:
        """The evidence paragraph for ``condition`` in ``fmt`` (markdown, text, html or json)."""
        from evidence.pages.render import render_paragraph

        return render_paragraph(self.summarize(condition, **options), fmt, templates)

    def conditions(self) -> list[str]:
        """Every condition named in the library, one page each under ``render --all``."""
        from evidence.analysis.summary import conditions

        return conditions(self.table)

    def render(
        self,
        conditions: Iterable[str] | None = None,
        out: Path = DEFAULT_OUT,
        *,
        templates: Path | None = None,
        method: str | None = None,
        style: str | None = None,
        citations: str | None = None,
        outcome: str | None = None,
        comparator: str | None = None,
        measure: str | None = None,
        hksj: bool = False,
        thresholds: "Thresholds | None" = None,
        jobs: int | None = None,
    ) -> list[Path]:
        """Write a condition page (.md, .html, .svg) per condition into ``out``; all when ``None``.

        Returns the files written.  The same library always gives
        byte-identical files.  The options are those of :meth:`summarize`;
        pages are rendered in ``jobs`` processes (default: one per core).
        """
        from evidence.pages.batch import render_conditions_parallel

        names = self.conditions() if conditions is None else list(conditions)
        if not names:
            raise EvidenceError("no entry in the library has a condition field, so there is no page to write")
        return render_conditions_parallel(
            self.table,
            names,
            Path(out),
            workers=jobs,
            method=method or self.method,
            style=style or self.style,
            citations=citations or self.citations,
            templates=templates,
            progress=self.progress,
            outcomes=self.outcomes,
            outcome=outcome,
            comparator=comparator,
            measure=measure,
            hksj=hksj,
            thresholds=thresholds,
        )

    # --- auditing pages -------------------------------------------------------------------------

    def audit(self, pages: Iterable[PathLike], *, state: bool = True) -> "AuditRun":
        """Check every citation and number in each page against the library.

        ``pages`` are files, folders of them (every .md, .html, .txt inside),
        or ``-`` for standard input.  The run holds one audit per page read,
        an error per page that could not be, and the exit status the
        command gives (:meth:`AuditRun.exit_status`).  References are matched
        through indexes built once for the run.  ``state`` names what was
        audited against (a SHA-256 per file, the git commit) for
        :meth:`record_audit`; a run that records nothing may skip it, since
        hashing a large library costs more than the rest of a warm audit's
        look-ups.
        """
        from evidence.audit.records import library_state
        from evidence.audit.run import AUDIT_COLUMNS, audit_pages

        result = self.load(columns=AUDIT_COLUMNS)
        library = library_state(result.files) if state else None
        return audit_pages([str(page) for page in pages], result.table, library, outcomes=self._outcome_files())

    def _outcome_files(self) -> "pd.DataFrame":
        """The outcome table's CSV rows alone: the audit reads the shorthand from the entries themselves,
        and building it for every study of a large library cost more than the audit."""
        from evidence.library.outcomes import load_outcomes

        if self._outcomes is not None:
            return self._outcomes
        return load_outcomes(self.paths, self.load(columns=["key"]).table, check=False, shorthand=False)[0]

    def record_audit(self, audit: "PageAudit", folder: Path) -> Path:
        """Write a dated JSON audit record of ``audit`` into ``folder``; returns its path."""
        from evidence.audit.records import write_record

        return write_record(audit, folder)

    # --- curation -------------------------------------------------------------------------------

    def add(
        self,
        sources: Iterable[PathLike] = (),
        target: Path | None = None,
        *,
        fmt: str = "auto",
        dois: Iterable[str] = (),
        crossref_url: str = CROSSREF_URL,
        pmids: Iterable[str] = (),
        pmid_file: Path | None = None,
        pubmed_url: str = PUBMED_URL,
        allow_duplicates: bool = False,
        all_or_nothing: bool = False,
        dry_run: bool = False,
    ) -> "ImportPlan":
        """Import references into ``target`` (a .bib file, created if missing); returns the plan carried out.

        Sources are BibTeX, RIS, CSL-JSON, MEDLINE or CSV files (``-`` for
        standard input), DOIs fetched from Crossref and PMIDs fetched from
        PubMed (``NCBI_API_KEY`` is sent when set); a DOI or PMID the library
        already has costs no request.  New entries get keys like
        ``wang1994observation``; entries the library already has are skipped.
        Invalid entries are left out and listed in ``plan.problems`` (with
        ``all_or_nothing``, any of them stops the import and nothing is
        written).  With ``dry_run`` nothing is written.
        """
        import os
        from functools import partial

        from evidence.curation.crossref import fetch_doi
        from evidence.curation.edit import append_entries
        from evidence.curation.importers import prepare_import
        from evidence.curation.pubmed import add_by_pmid

        if target is None:
            raise EvidenceError("name the .bib file to add the entries to")
        sources, dois, pmids = list(sources), list(dois), list(pmids)
        if not (sources or dois or pmids or pmid_file):
            raise EvidenceError("give files to import, '-' for standard input, DOIs or PMIDs")
        table = self._table_with(Path(target))
        fetched: "list[Record]" = []
        known: list[str] = []
        if pmids or pmid_file:
            api_key = os.environ.get("NCBI_API_KEY")
            fetched, known = add_by_pmid(pmids, pmid_file, table, pubmed_url, api_key, self.progress)
        fetch = partial(fetch_doi, base_url=crossref_url)
        plan = prepare_import(sources, table, fmt, dois, fetch, allow_duplicates, self.progress, fetched=fetched)
        plan.skipped[:0] = known
        errors = [problem for problem in plan.problems if problem.severity == "error"]
        if errors and all_or_nothing:
            raise EvidenceError(f"{len(errors)} invalid entr{'y' if len(errors) == 1 else 'ies'}; nothing was added")
        if plan.added and not dry_run:
            append_entries(Path(target), [text for _, text in plan.added])
            self.reload()
        return plan

    def _table_with(self, target: Path) -> "pd.DataFrame":
        """The table of the library and ``target`` together: what an import must not duplicate."""
        from evidence.library.files import find_bib_files
        from evidence.library.table import frame_from_rows, load_table

        files = find_bib_files(path for path in [*self.paths, target] if path.exists())
        if not files:
            return frame_from_rows([])
        return load_table(files, use_cache=self.use_cache, cache_dir=self.cache_dir).table

    def extract(self, keys: Iterable[str] | None = None, *, write: bool = False) -> "ExtractRun":
        """Proposed outcome data from the abstracts of ``keys`` (every entry with one when ``None``).

        Every number comes with the words it was read from; nothing is
        guessed (see ``docs/extract.md``).  With ``write`` the proposals are
        appended, unverified, to the outcome CSV beside each entry's .bib file.
        """
        from evidence.curation.extract import run_extract

        run = run_extract(self.table, None if keys is None else list(keys), write)
        if write:
            self.reload()
        return run

    def fetch_missing(
        self,
        pages: Iterable[PathLike],
        to: Path,
        *,
        pubmed_url: str | None = None,
        crossref_url: str | None = None,
    ) -> list[str]:
        """Fetch the studies ``pages`` cite by PMID or DOI that the library lacks into ``to``, extracted, unverified.

        ``to`` then joins the library, so an audit judges claims against the
        fetched studies as "supported by unverified data" at best.  Returns
        lines for the user.  The URLs default to ``EVIDENCE_PUBMED_URL`` and
        ``EVIDENCE_CROSSREF_URL`` when set, else the public services.
        """
        import os

        from evidence.curation.missing import fetch_missing_for_pages

        lines = fetch_missing_for_pages(
            [Path(page) for page in pages],
            Path(to),
            self.table,
            pubmed_url or os.environ.get("EVIDENCE_PUBMED_URL"),
            crossref_url or os.environ.get("EVIDENCE_CROSSREF_URL"),
            os.environ.get("NCBI_API_KEY"),
        )
        if Path(to).exists() and Path(to) not in self.paths:
            self.paths.append(Path(to))
        self.reload()
        return lines

    def set(self, key: str, updates: Mapping[str, str], *, force: bool = False) -> list[str]:
        """Set fields of entry ``key`` in its file, byte-exact elsewhere; returns what changed.

        Outcome fields are validated first, and an invalid value changes
        nothing; an unknown field name is refused unless ``force``.
        """
        from evidence.curation.edit import set_fields

        messages = set_fields(self.file_of(key), key, dict(updates), force=force)
        self.reload()
        return messages

    def unset(self, key: str, names: Iterable[str]) -> list[str]:
        """Remove fields from entry ``key``; returns what changed."""
        from evidence.curation.edit import unset_fields

        messages = unset_fields(self.file_of(key), key, list(names))
        self.reload()
        return messages

    def verify(self, key: str, by: str, fields: Sequence[str] | None = None) -> list[str]:
        """Record that ``by`` checked entry ``key``'s outcome data (only ``fields``, when given)."""
        from evidence.curation.edit import verify_entry

        messages = verify_entry(self.file_of(key), key, by, list(fields) if fields else None)
        self.reload()
        return messages

    def rename(self, old: str, new: str, pages: Iterable[PathLike] = ()) -> "Change":
        """Rename key ``old`` to ``new``: the entry, its outcome rows, crossref/xdata fields naming it, and its
        citations in ``pages``.  Refused, changing nothing, when ``new`` is taken or not a valid key."""
        from evidence.curation.entries import rename_key

        change = rename_key(self.paths, old, new, [Path(page) for page in pages])
        self.reload()
        return change

    def remove(self, key: str) -> "Change":
        """Remove entry ``key`` and its outcome rows; entries that still point at it are reported."""
        from evidence.curation.entries import remove_entry

        change = remove_entry(self.paths, key)
        self.reload()
        return change

    def merge(self, keep: str, other: str, pages: Iterable[PathLike] = ()) -> "Change":
        """Merge entry ``other`` into ``keep`` and remove it; conflicting fields keep ``keep``'s value and are
        reported with the value dropped."""
        from evidence.curation.entries import merge_entries

        change = merge_entries(self.paths, keep, other, [Path(page) for page in pages])
        self.reload()
        return change

    @staticmethod
    def init(folder: PathLike = ".") -> "Change":
        """Set up ``folder`` for a library: ``refs/`` with an example entry and a ``.gitignore``; nothing that
        exists is overwritten."""
        from evidence.curation.entries import init_library

        return init_library(Path(folder))

    def export(self, fmt: str = "csljson", filters: "Filters | None" = None, **criteria: Any) -> str:
        """The matching entries as CSL-JSON, RIS, BibTeX (byte-exact) or CSV text."""
        from evidence.curation.export import export_table

        return export_table(self.query(filters, **criteria), fmt)

    # --- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _filters(filters: "Filters | None", criteria: Mapping[str, Any]) -> "Filters":
        from evidence.analysis.query import Filters

        if filters is not None and criteria:
            return replace(filters, **criteria)
        if filters is not None:
            return filters
        if isinstance(criteria.get("design"), str):
            criteria = {**criteria, "design": (criteria["design"],)}
        return Filters(**criteria)

    def _report(self, message: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(message, done, total)


def _only_columns(result: "TableResult", columns: Iterable[str]) -> "TableResult":
    """``result`` cut to ``columns`` (``key`` first), as a partial load would give it."""
    wanted = ["key", *(c for c in result.table.columns if c != "key" and c in columns)]
    return replace(result, table=result.table[wanted])
