"""Bad input for the audit: adversarial megabyte pages finish in seconds, odd pages give an error line.

Every pattern the audit runs must be linear in the page's length; a quadratic one
takes minutes on these pages (the old pandoc-citation pattern took 69 s on
"[" followed by 80,000 "@x").
"""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_REFS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.audit.claims import parse_page
from evidence.audit.judge import audit_page
from evidence.cli import cli

MB = 1_000_000

ADVERSARIAL = {
    "pandoc brackets": "[" + "@x" * (MB // 2),
    "many open brackets": "[@x " * (MB // 4),
    "unclosed footnotes": "<ref>" * (MB // 5),
    "unclosed sup": "<sup>1" * (MB // 6),
    "digits": "In " + "1" * MB + " patients.",
    "comma numbers": "in " + "1," * (MB // 2) + " patients",
    "spaces": "1" + " " * MB + "patients",
    "sentence ends": "A. " * (MB // 3),
    "percent signs": "5% " * (MB // 3),
    "parentheses": "(" * MB,
    "volume citations": "(2006; 354:" * (MB // 11),
    "author names": "led by Ab Cd " * (MB // 13),
    "et al": "Wang et al " * (MB // 11),
    "trial names": "(ABC) " * (MB // 6),
    "design adjectives": "a randomized, " * (MB // 14),
    "newlines": "\n" * MB,
    "reference lines": "1. Wang X. Title. J. 2001;1(1):1-2.\n" * (MB // 36),
    "html": "<p>" * (MB // 3),
}


@pytest.fixture(scope="module")
def table():
    from evidence.library.table import load_table

    return load_table([EXAMPLE_REFS], use_cache=False).table


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_megabyte_page_finishes_in_seconds(name, table):
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    audit = audit_page(parse_page(text, name, is_html=None), table)
    elapsed = time.perf_counter() - started
    assert elapsed < 20.0, f"{name}: {elapsed:.1f} s"
    assert audit.page.path == name


def test_a_hundred_thousand_digit_count_is_no_claim_and_no_traceback(table):
    page = parse_page("The trial enrolled " + "9" * 100_000 + " patients [@wang1994].\n")
    audit = audit_page(page, table)
    assert [v.claim.kind for v in audit.verdicts] == []


def test_unreadable_pages_are_error_lines_and_the_others_are_audited(tmp_path):
    good = tmp_path / "good.md"
    good.write_text("There have been two Chinese studies [@wang1994; @yang1993].\n")
    folder = tmp_path / "empty"
    folder.mkdir()
    result = CliRunner().invoke(
        cli, ["audit", "--no-cache", "--refs", str(EXAMPLE_REFS), str(good), str(tmp_path / "missing.md"), str(folder)]
    )
    assert result.exit_code == 2
    assert "error: " + str(tmp_path / "missing.md") + ": no such file" in result.stderr
    assert "no pages" in result.stderr
    assert "two Chinese studies" in result.stdout
    assert "Traceback" not in result.output


def test_binary_page_is_read_without_a_traceback(tmp_path):
    page = tmp_path / "binary.html"
    page.write_bytes(bytes(range(256)) * 100)
    result = CliRunner().invoke(cli, ["audit", "--no-cache", "--refs", str(EXAMPLE_REFS), str(page)])
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.output


PIECES = st.sampled_from(
    [
        "[@wang1994]",
        "[1]",
        "(1, 2)",
        "<sup>1</sup>",
        "<ref>{{cite journal |pmid= 1}}</ref>",
        "(2006; 354:557-66)",
        "(GAIT)",
        "led by Ab Wang",
        "Wang et al",
        "(Wang 1994)",
        "1,583 patients",
        "sixty women",
        "at least 70%",
        "51% vs 53%",
        "no better than sham",
        "twice as likely",
        "a randomized, double-blind trial",
        "meta-analysis",
        "in the sham group",
        "who stopped treatment",
        "$12.5 million",
        "12 sessions",
        ". ",
        "\n",
        "\n\nReferences\n",
        "1. Wang DY. Title. J. 1994;11(1):46.\n",
        "- Clegg DO. T. N Engl J Med. 2006;354(8):795-808. PMID: 16495392\n",
        "n = 40",
        "(25%)",
        "64% female",
        "Of these, 40 patients",
        " ",
        "9" * 30,
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(PIECES, max_size=30))
def test_any_page_parses_and_audits_with_exact_spans(table, pieces):
    text = "".join(pieces)
    page = parse_page(text)
    audit = audit_page(page, table)
    for verdict in audit.verdicts:
        claim = verdict.claim
        assert 0 <= claim.start <= claim.end <= len(page.text)
        assert page.text[claim.start : claim.end].strip() == claim.text.strip()
        assert verdict.verdict in ("supported", "unverified", "contradicted", "unverifiable", "uncited")
        assert verdict.reason
