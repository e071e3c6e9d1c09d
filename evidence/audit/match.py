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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

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


@dataclass
class LibraryIndex:
    """Look-up tables over the evidence table, built once per run by :func:`build_index`."""

    entries: dict[str, Entry]
    by_doi: dict[str, list[str]]
    by_pmid: dict[str, list[str]]
    by_author_year: dict[tuple[str, int], list[str]]
    by_author: dict[str, list[str]]
    by_trial_name: dict[str, list[str]]
    by_volume_page: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _by_title_word: dict[str, list[str]] | None = field(default=None, repr=False)

    def by_title_word(self) -> dict[str, list[str]]:
        """Title word -> keys, built on first use (only references that match nothing else need it)."""
        if self._by_title_word is None:
            index: dict[str, list[str]] = {}
            for key, entry in self.entries.items():
                for word in title_words(entry.title):
                    index.setdefault(word, []).append(key)
            self._by_title_word = index
        return self._by_title_word


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def build_index(table: "pd.DataFrame") -> LibraryIndex:
    """Index the table by DOI, PMID, first author + year, first author, and trial name."""
    columns = {
        name: table[name].tolist() if name in table.columns else [None] * len(table)
        for name in ("doi", "pmid", "first_author", "year", "title", "container", "volume", "pages", "keywords")
    }
    entries: dict[str, Entry] = {}
    by_doi: dict[str, list[str]] = {}
    by_pmid: dict[str, list[str]] = {}
    by_author_year: dict[tuple[str, int], list[str]] = {}
    by_author: dict[str, list[str]] = {}
    by_trial: dict[str, list[str]] = {}
    by_volume_page: dict[tuple[str, str], list[str]] = {}
    for position, key in enumerate(map(str, table.index)):
        year_value = columns["year"][position]
        year = int(year_value) if year_value is not None and year_value == year_value else None
        author = fold(_text(columns["first_author"][position]))
        title = _text(columns["title"][position])
        entries[key] = Entry(
            key,
            title,
            author,
            year,
            _text(columns["container"][position]),
            _text(columns["volume"][position]),
            _text(columns["pages"][position]),
        )
        doi = _text(columns["doi"][position]).lower()
        if doi:
            by_doi.setdefault(doi, []).append(key)
        pmid = _text(columns["pmid"][position]).strip()
        if pmid:
            by_pmid.setdefault(pmid, []).append(key)
        if author:
            by_author.setdefault(author, []).append(key)
            if year is not None:
                by_author_year.setdefault((author, year), []).append(key)
        keywords = columns["keywords"][position]
        keywords = " ".join(keywords) if isinstance(keywords, (list, tuple)) else _text(keywords)
        for name in trial_names(title) | trial_names(keywords):
            by_trial.setdefault(name, []).append(key)
        volume, first = _text(columns["volume"][position]).strip(), first_page(_text(columns["pages"][position]))
        if volume and first:
            by_volume_page.setdefault((volume, first), []).append(key)
    return LibraryIndex(entries, by_doi, by_pmid, by_author_year, by_author, by_trial, by_volume_page)


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
    for method, value, table in (
        ("DOI", (reference.doi or "").lower(), index.by_doi),
        ("PMID", reference.pmid or "", index.by_pmid),
    ):
        if value and table.get(value):
            return ReferenceMatch(reference.label, table[value][0], method, 1.0, reference.text)
    scored: list[_Scored] = []
    author = fold(reference.first_author or "")
    if author and reference.year is not None:
        for key in index.by_author_year.get((author, reference.year), ()):
            entry = index.entries[key]
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
            for k in index.by_volume_page.get((reference.volume.strip(), first_page(reference.pages)), [])
            if reference.year is None or index.entries[k].year in (None, reference.year)
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
    """Entries whose title is (almost) wholly in the reference, found through the rarest title word."""
    words = title_words(reference.title or reference.text)
    if not words:
        return []
    by_word = index.by_title_word()
    postings = sorted((by_word.get(w, []) for w in words), key=len)
    candidates: set[str] = set()
    for posting in postings[:3]:
        if len(posting) <= 2000:
            candidates.update(posting)
    found = []
    for key in candidates:
        score = title_containment(index.entries[key].title, reference.text)
        if score >= 0.9 and len(title_words(index.entries[key].title)) >= 4:
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
            for k in index.by_volume_page.get((citation.volume, citation.page), [])
            if citation.year is None or index.entries[k].year in (None, citation.year)
        ]
        how = f"volume {citation.volume}, page {citation.page} in the text"
    elif citation.author and citation.year is not None:
        keys = index.by_author_year.get((fold(citation.author), citation.year), [])
        how = f"first author and year in the text ({citation.author} {citation.year})"
    elif citation.author and len(citation.author.split()) >= 3:
        # a group ("Hypericum Depression Trial Study Group") names its study well enough alone
        keys = index.by_author.get(fold(citation.author), [])
        how = f"group author {citation.author}"
    elif citation.author:
        keys = [
            k
            for k in index.by_author.get(fold(citation.author), [])
            if index.entries[k].journal and journals_named(page_text, index.entries[k].journal)
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
    keys = set(known_keys) or set(index.entries)
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
