"""A study's arms as the audit sees them: label, role, n, events, mean, sd.

Pages name arms by their labels ("In the sham group, 53% responded", "no
better than usual care"), so the audit matches a claim to an arm by label,
not only by the word "control".  The arms come from one place,
:func:`arms_for`, as :class:`ArmSet` lists (the arms of one outcome at one
time point):

* when the long outcome table (``*.outcomes.csv``; see
  :mod:`evidence.library.outcomes`) has rows for the study, one set per
  outcome and time point, with as many arms as the CSV gives (a three-arm
  trial is three arms) and each arm's own ``verified_by``/``data_source``;
* else one set, the outcome "response", from the entry's shorthand fields
  (:func:`arms_from_entry`: ``n``/``responders`` for the intervention,
  ``control_n``/``control_responders`` for the control,
  ``intervention``/``comparator`` for the labels).  The outcome table's rows
  with ``source`` "bib" are this same shorthand; the audit reads it from the
  entry, which also keeps a recorded rate without counts and comparator
  labels without numbers.

A comparator field may name more arms than are recorded ("sham acupuncture;
conventional therapy" with one control arm's numbers): the extra labels
become arms with no numbers, so a total over all arms knows what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

from evidence.grammar import arm_label

if TYPE_CHECKING:
    import pandas as pd

Role = Literal["intervention", "control"]


@dataclass(frozen=True)
class RecordedArm:
    """One arm of a study.  ``label`` is as recorded ("sham acupuncture"); ``kind`` its canonical label
    (:data:`evidence.grammar.ARM_LABELS`: "sham", "placebo", ...) or None for an active treatment."""

    label: str
    role: Role
    n: int | None = None
    events: int | None = None
    rate: float | None = None
    mean: float | None = None
    sd: float | None = None
    #: for arms from the outcome table: who verified the row and whether it is a primary or secondary source
    verified_by: str | None = None
    data_source: str | None = None

    @property
    def kind(self) -> str | None:
        return arm_label(self.label)

    @property
    def event_rate(self) -> float | None:
        """Percent with the event: events / n, else the recorded rate."""
        if self.n and self.events is not None:
            return 100.0 * self.events / self.n
        return self.rate


@dataclass(frozen=True)
class ArmSet:
    """The arms of one outcome at one time point: what a claim about a rate, a comparison or a total is
    judged against.  ``source`` is "csv" (the outcome table) or "bib" (the entry's shorthand)."""

    outcome: str
    timepoint: str
    definition: str | None
    arms: tuple[RecordedArm, ...]
    source: Literal["csv", "bib"]

    @property
    def name(self) -> str:
        """The outcome as a reason names it: "cure at 6 months"."""
        return f"{self.outcome} at {self.timepoint}" if self.timepoint else self.outcome


#: The outcome table's arm sets by study key (:func:`outcome_arms`), built once per audit run.
ArmLookup = Mapping[str, tuple[ArmSet, ...]]


def is_missing(value: Any) -> bool:
    """None, NaN or pandas' NA (the table's empty cells)."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float) and value != value


def _number(value: Any) -> float | None:
    if is_missing(value) or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _labels(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str) and value.strip():
        return [part.strip() for part in value.split(";") if part.strip()]
    return []


def arms_from_entry(row: Mapping[str, Any]) -> tuple[RecordedArm, ...]:
    """The arms an entry records: the intervention arm, then one control arm per comparator label.

    Only the first comparator carries ``control_n``/``control_responders``; the others are arms
    known by name only.  An entry with no comparator and no control numbers has one arm.
    """

    def count(name: str) -> int | None:
        value = _number(row.get(name))
        return int(value) if value is not None else None

    interventions = _labels(row.get("intervention"))
    comparators = _labels(row.get("comparator"))
    rate = _number(row.get("response_rate"))
    bound = row.get("response_rate_bound")
    arms = [
        RecordedArm(
            " + ".join(interventions) or "intervention",
            "intervention",
            count("n"),
            count("responders"),
            rate if is_missing(bound) or bound in ("", "=") else None,
        )
    ]
    control_numbers = (count("control_n"), count("control_responders"), _number(row.get("control_response_rate")))
    if comparators or any(v is not None for v in control_numbers):
        first = comparators[0] if comparators else "control"
        arms.append(RecordedArm(first, "control", *control_numbers))
        arms += [RecordedArm(label, "control") for label in comparators[1:]]
    return tuple(arms)


def outcome_arms(outcomes: "pd.DataFrame | None") -> dict[str, tuple[ArmSet, ...]]:
    """The outcome table's CSV rows as arm sets per study, in the order the CSV gives them.

    Rows with ``source`` "bib" are left out: they repeat the shorthand, which :func:`arms_for` reads from
    the entry itself.
    """
    if outcomes is None or len(outcomes) == 0:
        return {}
    from evidence.library.outcomes import records

    rows = records(outcomes[outcomes["source"] == "csv"])
    grouped: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for record in rows:
        outcome, timepoint = str(record["outcome"]), str(record["timepoint"] or "")
        grouped.setdefault(str(record["key"]), {}).setdefault((outcome, timepoint), []).append(record)
    found: dict[str, tuple[ArmSet, ...]] = {}
    for key, sets in grouped.items():
        found[key] = tuple(_arm_set(outcome, timepoint, records_) for (outcome, timepoint), records_ in sets.items())
    return found


def _arm_set(outcome: str, timepoint: str, rows: Sequence[Mapping[str, Any]]) -> ArmSet:
    def text(value: Any) -> str | None:
        return None if is_missing(value) or not str(value).strip() else str(value)

    def count(value: Any) -> int | None:
        number = _number(value)
        return None if number is None else int(number)

    arms = tuple(
        RecordedArm(
            str(row["arm"]),
            "control" if row["role"] == "control" else "intervention",
            count(row["n"]),
            count(row["events"]),
            mean=_number(row["mean"]),
            sd=_number(row["sd"]),
            verified_by=text(row["verified_by"]),
            data_source=text(row["data_source"]),
        )
        for row in rows
    )
    definition = next((text(row["definition"]) for row in rows if text(row["definition"])), None)
    return ArmSet(outcome, timepoint, definition, arms, "csv")


def arms_for(row: Mapping[str, Any], lookup: ArmLookup | None) -> tuple[ArmSet, ...]:
    """The arm sets of the study in ``row``: the outcome table's when it has any for the key, else the one
    set of the shorthand (the outcome "response", defined by ``response_definition``).  The one function the
    judges ask for arms, so every claim about a study sees the same arms."""
    sets = lookup.get(str(row.get("key"))) if lookup else None
    if sets:
        return sets
    definition = row.get("response_definition")
    return (ArmSet("response", "", definition if isinstance(definition, str) else None, arms_from_entry(row), "bib"),)


def select_arm(arms: Sequence[RecordedArm], label: str | None) -> tuple[RecordedArm | None, str]:
    """The arm a page's label names ("sham", "placebo", "control", or None for the treatment), and why not
    when none fits.  "control" names the one control arm; a specific label must match an arm's label, or
    be the only control arm's label when the comparator is not recorded."""
    if label is None:
        treated = [a for a in arms if a.role == "intervention"]
        if len(treated) > 1:
            shown = ", ".join(a.label for a in treated)
            return None, f"{len(treated)} treatment arms ({shown}): which is meant is unclear"
        return (treated[0] if treated else None), ""
    if label.startswith("label:"):
        # an arm named by its recorded label ("chondroitin sulfate"), as the judge found it in the clause
        wanted = label.removeprefix("label:")
        return next((a for a in arms if a.label == wanted), None), f"no arm is labelled {wanted}"
    controls = [a for a in arms if a.role == "control"]
    if label == "control":
        with_numbers = [a for a in controls if a.n is not None or a.rate is not None]
        if len(controls) == 1 or len(with_numbers) == 1:
            return (with_numbers or controls)[0], ""
        if not controls:
            return None, "no control arm is recorded"
        return None, f"{len(controls)} control arms ({', '.join(a.label for a in controls)}): which is meant is unclear"
    named = [a for a in arms if a.kind == label]
    if len(named) == 1:
        return named[0], ""
    if len(named) > 1:
        return None, f"{len(named)} arms are {label}"
    if len(controls) == 1 and controls[0].label == "control":
        return None, f"the control arm's label is not recorded (comparator), so it is not known to be {label}"
    shown = ", ".join(a.label for a in arms)
    return None, f"no arm is labelled {label} (arms: {shown})"
