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

The arms come from :func:`evidence.audit.arms.arms_for`: the outcome table's
rows for the study when it has any, else the entry's shorthand.  A study with
several outcomes or time points is judged against those whose name or
definition the claim's outcome words match ("were cured" -> "cure"); when
the words single out none, a claim is supported only when every candidate
bears it out, contradicted only when every one rules it out, and otherwise
unverifiable, naming each outcome and its value, so no outcome picked at
random decides it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Sequence

from evidence.audit.arms import ArmLookup, ArmSet, RecordedArm, arms_for, is_missing, outcome_arms, select_arm
from evidence.audit.claims import Citation, Claim, PageText, Sentence, title_spans
from evidence.audit.match import LibraryIndex, ReferenceMatch, build_index, fold, resolve_citations
from evidence.library.fields import REVIEW_DESIGNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ClaimVerdict",
    "Judgement",
    "PageAudit",
    "StudyResult",
    "VERDICTS",
    "Verdict",
    "audit_page",
    "judge_claim",
    "ReferenceMatch",
]

Verdict = Literal["supported", "unverified", "contradicted", "unverifiable", "uncited"]
VERDICTS: tuple[Verdict, ...] = ("supported", "unverified", "contradicted", "unverifiable", "uncited")

#: "about 70%" allows this many percentage points either way.
ABOUT_MARGIN = 2.5

_OUTCOME_CLASSES = {
    "cure": "cure",
    "cured": "cure",
    "remission": "cure",
    "improve": "improve",
    "improved": "improve",
    "improvement": "improve",
    "better": "improve",
    "relief": "improve",
    "marked": "improve",
    "markedly": "improve",
    "significantly": "improve",
    "response": "response",
    "responded": "response",
    "respond": "response",
    "responding": "response",
    "effective": "response",
}


@dataclass(frozen=True)
class StudyResult:
    """What one cited study says about a claim: its verdict, the reason, and the data compared."""

    verdict: Verdict
    reason: str
    key: str
    data: tuple[float, float] | None = None
    #: the outcome-table arms the result rests on (their own verification applies), empty for the shorthand
    arms: tuple[RecordedArm, ...] = ()


@dataclass(frozen=True)
class Judgement:
    """A claim's verdict over all its cited studies, the reason, and the values compared (for the record)."""

    verdict: Verdict
    reason: str
    compared: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ClaimVerdict:
    sentence: Sentence
    claim: Claim
    verdict: Verdict
    reason: str
    keys: tuple[str, ...] = ()
    compared: tuple[dict[str, Any], ...] = ()

    @property
    def scope(self) -> str:
        """Where the citation judged against comes from: "sentence", "paragraph", "heading" or "page"."""
        return self.sentence.scope


@dataclass(frozen=True)
class PageAudit:
    page: PageText
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


def study_interval(row: "pd.Series", arm: str | None) -> tuple[tuple[float, float] | None, str]:
    """The rates the library's data allows for the arm a claim names (None: the treatment), as an interval
    (a bound is an interval to 0 or 100), and why there is none."""
    if arm is None:
        value = row.get("response_rate")
        if is_missing(value):
            return None, "has no response_rate (or responders and n)"
        bound = row.get("response_rate_bound")
        if bound == ">=":
            return (float(value), 100.0), ""
        if bound == "<=":
            return (0.0, float(value)), ""
        return (float(value), float(value)), ""
    chosen, why = select_arm(arms_for(row, None)[0].arms, arm)
    if chosen is None:
        return None, why
    rate = chosen.event_rate
    if rate is None:
        return None, f"records no responders/n or rate for its {chosen.label} arm (control_responders/control_n)"
    return (rate, rate), ""


def _show(interval: tuple[float, float]) -> str:
    low, high = (round(value, 1) for value in interval)
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


def _unverified(
    rows: Sequence["pd.Series"], used: Sequence[str] = (), arms: "Mapping[str, Sequence[RecordedArm]] | None" = None
) -> list[str]:
    """Why the values used are not verified, per study.

    A verification limited by ``verified_fields`` covers only those fields, so
    a claim resting on another field of the same entry is still unverified.
    A study judged from outcome-table arms (``arms`` by key) is verified by
    those rows' own ``verified_by`` and ``data_source``, not the entry's.
    """
    import pandas as pd

    reasons = []
    for row in rows:
        if arms and str(row["key"]) in arms:
            used_arms = arms[str(row["key"])]
            secondary = [a.label for a in used_arms if a.data_source == "secondary"]
            unchecked = [a.label for a in used_arms if not a.verified_by]
            if secondary:
                reasons.append(f"{row['key']}: only a secondary statement for {', '.join(secondary)}")
            elif unchecked:
                reasons.append(f"{row['key']} {', '.join(unchecked)} not verified (outcomes CSV)")
            continue
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


