"""The data behind an evidence paragraph or a condition page: numbers, not prose.

:func:`summarize` turns the rows of the table for one condition into a
frozen :class:`Summary`.  Templates write the sentences; tests compare the
data.  Rules that keep the paragraph honest live here:

* Every entry for the condition is in the summary, in exactly one group:
  studies with counts (``counted``), with a reported exact rate but no
  counts (``rated``), with only a bound such as ">=70" (``bounded``),
  reviews and meta-analyses (``reviews``), and studies without usable
  numbers (``no_data``, each with the reason).  Nothing is dropped.
* Rates are percentages.  A rate from counts gets a Wilson 95% CI; a
  reported rate keeps its published CI or has none.  A bound is never
  turned into counts or an interval, and keeps its source and whether it
  was checked.
* Only studies with counts are pooled (two or more of them); reviews'
  published pooled values are reported as published and never re-pooled
  with the primary studies, whose patients they may include.
* Participants in all: each primary study's ``participants`` field, or
  ``n + control_n`` when that is missing, or ``n`` alone; studies with none
  of these are counted separately.  Reviews are not added (they overlap).

The groups are ordered, and the references numbered, in the order the
default paragraph mentions them: counted, rated, bounded, reviews, no_data;
within a group, in library order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evidence.analysis.certainty import Assessed, Certainty, assess
from evidence.defaults import CITATION_MODES, DEFAULT_CITATIONS, DEFAULT_METHOD, DEFAULT_STYLE
from evidence.errors import EvidenceError
from evidence.library.fields import REVIEW_DESIGNS
from evidence.analysis.stats import METHOD_NAMES, METHODS, Interval

if TYPE_CHECKING:
    import pandas as pd

DESIGN_LABELS = {
    "rct": "randomised controlled trial",
    "quasi-rct": "quasi-randomised controlled trial",
    "crossover": "randomised crossover trial",
    "cohort": "cohort study",
    "case-control": "case-control study",
    "case-series": "case series",
    "case-report": "case report",
    "systematic-review": "systematic review",
    "meta-analysis": "meta-analysis",
    "other": "other design",
    None: "design not recorded",
}


NO_DATA_REASONS = ("no-numbers", "n-zero", "responders-over-n", "responders-without-n", "n-without-responders")


@dataclass(frozen=True)
class RiskRatio:
    """Risk ratio of response, arm over control, with its 95% CI."""

    estimate: float
    ci: Interval
    corrected: bool


@dataclass(frozen=True)
class Study:
    """One primary study as the summary reports it.

    ``status`` is ``counts``, ``rate``, ``bound`` or ``no-data``; ``reason``
    says why a ``no-data`` study has no usable numbers, as one of
    :data:`NO_DATA_REASONS` (templates word it).  ``rate`` and ``ci``
    are percentages; ``ci_source`` is ``wilson`` (computed from counts),
    ``published`` or ``None``.  ``rate_bound`` is ``=``, ``>=`` or ``<=``.
    ``control_rate`` is computed from control counts when they exist.
    """

    key: str
    label: str
    citation: str
    title: str | None
    authors: str | None
    year: int | None
    design: str | None
    design_label: str
    country: str | None
    intervention: tuple[str, ...]
    comparator: tuple[str, ...]
    participants: int | None
    n: int | None
    responders: int | None
    rate: float | None
    rate_bound: str | None
    rate_source: str | None
    ci: Interval | None
    ci_source: str | None
    response_definition: str | None
    followup: str | None
    control_n: int | None
    control_responders: int | None
    control_rate: float | None
    risk_ratio: RiskRatio | None
    blinding: str | None
    data_source: str | None
    extracted_from: str | None
    verified: bool
    status: str
    reason: str | None


@dataclass(frozen=True)
class Review:
    """A systematic review or meta-analysis, with its values as published."""

    key: str
    label: str
    citation: str
    title: str | None
    authors: str | None
    year: int | None
    design: str
    design_label: str
    studies: int | None
    participants: int | None
    n: int | None
    control_n: int | None
    rate: float | None
    rate_bound: str | None
    ci: Interval | None
    control_rate: float | None
    response_definition: str | None
    intervention: tuple[str, ...]


@dataclass(frozen=True)
class Tally:
    """How many studies have one value of a column (``value`` None = not recorded)."""

    value: str | None
    label: str
    count: int
    keys: tuple[str, ...]


@dataclass(frozen=True)
class PooledRate:
    """The pooled response rate of all the studies with counts (``Summary.counted``), in percent.

    ``corrected_keys`` are the studies with 0 or all responders, which alone
    got the continuity correction.  ``tau2`` is on the logit scale.
    """

    method: str
    method_name: str
    k: int
    keys: tuple[str, ...]
    labels: tuple[str, ...]
    rate: float
    ci: Interval
    tau2: float
    i2: float | None
    q: float
    df: int
    responders: int
    n: int
    corrected_keys: tuple[str, ...]
    corrected_labels: tuple[str, ...]


@dataclass(frozen=True)
class BoundGroup:
    """Studies reported only with the same bound (e.g. ">=70") from the same source.

    ``source`` is the ``extracted_from`` text, said beside the figure;
    ``verified`` is true only if every study in the group was checked.
    """

    bound: str
    rate: float
    response_definition: str | None
    data_source: str | None
    source: str | None
    verified: bool
    studies: tuple["Study", ...]


@dataclass(frozen=True)
class Reference:
    """One item of the reference list: its citation label and formatted text."""

    key: str
    label: str
    text: str
    html: str


@dataclass(frozen=True)
class Summary:
    """Everything a paragraph or page about one condition may say."""

    condition: str
    query: str
    intervention: str | None
    slug: str
    method: str
    method_name: str
    style: str
    citation_mode: str
    entries: int
    studies: tuple[Study, ...]
    counted: tuple[Study, ...]
    rated: tuple[Study, ...]
    bounded: tuple[Study, ...]
    bound_groups: tuple[BoundGroup, ...]
    no_data: tuple[Study, ...]
    reviews: tuple[Review, ...]
    designs: tuple[Tally, ...]
    countries: tuple[Tally, ...]
    participants: int
    sized_studies: int
    unsized_studies: tuple[Study, ...]
    pooled: PooledRate | None
    certainty: Certainty
    references: tuple[Reference, ...]


def summarize(
    table: "pd.DataFrame",
    condition: str,
    intervention: str | None = None,
    method: str = DEFAULT_METHOD,
    style: str = DEFAULT_STYLE,
    citations: str = DEFAULT_CITATIONS,
) -> Summary:
    """The summary of every entry in ``table`` about ``condition`` (and ``intervention``).

    Raises :class:`EvidenceError` for an unknown condition (listing the known
    ones, closest first), an intervention no study of it has, an unknown
    method, citation mode or style.
    """
    if method not in METHODS:
        raise EvidenceError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    if citations not in CITATION_MODES:
        raise EvidenceError(f"unknown citation mode {citations!r}; expected one of: {', '.join(CITATION_MODES)}")
    rows, name = select_rows(table, condition, intervention)
    return build_summary(rows, name, condition, intervention, method, style, citations)


def select_rows(table: "pd.DataFrame", condition: str, intervention: str | None = None) -> tuple["pd.DataFrame", str]:
    """The rows about ``condition``, and the condition as the library spells it."""
    from evidence.analysis.query import Filters, apply_filters, closest, known_values, text_matches

    # A duplicate key is an error `evidence check` reports; its first entry is the one cited.
    table = table[~table.index.duplicated(keep="first")]
    rows = apply_filters(table, Filters(condition=condition))
    known = known_values(table, "condition")
    if rows.empty:
        near = closest(condition, known, n=len(known) or 1)
        ordered = near + [c for c in known if c not in near]
        listing = ", ".join(ordered) if ordered else "(none: no entry has a condition field)"
        raise EvidenceError(f"no studies of condition {condition!r}; known conditions, closest first: {listing}")
    matching = [c for c in known if text_matches(condition, c)]
    name = matching[0] if len(matching) == 1 else condition
    if intervention:
        narrowed = apply_filters(rows, Filters(intervention=intervention))
        if narrowed.empty:
            options = known_values(rows, "intervention")
            near = closest(intervention, options, n=len(options) or 1)
            ordered = near + [c for c in options if c not in near]
            raise EvidenceError(
                f"no studies of {name} with intervention {intervention!r}; "
                f"interventions studied, closest first: {', '.join(ordered) or '(none recorded)'}"
            )
        rows = narrowed
    return rows, name


def conditions(table: "pd.DataFrame") -> list[str]:
    """Every condition in the library, for ``render --all``; spellings that differ only in
    case or punctuation (and so would share a page) are listed once."""
    from evidence.analysis.query import known_values

    names: dict[str, str] = {}
    for name in known_values(table, "condition"):
        names.setdefault(slugify(name), name)
    return list(names.values())


def slugify(text: str) -> str:
    """A file name for a condition: ``Restless legs syndrome`` -> ``restless-legs-syndrome``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "condition"


