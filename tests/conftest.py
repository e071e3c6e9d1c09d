"""Shared fixtures: small libraries written into a temporary folder per test."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_REFS = ROOT / "refs"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Module- and session-scoped fixtures load before any function's fixture: they cache here, not in ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("session-cache")
        patch.setenv("EVIDENCE_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test caches tables in a folder of its own under the temporary root, never in refs/ or ~/.cache."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def write_bib(tmp_path: Path) -> Callable[..., Path]:
    """Write BibTeX text to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "library.bib", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
        return path

    return write


# --- summaries and pages (test_summary, test_render) ---------------------------

RENDER_LIBRARY = DATA / "render" / "library.bib"


@pytest.fixture(scope="module")
def example():
    """The example library's restless legs summary."""
    from evidence.analysis.summary import summarize
    from evidence.library.table import load_table

    return summarize(load_table([EXAMPLE_REFS]).table, "restless legs syndrome")


@pytest.fixture(scope="module")
def table():
    """The table of the render test library (tinnitus and migraine)."""
    from evidence.library.table import load_table

    return load_table([RENDER_LIBRARY]).table


@pytest.fixture(scope="module")
def migraine(table):
    """Three controlled migraine trials: two against sham (response; headache days) and one against usual care."""
    from evidence.analysis.summary import summarize

    return summarize(table, "migraine")


@pytest.fixture(scope="module")
def tinnitus(table):
    from evidence.analysis.summary import summarize

    return summarize(table, "tinnitus")


@pytest.fixture(autouse=True, scope="session")
def _caches_under_tmp(tmp_path_factory):
    """Caches in the user's folder (formatted citations) go to a temporary folder during tests."""
    import os

    os.environ["EVIDENCE_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
