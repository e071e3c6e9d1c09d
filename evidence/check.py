"""``evidence check``: every problem in the library, as records.

Problems with one entry on its own (unparsable blocks, bad field values, the
rules across outcome fields, missing required fields) are found while the
table is built; this module adds the checks that compare entries with each
other: the same DOI or PMID twice, and likely duplicates (same first author
and year, near-identical title).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable

from evidence.errors import Problem

if TYPE_CHECKING:
    import pandas as pd

    from evidence.table import TableResult

#: Titles at least this similar (difflib ratio, after normalising) are likely the same paper.
TITLE_SIMILARITY = 0.9
_NON_WORD = re.compile(r"[\W_]+")


def check_library(result: "TableResult") -> list[Problem]:
    """All problems, ordered by file and line so the report reads like the files."""
    problems = list(result.problems)
    problems += duplicate_identifiers(result.table, "doi")
    problems += duplicate_identifiers(result.table, "pmid")
    problems += likely_duplicates(result.table)
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.key or "", p.message))


def duplicate_identifiers(table: "pd.DataFrame", column: str) -> list[Problem]:
    """Entries sharing a DOI (case-insensitive) or PMID; each later one is reported."""
    seen: dict[str, "pd.Series"] = {}
    problems = []
    for _, row in table[table[column].notna()].iterrows():
        value = str(row[column]).strip().lower()
        first = seen.setdefault(value, row)
        if first is not row and first["key"] != row["key"]:
            problems.append(
                _problem(row, "error", f"same {column.upper()} {row[column]} as {first['key']} ({_where(first)})")
            )
    return problems


def normalised_title(title: object) -> str:
    return _NON_WORD.sub(" ", str(title).lower()).strip() if isinstance(title, str) else ""


def likely_duplicates(table: "pd.DataFrame") -> list[Problem]:
    """Same first author and year with near-identical titles: warn about the later entry.

    Entries are grouped by (author, year) first, so the pairwise title
    comparison stays cheap on large libraries.
    """
    groups: dict[tuple[str, int], list["pd.Series"]] = defaultdict(list)
    subset = table[table["first_author"].notna() & table["year"].notna() & table["title"].notna()]
    for _, row in subset.iterrows():
        groups[(str(row["first_author"]).lower(), int(row["year"]))].append(row)
    problems = []
    for rows in groups.values():
        for i, later in enumerate(rows[1:], start=1):
            for earlier in rows[:i]:
                ratio = difflib.SequenceMatcher(
                    None, normalised_title(earlier["title"]), normalised_title(later["title"])
                ).ratio()
                if ratio >= TITLE_SIMILARITY and not _same_identifier(earlier, later):
                    message = (
                        f"likely duplicate of {earlier['key']} ({_where(earlier)}): same first author "
                        f"and year, titles {ratio:.0%} alike"
                    )
                    problems.append(_problem(later, "warning", message))
                    break
    return problems


def _same_identifier(a: "pd.Series", b: "pd.Series") -> bool:
    """Pairs already reported as the same DOI or PMID are not reported again."""
    import pandas as pd

    return any(
        not pd.isna(a[c]) and not pd.isna(b[c]) and str(a[c]).lower() == str(b[c]).lower() for c in ("doi", "pmid")
    )


def _where(row: "pd.Series") -> str:
    return f"{row['source_file']}:{row['source_line']}"


def _problem(row: "pd.Series", severity: str, message: str) -> Problem:
    return Problem(str(row["source_file"]), int(row["source_line"]), str(row["key"]), severity, message)  # type: ignore[arg-type]


def exit_status(problems: Iterable[Problem], strict: bool) -> int:
    """0 clean, 1 warnings only (when ``strict``), 2 any error."""
    problems = list(problems)
    if any(p.severity == "error" for p in problems):
        return 2
    if strict and problems:
        return 1
    return 0
