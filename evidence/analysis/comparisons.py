"""Comparisons drawn from the long outcome table: an intervention arm against a control arm.

A comparison is what a pooled effect needs: for one outcome and time point,
pairs of arms from the same study, the intervention's over (or minus) the
control's.  What cannot be compared is never dropped silently: a study
outcome with no control arm, with dichotomous and continuous rows mixed, or
a continuous outcome without an SD becomes an :class:`Excluded` record with
the reason, which the paragraph names and ``evidence check`` reports.

Multi-arm trials: when one study gives two intervention arms against one
control arm (Shi 2003: acupuncture plus herbs, and acupuncture alone, both
against drugs), a pooled analysis of both pairs would count the control's
participants twice.  The shared arm's n and events are split evenly among
the pairs that use it (Cochrane Handbook 23.3.4), ``shared_control_split``
is set, and the comparison's notes say so.  Halves are kept (9 of 20, not
rounded), so the split arms add up to the real one.

Single-arm rates from the BibTeX shorthand (a case series' ``n`` and
``responders``) are not comparisons and are not excluded either: the
summary treats them as rates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping

from evidence.errors import Problem
from evidence.library.outcomes import records as table_records

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Arm:
    """One arm as it enters a comparison; ``n`` and ``events`` may be halves after a split."""

    label: str
    role: str  # "intervention" | "control"
    n: float | None
    events: float | None
    mean: float | None
    sd: float | None


@dataclass(frozen=True)
class StudyComparison:
    """One study's intervention arm against its control arm, for one outcome and time point."""

    key: str
    outcome: str
    timepoint: str
    kind: str  # "dichotomous" | "continuous"
    better: str  # "higher" | "lower"
    intervention: Arm
    control: Arm
    shared_control_split: bool  # an arm's n/events divided among this study's comparisons (Cochrane 23.3.4)
    design: str | None
    verified: bool
    data_source: str | None
    blinding: str | None


@dataclass(frozen=True)
class Excluded:
    """A study that cannot enter a comparison, and why (shown to readers, so in plain words)."""

    key: str
    reason: str  # e.g. "no events in either arm", "no control arm", "continuous outcome without an SD"
    outcome: str = ""
    timepoint: str = ""


@dataclass(frozen=True)
class Comparison:
    """The studies comparing one intervention with one comparator on one outcome and time point."""

    outcome: str
    timepoint: str
    kind: str
    better: str
    intervention: str
    comparator: str
    studies: tuple[StudyComparison, ...]
    excluded: tuple[Excluded, ...]
    notes: tuple[str, ...]


NO_CONTROL = "no control arm"
NO_INTERVENTION = "no intervention arm"
MIXED_KINDS = "mixed outcome kinds (dichotomous and continuous rows)"
NO_SD = "continuous outcome without an SD"
OTHER_KIND = "measured as {kind} here but as {majority} in the other studies of this outcome"
NO_N = "an arm without n"
NO_BETTER = "better not given, so which direction is good is unknown"
SPLIT_NOTE = (
    "{key}: the {label} arm is shared by {count} comparisons, so its n and events are split evenly "
    "among them (Cochrane Handbook 23.3.4)"
)