def _arm_in_clause(arms: Sequence[RecordedArm], clause: str) -> str | None:
    """The arm whose recorded label the clause names best ("glucosamine and chondroitin" names the
    combination, not glucosamine alone); None (the treatment arm) when none is named, or when the one
    treatment arm is (a study with two treatment arms needs the label to say which)."""
    words = set(re.findall(r"[a-z]{4,}", fold(clause)))
    several = sum(a.role == "intervention" for a in arms) > 1
    best: tuple[int, int, str | None] = (0, 0, None)
    for arm in arms:
        label_words = set(re.findall(r"[a-z]{4,}", fold(arm.label))) - {"therapy", "treatment", "group", "extract"}
        hits = len(label_words & words)
        if hits and (hits, -len(label_words)) > best[:2]:
            best = (hits, -len(label_words), arm.label if arm.role == "control" or several else None)
    return best[2] if best[2] is None else f"label:{best[2]}"


def _arm_name(arm: str | None) -> str:
    if arm is None:
        return "response rate"
    return f"{arm.removeprefix('label:')} arm response rate"


def judge_rate(claim: Claim, rows: Sequence["pd.Series"], clause: str = "", arms: ArmLookup | None = None) -> Judgement:
    """A rate against the arm it is about: an arm label near the number ("in the sham group"), else the arm
    whose recorded label the clause names ("65% who took chondroitin"), else the treatment arm."""
    if claim.outcome == "background":
        return Judgement("unverifiable", "a general figure ('usual', 'typical'), not a result the cited study reports")
    if claim.outcome == "demographic":
        return Judgement(
            "unverifiable", "a share of the participants (sex, ethnicity): the library records no demographics"
        )
    allowed = claim_interval(claim)
    # "responded" means whatever the study counted as a response, so it matches any definition
    wanted = _outcome_classes(claim.outcome) - {"response"}
    if "improve" in wanted:
        wanted.add("cure")  # a cured patient has improved: "improved" covers "cured or improved"
    results: list[StudyResult] = []
    for row in rows:
        key = str(row["key"])
        sets = arms_for(row, arms)
        if sets[0].source == "csv":
            results.append(_rate_from_sets(claim, allowed, wanted, key, sets, clause))
            continue
        label = claim.arm if claim.arm is not None else _arm_in_clause(sets[0].arms, clause)
        data, why = study_interval(row, label)
        definition = row["response_definition"]
        results.append(_rate_result(claim, allowed, wanted, key, key, label, data, why, definition))
    compared = tuple(
        {"key": r.key, "data": _show(r.data) if r.data else None, "claimed": claim.text, "verdict": r.verdict}
        for r in results
    )
    verdict, reason = _combine(claim, results, rows)
    return Judgement(verdict, reason, compared)


def _rate_result(
    claim: Claim,
    allowed: tuple[float, float],
    wanted: set[str],
    key: str,
    shown_as: str,
    label: str | None,
    data: tuple[float, float] | None,
    why: str,
    definition: object,
    used: tuple[RecordedArm, ...] = (),
) -> StudyResult:
    """One study's (or one of its outcomes') rate against the claim, the outcome words compared first."""
    arm = _arm_name(label)
    if data is None:
        return StudyResult("unverifiable", f"{shown_as} {why}", key)
    recorded = _outcome_classes(definition) - {"response"} if isinstance(definition, str) else set()
    if wanted and recorded and not (wanted & recorded):
        reason = f"{shown_as} records '{definition}', the page speaks of '{claim.outcome}'"
        return StudyResult("unverifiable", reason, key, data)
    note = ""
    if wanted and recorded and wanted > recorded:
        data = (data[0], 100.0)  # the page's outcome is broader: the recorded rate is a floor
        note = f" (recorded for '{definition}', narrower than '{claim.outcome}')"
    elif wanted and recorded and recorded > wanted:
        data = (0.0, data[1])  # narrower: the recorded rate is a ceiling
        note = f" (recorded for '{definition}', broader than '{claim.outcome}')"
    comparison = _compare(data, allowed)
    verdicts_of: dict[str, Verdict] = {"inside": "supported", "outside": "contradicted", "overlap": "unverifiable"}
    if comparison == "outside":
        below = data[1] < allowed[0]
        edge = claim.low if below else claim.high
        reason = (
            f"{shown_as} {arm} {_show(data)} {'<' if below else '>'} {edge or 0:g}% (the claimed {claim.text}){note}"
        )
    else:
        symbol = "within" if comparison == "inside" else "not enough to decide"
        reason = f"{shown_as} {arm} {_show(data)} {symbol} the claimed {claim.text}{note}"
    return StudyResult(verdicts_of[comparison], reason, key, data, used)


