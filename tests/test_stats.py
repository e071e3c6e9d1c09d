"""Statistics against hand-worked examples: every expected value is computed here from
the textbook formula, written out, not taken from the code under test."""

from __future__ import annotations

import csv as _csv
import json as _json
import math
from pathlib import Path as _Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.analysis.stats import (
    PROPORTION_METHODS,
    continuous_effect,
    dichotomous_effect,
    dl_tau2,
    fit_inverse_variance,
    fit_mantel_haenszel,
    logit_effect,
    pool_proportions,
    reml_tau2,
    risk_ratio,
    wilson_interval,
    wilson_intervals,
    zero_cell_corrected,
)
from evidence.errors import EvidenceError

Z = 1.959963984540054  # the 97.5th percentile of the standard normal


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


# --- Wilson ------------------------------------------------------------------


@pytest.mark.parametrize("x, n", [(27, 40), (0, 10), (10, 10), (1, 3), (18, 40)])
def test_wilson_interval_matches_the_formula(x, n):
    low, high = wilson_by_hand(x, n)
    interval = wilson_interval(x, n)
    assert interval.low == pytest.approx(max(0.0, low), abs=1e-12)
    assert interval.high == pytest.approx(min(1.0, high), abs=1e-12)


def test_wilson_for_the_seed_study():
    # Shi 2003: 27 of 40 cured -> 52.0% to 79.9%
    interval = wilson_interval(27, 40)
    assert (round(100 * interval.low, 1), round(100 * interval.high, 1)) == (52.0, 79.9)


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(5, 0)
    with pytest.raises(ValueError):
        wilson_interval(6, 5)


@st.composite
def counts_and_totals(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    totals = draw(st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=30))
    return [draw(st.integers(min_value=0, max_value=n)) for n in totals], totals


