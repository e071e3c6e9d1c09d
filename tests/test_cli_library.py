"""Wiring of check, query and show through Click, and the launcher."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from conftest import DATA, EXAMPLE_REFS, ROOT

from evidence.cli import cli

MESSY = str(DATA / "library" / "messy.bib")


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_check_clean_library_exits_0():
    result = run("check", "--refs", str(EXAMPLE_REFS))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.stdout


def test_check_reports_file_line_key_and_exits_2():
    result = run("check", "--refs", MESSY)
    assert result.exit_code == 2
    assert f"{MESSY}:26: broken: error: entry not closed" in result.stderr
    assert "Traceback" not in result.output


def test_check_strict_turns_warnings_into_exit_1(write_bib):
    path = write_bib("@article{x2000, title = {T}, journal = {J}, year = 2000}\n")
    assert run("check", "--refs", str(path)).exit_code == 0
    strict = run("check", "--strict", "--refs", str(path))
    assert strict.exit_code == 1
    assert "x2000: warning: missing required field for @article: author" in strict.stderr
    as_json = json.loads(run("check", "--format", "json", "--refs", str(path)).stdout)
    assert as_json[0]["key"] == "x2000" and as_json[0]["severity"] == "warning"


def test_query_json_lists_restless_legs_studies_with_fields():
    result = run("query", "--refs", str(EXAMPLE_REFS), "--condition", "restless legs", "--format", "json")
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    by_key = {r["key"]: r for r in records}
    assert len(records) == 12
    assert by_key["shi2003"]["participants"] == 120 and by_key["shi2003"]["design"] == "quasi-rct"
    assert by_key["wang1994"]["response_rate_bound"] == ">="
    assert "raw" not in by_key["wang1994"]


def test_query_filters_columns_sort_and_formats():
    result = run(
        "query",
        "--refs",
        str(EXAMPLE_REFS),
        "--has-outcome",
        "--sort",
        "-year",
        "--columns",
        "key,year",
        "--format",
        "csv",
    )
    assert result.stdout.splitlines() == [
        "key,year",
        "huang2021,2021",
        "shi2003,2003",
        "wang1994,1994",
        "yang1993,1993",
    ]
    bib = run("query", "--refs", str(EXAMPLE_REFS), "--design", "quasi-rct", "--format", "bibtex").stdout
    assert (
        bib.startswith("@article{shi2003,") and (EXAMPLE_REFS / "restless-legs.bib").read_text().count(bib.strip()) == 1
    )
    md = run("query", "--refs", str(EXAMPLE_REFS), "--min-n", "100", "--format", "markdown").stdout
    assert md.splitlines()[2].startswith("| huang2021 | 2021 | meta-analysis | 640 |")


def test_query_rejects_unknown_column_and_design():
    bad = run("query", "--refs", str(EXAMPLE_REFS), "--columns", "key,yeer")
    assert bad.exit_code == 2 and "did you mean year" in bad.stderr
    assert run("query", "--refs", str(EXAMPLE_REFS), "--design", "trial").exit_code == 2


def test_refs_from_environment_and_missing_path():
    result = run("query", "--format", "csv", "--columns", "key", env={"EVIDENCE_REFS": MESSY})
    assert result.stdout.splitlines() == ["key", "muller2001", "book2010", "fine2020"]
    assert "the library has 1 error(s)" in result.stderr
    missing = run("query", "--refs", "no/such/dir")
    assert missing.exit_code == 2 and "no such file or folder" in missing.stderr


def test_show_entry_and_unknown_key_suggestions():
    result = run("show", "--refs", str(EXAMPLE_REFS), "shi2003")
    assert result.exit_code == 0 and "participants           120" in result.stdout
    unknown = run("show", "--refs", str(EXAMPLE_REFS), "shi2030")
    assert unknown.exit_code == 2
    assert "no entry with key 'shi2030'" in unknown.stderr and "shi2003" in unknown.stderr


def test_launcher_runs_from_checkout():
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--version"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("evidence, version ")
