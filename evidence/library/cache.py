"""A cache of the evidence table, so that repeated commands skip parsing.

The .bib files are the truth; the cache is a derived copy that is thrown away
whenever it might be wrong.  Each file is identified by its path, size,
modification time (ns) *and* a SHA-256 of its bytes: an edit of the same
size within the same second still changes the hash.  Two levels:

* one cache file per .bib file with that file's columns and problems, so an
  edit to one file re-parses only that file, and any set of ``--refs``
  reuses the files it shares with an earlier set;
* for a library of several files, one cache file of the whole table for
  that exact set of files, so an unchanged library loads with one read.

Both are stored column by column, so a command that needs a few columns
reads only those.

**Never trusted.**  A cache file is pickled data, and unpickling runs code,
so a cache must never come from anyone but the user.  The cache therefore
lives only in the user's own cache folder (``platformdirs``, e.g.
``~/.cache/evidence``; ``EVIDENCE_CACHE_DIR`` overrides it), never beside the
library where a cloned repository or an unpacked archive could plant one;
that folder must be the user's own and not writable by others, or caching is
off.  Every file is authenticated with a random 32-byte key kept in that
folder (mode 0600, created on first use): the header is JSON (never
unpickled) followed by its HMAC-SHA256 tag, and it lists each part's
offset, size and tag.  The header's tag is checked before the header is
parsed and a part's tag before that part is unpickled, so a file that was
not written with this key, or was changed since, is never unpickled; it is
ignored with a note and rebuilt.  See docs/security.md.

The cache key holds the file signatures and a *build id*: the cache format,
this package's version, bibtexparser's version, the parser in use
(``EVIDENCE_PARSER``) and a digest of the source of the modules that turn
text into rows, so a change to any of them (an upgrade, a fix to
``entry_record``) is never served the old rows.

Writes go to a temporary file renamed into place, so a command running at
the same time never reads half a cache.  Clean-up removes only regular files
whose names follow this module's own patterns, never a symlink and never
anything else in the folder.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import re
import stat
import struct
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Sequence

FORMAT = 3
CACHE_DIR_ENV = "EVIDENCE_CACHE_DIR"
KEY_FILE = "key"
MAGIC = b"EVIDENCE-CACHE\n"
TAG_SIZE = 32
#: Names this module writes; clean-up touches nothing else.
CACHE_FILE = re.compile(r"(?:table|file)-[0-9a-f]{16}-[0-9a-f]{32}\.cache")
TEMPORARY_FILE = re.compile(r"\.tmp-[A-Za-z0-9_]+\.cache")
STALE_TEMPORARY_SECONDS = 3600
#: Cache files kept in the folder at most; past this the least recently used go (one per file or set of files).
MAX_CACHE_FILES = 256
#: The modules whose code decides what a cached row holds.
_ROW_BUILDERS = ("files.py", "citerra_parse.py", "fields.py", "normalise.py", "table.py", "cache.py")

Signature = tuple[str, int, int, str]


class CacheUnavailable(Exception):
    """The cache folder or its key cannot be trusted or used; the load goes on without a cache."""


def default_cache_dir() -> Path:
    """``EVIDENCE_CACHE_DIR`` if set, else the user's cache folder for this tool (platformdirs)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("evidence", appauthor=False)) / "tables"


def cache_dir_for(paths: Sequence[Path]) -> Path:
    """The cache folder for a library: always the user's own, whatever the library's paths."""
    return default_cache_dir()


def file_signature(path: Path) -> Signature:
    """Path, size, mtime and SHA-256: hashed in chunks, and not at all past the input cap (the load refuses it)."""
    from evidence.library.files import max_input_bytes

    stats = path.stat()
    if not stat.S_ISREG(stats.st_mode) or stats.st_size > max_input_bytes():
        return (str(path.resolve()), stats.st_size, stats.st_mtime_ns, "not read")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return (str(path.resolve()), stats.st_size, stats.st_mtime_ns, digest.hexdigest())


@lru_cache(maxsize=1)
def build_id() -> str:
    """What, besides the files, decides the cached rows: format, versions and the row-building code."""
    from evidence import __version__

    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{_package_version('bibtexparser')}|{_parser_id()}".encode())
    here = Path(__file__).resolve().parent
    for name in _ROW_BUILDERS:
        try:
            digest.update(name.encode() + b"\0" + (here / name).read_bytes())
        except OSError:
            digest.update(name.encode() + b"\0missing")
    return digest.hexdigest()


def _parser_id() -> str:
    """Which parser reads the files (``EVIDENCE_PARSER``), with citerra's version when it is citerra.

    citerra's reading is used only where it equals bibtexparser's, so the
    rows should not differ; the parser is in the key all the same, so that a
    table one built is never served as the other's.
    """
    from evidence.library.citerra_parse import parser_in_use

    parser = parser_in_use()
    return parser if parser == "bibtexparser" else f"{parser}:{_package_version('citerra')}"


