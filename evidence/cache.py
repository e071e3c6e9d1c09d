"""A cache of the evidence table, so that repeated commands skip parsing.

The .bib files are the truth; the cache is a derived copy that is thrown away
whenever it might be wrong.  Each file is identified by its path, size,
modification time (ns) *and* a SHA-256 of its bytes: an edit of the same
size within the same second still changes the hash.  Two levels:

* one pickle per .bib file with that file's rows and problems, so an edit to
  one file re-parses only that file;
* one pickle of the whole table for the exact set of files, so an unchanged
  library loads with a single read.

A cache that cannot be read (corrupt, truncated, another format version) is
ignored with a note and rebuilt.  Writes go to a temporary file renamed into
place, so a command running at the same time never reads half a cache.  The
folder is ``.evidence-cache/`` beside the library (git-ignored).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

FORMAT = 1
CACHE_DIR_NAME = ".evidence-cache"

Signature = tuple[str, int, int, str]


def cache_dir_for(paths: Sequence[Path]) -> Path:
    """``.evidence-cache/`` inside the first library folder, or beside the first file."""
    first = Path(paths[0]) if paths else Path("refs")
    return (first if first.is_dir() else first.parent) / CACHE_DIR_NAME


def file_signature(path: Path) -> Signature:
    data = path.read_bytes()
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, hashlib.sha256(data).hexdigest())


@dataclass
class Cache:
    """Read and write cached tables in ``folder``; ``notes`` collects what the user should hear."""

    folder: Path
    notes: list[str] = field(default_factory=list)

    def _path(self, kind: str, signatures: Sequence[Signature]) -> Path:
        digest = hashlib.sha256(repr((FORMAT, kind, list(signatures))).encode()).hexdigest()[:32]
        return self.folder / f"{kind}-{digest}.pickle"

    def load(self, kind: str, signatures: Sequence[Signature]) -> Any | None:
        path = self._path(kind, signatures)
        if not path.exists():
            return None
        try:
            with path.open("rb") as handle:
                stored = pickle.load(handle)
            if stored.get("format") != FORMAT or stored.get("signatures") != list(signatures):
                raise ValueError("stale format")
            return stored["value"]
        except Exception as error:  # any unreadable cache is only a reason to rebuild
            self.notes.append(f"cache {path} ignored and rebuilt ({type(error).__name__}: {error})")
            return None

    def store(self, kind: str, signatures: Sequence[Signature], value: Any) -> None:
        path = self._path(kind, signatures)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".pickle")
            with os.fdopen(handle, "wb") as out:
                pickle.dump({"format": FORMAT, "signatures": list(signatures), "value": value}, out,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except OSError as error:
            self.notes.append(f"cannot write cache in {self.folder}: {error.strerror or error}")
            return
        self._prune(kind, keep=path)

    def _prune(self, kind: str, keep: Path) -> None:
        """Pickles of the same kind for older states are dead weight: remove them."""
        for old in self.folder.glob(f"{kind}-*.pickle"):
            if old != keep:
                old.unlink(missing_ok=True)


def file_kind(signature: Signature) -> str:
    """The cache kind of one file: older versions of the same file share it and get pruned."""
    return "file-" + hashlib.sha256(signature[0].encode()).hexdigest()[:16]
