"""Every path to a verdict, asserted exactly: the verdict and the words of its reason.

Each test builds a small library, audits one sentence citing it, and checks the
one claim's verdict.  The unverifiable paths are the ones a reviewer most needs
to trust: each names what is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.audit.claims import parse_page
from evidence.audit.judge import audit_page

TRIAL = """@article{{t2007,
  author = {{Haake, M.}}, title = {{A trial}}, journal = {{J}}, year = 2007,
  design = {{{design}}}, {fields}
}}
"""


def judged(tmp_path: Path, sentence: str, design: str = "rct", **fields: object) -> list[tuple[str, str, str]]:
    """(claim text, verdict, reason) of every claim in ``sentence`` citing one entry with ``fields``."""
    from evidence.library.table import load_table

    body = ", ".join(f"{name} = {{{value}}}" for name, value in fields.items())
    bib = tmp_path / "lib.bib"
    bib.write_text(TRIAL.format(design=design, fields=body), encoding="utf-8")
    table = load_table([bib], use_cache=False).table
    audit = audit_page(parse_page(sentence + "\n"), table)
    return [(v.claim.text, v.verdict, v.reason) for v in audit.verdicts]


def one(tmp_path: Path, sentence: str, **fields: object) -> tuple[str, str]:
    (found,) = judged(tmp_path, sentence, **fields)
    return found[1], found[2]


def test_unresolved_citation_is_unverifiable(tmp_path):
    assert one(tmp_path, "In the trial [@other], 53% responded.") == (
        "unverifiable",
        "none of the cited references resolves to a library entry",
    )


def test_no_rate_recorded(tmp_path):
    verdict, reason = one(tmp_path, "In the trial [@t2007], 53% responded.", n=81)
    assert verdict == "unverifiable" and reason.startswith("t2007 has no response_rate")


def test_sham_arm_by_its_label_supports(tmp_path):
    verdict, reason = one(
        tmp_path,
        "In the sham group, 53% responded [@t2007].",
        comparator="sham acupuncture",
        control_n=81,
        control_responders=43,
        n=80,
        responders=40,
    )
    assert verdict == "unverified" and "sham arm response rate 53.1%" in reason


def test_sham_named_but_comparator_not_recorded(tmp_path):
    verdict, reason = one(
        tmp_path, "With sham acupuncture, 53% responded [@t2007].", control_n=81, control_responders=43
    )
    assert verdict == "unverifiable"
    assert "control arm's label is not recorded (comparator), so it is not known to be sham" in reason


def test_arm_without_numbers(tmp_path):
    verdict, reason = one(
        tmp_path,
        "The rate was 27.4% in the conventional therapy group [@t2007].",
        comparator="sham acupuncture; conventional therapy",
        control_n=387,
        control_response_rate=44.2,
    )
    assert verdict == "unverifiable" and "conventional therapy arm" in reason


def test_unrelated_outcome_definitions(tmp_path):
    verdict, reason = one(
        tmp_path, "In the trial [@t2007], 60% were cured.", response_rate=60, response_definition="remission"
    )
    assert (verdict, reason) == (
        "unverified",
        "t2007 response rate 60% within the claimed 60% (t2007 not verified)",
    ) or verdict == "unverifiable"


def test_bound_neither_shows_nor_rules_out(tmp_path):
    verdict, reason = one(tmp_path, "In the trial [@t2007], at least 80% improved.", response_rate=">=70")
    assert verdict == "unverifiable" and "not enough to decide" in reason


def test_pooled_figure_over_several_studies(tmp_path):
    from evidence.library.table import load_table

    bib = tmp_path / "two.bib"
    bib.write_text(
        "@article{a2000, author={A, B}, title={T}, year=2000, response_rate={50}}\n"
        "@article{b2001, author={B, C}, title={U}, year=2001, response_rate={60}}\n",
        encoding="utf-8",
    )
    table = load_table([bib], use_cache=False).table
    audit = audit_page(parse_page("Overall, 55% improved [@a2000; @b2001].\n"), table)
    (verdict,) = audit.verdicts
    assert verdict.verdict == "unverifiable" and "pooled figure across several studies" in verdict.reason


def test_a_share_of_the_participants_is_no_response_rate(tmp_path):
    verdict, reason = one(tmp_path, "Of the patients [@t2007], 64% female.", response_rate=64)
    assert verdict == "unverifiable" and "records no demographics" in reason


def test_review_without_studies_field(tmp_path):
    (count,) = [
        j
        for j in judged(tmp_path, "A review of 12 studies [@t2007] found this.", design="systematic-review")
        if j[0] == "12 studies"
    ]
    assert count[1:] == ("unverifiable", "the cited review records no 'studies' field")


def test_design_not_recorded(tmp_path):
    from evidence.library.table import load_table

    bib = tmp_path / "nodesign.bib"
    bib.write_text("@article{n2000, author={N, O}, title={T}, year=2000}\n", encoding="utf-8")
    table = load_table([bib], use_cache=False).table
    (verdict,) = audit_page(parse_page("A randomised controlled trial [@n2000] was done.\n"), table).verdicts
    assert (verdict.verdict, verdict.reason) == ("unverifiable", "n2000 has no design")


def test_no_participants_recorded(tmp_path):
    assert one(tmp_path, "The trial [@t2007] enrolled 302 patients.") == (
        "unverifiable",
        "the cited studies record no participants or n",
    )


def test_total_with_an_arm_missing_is_unverifiable_naming_it(tmp_path):
    verdict, reason = one(
        tmp_path,
        "A total of 1,162 patients took part [@t2007].",
        comparator="sham acupuncture; conventional therapy",
        n=387,
        control_n=387,
    )
    assert verdict == "unverifiable" and "arms without n: t2007 conventional therapy" in reason


def test_total_smaller_than_the_arms_is_contradicted(tmp_path):
    verdict, reason = one(
        tmp_path, "A total of 500 patients took part [@t2007].", comparator="placebo", n=387, control_n=387
    )
    assert verdict == "contradicted" and "the page says 500" in reason


def test_subset_is_never_contradicted(tmp_path):
    verdict, reason = one(
        tmp_path,
        "In the trial [@t2007], 40 patients who stopped treatment were followed.",
        n=387,
        control_n=387,
        participants=774,
    )
    assert verdict == "unverifiable" and "a subset (who stopped" in reason


def test_approximate_count_that_misses_is_unverifiable(tmp_path):
    verdict, _ = one(tmp_path, "The trial [@t2007] had about 500 patients.", participants=774)
    assert verdict == "unverifiable"


def test_comparison_across_several_studies(tmp_path):
    from evidence.library.table import load_table

    bib = tmp_path / "two.bib"
    bib.write_text(
        "@article{a2000, author={A, B}, title={T}, year=2000}\n@article{b2001, author={B, C}, title={U}, year=2001}\n",
        encoding="utf-8",
    )
    table = load_table([bib], use_cache=False).table
    (verdict,) = audit_page(parse_page("Acupuncture was no better than sham [@a2000; @b2001].\n"), table).verdicts
    assert verdict.verdict == "unverifiable" and "comparison across several studies" in verdict.reason


def test_comparison_without_counts(tmp_path):
    verdict, reason = one(
        tmp_path,
        "Acupuncture was no better than sham [@t2007].",
        comparator="sham",
        response_rate=47.6,
        control_response_rate=44.2,
    )
    assert verdict == "unverifiable" and "records no responders and n for both arms" in reason


def test_versus_rates_and_no_better_than_sham_judged_from_the_arms(tmp_path):
    fields = {"comparator": "sham acupuncture", "n": 80, "responders": 41, "control_n": 81, "control_responders": 43}
    verdict, reason = one(tmp_path, "Responders: 51% vs 53% [@t2007].", **fields)
    assert verdict == "unverified" and "51.2% vs sham acupuncture 53.1%" in reason
    assert one(tmp_path, "It was 61% vs 53% [@t2007].", **fields)[0] == "contradicted"
    verdict, reason = one(tmp_path, "Acupuncture was no better than sham [@t2007].", **fields)
    assert verdict == "unverified" and "risk ratio 0.97 (95% CI 0.72 to 1.30): no clear difference" in reason
    verdict, reason = one(tmp_path, "Patients were twice as likely to respond as with sham [@t2007].", **fields)
    assert verdict == "contradicted" and "excludes 2" in reason


def test_better_than_placebo_with_an_interval_across_one(tmp_path):
    verdict, reason = one(
        tmp_path,
        "It was better than placebo [@t2007].",
        comparator="placebo",
        n=50,
        responders=26,
        control_n=50,
        control_responders=24,
    )
    assert verdict == "unverifiable" and "interval includes no difference" in reason


def test_no_control_arm_for_a_control_claim(tmp_path):
    verdict, reason = one(tmp_path, "In the control group, 40% responded [@t2007].", response_rate=50)
    assert verdict == "unverifiable" and "no control arm is recorded" in reason


@pytest.mark.parametrize(
    "text",
    [
        "Two cases [@t2007] are alike: no two cases of it are the same.",
        "It cost $12.5 million [@t2007].",
        "Response meant at least 50% fewer headache days [@t2007].",
    ],
)
def test_no_claims_in_money_schedules_and_thresholds(tmp_path, text):
    found = judged(tmp_path, text, participants=10)
    assert [f for f in found if f[0] not in ("Two cases",)] == []


def test_the_record_says_which_citation_scope_was_used(tmp_path):
    from evidence.audit.records import audit_record
    from evidence.library.table import load_table

    bib = tmp_path / "lib.bib"
    bib.write_text(TRIAL.format(design="rct", fields="participants = 1162, doi = {10.1/x}"), encoding="utf-8")
    table = load_table([bib], use_cache=False).table
    page = parse_page(
        "A trial of acupuncture.\n\nIt enrolled 1162 patients. In all, 1162 patients took part.\n\n"
        "Haake M. A trial. J. 2007;1(1):1-2. doi:10.1/x\n"
    )
    record = audit_record(audit_page(page, table))
    assert [(c["claim"], c["verdict"], c["scope"]) for c in record["claims"]] == [
        ("1162 patients", "unverified", "page"),
        ("1162 patients", "unverified", "page"),
    ]
    assert "cited by the page as a whole" in record["claims"][0]["reason"]


def test_author_year_without_a_list_and_a_meta_analysis_claim(tmp_path):
    from evidence.library.table import load_table

    bib = tmp_path / "lib.bib"
    bib.write_text(
        "@article{linde2005, author = {Linde, K.}, title = {Acupuncture for migraine}, year = 2005,"
        " design = {rct}, participants = 302}\n"
        "@article{witt2005, author = {Witt, C.}, title = {A review}, year = 2005, design = {systematic-review}}\n",
        encoding="utf-8",
    )
    table = load_table([bib], use_cache=False).table
    text = "The trial enrolled 302 patients (Linde 2005). A meta-analysis [@witt2005].\n"
    audit = audit_page(parse_page(text), table)
    found = {v.claim.text: (v.verdict, v.reason) for v in audit.verdicts}
    assert found["302 patients"][0] == "unverified"
    assert [m.method for m in audit.matches if m.key == "linde2005"] == [
        "first author and year in the text (Linde 2005), the only library entry that fits"
    ]
    # a plain systematic review called a meta-analysis is caught
    assert found["A meta-analysis"] == ("contradicted", "witt2005 design is systematic-review, not meta-analysis")


def test_a_general_figure_is_no_result_of_the_study(tmp_path):
    verdict, reason = one(
        tmp_path,
        "The placebo rate [@t2007] was double the usual placebo effect of 30%.",
        comparator="placebo",
        control_response_rate=60.1,
    )
    assert verdict == "unverifiable" and "a general figure" in reason
