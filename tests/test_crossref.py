"""add --doi against a Crossref stand-in served on 127.0.0.1 by the test."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from click.testing import CliRunner

from evidence.cli import cli
from evidence.curation.crossref import fetch_doi
from evidence.errors import EvidenceError

WORK = {
    "message": {
        "DOI": "10.1000/test.1",
        "type": "journal-article",
        "title": ["Acupuncture & sleep: a trial"],
        "author": [{"given": "Dong Yan", "family": "Wang"}],
        "container-title": ["Sleep Medicine"],
        "volume": "7",
        "issue": "2",
        "page": "11-19",
        "issued": {"date-parts": [[2020, 4, 1]]},
        "abstract": "<jats:p>Needles helped.</jats:p>",
    }
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/works/10.1000/test.1":
            body, status = json.dumps(WORK).encode(), 200
        elif self.path == "/works/10.1000/broken":
            body, status = b"<html>", 200
        else:
            body, status = b"{}", 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_maps_crossref_fields(server):
    record = fetch_doi("https://doi.org/10.1000/test.1", server)
    assert record.entry_type == "article"
    assert record.fields["title"] == "Acupuncture & sleep: a trial"
    assert record.fields["author"] == "Wang, Dong Yan"
    assert (record.fields["year"], record.fields["month"], record.fields["pages"]) == ("2020", "apr", "11--19")
    assert record.fields["abstract"] == "Needles helped."
    assert record.fields["doi"] == "10.1000/test.1"


def test_errors_are_plain_and_nothing_is_written(server, tmp_path):
    with pytest.raises(EvidenceError, match="no record of DOI 10.1000/missing"):
        fetch_doi("10.1000/missing", server)
    with pytest.raises(EvidenceError, match="not JSON"):
        fetch_doi("10.1000/broken", server)
    with pytest.raises(EvidenceError, match="not a DOI"):
        fetch_doi("wang1994", server)
    target = tmp_path / "lib.bib"
    offline = CliRunner().invoke(cli, ["add", "--refs", str(tmp_path), "--doi", "10.1000/test.1", "--to", str(target),
                                       "--crossref-url", "http://127.0.0.1:9"])
    assert offline.exit_code == 2 and "cannot reach Crossref" in offline.stderr and "offline" in offline.stderr
    assert not target.exists()


def test_cli_add_by_doi(server, tmp_path):
    target = tmp_path / "lib.bib"
    result = CliRunner().invoke(cli, ["add", "--refs", str(tmp_path), "--doi", "10.1000/test.1", "--to", str(target)],
                                env={"EVIDENCE_CROSSREF_URL": server})
    assert result.exit_code == 0, result.output
    assert "wang2020acupuncture" in result.stdout
    assert "title = {Acupuncture \\& sleep: a trial}" in target.read_text()
