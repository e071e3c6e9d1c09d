"""A study's arms as the audit sees them: label, role, n, events, mean, sd.

Pages name arms by their labels ("In the sham group, 53% responded", "no
better than usual care"), so the audit matches a claim to an arm by label,
not only by the word "control".  The arms come from one place,
:func:`arms_from_entry`, which reads an entry's shorthand fields today
(``n``/``responders`` for the intervention, ``control_n``/``control_responders``
for the control, ``intervention``/``comparator`` for the labels).  The long
outcome table (one row per study x outcome x time point x arm) can feed the
same :class:`RecordedArm` list later; everything after it is unchanged.

A comparator field may name more arms than are recorded ("sham acupuncture;
conventional therapy" with one control arm's numbers): the extra labels
become arms with no numbers, so a total over all arms knows what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from evidence.grammar import arm_label

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

    @property
    def kind(self) -> str | None:
        return arm_label(self.label)

    @property
    def event_rate(self) -> float | None:
        """Percent with the event: events / n, else the recorded rate."""
        if self.n and self.events is not None:
            return 100.0 * self.events / self.n
        return self.rate


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


def select_arm(arms: Sequence[RecordedArm], label: str | None) -> tuple[RecordedArm | None, str]:
    """The arm a page's label names ("sham", "placebo", "control", or None for the treatment), and why not
    when none fits.  "control" names the one control arm; a specific label must match an arm's label, or
    be the only control arm's label when the comparator is not recorded."""
    if label is None:
        return next((a for a in arms if a.role == "intervention"), None), ""
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
