"""Comparisons drawn from the long outcome table: an intervention arm against a control arm.

Skeleton of the interface shared with the pages stage; filled in below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Arm:
    label: str
    role: str  # "intervention" | "control"
    n: float | None  # may be a half after a shared control is split
    events: float | None
    mean: float | None
    sd: float | None


@dataclass(frozen=True)
class StudyComparison:
    key: str
    outcome: str
    timepoint: str
    kind: str  # "dichotomous" | "continuous"
    better: str  # "higher" | "lower"
    intervention: Arm
    control: Arm
    shared_control_split: bool
    design: str | None
    verified: bool
    data_source: str | None
    blinding: str | None


@dataclass(frozen=True)
class Excluded:
    key: str
    reason: str


@dataclass(frozen=True)
class Comparison:
    outcome: str
    timepoint: str
    kind: str
    better: str
    intervention: str
    comparator: str
    studies: tuple[StudyComparison, ...]
    excluded: tuple[Excluded, ...]
    notes: tuple[str, ...]


def comparisons(
    outcomes: "pd.DataFrame",
    studies: "pd.DataFrame",
    *,
    outcome: str | None = None,
    comparator: str | None = None,
    intervention: str | None = None,
) -> tuple[list[Comparison], list[Excluded]]:
    raise NotImplementedError
