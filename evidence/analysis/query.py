"""Filters over the evidence table.

A query is a :class:`Filters` value applied to the table; the result is a
smaller table with the same columns, so every later stage (output formats,
summaries, exports) works on a query result exactly as on the whole library.

Text matching is deliberately forgiving in one way and strict in another:
case and plural ``s`` are ignored (``restless leg`` finds ``restless legs
syndrome``), but every word of the query must be present, so a query never
silently widens to unrelated studies.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

from evidence.errors import EvidenceError
from evidence.library.table import COLUMNS, OUTCOME_NUMBER_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

_WORD = re.compile(r"[^\W_]+")
SEARCH_COLUMNS = ("title", "abstract", "keywords")


@dataclass(frozen=True)
class Filters:
    """What to keep; ``None`` or empty means no constraint."""

    condition: str | None = None
    intervention: str | None = None
    design: tuple[str, ...] = ()
    country: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    min_n: int | None = None
    has_outcome: bool = False
    #: keys with rows in an outcome table (``*.outcomes.csv``), which ``has_outcome`` also keeps
    outcome_keys: frozenset[str] = frozenset()
    search: str | None = None
    keys: tuple[str, ...] = field(default_factory=tuple)

    def columns(self) -> set[str]:
        """The table columns these filters read (as :func:`apply_filters` applies them).

        A command then loads just those from the cache.
        """
        used = {
            ("key",): bool(self.keys),
            ("condition",): bool(self.condition),
            ("intervention",): bool(self.intervention),
            ("design",): bool(self.design),
            ("country",): bool(self.country),
            ("year",): self.year_from is not None or self.year_to is not None,
            ("n",): self.min_n is not None,
            OUTCOME_NUMBER_COLUMNS: self.has_outcome,
            SEARCH_COLUMNS: bool(self.search),
        }
        return {"key"}.union(*(columns for columns, applies in used.items() if applies))


def words(text: str) -> tuple[str, ...]:
    """Lower-case words with a plural ``s`` dropped: the unit text matching compares."""
    return tuple(_singular(w) for w in _WORD.findall(text.lower()))


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def text_matches(query: str, value: str) -> bool:
    """Whether every word of ``query`` appears, in order, as a run of words in ``value``."""
    wanted, have = words(query), words(value)
    if not wanted:
        return True
    size = len(wanted)
    return any(have[i : i + size] == wanted for i in range(len(have) - size + 1))


def apply_filters(table: "pd.DataFrame", filters: Filters) -> "pd.DataFrame":
    """The rows of ``table`` that pass every filter, in their original order."""
    import pandas as pd

    mask = pd.Series(True, index=table.index)
    if filters.keys:
        mask &= table["key"].isin(filters.keys)
    if filters.condition:
        mask &= _matching_cells(table["condition"], filters.condition)
    if filters.intervention:
        mask &= _matching_cells(table["intervention"], filters.intervention)
    if filters.design:
        mask &= table["design"].isin(filters.design).astype(bool)
    if filters.country:
        mask &= _matching_cells(table["country"], filters.country)
    if filters.year_from is not None:
        mask &= (table["year"] >= filters.year_from).fillna(False).astype(bool)
    if filters.year_to is not None:
        mask &= (table["year"] <= filters.year_to).fillna(False).astype(bool)
    if filters.min_n is not None:
        mask &= (table["n"] >= filters.min_n).fillna(False).astype(bool)
    if filters.has_outcome:
        mask &= table[list(OUTCOME_NUMBER_COLUMNS)].notna().any(axis=1) | table.index.isin(filters.outcome_keys)
    if filters.search:
        mask &= _search_mask(table, filters.search)
    return table[mask]


def _matching_cells(column: "pd.Series", query: str) -> "pd.Series":
    """Which cells of a text or list column match ``query`` (see :func:`text_matches`).

    A library of 50,000 entries names a few hundred distinct conditions, so
    each distinct value is matched once and the verdicts are looked up.
    """
    import pandas as pd

    verdicts: dict[str, bool] = {}

    def matches(value: str) -> bool:
        verdict = verdicts.get(value)
        if verdict is None:
            verdict = verdicts[value] = text_matches(query, value)
        return verdict

    def cell_matches(cell: object) -> bool:
        if isinstance(cell, str):
            return matches(cell)
        if not cell or not isinstance(cell, (list, tuple)):
            return False
        return any(matches(item) for item in cell)

    return pd.Series([cell_matches(cell) for cell in column.tolist()], index=column.index, dtype=bool)


def _search_mask(table: "pd.DataFrame", text: str) -> "pd.Series":
    """Case-insensitive substring search over title, abstract and keywords."""
    needle = text.lower()
    haystack = (
        table["title"].fillna("")
        + "\n"
        + table["abstract"].fillna("")
        + "\n"
        + table["keywords"].map(lambda v: "; ".join(v) if isinstance(v, list) else "")
    )
    return haystack.str.lower().str.contains(needle, regex=False)


def check_columns(names: Iterable[str]) -> list[str]:
    """Validate column names given by a user; unknown ones get the closest names."""
    names = list(names)
    for name in names:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise EvidenceError(f"unknown column {name!r}{hint}; columns are: {', '.join(COLUMNS)}")
    return names


def query_columns(filters: Filters, sort: Sequence[str], shown: Iterable[str]) -> set[str]:
    """Every column a query needs: those it shows, filters on and sorts by (``-`` prefixes dropped)."""
    return set(shown) | filters.columns() | set(check_columns(name.lstrip("-") for name in sort))


def sort_table(table: "pd.DataFrame", by: Sequence[str]) -> "pd.DataFrame":
    """Sort by columns; a leading ``-`` sorts that column descending. Missing values go last."""
    if not by:
        return table
    names = check_columns(name.lstrip("-") for name in by)
    ascending = [not name.startswith("-") for name in by]
    sortable = table.copy()
    keys = [f"__sort_{i}" for i in range(len(names))]
    for key, name in zip(keys, names):
        column = sortable[name]
        sortable[key] = column.map(_sort_key) if column.dtype == object else column
    result = sortable.sort_values(keys, ascending=ascending, na_position="last", kind="stable")
    return result.drop(columns=keys)


def _sort_key(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def known_values(table: "pd.DataFrame", column: str) -> list[str]:
    """The distinct values of a list column (e.g. every condition), sorted."""
    values: set[str] = set()
    for cell in table[column]:
        if isinstance(cell, list):
            values.update(cell)
    return sorted(values, key=str.lower)


def closest(word: str, choices: Iterable[str], n: int = 5) -> list[str]:
    """The choices closest to ``word``, closest first (for 'did you mean' hints)."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    return [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.3)]
