"""The long outcome table: one row per study x outcome x time point x arm.

Skeleton of the interface shared with the pages stage; filled in below.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from evidence.errors import Problem

if TYPE_CHECKING:
    import pandas as pd

OUTCOME_COLUMNS = (
    "key", "outcome", "timepoint", "arm", "role", "n", "events", "mean", "sd", "better",
    "definition", "extracted_from", "extracted_by", "verified_by", "verified_on", "data_source",
)
#: Columns the loader adds: where each row came from.
PROVENANCE_COLUMNS = ("file", "line", "source")
TABLE_COLUMNS = OUTCOME_COLUMNS + PROVENANCE_COLUMNS
OUTCOMES_SUFFIX = ".outcomes.csv"


def find_outcome_files(paths: Iterable[Path | str]) -> list[Path]:
    raise NotImplementedError


def load_outcomes(paths: Iterable[Path | str], studies: "pd.DataFrame") -> tuple["pd.DataFrame", list[Problem]]:
    raise NotImplementedError


def check_outcomes_table(outcomes: "pd.DataFrame", studies: "pd.DataFrame") -> list[Problem]:
    raise NotImplementedError
