"""Attacks on the files the tool reads and writes; each test names the case in docs/security.md."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest

from evidence.library.cache import Cache, file_kind, file_signature
from evidence.library.table import load_table

ENTRY = "@article{k1, author = {Li, X.}, title = {T}, journal = {J}, year = 2000, n = {10}}\n"


class Payload:
    """Unpickling this writes a marker file: proof that a cache ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def library(tmp_path: Path) -> Path:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "a.bib").write_text(ENTRY)
    return folder


# --- the cache never runs code and is never trusted --------------------------------------------


def test_crafted_cache_at_the_exact_path_runs_no_code(tmp_path, private_cache_dir):
    """A pickle planted where the cache would be (its name computable from public facts) is never unpickled."""
    folder = library(tmp_path)
    marker = tmp_path / "pwned"
    load_table([folder])  # the folder and its key exist
    signature = file_signature(folder / "a.bib")
    path = Cache(private_cache_dir)._path(file_kind(signature), [signature])
    assert path.exists()
    path.write_bytes(pickle.dumps({"format": 3, "signatures": [list(signature)], "parts": Payload(marker)}))
    result = load_table([folder])
    assert not marker.exists()
    assert result.table["n"].tolist() == [10]
    assert "ignored and rebuilt" in result.notes[0] and "not a cache file" in result.notes[0]


def test_crafted_cache_beside_the_library_is_never_read(tmp_path):
    """A cloned repository's .evidence-cache/ (the old place) is not where the cache lives any more."""
    folder = library(tmp_path)
    marker = tmp_path / "pwned"
    planted = folder / ".evidence-cache"
    planted.mkdir()
    for name in ("table-0123456789abcdef0123456789abcdef.cache", "file-0123456789abcdef-0123.cache"):
        (planted / name).write_bytes(pickle.dumps(Payload(marker)))
    result = load_table([folder])
    assert not marker.exists() and result.notes == [] and result.table["n"].tolist() == [10]


def test_a_cache_file_written_with_another_key_is_refused(tmp_path, private_cache_dir, monkeypatch):
    folder = library(tmp_path)
    other = tmp_path / "other-cache"
    load_table([folder], cache_dir=other)  # another user's (or machine's) cache, with its own key
    (foreign,) = other.glob("file-*.cache")
    load_table([folder])
    (own,) = private_cache_dir.glob("file-*.cache")
    own.write_bytes(foreign.read_bytes())
    result = load_table([folder])
    assert "not written with this cache's key" in result.notes[0]
    assert result.table["n"].tolist() == [10]


