"""The summary data: every entry in one group, numbers from the table only, nothing guessed."""

from __future__ import annotations

import json

import pytest

from evidence.errors import EvidenceError
from evidence.analysis.stats import pool_proportions, wilson_interval
from evidence.analysis.summary import as_dict, conditions, slugify, summarize


def keys(studies) -> list[str]:
    return [s.key for s in studies]


# --- the example library ------------------------------------------------------


def test_example_groups_every_entry_once(example):
    assert keys(example.counted) == ["shi2003"]
    assert keys(example.rated) == []
    assert keys(example.bounded) == ["wang1994", "yang1993"]
    assert keys(example.reviews) == ["cui2008", "huang2021"]
    assert keys(example.no_data) == ["zhou2002", "dai2006", "gong2004", "huang1996", "ma2001", "meng2003", "tan2005"]
    assert example.entries == 12 == len(example.studies) + len(example.reviews)


def test_example_study_rate_ci_and_risk_ratio(example):
    (shi,) = example.counted
    interval = wilson_interval(27, 40)
    assert (shi.responders, shi.n, shi.rate) == (27, 40, 67.5)
    assert shi.ci.low == pytest.approx(100 * interval.low) and shi.ci.high == pytest.approx(100 * interval.high)
    assert shi.response_definition == "cured (all symptoms gone)"
    assert shi.control_rate == 45.0
    assert shi.risk_ratio.estimate == pytest.approx(1.5)


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


def test_example_certainty_is_very_low_and_says_why(example):
    certainty = example.certainty
    assert certainty.level == "very low"
    assert [c.rule for c in certainty.cautions] == ["design-unknown", "secondary-source"]
    assert certainty.cautions[0].keys == ("wang1994", "yang1993")


def test_references_follow_the_order_studies_are_mentioned(example):
    assert [r.key for r in example.references] == [
        "shi2003", "wang1994", "yang1993", "cui2008", "huang2021",
        "zhou2002", "dai2006", "gong2004", "huang1996", "ma2001", "meng2003", "tan2005",
    ]  # fmt: skip
    assert [r.label for r in example.references] == [str(i) for i in range(1, 13)]
    assert [s.citation for s in example.counted] == ["1"]


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
    assert reasons == {"iota": ("Iota n.d.", "n-zero"), "anonymous2": ("anonymous2 n.d.", "no-numbers")}


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
    assert slugify("<>") == "condition"


def test_json_data_lists_groups_by_key(tinnitus):
    data = json.loads(json.dumps(as_dict(tinnitus)))
    assert data["counted"] == ["alpha2001", "beta2002", "delta2003"]
    assert data["bound_groups"][0]["studies"] == ["epsilon2004"]
    assert data["studies"][0]["key"] == "alpha2001"