@given(counts_and_totals(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
@settings(max_examples=300, deadline=None)
def test_wilson_intervals_equal_statsmodels_for_every_study(pairs, level):
    from statsmodels.stats.proportion import proportion_confint

    responders, totals = pairs
    lows, highs = wilson_intervals(responders, totals, level)
    assert len(lows) == len(highs) == len(totals)
    for x, n, low, high in zip(responders, totals, lows, highs):
        ref_low, ref_high = proportion_confint(x, n, alpha=1 - level, method="wilson")
        assert low == pytest.approx(0.0 if x == 0 else ref_low, abs=1e-12)
        assert high == pytest.approx(1.0 if x == n else ref_high, abs=1e-12)
        assert low <= x / n <= high  # a rate lies in its interval
        assert (low == 0.0) == (x == 0) and (high == 1.0) == (x == n)


@given(counts_and_totals())
@settings(max_examples=100, deadline=None)
def test_wilson_intervals_equal_one_call_per_study(pairs):
    responders, totals = pairs
    lows, highs = wilson_intervals(responders, totals)
    assert [wilson_interval(x, n) for x, n in zip(responders, totals)] == [
        type(wilson_interval(1, 2))(low, high) for low, high in zip(lows, highs)
    ]


def test_wilson_intervals_reject_impossible_counts_and_mismatched_lengths():
    with pytest.raises(ValueError, match="6/5"):
        wilson_intervals([1, 6], [2, 5])
    with pytest.raises(ValueError, match="0 <= responders"):
        wilson_intervals([0], [0])
    with pytest.raises(ValueError, match="as many"):
        wilson_intervals([1, 2], [3])
    assert wilson_intervals([], []) == ([], [])


# --- logit effects and the continuity correction ------------------------------


def test_logit_effect_is_uncorrected_for_ordinary_counts():
    effect = logit_effect(3, 10)
    assert not effect.corrected
    assert effect.logit == pytest.approx(math.log(3 / 7))
    assert effect.variance == pytest.approx(1 / 3 + 1 / 7)


def test_zero_responders_get_half_added_and_n_one():
    effect = logit_effect(0, 10)
    assert effect.corrected
    assert effect.logit == pytest.approx(math.log(0.5 / 10.5))  # 0.5 / (11 - 0.5)
    assert effect.variance == pytest.approx(1 / 0.5 + 1 / 10.5)


def test_all_responders_get_half_added_and_n_one():
    effect = logit_effect(10, 10)
    assert effect.corrected
    assert effect.logit == pytest.approx(math.log(10.5 / 0.5))
    assert effect.variance == pytest.approx(1 / 10.5 + 1 / 0.5)


# --- pooling by hand ------------------------------------------------------------

#: Four studies, one with no responders and one with all of them.
STUDIES = [(3, 10), (0, 10), (10, 10), (12, 20)]


def by_hand(studies, random_effects: bool):
    """Inverse-variance pooling on the logit scale, DerSimonian-Laird tau² by the textbook formula."""
    ys, vs = [], []
    for x, n in studies:
        if x in (0, n):  # the correction applies only to this study
            x, n = x + 0.5, n + 1
        ys.append(math.log(x / (n - x)))
        vs.append(1 / x + 1 / (n - x))
    w = [1 / v for v in vs]
    mean_fe = sum(wi * yi for wi, yi in zip(w, ys)) / sum(w)
    q = sum(wi * (yi - mean_fe) ** 2 for wi, yi in zip(w, ys))
    df = len(studies) - 1
    c = sum(w) - sum(wi**2 for wi in w) / sum(w)
    tau2 = max(0.0, (q - df) / c) if random_effects else 0.0
    w_star = [1 / (v + tau2) for v in vs]
    mean = sum(wi * yi for wi, yi in zip(w_star, ys)) / sum(w_star)
    se = 1 / math.sqrt(sum(w_star))
    i2 = max(0.0, (q - df) / q) * 100
    return {
        "estimate": expit(mean),
        "low": expit(mean - Z * se),
        "high": expit(mean + Z * se),
        "tau2": tau2,
        "q": q,
        "i2": i2,
    }


def test_dersimonian_laird_matches_the_textbook_formula():
    expected = by_hand(STUDIES, random_effects=True)
    pooled = pool_proportions(STUDIES, "dl")
    assert expected["tau2"] > 0  # the example is heterogeneous, so the RE step matters
    assert pooled.tau2 == pytest.approx(expected["tau2"], rel=1e-9)
    assert pooled.q == pytest.approx(expected["q"], rel=1e-9)
    assert pooled.i2 == pytest.approx(expected["i2"], rel=1e-9)
    assert pooled.estimate == pytest.approx(expected["estimate"], rel=1e-9)
    assert pooled.ci.low == pytest.approx(expected["low"], rel=1e-9)
    assert pooled.ci.high == pytest.approx(expected["high"], rel=1e-9)
    assert pooled.corrected == (False, True, True, False)


def test_fixed_effect_matches_the_textbook_formula():
    expected = by_hand(STUDIES, random_effects=False)
    pooled = pool_proportions(STUDIES, "fixed")
    assert pooled.tau2 == 0.0
    assert pooled.estimate == pytest.approx(expected["estimate"], rel=1e-9)
    assert pooled.ci.low == pytest.approx(expected["low"], rel=1e-9)
    assert pooled.ci.high == pytest.approx(expected["high"], rel=1e-9)
    assert sum(pooled.weights) == pytest.approx(1.0)


def test_dl_truncates_a_negative_tau2_at_zero():
    # Two nearly equal studies: Q < df, so the raw DL value is negative.
    homogeneous = [(10, 20), (11, 20)]
    expected = by_hand(homogeneous, random_effects=False)
    pooled = pool_proportions(homogeneous, "dl")
    assert pooled.tau2 == 0.0
    assert pooled.i2 == 0.0
    assert pooled.estimate == pytest.approx(expected["estimate"], rel=1e-9)


def test_equal_variances_give_the_closed_form_tau2_for_dl_and_reml():
    # With equal within-study variances v, both DL and REML give tau² = s² - v,
    # s² being the sample variance (k - 1) of the logits.  Here y = ±log 4, v = 1/2 + 1/8.
    studies = [(2, 10), (8, 10), (2, 10), (8, 10)]
    y = [math.log(2 / 8), math.log(8 / 2)] * 2
    v = 1 / 2 + 1 / 8
    s2 = sum((yi - 0.0) ** 2 for yi in y) / (len(y) - 1)
    for method in ("dl", "reml"):
        pooled = pool_proportions(studies, method)
        assert pooled.tau2 == pytest.approx(s2 - v, rel=1e-6), method
        assert pooled.estimate == pytest.approx(0.5, abs=1e-9)  # symmetric about 50%


def reml_loglik(tau2, y, v):
    """The restricted log-likelihood, written out independently of evidence.analysis.stats."""
    w = [1 / (vi + tau2) for vi in v]
    mu = sum(wi * yi for wi, yi in zip(w, y)) / sum(w)
    return -0.5 * (
        sum(math.log(vi + tau2) for vi in v) + math.log(sum(w)) + sum(wi * (yi - mu) ** 2 for wi, yi in zip(w, y))
    )


def test_reml_tau2_maximises_the_restricted_likelihood():
    effects = [logit_effect(x, n) for x, n in STUDIES]
    y, v = [e.logit for e in effects], [e.variance for e in effects]
    tau2 = reml_tau2(y, v)
    best = reml_loglik(tau2, y, v)
    for other in (tau2 * 0.9, tau2 * 1.1, tau2 + 0.01, max(0.0, tau2 - 0.01), 0.0, 10 * tau2):
        assert best >= reml_loglik(other, y, v) - 1e-12
    pooled = pool_proportions(STUDIES, "reml")
    assert pooled.tau2 == pytest.approx(tau2)
    w = [1 / (vi + tau2) for vi in v]
    mean = sum(wi * yi for wi, yi in zip(w, y)) / sum(w)
    assert pooled.estimate == pytest.approx(expit(mean), rel=1e-9)
    assert pooled.logit_se == pytest.approx(1 / math.sqrt(sum(w)), rel=1e-9)


def test_reml_is_zero_without_heterogeneity():
    assert pool_proportions([(10, 20), (11, 20)], "reml").tau2 == 0.0


def test_a_single_study_pools_to_itself_without_i2():
    pooled = pool_proportions([(27, 40)], "dl")
    assert pooled.estimate == pytest.approx(27 / 40)
    assert pooled.i2 is None


def test_unknown_method_is_refused():
    with pytest.raises(ValueError):
        pool_proportions(STUDIES, "bayes")


# --- risk ratios ------------------------------------------------------------------


def test_risk_ratio_katz_interval_by_hand():
    # Shi 2003: 27/40 with acupuncture plus herbal washing vs 18/40 with drugs.
    rr = risk_ratio(27, 40, 18, 40)
    se = math.sqrt(1 / 27 - 1 / 40 + 1 / 18 - 1 / 40)
    assert rr.estimate == pytest.approx(1.5)
    assert rr.ci.low == pytest.approx(1.5 * math.exp(-Z * se), rel=1e-9)
    assert rr.ci.high == pytest.approx(1.5 * math.exp(Z * se), rel=1e-9)
    assert not rr.corrected


def test_risk_ratio_with_a_zero_cell_adds_half_to_every_cell():
    rr = risk_ratio(0, 40, 10, 40)
    a, n1, c, n2 = 0.5, 41, 10.5, 41
    estimate = (a / n1) / (c / n2)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    assert rr.corrected
    assert rr.estimate == pytest.approx(estimate)
    assert rr.ci.low == pytest.approx(estimate * math.exp(-Z * se), rel=1e-9)
    assert rr.ci.high == pytest.approx(estimate * math.exp(Z * se), rel=1e-9)


def test_risk_ratio_is_not_estimable_when_both_arms_are_zero_or_all():
    assert risk_ratio(0, 20, 0, 20) is None
    assert risk_ratio(20, 20, 15, 15) is None


# --- properties -----------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts)
def test_a_rate_lies_in_its_wilson_interval(pair):
    x, n = pair
    interval = wilson_interval(x, n)
    assert 0.0 <= interval.low <= x / n <= interval.high <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(counts, min_size=2, max_size=8), st.sampled_from(PROPORTION_METHODS))
def test_pooled_estimate_lies_between_the_study_rates(studies, method):
    pooled = pool_proportions(studies, method)
    analysed = [logit_effect(x, n).rate for x, n in studies]  # after any continuity correction
    assert min(analysed) - 1e-9 <= pooled.estimate <= max(analysed) + 1e-9
    assert pooled.ci.low <= pooled.estimate <= pooled.ci.high
    assert pooled.tau2 >= 0.0
    assert 0.0 <= pooled.i2 <= 100.0


# --- comparisons: effect sizes and pooling against R's metafor -------------------------------------------------
# tests/data/metafor/make_reference.R computed these with metafor (escalc, rma.uni, rma.mh, predict); the
# input data sit beside the values, so the tests run without R.


METAFOR = _Path(__file__).parent / "data" / "metafor"
REFERENCE = _json.loads((METAFOR / "reference.json").read_text())["values"]
TOLERANCE = 1e-4
DICHOTOMOUS_COLUMNS = ("ai", "n1i", "ci", "n2i")
CONTINUOUS_COLUMNS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


def _dataset(name: str) -> list[dict[str, str]]:
    with open(METAFOR / f"{name}.csv", newline="") as handle:
        return list(_csv.DictReader(handle))


def _effects(dataset: str, measure: str) -> list[tuple[float, float]]:
    rows = _dataset(dataset)
    if measure in ("md", "smd"):
        return [continuous_effect(measure, *(float(r[c]) for c in CONTINUOUS_COLUMNS)) for r in rows]
    return [dichotomous_effect(measure, *(float(r[c]) for c in DICHOTOMOUS_COLUMNS)) for r in rows]


def _label(ref: dict) -> str:
    return f"{ref['dataset']}-{ref['measure']}-{ref['method']}{'-hksj' if ref.get('hksj') else ''}"


def _assert_close(got: object, want: object, what: str) -> None:
    wants = want if isinstance(want, list) else [want]
    gots = list(got) if isinstance(got, (list, tuple)) else [got]
    assert len(gots) == len(wants), what
    for g, w in zip(gots, wants):
        assert g == pytest.approx(w, abs=TOLERANCE), what


def test_the_reference_covers_what_the_issue_asks():
    labels = {_label(r) for r in REFERENCE}
    for measure in ("rr", "or", "rd"):
        for method in ("dl", "reml", "reml-hksj", "mh", "fixed"):
            assert f"bcg-{measure}-{method}" in labels
            assert f"{'multiarm00' if measure == 'rd' else 'multiarm'}-{measure}-{method}" in labels
    assert {"normand1999-md-reml", "normand1999-smd-dl"} <= labels


@pytest.mark.parametrize("ref", [r for r in REFERENCE if r["method"] == "escalc"], ids=_label)
def test_effect_sizes_match_escalc(ref):
    effects = _effects(ref["dataset"], ref["measure"])
    _assert_close([e[0] for e in effects], ref["yi"], "yi")
    _assert_close([e[1] for e in effects], ref["vi"], "vi")


@pytest.mark.parametrize("ref", [r for r in REFERENCE if r["method"] not in ("escalc", "mh")], ids=_label)
def test_inverse_variance_pooling_matches_rma(ref):
    effects = _effects(ref["dataset"], ref["measure"])
    model = fit_inverse_variance([e[0] for e in effects], [e[1] for e in effects], ref["method"], ref["hksj"])
    for name in ("beta", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "I2", "QE", "QEp", "k", "weights"):
        _assert_close(getattr(model, name), ref[name], f"{_label(ref)} {name}")


@pytest.mark.parametrize("ref", [r for r in REFERENCE if r["method"] == "mh"], ids=_label)
def test_mantel_haenszel_matches_rma_mh(ref):
    tables = [tuple(float(r[c]) for c in DICHOTOMOUS_COLUMNS) for r in _dataset(ref["dataset"])]
    model = fit_mantel_haenszel(ref["measure"], tables)
    for name in ("beta", "se", "ci_lb", "ci_ub", "I2", "QE", "QEp", "k", "weights"):
        _assert_close(getattr(model, name), ref[name], f"{_label(ref)} {name}")


def test_bcg_risk_ratio_reads_as_published():
    # the BCG vaccine halves the risk of tuberculosis: REML RR 0.49 (0.34 to 0.70), as in metafor's manual
    effects = _effects("bcg", "rr")
    model = fit_inverse_variance([e[0] for e in effects], [e[1] for e in effects], "reml")
    assert [round(math.exp(x), 2) for x in (model.beta, model.ci_lb, model.ci_ub)] == [0.49, 0.34, 0.70]
    assert round(model.tau2, 4) == 0.3132


def test_zero_cells_get_half_only_when_a_cell_is_zero():
    assert zero_cell_corrected(0, 20, 3, 20) == (0.5, 21, 3.5, 21)
    assert zero_cell_corrected(20, 20, 3, 20) == (20.5, 21, 3.5, 21)
    assert zero_cell_corrected(1, 20, 3, 20) == (1, 20, 3, 20)


def test_dl_tau2_is_truncated_at_zero():
    assert dl_tau2([0.1, 0.1, 0.1], [0.1, 0.2, 0.3]) == 0.0


def test_single_study_pools_to_itself():
    model = fit_inverse_variance([0.4], [0.04], "reml")
    assert (model.beta, model.tau2, model.QE, model.k) == (0.4, 0.0, 0.0, 1)
    assert model.ci_lb == pytest.approx(0.4 - Z * 0.2)


# --- properties of the pooled effects ---------------------------------------------------------------------------

study_effects = st.lists(
    st.tuples(
        st.floats(min_value=-3, max_value=3, allow_nan=False), st.floats(min_value=0.01, max_value=2, allow_nan=False)
    ),
    min_size=2,
    max_size=10,
)
arm_counts = st.integers(min_value=1, max_value=200).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(study_effects)
@settings(max_examples=60, deadline=None)
def test_fixed_estimate_lies_between_the_study_estimates(effects):
    model = fit_inverse_variance([y for y, _ in effects], [v for _, v in effects], "fixed")
    assert min(y for y, _ in effects) - 1e-9 <= model.beta <= max(y for y, _ in effects) + 1e-9
    assert sum(model.weights) == pytest.approx(100)


@given(study_effects, st.sampled_from(["fixed", "dl", "reml"]), st.booleans())
@settings(max_examples=60, deadline=None)
def test_ci_contains_the_estimate_and_pi_contains_the_ci(effects, method, hksj):
    model = fit_inverse_variance([y for y, _ in effects], [v for _, v in effects], method, hksj)
    assert model.ci_lb <= model.beta <= model.ci_ub
    assert model.pi_lb <= model.ci_lb + 1e-12 and model.ci_ub <= model.pi_ub + 1e-12
    assert model.tau2 >= 0 and 0 <= model.I2 <= 100 and 0 <= model.QEp <= 1


@given(arm_counts, arm_counts, st.sampled_from(["rr", "or"]))
@settings(max_examples=100, deadline=None)
def test_swapping_the_arms_inverts_a_ratio(first, second, measure):
    (a, n1), (c, n2) = first, second
    if measure == "or" and ((a in (0, n1) and c in (0, n2)) and (a == 0) == (c == 0)):
        return  # both arms all or none: no odds ratio
    yi, vi = dichotomous_effect(measure, a, n1, c, n2)
    swapped, swapped_vi = dichotomous_effect(measure, c, n2, a, n1)
    assert swapped == pytest.approx(-yi, abs=1e-9) and swapped_vi == pytest.approx(vi)


@given(st.lists(st.tuples(arm_counts, arm_counts), min_size=1, max_size=6), st.sampled_from(["rr", "or", "rd"]))
@settings(max_examples=60, deadline=None)
def test_mantel_haenszel_lies_inside_its_interval(pairs, measure):
    tables = [(a, n1, c, n2) for (a, n1), (c, n2) in pairs]
    a_total, c_total = sum(t[0] for t in tables), sum(t[2] for t in tables)
    no_ratio = a_total == 0 or c_total == 0 or sum(t[1] - t[0] for t in tables) == 0
    if (measure in ("rr", "or") and no_ratio) or (measure == "or" and sum(t[3] - t[2] for t in tables) == 0):
        return
    try:
        model = fit_mantel_haenszel(measure, tables)
    except EvidenceError as error:  # e.g. every study all-or-none in a way no MH odds ratio survives
        assert "not estimable" in str(error)
        return
    assert model.ci_lb <= model.beta <= model.ci_ub


@given(study_effects, st.sampled_from(["dl", "reml"]))
@settings(max_examples=60, deadline=None)
def test_random_effects_estimate_lies_between_the_study_estimates(effects, method):
    model = fit_inverse_variance([y for y, _ in effects], [v for _, v in effects], method)
    assert min(y for y, _ in effects) - 1e-9 <= model.beta <= max(y for y, _ in effects) + 1e-9


@given(study_effects)
@settings(max_examples=60, deadline=None)
def test_dl_i2_is_the_q_based_i2(effects):
    # metafor's I2 = tau2 / (tau2 + s2) equals the Cochrane Handbook's (Q - df) / Q under DerSimonian-Laird
    model = fit_inverse_variance([y for y, _ in effects], [v for _, v in effects], "dl")
    q_based = max(0.0, 100 * (model.QE - (model.k - 1)) / model.QE) if model.QE > 0 else 0.0
    assert pytest.approx(q_based, abs=1e-6) == model.I2


def test_statsmodels_smd_is_not_metafors_which_is_why_we_write_escalc_out():
    from statsmodels.stats.meta_analysis import effectsize_smd

    ref = next(r for r in REFERENCE if (r["dataset"], r["measure"], r["method"]) == ("normand1999", "smd", "escalc"))
    rows = _dataset("normand1999")
    _, variances = effectsize_smd(*(np.array([float(r[c]) for r in rows]) for c in CONTINUOUS_COLUMNS))
    assert max(abs(a - b) for a, b in zip(variances, ref["vi"])) > TOLERANCE
    ours = [v for _, v in _effects("normand1999", "smd")]
    assert max(abs(a - b) for a, b in zip(ours, ref["vi"])) < TOLERANCE