def _rate_from_sets(
    claim: Claim, allowed: tuple[float, float], wanted: set[str], key: str, sets: Sequence[ArmSet], clause: str
) -> StudyResult:
    """A rate against a study's outcome-table arms: the outcomes the claim's words name, else every outcome
    with counts; several outcomes decide only when they agree (see the module docstring)."""
    counted = [s for s in sets if any(a.event_rate is not None for a in s.arms)]
    if not counted:
        names = ", ".join(s.name for s in sets)
        return StudyResult("unverifiable", f"{key} records no events and n for any arm of {names}", key)
    named = [s for s in counted if wanted & _outcome_classes(f"{s.outcome} {s.definition or ''}")]
    results = []
    for chosen_set in named or counted:
        label = claim.arm if claim.arm is not None else _arm_in_clause(chosen_set.arms, clause)
        chosen, why = select_arm(chosen_set.arms, label)
        data = None
        if chosen is not None and chosen.event_rate is not None:
            data = (chosen.event_rate, chosen.event_rate)
        elif chosen is not None:
            why = f"records no events and n for its {chosen.label} arm"
        definition = chosen_set.definition or chosen_set.outcome
        shown_as = f"{key} {chosen_set.name}:"
        resting_on: tuple[RecordedArm, ...] = (chosen,) if chosen is not None else ()
        results.append(_rate_result(claim, allowed, wanted, key, shown_as, label, data, why, definition, resting_on))
    if len(results) == 1:
        return results[0]
    verdicts = {r.verdict for r in results}
    joined = "; ".join(r.reason for r in results)
    used = tuple(a for r in results for a in r.arms)
    if verdicts == {"supported"}:
        return StudyResult("supported", f"every recorded outcome bears it out: {joined}", key, results[0].data, used)
    if verdicts == {"contradicted"}:
        return StudyResult("contradicted", f"every recorded outcome rules it out: {joined}", key, results[0].data)
    return StudyResult(
        "unverifiable",
        f"{key}: the page does not say which of {len(results)} recorded outcomes it means: {joined}",
        key,
    )


_RATE_FIELDS = ("response_rate", "responders", "n", "response_definition")
_CONTROL_RATE_FIELDS = ("control_response_rate", "control_responders", "control_n")


def _combine(claim: Claim, results: Sequence[StudyResult], rows: Sequence["pd.Series"]) -> tuple[Verdict, str]:
    """One verdict from the cited studies': per-study words need all of them, "most" a majority."""
    used = _RATE_FIELDS if claim.arm is None else _CONTROL_RATE_FIELDS
    verdicts = [r.verdict for r in results]
    reasons = [r.reason for r in results]
    if claim.scope == "pooled" and len(rows) > 1:
        return "unverifiable", "a pooled figure across several studies: the library records no pooled value for them"
    arms = {r.key: r.arms for r in results if r.arms}
    if claim.quantifier == "most":
        supported = verdicts.count("supported")
        if supported * 2 > len(verdicts):
            return _maybe_unverified(rows, "most cited studies bear it out: " + "; ".join(reasons), used, arms)
        if verdicts.count("contradicted") * 2 >= len(verdicts):
            return "contradicted", "; ".join(reasons)
        return "unverifiable", "; ".join(reasons)
    for verdict in ("contradicted", "unverifiable"):
        if verdict in verdicts:
            return verdict, "; ".join(r.reason for r in results if r.verdict == verdict)
    return _maybe_unverified(rows, "; ".join(reasons), used, arms)


