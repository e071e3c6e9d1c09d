"""Resolve the references a page cites to library entries.

Matching goes through a :class:`LibraryIndex` built once per run from the
evidence table: DOI, PMID, first author + year, and the trial names that
titles carry in capitals ("GERAC", "GAIT").  A reference then costs a few
dictionary look-ups instead of a scan of the table (scanning every row per
reference took 6.6 s at 50,000 entries).  The title-word index used by the
last resort, a title alone, is built only when a reference needs it.

Each resolution is a :class:`ReferenceMatch` saying how and how surely it
matched; a reference that matches nothing, or two entries equally well, is a
finding of its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from evidence.audit.claims import Citation, ListedReference, PageText

if TYPE_CHECKING:
    import pandas as pd

#: A reference whose title words are at least this much in the library title is a match.
TITLE_MATCH = 0.6
#: Two candidates closer than this are ambiguous.
AMBIGUITY_MARGIN = 0.05
#: Capitalised words of titles that are not trial names.
_NOT_TRIAL_NAMES = frozenset(
    {
        "RCT",
        "USA",
        "UK",
        "HIV",
        "AIDS",
        "COPD",
        "BMI",
        "II",
        "III",
        "IV",
        "TCM",
        "ICU",
        "MRI",
        "DNA",
        "RNA",
        "NHS",
        "CI",
        "OR",
        "RR",
        "EEG",
        "ECG",
        "IBS",
        "PTSD",
        "ADHD",
        "IVF",
        "PCOS",
        "LBP",
        "RLS",
        "WHO",
        "CAM",
        "QOL",
        "SF",
    }
)
_TRIAL_NAME = re.compile(r"(?<![\w-])([A-Z][A-Z0-9-]{2,11})(?![\w-])")


def fold(text: str) -> str:
    """Lower case without accents: 'Müller' and 'Muller' compare equal."""
    if text.isascii():
        return text.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def title_words(text: str) -> set[str]:
    """The words of a title that carry meaning (three letters or more), folded."""
    return {w for w in re.findall(r"[a-z0-9]+", fold(text)) if len(w) > 2}


def title_containment(title: str, reference_text: str) -> float:
    """Share of the library title's words found in the reference text (which also holds authors, journal)."""
    words = title_words(title)
    return len(words & title_words(reference_text)) / len(words) if words else 0.0


def first_page(pages: str) -> str:
    """The first page of a range ("1132–6" -> "1132", "e1234" -> "1234"), for matching volume and pages."""
    match = re.match(r"\s*[A-Za-z]{0,3}(\d{1,7})", pages or "")
    return match.group(1) if match else ""


def journal_forms(journal: str) -> set[str]:
    """How a page may name a journal: its folded name, and its initials ("NEJM", "JAMA", "BMJ")."""
    words = re.findall(r"[a-z]+", fold(journal))
    if not words:
        return set()
    initials = "".join(w[0] for w in words if w not in ("of", "the", "and", "for"))
    forms = {" ".join(words)}
    if len(initials) >= 3:
        forms.add(initials)
    return forms


