"""``evidence check``: every problem in the library, as records.

Problems with one entry on its own (unparsable blocks, bad field values, the
rules across outcome fields, missing required fields) are found while the
table is built; this module adds the checks that compare entries with each
other: the same DOI or PMID twice, and likely duplicates (same first author
and year, near-identical title), found through a word index rather than by
comparing every pair.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from evidence.errors import Problem

if TYPE_CHECKING:
    import numpy as np
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
            problems.append(
                _problem(row, "error", f"same {column.upper()} {row[column]} as {first['key']} ({_where(first)})")
            )
    return problems


def normalised_title(title: object) -> str:
    return _NON_WORD.sub(" ", str(title).lower()).strip() if isinstance(title, str) else ""


def likely_duplicates(table: "pd.DataFrame") -> list[Problem]:
    """Same first author and year with near-identical titles: warn about the later entry.

    The result is exactly that of :func:`likely_duplicates_exhaustive` (a
    property test holds them equal), found in time close to linear in the
    library's size: a word index over each (author, year) group gives, in one
    sparse matrix product, the number of title words every pair shares, and
    only pairs that share enough words, have similar lengths and similar
    letters (difflib's ``quick_ratio``, computed for all of them at once) are
    compared with difflib.  Comparing every pair within a group, as the
    exhaustive function does, grows with the square of the group's size:
    at 200,000 entries that was 17.9 million comparisons.
    """
    import numpy as np

    subset = table[table["first_author"].notna() & table["year"].notna() & table["title"].notna()]
    group = subset["first_author"].str.lower() + "\0" + subset["year"].astype(str)
    subset = subset[group.duplicated(keep=False)]
    if subset.empty:
        return []
    codes = group[subset.index].factorize(sort=False)[0]  # groups numbered in order of first appearance
    order = np.argsort(codes, kind="stable")  # rows of a group together, each group in table order
    codes = codes[order]
    titles = [normalised_title(t) for t in subset["title"].to_numpy()[order]]
    words = [set(t.split()) for t in titles]
    rows = subset.iloc[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    found: dict[int, tuple[int, float]] = {}
    masks: dict[int, dict[str, int]] = {}
    for first, last in _batches(starts, ends):
        for later, earlier in _candidate_pairs(titles[first:last], words[first:last], codes[first:last]):
            later, earlier = later + first, earlier + first
            if later in found:
                continue
            title, other = titles[later], titles[earlier]
            if earlier not in masks:
                masks[earlier] = _letter_masks(other)
            common = _common_subsequence_length(masks[earlier], len(other), title)
            if 2.0 * common < TITLE_SIMILARITY * (len(title) + len(other)) - _SLACK:
                continue  # difflib's matches are a common subsequence, so its ratio is no higher
            matcher = difflib.SequenceMatcher(None, titles[earlier], titles[later])
            if matcher.quick_ratio() < TITLE_SIMILARITY or matcher.ratio() < TITLE_SIMILARITY:
                continue
            if not _same_identifier(rows.iloc[earlier], rows.iloc[later]):
                found[later] = (earlier, matcher.ratio())
    problems = []
    for later in sorted(found):
        earlier, ratio = found[later]
        earlier_row, later_row = rows.iloc[earlier], rows.iloc[later]
        message = (
            f"likely duplicate of {earlier_row['key']} ({_where(earlier_row)}): same first author "
            f"and year, titles {ratio:.0%} alike"
        )
        problems.append(_problem(later_row, "warning", message))
    return problems


#: Largest number of within-group pairs handled by one sparse product (bounds memory).
_PAIRS_PER_BATCH = 4_000_000
#: Largest number of rows in one batch (bounds the letter-count matrix).
_ROWS_PER_BATCH = 10_000


def _batches(starts: "np.ndarray", ends: "np.ndarray") -> Iterator[tuple[int, int]]:
    """Runs of whole groups, as (first row, end row), each small enough to compare at once."""
    first, pairs = int(starts[0]), 0
    for start, end in zip(starts.tolist(), ends.tolist()):
        size = end - start
        if start > first and (pairs + size * size > _PAIRS_PER_BATCH or end - first > _ROWS_PER_BATCH):
            yield first, start
            first, pairs = start, 0
        pairs += size * size
    yield first, int(ends[-1])


def _candidate_pairs(titles: list[str], words: list[set[str]], codes: "np.ndarray") -> list[tuple[int, int]]:
    """(later, earlier) pairs of rows in one group that pass the exhaustive search's cheap tests.

    Those tests, all exact: the titles share at least half the words of the
    longer one; the lengths allow a difflib ratio of 0.9 (``real_quick_ratio``);
    the letters do (``quick_ratio``).  Each word is indexed under its group,
    so rows of different groups never meet; a title without words is indexed
    under an empty word, so that two such titles are compared, as they are
    exhaustively.  Pairs come sorted by the later row, then the earlier.
    """
    import numpy as np
    from scipy import sparse

    vocabulary: dict[tuple[int, str], int] = {}
    row_ids, column_ids = [], []
    for row, (code, title_words) in enumerate(zip(codes.tolist(), words)):
        for word in title_words or ("",):
            row_ids.append(row)
            column_ids.append(vocabulary.setdefault((code, word), len(vocabulary)))
    ones = np.ones(len(row_ids), dtype=np.int32)
    incidence = sparse.csr_matrix((ones, (row_ids, column_ids)), shape=(len(titles), len(vocabulary)))
    shared = sparse.tril(incidence @ incidence.T, k=-1).tocoo()  # row > column: later row, earlier row
    later, earlier, overlap = shared.row, shared.col, shared.data
    sizes = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
    overlap = np.where(sizes[later] == 0, 0, overlap)  # the empty word is no shared word
    keep = overlap * 2 >= np.maximum(sizes[later], sizes[earlier])
    later, earlier = later[keep], earlier[keep]
    lengths = np.fromiter((len(t) for t in titles), dtype=np.int64, count=len(titles))
    total = lengths[later] + lengths[earlier]
    bound = _ratio(2.0 * np.minimum(lengths[later], lengths[earlier]), total)
    keep = bound >= TITLE_SIMILARITY - _SLACK
    later, earlier, total = later[keep], earlier[keep], total[keep]
    if len(later):
        letters = _letter_counts(titles, np.unique(np.r_[later, earlier]))
        common = np.minimum(letters[later], letters[earlier]).sum(axis=1)
        keep = _ratio(2.0 * common, total) >= TITLE_SIMILARITY - _SLACK
        later, earlier = later[keep], earlier[keep]
    order = np.lexsort((earlier, later))
    return list(zip(later[order].tolist(), earlier[order].tolist()))


#: The vectorised bounds keep pairs a hair below the threshold; difflib then decides exactly.
_SLACK = 1e-9


def _ratio(matches: "np.ndarray", total: "np.ndarray") -> "np.ndarray":
    """difflib's ``2 * matches / total``, 1.0 for two empty strings."""
    import numpy as np

    return np.divide(matches, total, out=np.ones(len(total)), where=total > 0)


def _letter_masks(a: str) -> dict[str, int]:
    """Each letter of ``a`` -> the bits of its positions, for :func:`_common_subsequence_length`."""
    masks: dict[str, int] = {}
    for position, letter in enumerate(a):
        masks[letter] = masks.get(letter, 0) | 1 << position
    return masks


def _common_subsequence_length(masks: dict[str, int], length: int, b: str) -> int:
    """The longest common subsequence of ``a`` (as its :func:`_letter_masks` and length) and ``b``.

    Bit-parallel (Hyyrö 2004): one step per letter of ``b``.  An upper bound
    of the matches difflib finds, at a twentieth of the cost of its ``ratio``
    on titles.
    """
    full = (1 << length) - 1
    row = full
    for letter in b:
        matches = row & masks.get(letter, 0)
        row = ((row + matches) | (row - matches)) & full
    return length - row.bit_count()


def _letter_counts(titles: list[str], needed: "np.ndarray") -> "np.ndarray":
    """A (row x letter) count matrix for the rows in ``needed``; other rows stay zero."""
    import numpy as np

    text = "".join(titles[i] for i in needed.tolist())
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    lengths = np.fromiter((len(titles[i]) for i in needed.tolist()), dtype=np.int64, count=len(needed))
    owners = np.repeat(needed, lengths)
    present = np.zeros(int(points.max(initial=0)) + 1, dtype=bool)
    present[points] = True
    alphabet = np.flatnonzero(present)
    letter = (np.cumsum(present) - 1)[points]  # each letter's column, without sorting every letter
    counts = np.bincount(owners * len(alphabet) + letter, minlength=len(titles) * len(alphabet))
    return counts.reshape(len(titles), len(alphabet)).astype(np.int32)


def likely_duplicates_exhaustive(table: "pd.DataFrame") -> list[Problem]:
    """:func:`likely_duplicates` by comparing every pair within each (author, year) group.

    Kept as the definition the fast search is tested against: it is short
    enough to read and check by eye, and grows with the square of a group's
    size (17.9 million comparisons at 200,000 generated entries).
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
