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
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from evidence.errors import Problem

if TYPE_CHECKING:
    import pandas as pd

    from evidence.library.table import TableResult

#: Titles at least this similar (difflib ratio, after normalising) are likely the same paper.
TITLE_SIMILARITY = 0.9
_NON_WORD = re.compile(r"[\W_]+")


def check_library(result: "TableResult", refs: "Iterable[Path | str] | None" = None) -> list[Problem]:
    """All problems, ordered by file and line so the report reads like the files.

    ``refs`` are the library paths as given (folders, .bib or outcome CSV
    files); the outcome tables under them are checked too.  Without them,
    the folders of the loaded .bib files are searched.
    """
    from evidence.library.outcomes import outcome_problems

    problems = list(result.problems)
    problems += outcome_problems(refs if refs is not None else {f.parent for f in result.files}, result.table)
    problems += duplicate_identifiers(result.table, "doi")
    problems += duplicate_identifiers(result.table, "pmid")
    problems += likely_duplicates(result.table)
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.key or "", p.message))


def duplicate_identifiers(table: "pd.DataFrame", column: str) -> list[Problem]:
    """Entries sharing a DOI (case-insensitive) or PMID; each later one is reported."""
    values = table[column].dropna().astype(str).str.strip().str.lower()
    repeated = values[values.duplicated(keep=False)]
    first_key = {value: key for key, value in reversed(list(repeated.items()))}
    problems = []
    for key, value in repeated.items():
        first = table.loc[first_key[value]]
        if first["key"] != key:
            row = table.loc[key]
            problems.append(_problem(row, "error", f"same {column.upper()} {row[column]} as {first['key']} ({_where(first)})"))
    return problems


def normalised_title(title: object) -> str:
    return _NON_WORD.sub(" ", str(title).lower()).strip() if isinstance(title, str) else ""


def likely_duplicates(table: "pd.DataFrame") -> list[Problem]:
    """Same first author and year with near-identical titles: warn about the later entry.

    Only entries that share (author, year) with another are compared, so the
    pairwise title comparison stays cheap on large libraries.
    """
    subset = table[table["first_author"].notna() & table["year"].notna() & table["title"].notna()]
    group = subset["first_author"].str.lower() + "\0" + subset["year"].astype(str)
    subset = subset[group.duplicated(keep=False)]
    problems = []
    for _, rows in subset.groupby(group[subset.index], sort=False):
        titles = [normalised_title(t) for t in rows["title"]]
        words = [set(t.split()) for t in titles]
        for i in range(1, len(titles)):
            for j in range(i):
                # word overlap first: cheap, and titles 90% alike by characters share most words
                if len(words[i] & words[j]) * 2 < max(len(words[i]), len(words[j])):
                    continue
                matcher = difflib.SequenceMatcher(None, titles[j], titles[i])
                if matcher.quick_ratio() < TITLE_SIMILARITY or matcher.ratio() < TITLE_SIMILARITY:
                    continue
                ratio = matcher.ratio()
                earlier, later = rows.iloc[j], rows.iloc[i]
                if not _same_identifier(earlier, later):
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
