"""The prose grammar shared by the claim finder and the abstract extractor."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence import grammar as g


def test_numbers_as_pages_write_them():
    assert g.parse_number("1,583") == 1583
    assert g.parse_number("67.5") == 67.5
    assert g.parse_number("sixty") == 60
    assert g.parse_number("twenty-five") == 25
    assert g.parse_number("three hundred") == 300
    assert g.parse_number("1" * 100_000) is None
    assert g.parse_number("sixtyish") is None
    assert g.parse_count("2.5") is None


@given(st.integers(min_value=0, max_value=10**9))
def test_thousands_separators_round_trip(value: int):
    assert g.parse_number(f"{value:,}") == value
    assert g.parse_count(str(value)) == value


@pytest.mark.parametrize(
    ("text", "number", "noun"),
    [
        ("in 54 breast cancer patients", 54, "patients"),
        ("The trial enrolled 302 patients", 302, "patients"),
        ("a study involving 360 women", 360, "women"),
        ("sixty patients took part", 60, "patients"),
        ("1,583 patients", 1583, "patients"),
        ("7,582 adults", 7582, "adults"),
        ("randomised (n = 40)", 40, "n"),
    ],
)
def test_participants_with_words_between(text: str, number: int, noun: str):
    (count,) = g.find_participants(text)
    assert (count.number, count.noun) == (number, noun)
    assert text[count.start : count.end] == count.text


def test_participants_not_durations_or_ages():
    assert list(g.find_participants("after 12 weeks of treatment patients improved")) == []
    assert list(g.find_participants("aged 60 years and older")) == []


def test_percentages_qualifiers_ranges_and_confidence_levels():
    found = [
        (p.text, p.bound, p.low, p.high)
        for p in g.find_percentages(
            "at least 70% of; between 60 and 80%; 70-90%; about 65 percent; 95% CI 3 to 5; nearly 50 per cent"
        )
    ]
    assert found == [
        ("at least 70%", ">=", 70, 70),
        ("between 60 and 80%", "range", 60, 80),
        ("70-90%", "range", 70, 90),
        ("about 65 percent", "~", 65, 65),
        ("nearly 50 per cent", "~", 50, 50),
    ]


@pytest.mark.parametrize(
    ("text", "phrase", "designs"),
    [
        (
            "A prospective, multicenter, randomized, participant-blinded trial found",
            "prospective, multicenter, randomized, participant-blinded trial",
            ("rct", "crossover", "quasi-rct"),
        ),
        (
            "A systematic review and meta-analysis found",
            "systematic review and meta-analysis",
            ("meta-analysis", "systematic-review"),
        ),
        ("A meta-analysis [@witt2005]", "meta-analysis", ("meta-analysis",)),
        ("a case series of", "case series", ("case-series",)),
        ("a randomised crossover trial", "randomised crossover trial", ("crossover",)),
        ("three randomized controlled trials", "randomized controlled trials", ("rct", "crossover")),
    ],
)
def test_designs_read_whole(text: str, phrase: str, designs: tuple[str, ...]):
    (mention,) = g.find_designs(text)
    assert (mention.text, mention.designs) == (phrase, designs)


def test_a_plain_review_is_not_a_meta_analysis():
    assert "meta-analysis" not in g.designs_of("a systematic review")[:1]
    assert g.designs_of("a meta-analysis") == ("meta-analysis",)
    assert g.designs_of("a pilot study")


def test_arm_labels():
    assert g.arm_label("sham acupuncture") == "sham"
    assert g.arm_label("Waiting-list control") == "waiting list"
    assert g.arm_label("guideline-based care") == "conventional therapy"
    assert g.arm_label("acupuncture") is None
    labels = [a.label for a in g.find_arms("a placebo-controlled, controlled trial against usual care and controls")]
    assert labels == ["usual care", "control"]


def test_comparisons():
    found = list(g.find_comparisons("51% vs 53% with sham; no better than sham; twice as likely as placebo"))
    assert [(c.kind, c.values, c.ratio, c.arm) for c in found] == [
        ("versus", (51.0, 53.0), None, "sham"),
        ("no-difference", (), None, "sham"),
        ("ratio", (), 2.0, "placebo"),
    ]


def test_qualifiers_subgroups_thresholds_money_doses():
    assert g.bound_of("At least") == ">=" and g.bound_of(None) == "="
    assert g.qualifier_before("more than 70%", 10) == ("more than", 0)
    text = "12 patients who stopped treatment"
    assert g.subgroup_cue(text, 0, 11) == "who stopped"
    text = "Of these, 40 patients"
    assert g.subgroup_cue(text, 10, 21) is not None
    assert g.subgroup_cue("enrolled 302 patients with migraine", 9, 21) is None
    text = "a response was at least 50% fewer headache days"
    at = text.index("50%")
    assert g.is_threshold(text, at, at + 3)
    text = "In the trial 47% responded"
    at = text.index("47%")
    assert not g.is_threshold(text, at, at + 3)
    text = "received $12.5 million"
    assert g.is_money(text, text.index("12.5"), text.index("12.5") + 4)
    assert g.is_schedule_or_dose("12 sessions", 2) and not g.is_schedule_or_dose("12 patients", 2)


ADVERSARIAL = {
    "digits": "1" * 1_000_000,
    "separated": "1," * 500_000,
    "spaces after a number": "1" + " " * 999_999,
    "words": "word " * 200_000,
    "qualifiers": "at least " * 110_000,
    "percent signs": "5% " * 330_000,
    "between": "between 1 and " * 70_000,
    "adjectives": "randomized, " * 80_000,
    "hyphens": "-" * 1_000_000,
    "arms": "sham " * 200_000,
    "versus": "5 vs " * 200_000,
    "mixed": "in 54 breast cancer " * 50_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_every_finder_runs_in_linear_time_on_a_megabyte(name: str):
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    list(g.find_percentages(text))
    list(g.find_participants(text))
    list(g.find_designs(text))
    list(g.find_arms(text))
    list(g.find_comparisons(text))
    # a quadratic pattern takes minutes on a megabyte; linear ones take a second or two on a shared machine
    assert time.perf_counter() - started < 20.0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789,.% -abnpvsatiel", max_size=300))
def test_finders_never_raise_and_spans_are_exact(text: str):
    for item in [
        *g.find_percentages(text),
        *g.find_participants(text),
        *g.find_designs(text),
        *g.find_comparisons(text),
    ]:
        assert text[item.start : item.end] == item.text
    for percentage in g.find_percentages(text):
        assert 0 <= percentage.low <= percentage.high <= 100
