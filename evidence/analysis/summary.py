"""The data behind an evidence paragraph or a condition page: numbers, not prose.

:func:`summarize` turns the rows of the table for one condition into a
frozen :class:`Summary`.  Templates write the sentences; tests compare the
data.  Rules that keep the paragraph honest live here:

* Every entry for the condition is in the summary, in exactly one group:
  studies whose numbers are only in the comparisons (``compared``),
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
* Comparisons come first (``comparisons``): each intervention-against-control
  comparison drawn from the outcome table (``evidence.analysis.comparisons``),
  pooled (``evidence.analysis.stats.pool``) and rated for certainty
  (``evidence.analysis.certainty``).  A comparison that cannot be pooled keeps
  its ``problem``; studies that cannot be compared at all are in
  ``not_compared`` with the reason.  Nothing is dropped or filled in.
* Rates from treated people alone (``counted``, ``rated``, ``bounded``) never
  carry a certainty about the treatment's effect: without a comparison group
  they cannot show that the treatment works, and the templates say so.

The groups are ordered, and the references numbered, in the order the
default paragraph mentions them: the comparisons' studies, counted, rated,
bounded, reviews, no_data;
within a group, in library order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evidence.analysis.certainty import DEFAULT_THRESHOLDS, TRIAL_DESIGNS, Rating, Thresholds, rate
from evidence.analysis.comparisons import Arm, Comparison, Excluded
from evidence.analysis.stats import (
    MEASURE_NAMES,
    MEASURES,
    METHOD_NAMES,
    METHODS,
    PROPORTION_METHODS,
    Interval,
    PooledEffect,
    RiskRatio,
)
from evidence.defaults import CITATION_MODES, DEFAULT_CITATIONS, DEFAULT_METHOD, DEFAULT_STYLE
from evidence.errors import EvidenceError
from evidence.library.fields import REVIEW_DESIGNS

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
class Study:
    """One primary study as the summary reports it.

    ``status`` is ``compared`` (its numbers are only in the outcome table's
    comparisons), ``counts``, ``rate``, ``bound`` or ``no-data``; ``reason``
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


MEASURE_LABELS = {"rr": "RR", "or": "OR", "rd": "RD", "md": "MD", "smd": "SMD"}
#: Outcomes whose judgement knowing the treatment could not sway; every other outcome counts as subjective.
OBJECTIVE_OUTCOMES: frozenset[str] = frozenset({"death", "mortality", "all-cause mortality"})


@dataclass(frozen=True)
class ComparedStudy:
    """One study's two arms in a comparison, named and cited, with its effect when it was pooled.

    ``effect`` is ``None`` for a study left out of the pooled analysis (it is
    then in the comparison's ``excluded`` with the reason).  ``arm_label``
    adds the intervention arm's label when a multi-arm trial appears more than
    once in the comparison (``Shi and Wang 2003 (acupuncture)``).
    """

    key: str
    label: str
    arm_label: str
    citation: str
    design: str | None
    design_label: str
    blinding: str | None
    data_source: str | None
    verified: bool
    shared_control_split: bool
    intervention: Arm
    control: Arm
    effect: Any


@dataclass(frozen=True)
class Risk:
    """Risks per 1,000 for the summary-of-findings table (dichotomous outcomes).

    ``comparator`` is the control arms' pooled risk (events over people);
    ``intervention`` and its CI apply the pooled relative effect to it.
    """

    comparator: float
    intervention: float
    intervention_lb: float
    intervention_ub: float


@dataclass(frozen=True)
class ComparisonResult:
    """One comparison as the paragraph and page report it.

    ``pooled`` and ``rating`` are ``None`` when the comparison cannot be
    pooled, and ``problem`` says why.  ``intervention_arms`` and
    ``comparator_arms`` are the distinct arm labels, in order (two for Shi
    2003's two treated arms against one drug arm).  ``participants`` and ``k`` count the
    studies in the comparison (pooled or not); ``all_trials`` says whether
    every one is a controlled trial (the statement then says "trials").
    """

    slug: str
    outcome: str
    timepoint: str
    kind: str
    better: str
    intervention: str
    comparator: str
    intervention_arms: tuple[str, ...]
    comparator_arms: tuple[str, ...]
    measure: str
    measure_label: str
    measure_name: str
    method: str
    method_name: str
    hksj: bool
    studies: tuple[ComparedStudy, ...]
    excluded: tuple[Excluded, ...]
    notes: tuple[str, ...]
    pooled: PooledEffect | None
    rating: Rating | None
    risk: Risk | None
    k: int
    participants: int
    all_trials: bool
    problem: str | None


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
    compared: tuple[Study, ...]
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
    comparisons: tuple[ComparisonResult, ...]
    not_compared: tuple[Excluded, ...]
    outcome: str | None
    comparator: str | None
    measure: str | None
    hksj: bool
    thresholds: Thresholds
    references: tuple[Reference, ...]