def _package_version(distribution: str) -> str:
    """A package's version from its dist-info folder name: importing it or importlib.metadata costs 70 ms."""
    from importlib.util import find_spec

    spec = find_spec(distribution)
    if spec is None or not spec.origin:
        return "absent"
    package = Path(spec.origin).resolve().parent
    try:
        names = [n for n in os.listdir(package.parent) if n.startswith(f"{distribution}-") and n.endswith(".dist-info")]
    except OSError:
        names = []
    if names:
        return ",".join(sorted(names))
    return hashlib.sha256((package / "__init__.py").read_bytes()).hexdigest()  # a source checkout


@dataclass
class Cache:
    """Read and write authenticated cached tables in ``folder``; ``notes`` collects what the user should hear."""

    folder: Path
    notes: list[str] = field(default_factory=list)
    _key: bytes | None = field(default=None, repr=False)
    _unavailable: bool = field(default=False, repr=False)

    def _path(self, kind: str, signatures: Sequence[Signature]) -> Path:
        digest = hashlib.sha256(repr((build_id(), kind, list(signatures))).encode()).hexdigest()[:32]
        return self.folder / f"{kind}-{digest}.cache"

    def _secret(self) -> bytes | None:
        """The folder's key, made on first use; ``None`` (with a note, once) when it cannot be trusted."""
        if self._key is None and not self._unavailable:
            try:
                self._key = _load_or_create_key(self.folder)
            except CacheUnavailable as error:
                self._unavailable = True
                self.notes.append(f"cache off: {error}")
            except OSError as error:  # a full disk or a folder we may not write: work on without a cache
                self._unavailable = True
                self.notes.append(f"cache off: cannot make its key in {self.folder}: {error.strerror or error}")
        return self._key

    def load(
        self, kind: str, signatures: Sequence[Signature], names: Iterable[str] | None = None
    ) -> dict[str, Any] | None:
        """The stored parts (only ``names``, when given), or ``None`` when there is no usable cache."""
        path = self._path(kind, signatures)
        if not path.exists():
            return None
        key = self._secret()
        if key is None:
            return None
        try:
            parts = _read_parts(path, key, list(signatures), names)
        except Exception as error:  # any unreadable or unauthentic cache is only a reason to rebuild
            self.notes.append(f"cache {path} ignored and rebuilt ({type(error).__name__}: {error})")
            return None
        try:
            os.utime(path)  # recently used: the last to go when the folder is trimmed
        except OSError:
            pass
        return parts

    def store(self, kind: str, signatures: Sequence[Signature], parts: dict[str, Any]) -> None:
        """Write ``parts`` (name -> picklable value) so that each can later be read and checked alone."""
        key = self._secret()
        if key is None:
            return
        path = self._path(kind, signatures)
        temporary = None
        try:
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".cache")
            with os.fdopen(handle, "wb") as out:
                _write_parts(out, key, signatures, parts)
            os.replace(temporary, path)
            temporary = None
        except OSError as error:
            self.notes.append(f"cannot write cache in {self.folder}: {error.strerror or error}")
            return
        finally:
            if temporary:  # nothing half-written is left behind, whatever stopped the write
                Path(temporary).unlink(missing_ok=True)
        self._prune(kind, keep=path)

    def _prune(self, kind: str, keep: Path) -> None:
        """Remove this kind's files for older states, temporary files killed runs left, and the least recently
        used cache files past :data:`MAX_CACHE_FILES`; nothing else."""
        now = time.time()
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        kept: list[tuple[float, Path]] = []
        for name in names:
            old = self.folder / name
            ours = CACHE_FILE.fullmatch(name) and name.startswith(f"{kind}-") and old != keep
            leftover = TEMPORARY_FILE.fullmatch(name)
            if not (ours or leftover):
                continue
            try:
                info = old.lstat()
                if not stat.S_ISREG(info.st_mode):
                    continue  # a symlink or anything else is not ours to remove
                if leftover and now - info.st_mtime < STALE_TEMPORARY_SECONDS:
                    continue  # perhaps another command writing right now
                old.unlink()
            except OSError:
                pass
        for name in names:
            path = self.folder / name
            if CACHE_FILE.fullmatch(name) and path != keep and not name.startswith(f"{kind}-"):
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    kept.append((info.st_mtime, path))
        kept.sort()
        for _, path in kept[: max(0, len(kept) + 1 - MAX_CACHE_FILES)]:
            path.unlink(missing_ok=True)


def file_kind(signature: Signature) -> str:
    """The cache kind of one file: older versions of the same file share it and get pruned."""
    return "file-" + hashlib.sha256(signature[0].encode()).hexdigest()[:16]


def table_kind(signatures: Sequence[Signature]) -> str:
    """The cache kind of a set of files: each set keeps its own table, older states of it get pruned."""
    return "table-" + hashlib.sha256("\0".join(s[0] for s in signatures).encode()).hexdigest()[:16]


