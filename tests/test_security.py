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
    assert result.notes == [f"cache off: the key {private_cache_dir / 'key'} is not private (chmod 600 "
                            f"{private_cache_dir / 'key'})"]
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