def _maybe_unverified(
    rows: Sequence["pd.Series"],
    reason: str,
    used: Sequence[str] = (),
    arms: "Mapping[str, Sequence[RecordedArm]] | None" = None,
) -> tuple[Verdict, str]:
    unverified = _unverified(rows, used, arms)
    if unverified:
        return "unverified", f"{reason} ({'; '.join(unverified)})"
    return "supported", reason


def judge_study_count(claim: Claim, rows: Sequence["pd.Series"], cited: int) -> Judgement:
    import pandas as pd

    single_review = len(rows) == 1 and rows[0]["design"] in REVIEW_DESIGNS and claim.count not in (None, 1)
    if claim.of_review or single_review:
        # "The meta-analysis3 identified 23 randomised clinical trials": the count is of the review's studies
        reviews = [r for r in rows if r["design"] in REVIEW_DESIGNS] or list(rows)
        counts = [r["studies"] for r in reviews]
        compared = [
            {"key": str(r["key"]), "studies": None if pd.isna(r["studies"]) else int(r["studies"])} for r in reviews
        ]
        if any(pd.isna(c) for c in counts):
            return Judgement("unverifiable", "the cited review records no 'studies' field", tuple(compared))
        total = int(sum(counts))
        if total == claim.count:
            included = f"{', '.join(str(r['key']) for r in reviews)} included {total} studies"
            return Judgement(*_maybe_unverified(reviews, included, ("studies",)), tuple(compared))
        return Judgement(
            "contradicted", f"the cited review included {total} studies, not {claim.count}", tuple(compared)
        )
    listed: list[dict[str, Any]] = [{"cited": cited, "claimed": claim.count}]
    if claim.count is not None and cited != claim.count and not (claim.count == 1 and claim.designs and cited > 1):
        studies = "study" if cited == 1 else "studies"
        return Judgement(
            "contradicted", f"the sentence cites {cited} {studies}, the page says {claim.text}", tuple(listed)
        )
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
    listed += [
        {
            "key": str(r["key"]),
            "country": None if pd.isna(r["country"]) else r["country"],
            "design": None if pd.isna(r["design"]) else r["design"],
        }
        for r in rows
    ]
    if claim.count == 1 and claim.designs and cited > 1:
        # "a meta-analysis [1, 2]": one of the cited studies must be of that design
        fitting = [r for r in rows if r["design"] in claim.designs]
        if fitting:
            problems, unknown, rows = [], [], fitting
    if problems:
        return Judgement("contradicted", "; ".join(problems), tuple(listed))
    if unknown:
        return Judgement("unverifiable", "; ".join(unknown), tuple(listed))
    what = [f"{cited} {'study' if cited == 1 else 'studies'} cited"]
    if claim.country:
        what.append(f"all from {claim.country}")
    if claim.designs:
        what.append(f"all {' or '.join(claim.designs)}")
    used = (("country",) if claim.country else ()) + (("design",) if claim.designs else ())
    return Judgement(*_maybe_unverified(rows, ", ".join(what), used), tuple(listed))