def summarize(
    table: "pd.DataFrame",
    condition: str,
    intervention: str | None = None,
    method: str = DEFAULT_METHOD,
    style: str = DEFAULT_STYLE,
    citations: str = DEFAULT_CITATIONS,
    *,
    outcomes: "pd.DataFrame | None" = None,
    outcome: str | None = None,
    comparator: str | None = None,
    measure: str | None = None,
    hksj: bool = False,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Summary:
    """The summary of every entry in ``table`` about ``condition`` (and ``intervention``).

    ``outcomes`` is the long outcome table (``evidence.library.outcomes``);
    when ``None`` it is loaded from the folders of the studies' .bib files
    (:func:`outcomes_beside`).  Its problems are ``evidence check``'s to report.
    ``outcome``/``comparator`` narrow the comparisons; ``measure`` (default:
    rr for dichotomous outcomes, md for continuous ones), ``method`` and
    ``hksj`` say how they are pooled.  Single-arm rates are pooled by
    ``method`` too, or by fixed effect when ``method`` is ``mh`` (which
    needs two arms).

    Raises :class:`EvidenceError` for an unknown condition (listing the known
    ones, closest first), an intervention no study of it has, an unknown
    method, measure, citation mode or style.
    """
    if method not in METHODS:
        raise EvidenceError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    if measure is not None and measure not in MEASURES:
        raise EvidenceError(f"unknown measure {measure!r}; expected one of: {', '.join(MEASURES)}")
    if citations not in CITATION_MODES:
        raise EvidenceError(f"unknown citation mode {citations!r}; expected one of: {', '.join(CITATION_MODES)}")
    rows, name = select_rows(table, condition, intervention)
    if outcomes is None:
        outcomes = outcomes_beside(rows)
    return build_summary(
        rows,
        name,
        condition,
        intervention,
        method,
        style,
        citations,
        outcomes=outcomes,
        outcome=outcome,
        comparator=comparator,
        measure=measure,
        hksj=hksj,
        thresholds=thresholds,
    )


def outcomes_beside(rows: "pd.DataFrame") -> "pd.DataFrame":
    """The outcome table of the ``*.outcomes.csv`` files in the folders of ``rows``' .bib files,
    plus the BibTeX shorthand of each study."""
    from pathlib import Path

    from evidence.library.outcomes import load_outcomes

    files = rows["source_file"].dropna().unique() if "source_file" in rows else []
    folders = sorted({str(Path(str(f)).parent) for f in files})
    table, _ = load_outcomes([Path(f) for f in folders], rows, check=False)  # the page reads; check reports
    return table


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
    case or punctuation (and so would share a page) are listed once.

    Names with no letters or digits (``..``, ``...``) are different conditions
    to the filter, so each keeps its own page (see :func:`slugify`).
    """
    from evidence.analysis.query import known_values

    names: dict[str, str] = {}
    for name in known_values(table, "condition"):
        names.setdefault(slugify(name), name)
    return list(names.values())


def slugify(text: str) -> str:
    """A file name for a condition: ``Restless legs syndrome`` -> ``restless-legs-syndrome``.

    A name with no letters or digits gets ``condition-`` and a short hash of
    the name, so ``..`` and ``...`` do not share (and overwrite) one page.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if slug:
        return slug
    import hashlib

    return "condition-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def build_summary(
    rows: "pd.DataFrame",
    name: str,
    query: str,
    intervention: str | None,
    method: str,
    style: str,
    citations: str,
    *,
    outcomes: "pd.DataFrame | None" = None,
    outcome: str | None = None,
    comparator: str | None = None,
    measure: str | None = None,
    hksj: bool = False,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Summary:
    """Assemble the summary from the selected rows (see the module doc for the rules)."""
    from evidence.pages import cite

    records = _records(rows)
    # CSL items once for the labels and the reference list (each item is its own row's)
    items = dict(zip(rows.index, cite.csl_items(rows)))
    labels = cite.citation_labels(items.values(), mode="author-year")
    found, not_compared = _comparisons(rows, outcomes, outcome, comparator)
    compared_keys = list(dict.fromkeys(s.key for c in found for s in c.studies))
    compared_set = set(compared_keys)
    review_rows = [r for r in records if r["design"] in REVIEW_DESIGNS]
    primary_rows = [r for r in records if r["design"] not in REVIEW_DESIGNS]
    intervals = _wilson_intervals(primary_rows)
    primary = [
        _study(r, labels[r["key"]], r["key"] in compared_set, interval) for r, interval in zip(primary_rows, intervals)
    ]
    statuses = ("compared", "counts", "rate", "bound", "no-data")
    groups = {status: [s for s in primary if s.status == status] for status in statuses}
    order = list(
        dict.fromkeys(
            [k for k in compared_keys if k in labels]
            + [s.key for s in groups["compared"] + groups["counts"] + groups["rate"] + groups["bound"]]
            + [r["key"] for r in review_rows]
            + [s.key for s in groups["no-data"]]
        )
    )
    references = _references([items[key] for key in order], order, style, citations)
    cited_as = {ref.key: ref.label for ref in references}

    def cited(study: Study) -> Study:
        return _replace(study, citation=cited_as[study.key])

    rank = {key: index for index, key in enumerate(order)}
    studies = tuple(cited(s) for status in statuses for s in sorted(groups[status], key=lambda s: rank[s.key]))
    by_status = {status: tuple(s for s in studies if s.status == status) for status in groups}
    reviews = tuple(_review(r, labels[r["key"]], cited_as[r["key"]]) for r in review_rows)
    pooled = _pooled(by_status["counts"], method if method in PROPORTION_METHODS else "fixed")
    sized = [s for s in studies if s.participants is not None]
    designs = {r["key"]: r["design"] for r in records}
    results = tuple(
        compare(c, labels, cited_as, designs, measure=measure, method=method, hksj=hksj, thresholds=thresholds)
        for c in found
    )
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
        compared=by_status["compared"],
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
        comparisons=results,
        not_compared=tuple(not_compared),
        outcome=outcome,
        comparator=comparator,
        measure=measure,
        hksj=hksj,
        thresholds=thresholds,
        references=references,
    )


