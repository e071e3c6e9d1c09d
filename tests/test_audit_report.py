"""The audit's output for reviewers: many pages at once, the summary table, and the HTML report.

The HTML report is checked in headless Chromium (Debian's ``chromium``), served
from a temporary folder on 127.0.0.1: every claim is highlighted in its
verdict's colour, its reason shows on keyboard focus, and nothing from the
page becomes markup.  Skips only when chromium is not installed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
from datetime import UTC
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from conftest import DATA, EXAMPLE_REFS

from evidence.audit import report
from evidence.audit.claims import parse_page
from evidence.audit.judge import audit_page
from evidence.audit.run import audit_pages
from evidence.cli import cli
from evidence.library.table import load_table

CHROMIUM = shutil.which("chromium")
SEED = DATA / "audit" / "condition-page.txt"
HOSTILE = (
    "Two Chinese studies [@wang1994; @yang1993] found that at least 70% improved "
    "<img src=x onerror=\"document.title='injected'\"><script>document.title='injected'</script>.\n"
)


@pytest.fixture(scope="module")
def table():
    return load_table([EXAMPLE_REFS], use_cache=False).table


def test_folder_and_stdin_give_one_run_with_a_summary_table(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.md").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pages" / "b.txt").write_text("In 120 patients, 50% improved.\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["audit", "--no-cache", "--refs", str(EXAMPLE_REFS), str(tmp_path / "pages"), "-"],
        input="Two Chinese studies [@wang1994; @yang1993] were done.\n",
    )
    assert result.exit_code == 0, result.output
    table_lines = result.stdout[result.stdout.rindex("\npage ") + 1 :].splitlines()
    assert table_lines[0].split() == [
        "page",
        "supported",
        "unverified",
        "contradicted",
        "unverifiable",
        "uncited",
        "unresolved",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in table_lines[1:]}
    assert rows[str(tmp_path / "pages" / "a.md")] == ["0", "2", "0", "0", "0", "0"]
    assert rows[str(tmp_path / "pages" / "b.txt")] == ["0", "0", "0", "0", "2", "0"]
    assert rows["<stdin>"] == ["0", "1", "0", "0", "0", "0"]
    assert rows["total"] == ["0", "3", "0", "0", "2", "0"]


def test_one_exit_status_for_the_run(tmp_path, table):
    wrong = tmp_path / "wrong.md"
    wrong.write_text("Two Japanese studies [@wang1994; @yang1993] were done.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", "--no-cache", "--refs", str(EXAMPLE_REFS), str(SEED), str(wrong)])
    assert result.exit_code == 1
    run = audit_pages([str(SEED)], table)
    assert run.exit_status() == 0 and run.exit_status(["unverified"]) == 1
    assert audit_pages([str(tmp_path / "nothing.md")], table).exit_status() == 2


def test_html_report_escapes_the_page_and_marks_every_claim(table):
    audit = audit_page(parse_page(HOSTILE, "hostile.md"), table)
    page = report.format_html([audit])
    assert "<script>document" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page
    marks = re.findall(r'<mark class="(\w+)" id="claim-1-(\d+)" tabindex="0"', page)
    assert [verdict for verdict, _ in marks] == [v.verdict for v in audit.verdicts]
    assert 'title="supported by unverified data: ' in page


def test_same_named_pages_recorded_in_one_second_keep_both_records(tmp_path, table):
    from datetime import datetime

    from evidence.audit.records import write_record

    now = datetime(2026, 1, 1, tzinfo=UTC)
    paths = []
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        page = tmp_path / folder / "index.md"
        page.write_text("Two Chinese studies [@wang1994; @yang1993].\n", encoding="utf-8")
        audit = audit_page(parse_page(page.read_text(), str(page)), table)
        paths.append(write_record(audit, tmp_path / "records", now))
    assert paths[0] != paths[1] and all(p.exists() for p in paths)
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == sorted(p.name for p in paths)


HARNESS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>harness</title></head><body>
<pre id="result">pending</pre>
<iframe id="page" src="report.html" style="width:1000px;height:3000px;border:0"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {
  var doc = this.contentDocument, win = doc.defaultView;
  var marks = Array.prototype.slice.call(doc.querySelectorAll("mark"));
  var colours = marks.map(function (m) { return [m.className, win.getComputedStyle(m).backgroundColor]; });
  var hiddenBefore = marks.map(function (m) { return win.getComputedStyle(m.querySelector(".reason")).display; });
  marks[0].focus();
  var shown = win.getComputedStyle(marks[0].querySelector(".reason")).display;
  var box = marks[0].querySelector(".reason").getBoundingClientRect();
  document.getElementById("result").textContent = JSON.stringify({
    title: doc.title, marks: marks.length, colours: colours, hiddenBefore: hiddenBefore, shownOnFocus: shown,
    reasonWidth: box.width, focused: doc.activeElement === marks[0],
    images: doc.images.length, scripts: doc.scripts.length,
    findings: doc.querySelectorAll("table.claims tbody tr").length,
    text: doc.querySelector(".page-text").textContent
  });
});
</script></body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package 'chromium')")
def test_html_report_in_chromium_colours_claims_and_shows_reasons_on_focus(tmp_path, table):
    audit = audit_page(
        parse_page(HOSTILE + "Three Chinese studies [@wang1994; @yang1993] were done.\n", "hostile.md"), table
    )
    (tmp_path / "report.html").write_text(report.format_html([audit]), encoding="utf-8")
    (tmp_path / "harness.html").write_text(HARNESS, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"http://127.0.0.1:{server.server_address[1]}/harness.html",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    match = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert match, f"no result (exit {done.returncode}):\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    found = json.loads(html.unescape(match.group(1)))
    assert found["title"].startswith("Audit of hostile.md")
    assert found["images"] == 0 and found["scripts"] == 0  # the page's tags stayed text
    assert "<script>document.title='injected'</script>" in found["text"]
    assert found["marks"] == len(audit.verdicts) == found["findings"]
    colours = dict(found["colours"])
    assert colours["unverified"] == "rgb(255, 240, 168)" and colours["contradicted"] == "rgb(255, 194, 194)"
    assert set(found["hiddenBefore"]) == {"none"}
    assert found["focused"] and found["shownOnFocus"] == "block" and found["reasonWidth"] > 0


def test_cli_html_and_json_formats(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(HOSTILE, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["audit", "--no-cache", "--refs", str(EXAMPLE_REFS), "--format", "html", str(page), str(SEED)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.count('<section class="page"') == 2
    assert '<table class="summary">' in result.stdout and "&lt;script&gt;" in result.stdout
    result = CliRunner().invoke(
        cli, ["audit", "--no-cache", "--refs", str(EXAMPLE_REFS), "--format", "json", str(page)]
    )
    (record,) = json.loads(result.stdout)
    assert [(c["claim"], c["verdict"], c["scope"]) for c in record["claims"]] == [
        ("Two Chinese studies", "unverified", "sentence"),
        ("at least 70%", "unverified", "sentence"),
    ]