def journals_named(text: str, journal: str) -> bool:
    """Whether ``text`` names ``journal`` (in full, or by its initials as a word)."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(text)))
    return any(re.search(rf"(?<![a-z]){re.escape(form)}(?![a-z])", folded) for form in journal_forms(journal))


def trial_names(title: str) -> set[str]:
    """Acronyms in a title that name a trial ("GERAC", "ART", "GAIT"), folded."""
    return {m.casefold() for m in _TRIAL_NAME.findall(title) if m not in _NOT_TRIAL_NAMES and not m.isdigit()}


@dataclass(frozen=True)
class Entry:
    """What matching needs of one library entry."""

    key: str
    title: str
    first_author: str
    year: int | None
    journal: str
    volume: str
    pages: str


def _text(value: object) -> str:
    if value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _group(pairs: "Iterable[tuple[object, str]]") -> dict:
    grouped: dict = {}
    for value, key in pairs:
        if value:
            grouped.setdefault(value, []).append(key)
    return grouped


class LibraryIndex:
    """Look-up tables over the evidence table, built once per run by :func:`build_index`.

    Each table (DOI, PMID, first author + year, first author, trial name, volume + first page) is built
    the first time a reference needs it, and kept for every later reference and page of the run: a page
    citing by author and year never pays for the DOI or trial-name tables.  A title alone is looked up
    through the table's title column directly (a vectorised substring test narrows the candidates), so
    no index of every title word is ever built.
    """

    def __init__(self, table: "pd.DataFrame") -> None:
        self.table = table
        self.keys = [str(k) for k in table.index]
        self._built: dict[str, dict] = {}
        self._entries: dict[str, Entry] = {}

    def _column(self, name: str) -> list[object]:
        return self.table[name].tolist() if name in self.table.columns else [None] * len(self.keys)

    def _lazy(self, name: str, build: "Callable[[], dict]") -> dict:
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]

    def _strings(self, name: str) -> "pd.Series":
        """A column as pandas strings ("" when missing), computed once."""
        import pandas as pd

        cache = self._lazy("strings", dict)
        if name not in cache:
            if name in self.table.columns:
                column = self.table[name].astype("string").fillna("")
            else:
                column = pd.Series([""] * len(self.keys), index=self.table.index, dtype="string")
            cache[name] = column
        return cache[name]

    def _folded(self, name: str) -> "pd.Series":
        """A column folded for comparison: lower case, accents dropped (``fold``) where it is not ASCII."""
        cache = self._lazy("folded", dict)
        if name not in cache:
            column = self._strings(name)
            lower = column.str.lower()
            ascii_only = column.str.isascii().fillna(True).to_numpy(dtype=bool)
            if not ascii_only.all():
                lower = lower.copy()
                lower[~ascii_only] = column[~ascii_only].map(fold)
            cache[name] = lower
        return cache[name]

    def _grouped(self, *columns: "pd.Series") -> dict:
        """Value (or tuple of values) -> keys, for rows where every value is present: a pandas group-by."""
        import pandas as pd

        frame = pd.DataFrame({str(i): c.to_numpy() for i, c in enumerate(columns)})
        present = frame.ne("").all(axis=1) & frame.notna().all(axis=1)
        frame = frame[present.to_numpy(dtype=bool)]
        keys = self.keys
        grouping = [str(i) for i in range(len(columns))]
        groups = frame.groupby(grouping if len(grouping) > 1 else grouping[0], sort=False).indices
        positions = frame.index.to_numpy()
        return {value: [keys[positions[i]] for i in found] for value, found in groups.items()}

    #: Look-ups of one kind answered by a vectorised comparison before the kind's dictionary is built: a page
    #: cites a handful of studies, and comparing a column costs milliseconds where a dictionary of every
    #: entry costs a second at 200,000 entries; a run over many pages builds the dictionary once.
    SCANS_BEFORE_INDEX = 16

    def find(self, kind: str, value: object) -> list[str]:
        """Keys whose ``kind`` ("doi", "pmid", "author", "author_year", "volume_page") equals ``value``."""
        counts = self._lazy("counts", dict)
        counts[kind] = counts.get(kind, 0) + 1
        if kind in self._built or counts[kind] > self.SCANS_BEFORE_INDEX:
            builders: dict[str, Callable[[], dict]] = {
                "doi": lambda: self.by_doi,
                "pmid": lambda: self.by_pmid,
                "author": lambda: self.by_author,
                "author_year": lambda: self.by_author_year,
                "volume_page": lambda: self.by_volume_page,
            }
            return list(builders[kind]().get(value, []))
        if kind == "doi":
            mask = self._strings("doi").str.lower().str.strip() == value
        elif kind == "pmid":
            mask = self._strings("pmid").str.strip() == value
        elif kind == "author":
            mask = self._folded("first_author") == value
        elif kind == "author_year":
            pair: tuple = value  # type: ignore[assignment]
            mask = (self._folded("first_author") == pair[0]) & (
                self._strings("year").str.removesuffix(".0") == str(pair[1])
            )
        else:
            pair = value  # type: ignore[assignment]
            mask = (self._strings("volume").str.strip() == pair[0]) & (self._first_pages() == pair[1])
        return [self.keys[i] for i in mask.to_numpy(dtype=bool, na_value=False).nonzero()[0]]

    def _first_pages(self) -> "pd.Series":
        cache = self._lazy("strings", dict)
        if "first_page" not in cache:
            first = self._strings("pages").str.extract(r"^\s*[A-Za-z]{0,3}(\d{1,7})", expand=False)
            cache["first_page"] = first.fillna("").astype("string")
        return cache["first_page"]

    @property
    def by_doi(self) -> dict[str, list[str]]:
        return self._lazy("doi", lambda: self._grouped(self._strings("doi").str.lower().str.strip()))

    @property
    def by_pmid(self) -> dict[str, list[str]]:
        return self._lazy("pmid", lambda: self._grouped(self._strings("pmid").str.strip()))

    @property
    def by_author(self) -> dict[str, list[str]]:
        return self._lazy("author", lambda: self._grouped(self._folded("first_author")))

    @property
    def by_author_year(self) -> dict[tuple[str, int], list[str]]:
        def build() -> dict:
            years = self._strings("year").str.replace(r"\.0$", "", regex=True)
            grouped = self._grouped(self._folded("first_author"), years)
            return {(author, int(year)): keys for (author, year), keys in grouped.items() if year.isdigit()}

        return self._lazy("author_year", build)

    @property
    def by_trial_name(self) -> dict[str, list[str]]:
        def build() -> dict:
            grouped: dict[str, list[str]] = {}
            titles, keywords = self._strings("title"), self._strings("keywords")
            # only titles or keywords with a capitalised run of three letters can name a trial
            candidates = titles.str.contains(r"[A-Z]{3}", regex=True) | keywords.str.contains(r"[A-Z]{3}", regex=True)
            for position in candidates.to_numpy(dtype=bool).nonzero()[0]:
                for name in trial_names(titles.iat[position]) | trial_names(keywords.iat[position]):
                    grouped.setdefault(name, []).append(self.keys[position])
            return grouped

        return self._lazy("trial", build)

    @property
    def by_volume_page(self) -> dict[tuple[str, str], list[str]]:
        def build() -> dict:
            return self._grouped(self._strings("volume").str.strip(), self._first_pages())

        return self._lazy("volume_page", build)

    def entry(self, key: str) -> Entry:
        """One entry's matching fields, read from the table's columns when first asked for."""
        if key not in self._entries:
            positions = self._lazy("positions", lambda: {k: i for i, k in enumerate(self.keys)})
            at = positions[key]
            year = self._strings("year").iat[at].removesuffix(".0")
            self._entries[key] = Entry(
                key,
                self._strings("title").iat[at],
                self._folded("first_author").iat[at],
                int(year) if year.isdigit() else None,
                self._strings("container").iat[at],
                self._strings("volume").iat[at],
                self._strings("pages").iat[at],
            )
        return self._entries[key]

    def _title_word_index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for key, title in zip(self.keys, self._strings("title").tolist()):
            for word in title_words(title):
                index.setdefault(word, []).append(key)
        return index

    def title_candidates(self, words: set[str], limit: int = 2000) -> list[str]:
        """Keys whose title holds at least two of the five longest of ``words`` (a vectorised substring test
        over the titles; a title that differs in one long word, "reproductive" for "reproduction", still
        comes back)."""
        if "title" not in self.table.columns or not words:
            return []
        counts = self._lazy("counts", dict)
        counts["title"] = counts.get("title", 0) + 1
        if counts["title"] > self.SCANS_BEFORE_INDEX:
            # many references to look up (a long list, many pages): an index of title words, built once
            by_word = self._lazy("title_words", self._title_word_index)
            hits: dict[str, int] = {}
            for word in sorted(words, key=len, reverse=True)[:5]:
                for key in by_word.get(word, ()):
                    hits[key] = hits.get(key, 0) + 1
            return [key for key, count in hits.items() if count >= min(2, len(words))][:limit]
        titles = self._folded("title")
        longest = sorted(words, key=len, reverse=True)[:5]
        found = [titles.str.contains(word, regex=False, na=False).astype("int64") for word in longest]
        counted = found[0]
        for more in found[1:]:
            counted = counted + more
        mask = (counted >= min(2, len(longest))).to_numpy(dtype=bool)
        return [str(k) for k in self.table.index[mask]][:limit]


def build_index(table: "pd.DataFrame") -> LibraryIndex:
    """The look-ups over ``table`` for one run; each is built when first needed (see :class:`LibraryIndex`)."""
    return LibraryIndex(table)


@dataclass(frozen=True)
class ReferenceMatch:
    """How one cited label (a number, a pandoc key, or a name in the text) resolved to the library."""

    label: str
    key: str | None
    method: str
    confidence: float
    reference: str = ""
    problem: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Scored:
    score: float
    key: str
    method: str


def _pages_match(reference: ListedReference, entry: Entry) -> bool:
    if not reference.pages or not entry.pages:
        return False
    first = re.split(r"[\u2013-]", reference.pages)[0].lstrip("eE")
    return first == re.split(r"[\u2013-]+", entry.pages)[0].lstrip("eE")


def match_reference(reference: ListedReference, index: LibraryIndex) -> ReferenceMatch:
    """Resolve a listed reference: DOI, then PMID (neither needs a year), then first author + year with the
    title (or, when the page shortens the title, the volume and pages), then the journal's volume and first
    page alone (a citation line with no author), then a title alone."""
    for method, kind, value in (("DOI", "doi", (reference.doi or "").lower()), ("PMID", "pmid", reference.pmid or "")):
        found = index.find(kind, value.strip()) if value else []
        if found:
            return ReferenceMatch(reference.label, found[0], method, 1.0, reference.text)
    scored: list[_Scored] = []
    author = fold(reference.first_author or "")
    if author and reference.year is not None:
        for key in index.find("author_year", (author, reference.year)):
            entry = index.entry(key)
            score = title_containment(entry.title, reference.text) if entry.title else 0.0
            if (
                score < TITLE_MATCH
                and _pages_match(reference, entry)
                and (not reference.volume or not entry.volume or reference.volume == entry.volume)
            ):
                scored.append(_Scored(0.95, key, "first author, year, volume and pages"))
            else:
                scored.append(_Scored(score, key, "first author, year and title"))
    if not any(s.score >= TITLE_MATCH for s in scored) and reference.volume and reference.pages:
        keys = [
            k
            for k in index.find("volume_page", (reference.volume.strip(), first_page(reference.pages)))
            if reference.year is None or index.entry(k).year in (None, reference.year)
        ]
        if len(keys) == 1:
            return ReferenceMatch(reference.label, keys[0], "journal volume and pages", 0.95, reference.text)
    if not any(s.score >= TITLE_MATCH for s in scored):
        scored += _title_only(reference, index)
    scored.sort(key=lambda s: (-s.score, s.key))
    good = [s for s in scored if s.score >= TITLE_MATCH]
    if not good:
        near = ", ".join(s.key for s in scored[:2])
        hint = f" (closest: {near})" if near else ""
        return ReferenceMatch(
            reference.label,
            None,
            "none",
            0.0,
            reference.text,
            problem=None if reference.tentative else f"reference {reference.label} matches no library entry{hint}",
        )
    best = good[0]
    rivals = tuple(s.key for s in good[1:] if best.score - s.score < AMBIGUITY_MARGIN and s.key != best.key)
    if rivals:
        tied = (best.key,) + rivals
        return ReferenceMatch(
            reference.label,
            None,
            "ambiguous",
            best.score,
            reference.text,
            problem=f"reference {reference.label} matches {len(tied)} entries equally: {', '.join(tied)}",
            candidates=tied,
        )
    return ReferenceMatch(reference.label, best.key, best.method, round(best.score, 2), reference.text)


def _title_only(reference: ListedReference, index: LibraryIndex) -> list[_Scored]:
    """Entries whose title is (almost) wholly in the reference, found through its longest title words."""
    words = title_words(reference.title or reference.text)
    found = []
    for key in index.title_candidates(words):
        entry = index.entry(key)
        score = title_containment(entry.title, reference.text)
        if score >= 0.9 and len(title_words(entry.title)) >= 4:
            found.append(_Scored(score * 0.8, key, "title only"))
    return found


def match_name(citation: Citation, index: LibraryIndex, page_text: str = "") -> ReferenceMatch:
    """A study named only in the text, resolved when exactly one library entry fits, and said so: a trial's
    name ("GERAC", "(GAIT)"), a journal's volume and first page ("(2006; 354:557-66)"), a first author and
    year ("(Linde 2005)"), or a lead author with a journal the page names ("led by Stephen Bent ... the New
    England Journal of Medicine").  A name that fits nothing is only a name, not a finding, unless it has
    a year (then it was meant as a citation)."""
    label = citation.labels[0]
    keys: list[str] = []
    if citation.trial:
        keys = index.by_trial_name.get(citation.trial.casefold(), [])
        how = f"trial name {citation.trial} in the text"
    elif citation.volume and citation.page:
        keys = [
            k
            for k in index.find("volume_page", (citation.volume, citation.page))
            if citation.year is None or index.entry(k).year in (None, citation.year)
        ]
        how = f"volume {citation.volume}, page {citation.page} in the text"
    elif citation.author and citation.year is not None:
        keys = index.find("author_year", (fold(citation.author), citation.year))
        how = f"first author and year in the text ({citation.author} {citation.year})"
    elif citation.author and len(citation.author.split()) >= 3:
        # a group ("Hypericum Depression Trial Study Group") names its study well enough alone
        keys = index.find("author", fold(citation.author))
        how = f"group author {citation.author}"
    elif citation.author:
        keys = [
            k
            for k in index.find("author", fold(citation.author))
            if index.entry(k).journal and journals_named(page_text, index.entry(k).journal)
        ]
        how = f"author {citation.author} with the journal the page names"
    else:
        how = "a name"
    if len(keys) == 1:
        return ReferenceMatch(label, keys[0], how + ", the only library entry that fits", 0.8)
    if len(keys) > 1:
        return ReferenceMatch(
            label,
            None,
            "ambiguous",
            0.0,
            problem=f"{label} in the text fits {len(keys)} library entries: {', '.join(keys[:5])}",
            candidates=tuple(keys),
        )
    meant = citation.year is not None and not citation.volume
    return ReferenceMatch(
        label, None, "none", 0.0, problem=f"{label} in the text matches no library entry" if meant else None
    )


def resolve_citations(
    page: PageText, index: LibraryIndex, known_keys: Iterable[str] = ()
) -> tuple[dict[str, ReferenceMatch], list[str]]:
    """Every label cited in the page, resolved; plus the findings (unresolved, missing from the list)."""
    keys = set(known_keys) or set(index.keys)
    matches: dict[str, ReferenceMatch] = {}
    by_label = {ref.label: ref for ref in page.references}
    for reference in page.references:
        matches[reference.label] = match_reference(reference, index)
    for sentence in page.sentences:
        for citation in (*sentence.citations, *sentence.carried):
            for label in citation.labels:
                if label in matches:
                    continue
                if citation.style == "pandoc":
                    known = label in keys
                    matches[label] = ReferenceMatch(
                        label,
                        label if known else None,
                        "citation key",
                        1.0 if known else 0.0,
                        problem=None if known else f"citation key @{label} is not in the library",
                    )
                elif citation.style == "named":
                    matches[label] = match_name(citation, index, page.text)
                elif label not in by_label:
                    matches[label] = ReferenceMatch(
                        label,
                        None,
                        "none",
                        0.0,
                        problem=f"citation [{label}] has no entry in the page's reference list",
                    )
    findings = [m.problem for m in matches.values() if m.problem]
    return matches, findings