def _write_parts(out: BinaryIO, key: bytes, signatures: Sequence[Signature], parts: dict[str, Any]) -> None:
    """The cache file's bytes, each part pickled, written and dropped before the next is pickled.

    The header (which lists each part's place and tag) comes first in the
    file but is known last, so room is kept for it and it is written at the
    end, padded with spaces (JSON allows them).  Each part is pickled
    straight into the file and tagged as it goes: a large table's pickles
    are never in memory (a 200,000-entry table's ``raw`` alone pickles to
    150 MB).
    """

    def header(layout: dict[str, list[Any]]) -> bytes:
        fields = {"format": FORMAT, "build": build_id(), "signatures": signatures, "parts": layout}
        return json.dumps(fields).encode()

    room = len(header({name: [2**63, 2**63, "0" * 64] for name in parts}))
    out.write(MAGIC + struct.pack(">Q", room) + b" " * room + bytes(TAG_SIZE))
    layout, offset = {}, 0
    for name, value in parts.items():
        writer = _TaggingWriter(out, key)
        pickle.dump(value, writer, protocol=pickle.HIGHEST_PROTOCOL)
        layout[name] = [offset, writer.size, writer.mac.hexdigest()]
        offset += writer.size
    written = header(layout).ljust(room)
    out.seek(len(MAGIC) + 8)
    out.write(written + bytes.fromhex(_tag(key, written)))


class _TaggingWriter:
    """A file to pickle into that also counts the bytes and computes their tag (as :func:`_tag` would)."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self.out, self.size, self.mac = out, 0, hmac.new(key, digestmod="sha256")

    def write(self, data: Any) -> int:
        """``data`` is bytes, or for a large array any buffer (a ``PickleBuffer``): counted in bytes."""
        size = memoryview(data).nbytes
        self.out.write(data)
        self.mac.update(data)
        self.size += size
        return size


def _tag(key: bytes, data: bytes) -> str:
    """HMAC-SHA256: with the CPU's SHA instructions it is about twice as fast as keyed BLAKE2b here."""
    return hmac.digest(key, data, "sha256").hex()


def _read_parts(path: Path, key: bytes, signatures: list[Signature], names: Iterable[str] | None) -> dict[str, Any]:
    """The parts of one cache file, each unpickled only after its tag is verified."""
    with path.open("rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ValueError("not a cache file of this format")
        (size,) = struct.unpack(">Q", handle.read(8))
        if size > 64 * 1024 * 1024:
            raise ValueError("header too large")
        header_bytes = handle.read(size)
        if not hmac.compare_digest(handle.read(TAG_SIZE), bytes.fromhex(_tag(key, header_bytes))):
            raise ValueError("not written with this cache's key")
        header = json.loads(header_bytes)
        if header.get("format") != FORMAT or header.get("build") != build_id():
            raise ValueError("stale format")
        if [list(s) for s in signatures] != header.get("signatures"):
            raise ValueError("stale signatures")
        start, layout = handle.tell(), header["parts"]
        parts = {}
        for name in layout if names is None else names:
            offset, length, tag = layout[name]
            handle.seek(start + offset)
            blob = handle.read(length)
            if not hmac.compare_digest(_tag(key, blob), tag):
                raise ValueError(f"part {name!r} changed since it was written")
            parts[name] = pickle.loads(blob)
    return parts


def _load_or_create_key(folder: Path) -> bytes:
    """The folder's 32-byte key; the folder and key must be the user's own and private.

    Raises :class:`CacheUnavailable` when the folder is someone else's or
    writable by others, or the key is not a private regular file of ours:
    whoever could write there could forge cache files.
    """
    path = folder / KEY_FILE
    if not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise CacheUnavailable(f"cannot create {folder}: {error.strerror or error}") from None
    _check_private(folder, is_folder=True)
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            _create_key(path)
            continue
        except OSError as error:
            raise CacheUnavailable(f"cannot read the key {path}: {error.strerror or error}") from None
        with os.fdopen(descriptor, "rb") as handle:
            _check_private(path, is_folder=False, stats=os.fstat(handle.fileno()))
            key = handle.read(TAG_SIZE + 1)
        if len(key) != TAG_SIZE:
            raise CacheUnavailable(f"the key {path} is not a key of this tool; remove it to start afresh")
        return key
    raise CacheUnavailable(f"cannot create the key {path}")


def _create_key(path: Path) -> None:
    """Write a fresh key to a private temporary file and link it into place: a racing command sees all or nothing."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), 0o600) if hasattr(os, "fchmod") else None
            out.write(os.urandom(TAG_SIZE))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another command made it first; theirs is used
        except OSError as error:
            raise CacheUnavailable(f"cannot create the key {path}: {error.strerror or error}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _check_private(path: Path, is_folder: bool, stats: os.stat_result | None = None) -> None:
    if not hasattr(os, "getuid"):  # Windows: the user's profile folder is private by default
        return
    info = stats or path.stat()
    if info.st_uid != os.getuid():
        raise CacheUnavailable(f"{path} belongs to another user")
    if is_folder:
        if info.st_mode & 0o022:
            raise CacheUnavailable(f"{path} can be written by others (chmod go-w {path})")
    else:
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
            raise CacheUnavailable(f"the key {path} is not private (chmod 600 {path})")