def judge_participants(claim: Claim, rows: Sequence["pd.Series"], arms: ArmLookup | None = None) -> Judgement:
    """A count of people against the arms: a subset ("who stopped treatment") is never contradicted; a count
    in a named arm ("302 patients in the sham group") is that arm's n; a total is contradicted only when it
    cannot be right (smaller than the recorded arms together, or all arms recorded and the sum differs), and
    unverifiable when arms are missing, naming them.  A total sums the arms of one outcome at one time point
    (:func:`_summed_set`), never arms of different outcomes."""
    results: list[StudyResult] = []
    compared: list[dict[str, Any]] = []
    claimed = claim.count or 0
    margin = 0.05 * claimed if claim.bound == "~" else 0.0
    recorded_totals: list[int] = []
    # every count the cited studies offer (a total, each arm, each study alone), with the outcome-table arms
    # it rests on (empty: the entry's fields)
    options: dict[str, tuple[int, tuple[RecordedArm, ...]]] = {}
    summed: list[tuple[str, ArmSet]] = []
    for row in rows:
        key = str(row["key"])
        sets = arms_for(row, arms)
        from_csv = sets[0].source == "csv"
        chosen_set = _summed_set(sets)
        summed.append((key, chosen_set))
        total = row.get("participants")
        total = None if is_missing(total) else int(total)
        compared.append({"key": key, "participants": total, "arms": {a.label: a.n for a in chosen_set.arms}})
        sums = {sum(a.n or 0 for a in s.arms) for s in sets if s.arms and all(a.n is not None for a in s.arms)}
        for arm_set in sets:
            for arm in arm_set.arms:
                if arm.n is not None:
                    name = f"{key} {arm.label} arm n"
                    if name in options and options[name][0] != arm.n:
                        name += f" ({arm_set.name})"
                    options.setdefault(name, (arm.n, (arm,) if from_csv else ()))
        if total is not None:
            recorded_totals.append(total)
            options[f"{key} total"] = (total, ())
        elif len(sums) == 1:
            recorded_totals.append(sums.pop())
            parts = " + ".join(str(a.n) for a in chosen_set.arms)
            name = f"{key} total of the arms ({parts})" if len(chosen_set.arms) > 1 else f"{key} total"
            options[name] = (recorded_totals[-1], chosen_set.arms if from_csv else ())
        else:
            recorded_totals.append(-1)
            for arm_set in sets if len(sums) > 1 else ():
                if all(a.n is not None for a in arm_set.arms):
                    options[f"{key} {arm_set.name} arms total"] = (sum(a.n or 0 for a in arm_set.arms), arm_set.arms)
        if claim.arm is not None and len(rows) == 1:
            results.append(_arm_count(claim, key, sets, claimed, margin, from_csv))
    if results:
        (result,) = results
        arm_fields: tuple[str, ...] = ("control_n",) if claim.arm and claim.arm != "intervention" else ("n",)
        if result.verdict == "supported":
            by_arms = {result.key: result.arms} if result.arms else None
            return Judgement(*_maybe_unverified(rows, result.reason, arm_fields, by_arms), tuple(compared))
        return Judgement(result.verdict, result.reason, tuple(compared))
    if len(rows) > 1 and all(t >= 0 for t in recorded_totals):
        options["all cited studies"] = (sum(recorded_totals), ())
    for label, (value, used_arms) in options.items():
        if abs(value - claimed) <= margin or (claim.bound == ">" and value > claimed):
            used: tuple[str, ...] = (
                ("participants",) if " total" in label or label.startswith("all") else ("n", "control_n")
            )
            key = label.split(" ", 1)[0]
            by_arms = {key: used_arms} if used_arms else None
            return Judgement(*_maybe_unverified(rows, f"{label} = {value}", used, by_arms), tuple(compared))
    if not options:
        return Judgement("unverifiable", "the cited studies record no participants or n", tuple(compared))
    values = [value for value, _ in options.values()]
    shown = ", ".join(f"{label} = {value}" for label, (value, _) in options.items())
    if claim.subgroup:
        return Judgement(
            "unverifiable",
            f"a subset ({claim.subgroup}), so no total can rule it out; the library has {shown}",
            tuple(compared),
        )
    if claim.bound in ("~", ">", "<"):
        return Judgement("unverifiable", f"the page says {claim.text}; the library has {shown}", tuple(compared))
    if len(rows) == 1 and rows[0]["design"] in REVIEW_DESIGNS and claimed < max(values):
        return Judgement(
            "unverifiable",
            f"the page says {claimed}, fewer than the review's {shown}: it may count a subset of the review's studies",
            tuple(compared),
        )
    complete = all(t >= 0 for t in recorded_totals)
    if complete and len(rows) == 1:
        return Judgement("contradicted", f"the page says {claimed}; the library has {shown}", tuple(compared))
    arm_sum = sum(a.n or 0 for _, arm_set in summed for a in arm_set.arms)
    if claimed < max(values) and len(rows) == 1 and claimed not in values:
        return Judgement(
            "contradicted", f"the page says {claimed}, fewer than one recorded count ({shown})", tuple(compared)
        )
    missing = [f"{key} {a.label}" for key, arm_set in summed for a in arm_set.arms if a.n is None]
    what = f"arms without n: {', '.join(missing)}" if missing else "the total is not recorded (participants)"
    return Judgement(
        "unverifiable", f"the page says {claimed}; recorded arms sum to {arm_sum}; {what}", tuple(compared)
    )


