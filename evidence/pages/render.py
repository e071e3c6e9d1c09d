"""Evidence paragraphs and condition pages from a :class:`~evidence.analysis.summary.Summary`.

The wording is in Jinja2 templates (``evidence/pages/templates/``; the variables
each one receives are in ``docs/templates.md``); this module only sets up
the environments, the small formatting helpers templates call, and the
forest plot.  Choices that matter to callers:

* One environment per output format.  The HTML environment autoescapes
  *every* template, including the shared wording macros it imports, so a
  title containing ``<script>`` is shown as text.  The Markdown environment
  backslash-escapes Markdown's special characters in every value for the same reason (its
  autoescape is on with a Markdown ``finalize``; see :func:`_escape_markdown`).
  The text environment escapes nothing.
* ``StrictUndefined``: a misspelt variable is an error, never a blank.
* ``--templates DIR`` puts a folder in front of the packaged templates, so a
  writer overrides one file and keeps the rest.  Any error in a template
  (syntax, an undefined name) becomes an :class:`EvidenceError` naming the
  template file and line.
* A forest plot per comparison is an SVG made with matplotlib with a fixed
  hash salt, no date and text kept as text, so the same library gives
  byte-identical files; every text in it is literal (no mathtext, no TeX).
"""

from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from evidence.defaults import DEFAULT_CITATIONS, DEFAULT_METHOD, DEFAULT_STYLE
from evidence.errors import EvidenceError

if TYPE_CHECKING:
    import jinja2
    import pandas as pd

    from evidence.analysis.certainty import Thresholds
    from evidence.analysis.summary import Summary
    from evidence.progress import ProgressCallback

FORMATS = ("markdown", "text", "html", "json")
PAGE_FORMATS = ("markdown", "html")
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
PARAGRAPH_TEMPLATES = {"markdown": "paragraph.md.j2", "text": "paragraph.txt.j2", "html": "paragraph.html.j2"}
PAGE_TEMPLATES = {"markdown": "page.md.j2", "html": "page.html.j2"}
SVG_SALT = "evidence-forest-plot"


@dataclass(frozen=True)
class RenderedPage:
    """The files of one condition page: name -> text, written side by side."""

    slug: str
    files: tuple[tuple[str, str], ...]


def render_paragraph(summary: "Summary", fmt: str = "markdown", templates: Path | None = None) -> str:
    """The evidence paragraph in ``fmt`` (``markdown``, ``text``, ``html`` or ``json``)."""
    if fmt == "json":
        from evidence.analysis.summary import as_dict

        return json.dumps(as_dict(summary), indent=2, ensure_ascii=False) + "\n"
    if fmt not in PARAGRAPH_TEMPLATES:
        raise EvidenceError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    return render_template(PARAGRAPH_TEMPLATES[fmt], fmt, context(summary, fmt), templates)


def render_page(
    summary: "Summary", fmt: str, plots: "list[ForestPlot] | None" = None, templates: Path | None = None
) -> str:
    """A whole condition page; the Markdown page links each plot's file, the HTML page inlines its SVG."""
    if fmt not in PAGE_TEMPLATES:
        raise EvidenceError(f"unknown page format {fmt!r}; expected one of: {', '.join(PAGE_FORMATS)}")
    values = context(summary, fmt)
    values["plots"] = [
        {"plot": plot, "comparison": plot.comparison, "file": plot.file, "svg": _inline_svg(plot.svg, fmt)}
        for plot in plots or []
    ]
    return render_template(PAGE_TEMPLATES[fmt], fmt, values, templates)


def build_page(summary: "Summary", templates: Path | None = None) -> RenderedPage:
    """The Markdown page, the HTML page and a forest plot per comparison for one summary."""
    plots = forest_plots(summary)
    files = [
        (f"{summary.slug}.md", render_page(summary, "markdown", plots, templates)),
        (f"{summary.slug}.html", render_page(summary, "html", plots, templates)),
    ]
    files += [(plot.file, plot.svg) for plot in plots]
    return RenderedPage(summary.slug, tuple(files))


