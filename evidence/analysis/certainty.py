"""How sure a comparison lets a reader be: GRADE's certainty of evidence, rated per comparison.

Certainty is only ever about a *comparison*: an intervention against a
control in the same studies (``evidence.analysis.comparisons``).  A response
rate from treated people alone (a case series, a single arm, a bound such as
">=70%") gets no rating at all, because without a comparison group it cannot
show that the treatment works; the summary says so instead.

The rules, each written once here and explained with a worked example in
``docs/summaries.md``:

Start
    *high* when every study is a controlled trial (``rct``, ``crossover`` or
    ``quasi-rct``), *low* otherwise (cohort, case-control, unrecorded design).
Rate down one level per domain (never below *very low*):
    risk of bias   a trial was not randomised (``quasi-rct``); outcome
                   assessment was not blinded (``open``, ``unclear`` or not
                   recorded) and the outcome is subjective; the numbers are
                   secondary or not verified against the paper.
    inconsistency  I² over :attr:`Thresholds.i2` percent, or the prediction
                   interval crosses no effect while the CI does not.
    imprecision    the CI includes both no effect and an important effect
                   (:class:`Thresholds`), or there are fewer events
                   (dichotomous) or participants (continuous) than the
                   optimal information size.  Two levels when the CI
                   includes an important effect in *both* directions.
Note only (no change of level)
    publication bias  at :attr:`Thresholds.publication_bias_k` studies or
                      more a funnel plot could be read; it is not assessed.

Each reason is data (:class:`Reason`): the domain, the rule, the studies
concerned and the number tested.  Templates word them (``_wording.j2``).

The *importance* of the effect drives the statement's verb (Santesso et al.
2020): an estimate beyond a threshold is an important increase or decrease;
within the thresholds it is "little to no difference".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from evidence.analysis.comparisons import Comparison
    from evidence.analysis.stats import PooledEffect

LEVELS = ("very low", "low", "moderate", "high")
TRIAL_DESIGNS = frozenset({"rct", "crossover", "quasi-rct"})
RANDOMISED_DESIGNS = frozenset({"rct", "crossover"})
BLINDED = frozenset({"double", "single"})
RATIO_MEASURES = frozenset({"rr", "or"})
DOMAINS = ("risk of bias", "inconsistency", "imprecision", "publication bias")


@dataclass(frozen=True)
class Thresholds:
    """What counts as an important effect, and how much information is enough.

    Ratios (RR, OR) are important below ``ratio_low`` or above
    ``ratio_high``; a standardised mean difference beyond +-``smd``; a risk
    difference beyond +-``rd``; a mean difference beyond +-``md``, or, when
    ``md`` is ``None``, beyond ``smd`` times the studies' pooled SD.
    """

    ratio_low: float = 0.8
    ratio_high: float = 1.25
    smd: float = 0.2
    md: float | None = None
    rd: float = 0.05
    events: int = 300
    participants: int = 400
    i2: float = 50.0
    publication_bias_k: int = 10


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Reason:
    """One reason the rating moved (``change`` -1 or -2) or a note beside it (``change`` 0).

    ``rule`` is one of ``not-randomised``, ``unblinded``, ``secondary-data``,
    ``unverified-data``, ``heterogeneity``, ``prediction-interval``,
    ``ci-includes-important``, ``ci-includes-both``, ``few-events``,
    ``few-participants``, ``publication-bias``; ``keys`` name the studies it is
    about (empty when about the whole body); ``value`` is the number tested
    (I², events, participants) or ``None``.
    """

    domain: str
    rule: str
    change: int
    keys: tuple[str, ...] = ()
    value: float | None = None


@dataclass(frozen=True)
class Importance:
    """Where the pooled estimate lies against the thresholds of an important effect.

    ``effect`` is ``increase``, ``decrease`` or ``little-or-no-difference``;
    ``low``/``high`` are the thresholds on the natural scale and ``null`` the
    value of no effect (1 for ratios, 0 for differences).
    """

    effect: str
    null: float
    low: float
    high: float


@dataclass(frozen=True)
class Rating:
    """The certainty of one comparison, with every reason for rating down and the notes."""

    level: str
    start: str
    reasons: tuple[Reason, ...]
    notes: tuple[Reason, ...]
    importance: Importance
    domains_down: tuple[str, ...] = field(default=())


def importance(
    measure: str, estimate: float, thresholds: Thresholds = DEFAULT_THRESHOLDS, pooled_sd: float | None = None
) -> Importance:
    """Classify ``estimate`` (natural scale) as an important increase, decrease or neither."""
    null, low, high = important_bounds(measure, thresholds, pooled_sd)
    if estimate >= high:
        effect = "increase"
    elif estimate <= low:
        effect = "decrease"
    else:
        effect = "little-or-no-difference"
    return Importance(effect, null, low, high)


def important_bounds(
    measure: str, thresholds: Thresholds = DEFAULT_THRESHOLDS, pooled_sd: float | None = None
) -> tuple[float, float, float]:
    """(no effect, important decrease at or below, important increase at or above) for ``measure``."""
    if measure in RATIO_MEASURES:
        return 1.0, thresholds.ratio_low, thresholds.ratio_high
    if measure == "smd":
        return 0.0, -thresholds.smd, thresholds.smd
    if measure == "rd":
        return 0.0, -thresholds.rd, thresholds.rd
    if thresholds.md is not None:
        return 0.0, -thresholds.md, thresholds.md
    if pooled_sd is None or not math.isfinite(pooled_sd) or pooled_sd <= 0:
        # No SD to scale by: any non-zero difference is treated as possibly important.
        return 0.0, -0.0, 0.0
    return 0.0, -thresholds.smd * pooled_sd, thresholds.smd * pooled_sd


def pooled_sd(comparison: "Comparison") -> float | None:
    """The studies' pooled SD over both arms, ``sqrt(sum((n-1) sd^2) / sum(n-1))``; ``None`` without SDs."""
    total, weights = 0.0, 0.0
    for study in comparison.studies:
        for arm in (study.intervention, study.control):
            if arm.sd is not None and arm.n is not None and arm.n > 1:
                total += (arm.n - 1) * arm.sd**2
                weights += arm.n - 1
    return math.sqrt(total / weights) if weights else None