def _summed_set(sets: Sequence[ArmSet]) -> ArmSet:
    """The arms a study's total is the sum of: the outcome and time point with every arm's n recorded (the
    largest sum, the one nearest randomisation), else the one with the most arms' n (its gaps named)."""
    complete = [s for s in sets if s.arms and all(a.n is not None for a in s.arms)]
    if complete:
        return max(complete, key=lambda s: sum(a.n or 0 for a in s.arms))
    return max(sets, key=lambda s: sum(a.n is not None for a in s.arms))


def _arm_count(
    claim: Claim, key: str, sets: Sequence[ArmSet], claimed: int, margin: float, from_csv: bool
) -> StudyResult:
    """A count in a named arm ("302 patients in the sham group") against that arm's n."""
    chosen, why = None, ""
    for arm_set in sets:
        chosen, why = select_arm(arm_set.arms, claim.arm)
        if chosen is not None and chosen.n is not None:
            break
    if chosen is None or chosen.n is None:
        return StudyResult(
            "unverifiable", f"{key}: {why or f'the {chosen.label if chosen else claim.arm} arm records no n'}", key
        )
    if abs(chosen.n - claimed) <= margin:
        return StudyResult(
            "supported", f"{key} {chosen.label} arm n = {chosen.n}", key, arms=(chosen,) if from_csv else ()
        )
    if claim.subgroup:
        return StudyResult(
            "unverifiable", f"{key}: a subset ({claim.subgroup}) of the {chosen.label} arm's {chosen.n}", key
        )
    return StudyResult("contradicted", f"{key} {chosen.label} arm n = {chosen.n}, not {claimed}", key)


def judge_comparison(
    claim: Claim, rows: Sequence["pd.Series"], arms: ArmLookup | None = None, clause: str = ""
) -> Judgement:
    """A comparison of two arms ("51% vs 53%", "no better than sham", "twice as likely") against each study's
    effect from its arms: the two rates, or the risk ratio with its 95% CI.  A study with several outcomes
    is judged on each the page could mean; they decide only when they agree."""
    if len(rows) != 1:
        return Judgement(
            "unverifiable",
            "a comparison across several studies: the library records no pooled comparative effect for them",
        )
    (row,) = rows
    key = str(row["key"])
    sets = arms_for(row, arms)
    if sets[0].source == "bib":
        return _compare_arms(claim, row, sets[0], clause, "")
    counted = [s for s in sets if sum(a.event_rate is not None for a in s.arms) >= 2] or list(sets)
    # a comparison's outcome is in its clause ("cured 67.5% vs 45%")
    wanted = _outcome_classes(claim.outcome or clause) - {"response"}
    named = [s for s in counted if wanted & _outcome_classes(f"{s.outcome} {s.definition or ''}")]
    judgements = [_compare_arms(claim, row, s, clause, f"{s.name}: ") for s in named or counted]
    if len(judgements) == 1:
        return judgements[0]
    compared = tuple(c for j in judgements for c in j.compared)
    joined = "; ".join(j.reason for j in judgements)
    verdicts = {j.verdict for j in judgements}
    if verdicts <= {"supported", "unverified"}:
        verdict: Verdict = "unverified" if "unverified" in verdicts else "supported"
        return Judgement(verdict, f"every recorded outcome bears it out: {joined}", compared)
    if verdicts == {"contradicted"}:
        return Judgement("contradicted", f"every recorded outcome rules it out: {joined}", compared)
    return Judgement(
        "unverifiable",
        f"{key}: the page does not say which of {len(judgements)} recorded outcomes it means: {joined}",
        compared,
    )