def write_page(page: RenderedPage, out: Path) -> list[Path]:
    """Write a page's files into ``out`` (created if needed); only rewrite files that changed."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in page.files:
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def render_conditions(
    table: "pd.DataFrame",
    names: Iterable[str],
    out: Path,
    *,
    method: str = DEFAULT_METHOD,
    style: str = DEFAULT_STYLE,
    citations: str = DEFAULT_CITATIONS,
    templates: Path | None = None,
    progress: "ProgressCallback | None" = None,
    outcomes: "pd.DataFrame | None" = None,
    outcome: str | None = None,
    comparator: str | None = None,
    measure: str | None = None,
    hksj: bool = False,
    thresholds: "Thresholds | None" = None,
) -> list[Path]:
    """Summarise and write a page per condition; returns the files written.

    Two conditions whose pages would have the same file name are an
    :class:`EvidenceError` naming both, before anything is written: one page
    must never silently replace another.
    """
    from evidence.analysis.certainty import DEFAULT_THRESHOLDS
    from evidence.analysis.summary import summarize

    names = list(names)
    summaries = []
    for number, name in enumerate(names):
        if progress:
            progress(f"rendering {name}", number, len(names))
        summaries.append(
            summarize(
                table,
                name,
                method=method,
                style=style,
                citations=citations,
                outcomes=outcomes,
                outcome=outcome,
                comparator=comparator,
                measure=measure,
                hksj=hksj,
                thresholds=thresholds or DEFAULT_THRESHOLDS,
            )
        )
    check_unique_slugs((summary.slug, summary.condition) for summary in summaries)
    written: list[Path] = []
    for summary in summaries:
        written += write_page(build_page(summary, templates), out)
    return written


def check_unique_slugs(pages: Iterable[tuple[str, str]]) -> None:
    """Refuse two conditions whose pages share a file name (``(slug, condition)`` pairs): one must never
    silently replace the other."""
    seen: dict[str, str] = {}
    for slug, condition in pages:
        other = seen.setdefault(slug, condition)
        if other != condition:
            raise EvidenceError(
                f"conditions {other!r} and {condition!r} would both be written to {slug}.md; "
                "render them one at a time with different --out folders"
            )


# --- templates ----------------------------------------------------------------


def environment(fmt: str, templates: Path | None = None) -> "jinja2.Environment":
    """The Jinja2 environment for a format: user folder first, then the packaged templates."""
    import jinja2

    if templates is not None and not templates.is_dir():
        raise EvidenceError(f"templates folder not found: {templates}")
    folders = ([str(templates)] if templates is not None else []) + [str(TEMPLATE_DIR)]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        autoescape=fmt in ("html", "markdown"),
        finalize=_escape_markdown if fmt == "markdown" else None,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_template(name: str, fmt: str, values: dict[str, Any], templates: Path | None = None) -> str:
    """Render one template; any template error becomes an EvidenceError with file and line."""
    import jinja2

    env = environment(fmt, templates)
    try:
        return env.get_template(name).render(values)
    except jinja2.TemplateSyntaxError as error:
        where = f"{error.filename or error.name}:{error.lineno}"
        raise EvidenceError(f"{where}: template error: {error.message}") from None
    except jinja2.TemplateNotFound as error:
        raise EvidenceError(f"template not found: {error.name}") from None
    except (jinja2.UndefinedError, TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        raise EvidenceError(f"{_template_location(error)}: template error: {error}") from None


def _template_location(error: BaseException) -> str:
    """The innermost template frame of a render-time error, as ``file:line``."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith(".j2")]
    if not frames:
        return "template"
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno}"


def context(summary: "Summary", fmt: str) -> dict[str, Any]:
    """The variables every template receives (documented in docs/templates.md)."""
    labels = {ref.key: ref.label for ref in summary.references}
    numbered = summary.citation_mode == "numbered"

    def cite(item: Any) -> Any:
        label = labels[item.key]
        if not numbered:
            return f"({label})"
        if fmt == "html":
            from markupsafe import Markup, escape

            return Markup(f'<sup><a href="#ref-{escape(item.key)}">{escape(label)}</a></sup>')
        if fmt == "markdown":
            from markupsafe import Markup

            return Markup("[") + _escape_markdown(label) + Markup("]")  # a citation mark, not a link
        return f"[{label}]"

    def name(item: Any) -> str:
        """A study named and cited: ``Shi 2003 [1]`` (numbered) or ``Shi and Wang 2003`` (author-year)."""
        if not numbered:
            return labels[item.key]
        if fmt == "html":
            from markupsafe import escape

            return escape(item.label) + cite(item)
        if fmt == "markdown":
            from markupsafe import Markup

            return _escape_markdown(item.label) + Markup(" ") + cite(item)
        return f"{item.label} {cite(item)}"

    every: list[Any] = [*summary.studies, *summary.reviews]
    items: dict[str, Any] = {item.key: item for item in every}
    return {
        "summary": summary,
        "items": items,
        "cite": cite,
        "name": name,
        "numbered": numbered,
        "format": fmt,
    }


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>!|#])")


