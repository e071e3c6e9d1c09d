"""A cache of the evidence table, so that repeated commands skip parsing.

The .bib files are the truth; the cache is a derived copy that is thrown away
whenever it might be wrong.  Each file is identified by its path, size,
modification time (ns) *and* a SHA-256 of its bytes: an edit of the same
size within the same second still changes the hash.  Two levels:

* one cache file per .bib file with that file's rows and problems, so an
  edit to one file re-parses only that file;
* one cache file of the whole table for the exact set of files, stored
  column by column, so an unchanged library loads with one read, and a
  command that needs a few columns unpickles only those.

A cache file is a small pickled header (format, signatures, and where each
named part starts) followed by each part pickled on its own.  One that
cannot be read (corrupt, truncated, another format version) is ignored with
a note and rebuilt.  Writes go to a temporary file renamed into place, so a
command running at the same time never reads half a cache.  The folder is
``.evidence-cache/`` beside the library (git-ignored).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from evidence.defaults import DEFAULT_REFS

FORMAT = 2
CACHE_DIR_NAME = ".evidence-cache"

Signature = tuple[str, int, int, str]


def cache_dir_for(paths: Sequence[Path]) -> Path:
    """``.evidence-cache/`` inside the first library folder, or beside the first file."""
    first = Path(paths[0]) if paths else DEFAULT_REFS
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
        return self.folder / f"{kind}-{digest}.cache"

    def load(self, kind: str, signatures: Sequence[Signature], names: Iterable[str] | None = None) -> dict[str, Any] | None:
        """The stored parts (only ``names``, when given), or ``None`` when there is no usable cache."""
        path = self._path(kind, signatures)
        if not path.exists():
            return None
        try:
            with path.open("rb") as handle:
                header = pickle.load(handle)
                if header.get("format") != FORMAT or header.get("signatures") != list(signatures):
                    raise ValueError("stale format")
                start, layout = handle.tell(), header["parts"]
                parts = {}
                for name in layout if names is None else names:
                    offset, size = layout[name]
                    handle.seek(start + offset)
                    parts[name] = pickle.loads(handle.read(size))
            return parts
        except Exception as error:  # any unreadable cache is only a reason to rebuild
            self.notes.append(f"cache {path} ignored and rebuilt ({type(error).__name__}: {error})")
            return None

    def store(self, kind: str, signatures: Sequence[Signature], parts: dict[str, Any]) -> None:
        """Write ``parts`` (name -> picklable value) so that each can later be read alone."""
        path = self._path(kind, signatures)
        blobs = {name: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) for name, value in parts.items()}
        layout, offset = {}, 0
        for name, blob in blobs.items():
            layout[name] = (offset, len(blob))
            offset += len(blob)
        header = {"format": FORMAT, "signatures": list(signatures), "parts": layout}
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".cache")
            with os.fdopen(handle, "wb") as out:
                pickle.dump(header, out, protocol=pickle.HIGHEST_PROTOCOL)
                for blob in blobs.values():
                    out.write(blob)
            os.replace(temporary, path)
        except OSError as error:
            if temporary:
                Path(temporary).unlink(missing_ok=True)
            self.notes.append(f"cannot write cache in {self.folder}: {error.strerror or error}")
            return
        self._prune(kind, keep=path)

    def _prune(self, kind: str, keep: Path) -> None:
        """Cache files of the same kind for older states are dead weight: remove them."""
        for old in self.folder.glob(f"{kind}-*"):
            if old != keep:
                old.unlink(missing_ok=True)


def file_kind(signature: Signature) -> str:
    """The cache kind of one file: older versions of the same file share it and get pruned."""
    return "file-" + hashlib.sha256(signature[0].encode()).hexdigest()[:16]
