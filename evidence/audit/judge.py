"""Judge what a page claims about its studies against the evidence table.

Two steps.  First every reference the page cites is resolved to a library
entry (:func:`match_reference`), saying how and how surely; a reference that
matches nothing, or two entries equally well, is a finding of its own.  Then
each claim the page makes (:mod:`evidence.audit.claims`) is compared with the
data of the entries its sentence cites (:func:`judge_claim`), giving one of:

* ``supported``: the data, verified, bears the claim out;
* ``unverified``: it does, but the values used have no ``verified_by`` or
  come from a secondary source;
* ``contradicted``: the data rules the claim out;
* ``unverifiable``: the data needed is not recorded (the reason names the field);
* ``uncited``: the sentence states numbers but cites nothing.

Every verdict carries the numbers compared and a one-line reason, e.g.
``contradicted: yang1993 response rate 65% < 70%``.

Rates are compared as intervals.  A claim "at least 70%" is [70, 100]; data
recorded as a bound ">=70" is [70, 100] too, so it supports the claim, while
"at least 80%" against that bound is unverifiable (the bound neither shows
nor rules it out).  An exact rate is widened by the rounding of the claim.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from evidence.audit.claims import Citation, Claim, Page, Reference, Sentence

if TYPE_CHECKING:
    import pandas as pd

Verdict = Literal["supported", "unverified", "contradicted", "unverifiable", "uncited"]
VERDICTS: tuple[Verdict, ...] = ("supported", "unverified", "contradicted", "unverifiable", "uncited")

#: A reference whose title words are at least this much in the library title is a match.
TITLE_MATCH = 0.6
#: Two candidates closer than this are ambiguous.
AMBIGUITY_MARGIN = 0.05
#: "about 70%" allows this many percentage points either way.
ABOUT_MARGIN = 2.5

_OUTCOME_CLASSES = {
    "cure": "cure", "cured": "cure", "remission": "cure",
    "improve": "improve", "improved": "improve", "improvement": "improve", "better": "improve", "relief": "improve",
    "marked": "improve", "markedly": "improve", "significantly": "improve",
    "response": "response", "responded": "response", "respond": "response", "responding": "response",
    "effective": "response",
}


@dataclass(frozen=True)
class ReferenceMatch:
    """How one cited label (a number, or a pandoc key) resolved to the library."""

    label: str
    key: str | None
    method: str
    confidence: float
    reference: str = ""
    problem: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimVerdict:
    sentence: Sentence
    claim: Claim
    verdict: Verdict
    reason: str
    keys: tuple[str, ...] = ()
    compared: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class PageAudit:
    page: Page
    matches: tuple[ReferenceMatch, ...]
    findings: tuple[str, ...]
    verdicts: tuple[ClaimVerdict, ...]
    library: dict[str, Any] = field(default_factory=dict)

    def count(self, verdict: Verdict) -> int:
        return sum(v.verdict == verdict for v in self.verdicts)

    def failed(self, fail_on: Iterable[str] = ()) -> bool:
        """Contradicted claims and unresolved references always fail; ``fail_on`` adds verdicts."""
        failing = {"contradicted", *fail_on}
        return bool(self.findings) or any(v.verdict in failing for v in self.verdicts)


# --- matching references -----------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents: 'Müller' and 'Muller' compare equal."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _title_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", fold(text)) if len(w) > 2}


def title_containment(title: str, reference_text: str) -> float:
    """Share of the library title's words found in the reference text (which also holds authors, journal)."""
    words = _title_words(title)
    return len(words & _title_words(reference_text)) / len(words) if words else 0.0