def build_summary(
    rows: "pd.DataFrame",
    name: str,
    query: str,
    intervention: str | None,
    method: str,
    style: str,
    citations: str,
) -> Summary:
    """Assemble the summary from the selected rows (see the module doc for the rules)."""
    records = [_record(row) for _, row in rows.iterrows()]
    labels = _labels(records)
    review_rows = [r for r in records if r["design"] in REVIEW_DESIGNS]
    primary = [_study(r, labels[r["key"]]) for r in records if r["design"] not in REVIEW_DESIGNS]
    groups = {status: [s for s in primary if s.status == status] for status in ("counts", "rate", "bound", "no-data")}
    order = (
        [s.key for s in groups["counts"] + groups["rate"] + groups["bound"]]
        + [r["key"] for r in review_rows]
        + [s.key for s in groups["no-data"]]
    )
    references = _references(rows, order, style, citations)
    cite = {ref.key: ref.label for ref in references}

    def cited(study: Study) -> Study:
        return _replace(study, citation=cite[study.key])

    studies = tuple(cited(s) for s in groups["counts"] + groups["rate"] + groups["bound"] + groups["no-data"])
    by_status = {status: tuple(s for s in studies if s.status == status) for status in groups}
    reviews = tuple(_review(r, labels[r["key"]], cite[r["key"]]) for r in review_rows)
    pooled = _pooled(by_status["counts"], method)
    sized = [s for s in studies if s.participants is not None]
    assessed = by_status["counts"] + by_status["rate"] + by_status["bound"]
    return Summary(
        condition=name,
        query=query,
        intervention=intervention,
        slug=slugify(name if not intervention else f"{name} {intervention}"),
        method=method,
        method_name=METHOD_NAMES[method],
        style=style,
        citation_mode=citations,
        entries=len(records),
        studies=studies,
        counted=by_status["counts"],
        rated=by_status["rate"],
        bounded=by_status["bound"],
        bound_groups=_bound_groups(by_status["bound"]),
        no_data=by_status["no-data"],
        reviews=reviews,
        designs=_tally(studies, "design", lambda v: DESIGN_LABELS[v], by_design=True),
        countries=_tally(studies, "country", lambda v: v if v else "country not recorded"),
        participants=sum(s.participants for s in sized),  # type: ignore[misc]
        sized_studies=len(sized),
        unsized_studies=tuple(s for s in studies if s.participants is None),
        pooled=pooled,
        certainty=assess([_assessed(s) for s in assessed], _headline_width(by_status, pooled), pooled.i2 if pooled else None),
        references=references,
    )


