"""Comparisons drawn from the outcome table, and their pooled effects against R's metafor end to end."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA, EXAMPLE_REFS
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.analysis.comparisons import Arm, Comparison, StudyComparison, comparisons
from evidence.analysis.stats import pool
from evidence.errors import EvidenceError
from evidence.library.outcomes import OutcomeRow, load_outcomes, outcome_frame
from evidence.library.table import load_table

METAFOR = DATA / "metafor"
REFERENCE = json.loads((METAFOR / "reference.json").read_text())["values"]
TOLERANCE = 1e-4


def reference(dataset: str, measure: str, method: str, hksj: bool = False) -> dict:
    return next(
        r
        for r in REFERENCE
        if (r["dataset"], r["measure"], r["method"], r.get("hksj", False)) == (dataset, measure, method, hksj)
    )


def load(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    studies = load_table(paths, use_cache=False).table
    outcomes, problems = load_outcomes(paths, studies)
    assert [p for p in problems if p.severity == "error"] == []
    return outcomes, studies


def assert_matches_metafor(result, ref: dict, measure: str) -> None:
    back = math.exp if measure in ("rr", "or") else (lambda x: x)
    for name in ("ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        assert getattr(result, name) == pytest.approx(back(ref[name]), abs=TOLERANCE), name
    assert result.estimate == pytest.approx(back(ref["beta"]), abs=TOLERANCE)
    for name in ("tau2", "I2", "QE", "QEp", "k"):
        assert getattr(result, name) == pytest.approx(ref[name], abs=TOLERANCE), name
    assert [s.weight for s in result.studies] == pytest.approx(ref["weights"], abs=TOLERANCE)


# --- the example library: Shi 2003's three arms -----------------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    return load([EXAMPLE_REFS])


def test_shi_2003s_shared_control_is_split_between_its_two_comparisons(example):
    found, excluded = comparisons(*example, outcome="cure")
    assert excluded == []
    (cure,) = found
    assert (cure.outcome, cure.timepoint, cure.kind, cure.better) == (
        "cure",
        "immediately after treatment",
        "dichotomous",
        "higher",
    )
    assert cure.comparator == "oryzanol plus diazepam"
    assert cure.intervention == "acupuncture plus herbal steaming washing; acupuncture"
    pairs = [
        (s.intervention.label, s.intervention.events, s.intervention.n, s.control.events, s.control.n)
        for s in cure.studies
    ]
    assert pairs == [("acupuncture plus herbal steaming washing", 27, 40, 9, 20), ("acupuncture", 19, 40, 9, 20)]
    assert all(s.shared_control_split and s.design == "quasi-rct" and not s.verified for s in cure.studies)
    assert cure.notes == (
        "shi2003: the oryzanol plus diazepam arm is shared by 2 comparisons, so its n and events "
        "are split evenly among them (Cochrane Handbook 23.3.4)",
    )
    pooled = pool(cure, method="fixed")
    assert (pooled.k, pooled.participants, pooled.events) == (2, 120, 64)
    assert [round(s.estimate, 4) for s in pooled.studies] == [
        round(27 / 40 / (9 / 20), 4),
        round(19 / 40 / (9 / 20), 4),
    ]


def test_filters_pick_one_pair_and_then_nothing_is_split(example):
    found, _ = comparisons(*example, intervention="herbal", comparator="diazepam")
    assert [c.outcome for c in found] == ["cure", "marked effect"]
    cure = found[0]
    assert (cure.intervention, cure.comparator, cure.notes) == ("herbal", "diazepam", ())
    (study,) = cure.studies
    assert (study.control.n, study.control.events, study.shared_control_split) == (40, 18, False)
    pooled = pool(cure)
    assert pooled.estimate == pytest.approx(1.5) and pooled.k == 1 and pooled.pi_lb == pooled.ci_lb
    assert comparisons(*example, comparator="sham")[0] == []


# --- what cannot be compared -------------------------------------------------------------------------------------

BIB = """@article{a2020, author = {A, B}, title = {T}, journal = {J}, year = 2020, design = {rct}, blinding = {double},
  intervention = {acupuncture}, comparator = {sham acupuncture}, n = {30}, responders = {12}, control_n = {30},
  control_responders = {9}}