def match_reference(reference: Reference, table: "pd.DataFrame") -> ReferenceMatch:
    """Resolve a listed reference by DOI, then PMID, then first author + year + title."""
    import pandas as pd

    for column, value in (("doi", reference.doi), ("pmid", reference.pmid)):
        if value:
            hits = table[table[column].fillna("").str.lower() == value.lower()]
            if len(hits) >= 1:
                return ReferenceMatch(reference.label, str(hits.index[0]), column.upper(), 1.0, reference.text)
    scored = []
    for key, row in table.iterrows():
        if pd.isna(row["title"]):
            continue
        score = title_containment(str(row["title"]), reference.text)
        same_author = bool(reference.first_author) and not pd.isna(row["first_author"]) and fold(
            str(row["first_author"])
        ) == fold(reference.first_author or "")
        same_year = reference.year is not None and not pd.isna(row["year"]) and int(row["year"]) == reference.year
        if same_author and same_year:
            scored.append((score, str(key), "first author, year and title"))
        elif score >= 0.9:
            scored.append((score * 0.8, str(key), "title only"))
    scored.sort(reverse=True)
    good = [s for s in scored if s[0] >= TITLE_MATCH]
    if not good:
        near = ", ".join(k for _, k, _ in scored[:2])
        hint = f" (closest: {near})" if near else ""
        return ReferenceMatch(reference.label, None, "none", 0.0, reference.text,
                              problem=f"reference {reference.label} matches no library entry{hint}")
    best = good[0]
    rivals = tuple(k for s, k, _ in good[1:] if best[0] - s < AMBIGUITY_MARGIN)
    if rivals:
        keys = (best[1],) + rivals
        return ReferenceMatch(reference.label, None, "ambiguous", best[0], reference.text,
                              problem=f"reference {reference.label} matches {len(keys)} entries equally: {', '.join(keys)}",
                              candidates=keys)
    return ReferenceMatch(reference.label, best[1], best[2], round(best[0], 2), reference.text)


def resolve_citations(page: Page, table: "pd.DataFrame") -> tuple[dict[str, ReferenceMatch], list[str]]:
    """Every label cited in the page, resolved; plus the findings (unresolved, missing from the list)."""
    matches: dict[str, ReferenceMatch] = {}
    findings: list[str] = []
    by_label = {ref.label: ref for ref in page.references}
    for reference in page.references:
        matches[reference.label] = match_reference(reference, table)
    for sentence in page.sentences:
        for citation in sentence.citations:
            for label in citation.labels:
                if label in matches:
                    continue
                if citation.style == "pandoc":
                    known = label in table.index
                    matches[label] = ReferenceMatch(label, label if known else None, "citation key", 1.0 if known else 0.0,
                                                    problem=None if known else f"citation key @{label} is not in the library")
                elif label not in by_label:
                    matches[label] = ReferenceMatch(label, None, "none", 0.0,
                                                    problem=f"citation [{label}] has no entry in the page's reference list")
    findings = [m.problem for m in matches.values() if m.problem]
    return matches, findings


# --- judging claims -------------------------------------------------------------


def claim_interval(claim: Claim) -> tuple[float, float]:
    """The rates (percent) a claim allows, with the rounding of the number as written."""
    low, high = claim.low or 0.0, claim.high or 0.0
    rounding = 0.5 if float(low).is_integer() and float(high).is_integer() else 0.05
    return {
        "=": (low - rounding, high + rounding),
        ">=": (low - rounding, 100.0),
        ">": (low + 1e-9, 100.0),
        "<=": (0.0, high + rounding),
        "<": (0.0, high - 1e-9),
        "~": (low - ABOUT_MARGIN, high + ABOUT_MARGIN),
        "range": (low - rounding, high + rounding),
    }[claim.bound]


