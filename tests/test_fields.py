"""The outcome-field schema: parsers and the rules across fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.library.fields import (
    DESIGNS,
    FieldValueError,
    Rate,
    check_outcomes,
    grim_consistent,
    missing_required_fields,
    parse_field,
    rate_matches_counts,
)


def test_counts_parse_and_reject_negative_or_text():
    assert parse_field("n", "1,200") == 1200
    assert parse_field("n", " ") is None
    with pytest.raises(FieldValueError, match="must not be negative"):
        parse_field("n", "-3")
    with pytest.raises(FieldValueError, match="whole number"):
        parse_field("responders", "about 20")


def test_rates_keep_bound_and_precision():
    assert parse_field("response_rate", "67.5%") == Rate(67.5, "=", 1)
    assert parse_field("response_rate", ">=70") == Rate(70.0, ">=", 0)
    assert parse_field("response_rate", "≤ 20") == Rate(20.0, "<=", 0)
    with pytest.raises(FieldValueError, match="cannot exceed 100"):
        parse_field("response_rate", "120")
    with pytest.raises(FieldValueError, match="percentage"):
        parse_field("response_rate", "most")


def test_design_lists_ranges_dates():
    assert parse_field("design", "Quasi RCT") == "quasi-rct"
    with pytest.raises(FieldValueError, match="unknown design 'trial'"):
        parse_field("design", "trial")
    assert parse_field("condition", "Restless legs; insomnia") == ["Restless legs", "insomnia"]
    assert parse_field("response_rate_ci", "38.3-57.3") == (38.3, 57.3)
    with pytest.raises(FieldValueError):
        parse_field("response_rate_ci", "57-38")
    assert parse_field("verified_on", "2026-11-25") == "2026-11-25"
    with pytest.raises(FieldValueError, match="YYYY-MM-DD"):
        parse_field("verified_on", "25/11/2026")


def messages(**values):
    return [m for _, m in check_outcomes(values)]


def test_responders_above_n_is_an_error():
    assert check_outcomes({"n": 10, "responders": 11}) == [("error", "responders (11) greater than n (10)")]
    assert "control arm" in messages(control_n=5, control_responders=6)[0]


def test_rate_disagreeing_with_counts():
    assert messages(n=40, responders=27, response_rate=Rate(67.5, "=", 1)) == []
    assert messages(n=40, responders=27, response_rate=Rate(68, "=", 0)) == []  # 67.5 rounds to 68
    (message,) = messages(n=40, responders=27, response_rate=Rate(70, "=", 0))
    assert "disagrees" in message and "27/40 = 67.5%" in message


def test_grim_flags_impossible_percentages():
    assert grim_consistent(Rate(67.5, "=", 1), 40)
    assert not grim_consistent(Rate(67.4, "=", 1), 40)
    (message,) = messages(n=40, response_rate=Rate(67.4, "=", 1))
    assert "GRIM" in message
    assert messages(n=640, response_rate=Rate(47.9, "=", 1), design="meta-analysis") == []


def test_warnings_for_incomplete_data():
    assert messages(responders=3) == ["responders given without n; no rate can be computed"]
    assert messages(n=0) == ["n is 0; no rate can be computed"]
    assert messages(verified_by="RB") == ["verified_by is set but extracted_by is not"]


def test_missing_required_fields():
    assert missing_required_fields("article", {"title": "T", "year": "2000"}) == ["author", "journal or journaltitle"]
    assert missing_required_fields("book", {"editor": "E", "title": "T", "publisher": "P", "date": "2000"}) == []
    assert missing_required_fields("misc", {}) == []


@given(st.integers(min_value=1, max_value=5000), st.data())
def test_rate_from_any_whole_count_passes_grim_and_agreement(n: int, data):
    responders = data.draw(st.integers(min_value=0, max_value=n))
    decimals = data.draw(st.integers(min_value=0, max_value=2))
    rate = Rate(round(100 * responders / n, decimals), "=", decimals)
    assert grim_consistent(rate, n)
    assert rate_matches_counts(rate, responders, n)
    assert check_outcomes({"n": n, "responders": responders, "response_rate": rate}) == []


@given(st.text(max_size=30))
def test_parsers_never_raise_anything_but_field_value_error(text: str):
    for name in ("n", "response_rate", "response_rate_ci", "design", "verified_on", "condition"):
        try:
            parse_field(name, text)
        except FieldValueError:
            pass


def test_cli_design_choices_match_schema():
    from evidence.cli import query

    (design,) = [p for p in query.params if p.name == "design"]
    assert tuple(design.type.choices) == DESIGNS
