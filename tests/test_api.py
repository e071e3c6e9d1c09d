"""evidence.Library: the documented examples run, and each method does what its command does."""

from __future__ import annotations

import doctest
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

import evidence
from evidence import EvidenceError, Library
from evidence.errors import UnknownKeyError

EXAMPLE = ROOT / "refs"


def test_public_names():
    assert set(evidence.__all__) == {"EvidenceError", "Library", "Problem", "__version__"}
    assert (ROOT / "evidence" / "py.typed").exists()


def test_docs_api_examples_run(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    results = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 10
    assert results.failed == 0


def test_module_docstring_example_runs(monkeypatch: pytest.MonkeyPatch):
    import evidence.api

    monkeypatch.chdir(ROOT)
    results = doctest.testmod(evidence.api)
    assert results.attempted >= 2 and results.failed == 0


@pytest.fixture
def copy(tmp_path: Path) -> Library:
    shutil.copy(EXAMPLE / "restless-legs.bib", tmp_path)
    shutil.copy(EXAMPLE / "restless-legs.outcomes.csv", tmp_path)
    return Library(tmp_path, cache_dir=tmp_path / "cache")


def test_default_refs_and_lists(monkeypatch: pytest.MonkeyPatch):
    assert Library().paths == [Path("refs")]
    assert Library(["a.bib", Path("b")]).paths == [Path("a.bib"), Path("b")]
    assert Library([]).paths == [Path("refs")]


def test_no_bib_files_is_one_line_error(tmp_path: Path):
    with pytest.raises(EvidenceError, match="no .bib files found"):
        _ = Library(tmp_path).table


def test_partial_load_then_full_load(copy: Library):
    narrow = copy.load(columns=["year"])
    assert list(narrow.table.columns) == ["key", "year"]
    # a request for fewer columns reuses what was loaded; one for more loads again
    assert list(copy.load(columns=["year"]).table.columns) == ["key", "year"]
    assert "title" in copy.table.columns
    assert list(copy.load(columns=["n"]).table.columns) == ["key", "n"]


def test_query_filters_as_keywords_or_filters(copy: Library):
    from evidence.analysis.query import Filters

    by_keywords = copy.query(design="quasi-rct")
    by_filters = copy.query(Filters(design=("quasi-rct",)))
    assert by_keywords.index.tolist() == by_filters.index.tolist() == ["shi2003"]
    combined = copy.query(Filters(condition="restless legs"), has_outcome=True)
    assert set(combined.index) == {"wang1994", "yang1993", "shi2003", "huang2021"}


def test_outcomes_join_csv_and_shorthand(copy: Library):
    arms = copy.outcomes
    assert set(arms[arms.key == "shi2003"]["events"]) == {27, 18, 19, 8, 6}
    assert set(arms.source) == {"csv", "bib"} or set(arms.source) == {"csv"}


def test_set_reloads_and_file_of(copy: Library, tmp_path: Path):
    assert copy.entry("shi2003")["year"] == 2003
    assert copy.file_of("shi2003") == tmp_path / "restless-legs.bib"
    copy.set("shi2003", {"followup": "8 weeks"})
    assert copy.entry("shi2003")["followup"] == "8 weeks"
    copy.unset("shi2003", ["followup"])
    assert copy.entry("shi2003")["followup"] is None or str(copy.entry("shi2003")["followup"]) in ("<NA>", "nan")


def test_unknown_key_suggests(copy: Library):
    with pytest.raises(UnknownKeyError, match="shi2003"):
        copy.set("shi2030", {"n": "4"})


def test_add_needs_a_target_and_a_source(copy: Library, tmp_path: Path):
    with pytest.raises(EvidenceError, match="name the .bib file"):
        copy.add(["x.ris"])
    with pytest.raises(EvidenceError, match="give files"):
        copy.add([], tmp_path / "new.bib")
    with pytest.raises(EvidenceError, match="no such file"):
        copy.add([tmp_path / "missing.ris"], tmp_path / "new.bib")
    assert not (tmp_path / "new.bib").exists()


def test_render_writes_pages(copy: Library, tmp_path: Path):
    written = copy.render(out=tmp_path / "out")
    assert {p.suffix for p in written} == {".html", ".md", ".svg"}
    assert sum(p.suffix == ".svg" for p in written) == 2  # a forest plot per comparison of Shi 2003's three arms
    assert all(p.read_text(encoding="utf-8") for p in written)