def test_a_changed_part_is_refused_before_it_is_unpickled(tmp_path, private_cache_dir, monkeypatch):
    import struct

    from evidence.library.cache import MAGIC, TAG_SIZE

    folder = library(tmp_path)
    load_table([folder])
    (path,) = private_cache_dir.glob("file-*.cache")
    data = bytearray(path.read_bytes())
    (size,) = struct.unpack(">Q", data[len(MAGIC) : len(MAGIC) + 8])
    first_part = len(MAGIC) + 8 + size + TAG_SIZE  # "problems", the first part any load reads
    data[first_part + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    unpickled = []
    monkeypatch.setattr("evidence.library.cache.pickle.loads", lambda blob: unpickled.append(blob))
    result = load_table([folder])
    assert unpickled == [] and "part 'problems' changed since it was written" in result.notes[0]


def test_a_changed_part_is_ignored_with_a_note(tmp_path, private_cache_dir):
    folder = library(tmp_path)
    load_table([folder])
    (path,) = private_cache_dir.glob("file-*.cache")
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    result = load_table([folder])
    assert "changed since it was written" in result.notes[0]
    assert result.table["n"].tolist() == [10]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_key_others_can_read_turns_the_cache_off(tmp_path, private_cache_dir):
    folder = library(tmp_path)
    load_table([folder])
    (private_cache_dir / "key").chmod(0o644)
    result = load_table([folder])
    assert result.notes == [
        f"cache off: the key {private_cache_dir / 'key'} is not private (chmod 600 {private_cache_dir / 'key'})"
    ]
    assert result.table["n"].tolist() == [10]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_folder_others_can_write_turns_the_cache_off(tmp_path, private_cache_dir):
    folder = library(tmp_path)
    private_cache_dir.chmod(0o777)
    result = load_table([folder])
    assert result.notes and result.notes[0].startswith("cache off:") and "can be written by others" in result.notes[0]
    assert list(private_cache_dir.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_a_symlinked_key_is_refused(tmp_path, private_cache_dir):
    folder = library(tmp_path)
    elsewhere = tmp_path / "planted-key"
    elsewhere.write_bytes(b"k" * 32)
    elsewhere.chmod(0o600)
    (private_cache_dir / "key").symlink_to(elsewhere)
    result = load_table([folder])
    assert "cache off: cannot read the key" in result.notes[0]


def test_a_new_key_is_private(tmp_path, private_cache_dir):
    load_table([library(tmp_path)])
    key = private_cache_dir / "key"
    assert len(key.read_bytes()) == 32
    if hasattr(os, "getuid"):
        assert key.stat().st_mode & 0o777 == 0o600


# --- clean-up deletes only what the tool made ----------------------------------------------------


def test_clean_up_removes_only_its_own_files(tmp_path, private_cache_dir):
    folder = library(tmp_path)
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    load_table([folder])
    (own,) = private_cache_dir.glob("file-*.cache")
    kind = own.name[: len("file-") + 16]
    lookalike = private_cache_dir / f"{kind}-{'0' * 32}.cache"
    lookalike.symlink_to(victim)  # named like ours, but a link: not ours to remove
    notes = private_cache_dir / f"{kind}-notes.txt"
    notes.write_text("the user's")
    stale, fresh = private_cache_dir / ".tmp-killed.cache", private_cache_dir / ".tmp-running.cache"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    (folder / "a.bib").write_text(ENTRY.replace("{10}", "{11}"))  # a new state: the old cache file is pruned
    assert load_table([folder]).table["n"].tolist() == [11]
    assert victim.read_text() == "keep me" and lookalike.is_symlink() and notes.exists()
    assert not own.exists() and not stale.exists() and fresh.exists()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_a_symlinked_cache_folder_keeps_the_targets_files(tmp_path):
    folder = library(tmp_path)
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    theirs = [target / "table-1.cache", target / "table-results.csv", target / "file-x"]
    for path in theirs:
        path.write_text("not the tool's")
    link = tmp_path / "cache-link"
    link.symlink_to(target)
    for value in ("{10}", "{12}", "{13}"):
        (folder / "a.bib").write_text(ENTRY.replace("{10}", value))
        load_table([folder], cache_dir=link)
    assert all(path.read_text() == "not the tool's" for path in theirs)
    assert len(list(target.glob("file-*.cache"))) == 1


# --- limits on input ---------------------------------------------------------------------------

from click.testing import CliRunner

from evidence.cli import cli
from evidence.errors import EvidenceError
from evidence.library.files import max_input_bytes, parse_bib_text, read_input, swallowed_field


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_add_refuses_a_device_at_once(tmp_path):
    import time

    started = time.monotonic()
    result = run("add", "--refs", str(tmp_path), "/dev/zero", "--to", str(tmp_path / "lib.bib"))
    assert result.exit_code == 2 and time.monotonic() - started < 5
    assert result.stderr.strip() == "error: /dev/zero: not a regular file (a device, FIFO or socket); give a file"
    assert not (tmp_path / "lib.bib").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "refs.bib"
    os.mkfifo(fifo)
    with pytest.raises(EvidenceError, match="not a regular file"):
        read_input(fifo)
    result = run("add", "--refs", str(tmp_path), str(fifo), "--to", str(tmp_path / "lib.bib"))
    assert result.exit_code == 2 and "not a regular file" in result.stderr


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.bib"
    with big.open("wb") as out:  # a sparse gigabyte: no disk used, and never read
        out.truncate(1024**3)
    with pytest.raises(
        EvidenceError,
        match=r"big.bib: 1.0 GB is over the input limit of 200.0 MB "
        r"\(set EVIDENCE_MAX_INPUT_MB to raise it\)",
    ):
        read_input(big)
    result = run("check", "--refs", str(big))
    assert result.exit_code == 2
    assert f"{big}: error: 1.0 GB is over the input limit of 200.0 MB" in result.stderr
    monkeypatch.setenv("EVIDENCE_MAX_INPUT_MB", "0.001")
    small = tmp_path / "small.bib"
    small.write_text(ENTRY * 40)
    with pytest.raises(EvidenceError, match="over the input limit of 0.0 MB"):
        read_input(small)


def test_the_cap_applies_to_standard_input(tmp_path, monkeypatch):
    monkeypatch.setenv("EVIDENCE_MAX_INPUT_MB", "0.01")
    result = run("add", "--refs", str(tmp_path), "-", "--to", str(tmp_path / "lib.bib"), input=ENTRY.encode() * 1000)
    assert result.exit_code == 2 and "standard input: over the input limit of 0.0 MB" in result.stderr
    assert not (tmp_path / "lib.bib").exists()


@pytest.mark.parametrize("value", ["abc", "-1", "0", "inf"])
def test_a_bad_cap_setting_is_one_line(monkeypatch, value):
    monkeypatch.setenv("EVIDENCE_MAX_INPUT_MB", value)
    with pytest.raises(EvidenceError, match="EVIDENCE_MAX_INPUT_MB"):
        max_input_bytes()


def test_add_of_a_missing_file_is_one_line(tmp_path):
    result = run("add", "--refs", str(tmp_path), str(tmp_path / "nope.ris"), "--to", str(tmp_path / "lib.bib"))
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {tmp_path / 'nope.ris'}: no such file"


# --- no silent corruption ----------------------------------------------------------------------

MISSING_COMMA = "@article{k1,\n  title = {T},\n  volume = {5}\n  number = {4},\n  year = 2000\n}\n"


def test_a_missing_comma_is_an_error_at_its_line_in_check(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text("% a comment\n\n" + MISSING_COMMA)
    result = run("check", "--refs", str(path))
    assert result.exit_code == 2
    assert (
        f"{path}:6: k1: error: missing comma after field 'volume': 'number' was read as part of its value; "
        "add a ',' before 'number'"
    ) in result.stderr


@pytest.mark.parametrize(
    "value, found",
    [
        ("{5}\n  number = {4}", (6, "number")),
        ('"T"\n  Number = {4}', (6, "number")),
        ("2000\n  pages = {1}", (7, "pages")),
        ("jan\n  day = 3", (6, "day")),
        ("{a} # {b}", None),
        ("{the p = 0.05 result}", None),
        ("{a\n  p = 0.05}", None),
        ("{x} # mar", None),
        ("plain", None),
    ],
)
def test_swallowed_field_examples(value, found):
    assert swallowed_field(value) == found


def test_a_value_with_an_equals_sign_inside_braces_is_not_a_missing_comma():
    text = "@article{k, title = {a = b}, abstract = {x\n  n = 5 patients}, note = {5} # { = }}\n"
    assert parse_bib_text(text, "x.bib")[1] == []


def test_a_5000_digit_count_is_one_problem_not_a_traceback(tmp_path):
    path = tmp_path / "lib.bib"
    path.write_text("@article{k1, title = {T}, year = 2000, n = {%s}, month = {%s}}\n" % ("9" * 5000, "1" * 5000))
    result = run("check", "--refs", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "n is too large to be a count (5,000 digits, at most 12)" in result.stderr
    assert all(len(line) < 300 for line in result.stderr.splitlines())


# --- properties of the parsers guarding the files ------------------------------------------------

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.curation.edit import FileFormat, file_format

names = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)
plain = st.text(alphabet=st.characters(blacklist_characters='{}"\\', blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(plain, plain, names)
def test_a_braced_value_is_flagged_only_when_a_field_follows_it(inside, text, name):
    assert swallowed_field("{" + inside + "}") is None
    assert swallowed_field("{" + inside + "} # {" + text + "}") is None
    assert swallowed_field("{" + inside + "}\n  " + name + " = {" + text + "}") == (len(inside) + 5, name)


@settings(max_examples=100, deadline=None)
@given(plain, names, plain)
def test_a_missing_comma_always_reaches_check(title, name, value):
    text = "@article{k,\n  title = {" + title + "}\n  " + name + " = {" + value + "},\n  year = 2000\n}\n"
    entries, problems = parse_bib_text(text, "x.bib")
    if name == "title":  # a field given twice is its own error
        return
    assert [p.line for p in problems] == [3 + title.count("\n")]
    assert "missing comma after field 'title'" in problems[0].message


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\0"), max_size=80),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"]),
    st.booleans(),
)
def test_file_format_writes_back_what_it_read(text, encoding, crlf):
    boms = {"utf-8-sig": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}
    body = text.replace("\n", "\r\n") if crlf else text
    data = boms.get(encoding, b"") + body.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    if encoding == "utf-8" and data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return  # text that begins like a byte-order mark is read as one
    fmt = file_format(data)
    assert isinstance(fmt, FileFormat) and fmt.crlf == (crlf and "\n" in text)
    assert fmt.decode(data) == text  # edits see LF text ...
    assert fmt.encode(fmt.decode(data)) == data  # ... and the file is written back byte for byte


# --- field values are data, never templates ------------------------------------------------------


def test_a_template_in_a_field_is_printed_not_run(tmp_path):
    from evidence.analysis.summary import summarize
    from evidence.pages.render import render_paragraph

    path = tmp_path / "lib.bib"
    path.write_text(
        "@article{k1, author = {Li, X.}, title = {\\{\\{ 7*7 \\}\\} \\{\\{ cycler.__init__ \\}\\} trial}, "
        "journal = {J}, year = 2000, condition = {insomnia}, intervention = {tea}, design = {rct}, "
        "n = {10}, responders = {5}}\n"
    )
    summary = summarize(load_table([path]).table, "insomnia")
    for fmt in ("markdown", "html", "text"):
        (tmp_path / f"paragraph.{ {'markdown': 'md', 'html': 'html', 'text': 'txt'}[fmt] }.j2").write_text(
            "{{ summary.studies[0].title }}\n"
        )
    assert "49" not in render_paragraph(summary, "html", templates=tmp_path)
    assert "{{ 7*7 }} {{ cycler.__init__ }} trial" in render_paragraph(summary, "text", templates=tmp_path)


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_refs_naming_a_device_is_one_line():
    result = run("query", "--refs", "/dev/null")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: /dev/null: not a regular file or folder (a device, FIFO or socket)"


def test_a_planted_cache_runs_no_code_through_the_cli(tmp_path):
    folder = library(tmp_path)
    marker = tmp_path / "pwned"
    planted = folder / ".evidence-cache"
    planted.mkdir()
    (planted / "table-0123456789abcdef0123456789abcdef.cache").write_bytes(pickle.dumps(Payload(marker)))
    for _ in range(2):  # cold, then warm
        result = run("query", "--refs", str(folder), "--format", "csv", "--columns", "n")
        assert result.exit_code == 0 and result.stdout.splitlines() == ["n", "10"]
    assert not marker.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give the folder away")
def test_a_cache_folder_of_another_user_turns_the_cache_off(tmp_path, private_cache_dir):
    os.chown(private_cache_dir, 12345, 12345)
    result = load_table([library(tmp_path)])
    assert result.notes == [f"cache off: {private_cache_dir} belongs to another user"]
    assert list(private_cache_dir.iterdir()) == []
