"""What summarize and render write passes the audit: nothing contradicted or unresolved.

Sentences about the library as a whole ("The library holds 10 studies") cite
nothing and are listed as uncited; every cited claim must be supported (here,
by unverified data, since the example library has no verified_by yet).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_REFS

from evidence.audit.claims import parse_page, read_page
from evidence.audit.judge import audit_page
from evidence.cli import cli
from evidence.library.table import load_table


@pytest.fixture(scope="module")
def table():
    return load_table([EXAMPLE_REFS], use_cache=False).table


def assert_passes(page, table):
    audit = audit_page(page, table)
    assert audit.findings == ()
    bad = [(v.verdict, v.claim.text, v.reason) for v in audit.verdicts if v.verdict in ("contradicted", "unverifiable")]
    assert bad == []
    # only sentences about the library as a whole (study counts, "In all, 120 participants") and the statistics
    # (I², thresholds) in a page's "Methods and statistics" may cite nothing; every rate names its study
    methods = page.text.find("Methods and statistics")
    assert [
        v.claim.text
        for v in audit.verdicts
        if v.verdict == "uncited" and v.claim.kind == "rate" and not (0 <= methods < v.sentence.start)
    ] == []
    assert audit.count("unverified") >= 10


@pytest.mark.parametrize("fmt", ["markdown", "text", "html"])
def test_summary_paragraph_passes_audit(table, fmt):
    result = CliRunner().invoke(
        cli, ["summarize", "--refs", str(EXAMPLE_REFS), "restless legs syndrome", "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    assert_passes(parse_page(result.stdout, f"summary.{fmt}", is_html=fmt == "html"), table)


def test_rendered_pages_pass_audit(table, tmp_path):
    result = CliRunner().invoke(cli, ["render", "--refs", str(EXAMPLE_REFS), "--all", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pages = sorted(tmp_path.glob("*.md")) + sorted(tmp_path.glob("*.html"))
    assert len(pages) >= 2
    for page in pages:
        assert_passes(read_page(page), table)
    audited = CliRunner().invoke(cli, ["audit", "--refs", str(EXAMPLE_REFS), *map(str, pages)])
    assert audited.exit_code == 0, audited.output
