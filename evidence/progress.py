"""Progress on standard error for long work, and silence otherwise.

A bar appears only when standard error is a terminal, ``--quiet`` is not
given, and the work is still going after about a second: short commands and
pipelines stay quiet.  A timer shows the bar on time even while one long
step runs (bibtexparser splitting a large file reports nothing until it is
done).  rich is imported only when a bar is actually shown.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable

#: ``report(description, done, total)``; total ``None`` when unknown.
ProgressCallback = Callable[[str, int, "int | None"], None]

DELAY_SECONDS = 1.0


class Progress:
    """A callable progress reporter; use as a context manager so the bar is always removed."""

    def __init__(self, enabled: bool | None = None, delay: float = DELAY_SECONDS) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.delay = delay
        self.started = time.monotonic()
        self._state: tuple[str, int, int | None] | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, description: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._state = (description, done, total)
            if self._bar is not None:
                self._bar.update(self._task, description=description, completed=done, total=total)
                return
            waited = time.monotonic() - self.started
            if waited >= self.delay:
                self._show()
            elif self._timer is None:
                self._timer = threading.Timer(self.delay - waited, self._show_later)
                self._timer.daemon = True
                self._timer.start()

    def _show_later(self) -> None:
        with self._lock:
            if not self._closed and self._bar is None:
                self._show()

    def _show(self) -> None:
        """Start the bar at the latest reported state (the lock is held)."""
        from rich.console import Console
        from rich.progress import Progress as RichProgress

        assert self._state is not None
        description, done, total = self._state
        bar = RichProgress(console=Console(stderr=True), transient=True)
        bar.start()
        self._task = bar.add_task(description, total=total, completed=done)
        self._bar = bar

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._bar is not None:
                self._bar.stop()