def _record(row: Any) -> dict[str, Any]:
    """A table row as plain Python values (``None`` for missing)."""
    from evidence.analysis.formats import plain

    record = {name: plain(row[name]) for name in row.index if name != "raw"}
    record["design"] = record["design"] if isinstance(record["design"], str) else None
    return record


def _labels(records: list[dict[str, Any]]) -> dict[str, str]:
    """Author-year labels, ``Wang 1994``; equal labels get ``a``, ``b``, ... in library order."""
    base = {r["key"]: f"{r['first_author'] or r['key']} {r['year'] if r['year'] is not None else 'n.d.'}" for r in records}
    counts: dict[str, int] = {}
    for label in base.values():
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    labels = {}
    for key, label in base.items():
        if counts[label] > 1:
            labels[key] = label + "abcdefghijklmnopqrstuvwxyz"[seen.get(label, 0) % 26]
            seen[label] = seen.get(label, 0) + 1
        else:
            labels[key] = label
    return labels


def _study(r: dict[str, Any], label: str) -> Study:
    status, reason = _status(r)
    rate, ci, ci_source = _rate_and_ci(r, status)
    control_rate, rr = _control(r)
    return Study(
        key=r["key"],
        label=label,
        citation="",
        title=r["title"],
        authors=r["authors_display"],
        year=r["year"],
        design=r["design"],
        design_label=DESIGN_LABELS[r["design"]],
        country=r["country"],
        intervention=tuple(r["intervention"] or ()),
        comparator=tuple(r["comparator"] or ()),
        participants=_participants(r),
        n=r["n"],
        responders=r["responders"],
        rate=rate,
        rate_bound=r["response_rate_bound"] if status in ("rate", "bound", "counts") else None,
        rate_source=r["rate_source"] if status != "no-data" else None,
        ci=ci,
        ci_source=ci_source,
        response_definition=r["response_definition"],
        followup=r["followup"],
        control_n=r["control_n"],
        control_responders=r["control_responders"],
        control_rate=control_rate,
        risk_ratio=rr,
        blinding=r["blinding"],
        data_source=r["data_source"],
        extracted_from=r["extracted_from"],
        verified=bool(r["verified_by"]),
        status=status,
        reason=reason,
    )