def _compare_arms(claim: Claim, row: "pd.Series", arm_set: ArmSet, clause: str, outcome: str) -> Judgement:
    """One comparison against the arms of one outcome: the treatment arm (the one the clause names when
    the study has several) against the control arm the claim names."""
    rows = [row]
    key = f"{row['key']} {outcome}".strip()
    arms = arm_set.arms
    named = _arm_in_clause(arms, clause) if sum(a.role == "intervention" for a in arms) > 1 else None
    treated, why = select_arm(arms, named)
    if treated is not None and treated.role != "intervention":
        treated, why = select_arm(arms, None)
    control, control_why = select_arm(arms, claim.arm or "control")
    if treated is None or control is None:
        return Judgement("unverifiable", f"{key}: {why or control_why or 'no treatment arm'}")
    from_csv = arm_set.source == "csv"
    by_arms: dict[str, Sequence[RecordedArm]] | None = {str(row["key"]): (treated, control)} if from_csv else None
    used = _RATE_FIELDS + _CONTROL_RATE_FIELDS
    rates = (treated.event_rate, control.event_rate)
    compared = ({"key": str(row["key"]), "arms": {treated.label: rates[0], control.label: rates[1]}},)
    if claim.comparison == "versus":
        if rates[0] is None or rates[1] is None:
            return Judgement("unverifiable", f"{key} records no response rate for both arms", compared)
        claimed = (claim.low or 0.0, claim.high or 0.0)
        shown = f"{key} {treated.label} {rates[0]:.1f}% vs {control.label} {rates[1]:.1f}%"
        # the page names the treatment arm first
        if all(abs(w - (d or 0)) <= 0.5 + 1e-9 for w, d in zip(claimed, rates)):
            return Judgement(*_maybe_unverified(rows, shown, used, by_arms), compared)
        return Judgement("contradicted", f"{shown}, not {claim.text}", compared)
    if None in (treated.n, treated.events, control.n, control.events):
        return Judgement(
            "unverifiable",
            f"{key} records no responders and n for both arms ({treated.label}, {control.label})",
            compared,
        )
    from evidence.analysis.stats import risk_ratio

    effect = risk_ratio(int(treated.events or 0), int(treated.n or 0), int(control.events or 0), int(control.n or 0))
    if effect is None:
        return Judgement("unverifiable", f"{key}: the risk ratio is not estimable", compared)
    shown = f"{key} risk ratio {effect.estimate:.2f} (95% CI {effect.ci.low:.2f} to {effect.ci.high:.2f})"
    if claim.comparison == "no-difference":
        if effect.ci.low > 1.0:
            return Judgement("contradicted", f"{shown}: {treated.label} did better than {control.label}", compared)
        return Judgement(*_maybe_unverified(rows, f"{shown}: no clear difference", used, by_arms), compared)
    if claim.comparison == "better":
        if effect.ci.low > 1.0:
            return Judgement(*_maybe_unverified(rows, shown, used, by_arms), compared)
        if effect.ci.high < 1.0:
            return Judgement("contradicted", f"{shown}: {control.label} did better", compared)
        return Judgement("unverifiable", f"{shown}: the interval includes no difference", compared)
    ratio = claim.ratio or 1.0
    if effect.ci.low <= ratio <= effect.ci.high:
        return Judgement(*_maybe_unverified(rows, f"{shown} includes {ratio:g}", used, by_arms), compared)
    return Judgement("contradicted", f"{shown} excludes {ratio:g}", compared)


def judge_claim(
    sentence: Sentence, claim: Claim, rows: Sequence["pd.Series"], cited: int, arms: ArmLookup | None = None
) -> ClaimVerdict:
    """One claim against the entries its sentence cites (``cited`` counts the labels, resolved or not);
    ``arms`` are the outcome table's arm sets by key (:func:`evidence.audit.arms.outcome_arms`)."""
    keys = tuple(str(r["key"]) for r in rows)
    if not sentence.cited:
        return ClaimVerdict(sentence, claim, "uncited", "the sentence states a number but cites nothing")
    if not rows:
        return ClaimVerdict(sentence, claim, "unverifiable", "none of the cited references resolves to a library entry")
    if claim.kind == "rate":
        judgement = judge_rate(claim, rows, _clause(sentence, claim), arms)
    elif claim.kind == "study-count":
        judgement = judge_study_count(claim, rows, cited)
    elif claim.kind == "comparison":
        judgement = judge_comparison(claim, rows, arms, _clause(sentence, claim))
    else:
        judgement = judge_participants(claim, rows, arms)
    reason = judgement.reason
    circular = [
        str(r["key"])
        for r in rows
        if r["data_source"] == "secondary" and _quotes(r["extracted_from"], sentence.text[:MAX_QUOTED])
    ]
    if circular and judgement.verdict in ("unverified", "supported"):
        reason += (
            f"; {', '.join(circular)} {'was' if len(circular) == 1 else 'were'} extracted from this very "
            "sentence, so the page is only checked against its own statement"
        )
    if sentence.scope == "page":
        reason += f" (cited by the page as a whole: it names {', '.join(keys)} and marks no citation)"
    elif sentence.scope == "paragraph":
        reason += " (the citation of an earlier sentence of the paragraph)"
    return ClaimVerdict(sentence, claim, judgement.verdict, reason, keys, judgement.compared)


