"""Evidence paragraphs and condition pages from a :class:`~evidence.analysis.summary.Summary`.

The wording is in Jinja2 templates (``evidence/pages/templates/``; the variables
each one receives are in ``docs/templates.md``); this module only sets up
the environments, the small formatting helpers templates call, and the
forest plot.  Choices that matter to callers:

* One environment per output format.  The HTML environment autoescapes
  *every* template, including the shared wording macros it imports, so a
  title containing ``<script>`` is shown as text.  The Markdown environment
  backslash-escapes ``<`` and ``>`` in every value for the same reason (its
  autoescape is on with a Markdown ``finalize``; see :func:`_escape_markdown`).
  The text environment escapes nothing.
* ``StrictUndefined``: a misspelt variable is an error, never a blank.
* ``--templates DIR`` puts a folder in front of the packaged templates, so a
  writer overrides one file and keeps the rest.  Any error in a template
  (syntax, an undefined name) becomes an :class:`EvidenceError` naming the
  template file and line.
* The forest plot is an SVG made with matplotlib with a fixed hash salt, no
  date and text kept as text, so the same library gives byte-identical
  files.
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

    from evidence.progress import ProgressCallback
    from evidence.analysis.summary import Summary

FORMATS = ("markdown", "text", "html", "json")
PAGE_FORMATS = ("markdown", "html")
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
PARAGRAPH_TEMPLATES = {"markdown": "paragraph.md.j2", "text": "paragraph.txt.j2", "html": "paragraph.html.j2"}
PAGE_TEMPLATES = {"markdown": "page.md.j2", "html": "page.html.j2"}
SVG_SALT = "evidence-forest-plot"


@dataclass(frozen=True)
class Page:
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
    summary: "Summary", fmt: str, plot_svg: str | None, templates: Path | None = None
) -> str:
    """A whole condition page; the Markdown page links ``<slug>.svg``, the HTML page inlines ``plot_svg``."""
    if fmt not in PAGE_TEMPLATES:
        raise EvidenceError(f"unknown page format {fmt!r}; expected one of: {', '.join(PAGE_FORMATS)}")
    values = context(summary, fmt)
    values["plot_file"] = f"{summary.slug}.svg" if plot_svg else None
    values["plot_svg"] = _inline_svg(plot_svg, fmt) if plot_svg else None
    return render_template(PAGE_TEMPLATES[fmt], fmt, values, templates)


def build_page(summary: "Summary", templates: Path | None = None) -> Page:
    """The Markdown page, the HTML page and the plot for one summary."""
    svg = forest_plot_svg(summary)
    files = [
        (f"{summary.slug}.md", render_page(summary, "markdown", svg, templates)),
        (f"{summary.slug}.html", render_page(summary, "html", svg, templates)),
    ]
    if svg:
        files.append((f"{summary.slug}.svg", svg))
    return Page(summary.slug, tuple(files))


def write_page(page: Page, out: Path) -> list[Path]:
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
) -> list[Path]:
    """Summarise and write a page per condition; returns the files written."""
    from evidence.analysis.summary import summarize

    names = list(names)
    written: list[Path] = []
    for number, name in enumerate(names):
        if progress:
            progress(f"rendering {name}", number, len(names))
        summary = summarize(table, name, method=method, style=style, citations=citations)
        written += write_page(build_page(summary, templates), out)
    return written


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

    def cite(item: Any) -> str:
        label = labels[item.key]
        if not numbered:
            return f"({label})"
        if fmt == "html":
            from markupsafe import Markup, escape

            return Markup(f'<sup><a href="#ref-{escape(item.key)}">{escape(label)}</a></sup>')
        return f"[{label}]"

    def name(item: Any) -> str:
        """A study named and cited: ``Shi 2003 [1]`` (numbered) or ``Shi and Wang 2003`` (author-year)."""
        if not numbered:
            return labels[item.key]
        if fmt == "html":
            from markupsafe import escape

            return escape(item.label) + cite(item)
        return f"{item.label} {cite(item)}"

    items = {item.key: item for item in (*summary.studies, *summary.reviews)}
    return {
        "summary": summary,
        "items": items,
        "cite": cite,
        "name": name,
        "numbered": numbered,
        "format": fmt,
    }


def _escape_markdown(value: Any) -> Any:
    """Markdown's escaping: ``<`` and ``>`` backslashed, the result marked safe.

    The Markdown environment turns autoescape on with this as ``finalize``, so
    values are escaped once for Markdown (not for HTML) and the output of
    macros and filters that is already safe is left alone.
    """
    from markupsafe import Markup

    if hasattr(value, "__html__"):
        return value
    return Markup(re.sub(r"([<>])", r"\\\1", str(value)))


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


def join_and(items: Iterable[Any]) -> Any:
    """``a``, ``a and b``, ``a, b and c``; stays Markup (safe) when any item is Markup."""
    from markupsafe import Markup

    parts = list(items)
    if any(isinstance(p, Markup) for p in parts):
        parts = [Markup.escape(p) for p in parts]
        comma, last, empty = Markup(", "), Markup(" and "), Markup("")
    else:
        parts = [str(p) for p in parts]
        comma, last, empty = ", ", " and ", ""
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
    "join_and": join_and,
    "bound_words": bound_words,
    "squash": squash,
    "upper_first": upper_first,
    "safe_reference": safe_reference,
}


# --- forest plot ---------------------------------------------------------------


@dataclass(frozen=True)
class PlotRow:
    """One line of the forest plot, in percent."""

    label: str
    rate: float
    low: float
    high: float
    kind: str  # "study", "published", "review", "pooled"
    weight: float = 1.0


def plot_rows(summary: "Summary") -> list[PlotRow]:
    """Studies with an interval, reviews' published pooled values, then the pooled estimate."""
    rows = []
    largest = max((s.n or 0 for s in summary.counted), default=1) or 1
    for study in summary.counted:
        rows.append(PlotRow(study.label, study.rate, study.ci.low, study.ci.high, "study", (study.n or 0) / largest))  # type: ignore[union-attr,arg-type]
    for study in summary.rated:
        if study.ci is not None and study.rate is not None:
            rows.append(PlotRow(f"{study.label} (published CI)", study.rate, study.ci.low, study.ci.high, "published"))
    for review in summary.reviews:
        if review.ci is not None and review.rate is not None and review.rate_bound in (None, "="):
            rows.append(PlotRow(f"{review.label} ({review.design_label}, published)", review.rate, review.ci.low, review.ci.high, "review"))
    if summary.pooled is not None:
        p = summary.pooled
        short = {"dl": "DL", "reml": "REML", "fixed": "fixed effect"}.get(p.method, p.method)
        rows.append(PlotRow(f"Pooled, {p.k} studies ({short})", p.rate, p.ci.low, p.ci.high, "pooled"))
    return rows