def _comparisons(
    rows: "pd.DataFrame",
    outcomes: "pd.DataFrame | None",
    outcome: str | None,
    comparator: str | None,
) -> tuple[list[Comparison], list[Excluded]]:
    """The comparisons among the selected studies (already narrowed to ``--intervention``); none without
    an outcome table."""
    from evidence.analysis.comparisons import comparisons

    if outcomes is None or outcomes.empty:
        return [], []
    mine = outcomes[outcomes["key"].isin(set(rows.index))]
    if mine.empty:
        return [], []
    return comparisons(mine, rows, outcome=outcome, comparator=comparator)


def compare(
    comparison: Comparison,
    labels: dict[str, str],
    citations: dict[str, str],
    designs: dict[str, str | None] | None = None,
    *,
    measure: str | None = None,
    method: str = "dl",
    hksj: bool = False,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> ComparisonResult:
    """Pool one comparison and rate it; a comparison that cannot be pooled keeps the reason in ``problem``."""
    from evidence.analysis.stats import pool

    chosen = measure or ("rr" if comparison.kind == "dichotomous" else "md")
    try:
        pooled: PooledEffect | None = pool(comparison, chosen, method, hksj)
        problem = None
    except EvidenceError as error:
        pooled, problem = None, str(error)
    return comparison_result(
        comparison,
        pooled,
        problem,
        labels,
        citations,
        designs,
        measure=chosen,
        method=method,
        hksj=hksj,
        thresholds=thresholds,
    )


def comparison_result(
    comparison: Comparison,
    pooled: PooledEffect | None,
    problem: str | None,
    labels: dict[str, str],
    citations: dict[str, str],
    designs: dict[str, str | None] | None = None,
    *,
    measure: str,
    method: str,
    hksj: bool = False,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> ComparisonResult:
    """The reportable comparison from its pooled effect (or the reason there is none)."""
    effects = _paired_effects(comparison, pooled)
    appearances = Counter(s.key for s in comparison.studies)
    repeated = {key for key, count in appearances.items() if count > 1}
    studies = tuple(
        _compared(s, labels, citations, designs, effect, s.key in repeated)
        for s, effect in zip(comparison.studies, effects)
    )
    more = tuple(e for e in (pooled.excluded if pooled else ()) if e not in comparison.excluded)
    excluded = tuple(comparison.excluded) + more
    notes = tuple(dict.fromkeys(tuple(comparison.notes) + (tuple(pooled.notes) if pooled else ())))
    rating = None
    if pooled is not None:
        subjective = comparison.outcome.strip().lower() not in OBJECTIVE_OUTCOMES
        rating = rate(comparison, pooled, thresholds, subjective=subjective)
    return ComparisonResult(
        slug=slugify(
            f"{comparison.outcome} {comparison.timepoint} {comparison.intervention} vs {comparison.comparator}"
        ),
        outcome=comparison.outcome,
        timepoint=comparison.timepoint,
        kind=comparison.kind,
        better=comparison.better,
        intervention=comparison.intervention,
        comparator=comparison.comparator,
        intervention_arms=tuple(dict.fromkeys(s.intervention.label for s in comparison.studies)),
        comparator_arms=tuple(dict.fromkeys(s.control.label for s in comparison.studies)),
        measure=measure,
        measure_label=MEASURE_LABELS[measure],
        measure_name=MEASURE_NAMES[measure],
        method=method,
        method_name=METHOD_NAMES[method],
        hksj=hksj,
        studies=studies,
        excluded=excluded,
        notes=notes,
        pooled=pooled,
        rating=rating,
        risk=_risk(comparison, pooled) if pooled is not None else None,
        k=len({s.key for s in comparison.studies}),
        participants=_participants_in(comparison),
        all_trials=bool(comparison.studies) and all(s.design in TRIAL_DESIGNS for s in comparison.studies),
        problem=problem,
    )


def _paired_effects(comparison: Comparison, pooled: PooledEffect | None) -> list[Any]:
    """Each study comparison's effect, in order; ``None`` for one left out of the pooling.

    A multi-arm trial appears once per intervention arm under the same key, so
    effects are paired in order, not looked up by key.
    """
    remaining = list(pooled.studies) if pooled is not None else []
    paired: list[Any] = []
    next_one = 0
    for study in comparison.studies:
        if next_one < len(remaining) and remaining[next_one].key == study.key:
            paired.append(remaining[next_one])
            next_one += 1
        else:
            paired.append(None)
    return paired


def _compared(
    study: Any,
    labels: dict[str, str],
    citations: dict[str, str],
    designs: dict[str, str | None] | None,
    effect: Any,
    repeated: bool = False,
) -> ComparedStudy:
    design = study.design if study.design is not None or not designs else designs.get(study.key)
    label = labels.get(study.key, study.key)
    return ComparedStudy(
        key=study.key,
        label=label,
        arm_label=f"{label} ({study.intervention.label})" if repeated else label,
        citation=citations.get(study.key, ""),
        design=design,
        design_label=DESIGN_LABELS.get(design, design or DESIGN_LABELS[None]),
        blinding=study.blinding,
        data_source=study.data_source,
        verified=study.verified,
        shared_control_split=study.shared_control_split,
        intervention=study.intervention,
        control=study.control,
        effect=effect,
    )


def _participants_in(comparison: Comparison) -> int:
    """People in a comparison: each study's arms, a shared control counted once per study."""
    total = 0.0
    controls: dict[str, float] = {}
    for study in comparison.studies:
        total += study.intervention.n or 0
        controls[study.key] = controls.get(study.key, 0.0) + (study.control.n or 0)
    return int(round(total + sum(controls.values())))


def _risk(comparison: Comparison, pooled: PooledEffect) -> Risk | None:
    """Risks per 1,000 with comparator and intervention (dichotomous RR, OR or RD only)."""
    if comparison.kind != "dichotomous" or pooled.measure not in ("rr", "or", "rd"):
        return None
    events = sum(s.control.events or 0 for s in comparison.studies)
    people = sum(s.control.n or 0 for s in comparison.studies)
    if not people:
        return None
    base = events / people

    def apply(effect: float) -> float:
        if pooled.measure == "rr":
            risk = base * effect
        elif pooled.measure == "or":
            risk = base * effect / (1 - base + base * effect)
        else:
            risk = base + effect
        return 1000 * min(1.0, max(0.0, risk))

    return Risk(1000 * base, apply(pooled.estimate), apply(pooled.ci_lb), apply(pooled.ci_ub))


def _records(rows: "pd.DataFrame") -> list[dict[str, Any]]:
    """The rows as plain Python values (``None`` for missing), without the raw BibTeX.

    Built column by column (``formats.records``): going row by row through
    pandas cost a page of thousands of studies more than a second.
    """
    from evidence.analysis.formats import records

    found = records(rows, [name for name in rows.columns if name != "raw"])
    for record in found:
        record["design"] = record["design"] if isinstance(record["design"], str) else None
    return found


def _study(r: dict[str, Any], label: str, compared: bool = False, interval: Interval | None = None) -> Study:
    """A primary study; ``interval`` is its Wilson interval in percent when it has counts
    (:func:`_wilson_intervals`, all studies at once), computed here if not given."""
    status, reason = _status(r)
    if compared and status == "no-data":
        # Its numbers are in the outcome table, reported by the comparisons.
        status, reason = "compared", None
    rate, ci, ci_source = _rate_and_ci(r, status, interval)
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
    if n is not None and x is not None and n > 0 and 0 <= x <= n:
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


def _wilson_intervals(records: list[dict[str, Any]]) -> list[Interval | None]:
    """Each record's Wilson interval in percent if it has usable counts, else ``None``: one numpy
    computation for the whole page rather than one statsmodels call per study."""
    from evidence.analysis.stats import wilson_intervals

    counted = [index for index, r in enumerate(records) if _status(r)[0] == "counts"]
    lows, highs = wilson_intervals([records[i]["responders"] for i in counted], [records[i]["n"] for i in counted])
    found: list[Interval | None] = [None] * len(records)
    for index, low, high in zip(counted, lows, highs):
        found[index] = _percent(Interval(low, high))
    return found


def _rate_and_ci(
    r: dict[str, Any], status: str, interval: Interval | None = None
) -> tuple[float | None, Interval | None, str | None]:
    from evidence.analysis.stats import wilson_interval

    if status == "counts":
        ci = interval if interval is not None else _percent(wilson_interval(r["responders"], r["n"]))
        return 100.0 * r["responders"] / r["n"], ci, "wilson"
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
                return control_rate, found
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
        group = (study.rate_bound, study.rate, study.response_definition, study.data_source, study.extracted_from)
        groups.setdefault(group, []).append(study)
    return tuple(
        BoundGroup(bound, rate, definition, source_kind, source, all(s.verified for s in members), tuple(members))
        for (bound, rate, definition, source_kind, source), members in groups.items()
    )


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


def _references(items: list[dict[str, Any]], order: list[str], style: str, citations: str) -> tuple[Reference, ...]:
    """The reference list in ``order`` (``items``: the studies' CSL items in that order), formatted by
    citeproc through ``evidence.pages.cite``; author-year labels (``Shi and Wang 2003``) come from the one
    label rule there: equal labels get ``a`` ... ``z``, ``aa`` ... in library order."""
    from evidence.pages import cite

    labels = cite.citation_labels(items, mode="author-year" if citations == "author-year" else "numbered")
    style_name = cite.resolve_style_name(style)  # an unknown style is an error even with nothing to format
    formatted = cite.format_references(items, style_name)  # text and HTML from one pass
    return tuple(Reference(key, labels[key], ref.text, ref.html) for key, ref in zip(order, formatted))


def _percent(interval: Interval) -> Interval:
    return Interval(100.0 * interval.low, 100.0 * interval.high)


def _replace(study: Study, **changes: Any) -> Study:
    from dataclasses import replace

    return replace(study, **changes)


def as_dict(summary: Summary) -> dict[str, Any]:
    """The summary as JSON-ready plain data (for ``summarize --format json``).

    Studies appear in full once, under ``studies``; the groups list their keys.
    Each comparison's ``pooled`` carries every number under metafor's names
    (``estimate, ci_lb, ci_ub, pi_lb, pi_ub, tau2, I2, QE, QEp, k``).
    """
    from dataclasses import asdict

    data = asdict(summary)
    for group in ("compared", "counted", "rated", "bounded", "no_data"):
        data[group] = [study.key for study in getattr(summary, group)]
    data["bound_groups"] = [
        {**{k: v for k, v in asdict(g).items() if k != "studies"}, "studies": [s.key for s in g.studies]}
        for g in summary.bound_groups
    ]
    data["unsized_studies"] = [study.key for study in summary.unsized_studies]
    return _finite(data)


def _finite(value: Any) -> Any:
    """NaN and infinities as ``None``: JSON has no such numbers (an I² of a single study is undefined)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
