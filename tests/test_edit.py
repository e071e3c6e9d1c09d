"""Byte-exact, locked, atomic edits of .bib files."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import evidence.curation.edit as edit
from evidence.cli import cli
from evidence.curation.edit import field_spans, set_fields, set_in_raw, unset_fields, unset_in_raw, verify_entry
from evidence.errors import EvidenceError
from evidence.library.files import load_entries

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
    assert (
        "@misc{plain2010,  title={Plain}, year=2010,\n  note = {odd    spacing   kept},\n  n = {12},\n  condition = {insomnia}}"
        in after
    )
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
    with pytest.raises(EvidenceError, match="No space left on device; nothing was changed"):
        set_fields(bib, "plain2010", {"n": "5"})
    assert bib.read_bytes() == before
    assert [p.name for p in bib.parent.iterdir() if p.name.startswith(".")] == []


def test_failure_while_writing_leaves_file_byte_identical(bib, monkeypatch):
    before = bib.read_bytes()
    monkeypatch.setattr(edit.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    with pytest.raises(EvidenceError, match="cannot write .*library.bib: Input/output error; nothing was changed"):
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
    assert [s.name for s in field_spans(unset_in_raw(new, [name]))] == [
        n for n in ("title", "year", "note") if n != name
    ]


# --- edits that respect the file ------------------------------------------------------------------

SMALL = "@article{k1,\n  title = {T},\n  year = 2000,\n  n = {10}\n}\n\n@misc{k2,\n  title = {U}\n}\n"


def test_another_programs_change_between_read_and_write_is_kept_and_nothing_is_written(tmp_path, monkeypatch):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    original = edit._copy_ownership

    def meanwhile(temporary, info, target):  # another program appends while set is editing
        with open(target, "a") as out:
            out.write("@misc{k3, title = {V}}\n")
        original(temporary, info, target)

    monkeypatch.setattr(edit, "_copy_ownership", meanwhile)
    with pytest.raises(EvidenceError, match="changed by another program .* nothing was written"):
        set_fields(path, "k1", {"n": "12"})
    assert path.read_text() == SMALL + "@misc{k3, title = {V}}\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_a_symlink_is_followed_and_kept(tmp_path):
    real = tmp_path / "real" / "lib.bib"
    real.parent.mkdir()
    real.write_text(SMALL)
    link = tmp_path / "link.bib"
    link.symlink_to(real)
    set_fields(link, "k1", {"n": "12"})
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert "n = {12}" in real.read_text()


def test_a_read_only_file_is_refused(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    path.chmod(0o444)
    with pytest.raises(EvidenceError, match="lib.bib is read-only; nothing was changed"):
        set_fields(path, "k1", {"n": "12"})
    assert path.read_text() == SMALL


@pytest.mark.skipif(not hasattr(os, "chown"), reason="POSIX owners")
def test_mode_owner_and_group_are_kept(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    path.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(path, 12345, 23456)
    before = path.stat()
    set_fields(path, "k1", {"n": "12"})
    after = path.stat()
    assert "n = {12}" in path.read_text()
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid) == (0o640, before.st_uid, before.st_gid)


def test_crlf_line_ends_stay_crlf(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_bytes(SMALL.replace("\n", "\r\n").encode())
    set_fields(path, "k1", {"n": "12", "condition": "insomnia"})
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") and b"},\r\n  condition = {insomnia}\r\n}" in data
    assert data == SMALL.replace("n = {10}", "n = {12},\n  condition = {insomnia}").replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    "encoding, bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")]
)
def test_the_encoding_and_its_byte_order_mark_are_kept(tmp_path, encoding, bom):
    path = tmp_path / "lib.bib"
    text = SMALL.replace("{T}", "{Müller — ü}")
    path.write_bytes(bom + text.encode(encoding))
    set_fields(path, "k1", {"note": "naïve"})
    data = path.read_bytes()
    assert data.startswith(bom) and data.count(bom) == 1
    assert data[len(bom) :].decode(encoding) == text.replace("n = {10}", "n = {10},\n  note = {naïve}")
    assert load_entries([path]).entries[0].fields["note"] == "naïve"


@pytest.mark.parametrize(
    "data, message",
    [
        (SMALL.encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        (SMALL.replace("{T}", "{Müller}").encode("latin-1"), r"lib.bib:2: cannot decode as UTF-8 at byte offset 25"),
    ],
)
def test_an_encoding_that_cannot_be_kept_is_one_line_and_changes_nothing(tmp_path, data, message):
    path = tmp_path / "lib.bib"
    path.write_bytes(data)
    with pytest.raises(EvidenceError, match=message) as caught:
        edit.locked_update(path, lambda text: text + "x")
    assert "\n" not in str(caught.value) and "nothing was changed" in str(caught.value)
    assert path.read_bytes() == data


def test_cli_set_on_utf16_without_bom_is_one_line_exit_2(tmp_path):
    path = tmp_path / "lib.bib"
    data = SMALL.encode("utf-16-le")
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["set", "--refs", str(path), "k1", "n=12"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and path.read_bytes() == data


def test_leftover_temporary_files_of_killed_runs_are_removed_and_nothing_else(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    ours = [tmp_path / ".lib.bib.abcd1234.evidence-tmp", tmp_path / ".lib.bib.k_9x8y7z.tmp"]
    theirs = [
        tmp_path / ".other.bib.abcd1234.evidence-tmp",
        tmp_path / "lib.bib.tmp",
        tmp_path / ".lib.bib.swp",
        tmp_path / ".lib.bib.toolong12345.evidence-tmp",
    ]
    for leftover in ours + theirs:
        leftover.write_text("half")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = tmp_path / ".lib.bib.zzzz9999.evidence-tmp"
    link.symlink_to(victim)
    set_fields(path, "k1", {"n": "12"})
    assert not any(p.exists() for p in ours)
    assert all(p.read_text() == "half" for p in theirs) and link.is_symlink() and victim.read_text() == "keep"


def test_a_folder_where_the_lock_cannot_be_made_is_one_line(tmp_path, monkeypatch):
    from filelock import FileLock

    path = tmp_path / "lib.bib"
    path.write_text(SMALL)

    def read_only_folder(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(FileLock, "acquire", read_only_folder)
    with pytest.raises(
        EvidenceError,
        match=r"cannot create the lock file .*lib.bib.lock \(Permission denied\); "
        "is the folder read-only\\? Nothing was changed",
    ):
        set_fields(path, "k1", {"n": "12"})
    result = CliRunner().invoke(cli, ["set", "--refs", str(path), "k1", "n=12"])
    assert result.exit_code == 2 and "cannot create the lock file" in result.stderr
    assert path.read_text() == SMALL


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_truly_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "lib.bib"
    path.write_text(SMALL)
    folder.chmod(0o555)
    try:
        with pytest.raises(EvidenceError, match="nothing was changed|Nothing was changed"):
            set_fields(path, "k1", {"n": "12"})
    finally:
        folder.chmod(0o755)
    assert path.read_text() == SMALL


def test_a_full_disk_is_one_line_and_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):  # fileno, flush...: as the real file
            return getattr(self.handle, name)

    def fdopen(fd, mode="r", *args, **kwargs):  # only writes hit the full disk
        return FullDisk(real_fdopen(fd, mode)) if "w" in mode else real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(edit.os, "fdopen", fdopen)
    result = CliRunner().invoke(cli, ["set", "--refs", str(path), "k1", "n=12"])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("No space left on device; nothing was changed")
    assert path.read_text() == SMALL
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("lib.bib", "lib.bib.lock")] == []


# --- set changes the file or says why not ---------------------------------------------------------

MISSING_COMMA = "@article{k1,\n  title = {T},\n  volume = {5}\n  number = {4},\n  year = 2000\n}\n"


def test_set_refuses_an_entry_with_a_missing_comma(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text("% header\n" + MISSING_COMMA)
    with pytest.raises(EvidenceError, match=r"lib.bib:5: k1: missing comma after field 'volume'.*nothing was changed"):
        set_fields(path, "k1", {"volume": "5", "number": "4"})
    result = CliRunner().invoke(cli, ["set", "--refs", str(path), "k1", "volume=5", "number=4"])
    assert result.exit_code == 2 and "missing comma" in result.stderr and "set volume" not in result.stdout
    assert path.read_text() == "% header\n" + MISSING_COMMA


def test_set_of_values_already_there_says_so(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    assert set_fields(path, "k1", {"n": "10"}) == [f"k1: n already as given in {path}; nothing to change"]
    assert set_fields(path, "k1", {"n": "10", "year": "2001"})[-1] == f"k1: set year in {path} (n already as given)"
    assert path.read_text() == SMALL.replace("year = 2000", "year = {2001}")


def test_set_refuses_unknown_fields_with_did_you_mean_unless_forced(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    did_you_mean = r"unknown field 'responder' \(did you mean: responders, response_rate\?\); use --force"
    with pytest.raises(EvidenceError, match=did_you_mean):
        set_fields(path, "k1", {"responder": "5"})
    result = CliRunner().invoke(cli, ["set", "--refs", str(path), "k1", "jurnal=Sleep"])
    assert result.exit_code == 2 and "did you mean: journal" in result.stderr
    assert path.read_text() == SMALL
    forced = CliRunner().invoke(cli, ["set", "--refs", str(path), "k1", "jurnal=Sleep", "--force"])
    assert forced.exit_code == 0 and "jurnal = {Sleep}" in path.read_text()
    assert set_fields(path, "k1", {"journaltitle": "J", "eprint": "1"})[-1].startswith("k1: set journaltitle, eprint")


def test_set_refuses_a_value_that_would_not_read_back(tmp_path, monkeypatch):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    monkeypatch.setattr(edit, "set_in_raw", lambda raw, updates: raw.replace("{T}", "{X}"))
    with pytest.raises(EvidenceError, match="k1: title would not read back as given; nothing was changed"):
        set_fields(path, "k1", {"title": "Y"})
    assert path.read_text() == SMALL


def test_a_5000_digit_count_is_one_line(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text(SMALL)
    with pytest.raises(EvidenceError, match=r"n is too large to be a count \(5,000 digits, at most 12\)"):
        set_fields(path, "k1", {"n": "9" * 5000})
    assert path.read_text() == SMALL


# --- kill -9 and concurrent writers ---------------------------------------------------------------

KILLED_WRITER = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from evidence.curation.edit import set_fields
i = 0
while True:
    i += 1
    set_fields(Path({path!r}), "k1", {{"note": "x" * (i % 5000)}})
    if i == 1:
        print("writing", flush=True)  # killed from now on, in the middle of the loop
"""


