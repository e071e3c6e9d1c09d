"""The rendered condition page in a real browser: headless Chromium (Debian's ``chromium``).

The page is served from a temporary folder on 127.0.0.1 and loaded in an
iframe of a small harness page, whose script measures the plot, the study
table and the reference list inside the page and writes what it found into
its own DOM; ``--dump-dom`` prints that.  Errors: Chromium logs every console
message of the page on stderr (``--enable-logging=stderr``), and the server
records every request, so a script error or a missing resource fails the test.
Skips only when chromium is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import EXAMPLE_REFS

from evidence.library.table import load_table
from evidence.pages.render import render_conditions

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian package 'chromium'; .ci/run installs it)"
)

HARNESS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>harness</title></head><body>
<pre id="result">pending</pre>
<iframe id="page" src="PAGE" style="width:1000px;height:4000px;border:0"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {
  var doc = this.contentDocument;
  function visible(selector) {
    var element = doc.querySelector(selector);
    if (!element) return false;
    var box = element.getBoundingClientRect(), style = doc.defaultView.getComputedStyle(element);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.display !== "none";
  }
  var images = Array.prototype.slice.call(doc.images);
  var svg = doc.querySelector("#forest-plot svg"), texts = svg ? svg.querySelectorAll("text") : [];
  var scale = svg ? svg.getBoundingClientRect().width / svg.viewBox.baseVal.width : 0;
  var sizes = Array.prototype.map.call(texts, function (t) {
    return parseFloat(doc.defaultView.getComputedStyle(t).fontSize) * scale;
  });
  var caption = doc.querySelector("#forest-plot figcaption");
  document.getElementById("result").textContent = JSON.stringify({
    plot: visible("#forest-plot svg"),
    plotMarks: doc.querySelectorAll("#forest-plot svg path").length,
    table: visible("table.studies"),
    rows: doc.querySelectorAll("table.studies tbody tr").length,
    references: visible(".references"),
    items: doc.querySelectorAll(".references li").length,
    brokenImages: images.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length,
    title: doc.title,
    plots: doc.querySelectorAll("#forest-plot figure svg").length,
    plotTextPx: sizes.length ? Math.min.apply(null, sizes) : 0,
    smallPrintPx: caption ? parseFloat(doc.defaultView.getComputedStyle(caption).fontSize) : 0,
    sof: visible("table.sof"),
    sofRows: doc.querySelectorAll("table.sof tbody tr").length,
    methods: visible("#methods")
  });
});
</script></body></html>
"""


class RecordingHandler(SimpleHTTPRequestHandler):
    """Serves the folder and records (path, status) of every request."""

    requests: list[tuple[str, int]]

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format, *args):
        pass


@pytest.fixture
def served(tmp_path: Path):
    table = load_table([EXAMPLE_REFS]).table
    render_conditions(table, ["restless legs syndrome"], tmp_path)
    (tmp_path / "harness.html").write_text(HARNESS.replace("PAGE", "restless-legs-syndrome.html"), encoding="utf-8")
    requests: list[tuple[str, int]] = []
    handler = type("Handler", (RecordingHandler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/harness.html", requests, tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_condition_page_shows_plot_table_and_references_without_errors(served):
    url, requests, folder = served
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={folder / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert match, f"no result in the dumped DOM (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    found = json.loads(html.unescape(match.group(1)))
    assert found["plot"] and found["plotMarks"] > 0, found
    assert found["table"] and found["rows"] == 12, found  # every entry of the example library
    assert found["references"] and found["items"] == 12, found
    assert found["brokenImages"] == 0
    assert found["title"] == "Restless legs syndrome: the evidence"
    assert found["plots"] == 2  # Shi 2003's comparisons: cure and marked effect
    assert found["smallPrintPx"] > 0 and found["plotTextPx"] >= found["smallPrintPx"], found
    assert found["sof"] and found["sofRows"] == 2 and found["methods"], found
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "the page logged to the console:\n" + "\n".join(console)
    failed = [(path, status) for path, status in requests if status >= 400 and path != "/favicon.ico"]
    assert failed == [], f"requests that failed: {failed}"
    assert ("/restless-legs-syndrome.html", 200) in requests