def _escape_markdown(value: Any) -> Any:
    """Markdown's escaping: every character with a meaning in Markdown (``\\ ` * _ [ ] < > ! | #``)
    backslashed, the result marked safe, so ``![t](http://...)`` in a title stays text and a ``|``
    cannot break a table.

    The Markdown environment turns autoescape on with this as ``finalize``, so
    values are escaped once for Markdown (not for HTML) and the output of
    macros and filters that is already safe is left alone.
    """
    from markupsafe import Markup

    if hasattr(value, "__html__"):
        return value
    return Markup(_MARKDOWN_SPECIAL.sub(r"\\\1", str(value)))


def squash(text: Any) -> Any:
    """Collapse runs of whitespace to one space, so wording can be written over several lines."""
    from markupsafe import Markup

    squashed = re.sub(r"\s+", " ", str(text)).strip()
    return Markup(squashed) if hasattr(text, "__html__") else squashed


# --- filters -------------------------------------------------------------------


def pct(value: float | None, decimals: int = 1) -> str:
    """A computed percentage: ``67.5%``."""
    return "not available" if value is None else f"{value:.{decimals}f}%"


def num(value: float | int | None) -> str:
    """A number as recorded, without invented precision: ``70``, ``47.8``."""
    if value is None:
        return "not available"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def fixed(value: float | None, decimals: int = 2) -> str:
    return "not available" if value is None else f"{value:.{decimals}f}"


def thousands(value: float | int | None) -> str:
    """A count with thousands separators, as GRADE tables write them: ``1,471``."""
    if value is None:
        return "not available"
    return f"{round(value):,}" if isinstance(value, float) else f"{value:,}"


def per1000(value: float | None) -> str:
    """A risk per 1,000, rounded to a whole person: ``531``."""
    return "not available" if value is None else f"{round(value):,}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 study``, ``2 studies``."""
    word = singular if count == 1 else (plural_form or _plural_of(singular))
    return f"{count} {word}"


def _plural_of(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy")):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def join_and(items: Iterable[Any], word: str = "and") -> Any:
    """``a``, ``a and b``, ``a, b and c`` (or ``a or b`` with ``word="or"``); stays Markup (safe) when any
    item is Markup."""
    from markupsafe import Markup

    parts: list[Any] = list(items)
    comma: Any
    last: Any
    empty: Any
    if any(isinstance(p, Markup) for p in parts):
        parts = [Markup.escape(p) for p in parts]
        comma, last, empty = Markup(", "), Markup(f" {Markup.escape(word)} "), Markup("")
    else:
        parts = [str(p) for p in parts]
        comma, last, empty = ", ", f" {word} ", ""
    if len(parts) < 2:
        return parts[0] if parts else empty
    return comma.join(parts[:-1]) + last + parts[-1]


def upper_first(text: str) -> str:
    """First letter capitalised, the rest untouched (``COVID-19`` stays as written)."""
    return text[:1].upper() + text[1:]


def bound_words(bound: str | None) -> str:
    """``>=`` -> ``at least``; ``<=`` -> ``at most``; anything else -> ``""``."""
    return {">=": "at least", "<=": "at most"}.get(bound or "", "")


_ALLOWED_TAG = re.compile(
    r'^</?(?:i|b|u|em|strong|sup|sub|l)>$|^<span style="[a-z\-:; ]*">$|^</span>$|^<a href="https?://[^"<>]*">$|^</a>$'
)
_TAG = re.compile(r"<[^<>]*>|[<>]")


def safe_reference(html: str) -> Any:
    """citeproc's HTML for one reference, keeping only its formatting tags.

    citeproc escapes field text itself; anything that still looks like a tag
    and is not italic, bold, super/subscript, small caps or a web link is
    escaped, so a reference can never inject markup into a page.
    """
    from markupsafe import Markup, escape

    def keep(match: re.Match[str]) -> str:
        tag = match.group(0)
        return tag if _ALLOWED_TAG.match(tag) else str(escape(tag))

    return Markup(_TAG.sub(keep, str(html)))


FILTERS: dict[str, Callable[..., Any]] = {
    "pct": pct,
    "num": num,
    "fixed": fixed,
    "plural": plural,
    "thousands": thousands,
    "per1000": per1000,
    "join_and": join_and,
    "bound_words": bound_words,
    "squash": squash,
    "upper_first": upper_first,
    "safe_reference": safe_reference,
}


# --- forest plot ---------------------------------------------------------------

#: The plot's text size in SVG units (pt): 11 pt is 14.7 CSS px at the plot's natural size, at least the
#: page's small print (0.9rem = 14.4 px); the figure is narrower than the page so it is never scaled down.
PLOT_FONT_SIZE = 11
PLOT_WIDTH_INCHES = 7.5
RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
FINE_RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100)
#: More coarse ratio ticks than this run into each other on the plot's axis (2.85 in): a wider range gets decades.
MAX_RATIO_TICKS = 8
DECADE_TICKS = (0.01, 0.1, 1, 10, 100)
#: The most studies a forest plot draws. A plot of thousands of rows (a third of an inch each) is metres tall and
#: nobody reads it, while drawing it cost a big page most of its time; past this many the plot shows studies spread
#: evenly over the range of their estimates (:func:`shown_rows`), its caption says so, and every study's estimate
#: stays in "Methods and statistics".
PLOT_MAX_STUDIES = 100


