"""GRADE certainty per comparison (docs/summaries.md lists the same rules with worked examples)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.analysis.certainty import (
    LEVELS,
    Thresholds,
    importance,
    important_bounds,
    pooled_sd,
    rate,
)
from evidence.analysis.comparisons import Arm, Comparison, StudyComparison
from evidence.analysis.stats import PooledEffect, StudyEffect


def study(
    key: str = "t1",
    design: str | None = "rct",
    *,
    blinding: str | None = "double",
    verified: bool = True,
    data_source: str | None = "primary",
    n: int = 300,
    events: int = 150,
    kind: str = "dichotomous",
    sd: float | None = None,
) -> StudyComparison:
    arm = Arm("acupuncture", "intervention", n, events if kind == "dichotomous" else None, 10.0 if sd else None, sd)
    control = Arm("sham acupuncture", "control", n, events if kind == "dichotomous" else None, 10.0 if sd else None, sd)
    return StudyComparison(
        key, "response", "", kind, "higher", arm, control, False, design, verified, data_source, blinding
    )


def comparison(*studies: StudyComparison, kind: str = "dichotomous") -> Comparison:
    return Comparison("response", "", kind, "higher", "acupuncture", "sham acupuncture", tuple(studies), (), ())


def pooled(
    estimate: float,
    ci: tuple[float, float],
    *,
    pi: tuple[float, float] | None = None,
    k: int = 2,
    i2: float = 0.0,
    measure: str = "rr",
    events: int | None = 600,
    participants: int = 1200,
    keys: tuple[str, ...] = ("t1", "t2"),
) -> PooledEffect:
    effects = tuple(
        StudyEffect(key, 0.0, 0.01, estimate, ci[0], ci[1], 100 / len(keys), participants // len(keys)) for key in keys
    )
    pi_lb, pi_ub = pi or ci
    return PooledEffect(
        measure,
        "reml",
        False,
        estimate,
        ci[0],
        ci[1],
        pi_lb,
        pi_ub,
        0.0,
        i2,
        1.0,
        0.5,
        k,
        participants,
        events,
        effects,
        (),
        (),
    )


def rules(rating) -> list[str]:
    return [reason.rule for reason in rating.reasons]


TWO_TRIALS = comparison(study("t1"), study("t2"))


def test_large_blinded_verified_precise_trials_are_high():
    rating = rate(TWO_TRIALS, pooled(1.5, (1.3, 1.7)))
    assert (rating.level, rating.start, rating.reasons, rating.notes) == ("high", "high", (), ())
    assert rating.importance.effect == "increase"


def test_a_non_randomised_trial_starts_high_and_is_rated_down_for_risk_of_bias():
    rating = rate(comparison(study("t1"), study("q", "quasi-rct")), pooled(1.5, (1.3, 1.7), keys=("t1", "q")))
    assert rating.start == "high" and rating.level == "moderate"
    assert rules(rating) == ["not-randomised"]
    assert rating.reasons[0].keys == ("q",) and rating.reasons[0].domain == "risk of bias"


def test_cohorts_start_low_and_are_not_rated_down_again_for_not_randomising():
    rating = rate(comparison(study("c1", "cohort"), study("c2", "cohort")), pooled(1.5, (1.3, 1.7), keys=("c1", "c2")))
    assert rating.start == "low" and rating.level == "low"
    assert "not-randomised" not in rules(rating)


@pytest.mark.parametrize("blinding", ["open", "unclear", None])
def test_unblinded_subjective_outcome_rates_down_but_not_an_objective_one(blinding):
    body = comparison(study("t1", blinding=blinding), study("t2"))
    assert rules(rate(body, pooled(1.5, (1.3, 1.7)))) == ["unblinded"]
    assert rules(rate(body, pooled(1.5, (1.3, 1.7)), subjective=False)) == []


def test_secondary_and_unverified_data_rate_down_once_for_the_domain():
    body = comparison(study("t1", data_source="secondary", verified=False), study("t2", verified=False))
    rating = rate(body, pooled(1.5, (1.3, 1.7)))
    assert rules(rating) == ["secondary-data", "unverified-data"]
    assert rating.reasons[1].keys == ("t1", "t2")
    assert rating.level == "moderate"  # several reasons in one domain move the rating one level
    assert rating.domains_down == ("risk of bias",)


def test_inconsistency_by_i2_or_by_a_prediction_interval_crossing_no_effect():
    assert rules(rate(TWO_TRIALS, pooled(1.5, (1.3, 1.7), i2=51.0))) == ["heterogeneity"]
    assert rules(rate(TWO_TRIALS, pooled(1.5, (1.3, 1.7), i2=50.0))) == []
    crossing = rate(TWO_TRIALS, pooled(1.5, (1.3, 1.7), pi=(0.9, 2.5)))
    assert rules(crossing) == ["prediction-interval"] and crossing.level == "moderate"
    # Both the CI and the PI crossing no effect is imprecision, not inconsistency.
    assert "prediction-interval" not in rules(rate(TWO_TRIALS, pooled(1.0, (0.9, 1.3), pi=(0.5, 2.0))))


def test_a_single_study_is_never_inconsistent():
    rating = rate(comparison(study("t1")), pooled(1.5, (1.3, 1.7), k=1, i2=float("nan"), keys=("t1",)))
    assert "heterogeneity" not in rules(rating)


def test_imprecision_when_the_ci_holds_no_effect_and_an_important_effect():
    rating = rate(TWO_TRIALS, pooled(1.1, (0.95, 1.3)))
    assert rules(rating) == ["ci-includes-important"] and rating.level == "moderate"
    both = rate(TWO_TRIALS, pooled(1.0, (0.7, 1.4)))
    assert rules(both) == ["ci-includes-both"] and both.level == "low"  # two levels: benefit and harm both fit
    narrow = rate(TWO_TRIALS, pooled(1.02, (0.95, 1.1)))
    assert rules(narrow) == [] and narrow.importance.effect == "little-or-no-difference"


def test_imprecision_below_the_optimal_information_size():
    few_events = rate(TWO_TRIALS, pooled(1.5, (1.3, 1.7), events=299))
    assert rules(few_events) == ["few-events"] and few_events.reasons[0].value == 299
    unknown = rate(TWO_TRIALS, pooled(1.5, (1.3, 1.7), events=None))
    assert rules(unknown) == ["few-events"] and unknown.reasons[0].value is None
    continuous = comparison(
        study("t1", kind="continuous", sd=2.0), study("t2", kind="continuous", sd=2.0), kind="continuous"
    )
    small = rate(continuous, pooled(2.0, (1.0, 3.0), measure="md", participants=399, events=None))
    assert rules(small) == ["few-participants"] and small.reasons[0].value == 399


def test_publication_bias_is_a_note_from_ten_studies():
    keys = tuple(f"t{i}" for i in range(10))
    body = comparison(*(study(k) for k in keys))
    rating = rate(body, pooled(1.5, (1.3, 1.7), k=10, keys=keys))
    assert rating.level == "high" and rating.reasons == ()
    assert [(n.rule, n.change, n.value) for n in rating.notes] == [("publication-bias", 0, 10)]
    assert rate(body, pooled(1.5, (1.3, 1.7), k=9, keys=keys)).notes == ()


def test_thresholds_are_configurable():
    strict = Thresholds(ratio_low=0.95, ratio_high=1.05, events=10)
    assert rules(rate(TWO_TRIALS, pooled(1.02, (0.97, 1.08)), strict)) == ["ci-includes-important"]
    assert rules(rate(TWO_TRIALS, pooled(1.02, (0.97, 1.08)))) == []
    assert importance("rr", 1.06, strict).effect == "increase"
    assert importance("rr", 1.06).effect == "little-or-no-difference"


def test_importance_by_measure():
    assert important_bounds("rr") == (1.0, 0.8, 1.25) == important_bounds("or")
    assert important_bounds("smd") == (0.0, -0.2, 0.2)
    assert important_bounds("rd") == (0.0, -0.05, 0.05)
    assert important_bounds("md", pooled_sd=10.0) == (0.0, -2.0, 2.0)
    assert important_bounds("md", Thresholds(md=3.0), pooled_sd=10.0) == (0.0, -3.0, 3.0)
    assert importance("rr", 0.8).effect == "decrease" and importance("smd", 0.25).effect == "increase"


def test_pooled_sd_weights_each_arm_by_its_degrees_of_freedom():
    body = comparison(
        study("a", kind="continuous", sd=2.0, n=11), study("b", kind="continuous", sd=4.0, n=31), kind="continuous"
    )
    assert pooled_sd(body) == pytest.approx(math.sqrt((2 * 10 * 4 + 2 * 30 * 16) / 80))
    assert pooled_sd(TWO_TRIALS) is None


def test_linde_two_sham_controlled_trials_are_never_high_certainty_of_benefit():
    # Linde 2005: 74/145 acupuncture vs 43/81 sham; a second, made-up trial of the same size and result.
    linde = StudyComparison(
        "linde2005",
        "response",
        "",
        "dichotomous",
        "higher",
        Arm("acupuncture", "intervention", 145, 74, None, None),
        Arm("sham acupuncture", "control", 81, 43, None, None),
        False,
        "rct",
        True,
        "primary",
        "double",
    )
    second = StudyComparison(
        "second2006",
        "response",
        "",
        "dichotomous",
        "higher",
        Arm("acupuncture", "intervention", 150, 77, None, None),
        Arm("sham acupuncture", "control", 80, 42, None, None),
        False,
        "rct",
        True,
        "primary",
        "double",
    )
    body = comparison(linde, second)
    rating = rate(body, pooled(0.97, (0.80, 1.18), events=236, participants=456, keys=("linde2005", "second2006")))
    assert rating.level != "high"
    assert rating.importance.effect == "little-or-no-difference"
    assert set(rules(rating)) == {"ci-includes-important", "few-events"}


@given(
    estimate=st.floats(0.2, 5.0),
    half_width=st.floats(0.0, 2.0),
    i2=st.floats(0.0, 100.0),
    events=st.none() | st.integers(0, 2000),
    designs=st.lists(st.sampled_from(("rct", "crossover", "quasi-rct", "cohort", None)), min_size=1, max_size=5),
    blinding=st.sampled_from(("double", "single", "open", "unclear", None)),
    verified=st.booleans(),
)
def test_the_level_is_the_start_less_one_per_domain_floored_at_very_low(
    estimate, half_width, i2, events, designs, blinding, verified
):
    keys = tuple(f"s{i}" for i in range(len(designs)))
    body = comparison(*(study(k, d, blinding=blinding, verified=verified) for k, d in zip(keys, designs)))
    low, high = estimate / math.exp(half_width), estimate * math.exp(half_width)
    rating = rate(body, pooled(estimate, (low, high), i2=i2, events=events, k=len(keys), keys=keys))
    per_domain: dict[str, int] = {}
    for reason in rating.reasons:
        assert reason.change in (-1, -2)
        per_domain[reason.domain] = min(per_domain.get(reason.domain, 0), reason.change)
    expected = max(0, LEVELS.index(rating.start) + sum(per_domain.values()))
    assert rating.level == LEVELS[expected]
    assert rating.start == ("high" if all(d in ("rct", "crossover", "quasi-rct") for d in designs) else "low")
    if rating.level == "high":
        assert not (low <= 1.0 <= high and (low <= 0.8 or high >= 1.25))  # never high when the CI is that wide
