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


def _with(**changes):
    message = {**WORK["message"], **changes}
    return json.dumps({"message": message}).encode()


BAD = {
    "utf8": b'{"message": {"title": ["\xff\xfe caf\xe9"]}}',
    "deep": b"[" * 200_000 + b"]" * 200_000,
    "deep-object": b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
    "garbage": bytes(range(256)) * 40,
    "nan-year": json.dumps({"message": {**WORK["message"], "issued": {"date-parts": [[float("nan")]]}}}).encode(),
    "string-year": _with(issued={"date-parts": [["nan"]]}),
    "list-author": _with(author=[{"family": ["a"], "given": "b"}]),
    "author-not-list": _with(author="Wang"),
    "title-object": _with(title=[{"a": 1}]),
    "control": _with(title=["A\x00B"]),
    "braces": _with(title=["x}, number = {4"]),
    "no-message": b'{"status": "ok"}',
    "year-5-digits": _with(issued={"date-parts": [[20201]]}),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/works/10.1000/test.1":
            body, status = json.dumps(WORK).encode(), 200
        elif self.path == "/works/10.1000/broken":
            body, status = b"<html>", 200
        elif self.path.startswith("/works/10.1000/bad-"):
            body, status = BAD[self.path.removeprefix("/works/10.1000/bad-")], 200
        else:
            body, status = b"{}", 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
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
    offline = CliRunner().invoke(
        cli,
        [
            "add",
            "--refs",
            str(tmp_path),
            "--doi",
            "10.1000/test.1",
            "--to",
            str(target),
            "--crossref-url",
            "http://127.0.0.1:9",
        ],
    )
    assert offline.exit_code == 2 and "cannot reach Crossref" in offline.stderr and "offline" in offline.stderr
    assert not target.exists()


def test_cli_add_by_doi(server, tmp_path):
    target = tmp_path / "lib.bib"
    result = CliRunner().invoke(
        cli,
        ["add", "--refs", str(tmp_path), "--doi", "10.1000/test.1", "--to", str(target)],
        env={"EVIDENCE_CROSSREF_URL": server},
    )
    assert result.exit_code == 0, result.output
    assert "wang2020acupuncture" in result.stdout
    assert "title = {Acupuncture \\& sleep: a trial}" in target.read_text()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("utf8", "is not valid UTF-8"),
        ("deep", "nested too deep"),
        ("deep-object", "nested too deep"),
        ("garbage", "is not valid UTF-8"),
        ("nan-year", "is not JSON"),
        ("string-year", "'issued' is not a date"),
        ("list-author", "an author's 'family' is not text"),
        ("author-not-list", "'author' is not a list of names"),
        ("title-object", "field 'title' is not text"),
        ("control", "field 'title' holds control characters"),
        ("braces", "field 'title' has unbalanced braces"),
        ("no-message", "has no record"),
        ("year-5-digits", "year '20201' is not a year"),
    ],
)
def test_untrusted_answers_are_one_line_errors_and_nothing_is_written(server, tmp_path, case, message):
    with pytest.raises(EvidenceError, match=message) as caught:
        fetch_doi(f"10.1000/bad-{case}", server)
    assert "\n" not in str(caught.value) and "nothing was added" in str(caught.value)
    target = tmp_path / "lib.bib"
    result = CliRunner().invoke(
        cli,
        ["add", "--refs", str(tmp_path), "--doi", f"10.1000/bad-{case}", "--to", str(target), "--crossref-url", server],
    )
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.output + result.stderr and not target.exists()


# --- any answer at all: a checked record or one line -----------------------------------------------

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.curation.crossref import check_record, record_from_answer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
fields = st.sampled_from(
    [
        "title",
        "author",
        "issued",
        "volume",
        "page",
        "DOI",
        "type",
        "container-title",
        "abstract",
        "issue",
        "published-print",
        "id",
        "keyword",
    ]
)
messages = st.dictionaries(fields, json_values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(messages)
def test_any_message_gives_a_checked_record_or_one_line(message):
    body = json.dumps({"message": message}).encode()
    try:
        record = record_from_answer(body, "10.1000/x")
    except EvidenceError as error:
        assert "\n" not in str(error) and str(error).startswith("Crossref's answer for 10.1000/x")
        return
    check_record(record, "again")
    assert all(isinstance(value, str) and value != "None" for value in record.fields.values())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_record_or_one_line(body):
    try:
        record_from_answer(body, "10.1000/x")
    except EvidenceError as error:
        assert "\n" not in str(error)


def test_a_null_given_name_is_absent_not_none():
    body = json.dumps({"message": {"title": ["T"], "author": [{"family": "Wang", "given": None}]}}).encode()
    assert record_from_answer(body, "10.1000/x").fields["author"] == "Wang"