def comparisons(
    outcomes: "pd.DataFrame",
    studies: "pd.DataFrame",
    *,
    outcome: str | None = None,
    comparator: str | None = None,
    intervention: str | None = None,
) -> tuple[list[Comparison], list[Excluded]]:
    """Every comparison in ``outcomes``, and the study outcomes that cannot be compared.

    ``outcome`` keeps that outcome (case-insensitive).  ``comparator``
    keeps the control arms whose label contains it (case-insensitive), or,
    when no label does, all control arms of a study whose ``comparator``
    field does; ``intervention`` does the same for intervention arms.
    Without ``comparator`` each control-arm label makes its own comparison;
    with it, the matching arms form one, labelled with the text given.
    Studies that match no filter are simply not in the result; those that
    match but cannot be compared are in the excluded list and in each
    comparison of their outcome and time point.  Outcome names and time
    points are compared case-insensitively; the first spelling is kept.
    """
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    records = table_records(outcomes)
    study_info = _study_info(studies, {str(record["key"]) for record in records})
    for record in records:
        if outcome is not None and str(record["outcome"]).lower() != outcome.lower():
            continue
        # "Pain" and "pain", "8 Weeks" and "8 weeks" are one outcome and time point, as check treats them
        group = (str(record["key"]), str(record["outcome"]).lower(), str(record["timepoint"] or "").lower())
        groups.setdefault(group, []).append(record)
    excluded: list[Excluded] = []
    pairs: dict[tuple[str, str, str], list[tuple[StudyComparison, str]]] = {}
    labels: dict[tuple[str, str, str], tuple[str, str, str, str]] = {}
    for (key, _, _), rows in groups.items():
        name, timepoint = str(rows[0]["outcome"]), str(rows[0]["timepoint"] or "")
        info = study_info.get(key, {})
        found = _study_pairs(key, name, timepoint, rows, info, comparator, intervention)
        if isinstance(found, Excluded):
            excluded.append(found)
            continue
        for pair in found:
            group = (name.lower(), timepoint.lower(), (comparator or pair.control.label).lower())
            pairs.setdefault(group, []).append((pair, pair.intervention.label))
            labels.setdefault(group, (name, timepoint, pair.kind, comparator or pair.control.label))
    result = []
    for group, members in sorted(pairs.items()):
        name, timepoint, kind, comparator_label = labels[group]
        members = sorted(members, key=lambda member: member[0].key)  # stable: a study's arms keep their order
        studies_here, notes = _split_shared_arms([pair for pair, _ in members])
        interventions = list(dict.fromkeys(label for _, label in members))
        intervention_label = intervention or "; ".join(interventions)
        kinds = {s.kind for s in studies_here}
        others = [e for e in excluded if e.outcome.lower() == group[0] and e.timepoint.lower() == group[1]]
        if len(kinds) > 1:
            # the same outcome name measured two ways across studies: the kind most studies use is compared
            majority = max(sorted(kinds), key=lambda k: sum(s.kind == k for s in studies_here))
            minority = {s.key: s for s in studies_here if s.kind != majority}
            odd = [Excluded(key, OTHER_KIND.format(kind=s.kind, majority=majority), s.outcome, s.timepoint)
                   for key, s in minority.items()]  # fmt: skip
            others += odd
            excluded += [e for e in odd if e not in excluded]
            studies_here = [s for s in studies_here if s.kind == majority]
            kind = majority
        result.append(
            Comparison(
                outcome=name,
                timepoint=timepoint,
                kind=kind,
                better=studies_here[0].better,
                intervention=intervention_label,
                comparator=comparator_label,
                studies=tuple(studies_here),
                excluded=tuple(dict.fromkeys(others)),
                notes=tuple(notes),
            )
        )
    return result, excluded


def _study_pairs(
    key: str,
    outcome: str,
    timepoint: str,
    rows: list[Mapping[str, Any]],
    info: Mapping[str, Any],
    comparator: str | None,
    intervention: str | None,
) -> list[StudyComparison] | Excluded:
    """The pairs of one study outcome (before any split), or why there can be none."""
    import pandas as pd

    def missing(value: Any) -> bool:
        return value is None or bool(pd.isna(value))

    def excluded(reason: str) -> Excluded:
        return Excluded(key, reason, outcome, timepoint)

    controls = [r for r in rows if r["role"] == "control"]
    treated = [r for r in rows if r["role"] == "intervention"]
    kinds = {
        "dichotomous" if not missing(r["events"]) else "continuous"
        for r in rows
        if not missing(r["events"]) or not missing(r["mean"])
    }
    if len(kinds) > 1:
        return excluded(MIXED_KINDS)
    if not controls:
        # a single arm from the BibTeX shorthand is a rate, not a failed comparison
        return [] if all(r["source"] == "bib" for r in rows) else excluded(NO_CONTROL)
    if not treated:
        return excluded(NO_INTERVENTION)
    controls = _chosen(controls, comparator, info.get("comparator"))
    treated = _chosen(treated, intervention, info.get("intervention"))
    if not controls or not treated:
        return []
    kind = kinds.pop() if kinds else None
    if kind is None:
        return []
    chosen = treated + controls
    if kind == "continuous" and any(missing(r["sd"]) or missing(r["mean"]) for r in chosen):
        return excluded(NO_SD)
    if any(missing(r["n"]) for r in chosen) or (kind == "dichotomous" and any(missing(r["events"]) for r in chosen)):
        return excluded(NO_N)
    better = next((str(r["better"]) for r in rows if not missing(r["better"])), None)
    if better is None:
        return excluded(NO_BETTER)
    verified = all(not missing(r["verified_by"]) for r in chosen)
    source = next((str(r["data_source"]) for r in chosen if not missing(r["data_source"])), None)
    return [
        StudyComparison(
            key=key,
            outcome=outcome,
            timepoint=timepoint,
            kind=kind,
            better=better,
            intervention=_arm(t),
            control=_arm(c),
            shared_control_split=False,
            design=info.get("design"),
            verified=verified,
            data_source=source or info.get("data_source"),
            blinding=info.get("blinding"),
        )
        for t in treated
        for c in controls
    ]