#: How much of a sentence is searched for a secondary source's quotation (bounded, so long pages stay linear).
MAX_QUOTED = 5000


def _clause(sentence: Sentence, claim: Claim) -> str:
    """The words around a claim within its clause: six before it, and up to the next clause break after it."""
    a, b = claim.start - sentence.start, claim.end - sentence.start
    text = sentence.text
    before = re.split(r"[;:.|]|,\s", text[max(0, a - 80) : a])[-1].split()[-6:]
    after = re.split(r"[;:.|\n]|,\s", text[b : b + 160])[0]
    return " ".join(before) + " " + after


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


def audit_page(
    page: PageText,
    table: "pd.DataFrame",
    library: dict[str, Any] | None = None,
    index: LibraryIndex | None = None,
    outcomes: "pd.DataFrame | None" = None,
    arms: ArmLookup | None = None,
) -> PageAudit:
    """Resolve the page's references and judge every claim in it.  Pass ``index`` (:func:`build_index`) when
    auditing many pages against one table, so it is built once.

    ``outcomes`` is the long outcome table (:attr:`evidence.Library.outcomes`): a study with rows there is
    judged on those arms, any other on its shorthand fields.  ``arms`` (:func:`outcome_arms` of it) may be
    passed instead, built once for many pages.

    A page that cites exactly one library entry and marks no citation in its sentences (a single reference
    line, a study named once, a reference list with no markers) is read as being about that study: its
    claims without a citation of their own are judged against it, with the scope "page"."""
    index = index if index is not None else build_index(table)
    arms = arms if arms is not None else outcome_arms(outcomes)
    matches, findings = resolve_citations(page, index, table.index)
    page_citation = _page_citation(page, matches)
    # a title line that matched a study is the study's title: its words are not the page's claims
    titles = [
        span
        for reference, span in title_spans(page.text, page.references)
        if matches.get(reference.label) is not None and matches[reference.label].key
    ]
    verdicts = []
    for sentence in page.sentences:
        if any(a <= sentence.start and sentence.end <= b + 1 for a, b in titles):
            continue
        labels = _labels(sentence.cited)
        # a name the library does not know is just a name, not a citation
        labels = [label for label in labels if not _unknown_name(sentence, label, matches)]
        if not labels and page_citation is not None and sentence.claims:
            sentence = replace(sentence, citations=(), carried=(page_citation,), scope="page")
            labels = list(page_citation.labels)
        elif not labels and sentence.cited:
            sentence = replace(sentence, citations=(), carried=())
        keys = list(dict.fromkeys(matches[label].key for label in labels if label in matches and matches[label].key))
        rows = [table.loc[key] for key in keys]
        for claim in sentence.claims:
            verdicts.append(judge_claim(sentence, claim, rows, len(labels), arms))
    used = [
        matches[label]
        for label in dict.fromkeys(label for s in page.sentences for label in _labels(s.cited))
        if label in matches and not (matches[label].key is None and matches[label].problem is None)
    ]
    unused = [m for label, m in matches.items() if m not in used and not (m.key is None and m.problem is None)]
    return PageAudit(page, tuple(used + unused), tuple(findings), tuple(verdicts), library or {})


_IN_TEXT_STYLES = ("pandoc", "numbered", "author-year")


def _page_citation(page: PageText, matches: dict[str, ReferenceMatch]) -> Citation | None:
    """The one study a page without citation markers is about, as a citation covering every claim."""
    if any(
        c.style in _IN_TEXT_STYLES and not c.labels[0].startswith("ref-") for s in page.sentences for c in s.citations
    ):
        return None
    if any(c.style == "numbered" for s in page.sentences for c in s.citations):
        return None  # footnotes mark their sentences: no page scope
    keys = {m.key for m in matches.values() if m.key}
    if len(keys) != 1:
        return None
    label = next(label for label, m in matches.items() if m.key)
    return Citation(0, 0, (label,), "named")


def _unknown_name(sentence: Sentence, label: str, matches: dict[str, ReferenceMatch]) -> bool:
    named = [c for c in sentence.cited if c.style == "named" and label in c.labels]
    return bool(named) and (label not in matches or matches[label].key is None)


def _labels(citations: Sequence[Citation]) -> list[str]:
    return list(dict.fromkeys(label for c in citations for label in c.labels))