def _status(r: dict[str, Any]) -> tuple[str, str | None]:
    """Which group a primary study belongs to, and why it has no numbers if so."""
    n, x, rate, bound = r["n"], r["responders"], r["response_rate"], r["response_rate_bound"]
    if n is not None and x is not None and 0 < n and 0 <= x <= n:
        return "counts", None
    if rate is not None and bound in (">=", "<="):
        return "bound", None
    if rate is not None and r["rate_source"] == "reported":
        return "rate", None
    if n == 0:
        return "no-data", "n-zero"
    if n is not None and x is not None:
        return "no-data", "responders-over-n"
    if x is not None:
        return "no-data", "responders-without-n"
    if n is not None:
        return "no-data", "n-without-responders"
    return "no-data", "no-numbers"


def _rate_and_ci(r: dict[str, Any], status: str) -> tuple[float | None, Interval | None, str | None]:
    from evidence.analysis.stats import wilson_interval

    if status == "counts":
        interval = wilson_interval(r["responders"], r["n"])
        return 100.0 * r["responders"] / r["n"], _percent(interval), "wilson"
    if status in ("rate", "bound"):
        published = _published_ci(r) if status == "rate" else None
        return r["response_rate"], published, "published" if published else None
    return None, None, None


def _published_ci(r: dict[str, Any]) -> Interval | None:
    low, high = r["response_rate_ci_low"], r["response_rate_ci_high"]
    return Interval(low, high) if low is not None and high is not None else None


def _control(r: dict[str, Any]) -> tuple[float | None, RiskRatio | None]:
    from evidence.analysis.stats import risk_ratio

    n, x, cn, cx = r["n"], r["responders"], r["control_n"], r["control_responders"]
    if cn and cx is not None and 0 <= cx <= cn:
        control_rate = 100.0 * cx / cn
        if n and x is not None and 0 <= x <= n:
            found = risk_ratio(x, n, cx, cn)
            if found is not None:
                return control_rate, RiskRatio(found.estimate, found.ci, found.corrected)
        return control_rate, None
    return r["control_response_rate"], None


def _participants(r: dict[str, Any]) -> int | None:
    if r["participants"] is not None:
        return r["participants"]
    if r["n"] is not None and r["control_n"] is not None:
        return r["n"] + r["control_n"]
    return r["n"]


def _review(r: dict[str, Any], label: str, citation: str) -> Review:
    return Review(
        key=r["key"],
        label=label,
        citation=citation,
        title=r["title"],
        authors=r["authors_display"],
        year=r["year"],
        design=r["design"],
        design_label=DESIGN_LABELS[r["design"]],
        studies=r["studies"],
        participants=r["participants"],
        n=r["n"],
        control_n=r["control_n"],
        rate=r["response_rate"],
        rate_bound=r["response_rate_bound"],
        ci=_published_ci(r),
        control_rate=r["control_response_rate"],
        response_definition=r["response_definition"],
        intervention=tuple(r["intervention"] or ()),
    )


