"""The plain-language certainty rules (docs/summaries.md lists the same rules)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evidence.analysis.certainty import LEVELS, SMALL_TOTAL, WORDING, Assessed, assess
from evidence.library.fields import DESIGNS


def trial(key: str = "t1", design: str = "rct", **kw) -> Assessed:
    values = {"blinding": "double", "data_source": "primary", "participants": 300} | kw
    return Assessed(key, key.title(), design, **values)


def rules(certainty) -> list[str]:
    return [step.rule for step in certainty.steps]


def test_large_blinded_consistent_precise_trials_are_high():
    result = assess([trial("a"), trial("b")], ci_width=10.0, i2=20.0)
    assert result.level == "high"
    assert rules(result) == ["start-trials"]
    assert result.cautions == ()


def test_quasi_randomisation_rates_down_for_risk_of_bias():
    result = assess([trial("q", "quasi-rct")], ci_width=10.0, i2=None)
    assert result.start == "high"
    assert rules(result) == ["start-trials", "risk-of-bias"]
    assert result.level == "moderate"
    assert result.steps[1].keys == ("q",)


def test_open_or_unclear_blinding_rates_down_but_unrecorded_blinding_does_not():
    assert "risk-of-bias" in rules(assess([trial(blinding="open")], 10.0, None))
    assert "risk-of-bias" in rules(assess([trial(blinding="unclear")], 10.0, None))
    assert "risk-of-bias" not in rules(assess([trial(blinding=None)], 10.0, None))


def test_small_total_size_inconsistency_and_imprecision_each_rate_down():
    result = assess([trial(participants=SMALL_TOTAL - 1)], ci_width=35.0, i2=75.0)
    assert rules(result) == ["start-trials", "small", "inconsistency", "imprecision"]
    assert result.level == "very low"
    values = {step.rule: step.value for step in result.steps}
    assert values == {"start-trials": None, "small": SMALL_TOTAL - 1, "inconsistency": 75.0, "imprecision": 35.0}


def test_no_interval_at_all_counts_as_imprecise_and_no_size_as_small():
    result = assess([trial(participants=None)], ci_width=None, i2=None)
    small = next(step for step in result.steps if step.rule == "small")
    assert small.value is None
    assert "imprecision" in rules(result)


def test_uncontrolled_case_series_start_low_and_say_they_cannot_show_cause():
    result = assess([trial("cs", "case-series")], ci_width=10.0, i2=None)
    assert result.start == "low"
    assert result.level == "low"
    (caution,) = result.cautions
    assert caution.rule == "no-comparison"
    assert caution.keys == ("cs",)
    assert "cannot show that the treatment caused the improvement" in caution.plain


def test_unknown_design_and_secondary_data_say_they_cannot_show_cause():
    seed = [
        Assessed("wang1994", "Wang 1994", None, data_source="secondary"),
        Assessed("yang1993", "Yang 1993", None, data_source="secondary"),
    ]
    result = assess(seed, ci_width=None, i2=None)
    assert result.level == "very low"
    assert rules(result) == ["start-other", "secondary", "small", "imprecision"]
    cautions = {c.rule: c for c in result.cautions}
    assert set(cautions) == {"design-unknown", "secondary-source"}
    for caution in cautions.values():
        assert caution.labels == ("Wang 1994", "Yang 1993")
        assert "cannot show that the treatment caused the improvement" in caution.plain


def test_a_mixed_body_starts_at_its_weakest_design():
    result = assess([trial("a"), trial("b", "cohort")], ci_width=10.0, i2=None)
    assert result.start == "low"
    assert result.steps[0].keys == ("b",)


def test_nothing_to_rate_gives_no_level():
    result = assess([], ci_width=None, i2=None)
    assert result.level is None and result.steps == ()


def test_every_rule_has_wording_a_patient_can_read():
    for rule, text in WORDING.items():
        assert text.endswith("."), rule
        assert "I²" not in text and "tau" not in text, rule  # no jargon in the rule wording


@given(
    st.lists(
        st.builds(
            Assessed,
            key=st.text(min_size=1, max_size=5),
            label=st.just("x"),
            design=st.sampled_from((*DESIGNS, None)),
            blinding=st.sampled_from(("double", "single", "open", "unclear", None)),
            data_source=st.sampled_from(("primary", "secondary", None)),
            participants=st.none() | st.integers(0, 1000),
        ),
        min_size=1,
        max_size=6,
    ),
    st.none() | st.floats(0, 100),
    st.none() | st.floats(0, 100),
)
def test_the_level_is_the_start_less_the_downgrades_floored(studies, width, i2):
    result = assess(studies, width, i2)
    downs = -sum(step.change for step in result.steps)
    assert result.level == LEVELS[max(0, LEVELS.index(result.start) - downs)]