@article{b2021, author = {C, D}, title = {U}, journal = {J}, year = 2021, design = {rct}, comparator = {sham needling}}
@article{c2022, author = {E, F}, title = {V}, journal = {J}, year = 2022, design = {case-series}, n = {20},
  responders = {15}}
@article{d2023, author = {G, H}, title = {W}, journal = {J}, year = 2023}
"""
CSV = """key,outcome,timepoint,arm,role,n,events,mean,sd,better,verified_by,extracted_by
b2021,response,,needles,intervention,25,10,,,higher,CD,AB
b2021,response,,control,control,25,5,,,higher,CD,AB
b2021,pain,,needles,intervention,25,,3.2,1.1,lower,,
b2021,pain,,control,control,25,,4.0,,lower,,
d2023,response,,needles,intervention,40,22,,,higher,,
"""


@pytest.fixture
def small(tmp_path):
    (tmp_path / "lib.bib").write_text(BIB)
    (tmp_path / "lib.outcomes.csv").write_text(CSV)
    studies = load_table([tmp_path], use_cache=False).table
    outcomes, problems = load_outcomes([tmp_path], studies)
    return tmp_path, outcomes, studies, problems


def test_comparisons_that_cannot_be_made_are_excluded_and_named(small):
    _, outcomes, studies, _ = small
    found, excluded = comparisons(outcomes, studies)
    assert sorted((e.key, e.outcome, e.reason) for e in excluded) == [
        ("b2021", "pain", "continuous outcome without an SD"),
        ("d2023", "response", "no control arm"),
    ]
    by_comparator = {c.comparator: c for c in found}
    assert set(by_comparator) == {"sham acupuncture", "control"}  # c2022, a case series, is a rate: not excluded
    assert [e.key for e in by_comparator["control"].excluded] == ["d2023"]
    b2021 = by_comparator["control"].studies[0]
    assert (b2021.verified, b2021.blinding, by_comparator["sham acupuncture"].studies[0].blinding) == (
        True,
        None,
        "double",
    )


def test_comparator_matches_the_comparator_field_when_no_arm_label_does(small):
    _, outcomes, studies, _ = small
    found, _ = comparisons(outcomes, studies, comparator="sham", outcome="response")
    (sham,) = found
    assert sham.comparator == "sham" and [s.key for s in sham.studies] == ["a2020", "b2021"]
    assert [s.control.label for s in sham.studies] == ["sham acupuncture", "control"]
    pooled = pool(sham, measure="or", method="dl")
    assert pooled.k == 2 and pooled.participants == 110 and pooled.events == 36


def test_check_reports_the_comparisons_that_cannot_be_made(small):
    path, _, studies, problems = small
    from evidence.library.outcomes import outcome_problems

    found = [str(p) for p in outcome_problems([path], studies) if p.severity == "warning"]
    file = path / "lib.outcomes.csv"
    assert f"{file}:4: b2021: warning: 'pain' cannot be compared: continuous outcome without an SD" in found
    assert f"{file}:6: d2023: warning: 'response' cannot be compared: no control arm" in found


def test_mixed_kinds_in_one_study_are_excluded():
    rows = [
        OutcomeRow(
            {
                "key": "x",
                "outcome": "o",
                "timepoint": "",
                "arm": "a",
                "role": "intervention",
                "n": 10,
                "events": 2,
                "better": "higher",
            },
            "f",
            2,
        ),
        OutcomeRow(
            {
                "key": "x",
                "outcome": "o",
                "timepoint": "",
                "arm": "b",
                "role": "control",
                "n": 10,
                "mean": 2.0,
                "sd": 1.0,
                "better": "higher",
            },
            "f",
            3,
        ),
    ]
    table = outcome_frame([(row, "csv") for row in rows])
    found, excluded = comparisons(table, pd.DataFrame({"key": ["x"]}))
    assert found == [] and [(e.key, e.reason) for e in excluded] == [
        ("x", "mixed outcome kinds (dichotomous and continuous rows)")
    ]


# --- pooling rules -----------------------------------------------------------------------------------------------


def comparison(*studies: tuple[str, float, float, float, float], kind: str = "dichotomous") -> Comparison:
    pairs = []
    for key, a, n1, c, n2 in studies:
        pairs.append(
            StudyComparison(
                key,
                "response",
                "",
                kind,
                "higher",
                Arm("t", "intervention", n1, a, None, None),
                Arm("c", "control", n2, c, None, None),
                False,
                "rct",
                False,
                None,
                None,
            )
        )
    return Comparison("response", "", kind, "higher", "t", "c", tuple(pairs), (), ())


def test_studies_without_events_are_left_out_of_ratios_and_named():
    both_zero = comparison(("s1", 10, 50, 5, 50), ("s2", 0, 20, 0, 20), ("s3", 0, 30, 4, 30))
    rr = pool(both_zero, "rr", "dl")
    assert rr.k == 2 and [(e.key, e.reason) for e in rr.excluded] == [("s2", "no events in either arm")]
    # s3 has a zero cell: 0.5 is added to each of its cells, and only its
    assert rr.studies[1].estimate == pytest.approx((0.5 / 31) / (4.5 / 31))
    assert rr.studies[0].estimate == pytest.approx(2.0)
    rd = pool(both_zero, "rd", "dl")
    assert rd.k == 3 and rd.excluded == ()
    with pytest.raises(EvidenceError, match=r"^t vs c, response: no study can be pooled by or \(s1: no events"):
        pool(comparison(("s1", 0, 10, 0, 10)), "or")


def test_impossible_combinations_stop_with_one_line_naming_the_comparison():
    dichotomous = comparison(("s1", 3, 10, 2, 10))
    with pytest.raises(EvidenceError, match=r"^t vs c, response: smd is for continuous outcomes; this one is "):
        pool(dichotomous, "smd")
    continuous = Comparison("pain", "6 weeks", "continuous", "lower", "t", "c", (), (), ())
    with pytest.raises(EvidenceError, match=r"^t vs c, pain \(6 weeks\): Mantel-Haenszel pooling is for dichotomous"):
        pool(continuous, method="mh")
    with pytest.raises(EvidenceError, match="unknown method 'pm'"):
        pool(dichotomous, method="pm")
    with pytest.raises(EvidenceError, match="Hartung-Knapp"):
        pool(dichotomous, method="mh", hksj=True)


def test_swapping_the_arms_inverts_the_pooled_risk_ratio():
    forward = comparison(("s1", 10, 50, 5, 50), ("s2", 7, 20, 9, 21), ("s3", 1, 30, 4, 30))
    backward = comparison(
        *[(s.key, s.control.events, s.control.n, s.intervention.events, s.intervention.n) for s in forward.studies]
    )
    for method in ("dl", "reml", "fixed", "mh"):
        a, b = pool(forward, "rr", method), pool(backward, "rr", method)
        assert a.estimate * b.estimate == pytest.approx(1)
        assert a.ci_lb * b.ci_ub == pytest.approx(1) and a.tau2 == pytest.approx(b.tau2, abs=1e-9)


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 40)).map(lambda t: (min(t), max(t))), min_size=2, max_size=4),
    st.integers(0, 60).map(lambda e: (e, 60)),
)
@settings(max_examples=60, deadline=None)
def test_a_split_control_adds_up_to_the_real_arm(arms, control):
    rows = [
        OutcomeRow(
            {
                "key": "x",
                "outcome": "o",
                "timepoint": "",
                "arm": f"arm{i}",
                "role": "intervention",
                "n": n,
                "events": e,
                "better": "higher",
            },
            "f",
            i + 2,
        )
        for i, (e, n) in enumerate(arms)
    ]
    rows.append(
        OutcomeRow(
            {
                "key": "x",
                "outcome": "o",
                "timepoint": "",
                "arm": "control",
                "role": "control",
                "n": control[1],
                "events": control[0],
                "better": "higher",
            },
            "f",
            9,
        )
    )
    (found,), _ = comparisons(outcome_frame([(r, "csv") for r in rows]), pd.DataFrame({"key": ["x"]}))
    assert len(found.studies) == len(arms)
    assert sum(s.control.n for s in found.studies) == pytest.approx(control[1])
    assert sum(s.control.events for s in found.studies) == pytest.approx(control[0])
    assert all(s.shared_control_split for s in found.studies) and len(found.notes) == 1


# --- end to end against metafor -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multiarm():
    found, excluded = comparisons(*load([METAFOR / "multiarm-library"]))
    assert excluded == []
    (relief,) = found
    return relief


@pytest.mark.parametrize("measure", ["rr", "or", "rd"])
@pytest.mark.parametrize(
    "method, hksj", [("fixed", False), ("dl", False), ("reml", False), ("reml", True), ("dl", True), ("mh", False)]
)
def test_the_multi_arm_case_matches_metafor_on_the_split_data(multiarm, measure, method, hksj):
    result = pool(multiarm, measure, method, hksj)
    dataset = "multiarm00" if measure == "rd" else "multiarm"
    assert_matches_metafor(result, reference(dataset, measure, method, hksj), measure)
    if measure in ("rr", "or"):
        assert [(e.key, e.reason) for e in result.excluded] == [("trial5", "no events in either arm")]
    assert multiarm.studies[2].control.events == 9 and multiarm.studies[2].control.n == 30


def long_library(tmp_path: Path, dataset: str) -> Path:
    """A metafor data set written as a user would: a .bib entry and two outcome rows per study."""
    with open(METAFOR / f"{dataset}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    bib, out = [], ["key,outcome,arm,role,n,events,mean,sd,better"]
    for i, row in enumerate(rows):
        key = f"s{i:02d}"
        bib.append(f"@article{{{key}, author = {{A, B}}, title = {{T{i}}}, journal = {{J}}, year = 2000}}")
        if dataset == "bcg":
            out.append(f"{key},tuberculosis,vaccine,intervention,{row['n1i']},{row['ai']},,,lower")
            out.append(f"{key},tuberculosis,no vaccine,control,{row['n2i']},{row['ci']},,,lower")
        else:
            out.append(
                f"{key},length of stay,specialist care,intervention,{row['n1i']},,{row['m1i']},{row['sd1i']},lower"
            )
            out.append(f"{key},length of stay,routine care,control,{row['n2i']},,{row['m2i']},{row['sd2i']},lower")
    (tmp_path / "lib.bib").write_text("\n".join(bib) + "\n")
    (tmp_path / "lib.outcomes.csv").write_text("\n".join(out) + "\n")
    return tmp_path


@pytest.mark.parametrize(
    "measure, method, hksj",
    [("rr", "reml", False), ("rr", "dl", False), ("or", "mh", False), ("rd", "reml", True), ("rr", "fixed", False)],
)
def test_bcg_through_the_outcome_table_matches_metafor(tmp_path, measure, method, hksj):
    (tuberculosis,), _ = comparisons(*load([long_library(tmp_path, "bcg")]))
    result = pool(tuberculosis, measure, method, hksj)
    assert_matches_metafor(result, reference("bcg", measure, method, hksj), measure)
    escalc = reference("bcg", measure, "escalc")
    assert [s.yi for s in result.studies] == pytest.approx(escalc["yi"], abs=TOLERANCE)
    with open(METAFOR / "bcg.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert result.participants == sum(int(r["n1i"]) + int(r["n2i"]) for r in rows)
    assert result.events == sum(int(r["ai"]) + int(r["ci"]) for r in rows)


@pytest.mark.parametrize("measure, method", [("md", "reml"), ("smd", "dl"), ("md", "dl"), ("smd", "reml")])
def test_normand1999_through_the_outcome_table_matches_metafor(tmp_path, measure, method):
    (stay,), _ = comparisons(*load([long_library(tmp_path, "normand1999")]))
    assert stay.kind == "continuous" and stay.better == "lower"
    result = pool(stay, measure, method)
    assert_matches_metafor(result, reference("normand1999", measure, method), measure)
    escalc = reference("normand1999", measure, "escalc")
    assert [s.yi for s in result.studies] == pytest.approx(escalc["yi"], abs=TOLERANCE)
    assert [s.vi for s in result.studies] == pytest.approx(escalc["vi"], abs=TOLERANCE)
    first = result.studies[0]
    assert first.ci_lb == pytest.approx(first.yi - 1.959964 * math.sqrt(first.vi), abs=1e-5)
    assert result.events is None and result.pi_lb <= result.ci_lb <= result.estimate <= result.ci_ub <= result.pi_ub


def test_measure_defaults_follow_the_kind(tmp_path, multiarm):
    assert pool(multiarm).measure == "rr"
    (stay,), _ = comparisons(*load([long_library(tmp_path, "normand1999")]))
    assert pool(stay).measure == "md"


def test_mantel_haenszel_without_events_in_one_group_stops_with_a_message():
    none_treated = comparison(("s1", 0, 20, 3, 20), ("s2", 0, 15, 2, 15))
    with pytest.raises(EvidenceError, match=r"^t vs c, response: the Mantel-Haenszel RR is not estimable"):
        pool(none_treated, "rr", "mh")
    assert pool(none_treated, "rd", "mh").estimate == pytest.approx(-(3 + 2) / (20 + 15))  # RD is estimable


def test_an_odd_split_keeps_every_participant():
    rows = [
        OutcomeRow({"key": "x", "outcome": "o", "timepoint": "", "arm": arm, "role": role, "n": n, "events": e,
                    "better": "higher"}, "f", i + 2)
        for i, (arm, role, n, e) in enumerate([("a", "intervention", 30, 10), ("b", "intervention", 30, 12),
                                               ("c", "control", 41, 7)])
    ]  # fmt: skip
    (found,), _ = comparisons(outcome_frame([(r, "csv") for r in rows]), pd.DataFrame({"key": ["x"]}))
    assert [s.control.n for s in found.studies] == [20.5, 20.5]
    assert [s.control.events for s in found.studies] == [3.5, 3.5]
    result = pool(found, "rr", "fixed")
    assert (result.participants, result.events) == (101, 29)


def test_a_standardised_mean_difference_needs_more_than_three_people():
    tiny = StudyComparison("s1", "pain", "", "continuous", "lower", Arm("t", "intervention", 2, None, 3.0, 1.0),
                           Arm("c", "control", 1, None, 4.0, 1.0), False, None, False, None, None)  # fmt: skip
    fine = replace(tiny, key="s2", intervention=replace(tiny.intervention, n=20), control=replace(tiny.control, n=20))
    pain = Comparison("pain", "", "continuous", "lower", "t", "c", (tiny, fine), (), ())
    result = pool(pain, "smd", "dl")
    assert result.k == 1 and [(e.key, e.reason) for e in result.excluded] == [
        ("s1", "too few participants for a standardised mean difference")
    ]
    assert pool(pain, "md", "dl").k == 2


def test_one_outcome_measured_two_ways_across_studies_compares_the_common_kind(tmp_path):
    (tmp_path / "lib.bib").write_text(BIB)
    (tmp_path / "lib.outcomes.csv").write_text(
        "key,outcome,arm,role,n,events,mean,sd,better\n"
        "a2020,pain,needles,intervention,30,,3.0,1.0,lower\na2020,pain,sham,control,30,,3.5,1.1,lower\n"
        "b2021,pain,needles,intervention,30,,2.0,1.0,lower\nb2021,pain,sham,control,30,,2.4,1.2,lower\n"
        "d2023,pain,needles,intervention,30,9,,,lower\nd2023,pain,sham,control,30,12,,,lower\n"
    )
    outcomes, studies = load([tmp_path])
    found, excluded = comparisons(outcomes, studies, outcome="pain", comparator="sham")
    (pain,) = found
    assert pain.kind == "continuous" and [s.key for s in pain.studies] == ["a2020", "b2021"]
    reason = "measured as dichotomous here but as continuous in the other studies of this outcome"
    assert [(e.key, e.reason) for e in pain.excluded] == [("d2023", reason)]
    assert [(e.key, e.reason) for e in excluded] == [("d2023", reason)]
    from evidence.library.outcomes import outcome_problems

    found = [str(p) for p in outcome_problems([tmp_path], studies)]
    assert f"{tmp_path / 'lib.outcomes.csv'}:6: d2023: warning: 'pain' cannot be compared: {reason}" in found


two_by_twos = st.lists(
    st.tuples(st.integers(1, 60), st.integers(1, 60)).flatmap(
        lambda ns: st.tuples(st.integers(0, ns[0]), st.just(ns[0]), st.integers(0, ns[1]), st.just(ns[1]))
    ),
    min_size=1,
    max_size=6,
)


@given(two_by_twos, st.sampled_from(["rr", "or", "rd"]), st.sampled_from(["fixed", "dl", "reml", "mh"]), st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_two_by_two_tables_pool_or_say_why(tables, measure, method, hksj):
    keyed = comparison(*[(f"s{i}", a, n1, c, n2) for i, (a, n1, c, n2) in enumerate(tables)])
    try:
        result = pool(keyed, measure, method, hksj and method != "mh")
    except EvidenceError as error:
        assert "\n" not in str(error) and str(error).startswith("t vs c, response: ")
        return
    numbers = (result.estimate, result.ci_lb, result.ci_ub, result.pi_lb, result.pi_ub, result.tau2, result.I2)
    assert all(math.isfinite(x) for x in numbers)
    assert result.pi_lb <= result.ci_lb <= result.estimate <= result.ci_ub <= result.pi_ub
    assert result.k + len(result.excluded) == len(tables)


def test_a_negative_sato_variance_is_a_message_not_a_crash():
    # metafor: rma.mh(ai=1, n1i=1, ci=0, n2i=4, measure="RD") gives se NaN
    with pytest.raises(EvidenceError, match=r"^t vs c, response: the Mantel-Haenszel RD has no variance"):
        pool(comparison(("s1", 1, 1, 0, 4)), "rd", "mh")


continuous_arms = st.tuples(
    st.integers(2, 200), st.floats(-100, 100, allow_nan=False), st.floats(0.01, 50, allow_nan=False)
)


@given(
    st.lists(st.tuples(continuous_arms, continuous_arms), min_size=1, max_size=6),
    st.sampled_from(["md", "smd"]),
    st.sampled_from(["fixed", "dl", "reml"]),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_any_continuous_studies_pool_with_nested_intervals(studies, measure, method, hksj):
    pairs = tuple(
        StudyComparison(f"s{i}", "pain", "", "continuous", "lower", Arm("t", "intervention", n1, None, m1, sd1),
                        Arm("c", "control", n2, None, m2, sd2), False, None, False, None, None)
        for i, ((n1, m1, sd1), (n2, m2, sd2)) in enumerate(studies)
    )  # fmt: skip
    pain = Comparison("pain", "", "continuous", "lower", "t", "c", pairs, (), ())
    try:
        result = pool(pain, measure, method, hksj)
    except EvidenceError as error:
        assert "no study can be pooled" in str(error)
        return
    assert all(math.isfinite(x) for x in (result.estimate, result.pi_lb, result.pi_ub, result.tau2, result.I2))
    assert result.pi_lb <= result.ci_lb <= result.estimate <= result.ci_ub <= result.pi_ub
    assert result.events is None and result.participants == sum(a[0] + b[0] for a, b in studies)


def test_the_issues_migraine_trial_reads_as_published():
    # Linde 2005: 74/145 responders with acupuncture, 43/81 with sham -> RR 0.96 (95% CI 0.74 to 1.25)
    result = pool(comparison(("linde2005", 74, 145, 43, 81)), "rr", "reml")
    assert [round(x, 2) for x in (result.estimate, result.ci_lb, result.ci_ub)] == [0.96, 0.74, 1.25]
    assert (result.k, result.participants, result.events, result.tau2, result.QE) == (1, 226, 117, 0.0, 0.0)


def test_outcome_and_time_point_spellings_differing_in_case_are_one(tmp_path):
    (tmp_path / "lib.bib").write_text(BIB)
    (tmp_path / "lib.outcomes.csv").write_text(
        "key,outcome,timepoint,arm,role,n,events,better\n"
        "b2021,Relief,8 Weeks,needles,intervention,30,12,higher\n"
        "b2021,relief,8 weeks,sham,control,30,6,higher\n"
    )
    found, excluded = comparisons(*load([tmp_path]), outcome="relief")
    assert excluded == [] and [(c.outcome, c.timepoint, len(c.studies)) for c in found] == [("Relief", "8 Weeks", 1)]