def _arm(record: Mapping[str, Any]) -> Arm:
    import pandas as pd

    def number(name: str) -> float | None:
        value = record[name]
        return None if value is None or pd.isna(value) else float(value)

    return Arm(str(record["arm"]), str(record["role"]), number("n"), number("events"), number("mean"), number("sd"))


def _split_shared_arms(pairs: list[StudyComparison]) -> tuple[list[StudyComparison], list[str]]:
    """Divide the n and events of an arm used by several pairs of one study evenly among them."""
    uses: dict[tuple[str, str, str], int] = {}
    for pair in pairs:
        for arm in (pair.intervention, pair.control):
            uses[(pair.key, arm.role, arm.label)] = uses.get((pair.key, arm.role, arm.label), 0) + 1
    notes = [
        SPLIT_NOTE.format(key=key, label=label, count=count) for (key, role, label), count in uses.items() if count > 1
    ]
    result = []
    for pair in pairs:
        counts = [uses[(pair.key, arm.role, arm.label)] for arm in (pair.intervention, pair.control)]
        if max(counts) == 1:
            result.append(pair)
            continue
        result.append(
            replace(
                pair,
                intervention=_divided(pair.intervention, counts[0]),
                control=_divided(pair.control, counts[1]),
                shared_control_split=True,
            )
        )
    return result, notes


def _divided(arm: Arm, count: int) -> Arm:
    if count == 1:
        return arm
    return replace(
        arm,
        n=None if arm.n is None else arm.n / count,
        events=None if arm.events is None else arm.events / count,
    )


def _chosen(rows: list[Mapping[str, Any]], text: str | None, field: Any) -> list[Mapping[str, Any]]:
    """The arms whose label contains ``text``; failing that, all of them if the study's field does."""
    if not text:
        return rows
    by_label = [r for r in rows if text.lower() in str(r["arm"]).lower()]
    if by_label:
        return by_label
    return rows if _matches(text, field) else []


def _matches(text: str, values: Any) -> bool:
    if not isinstance(values, (list, tuple)):
        return False
    return any(text.lower() in str(v).lower() for v in values)


def _study_info(studies: "pd.DataFrame", keys: "set[str]") -> dict[str, dict[str, Any]]:
    """Per key in ``keys``: design, blinding, data source, intervention and comparator (``None`` where unknown)."""
    import pandas as pd

    if studies is None or len(studies) == 0 or "key" not in studies.columns:
        return {}
    info: dict[str, dict[str, Any]] = {}
    names = ("design", "blinding", "data_source", "intervention", "comparator")
    chosen = studies[studies["key"].astype(str).isin(keys)]
    for record in table_records(chosen, ["key", *[n for n in names if n in chosen.columns]]):
        values: dict[str, Any] = {}
        for name in names:
            value = record.get(name)
            if isinstance(value, (list, tuple)):
                values[name] = list(value)
            else:
                values[name] = None if value is None or pd.isna(value) else str(value)
        info[str(record["key"])] = values
    return info


def excluded_problems(outcomes: "pd.DataFrame", studies: "pd.DataFrame") -> list[Problem]:
    """The comparisons that cannot be made, as warnings at the first row of each study outcome.

    Mixed kinds are left out: the table's own check reports them as errors.
    Only outcome-table rows are looked at: what can go wrong with the
    shorthand's two arms (responders without n) the .bib check reports.
    """
    import pandas as pd

    outcomes = outcomes[outcomes["source"] == "csv"]
    _, excluded = comparisons(outcomes, studies)
    first: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for record in table_records(outcomes):
        first.setdefault((str(record["key"]), str(record["outcome"]), str(record["timepoint"] or "")), record)
    problems = []
    for item in excluded:
        if item.reason == MIXED_KINDS:
            continue
        found = first[(item.key, item.outcome, item.timepoint)]
        where = f" at {item.timepoint}" if item.timepoint else ""
        line = None if pd.isna(found["line"]) else int(found["line"])
        message = f"{item.outcome!r}{where} cannot be compared: {item.reason}"
        problems.append(Problem(str(found["file"]), line, item.key, "warning", message))
    return problems
