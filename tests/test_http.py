"""The guarded fetch against misbehaving servers on 127.0.0.1, each bounded in time."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evidence.curation.http import FetchError, fetch

HITS: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        HITS[self.path] = HITS.get(self.path, 0) + 1
        if self.path == "/ok":
            self._send(200, b'{"ok": true}')
        elif self.path == "/flaky":  # fails twice, then answers
            if HITS[self.path] <= 2:
                self._send(503, b"busy")
            else:
                self._send(200, b"recovered")
        elif self.path == "/always-503":
            self._send(503, b"busy", retry_after="0")
        elif self.path == "/to-ftp":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/x")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/to-ok":
            self.send_response(301)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/missing":
            self._send(404, b"no")
        elif self.path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            self.wfile.write(b"x" * 1000)
        elif self.path == "/huge-chunked":  # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
            self.close_connection = True
        elif self.path == "/drip":  # one byte a second, forever
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self._drip()
        elif self.path == "/drip-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self._drip()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._send(200, b"got " + body + b" as " + self.headers["Content-Type"].encode())

    def _drip(self):
        try:
            for _ in range(60):
                self.wfile.write(b"X")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass
        self.close_connection = True

    def _send(self, status, body, retry_after=None):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    HITS.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_returns_the_body(server):
    assert fetch(f"{server}/ok", deadline=5) == b'{"ok": true}'


def test_retries_a_server_error_then_succeeds(server):
    assert fetch(f"{server}/flaky", deadline=10, retries=2, backoff=0.01) == b"recovered"
    assert HITS["/flaky"] == 3


def test_gives_up_after_the_retries_with_the_status(server):
    with pytest.raises(FetchError, match="answered 503") as caught:
        fetch(f"{server}/always-503", deadline=10, retries=1, backoff=0.01)
    assert caught.value.status == 503
    assert HITS["/always-503"] == 2


def test_a_404_is_not_retried(server):
    with pytest.raises(FetchError, match="answered 404") as caught:
        fetch(f"{server}/missing", deadline=5, retries=3, backoff=0.01)
    assert caught.value.status == 404 and HITS["/missing"] == 1


def test_declared_size_over_the_cap_is_refused_before_reading(server):
    with pytest.raises(FetchError, match="over the limit of 1,000"):
        fetch(f"{server}/huge-declared", deadline=5, max_bytes=1000)


def test_undeclared_size_is_capped_while_reading(server):
    with pytest.raises(FetchError, match="over the limit of 100,000 bytes"):
        fetch(f"{server}/huge-chunked", deadline=5, max_bytes=100_000)


@pytest.mark.parametrize("path", ["/drip", "/drip-headers"])
def test_a_dribbling_server_is_cut_off_at_the_deadline(server, path):
    started = time.monotonic()
    with pytest.raises(FetchError, match="no complete answer within 1 s"):
        fetch(f"{server}{path}", deadline=1, timeout=5)
    assert time.monotonic() - started < 3  # the deadline, and a margin for a busy machine


def test_nobody_listening_is_one_line():
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=f"cannot reach 127.0.0.1:{port}") as caught:
        fetch(f"http://127.0.0.1:{port}/", deadline=5, retries=0)
    assert "\n" not in str(caught.value) and caught.value.status is None


def test_only_http_urls_are_fetched():
    with pytest.raises(FetchError, match="only http and https"):
        fetch("file:///etc/passwd", deadline=1)


def test_each_failure_says_its_kind(server):
    kinds = {}
    for path, options in [("/missing", {}), ("/huge-declared", {"max_bytes": 10}), ("/drip", {"deadline": 0.5})]:
        with pytest.raises(FetchError) as caught:
            fetch(f"{server}{path}", **options)
        kinds[path] = caught.value.kind
    assert kinds == {"/missing": "status", "/huge-declared": "too-large", "/drip": "deadline"}


def test_redirects_are_followed_to_http_only(server):
    assert fetch(f"{server}/to-ok", deadline=5) == b'{"ok": true}'
    with pytest.raises(FetchError, match="redirected to 'ftp://127.0.0.1/x', which is not http") as caught:
        fetch(f"{server}/to-ftp", deadline=5)
    assert caught.value.kind == "refused"


def test_a_post_sends_its_data_and_headers(server):
    body = fetch(f"{server}/echo", data=b"id=1,2", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert body == b"got id=1,2 as application/x-www-form-urlencoded"
