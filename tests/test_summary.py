"""The summary data: every entry in one group, numbers from the table only, nothing guessed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.analysis.comparisons import Arm, Comparison, StudyComparison
from evidence.analysis.stats import pool, pool_proportions
from evidence.analysis.summary import as_dict, compare, comparison_result, conditions, slugify, summarize
from evidence.errors import EvidenceError


def keys(studies) -> list[str]:
    return [s.key for s in studies]


# --- the example library ------------------------------------------------------


def test_example_groups_every_entry_once(example):
    assert keys(example.compared) == ["shi2003"]  # its arms are in refs/restless-legs.outcomes.csv
    assert keys(example.counted) == []
    assert keys(example.rated) == []
    assert keys(example.bounded) == ["wang1994", "yang1993"]
    assert keys(example.reviews) == ["cui2008", "huang2021"]
    assert keys(example.no_data) == ["zhou2002", "dai2006", "gong2004", "huang1996", "ma2001", "meng2003", "tan2005"]
    assert example.entries == 12 == len(example.studies) + len(example.reviews)


def test_example_shi_2003_three_arms_are_compared_once_with_the_shared_control_split(example):
    cure = next(c for c in example.comparisons if c.outcome == "cure")
    assert cure.comparator == "oryzanol plus diazepam" and cure.k == 1
    assert [(s.intervention.events, s.intervention.n, s.control.events, s.control.n) for s in cure.studies] == [
        (27, 40, 9, 20), (19, 40, 9, 20),
    ]  # fmt: skip
    assert all(s.shared_control_split for s in cure.studies)
    assert cure.participants == 120  # the shared control counted once
    assert [s.arm_label for s in cure.studies] == [
        "Shi and Wang 2003 (acupuncture plus herbal steaming washing)", "Shi and Wang 2003 (acupuncture)",
    ]  # fmt: skip
    assert cure.rating.start == "high" and cure.rating.level in ("low", "very low")
    assert {r.rule for r in cure.rating.reasons} >= {"not-randomised", "unverified-data", "few-events"}


def test_example_bound_is_kept_as_a_bound_with_its_source(example):
    (group,) = example.bound_groups
    assert (group.bound, group.rate, group.data_source, group.verified) == (">=", 70.0, "secondary", False)
    assert group.source.startswith('Condition page "Acupuncture for Restless Leg Syndrome"')
    for study in group.studies:
        assert study.n is None and study.responders is None and study.ci is None  # never turned into counts


def test_example_reviews_are_reported_not_repooled(example):
    assert example.pooled is None  # only 1 study has counts; the reviews are not pooled with it
    cui, huang = example.reviews
    assert (cui.studies, cui.participants, cui.rate) == (2, 170, None)
    assert (huang.studies, huang.rate, huang.ci.low, huang.ci.high) == (18, 47.8, 38.3, 57.3)
    assert (huang.n, huang.control_n, huang.control_rate) == (640, 447, 21.7)


def test_example_totals_and_tallies(example):
    assert example.participants == 120 and example.sized_studies == 1
    assert [(t.value, t.count) for t in example.designs] == [("quasi-rct", 1), ("other", 1), (None, 8)]
    assert [(t.value, t.count) for t in example.countries] == [("China", 4), (None, 6)]


def test_single_arm_rates_carry_no_certainty(example):
    assert not hasattr(example, "certainty")  # no body-level rating of uncontrolled rates
    for result in example.comparisons:
        assert result.rating is None or all(s.control.n for s in result.studies)


def test_references_follow_the_order_studies_are_mentioned(example):
    assert [r.key for r in example.references] == [
        "shi2003", "wang1994", "yang1993", "cui2008", "huang2021",
        "zhou2002", "dai2006", "gong2004", "huang1996", "ma2001", "meng2003", "tan2005",
    ]  # fmt: skip
    assert [r.label for r in example.references] == [str(i) for i in range(1, 13)]
    assert [s.citation for s in example.compared] == ["1"]


# --- the test library -----------------------------------------------------------


def test_pooled_rate_uses_only_studies_with_counts(tinnitus):
    assert keys(tinnitus.counted) == ["alpha2001", "beta2002", "delta2003"]
    expected = pool_proportions([(0, 40), (30, 30), (35, 60)], "dl")
    pooled = tinnitus.pooled
    assert pooled.rate == pytest.approx(100 * expected.estimate)
    assert pooled.tau2 == pytest.approx(expected.tau2)
    assert (pooled.responders, pooled.n, pooled.k) == (65, 130, 3)
    assert pooled.corrected_keys == ("alpha2001", "beta2002")


@pytest.mark.parametrize("method", ["dl", "reml", "fixed"])
def test_method_is_passed_to_the_pooling(table, method):
    summary = summarize(table, "tinnitus", method=method)
    expected = pool_proportions([(0, 40), (30, 30), (35, 60)], method)
    assert summary.pooled.rate == pytest.approx(100 * expected.estimate)
    assert summary.method == method


def test_rate_without_counts_keeps_its_published_ci(tinnitus):
    (zeta,) = tinnitus.rated
    assert (zeta.rate, zeta.ci.low, zeta.ci.high, zeta.ci_source) == (55.5, 40.1, 70.2, "published")


def test_zero_n_and_missing_author_or_year_are_listed_not_dropped(tinnitus):
    reasons = {s.key: (s.label, s.reason) for s in tinnitus.no_data}
    assert reasons == {
        "iota": ("Iota n.d.", "n-zero"),
        "anonymous2": ("An unsigned report on tinnitus n.d.", "no-numbers"),  # the title stands in for an author
    }


def test_intervention_narrows_the_summary(table):
    summary = summarize(table, "tinnitus", intervention="ear acupuncture")
    assert keys(summary.studies) == ["epsilon2004"]
    assert summary.slug == "tinnitus-ear-acupuncture"


def test_unknown_condition_lists_known_ones_closest_first(table):
    with pytest.raises(EvidenceError) as error:
        summarize(table, "migrane")
    assert "known conditions, closest first: migraine, tinnitus" in str(error.value)


def test_unknown_intervention_lists_the_studied_ones(table):
    with pytest.raises(EvidenceError, match="interventions studied, closest first: acupuncture"):
        summarize(table, "tinnitus", intervention="acupunture")


def test_bad_method_or_citation_mode_is_an_evidence_error(table):
    with pytest.raises(EvidenceError, match="unknown method"):
        summarize(table, "tinnitus", method="bayes")
    with pytest.raises(EvidenceError, match="unknown citation mode"):
        summarize(table, "tinnitus", citations="footnotes")


def test_conditions_and_slugs(table):
    assert conditions(table) == ["migraine", "tinnitus"]
    assert slugify("Restless legs syndrome") == "restless-legs-syndrome"
    assert slugify("<>").startswith("condition-")
    assert slugify("..") != slugify("...")  # two conditions never share a page
    assert slugify("..") == slugify("..")


def test_json_data_lists_groups_by_key(tinnitus):
    data = json.loads(json.dumps(as_dict(tinnitus)))
    assert data["counted"] == ["alpha2001", "beta2002", "delta2003"]
    assert data["bound_groups"][0]["studies"] == ["epsilon2004"]
    assert data["studies"][0]["key"] == "alpha2001"


# --- comparisons ----------------------------------------------------------------


def arm(label, role, n, events=None, mean=None, sd=None):
    return Arm(label, role, n, events, mean, sd)


def linde_like(design: str = "rct", verified: bool = True) -> Comparison:
    """Linde 2005 (74/145 acupuncture, 43/81 sham) and a second made-up trial with the same result."""

    def trial(key, a, an, c, cn):
        return StudyComparison(
            key,
            "response",
            "",
            "dichotomous",
            "higher",
            arm("acupuncture", "intervention", an, a),
            arm("sham acupuncture", "control", cn, c),
            False,
            design,
            verified,
            "primary",
            "double",
        )

    return Comparison(
        "response",
        "",
        "dichotomous",
        "higher",
        "acupuncture",
        "sham acupuncture",
        (trial("linde2005", 74, 145, 43, 81), trial("second2006", 60, 116, 35, 66)),
        (),
        (),
    )


LABELS = {"linde2005": "Linde et al. 2005", "second2006": "Second 2006"}
CITES = {"linde2005": "1", "second2006": "2"}


def test_a_comparison_is_pooled_rated_and_given_risks_per_1000():
    result = compare(linde_like(), LABELS, CITES, method="reml")
    expected = pool(linde_like(), "rr", "reml")
    assert result.pooled == expected
    assert (result.measure, result.measure_label, result.k, result.participants) == ("rr", "RR", 2, 408)
    assert result.all_trials and result.problem is None
    assert result.risk.comparator == pytest.approx(1000 * (43 + 35) / (81 + 66))
    assert result.risk.intervention == pytest.approx(result.risk.comparator * expected.estimate)
    assert result.rating.level != "high"  # fewer than 300 events
    assert [s.label for s in result.studies] == ["Linde et al. 2005", "Second 2006"]
    assert all(s.effect is not None for s in result.studies)


def test_a_comparison_that_cannot_be_pooled_keeps_the_reason():
    result = compare(linde_like(), LABELS, CITES, measure="md")
    assert result.pooled is None and result.rating is None and result.risk is None
    assert result.problem  # named in the paragraph, never dropped
    assert result.k == 2


@pytest.mark.parametrize("measure", ["rr", "or", "rd"])
def test_every_dichotomous_measure_gives_risks(measure):
    result = compare(linde_like(), LABELS, CITES, measure=measure, method="dl")
    assert result.pooled.measure == measure
    assert 0 <= result.risk.intervention_lb <= result.risk.intervention <= result.risk.intervention_ub <= 1000


def test_hksj_and_mh_reach_the_pooling():
    adjusted = compare(linde_like(), LABELS, CITES, method="reml", hksj=True)
    assert adjusted.pooled == pool(linde_like(), "rr", "reml", True)
    assert compare(linde_like(), LABELS, CITES, method="mh").pooled.method == "mh"


def test_continuous_comparison_has_a_mean_difference_and_no_risks():
    def trial(key, m1, m2):
        return StudyComparison(
            key,
            "IRLS score",
            "12 weeks",
            "continuous",
            "lower",
            arm("acupuncture", "intervention", 30, mean=m1, sd=5.0),
            arm("usual care", "control", 30, mean=m2, sd=5.0),
            False,
            "rct",
            True,
            "primary",
            "open",
        )

    body = Comparison(
        "IRLS score",
        "12 weeks",
        "continuous",
        "lower",
        "acupuncture",
        "usual care",
        (trial("a", 10.0, 14.0), trial("b", 11.0, 13.0)),
        (),
        (),
    )
    result = compare(body, {}, {}, method="reml")
    assert result.measure == "md" and result.risk is None
    assert result.pooled.estimate == pytest.approx(-3.0, abs=0.01)
    assert result.rating.importance.effect == "decrease"  # beyond 0.2 x the pooled SD of 5
    assert "unblinded" in [r.rule for r in result.rating.reasons]


def test_json_carries_metafor_names_and_no_nan(tinnitus):
    from dataclasses import replace

    summary = replace(tinnitus, comparisons=(compare(linde_like(), LABELS, CITES, method="reml"),))
    data = json.loads(json.dumps(as_dict(summary), allow_nan=False))
    pooled = data["comparisons"][0]["pooled"]
    for name in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "I2", "QE", "QEp", "k"):
        assert isinstance(pooled[name], (int, float)), name
    assert data["comparisons"][0]["rating"]["level"] in ("high", "moderate", "low", "very low")


# --- properties -------------------------------------------------------------------


@given(
    control_events=st.integers(0, 200),
    extra=st.integers(1, 200),
    estimate=st.floats(0.05, 20.0),
    spread=st.floats(1.0, 10.0),
    measure=st.sampled_from(["rr", "or"]),
)
def test_risks_per_1000_stay_in_range_and_in_order(control_events, extra, estimate, spread, measure):
    from evidence.analysis.stats import PooledEffect

    people = control_events + extra
    body = Comparison(
        "response",
        "",
        "dichotomous",
        "higher",
        "a",
        "b",
        (
            StudyComparison(
                "s",
                "response",
                "",
                "dichotomous",
                "higher",
                arm("a", "intervention", 50, 10),
                arm("b", "control", people, control_events),
                False,
                "rct",
                True,
                "primary",
                "double",
            ),
        ),
        (),
        (),
    )
    pooled = PooledEffect(
        measure,
        "dl",
        False,
        estimate,
        estimate / spread,
        estimate * spread,
        estimate / spread,
        estimate * spread,
        0.0,
        0.0,
        0.0,
        1.0,
        1,
        50 + people,
        10 + control_events,
        (),
        (),
        (),
    )
    result = comparison_result(body, pooled, None, {}, {}, measure=measure, method="dl")
    risk = result.risk
    assert risk.comparator == pytest.approx(1000 * control_events / people)
    assert 0 <= risk.intervention_lb <= risk.intervention <= risk.intervention_ub <= 1000
    if measure == "rr" and estimate * risk.comparator <= 1000:
        assert risk.intervention == pytest.approx(risk.comparator * estimate)


@given(estimate=st.floats(0.01, 100.0), low=st.floats(0.5, 0.99), high=st.floats(1.01, 2.0))
def test_importance_agrees_with_its_thresholds(estimate, low, high):
    from evidence.analysis.certainty import Thresholds, importance

    found = importance("rr", estimate, Thresholds(ratio_low=low, ratio_high=high))
    expected = "increase" if estimate >= high else "decrease" if estimate <= low else "little-or-no-difference"
    assert found.effect == expected and (found.low, found.high, found.null) == (low, high, 1.0)


# --- building the summary from columns ----------------------------------------------------------------------


def _strictly_equal(a, b) -> bool:
    """Equal and of the same type all the way down (``1 == 1.0 == True`` would hide a changed type)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_strictly_equal(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize(
    "path, condition",
    [
        ("refs", "restless legs"),
        ("tests/data/render/library.bib", "migraine"),
        ("tests/data/render/library.bib", "tinnitus"),
        ("tests/data/library/messy.bib", "restless"),
        ("tests/data/library/two-arm.bib", "restless"),
    ],
)
def test_study_records_from_columns_equal_the_rows_read_one_by_one(path, condition):
    from pathlib import Path

    from evidence.analysis.formats import plain
    from evidence.analysis.summary import _records, select_rows
    from evidence.library.table import load_table

    rows, _ = select_rows(load_table([Path(__file__).resolve().parent.parent / path]).table, condition)
    by_row = []
    for _, row in rows.iterrows():  # the reference: each row as a Series, each cell through formats.plain
        record = {name: plain(row[name]) for name in row.index if name != "raw"}
        record["design"] = record["design"] if isinstance(record["design"], str) else None
        by_row.append(record)
    assert len(by_row) == len(rows) > 0
    assert all(_strictly_equal(a, b) for a, b in zip(by_row, _records(rows)))


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=25))
@settings(max_examples=30, deadline=None)
def test_each_counted_study_has_the_wilson_interval_of_its_own_counts(pairs):
    import tempfile
    from pathlib import Path

    from evidence.analysis.stats import wilson_interval
    from evidence.library.table import load_table

    counts = [(min(x, n), n) for x, n in pairs]
    text = "".join(
        f"@article{{s{i},\n  author = {{Author{i}, A.}},\n  title = {{Trial {i}}},\n  journal = {{J}},\n"
        f"  year = {{2000}},\n  condition = {{insomnia}},\n  n = {{{n}}},\n  responders = {{{x}}},\n}}\n\n"
        for i, (x, n) in enumerate(counts)
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "library.bib"
        path.write_text(text, encoding="utf-8")
        table = load_table([path], use_cache=False).table
        summary = summarize(table, "insomnia")
    assert len(summary.studies) == len(counts)
    by_key = {f"s{i}": pair for i, pair in enumerate(counts)}
    for study in summary.studies:
        x, n = by_key[study.key]
        if n > 0:
            interval = wilson_interval(x, n)
            assert study.status == "counts" and (study.responders, study.n) == (x, n)
            assert (study.ci.low, study.ci.high) == (100.0 * interval.low, 100.0 * interval.high)
            assert study.ci.low <= study.rate <= study.ci.high
        else:
            assert study.status == "no-data" and study.ci is None
