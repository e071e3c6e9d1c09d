"""Problems found in the input, and the errors that stop a command.

Bad input is data: every stage returns :class:`Problem` records beside its
result and they travel to the command line, which prints them as
``file:line: key: message`` and picks the exit status.  :class:`EvidenceError`
is reserved for what stops a command outright (no library found, an unknown
key); anything else raised is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as we know.

    ``line`` is 1-based; ``None`` when the problem concerns a whole file.
    ``key`` is the BibTeX citation key, or ``None`` when there is none.
    """

    file: str
    line: int | None
    key: str | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "severity": self.severity,
            "message": self.message,
        }


class EvidenceError(Exception):
    """A failure that stops a command; its message is shown to the user as is."""


class UnknownKeyError(EvidenceError):
    """A citation key that is not in the library; carries the closest keys."""

    def __init__(self, key: str, suggestions: list[str]):
        self.key = key
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no entry with key {key!r} in the library.{hint}")