def rate(
    comparison: "Comparison",
    pooled: "PooledEffect",
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    subjective: bool = True,
) -> Rating:
    """GRADE certainty for ``comparison`` pooled as ``pooled`` (see the module doc for the rules).

    ``subjective`` says whether the outcome is judged by people who could be
    swayed by knowing the treatment (a patient-reported response is); only
    then does missing blinding count against it.
    """
    included = {effect.key for effect in pooled.studies}
    studies = [s for s in comparison.studies if s.key in included] or list(comparison.studies)
    trials = all(s.design in TRIAL_DESIGNS for s in studies)
    start = "high" if trials else "low"
    sd = pooled_sd(comparison) if pooled.measure == "md" else None
    found = importance(pooled.measure, pooled.estimate, thresholds, sd)
    reasons = [
        *_risk_of_bias(studies, trials, subjective),
        *_inconsistency(pooled, found, thresholds),
        *_imprecision(pooled, comparison.kind, found, thresholds),
    ]
    notes = _publication_bias(pooled, thresholds)
    down = _domain_changes(reasons)
    index = max(0, LEVELS.index(start) + sum(down.values()))
    return Rating(
        LEVELS[index],
        start,
        tuple(reasons),
        tuple(notes),
        found,
        tuple(domain for domain in DOMAINS if down.get(domain)),
    )


def _domain_changes(reasons: Iterable[Reason]) -> dict[str, int]:
    """The change per domain: the largest single reason in it (reasons in one domain do not add up)."""
    changes: dict[str, int] = {}
    for reason in reasons:
        changes[reason.domain] = min(changes.get(reason.domain, 0), reason.change)
    return changes


def _keys(studies: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.key for s in studies))


def _risk_of_bias(studies: list, trials: bool, subjective: bool) -> list[Reason]:
    domain = "risk of bias"
    checks = [
        ("not-randomised", [s for s in studies if trials and s.design not in RANDOMISED_DESIGNS]),
        ("unblinded", [s for s in studies if subjective and s.blinding not in BLINDED]),
        ("secondary-data", [s for s in studies if s.data_source == "secondary"]),
        ("unverified-data", [s for s in studies if not s.verified]),
    ]
    return [Reason(domain, rule, -1, _keys(group)) for rule, group in checks if group]


def _inconsistency(pooled: "PooledEffect", found: Importance, thresholds: Thresholds) -> list[Reason]:
    if pooled.k < 2:
        return []
    reasons = []
    if math.isfinite(pooled.I2) and thresholds.i2 < pooled.I2:
        reasons.append(Reason("inconsistency", "heterogeneity", -1, value=pooled.I2))
    ci_crosses = pooled.ci_lb <= found.null <= pooled.ci_ub
    pi_crosses = pooled.pi_lb <= found.null <= pooled.pi_ub
    if pi_crosses and not ci_crosses:
        reasons.append(Reason("inconsistency", "prediction-interval", -1))
    return reasons


def _imprecision(pooled: "PooledEffect", kind: str, found: Importance, thresholds: Thresholds) -> list[Reason]:
    reasons = []
    includes_null = pooled.ci_lb <= found.null <= pooled.ci_ub
    includes_decrease = pooled.ci_lb <= found.low
    includes_increase = pooled.ci_ub >= found.high
    if includes_decrease and includes_increase:
        reasons.append(Reason("imprecision", "ci-includes-both", -2))
    elif includes_null and (includes_decrease or includes_increase):
        reasons.append(Reason("imprecision", "ci-includes-important", -1))
    if kind == "dichotomous":
        events = pooled.events
        if events is None or events < thresholds.events:
            reasons.append(Reason("imprecision", "few-events", -1, value=events))
    elif pooled.participants < thresholds.participants:
        reasons.append(Reason("imprecision", "few-participants", -1, value=pooled.participants))
    return reasons


def _publication_bias(pooled: "PooledEffect", thresholds: Thresholds) -> list[Reason]:
    if pooled.k >= thresholds.publication_bias_k:
        return [Reason("publication bias", "publication-bias", 0, value=pooled.k)]
    return []
