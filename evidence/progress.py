"""Progress on standard error for long work, and silence otherwise.

A bar appears only when standard error is a terminal, ``--quiet`` is not
given, and the work is still going after about a second: short commands and
pipelines stay quiet.  rich is imported only when a bar is actually shown.
"""

from __future__ import annotations

import sys
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
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, description: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            if time.monotonic() - self.started < self.delay:
                return
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(description, total=total)
        self._bar.update(self._task, description=description, completed=done, total=total)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
