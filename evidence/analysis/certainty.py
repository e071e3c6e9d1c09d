"""How sure the numbers let a reader be: plain-language certainty rules, loosely after GRADE.

GRADE rates a body of evidence as high, moderate, low or very low: trials
start high, other designs low, and the rating goes down for limitations.
We follow that shape with rules simple enough to apply from the table alone
and to explain to a patient.  ``docs/summaries.md`` lists the same rules.

The studies assessed are the ones whose results the summary reports
(counts, a reported rate or a reported bound).  Reviews are reported as
published and are not assessed here; studies without numbers are listed by
name elsewhere.

Start (rule ``start``)
    *high* when every assessed study is a controlled trial (``rct``,
    ``crossover`` or ``quasi-rct``); *low* otherwise, because a summary that
    puts weaker designs beside a trial is only as strong as the weakest.
Down one level each (never below *very low*; every reason is still listed):
    ``risk-of-bias``  a study allocated people without randomising
                      (``quasi-rct``), or records blinding as ``open`` or
                      ``unclear``;
    ``secondary``     a study's numbers come from another source, not the
                      paper (``data_source = secondary``);
    ``small``         fewer than :data:`SMALL_TOTAL` participants in all, or
                      no assessed study records its size;
    ``inconsistency`` I² over :data:`I2_LIMIT` percent in the pooled analysis;
    ``imprecision``   the 95% CI of the headline rate (the pooled one, or the
                      only study's) is wider than :data:`WIDE_CI` percentage
                      points, or no CI can be computed at all.
Cautions (no change of level, but always said in plain words):
    ``no-comparison``   case series and case reports have no comparison group,
                        so they cannot show the treatment caused the improvement;
    ``design-unknown``  the design is not recorded (or is ``other``): the same
                        must be said, since nothing shows there was a comparison;
    ``secondary-source`` numbers from another source, not checked against the
                        paper, cannot show it either.

The wording of each rule lives in :data:`WORDING` so that it is written once
and reviewed once; templates show ``step.plain`` and may reword by ``rule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

LEVELS = ("very low", "low", "moderate", "high")
TRIAL_DESIGNS = frozenset({"rct", "crossover", "quasi-rct"})
UNCONTROLLED_DESIGNS = frozenset({"case-series", "case-report"})
UNCLEAR_DESIGNS = frozenset({None, "other"})
SMALL_TOTAL = 200
I2_LIMIT = 50.0
WIDE_CI = 20.0

#: What each level means for a reader (GRADE's wording, simplified).
LEVEL_MEANING = {
    "high": "We can be confident that the true effect is close to these results.",
    "moderate": "The true effect is probably close to these results, but it may be substantially different.",
    "low": "The true effect may be substantially different from these results.",
    "very low": "We have very little confidence in these results: the true effect is likely to be substantially different.",
}

#: Plain-language wording of each rule and caution, for patients and writers.
WORDING = {
    "start-trials": "The results come from controlled trials, which compare people who had the treatment with people who did not.",
    "start-other": "Not all of these results come from controlled trials, so the rating starts low.",
    "risk-of-bias": "People were not assigned to treatments at random, or the people judging the results knew who had which treatment; either can make a treatment look better than it is.",
    "secondary": "Some numbers come from another source, not from the study reports themselves.",
    "small": "Few people took part, so chance alone could explain the results.",
    "inconsistency": "The studies' results differ more than chance would explain.",
    "imprecision": "The range of plausible values is wide, or cannot be worked out at all.",
    "no-comparison": "These studies did not compare the people treated with similar people who were not treated, so they cannot show that the treatment caused the improvement: symptoms often get better on their own, with time, or because people expect to feel better.",
    "design-unknown": "How these studies were designed is not recorded. Unless a study compares treated people with similar untreated people, it cannot show that the treatment caused the improvement: symptoms often get better on their own, with time, or because people expect to feel better.",
    "secondary-source": "Their figures come from another source and have not been checked against the original papers, so they cannot show that the treatment caused the improvement.",
}


@dataclass(frozen=True)
class Assessed:
    """What the rules need to know about one study whose result is reported."""

    key: str
    label: str
    design: str | None
    blinding: str | None = None
    data_source: str | None = None
    participants: int | None = None


@dataclass(frozen=True)
class Step:
    """One rule that applied: ``change`` is 0 for the starting level, -1 for a downgrade.

    ``keys``/``labels`` name the studies concerned (empty when the rule is
    about the whole body); ``value`` is the number the rule tested (total
    participants, I², CI width), ``None`` when there is none.
    """

    rule: str
    change: int
    plain: str
    keys: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    value: float | None = None


@dataclass(frozen=True)
class Caution:
    """A plain-language warning about what some studies cannot show."""

    rule: str
    plain: str
    keys: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Certainty:
    """The rating, how it was reached, and the cautions to say beside it.

    ``level`` is ``None`` when no study has a result to rate.
    """

    level: str | None
    meaning: str | None
    start: str | None
    steps: tuple[Step, ...]
    cautions: tuple[Caution, ...]


def assess(studies: Sequence[Assessed], ci_width: float | None, i2: float | None) -> Certainty:
    """Rate the studies whose results are reported.

    ``ci_width`` is the width in percentage points of the headline 95% CI
    (``None`` when none can be computed); ``i2`` the pooled I² in percent,
    ``None`` without a pooled analysis.
    """
    cautions = tuple(_cautions(studies))
    if not studies:
        return Certainty(None, None, None, (), cautions)
    steps = [_start(studies)] + [step for step in _downgrades(studies, ci_width, i2) if step]
    start = "high" if steps[0].rule == "start-trials" else "low"
    index = LEVELS.index(start) + sum(step.change for step in steps[1:])
    level = LEVELS[max(0, index)]
    return Certainty(level, LEVEL_MEANING[level], start, tuple(steps), cautions)


def _start(studies: Sequence[Assessed]) -> Step:
    if all(s.design in TRIAL_DESIGNS for s in studies):
        return Step("start-trials", 0, WORDING["start-trials"])
    weaker = [s for s in studies if s.design not in TRIAL_DESIGNS]
    return _step("start-other", 0, weaker)


def _downgrades(studies: Sequence[Assessed], ci_width: float | None, i2: float | None) -> list[Step | None]:
    biased = [s for s in studies if s.design == "quasi-rct" or s.blinding in ("open", "unclear")]
    secondary = [s for s in studies if s.data_source == "secondary"]
    sized = [s.participants for s in studies if s.participants is not None]
    total = sum(sized) if sized else None
    return [
        _step("risk-of-bias", -1, biased) if biased else None,
        _step("secondary", -1, secondary) if secondary else None,
        Step("small", -1, WORDING["small"], value=total) if total is None or total < SMALL_TOTAL else None,
        Step("inconsistency", -1, WORDING["inconsistency"], value=i2) if i2 is not None and i2 > I2_LIMIT else None,
        Step("imprecision", -1, WORDING["imprecision"], value=ci_width)
        if ci_width is None or ci_width > WIDE_CI
        else None,
    ]


def _cautions(studies: Sequence[Assessed]) -> list[Caution]:
    groups = [
        ("no-comparison", [s for s in studies if s.design in UNCONTROLLED_DESIGNS]),
        ("design-unknown", [s for s in studies if s.design in UNCLEAR_DESIGNS]),
        ("secondary-source", [s for s in studies if s.data_source == "secondary"]),
    ]
    return [
        Caution(rule, WORDING[rule], tuple(s.key for s in group), tuple(s.label for s in group))
        for rule, group in groups
        if group
    ]


def _step(rule: str, change: int, studies: Sequence[Assessed]) -> Step:
    return Step(rule, change, WORDING[rule], tuple(s.key for s in studies), tuple(s.label for s in studies))