def forest_plot_svg(summary: "Summary") -> str | None:
    """The forest plot as SVG text, or ``None`` when nothing has an interval to plot."""
    rows = plot_rows(summary)
    if not rows:
        return None
    import io

    import matplotlib
    from matplotlib.figure import Figure

    settings = {"svg.hashsalt": SVG_SALT, "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9}
    with matplotlib.rc_context(settings):
        figure = Figure(figsize=(7.5, 0.42 * len(rows) + 1.1))
        axes = figure.add_axes((0.36, 0.8 / (0.42 * len(rows) + 1.1), 0.42, 1 - 1.0 / (0.42 * len(rows) + 1.1)))
        _draw_rows(axes, rows)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _draw_rows(axes: Any, rows: list[PlotRow]) -> None:
    count = len(rows)
    for index, row in enumerate(rows):
        y = count - index
        axes.plot([row.low, row.high], [y, y], color="black", linewidth=1)
        if row.kind == "pooled":
            axes.fill([row.low, row.rate, row.high, row.rate], [y, y + 0.3, y, y - 0.3], color="#1f4e79")
        elif row.kind == "review":
            axes.plot([row.rate], [y], linestyle="none", marker="D", markersize=7, markerfacecolor="white", markeredgecolor="#1f4e79", clip_on=False)
        else:
            size = 5 + 6 * row.weight if row.kind == "study" else 7
            face = "#1f4e79" if row.kind == "study" else "white"
            axes.plot([row.rate], [y], linestyle="none", marker="s", markersize=size, markerfacecolor=face, markeredgecolor="#1f4e79", clip_on=False)
        axes.annotate(row.label, (0, y), xycoords=("axes fraction", "data"), xytext=(-8, 0),
                      textcoords="offset points", ha="right", va="center")
        axes.annotate(f"{row.rate:.1f} [{row.low:.1f}, {row.high:.1f}]", (1, y), xycoords=("axes fraction", "data"),
                      xytext=(8, 0), textcoords="offset points", ha="left", va="center")
    axes.set_xlim(0, 100)
    axes.set_ylim(0.3, count + 0.7)
    axes.set_yticks([])
    axes.set_xlabel("Response rate, % (95% CI)")
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)


def _inline_svg(svg: str, fmt: str) -> Any:
    """The SVG without its XML prolog, marked safe for inlining in HTML (we made it ourselves)."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    if fmt == "html":
        from markupsafe import Markup

        return Markup(body)
    return body
