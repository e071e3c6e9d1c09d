"""Judging page claims against the library: the seed page and its variants."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, EXAMPLE_REFS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.audit.claims import Claim, ListedReference, parse_page, read_page
from evidence.audit.judge import audit_page, claim_interval
from evidence.audit.match import build_index, match_reference
from evidence.audit.records import library_state, write_record
from evidence.cli import cli
from evidence.library.table import load_table

SEED = DATA / "audit" / "condition-page.txt"
SEED_TEXT = SEED.read_text()
CLAIM = "There have been two Chinese studies1,2"


@pytest.fixture(scope="module")
def table():
    return load_table([EXAMPLE_REFS], use_cache=False).table


@pytest.fixture(scope="module")
def two_arm():
    """Shi 2003 given by the BibTeX shorthand (the example library keeps its three arms in the outcome table)."""
    return load_table([DATA / "library" / "two-arm.bib"]).table


def verdicts(text: str, table) -> dict[str, tuple[str, str]]:
    audit = audit_page(parse_page(text, "page.txt"), table)
    return {v.claim.text: (v.verdict, v.reason) for v in audit.verdicts} | {"findings": audit.findings}  # type: ignore


def test_seed_page_resolves_both_references_and_flags_secondary_data(table):
    audit = audit_page(read_page(SEED), table)
    assert [(m.label, m.key, m.method) for m in audit.matches] == [
        ("1", "wang1994", "first author, year and title"),
        ("2", "yang1993", "first author, year and title"),
    ]
    assert audit.findings == ()
    found = {v.claim.text: v for v in audit.verdicts}
    assert found["two Chinese studies"].verdict == "unverified"
    assert found["at least 70%"].verdict == "unverified"
    assert "wang1994: only a secondary statement, from Condition page" in found["at least 70%"].reason
    assert "wang1994, yang1993 were extracted from this very sentence" in found["at least 70%"].reason
    assert not audit.failed() and audit.failed(["unverified"])


def test_a_page_that_does_not_hold_the_quoted_statement_is_not_called_circular(table):
    text = SEED_TEXT.replace("both reported that", "both found that")
    assert "this very sentence" not in verdicts(text, table)["at least 70%"][1]


def test_raising_the_number_beyond_the_recorded_bound_is_unverifiable(table):
    found = verdicts(SEED_TEXT.replace("at least 70%", "at least 80%"), table)
    verdict, reason = found["at least 80%"]
    assert verdict == "unverifiable" and "not enough to decide" in reason


def test_lowering_the_number_is_still_supported(table):
    assert verdicts(SEED_TEXT.replace("at least 70%", "at least 60%"), table)["at least 60%"][0] == "unverified"


def test_an_upper_bound_below_the_recorded_floor_is_contradicted(table):
    verdict, reason = verdicts(SEED_TEXT.replace("at least 70%", "fewer than 50%"), table)["fewer than 50%"]
    assert verdict == "contradicted" and "wang1994 response rate >=70% > 50%" in reason


def test_changing_the_count_of_studies_is_contradicted(table):
    verdict, reason = verdicts(SEED_TEXT.replace("two Chinese studies", "three Chinese studies"), table)[
        "three Chinese studies"
    ]
    assert verdict == "contradicted" and "cites 2 studies" in reason


def test_changing_the_country_is_contradicted(table):
    verdict, reason = verdicts(SEED_TEXT.replace("two Chinese studies", "two Japanese studies"), table)[
        "two Japanese studies"
    ]
    assert verdict == "contradicted" and "country is China, not Japan" in reason


def test_a_design_the_library_does_not_record_is_unverifiable(table):
    text = SEED_TEXT.replace("two Chinese studies", "two randomised controlled trials")
    verdict, reason = verdicts(text, table)["two randomised controlled trials"]
    assert verdict == "unverifiable" and "wang1994 has no design" in reason


def test_citation_to_a_reference_not_in_the_list(table):
    audit = audit_page(parse_page(SEED_TEXT.replace("studies1,2", "studies1,3"), "p.txt"), table)
    assert "citation [3] has no entry in the page's reference list" in audit.findings
    assert audit.failed()


def test_reference_not_in_the_library(table):
    text = SEED_TEXT.replace(
        "Yang YD (1993) Treatment of restive leg syndromes with body acupuncture and ear acupuncture",
        "Smith J (2010) Massage for tired legs",
    )
    audit = audit_page(parse_page(text, "p.txt"), table)
    assert audit.findings == ("reference 2 matches no library entry",)
    assert audit.failed()


def test_pandoc_citations_against_exact_data(two_arm):
    table = two_arm
    text = "Shi and Wang [@shi2003] found that 67.5% of 40 patients were cured.\n"
    found = verdicts(text, table)
    assert found["67.5%"][0] == "unverified" and "shi2003 response rate 67.5%" in found["67.5%"][1]
    assert verdicts(text.replace("67.5%", "80%"), table)["80%"][0] == "contradicted"
    assert verdicts(text.replace("67.5%", "about 66%"), table)["about 66%"][0] == "unverified"
    unknown = audit_page(parse_page("Two trials [@nosuch; @shi2003] show 50%.\n"), table)
    assert unknown.findings == ("citation key @nosuch is not in the library",)


def test_outcome_broader_than_recorded_makes_the_rate_a_floor(two_arm):
    table = two_arm
    # shi2003 counts only 'cured'; 'cured or improved' includes more people, so >= 67.5% is all we know
    text = "One study [@shi2003] found that over 60% were cured or improved.\n"
    assert verdicts(text, table)["over 60%"][0] == "unverified"
    assert verdicts(text.replace("over 60%", "over 70%"), table)["over 70%"][0] == "unverifiable"
    assert verdicts(text.replace("over 60%", "fewer than 50%"), table)["fewer than 50%"][0] == "contradicted"


def test_control_arm_review_counts_and_participants(two_arm):
    table = two_arm
    text = (
        "In Shi 2003 [@shi2003], 18 of 40 controls responded (45%). "
        "Cui 2008 [@cui2008] is a systematic review of 2 studies with 170 participants.\n"
    )
    found = verdicts(text, table)
    assert found["45%"][0] == "unverified"
    assert found["2 studies"][0] == "unverified" and found["170 participants"][0] == "unverified"
    wrong = verdicts(text.replace("2 studies", "5 studies").replace("170", "200"), table)
    assert wrong["5 studies"][0] == "contradicted" and wrong["200 participants"][0] == "contradicted"


def test_verified_data_is_supported(write_bib):
    path = write_bib(
        "@article{v2000, author = {Li, X.}, title = {A trial}, journal = {J}, year = 2000, country = {China},"
        " n = {20}, responders = {15}, extracted_by = {AB}, verified_by = {CD}}\n"
    )
    table = load_table([path]).table
    found = verdicts("A Chinese study [@v2000] found 75% improved.\n", table)
    assert found["75%"][0] == "supported" and found["A Chinese study"][0] == "supported"


def test_exact_rate_below_the_claim_names_both_numbers(write_bib):
    path = write_bib(
        "@article{yang1993, author = {Yang, Y. D.}, title = {A trial}, journal = {J}, year = 1993,"
        " n = {20}, responders = {13}}\n"
    )
    found = verdicts("Both studies [@yang1993] reported at least 70% improved.\n", load_table([path]).table)
    assert found["at least 70%"] == ("contradicted", "yang1993 response rate 65% < 70% (the claimed at least 70%)")


def test_verification_limited_to_other_fields_leaves_the_rate_unverified(write_bib):
    entry = (
        "@article{v2000, author = {Li, X.}, title = {A trial}, journal = {J}, year = 2000, country = {China},"
        " n = {20}, responders = {15}, extracted_by = {AB}, verified_by = {CD}, verified_fields = {%s}}\n"
    )
    limited = load_table([write_bib(entry % "country")]).table
    found = verdicts("A Chinese study [@v2000] found 75% improved.\n", limited)
    assert found["A Chinese study"][0] == "supported"
    assert found["75%"][0] == "unverified" and "verification does not cover response_rate" in found["75%"][1]
    covered = load_table([write_bib(entry % "response_rate; responders; n")]).table
    assert verdicts("A Chinese study [@v2000] found 75% improved.\n", covered)["75%"][0] == "supported"


def test_outcome_words_widen_the_recorded_rate_and_say_why(table):
    improved = verdicts(SEED_TEXT.replace("were either cured or significantly improved", "improved"), table)
    assert improved["at least 70%"][0] == "unverified"  # a cured patient has improved
    cured = verdicts(SEED_TEXT.replace("were either cured or significantly improved", "were cured"), table)
    verdict, reason = cured["at least 70%"]
    assert verdict == "unverifiable"
    assert "unknown (0-100%)" in reason and "'cured or significantly improved', broader than" in reason


def test_uncited_numbers_are_listed(table):
    found = verdicts("In 120 patients, 50% improved.\n", table)
    assert found["50%"][0] == "uncited"


def test_matching_by_doi_and_ambiguity(table):
    by_doi = match_reference(
        ListedReference(
            "1", "Anything doi:10.1002/14651858.CD006457.pub2", 1, None, None, doi="10.1002/14651858.CD006457.pub2"
        ),
        build_index(table),
    )
    assert (by_doi.key, by_doi.method, by_doi.confidence) == ("cui2008", "DOI", 1.0)
    twin = table.loc[["shi2003"]].copy()
    twin.index = ["shi2003b"]
    twin["key"] = "shi2003b"
    import pandas as pd

    doubled = pd.concat([table, twin])
    ref = ListedReference("1", "Shi YL (2003) " + table.loc["shi2003", "title"], 1, "Shi", 2003)
    ambiguous = match_reference(ref, build_index(doubled))
    assert ambiguous.key is None and set(ambiguous.candidates) == {"shi2003", "shi2003b"}
    assert "matches 2 entries equally" in (ambiguous.problem or "")


def test_claim_intervals():
    def interval(bound, low, high=None):
        return claim_interval(Claim("rate", 0, 0, "", low=low, high=high if high is not None else low, bound=bound))

    assert interval(">=", 70) == (69.5, 100.0)
    assert interval("=", 67.5) == (67.45, 67.55)
    assert interval("~", 70) == (67.5, 72.5)
    assert interval("range", 60, 80) == (59.5, 80.5)


def test_record_names_library_state(table, tmp_path):
    files = [EXAMPLE_REFS / "restless-legs.bib"]
    state = library_state(files)
    assert len(state["sha256"]) == 64 and str(files[0]) in state["files"]
    audit = audit_page(read_page(SEED), table, state)
    path = write_record(audit, tmp_path / "records")
    record = json.loads(path.read_text())
    assert record["library"]["sha256"] == state["sha256"]
    assert record["summary"]["unverified"] == 2
    assert record["references"][0]["key"] == "wang1994"
    assert record["references"][1]["parsed"]["authors"] == ["Yang YD"]
    assert record["references"][1]["parsed"]["pages"] == "13-14"
    assert re.search(r"-condition-page-[0-9a-f]{8}\.json$", path.name)


def test_record_says_when_the_library_differs_from_its_commit(tmp_path):
    import subprocess

    bib = tmp_path / "lib.bib"
    bib.write_text("@article{a2000, author = {Li, X.}, title = {T}, year = 2000}\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "lib.bib"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    clean = library_state([bib])
    assert len(clean["git_commit"]) == 40 and clean["bib_changed_since_commit"] is False
    bib.write_text(bib.read_text() + "\n% edited\n")
    changed = library_state([bib])
    assert changed["bib_changed_since_commit"] is True and changed["sha256"] != clean["sha256"]


def test_cli_audit_exit_codes_and_formats(tmp_path: Path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "--refs", str(EXAMPLE_REFS), str(SEED)])
    assert ok.exit_code == 0, ok.output
    assert "supported by unverified data: at least 70%" in ok.stdout and "[[at least 70%]]" in ok.stdout
    strict = runner.invoke(cli, ["audit", "--refs", str(EXAMPLE_REFS), "--fail-on", "unverified", str(SEED)])
    assert strict.exit_code == 1
    bad = tmp_path / "bad.md"
    bad.write_text(SEED_TEXT.replace("two Chinese studies", "two Korean studies"))
    failed = runner.invoke(
        cli, ["audit", "--refs", str(EXAMPLE_REFS), "--format", "json", "--record", str(tmp_path / "r"), str(bad)]
    )
    assert failed.exit_code == 1
    (record,) = json.loads(failed.stdout)
    assert record["summary"]["contradicted"] == 1
    assert len(list((tmp_path / "r").glob("*.json"))) == 1
    md = runner.invoke(cli, ["audit", "--refs", str(EXAMPLE_REFS), "--format", "markdown", str(SEED)])
    assert md.stdout.startswith(f"## Audit of `{SEED}`")
    wrong = runner.invoke(cli, ["audit", "--refs", str(EXAMPLE_REFS), "--fail-on", "nonsense", str(SEED)])
    assert wrong.exit_code == 2 and "--fail-on takes" in wrong.stderr


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300), st.lists(st.text(max_size=80), max_size=4))
def test_auditor_never_crashes(table, body, references):
    listing = "\n".join(f"{i + 1}. {r}" for i, r in enumerate(references))
    audit = audit_page(parse_page(f"{body} [1] 70% [@shi2003]\n\nReferences\n{listing}\n"), table)
    for verdict in audit.verdicts:
        assert verdict.verdict in ("supported", "unverified", "contradicted", "unverifiable", "uncited")


VARIANTS = DATA / "audit" / "variants"
EXPECTED = json.loads((VARIANTS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_variant_pages_change_the_verdict_as_they_should(table, name):
    """Each file in tests/data/audit/variants is the seed page with one thing changed."""
    expected = EXPECTED[name]
    page = read_page(VARIANTS / f"{name}.txt")
    audit = audit_page(page, table)
    found = {v.claim.text: v.verdict for v in audit.verdicts}
    assert {text: found.get(text) for text in expected["claims"]} == expected["claims"]
    assert list(audit.findings) == expected["findings"]
    result = CliRunner().invoke(cli, ["audit", "--refs", str(EXAMPLE_REFS), str(VARIANTS / f"{name}.txt")])
    assert result.exit_code == expected["exit"], result.output