def _outcome_classes(text: str) -> set[str]:
    return {_OUTCOME_CLASSES[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _OUTCOME_CLASSES}


def study_interval(row: "pd.Series", control: bool) -> tuple[float, float] | None:
    """The rates the library's data allows for one arm: a point, or a bound as an interval."""
    import pandas as pd

    if control:
        if not pd.isna(row["control_n"]) and not pd.isna(row["control_responders"]) and row["control_n"] > 0:
            value = 100.0 * row["control_responders"] / row["control_n"]
            return value, value
        if not pd.isna(row["control_response_rate"]):
            return float(row["control_response_rate"]), float(row["control_response_rate"])
        return None
    if pd.isna(row["response_rate"]):
        return None
    value = float(row["response_rate"])
    bound = row["response_rate_bound"]
    if bound == ">=":
        return value, 100.0
    if bound == "<=":
        return 0.0, value
    return value, value


def _show(interval: tuple[float, float]) -> str:
    low, high = interval
    if low == high:
        return f"{low:g}%"
    if low <= 0.0 and high >= 100.0:
        return "unknown (0-100%)"
    if high >= 100.0:
        return f">={low:g}%"
    if low <= 0.0:
        return f"<={high:g}%"
    return f"{low:g}-{high:g}%"


def _compare(data: tuple[float, float], allowed: tuple[float, float]) -> Literal["inside", "outside", "overlap"]:
    if allowed[0] <= data[0] and data[1] <= allowed[1]:
        return "inside"
    if data[1] < allowed[0] or data[0] > allowed[1]:
        return "outside"
    return "overlap"


def _unverified(rows: Sequence["pd.Series"], used: Sequence[str] = ()) -> list[str]:
    """Why the values used are not verified, per study.

    A verification limited by ``verified_fields`` covers only those fields, so
    a claim resting on another field of the same entry is still unverified.
    """
    import pandas as pd

    reasons = []
    for row in rows:
        if row["data_source"] == "secondary":
            source = str(row["extracted_from"]).split(":")[0] if isinstance(row["extracted_from"], str) else "not named"
            reasons.append(f"{row['key']}: only a secondary statement, from {source}")
        elif pd.isna(row["verified_by"]):
            reasons.append(f"{row['key']} not verified")
        else:
            covered = row.get("verified_fields")
            covered = set(covered) if isinstance(covered, (list, tuple)) else set()
            missing = [f for f in used if f in row.index and not pd.isna(row[f]) and covered and f not in covered]
            if missing:
                reasons.append(f"{row['key']}: verification does not cover {', '.join(missing)}")
    return reasons


def judge_rate(claim: Claim, rows: Sequence["pd.Series"]) -> tuple[Verdict, str, list[dict[str, Any]]]:
    allowed = claim_interval(claim)
    # "responded" means whatever the study counted as a response, so it matches any definition
    wanted = _outcome_classes(claim.outcome) - {"response"}
    if "improve" in wanted:
        wanted.add("cure")  # a cured patient has improved: "improved" covers "cured or improved"
    arm = "control response rate" if claim.control else "response rate"
    results = []
    for row in rows:
        data = study_interval(row, claim.control)
        if data is None:
            field_name = "control_responders/control_n" if claim.control else "response_rate (or responders and n)"
            results.append(("unverifiable", f"{row['key']} has no {field_name}", row, None))
            continue
        definition = row["response_definition"]
        recorded = _outcome_classes(definition) - {"response"} if isinstance(definition, str) else set()
        if wanted and recorded and not (wanted & recorded):
            results.append(("unverifiable", f"{row['key']} records '{row['response_definition']}', the page speaks of "
                                            f"'{claim.outcome}'", row, data))
            continue
        note = ""
        if wanted and recorded and wanted > recorded:
            data = (data[0], 100.0)  # the page's outcome is broader: the recorded rate is a floor
            note = f" (recorded for '{definition}', narrower than '{claim.outcome}')"
        elif wanted and recorded and recorded > wanted:
            data = (0.0, data[1])  # narrower: the recorded rate is a ceiling
            note = f" (recorded for '{definition}', broader than '{claim.outcome}')"
        comparison = _compare(data, allowed)
        verdict = {"inside": "supported", "outside": "contradicted", "overlap": "unverifiable"}[comparison]
        if comparison == "outside":
            edge = claim.low if data[1] < allowed[0] else claim.high
            edge = edge if edge is not None else (claim.high if data[1] < allowed[0] else claim.low)
            sign = "<" if data[1] < allowed[0] else ">"
            reason = f"{row['key']} {arm} {_show(data)} {sign} {edge or 0:g}% (the claimed {claim.text}){note}"
        else:
            symbol = "within" if comparison == "inside" else "not enough to decide"
            reason = f"{row['key']} {arm} {_show(data)} {symbol} the claimed {claim.text}{note}"
        results.append((verdict, reason, row, data))
    compared = [{"key": str(r["key"]), "data": _show(d) if d else None, "claimed": claim.text, "verdict": v}
                for v, _, r, d in results]
    return _combine(claim, results, rows) + (compared,)


_RATE_FIELDS = ("response_rate", "responders", "n", "response_definition")
_CONTROL_RATE_FIELDS = ("control_response_rate", "control_responders", "control_n")


def _combine(claim: Claim, results: list, rows: Sequence["pd.Series"]) -> tuple[Verdict, str]:
    used = _CONTROL_RATE_FIELDS if claim.control else _RATE_FIELDS
    verdicts = [v for v, *_ in results]
    reasons = [reason for _, reason, *_ in results]
    if claim.scope == "pooled" and len(rows) > 1:
        return "unverifiable", "a pooled figure across several studies: the library records no pooled value for them"
    if claim.quantifier == "most":
        supported = verdicts.count("supported")
        if supported * 2 > len(verdicts):
            return _maybe_unverified(rows, "most cited studies bear it out: " + "; ".join(reasons), used)
        if verdicts.count("contradicted") * 2 >= len(verdicts):
            return "contradicted", "; ".join(reasons)
        return "unverifiable", "; ".join(reasons)
    for verdict in ("contradicted", "unverifiable"):
        if verdict in verdicts:
            return verdict, "; ".join(r for v, r, *_ in results if v == verdict)
    return _maybe_unverified(rows, "; ".join(reasons), used)


def _maybe_unverified(rows: Sequence["pd.Series"], reason: str, used: Sequence[str] = ()) -> tuple[Verdict, str]:
    unverified = _unverified(rows, used)
    if unverified:
        return "unverified", f"{reason} ({'; '.join(unverified)})"
    return "supported", reason


def judge_study_count(claim: Claim, rows: Sequence["pd.Series"], cited: int) -> tuple[Verdict, str, list[dict[str, Any]]]:
    import pandas as pd

    if claim.of_review:
        reviews = [r for r in rows if r["design"] in ("systematic-review", "meta-analysis")] or list(rows)
        counts = [r["studies"] for r in reviews]
        compared = [{"key": str(r["key"]), "studies": None if pd.isna(r["studies"]) else int(r["studies"])} for r in reviews]
        if any(pd.isna(c) for c in counts):
            return "unverifiable", "the cited review records no 'studies' field", compared
        total = int(sum(counts))
        if total == claim.count:
            return (*_maybe_unverified(reviews, f"{', '.join(str(r['key']) for r in reviews)} included {total} studies", ("studies",)), compared)
        return "contradicted", f"the cited review included {total} studies, not {claim.count}", compared
    compared: list[dict[str, Any]] = [{"cited": cited, "claimed": claim.count}]
    if claim.count is not None and cited != claim.count:
        return "contradicted", f"the sentence cites {cited} {'study' if cited == 1 else 'studies'}, the page says {claim.text}", compared
    problems, unknown = [], []
    if claim.country:
        for row in rows:
            country = row["country"]
            if pd.isna(country):
                unknown.append(f"{row['key']} has no country")
            elif fold(claim.country) not in fold(str(country)):
                problems.append(f"{row['key']} country is {country}, not {claim.country}")
    if claim.designs:
        for row in rows:
            if pd.isna(row["design"]):
                unknown.append(f"{row['key']} has no design")
            elif row["design"] not in claim.designs:
                problems.append(f"{row['key']} design is {row['design']}, not {' or '.join(claim.designs)}")
    compared += [{"key": str(r["key"]), "country": None if pd.isna(r["country"]) else r["country"],
                  "design": None if pd.isna(r["design"]) else r["design"]} for r in rows]
    if problems:
        return "contradicted", "; ".join(problems), compared
    if unknown:
        return "unverifiable", "; ".join(unknown), compared
    what = [f"{cited} {'study' if cited == 1 else 'studies'} cited"]
    if claim.country:
        what.append(f"all from {claim.country}")
    if claim.designs:
        what.append(f"all {' or '.join(claim.designs)}")
    used = (("country",) if claim.country else ()) + (("design",) if claim.designs else ())
    return (*_maybe_unverified(rows, ", ".join(what), used), compared)


def judge_participants(claim: Claim, rows: Sequence["pd.Series"]) -> tuple[Verdict, str, list[dict[str, Any]]]:
    """The number must equal a recorded count: participants, n, control_n or n + control_n (summed over studies)."""
    import pandas as pd

    def value(row: "pd.Series", column: str) -> int | None:
        return None if pd.isna(row[column]) else int(row[column])

    options: dict[str, int] = {}
    columns_of: dict[str, tuple[str, ...]] = {}
    for label, columns in (("participants", ("participants",)), ("n", ("n",)), ("control_n", ("control_n",)),
                           ("n + control_n", ("n", "control_n"))):
        values = [value(r, c) for r in rows for c in columns]
        if values and all(v is not None for v in values):
            options[label] = sum(v for v in values if v is not None)
            columns_of[label] = columns
    compared = [{"key": str(r["key"]), **{c: value(r, c) for c in ("participants", "n", "control_n")}} for r in rows]
    if not options:
        return "unverifiable", "the cited studies record no participants or n", compared
    margin = 0.05 * (claim.count or 0) if claim.bound == "~" else 0
    for label, total in options.items():
        if abs(total - (claim.count or 0)) <= margin:
            return (*_maybe_unverified(rows, f"{label} = {total}", columns_of[label]), compared)
    shown = ", ".join(f"{label} = {total}" for label, total in options.items())
    return "contradicted", f"the page says {claim.count}; the library has {shown}", compared


def judge_claim(sentence: Sentence, claim: Claim, rows: Sequence["pd.Series"], cited: int) -> ClaimVerdict:
    keys = tuple(str(r["key"]) for r in rows)
    if not sentence.cited:
        return ClaimVerdict(sentence, claim, "uncited", "the sentence states a number but cites nothing")
    if not rows:
        return ClaimVerdict(sentence, claim, "unverifiable", "none of the cited references resolves to a library entry")
    if claim.kind == "rate":
        verdict, reason, compared = judge_rate(claim, rows)
    elif claim.kind == "study-count":
        verdict, reason, compared = judge_study_count(claim, rows, cited)
    else:
        verdict, reason, compared = judge_participants(claim, rows)
    circular = [str(r["key"]) for r in rows if r["data_source"] == "secondary" and _quotes(r["extracted_from"], sentence.text)]
    if circular and verdict in ("unverified", "supported"):
        reason += (f"; {', '.join(circular)} {'was' if len(circular) == 1 else 'were'} extracted from this very sentence,"
                   " so the page is only checked against its own statement")
    return ClaimVerdict(sentence, claim, verdict, reason, keys, tuple(compared))


def _quotes(extracted_from: object, text: str) -> bool:
    """Whether the quotation in ``extracted_from`` ("...": "both reported ... improved") is in ``text``."""
    if not isinstance(extracted_from, str):
        return False
    quoted = re.findall(r'"([^"]{12,})"', extracted_from.replace("\\%", "%"))
    squash = lambda t: " ".join(fold(t).split())  # noqa: E731
    haystack = squash(text)
    for quote in quoted:
        parts = [squash(p) for p in re.split(r"\.\.\.|\u2026", quote) if p.strip()]
        if parts and all(part in haystack for part in parts):
            return True
    return False


def audit_page(page: Page, table: "pd.DataFrame", library: dict[str, Any] | None = None) -> PageAudit:
    """Resolve the page's references and judge every claim in it."""
    matches, findings = resolve_citations(page, table)
    verdicts = []
    for sentence in page.sentences:
        labels = _labels(sentence.cited)
        keys = list(dict.fromkeys(matches[label].key for label in labels if label in matches and matches[label].key))
        rows = [table.loc[key] for key in keys]
        for claim in sentence.claims:
            verdicts.append(judge_claim(sentence, claim, rows, len(labels)))
    used = [matches[label] for label in dict.fromkeys(l for s in page.sentences for l in _labels(s.citations))
            if label in matches]
    unused = [m for label, m in matches.items() if m not in used]
    return PageAudit(page, tuple(used + unused), tuple(findings), tuple(verdicts), library or {})


def _labels(citations: Sequence[Citation]) -> list[str]:
    return list(dict.fromkeys(label for c in citations for label in c.labels))


# --- records -----------------------------------------------------------------------


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
        done = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", *paths],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def _git_commit(folder: Path) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def audit_record(audit: PageAudit, now: datetime | None = None) -> dict[str, Any]:
    """The audit as plain JSON-ready data: page, library state, references, claims."""
    now = now or datetime.now(timezone.utc)
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
                "reason": v.reason,
                "keys": list(v.keys),
                "compared": list(v.compared),
            }
            for v in audit.verdicts
        ],
    }


def _parsed(page: Page, label: str) -> dict[str, Any] | None:
    """The page's own reference line, split into parts, for a reviewer reading the record."""
    for reference in page.references:
        if reference.label == label:
            return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(reference).items()}
    return None


def write_record(audit: PageAudit, folder: Path, now: datetime | None = None) -> Path:
    """Write ``<date>-<page>.json`` into ``folder`` (atomically) and return its path."""
    import os
    import tempfile

    now = now or datetime.now(timezone.utc)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "-", Path(audit.page.path).stem) or "page"
    target = folder / f"{now.strftime('%Y-%m-%dT%H%M%SZ')}-{stem}.json"
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(audit_record(audit, now), out, indent=2, ensure_ascii=False)
        out.write("\n")
    os.replace(temporary, target)
    return target