def _pooled(counted: tuple[Study, ...], method: str) -> PooledRate | None:
    """The pooled rate of the studies with counts; ``None`` with fewer than 2 of them."""
    from evidence.analysis.stats import pool_proportions

    if len(counted) < 2:
        return None
    result = pool_proportions([(s.responders, s.n) for s in counted], method)  # type: ignore[misc]
    return PooledRate(
        method=method,
        method_name=METHOD_NAMES[method],
        k=result.k,
        keys=tuple(s.key for s in counted),
        labels=tuple(s.label for s in counted),
        rate=100.0 * result.estimate,
        ci=_percent(result.ci),
        tau2=result.tau2,
        i2=result.i2,
        q=result.q,
        df=result.df,
        responders=sum(s.responders for s in counted),  # type: ignore[misc]
        n=sum(s.n for s in counted),  # type: ignore[misc]
        corrected_keys=tuple(s.key for s, c in zip(counted, result.corrected) if c),
        corrected_labels=tuple(s.label for s, c in zip(counted, result.corrected) if c),
    )


def _bound_groups(bounded: tuple[Study, ...]) -> tuple[BoundGroup, ...]:
    """Bounded studies grouped by bound, value, definition and source, in order of first appearance."""
    groups: dict[tuple[Any, ...], list[Study]] = {}
    for study in bounded:
        groups.setdefault((study.rate_bound, study.rate, study.response_definition, study.data_source, study.extracted_from), []).append(study)
    return tuple(
        BoundGroup(bound, rate, definition, source_kind, source, all(s.verified for s in members), tuple(members))
        for (bound, rate, definition, source_kind, source), members in groups.items()
    )


def _headline_width(by_status: dict[str, tuple[Study, ...]], pooled: PooledRate | None) -> float | None:
    """Width of the CI the certainty rules judge: pooled, the only study's, or the widest published."""
    if pooled is not None:
        return pooled.ci.high - pooled.ci.low
    with_ci = [s.ci for s in by_status["counts"] + by_status["rate"] if s.ci is not None]
    if not with_ci:
        return None
    return max(ci.high - ci.low for ci in with_ci)


def _assessed(study: Study) -> Assessed:
    return Assessed(study.key, study.label, study.design, study.blinding, study.data_source, study.participants)


def _tally(studies: tuple[Study, ...], attribute: str, label: Any, by_design: bool = False) -> tuple[Tally, ...]:
    """Counts per value; designs in ``fields.DESIGNS`` order (trials first), other values
    most common first, then by name; not recorded always last."""
    from evidence.library.fields import DESIGNS

    groups: dict[str | None, list[str]] = {}
    for study in studies:
        groups.setdefault(getattr(study, attribute), []).append(study.key)
    if by_design:
        ordered = sorted(groups, key=lambda v: (v is None, DESIGNS.index(v) if v in DESIGNS else len(DESIGNS)))
    else:
        ordered = sorted(groups, key=lambda v: (v is None, -len(groups[v]), v or ""))
    return tuple(Tally(v, label(v), len(groups[v]), tuple(groups[v])) for v in ordered)


def _references(rows: "pd.DataFrame", order: list[str], style: str, citations: str) -> tuple[Reference, ...]:
    """The reference list in ``order``, formatted by citeproc through ``evidence.pages.cite``."""
    from evidence.pages import cite

    items = cite.csl_items(rows.loc[order])
    labels = cite.citation_labels(items, mode=citations)
    style_name = cite.resolve_style_name(style)
    texts = cite.format_bibliography(items, style=style_name, fmt="text")
    htmls = cite.format_bibliography(items, style=style_name, fmt="html")
    return tuple(
        Reference(key, labels[key], text, html) for key, text, html in zip(order, texts, htmls)
    )


def _percent(interval: Interval) -> Interval:
    return Interval(100.0 * interval.low, 100.0 * interval.high)


def _replace(study: Study, **changes: Any) -> Study:
    from dataclasses import replace

    return replace(study, **changes)


def as_dict(summary: Summary) -> dict[str, Any]:
    """The summary as JSON-ready plain data (for ``summarize --format json``).

    Studies appear in full once, under ``studies``; the groups list their keys.
    """
    from dataclasses import asdict

    data = asdict(summary)
    for group in ("counted", "rated", "bounded", "no_data"):
        data[group] = [study.key for study in getattr(summary, group)]
    data["bound_groups"] = [
        {**{k: v for k, v in asdict(g).items() if k != "studies"}, "studies": [s.key for s in g.studies]}
        for g in summary.bound_groups
    ]
    data["unsized_studies"] = [study.key for study in summary.unsized_studies]
    return data
