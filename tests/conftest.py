"""Shared fixtures: small libraries written into a temporary folder per test."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_REFS = ROOT / "refs"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def write_bib(tmp_path: Path) -> Callable[..., Path]:
    """Write BibTeX text to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "library.bib", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
        return path

    return write
