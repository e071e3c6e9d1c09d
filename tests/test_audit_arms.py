"""Arms from the long outcome table: a three-arm trial's claims judged against its CSV rows.

Shi 2003 (refs/restless-legs.outcomes.csv) has three arms of 40 and two outcomes, "cure" and "marked
effect"; its .bib entry has no n/responders.  Each test writes a small library (a .bib and an
.outcomes.csv) under tmp_path, audits one sentence through :meth:`evidence.Library.audit`, and asserts the
verdict and the words of its reason.  The CSV rows carry no ``verified_by``, so what they bear out is
"unverified" (supported by unverified data), as for any unverified entry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence import Library
from evidence.audit.arms import ArmSet, RecordedArm, arms_for, outcome_arms

REFS = Path(__file__).resolve().parent.parent / "refs"

SHI_BIB = """@article{shi2003,
  author = {Shi, Y. L. and Wang, Y. M.},
  title = {Acupuncture plus steaming washing with herbs for restless legs syndrome},
  journal = {Chinese Acupuncture and Moxibustion}, year = 2003,
  intervention = {acupuncture; herbal steaming washing}, comparator = {oryzanol; diazepam},
  design = {quasi-rct}, country = {China}, data_source = {primary},
}
"""
HEADER = "key,outcome,timepoint,arm,role,n,events,better,definition,data_source,verified_by\n"
#: (outcome, arm, role, n, events): the counts refs/restless-legs.outcomes.csv records
SHI_ROWS = (
    ("cure", "acupuncture plus herbal steaming washing", "intervention", 40, 27),
    ("cure", "oryzanol plus diazepam", "control", 40, 18),
    ("cure", "acupuncture", "intervention", 40, 19),
    ("marked effect", "acupuncture plus herbal steaming washing", "intervention", 40, 8),
    ("marked effect", "oryzanol plus diazepam", "control", 40, 6),
    ("marked effect", "acupuncture", "intervention", 40, 6),
)
CURE = "shi2003 cure at end of treatment:"


def write_library(folder: Path, rows=SHI_ROWS, verified_by: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "shi.bib").write_text(SHI_BIB, encoding="utf-8")
    lines = [
        f"shi2003,{outcome},end of treatment,{arm},{role},{n},{events},higher,{outcome},primary,{verified_by}\n"
        for outcome, arm, role, n, events in rows
    ]
    (folder / "shi.outcomes.csv").write_text(HEADER + "".join(lines), encoding="utf-8")
    return folder


def judged(library: Path, page_folder: Path, sentence: str) -> tuple[str, str, str]:
    """(claim text, verdict, reason) of the one claim in ``sentence``, audited through the Library."""
    page = page_folder / "page.md"
    page.write_text(sentence + "\n", encoding="utf-8")
    run = Library(library, use_cache=False).audit([page])
    (verdict,) = run.audits[0].verdicts
    return verdict.claim.text, verdict.verdict, verdict.reason


@pytest.fixture
def shi(tmp_path: Path) -> Path:
    return write_library(tmp_path / "lib")


def test_the_combined_arm_by_its_label_is_supported_by_unverified_data(shi: Path, tmp_path: Path):
    text = "In Shi 2003 [@shi2003], 27 of 40 patients given acupuncture plus herbs were cured."
    assert judged(shi, tmp_path, text) == (
        "27 of 40",
        "unverified",
        f"{CURE} acupuncture plus herbal steaming washing arm response rate 67.5% within the claimed 27 of 40 "
        "(shi2003 acupuncture plus herbal steaming washing not verified (outcomes CSV))",
    )


def test_verified_rows_support(tmp_path: Path):
    library = write_library(tmp_path / "lib", verified_by="A. Reviewer")
    text = "In Shi 2003 [@shi2003], 27 of 40 patients given acupuncture plus herbs were cured."
    assert judged(library, tmp_path, text)[1:] == (
        "supported",
        f"{CURE} acupuncture plus herbal steaming washing arm response rate 67.5% within the claimed 27 of 40",
    )


def test_the_control_arm_by_its_label_and_by_the_word_control(shi: Path, tmp_path: Path):
    by_label = "In Shi 2003 [@shi2003], 18 of 40 patients given oryzanol plus diazepam were cured."
    assert judged(shi, tmp_path, by_label)[1:] == (
        "unverified",
        f"{CURE} oryzanol plus diazepam arm response rate 45% within the claimed 18 of 40 "
        "(shi2003 oryzanol plus diazepam not verified (outcomes CSV))",
    )
    by_role = "In the control group, 45% were cured [@shi2003]."
    assert judged(shi, tmp_path, by_role)[1] == "unverified"


def test_the_second_treatment_arm_by_its_label(shi: Path, tmp_path: Path):
    verdict = judged(shi, tmp_path, "In Shi 2003 [@shi2003], 19 of 40 given acupuncture alone were cured.")
    assert verdict[1] == "unverified" and f"{CURE} acupuncture arm response rate 47.5%" in verdict[2]


def test_an_arm_no_label_names_is_unverifiable_with_two_treatment_arms(shi: Path, tmp_path: Path):
    # "the drug group" names no recorded label, and the study has two treatment arms
    assert judged(shi, tmp_path, "In Shi 2003 [@shi2003], 18 of 40 in the drug group were cured.")[1:] == (
        "unverifiable",
        f"{CURE} 2 treatment arms (acupuncture plus herbal steaming washing, acupuncture): which is meant is unclear",
    )


def test_a_wrong_count_is_contradicted(shi: Path, tmp_path: Path):
    text = "In Shi 2003 [@shi2003], 30 of 40 patients given acupuncture plus herbs were cured."
    assert judged(shi, tmp_path, text)[1:] == (
        "contradicted",
        f"{CURE} acupuncture plus herbal steaming washing arm response rate 67.5% < 75% (the claimed 30 of 40)",
    )


def test_a_rate_that_names_no_outcome_is_not_decided_by_one_of_them(shi: Path, tmp_path: Path):
    text = "In Shi 2003 [@shi2003], 67.5% of patients given acupuncture plus herbs responded."
    verdict, reason = judged(shi, tmp_path, text)[1:]
    assert verdict == "unverifiable"
    assert reason.startswith("shi2003: the page does not say which of 2 recorded outcomes it means: ")
    assert "67.5% within the claimed" in reason and "marked effect at end of treatment" in reason


def test_the_named_outcome_decides(shi: Path, tmp_path: Path):
    # "cured" names the outcome "cure": "marked effect" (8/40 = 20%) is not consulted
    text = "In Shi 2003 [@shi2003], 67.5% of patients given acupuncture plus herbs were cured."
    assert judged(shi, tmp_path, text)[1] == "unverified"


def test_a_comparison_of_the_cure_rates(shi: Path, tmp_path: Path):
    text = "Acupuncture plus herbal steaming washing cured 67.5% vs 45% [@shi2003]."
    assert judged(shi, tmp_path, text)[1:] == (
        "unverified",
        f"{CURE} acupuncture plus herbal steaming washing 67.5% vs oryzanol plus diazepam 45.0% "
        "(shi2003 acupuncture plus herbal steaming washing, oryzanol plus diazepam not verified (outcomes CSV))",
    )
    wrong = "Acupuncture plus herbal steaming washing cured 70% vs 45% [@shi2003]."
    assert judged(shi, tmp_path, wrong)[1] == "contradicted"


def test_a_total_sums_the_three_arms(shi: Path, tmp_path: Path):
    assert judged(shi, tmp_path, "In all, 120 patients took part [@shi2003].")[1:] == (
        "unverified",
        "shi2003 total of the arms (40 + 40 + 40) = 120 "
        "(shi2003 acupuncture plus herbal steaming washing, oryzanol plus diazepam, acupuncture not verified "
        "(outcomes CSV))",
    )
    verdict, reason = judged(shi, tmp_path, "In all, 150 patients took part [@shi2003].")[1:]
    assert verdict == "contradicted" and reason.startswith("the page says 150; the library has")


def test_a_count_in_the_control_arm(shi: Path, tmp_path: Path):
    assert judged(shi, tmp_path, "40 patients were in the control group [@shi2003].")[1] == "unverified"


def test_a_total_with_an_arm_missing_its_n_names_it(tmp_path: Path):
    rows = [row if row[1] != "acupuncture" else (*row[:3], "", row[4]) for row in SHI_ROWS]
    library = write_library(tmp_path / "lib", rows)
    assert judged(library, tmp_path, "In all, 120 patients took part [@shi2003].")[1:] == (
        "unverifiable",
        "the page says 120; recorded arms sum to 80; arms without n: shi2003 acupuncture",
    )


def test_the_example_library_in_refs(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        "In Shi 2003 [@shi2003], 27 of 40 patients given acupuncture plus herbs were cured.\n\n"
        "In Shi 2003 [@shi2003], 30 of 40 patients given acupuncture plus herbs were cured.\n\n"
        "In Shi 2003 [@shi2003], 18 of 40 patients given oryzanol plus diazepam were cured.\n",
        encoding="utf-8",
    )
    run = Library(REFS, use_cache=False).audit([page])
    found = [(v.claim.text, v.verdict) for v in run.audits[0].verdicts]
    assert found == [("27 of 40", "unverified"), ("30 of 40", "contradicted"), ("18 of 40", "unverified")]
    assert "cure at immediately after treatment: acupuncture plus herbal steaming washing arm" in (
        run.audits[0].verdicts[0].reason
    )


def test_arms_for_prefers_the_outcome_table_and_falls_back_to_the_shorthand():
    import pandas as pd

    from evidence.library.outcomes import TABLE_COLUMNS

    values = {name: [None, None] for name in TABLE_COLUMNS}
    values.update(
        key=["a2000", "b2001"],
        outcome=["cure", "response"],
        timepoint=["", ""],
        arm=["needles", "pills"],
        role=["intervention", "intervention"],
        n=[10, 5],
        events=[4, 2],
        source=["csv", "bib"],
    )
    lookup = outcome_arms(pd.DataFrame(values))
    assert list(lookup) == ["a2000"]  # "bib" rows repeat the shorthand, read from the entry instead
    assert arms_for({"key": "a2000"}, lookup) == (
        ArmSet("cure", "", None, (RecordedArm("needles", "intervention", 10, 4),), "csv"),
    )
    shorthand = {"key": "b2001", "intervention": "pills", "n": 5, "responders": 2, "response_definition": "cured"}
    (arm_set,) = arms_for(shorthand, lookup)
    assert (arm_set.source, arm_set.outcome, arm_set.definition) == ("bib", "response", "cured")
    assert arm_set.arms == (RecordedArm("pills", "intervention", 5, 2),)


def test_the_audit_reads_the_same_arms_without_building_the_shorthand_rows(tmp_path):
    """The audit loads only the CSV rows (a large library has tens of thousands of shorthand rows), so the
    arms it judges must be those the full outcome table gives."""
    from evidence.library.outcomes import load_outcomes

    (tmp_path / "lib.bib").write_text(
        "@article{a2000, author = {A, B}, title = {T}, journal = {J}, year = 2000, design = {rct}}\n"
        "@article{b2001, author = {C, D}, title = {U}, journal = {J}, year = 2001, design = {rct},\n"
        "  intervention = {pills}, comparator = {placebo}, n = {40}, responders = {20}, control_n = {40},\n"
        "  control_responders = {10}}\n"
    )
    (tmp_path / "lib.outcomes.csv").write_text(
        "key,outcome,timepoint,arm,role,n,events,better\n"
        "a2000,cure,,needles,intervention,10,4,higher\n"
        "a2000,cure,,sham,control,10,2,higher\n"
    )
    studies = Library(tmp_path, use_cache=False).load().table
    full, _ = load_outcomes([tmp_path], studies)
    csv_only, problems = load_outcomes([tmp_path], studies, check=False, shorthand=False)
    assert sorted(full["source"]) == ["bib", "bib", "csv", "csv"] and list(csv_only["source"]) == ["csv", "csv"]
    assert problems == []
    assert outcome_arms(csv_only) == outcome_arms(full) and list(outcome_arms(full)) == ["a2000"]
