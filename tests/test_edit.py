"""Byte-exact, locked, atomic edits of .bib files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import evidence.curation.edit as edit
from evidence.cli import cli
from evidence.curation.edit import field_spans, set_fields, set_in_raw, unset_fields, unset_in_raw, verify_entry
from evidence.errors import EvidenceError
from evidence.library.files import load_entries

from conftest import DATA, ROOT

SOURCE = DATA / "curation" / "real-world.bib"


@pytest.fixture
def bib(tmp_path: Path) -> Path:
    path = tmp_path / "library.bib"
    shutil.copyfile(SOURCE, path)
    return path


def outside(text: str, key: str) -> tuple[str, str]:
    """The text before and after entry ``key``."""
    start = text.index(f"{{ {key},") if f"{{ {key}," in text else text.index(f"{{{key},")
    start = text.rindex("@", 0, start)
    end = edit.entry_bounds(text, key)[1]
    return text[:start], text[end:]


def test_set_changes_only_the_entry(bib):
    before = bib.read_text()
    set_fields(bib, "plain2010", {"n": "12", "condition": "insomnia"})
    after = bib.read_text()
    assert outside(after, "plain2010") == outside(before, "plain2010")
    assert "@misc{plain2010,  title={Plain}, year=2010,\n  note = {odd    spacing   kept},\n  n = {12},\n  condition = {insomnia}}" in after
    assert load_entries([bib]).entries[1].fields["n"] == "12"


def test_set_replaces_value_in_place_and_keeps_alignment(bib):
    set_fields(bib, "last2020", {"year": "2021", "design": "rct"})
    text = bib.read_text()
    assert "\tyear = {2021},\n\tdesign = {rct}\n}" in text


def test_setting_a_verified_field_clears_verification(bib):
    messages = set_fields(bib, "muller2001", {"n": "25"})
    assert messages[0] == "muller2001: verification by CD cleared, since n changed"
    fields = load_entries([bib]).entries[0].fields
    assert fields["n"] == "25" and "verified_by" not in fields and "verified_on" not in fields
    assert fields["extracted_by"] == "AB"


def test_invalid_values_change_nothing(bib):
    before = bib.read_bytes()
    with pytest.raises(EvidenceError, match="whole number"):
        set_fields(bib, "muller2001", {"n": "twenty"})
    with pytest.raises(EvidenceError, match=r"responders \(15\) greater than n \(10\)"):
        set_fields(bib, "muller2001", {"n": "10"})
    with pytest.raises(EvidenceError, match="unbalanced braces"):
        set_fields(bib, "muller2001", {"note": "a } b"})
    with pytest.raises(EvidenceError, match="no entry with key 'nope'"):
        set_fields(bib, "nope", {"n": "1"})
    assert bib.read_bytes() == before


def test_unset_removes_the_line(bib):
    before = bib.read_text()
    unset_fields(bib, "muller2001", ["responders", "month"])
    after = bib.read_text()
    assert after == before.replace('   responders= "15",\n', "").replace("   month     = sep,\n", "")
    with pytest.raises(EvidenceError, match="has no field nothing"):
        unset_fields(bib, "muller2001", ["nothing"])


def test_verify_records_reviewer_date_and_fields(bib):
    verify_entry(bib, "plain2010", "EF", ["n"], today=date(2026, 11, 25))
    fields = load_entries([bib]).entries[1].fields
    assert (fields["verified_by"], fields["verified_on"], fields["verified_fields"]) == ("EF", "2026-11-25", "n")
    # a field outside the verified ones does not clear it
    assert len(set_fields(bib, "plain2010", {"condition": "x"})) == 1
    assert load_entries([bib]).entries[1].fields["verified_by"] == "EF"
    with pytest.raises(EvidenceError, match="not outcome fields: title"):
        verify_entry(bib, "plain2010", "EF", ["title"])


def test_failed_rename_leaves_file_byte_identical(bib, monkeypatch):
    before = bib.read_bytes()

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(edit.os, "replace", fail)
    with pytest.raises(OSError):
        set_fields(bib, "plain2010", {"n": "5"})
    assert bib.read_bytes() == before
    assert [p.name for p in bib.parent.iterdir() if p.suffix == ".tmp"] == []


def test_failure_while_writing_leaves_file_byte_identical(bib, monkeypatch):
    before = bib.read_bytes()
    monkeypatch.setattr(edit.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        set_fields(bib, "plain2010", {"n": "5"})
    assert bib.read_bytes() == before


WRITER = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from evidence.curation.edit import append_entries
for i in range(50):
    append_entries(Path({path!r}), ["@misc{{{prefix}%d, title = {{T%d}}}}" % (i, i)])
"""


def test_two_processes_appending_concurrently_lose_nothing(tmp_path):
    path = tmp_path / "shared.bib"
    path.write_text("% shared\n")
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), path=str(path), prefix=prefix)])
        for prefix in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    result = load_entries([path])
    assert result.problems == []
    assert sorted(e.key for e in result.entries) == sorted([f"a{i}" for i in range(50)] + [f"b{i}" for i in range(50)])


def test_cli_set_unset_verify(bib):
    runner = CliRunner()
    done = runner.invoke(cli, ["set", "--refs", str(bib), "plain2010", "n=7", "responders=3"])
    assert done.exit_code == 0 and "plain2010: set n, responders" in done.stdout
    bad = runner.invoke(cli, ["set", "--refs", str(bib), "plain2010", "responders=9"])
    assert bad.exit_code == 2 and "greater than n" in bad.stderr
    assert runner.invoke(cli, ["verify", "--refs", str(bib), "plain2010", "--by", "GH"]).exit_code == 0
    assert runner.invoke(cli, ["unset", "--refs", str(bib), "plain2010", "responders"]).exit_code == 0
    unknown = runner.invoke(cli, ["set", "--refs", str(bib), "plain201", "n=1"])
    assert unknown.exit_code == 2 and "plain2010" in unknown.stderr
    assert runner.invoke(cli, ["set", "--refs", str(bib), "plain2010", "oops"]).exit_code == 2


values = st.text(alphabet=st.characters(blacklist_characters="{}\\\r", blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=100, deadline=None)
@given(values, st.sampled_from(["title", "year", "note", "n", "condition", "new_field"]))
def test_set_then_read_back_any_value(value, name):
    raw = '@misc{k,\n  title = {T},\n  year = 2000,\n  note = "a {b} c"\n}'
    new = set_in_raw(raw, {name: value})
    from evidence.library.files import parse_bib_text

    (entry,), problems = parse_bib_text(new, "x")
    assert problems == []
    assert entry.fields[name] == value
    others = {k: v for k, v in entry.fields.items() if k != name}
    original = {k: v for k, v in parse_bib_text(raw, "x")[0][0].fields.items() if k != name}
    assert others == original
    assert [s.name for s in field_spans(unset_in_raw(new, [name]))] == [n for n in ("title", "year", "note") if n != name]
