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
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import click

from evidence import __version__
from evidence.errors import EvidenceError, Problem

if TYPE_CHECKING:
    from evidence.table import TableResult

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
def cli() -> None:
    """Manage the studies behind health claims: references with outcome data,
    evidence summaries and condition pages, and audits of the claims pages make.

    The library is a folder of BibTeX files (default: refs/, or the
    EVIDENCE_REFS environment variable); see docs/fields.md for the outcome
    fields.
    """


def library_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads the library takes."""

    @click.option(
        "--refs",
        "refs",
        multiple=True,
        type=click.Path(path_type=Path),
        envvar="EVIDENCE_REFS",
        show_envvar=True,
        help="A .bib file or a folder of them; repeat for more. [default: refs/]",
    )
    @click.option("--no-cache", is_flag=True, help="Rebuild the table from the .bib files, ignoring the cache.")
    @click.option("-q", "--quiet", is_flag=True, help="No progress output and no problem summary.")
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


def load_library(refs: Iterable[Path], no_cache: bool = False, quiet: bool = False) -> "TableResult":
    """Load the table for a command, and say on stderr how many problems it has.

    Problems are only summarised here; ``evidence check`` lists them.
    """
    from evidence.table import load_table

    paths = list(refs) or [Path("refs")]
    result = load_table(paths)
    if not result.files:
        raise EvidenceError(f"no .bib files found in {', '.join(map(str, paths))}")
    errors = sum(p.severity == "error" for p in result.problems)
    if errors and not quiet:
        click.echo(f"note: the library has {errors} error(s); run 'evidence check' to list them", err=True)
    return result


def echo_problems(problems: Iterable[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


def main() -> None:
    cli(prog_name="evidence")


# --- foundation: check, query, show (issue 2) --------------------------------


# --- writers: summarize, render (issue 3) ------------------------------------


# --- reviewers: audit (issue 4) ----------------------------------------------


# --- curation: add, set, unset, verify, export (issue 5) ---------------------


# --- end of commands ---------------------------------------------------------
if __name__ == "__main__":  # pragma: no cover
    main()