@dataclass(frozen=True)
class PlotRow:
    """One line of a forest plot, on the measure's natural scale.

    ``kind`` is ``study`` (a square sized by ``weight``, percent) or ``pooled``
    (a diamond; ``pi_lb``/``pi_ub`` its prediction interval when there is one).
    """

    label: str
    estimate: float
    low: float
    high: float
    kind: str
    weight: float | None = None
    pi_lb: float | None = None
    pi_ub: float | None = None


@dataclass(frozen=True)
class ForestPlot:
    """A comparison's forest plot: the SVG, its file name, and what it shows (for the caption).

    ``studies`` counts the study rows the comparison has, ``shown`` those drawn (fewer only past
    :data:`PLOT_MAX_STUDIES`) and ``shown_weight`` their share of the weight in percent (``None`` when all
    are drawn); the pooled estimate is always from every study.
    """

    file: str
    svg: str
    comparison: Any
    log_scale: bool
    null: float
    pooled: bool
    prediction_interval: bool
    studies: int = 0
    shown: int = 0
    shown_weight: float | None = None


def plot_rows(comparison: Any) -> list[PlotRow]:
    """The pooled studies in the comparison's order, then the pooled estimate (only when k >= 2)."""
    pooled = comparison.pooled
    if pooled is None:
        return []
    rows = [
        PlotRow(s.arm_label, s.effect.estimate, s.effect.ci_lb, s.effect.ci_ub, "study", s.effect.weight)
        for s in comparison.studies
        if s.effect is not None
    ]
    if pooled.k >= 2:
        has_pi = pooled.method != "fixed" and (pooled.pi_lb, pooled.pi_ub) != (pooled.ci_lb, pooled.ci_ub)
        rows.append(
            PlotRow(
                f"Pooled ({comparison.method.upper() if comparison.method != 'fixed' else 'fixed effect'}"
                f"{', HKSJ' if comparison.hksj else ''})",
                pooled.estimate,
                pooled.ci_lb,
                pooled.ci_ub,
                "pooled",
                pi_lb=pooled.pi_lb if has_pi else None,
                pi_ub=pooled.pi_ub if has_pi else None,
            )
        )
    return rows


