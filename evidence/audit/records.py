"""Audit records: what was audited, against which library state, with which verdicts.

A record is JSON a reviewer or CI can keep beside a page: the verdicts, the
reference matches, a SHA-256 of each .bib file and of all of them, and the
git commit when the library is in a git repository.  Records are written
through :func:`evidence.curation.edit.atomic_write` (no temporary file is
left on failure).  Their names carry the page's file name and a short hash of
its full path, so two pages called ``index.html`` in different folders,
audited in the same second, do not overwrite each other's record.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Sequence

from evidence.audit.claims import PageText
from evidence.audit.judge import VERDICTS, PageAudit


def library_state(files: Sequence[Path]) -> dict[str, Any]:
    """What was audited against: a hash per .bib file, one over all, and the git commit if any."""
    hashes = {str(path): hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in files}
    combined = hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in sorted(hashes.items())).encode()).hexdigest()
    state: dict[str, Any] = {"files": hashes, "sha256": combined}
    if files:
        commit = _git_commit(Path(files[0]).resolve().parent)
        if commit:
            state["git_commit"] = commit
            # the commit alone would misname a library edited since: say so
            state["bib_changed_since_commit"] = _changed_since_commit(files)
    return state


def _changed_since_commit(files: Sequence[Path]) -> bool | None:
    folder = Path(files[0]).resolve().parent
    paths = [str(Path(f).resolve()) for f in files]
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--", *paths],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def _git_commit(folder: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def audit_record(audit: PageAudit, now: datetime | None = None) -> dict[str, Any]:
    """The audit as plain JSON-ready data: page, library state, references, claims."""
    now = now or datetime.now(UTC)
    return {
        "page": audit.page.path,
        "audited_at": now.isoformat(timespec="seconds"),
        "library": audit.library,
        "summary": {v: audit.count(v) for v in VERDICTS} | {"unresolved_references": len(audit.findings)},
        "findings": list(audit.findings),
        "references": [asdict(m) | {"parsed": _parsed(audit.page, m.label)} for m in audit.matches],
        "claims": [
            {
                "sentence": v.sentence.text.strip(),
                "claim": v.claim.text,
                "kind": v.claim.kind,
                "verdict": v.verdict,
                "scope": v.scope,
                "reason": v.reason,
                "keys": list(v.keys),
                "compared": list(v.compared),
            }
            for v in audit.verdicts
        ],
    }


def _parsed(page: PageText, label: str) -> dict[str, Any] | None:
    """The page's own reference line, split into parts, for a reviewer reading the record."""
    for reference in page.references:
        if reference.label == label:
            return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(reference).items()}
    return None


def record_name(page_path: str, now: datetime) -> str:
    """``<UTC time>-<page stem>-<8 hex of the full path>.json``: readable, and distinct for same-named pages."""
    stem = re.sub(r"[^\w.-]+", "-", Path(page_path).stem) or "page"
    try:
        full = str(Path(page_path).resolve())
    except OSError:
        full = page_path
    digest = hashlib.sha256(full.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{now.strftime('%Y-%m-%dT%H%M%SZ')}-{stem}-{digest}.json"


def write_record(audit: PageAudit, folder: Path, now: datetime | None = None) -> Path:
    """Write the record into ``folder`` (atomically) and return its path."""
    from evidence.curation.edit import atomic_write

    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / record_name(audit.page.path, now)
    atomic_write(target, json.dumps(audit_record(audit, now), indent=2, ensure_ascii=False) + "\n")
    return target