def test_writers_killed_at_random_leave_an_intact_file_and_no_temporaries(tmp_path):
    """kill -9 at random moments: the file is always whole, and the next edit clears the leftovers."""
    import random
    import signal
    import time

    runs = int(os.environ.get("EVIDENCE_KILL_RUNS", "25"))
    path = tmp_path / "lib.bib"
    path.write_text(SMALL * 1)
    rng = random.Random(1)
    started = time.monotonic()
    for _ in range(runs):
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER.format(root=str(ROOT), path=str(path))],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stdout.readline() == "writing\n"
        time.sleep(rng.random() * 0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
        result = load_entries([path])
        assert result.problems == [] and [e.key for e in result.entries] == ["k1", "k2"]
        assert time.monotonic() - started < 5 * runs
    set_fields(path, "k1", {"n": "11"})
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


WRITER4 = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from evidence.curation.edit import locked_update
for i in range(50):
    locked_update(Path({path!r}), lambda text: text + "{prefix}%d\\n" % i)
"""


def test_four_writers_of_fifty_edits_lose_no_update(tmp_path):
    path = tmp_path / "shared.bib"
    path.write_text("")
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER4.format(root=str(ROOT), path=str(path), prefix=prefix)])
        for prefix in "abcd"
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0, 0, 0]
    lines = path.read_text().splitlines()
    assert sorted(lines) == sorted(f"{prefix}{i}" for prefix in "abcd" for i in range(50))


def test_export_does_not_replace_a_read_only_file(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("theirs")
    out.chmod(0o444)
    with pytest.raises(EvidenceError, match="out.json is read-only"):
        edit.atomic_write(out, "ours")
    assert out.read_text() == "theirs"