def shown_rows(rows: list[PlotRow], limit: int = PLOT_MAX_STUDIES) -> list[PlotRow]:
    """The rows a plot draws: every row when there are at most ``limit`` studies, else ``limit`` studies spread
    evenly over the studies ranked by estimate (the lowest and the highest among them), in the comparison's
    order, and the pooled row.

    Evenly by rank, so the studies drawn spread as all of them do: the heaviest studies would be no fair
    sample, since with counts the studies with the smallest variance are those with the most events, and a
    page of thousands of near-equal weights drew only high estimates beside a pooled estimate below them.
    """
    studies = [index for index, row in enumerate(rows) if row.kind == "study"]
    if len(studies) <= limit:
        return rows
    ranked = sorted(studies, key=lambda index: (rows[index].estimate, index))
    last = len(ranked) - 1
    positions = [(last // 2)] if limit == 1 else [step * last // (limit - 1) for step in range(limit)]
    kept = {ranked[position] for position in positions}
    return [row for index, row in enumerate(rows) if row.kind != "study" or index in kept]


def forest_plots(summary: "Summary", limit: int = PLOT_MAX_STUDIES) -> list[ForestPlot]:
    """One forest plot per comparison that has a pooled effect, named ``<page slug>.forest-<n>.svg``
    (numbered in the page's order, so the names stay short); at most ``limit`` studies drawn in each."""
    plots: list[ForestPlot] = []
    for comparison in summary.comparisons:
        every = plot_rows(comparison)
        if not every:
            continue
        rows = shown_rows(every, limit)
        studies = sum(row.kind == "study" for row in every)
        shown = sum(row.kind == "study" for row in rows)
        shown_weight = sum(row.weight or 0.0 for row in rows if row.kind == "study") if shown < studies else None
        log_scale = comparison.measure in ("rr", "or")
        null = 1.0 if log_scale else 0.0
        axis = upper_first(comparison.measure_name) + (" (log scale)" if log_scale else "")
        svg = forest_plot_svg(rows, log_scale, null, f"{comparison.measure_label} [95% CI]", axis)
        pooled_row = rows[-1] if rows[-1].kind == "pooled" else None
        plots.append(
            ForestPlot(
                file=f"{summary.slug}.forest-{len(plots) + 1}.svg",
                svg=svg,
                comparison=comparison,
                log_scale=log_scale,
                null=null,
                pooled=pooled_row is not None,
                prediction_interval=pooled_row is not None and pooled_row.pi_lb is not None,
                studies=studies,
                shown=shown,
                shown_weight=shown_weight,
            )
        )
    return plots


def forest_plot_svg(rows: list[PlotRow], log_scale: bool, null: float, heading: str, axis_label: str = "") -> str:
    """A forest plot as SVG text: deterministic (fixed hash salt, no date) with text kept as text.

    Every text is literal: mathtext and TeX are off for each one, so a ``$`` in a
    study's name is drawn as a dollar sign (and deep ``${...}$`` nesting cannot
    recurse).
    """
    import io
    import warnings

    import matplotlib
    from matplotlib.figure import Figure

    settings: Any = {
        "svg.hashsalt": SVG_SALT,
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": PLOT_FONT_SIZE,
        "text.usetex": False,
        "text.parse_math": False,
        "axes.formatter.use_mathtext": False,
    }
    height = 0.36 * (len(rows) + 1) + 1.1
    with matplotlib.rc_context(settings):
        figure = Figure(figsize=(PLOT_WIDTH_INCHES, height))
        axes = figure.add_axes((0.3, 0.85 / height, 0.38, 1 - 0.85 / height - 0.45 / height))
        _draw_rows(axes, rows, log_scale, null, heading)
        if axis_label:
            axes.set_xlabel(axis_label, **_literal())
        buffer = io.StringIO()
        with warnings.catch_warnings():
            # Text stays text in the SVG (the reader's browser picks the font), so a glyph
            # DejaVu Sans lacks only affects matplotlib's layout estimate: not worth a warning.
            warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
            figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _literal(**kwargs: Any) -> dict[str, Any]:
    """Text options that draw a string exactly as written."""
    return {"parse_math": False, "usetex": False, **kwargs}


#: Where each text column of a forest plot stands: the axes' edge (0 left, 1 right), the offset from it in
#: points and the alignment. Study names sit left of the plot; estimates and weights right of it.
_TEXT_COLUMNS = {"study": (0, -8, "right"), "estimate": (1, 8, "left"), "weight": (1, 165, "right")}


def _column_text(axes: Any, column: str, text: str, y: float, **extra: Any) -> None:
    """Write ``text`` literally in one of the plot's text columns at height ``y``."""
    edge, offset, align = _TEXT_COLUMNS[column]
    axes.annotate(
        text,
        (edge, y),
        xycoords=("axes fraction", "data"),
        xytext=(offset, 0),
        textcoords="offset points",
        ha=align,
        va="center",
        **_literal(**extra),
    )


def _draw_rows(axes: Any, rows: list[PlotRow], log_scale: bool, null: float, heading: str) -> None:
    from matplotlib.ticker import NullFormatter, NullLocator

    count = len(rows)
    values = [v for row in rows for v in (row.low, row.high, row.pi_lb, row.pi_ub) if v is not None]
    low, high = _limits(values + [null], log_scale)
    largest = max((row.weight or 0.0 for row in rows), default=0.0) or 1.0
    for index, row in enumerate(rows):
        y = count - index
        shown_low, shown_high = max(row.low, low), min(row.high, high)
        axes.plot([shown_low, shown_high], [y, y], color="black", linewidth=1)
        if row.kind == "pooled":
            if row.pi_lb is not None and row.pi_ub is not None:
                axes.plot([max(row.pi_lb, low), min(row.pi_ub, high)], [y, y], color="#1f4e79", linewidth=1)
                axes.plot([max(row.pi_lb, low)] * 2, [y - 0.12, y + 0.12], color="#1f4e79", linewidth=1)
                axes.plot([min(row.pi_ub, high)] * 2, [y - 0.12, y + 0.12], color="#1f4e79", linewidth=1)
            axes.fill([row.low, row.estimate, row.high, row.estimate], [y, y + 0.3, y, y - 0.3], color="#1f4e79")
        else:
            size = 4 + 8 * ((row.weight or 0.0) / largest) ** 0.5
            axes.plot(
                [row.estimate],
                [y],
                linestyle="none",
                marker="s",
                markersize=size,
                markerfacecolor="#1f4e79",
                markeredgecolor="#1f4e79",
                clip_on=False,
            )
        _column_text(axes, "study", row.label, y)
        right = f"{row.estimate:.2f} [{row.low:.2f}, {row.high:.2f}]"
        _column_text(axes, "estimate", right, y)
        if row.weight is not None:
            _column_text(axes, "weight", _weight_label(row.weight), y)
    top = count + 0.9
    _column_text(axes, "study", "Study", top, weight="bold")
    _column_text(axes, "estimate", heading, top, weight="bold")
    _column_text(axes, "weight", "Weight", top, weight="bold")
    axes.axvline(null, color="#555555", linewidth=0.8)
    if log_scale:
        axes.set_xscale("log")
    axes.set_xlim(low, high)
    ticks = _ticks(low, high, log_scale)
    axes.set_xticks(ticks, labels=[_tick_label(t) for t in ticks])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_minor_formatter(NullFormatter())
    for label in axes.get_xticklabels():
        label.set_parse_math(False)
    axes.set_ylim(0.4, count + 1.3)
    axes.set_yticks([])
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)


def _limits(values: list[float], log_scale: bool) -> tuple[float, float]:
    """The x range: every interval and no effect, padded; ratios capped to 0.01..100."""
    import math

    finite = [v for v in values if math.isfinite(v) and (v > 0 or not log_scale)]
    low, high = min(finite), max(finite)
    if log_scale:
        low, high = max(low / 1.15, 0.01), min(high * 1.15, 100.0)
        return low, high
    pad = (high - low) * 0.08 or 1.0
    return low - pad, high + pad


def _ticks(low: float, high: float, log_scale: bool) -> list[float]:
    """Round ticks inside the range: the coarse ratio ticks, or the fine ones when fewer than 3 fit."""
    if log_scale:
        ticks = [t for t in RATIO_TICKS if low <= t <= high]
        if len(ticks) > MAX_RATIO_TICKS:  # a wide range: the labels would run into each other on the narrow axis
            return [t for t in DECADE_TICKS if low <= t <= high]
        return ticks if len(ticks) >= 3 else [t for t in FINE_RATIO_TICKS if low <= t <= high]
    from matplotlib.ticker import MaxNLocator

    return [t for t in MaxNLocator(nbins=5).tick_values(low, high) if low <= t <= high]


def _weight_label(weight: float) -> str:
    """A study's weight in percent: one decimal, or two significant digits below 0.1% (a comparison of
    thousands of studies gives each a few hundredths of a percent, which one decimal shows as 0.0%)."""
    return f"{weight:.1f}%" if weight >= 0.1 or weight == 0 else f"{weight:.2g}%"


def _tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def _inline_svg(svg: str, fmt: str) -> Any:
    """The SVG without its XML prolog, marked safe for inlining in HTML (we made it ourselves)."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    if fmt == "html":
        from markupsafe import Markup

        return Markup(body)
    return body
