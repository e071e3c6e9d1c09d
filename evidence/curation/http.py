"""One guarded HTTP fetch for every network call the tool makes.

Network answers are untrusted input: a server may never finish, dribble one
byte a second, send gigabytes, or fail for a moment and recover.  :func:`fetch`
holds an overall ``deadline`` (connecting, every retry, the headers and the
whole body together), a cap on the body (``max_bytes``, checked against
``Content-Length`` and again while reading in chunks), and a bounded number
of retries with exponential backoff on statuses worth retrying (429 and 5xx;
``Retry-After`` is honoured when it fits the deadline).  Every failure is a
:class:`FetchError` (an :class:`EvidenceError`) with one plain line and the
HTTP status when there was one, so callers can word their own message
("no record of DOI ...") from ``error.status``.

The work runs in a daemon thread that the caller waits on for at most the
time left: the socket timeout of urllib bounds one read, not a whole answer,
and a server sending its headers one byte a second would otherwise hold the
caller far past the deadline.  The abandoned thread stops at its next chunk.

Signature, kept stable for every caller::

    fetch(url, *, headers=None, timeout=10.0, deadline=30.0, max_bytes=20 MiB,
          retries=2, backoff=0.5, retry_on=RETRY_ON, data=None) -> bytes
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Mapping
from email.message import Message

from evidence import __version__
from evidence.errors import EvidenceError

RETRY_ON: frozenset[int] = frozenset({429, *range(500, 600)})
"""Statuses worth another try: rate limiting and server errors."""

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024
USER_AGENT = f"evidence/{__version__}"


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http and https only (urllib would also follow one to ftp)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlparse(newurl).scheme not in ("http", "https"):
            raise FetchError(
                f"{_host(req.full_url)} redirected to {newurl!r}, which is not http(s)", url=newurl, kind="refused"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class FetchError(EvidenceError):
    """A fetch that failed; ``status`` is the HTTP status, or ``None`` without an answer.

    ``kind`` says what went wrong, for callers that word their own message:
    ``"status"`` (an error status), ``"unreachable"`` (no connection, or it
    broke off), ``"deadline"``, ``"too-large"`` or ``"refused"`` (not an
    http(s) URL).
    """

    def __init__(self, message: str, *, url: str, status: int | None = None, kind: str | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.kind = kind or ("status" if status is not None else "unreachable")


def fetch(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    deadline: float = 30.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    retries: int = 2,
    backoff: float = 0.5,
    retry_on: Collection[int] = RETRY_ON,
    data: bytes | None = None,
) -> bytes:
    """The body of a GET (or a POST of ``data``) to ``url``, within every limit.

    ``timeout`` bounds one socket operation, ``deadline`` the whole call in
    seconds, retries and backoff included; ``max_bytes`` the body.  A status
    in ``retry_on`` is tried again up to ``retries`` times, as is a dropped
    connection; any other status of 400 or more fails at once.  Raises
    :class:`FetchError` with one line; never returns a partial body.
    """
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"refusing to fetch {url!r}: only http and https URLs are fetched", url=url, kind="refused")
    end = time.monotonic() + deadline
    box: dict[str, object] = {}
    stop = threading.Event()

    def work() -> None:
        try:
            box["body"] = _fetch_with_retries(
                url, dict(headers or {}), timeout, end, max_bytes, retries, backoff, retry_on, data, stop
            )
        except BaseException as error:
            box["error"] = error

    thread = threading.Thread(target=work, name="evidence-fetch", daemon=True)
    thread.start()
    thread.join(max(0.0, end - time.monotonic()))
    late = thread.is_alive()
    stop.set()
    error = box.get("error")
    if late or (isinstance(error, FetchError) and error.kind == "deadline"):  # one message, whichever noticed first
        raise FetchError(
            f"{_host(url)} gave no complete answer within {deadline:g} s; nothing was used", url=url, kind="deadline"
        )
    if error is not None:
        raise error  # type: ignore[misc]
    return box["body"]  # type: ignore[return-value]


def _fetch_with_retries(
    url: str,
    headers: dict[str, str],
    timeout: float,
    end: float,
    max_bytes: int,
    retries: int,
    backoff: float,
    retry_on: Collection[int],
    data: bytes | None,
    stop: threading.Event,
) -> bytes:
    headers.setdefault("User-Agent", USER_AGENT)
    attempt = 0
    while True:
        try:
            return _fetch_once(url, headers, timeout, end, max_bytes, retry_on, data, stop)
        except _Retryable as failure:
            attempt += 1
            wait = backoff * 2 ** (attempt - 1)
            if failure.retry_after is not None:
                wait = max(wait, failure.retry_after)
            if attempt > retries or time.monotonic() + wait >= end or stop.is_set():
                raise failure.error from None
            time.sleep(wait)


class _Retryable(Exception):
    def __init__(self, error: FetchError, retry_after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _fetch_once(
    url: str,
    headers: dict[str, str],
    timeout: float,
    end: float,
    max_bytes: int,
    retry_on: Collection[int],
    data: bytes | None,
    stop: threading.Event,
) -> bytes:
    host = _host(url)
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    left = end - time.monotonic()
    if left <= 0:
        raise FetchError(f"{host} gave no complete answer in time; nothing was used", url=url, kind="deadline")
    try:
        response = _OPENER.open(request, timeout=min(timeout, left))
    except urllib.error.HTTPError as error:
        error.close()
        failure = FetchError(f"{host} answered {error.code} {error.reason}", url=url, status=error.code)
        if error.code in retry_on:
            raise _Retryable(failure, _retry_after(error.headers)) from None
        raise failure from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise _Retryable(FetchError(f"cannot reach {host} ({reason})", url=url)) from None
    with response:
        length = response.headers.get("Content-Length")
        if length and length.strip().isdigit() and int(length) > max_bytes:
            raise FetchError(
                f"{host}'s answer is {int(length):,} bytes, over the limit of {max_bytes:,}", url=url, kind="too-large"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            if stop.is_set() or time.monotonic() >= end:
                raise FetchError(f"{host} gave no complete answer in time; nothing was used", url=url, kind="deadline")
            try:
                chunk = response.read1(CHUNK)
            except (OSError, ValueError) as error:
                raise _Retryable(FetchError(f"{host} broke off its answer ({error})", url=url)) from None
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"{host}'s answer is over the limit of {max_bytes:,} bytes", url=url, kind="too-large")
            chunks.append(chunk)
    return b"".join(chunks)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def _retry_after(headers: Message | None) -> float | None:
    """Seconds from a numeric ``Retry-After`` header; dates are ignored (the backoff applies)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url
