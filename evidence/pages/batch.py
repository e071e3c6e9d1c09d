"""``render --all`` on every core: one process per core, each rendering whole condition pages.

A page is independent of every other page, and rendering one (the summary,
citeproc, the forest plot, the templates) is plain Python that one core
runs at a time; a library with many conditions therefore renders in about
``1 / cores`` of the serial time.  The workers compute the pages; this
process writes them, in the order of ``names``, so the files (and the list
of files returned) are exactly those of :func:`evidence.pages.render.render_conditions`.

The table reaches the workers by ``fork`` where the platform has it (no
copy is pickled); elsewhere each worker receives a pickled copy once.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import pandas as pd

    from evidence.pages.render import Page
    from evidence.progress import ProgressCallback


@dataclass(frozen=True)
class PageOptions:
    """What every page of one run shares (the options of ``render``)."""

    method: str = "dl"
    style: str = "american-medical-association"
    citations: str = "numbered"
    templates: Path | None = None


def default_workers() -> int:
    """The cores this process may use (its CPU affinity where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def render_conditions_parallel(
    table: "pd.DataFrame",
    names: Iterable[str],
    out: Path,
    *,
    method: str = "dl",
    style: str = "american-medical-association",
    citations: str = "numbered",
    templates: Path | None = None,
    progress: "ProgressCallback | None" = None,
    workers: int | None = None,
) -> list[Path]:
    """Summarise and write a page per condition using ``workers`` processes; returns the files written.

    ``workers`` defaults to :func:`default_workers`; with one worker, or one
    page, it is the serial :func:`~evidence.pages.render.render_conditions`.
    An error in any page (a template error, say) stops the run and is raised
    here, as in the serial run.
    """
    from evidence.pages.render import render_conditions, write_page

    names = list(names)
    options = PageOptions(method, style, citations, templates)
    count = min(workers or default_workers(), len(names))
    if count <= 1:
        return render_conditions(
            table, names, out, method=method, style=style, citations=citations, templates=templates, progress=progress
        )
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pages: list["Page | None"] = [None] * len(names)
    with ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker, initargs=(table, options)) as pool:
        futures: dict[Future["Page"], int] = {pool.submit(_render_page, name): i for i, name in enumerate(names)}
        pending = set(futures)
        done_count = 0
        if progress:
            progress(f"rendering {len(names)} pages in {count} processes", 0, len(names))
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    for other in pending:
                        other.cancel()
                    raise error
                pages[futures[future]] = future.result()
                done_count += 1
                if progress:
                    progress(f"rendered {names[futures[future]]}", done_count, len(names))
    written: list[Path] = []
    for page in pages:
        assert page is not None  # every future finished without error
        written += write_page(page, out)
    return written


#: The table and options of the run, set once in each worker process by ``_start_worker``.
_WORKER: dict[str, object] = {}


def _start_worker(table: "pd.DataFrame", options: PageOptions) -> None:
    _WORKER["table"] = table
    _WORKER["options"] = options


def _render_page(name: str) -> "Page":
    """One condition's page, as the serial loop builds it."""
    from evidence.analysis.summary import summarize
    from evidence.pages.render import build_page

    options = _WORKER["options"]
    assert isinstance(options, PageOptions)
    table = _WORKER["table"]
    summary = summarize(
        table, name, method=options.method, style=options.style, citations=options.citations  # type: ignore[arg-type]
    )
    return build_page(summary, options.templates)
