"""rename, remove, merge, init; show --format; colour; completion of citation keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_REFS

from evidence.cli import cli
from evidence.curation.entries import (
    citation_keys,
    init_library,
    merge_entries,
    remove_entry,
    rename_citations,
    rename_key,
)
from evidence.errors import EvidenceError, UnknownKeyError
from evidence.library.files import load_entries

LIBRARY = """% keep this comment

@article{shi2003,
  author = {Shi, Y. L.},
  title = {Acupuncture},
  journal = {J}, year = {2003},
  n = {40}, responders = {27},
}

@inproceedings{paper1,
  author = {Li, X},
  title = {A paper},
  crossref = {shi2003},
}

@article{dup2003,
  author = {Shi, Y. L.},
  title = {Acupuncture!},
  journal = {J}, year = {2003}, volume = {23},
  pmid = {123},
}
"""
OUTCOMES = 'key,outcome,n\nshi2003,response,40\n"other","a,\nb",3\nshi2003,relapse,12\ndup2003,response,9\n'


@pytest.fixture
def library(tmp_path: Path) -> Path:
    bib = tmp_path / "refs" / "lib.bib"
    bib.parent.mkdir()
    bib.write_text(LIBRARY)
    (tmp_path / "refs" / "acupuncture.outcomes.csv").write_bytes(OUTCOMES.encode())
    return tmp_path / "refs"


def keys(refs: Path) -> list[str]:
    return [e.key for e in load_entries([refs]).entries]


def test_rename_changes_key_outcome_rows_crossref_and_pages(library: Path, tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        "Shown [@shi2003; @other] and @shi2003. Not @shi2003x or me@shi2003.org. \\citep[p. 2]{a, shi2003}\n"
    )
    change = rename_key([library], "shi2003", "shi2003acupuncture", [page])
    assert keys(library) == ["shi2003acupuncture", "paper1", "dup2003"]
    text = (library / "lib.bib").read_text()
    assert "crossref = {shi2003acupuncture}" in text and text.startswith("% keep this comment\n\n@article{shi2003acu")
    csv_bytes = (library / "acupuncture.outcomes.csv").read_bytes().decode()
    assert csv_bytes == OUTCOMES.replace("shi2003,", "shi2003acupuncture,")  # other rows byte for byte
    assert page.read_text() == (
        "Shown [@shi2003acupuncture; @other] and @shi2003acupuncture. Not @shi2003x or "
        "me@shi2003.org. \\citep[p. 2]{a, shi2003acupuncture}\n"
    )
    assert any("2 outcome row(s)" in m for m in change.messages)
    assert any("3 citation(s)" in m for m in change.messages)


def test_rename_refuses_a_taken_or_invalid_key_and_changes_nothing(library: Path):
    before = (library / "lib.bib").read_bytes()
    with pytest.raises(EvidenceError, match="already used"):
        rename_key([library], "shi2003", "DUP2003")
    with pytest.raises(EvidenceError, match="not a valid citation key"):
        rename_key([library], "shi2003", "has space")
    with pytest.raises(UnknownKeyError, match="shi2003"):
        rename_key([library], "shi2030", "x")
    assert (library / "lib.bib").read_bytes() == before


def test_rename_citations_in_text():
    assert rename_citations("[@a] [-@a] @{a} @ab \\cite{a,b}", "a", "z") == ("[@z] [-@z] @{z} @ab \\cite{z,b}", 4)


def test_remove_takes_outcome_rows_and_warns_about_references(library: Path):
    change = remove_entry([library], "shi2003")
    assert keys(library) == ["paper1", "dup2003"]
    assert (library / "lib.bib").read_text().startswith("% keep this comment\n\n@inproceedings{paper1,")
    expected = b'key,outcome,n\n"other","a,\nb",3\ndup2003,response,9\n'
    assert (library / "acupuncture.outcomes.csv").read_bytes() == expected
    assert change.warnings == [f"{library / 'lib.bib'}: 1 entry still refer to shi2003 (crossref/xdata)"]


def test_merge_keeps_both_entries_fields_and_reports_conflicts(library: Path):
    change = merge_entries([library], "shi2003", "dup2003")
    assert keys(library) == ["shi2003", "paper1"]
    (entry,) = [e for e in load_entries([library]).entries if e.key == "shi2003"]
    assert entry.fields["volume"] == "23" and entry.fields["pmid"] == "123" and entry.fields["title"] == "Acupuncture"
    assert change.warnings == ["conflict in title: kept 'Acupuncture' (shi2003), dropped 'Acupuncture!' (dup2003)"]
    assert b"shi2003,response,9" in (library / "acupuncture.outcomes.csv").read_bytes()


def test_init_creates_a_library_that_checks_clean_and_never_overwrites(tmp_path: Path):
    change = init_library(tmp_path)
    assert (tmp_path / "refs" / "example.bib").exists()
    assert ".evidence-cache/" in (tmp_path / ".gitignore").read_text().splitlines()
    assert len(change.messages) == 2
    result = CliRunner().invoke(cli, ["check", "--refs", str(tmp_path / "refs"), "--no-cache", "--strict"])
    assert result.exit_code == 0, result.output
    (tmp_path / "refs" / "example.bib").write_text("@misc{mine, title={Mine}}\n")
    again = init_library(tmp_path)
    assert again.messages == [f"{tmp_path} is already set up"]
    assert (tmp_path / "refs" / "example.bib").read_text() == "@misc{mine, title={Mine}}\n"


def test_cli_rename_remove_merge_init(library: Path, tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(cli, ["rename", "--refs", str(library), "shi2003", "shi2003a"])
    assert result.exit_code == 0 and result.stdout.startswith(f"shi2003 -> shi2003a in {library / 'lib.bib'}")
    result = runner.invoke(cli, ["merge", "--refs", str(library), "shi2003a", "dup2003"])
    assert result.exit_code == 0 and "warning: conflict in title" in result.stderr
    result = runner.invoke(cli, ["remove", "--refs", str(library), "paper1"])
    assert result.exit_code == 0 and keys(library) == ["shi2003a"]
    result = runner.invoke(cli, ["remove", "--refs", str(library), "paper1"])
    assert result.exit_code == 2 and "no entry with key 'paper1'" in result.stderr
    result = runner.invoke(cli, ["init", str(tmp_path / "new")])
    assert result.exit_code == 0 and (tmp_path / "new" / "refs" / "example.bib").exists()


def test_show_formats(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(cli, ["show", "--refs", str(EXAMPLE_REFS), "--no-cache", "shi2003", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["key"] == "shi2003" and data["year"] == 2003 and "raw" not in data
    cured = {(arm["arm"], arm["events"], arm["n"]) for arm in data["outcomes"] if arm["outcome"] == "cure"}
    assert cured == {
        ("acupuncture plus herbal steaming washing", 27, 40),
        ("oryzanol plus diazepam", 18, 40),
        ("acupuncture", 19, 40),
    }
    result = runner.invoke(cli, ["show", "--refs", str(EXAMPLE_REFS), "--no-cache", "shi2003", "--format", "bibtex"])
    assert result.stdout.startswith("@article{shi2003,")
    assert result.stdout.rstrip() in (EXAMPLE_REFS / "restless-legs.bib").read_text()


def test_colour_follows_the_option_and_no_color(library: Path, monkeypatch):
    bad = library / "bad.bib"
    bad.write_text("@article{bad, title={T}, year={x}, n={abc}}\n")
    runner = CliRunner()
    always = runner.invoke(cli, ["--color", "always", "check", "--refs", str(bad), "--no-cache"])
    assert "\x1b[31m" in always.stderr
    never = runner.invoke(cli, ["--color", "never", "check", "--refs", str(bad), "--no-cache"])
    assert "\x1b[" not in never.stderr
    monkeypatch.setenv("NO_COLOR", "1")
    from evidence.cli import use_colour

    class Terminal:
        def isatty(self) -> bool:
            return True

    assert use_colour(Terminal()) is False
    monkeypatch.delenv("NO_COLOR")
    assert use_colour(Terminal()) is True


def test_citation_keys_for_completion(library: Path, tmp_path: Path):
    (library / "more.bib").write_text("@String{j = {J}}\n@Comment{x}\n  @book( bk1 , title={B})\n")
    assert citation_keys([library]) == ["bk1", "dup2003", "paper1", "shi2003"]
    assert citation_keys([tmp_path / "missing"]) == []


def test_shell_completion_offers_keys(library: Path, monkeypatch):
    from click.shell_completion import ShellComplete

    monkeypatch.setenv("EVIDENCE_REFS", str(library))
    completion = ShellComplete(cli, {}, "evidence", "_EVIDENCE_COMPLETE")
    values = [item.value for item in completion.get_completions(["show"], "sh")]
    assert values == ["shi2003"]
    values = [item.value for item in completion.get_completions(["rename", "--refs", str(library)], "")]
    assert values == ["dup2003", "paper1", "shi2003"]


def test_help_summaries_are_not_cut_off():
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    commands = result.stdout.split("Commands:")[1]
    assert "..." not in commands and "Set fields of one entry, e.g." not in commands


def test_a_file_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path):
    bib = tmp_path / "latin.bib"
    bib.write_bytes("@article{caf, title = {Caf\u00e9}, year = {2001}}\n".encode("latin-1"))
    before = bib.read_bytes()
    result = CliRunner().invoke(cli, ["rename", "--refs", str(bib), "caf", "cafe2001"])
    assert (
        result.exit_code == 2
        and "as UTF-8" in result.stderr
        and "nothing was changed" in result.stderr
        and "Traceback" not in result.output
    )
    assert bib.read_bytes() == before
