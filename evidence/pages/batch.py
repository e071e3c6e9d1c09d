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
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import pandas as pd

    from evidence.pages.render import RenderedPage
    from evidence.progress import ProgressCallback


@dataclass(frozen=True)
class PageOptions:
    """What every page of one run shares: the keyword arguments of ``summarize`` and the templates."""

    summary: dict[str, Any] = field(default_factory=dict)
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
    templates: Path | None = None,
    progress: "ProgressCallback | None" = None,
    workers: int | None = None,
    **options: Any,
) -> list[Path]:
    """Summarise and write a page per condition using ``workers`` processes; returns the files written.

    ``options`` are those of :func:`~evidence.pages.render.render_conditions`
    (method, style, citations, outcomes, outcome, comparator, measure, hksj,
    thresholds).  ``workers`` defaults to :func:`default_workers`; with one
    worker, or one page, it is the serial ``render_conditions``.  An error in
    any page (a template error, say) stops the run and is raised here, as in
    the serial run; so do two conditions that would share a file name, before
    anything is written.
    """
    from evidence.analysis.certainty import DEFAULT_THRESHOLDS
    from evidence.pages.render import check_unique_slugs, render_conditions, write_page

    names = list(names)
    count = min(workers or default_workers(), len(names))
    if count <= 1:
        return render_conditions(table, names, out, templates=templates, progress=progress, **options)
    options["thresholds"] = options.get("thresholds") or DEFAULT_THRESHOLDS
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pages: list[tuple[str, RenderedPage] | None] = [None] * len(names)
    initargs = (table, PageOptions(options, templates))
    with ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker, initargs=initargs) as pool:
        futures = {pool.submit(_render_page, name): i for i, name in enumerate(names)}
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
    finished = [page for page in pages if page is not None]  # every future finished without error
    check_unique_slugs((page.slug, condition) for condition, page in finished)
    written: list[Path] = []
    for _, page in finished:
        written += write_page(page, out)
    return written


#: The table and options of the run, set once in each worker process by ``_start_worker``.
_WORKER: dict[str, object] = {}


def _start_worker(table: "pd.DataFrame", options: PageOptions) -> None:
    _WORKER["table"] = table
    _WORKER["options"] = options


def _render_page(name: str) -> tuple[str, "RenderedPage"]:
    """One condition's page, as the serial loop builds it, with the condition it is about."""
    from evidence.analysis.summary import summarize
    from evidence.pages.render import build_page

    options = _WORKER["options"]
    assert isinstance(options, PageOptions)
    summary = summarize(_WORKER["table"], name, **options.summary)
    return summary.condition, build_page(summary, options.templates)
