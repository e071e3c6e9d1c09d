"""Read a condition page: its citations, its reference list and the claims it makes.

Pages come as Markdown, HTML or plain text.  HTML is reduced to text first
(superscript citation numbers become ``[1,2]``), so one set of patterns
serves all three.  Everything here is pattern matching over text and returns
plain frozen dataclasses with character spans into :attr:`PageText.text`, so a
report can quote the sentence and highlight the claim.  Nothing is judged
here; :mod:`evidence.audit.judge` compares the claims with the library.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator, Literal

from evidence.grammar import (
    NUMBER_WORDS,
    STUDY_NOUNS,
    Bound,
    designs_of,
    find_arms,
    find_comparisons,
    find_designs,
    find_participants,
    find_percentages,
    is_money,
    is_schedule_or_dose,
    is_threshold,
    subgroup_cue,
)

#: Adjectives of nationality a page may put before "studies", with the country they name.
NATIONALITIES = {
    "chinese": "China",
    "japanese": "Japan",
    "korean": "Korea",
    "american": "United States",
    "british": "United Kingdom",
    "german": "Germany",
    "french": "France",
    "italian": "Italy",
    "spanish": "Spain",
    "indian": "India",
    "iranian": "Iran",
    "brazilian": "Brazil",
    "australian": "Australia",
    "canadian": "Canada",
    "swedish": "Sweden",
    "danish": "Denmark",
    "dutch": "Netherlands",
    "turkish": "Turkey",
    "taiwanese": "Taiwan",
}
OUTCOME_WORDS = (
    "cure",
    "cured",
    "improve",
    "improved",
    "improvement",
    "remission",
    "response",
    "responded",
    "respond",
    "responding",
    "effective",
    "marked",
    "markedly",
    "significantly",
    "relief",
    "better",
    "ineffective",
)
PER_STUDY_WORDS = ("both", "all", "each", "every", "most")
POOLED_WORDS = ("pooled", "overall", "combined", "together", "in total", "altogether")

#: A sentence opening with these sums up more than the sentence before it, so it does not borrow its citation.
_TOTAL_OPENING = re.compile(
    r"\s*(?:in all|in total|altogether|overall|taken together|across (?:all|the) studies)\b", re.I
)
_SENTENCE_END = re.compile(r"(?<!\bal\.)(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
# "[" then no bracket up to an "@", then no bracket up to "]": each "[" scans only to the next bracket (linear)
_PANDOC = re.compile(r"\[[^\[\]@]*@[^\[\]]*\]")
#: "(Linde 2005)", "(Linde et al., 2005)", "Linde et al. (2005)": a study named in the text, on pages with no list
_NAMED_AUTHOR_YEAR = re.compile(
    r"\(([A-Z][\w'\u2019-]{1,30})(?:\s+et\s+al\.?|\s+(?:and|&)\s+[A-Z][\w'\u2019-]{1,30})?,?"
    r"\s{1,3}((?:19|20)\d\d)[a-z]?"
    r"(?:[;,][^()]{0,80})?\)"
    r"|(?<![\w-])([A-Z][\w'\u2019-]{1,30})\s+(?:et\s+al\.?|and\s+colleagues)\s{0,3}\(((?:19|20)\d\d)[a-z]?\)"
)
#: "(v 287, p 1807, 2002)" and "(2006; 354:557-66)": a journal's volume and first page, with the year
_VOLUME_PAGE = re.compile(
    r"\(v(?:ol)?\.?\s{0,2}(\d{1,4}),\s{0,2}pp?\.?\s{0,2}(\d{1,6}),\s{0,2}((?:19|20)\d\d)\)"
    r"|\(((?:19|20)\d\d);\s{0,2}(\d{1,4})(?:\s?\(\d{1,4}\))?:\s{0,2}(\d{1,6})(?:\s?[-\u2013]\s?\d{1,6})?\)"
)
#: "(GAIT)", "(GERAC)": an acronym in parentheses, a trial's name when the library knows it
_TRIAL_ACRONYM = re.compile(r"\(([A-Z][A-Z0-9-]{2,11})\)")
#: "led by Stephen Bent", "lead author Stephen Bent", "Wang et al report", "the Hypericum Depression Trial Study Group"
_LEAD_AUTHOR = re.compile(
    r"(?:\bled\s+by|\blead\s+author|\bfirst\s+author)\s{1,3}(?:Dr\.?\s{1,3})?(?:[A-Z][a-z]+\.?\s{1,3}){1,2}?"
    r"(?:[A-Z]\.\s{1,3})?([A-Z][a-z'\u2019-]+)"
    r"|(?<![\w-])([A-Z][a-z'\u2019-]+)\s+et\s+al\.?(?!\s*,?\s*\(?\s*(?:19|20)\d\d)"
    r"|(?<![\w-])((?:[A-Z][a-z]+\s){1,5}(?:Trial\s|Research\s)?"
    r"(?:Study|Collaborative|Research)\s(?:Group|Investigators))"
)
#: "the GERAC trial", "the GAIT study": a trial named in the text
_TRIAL_NAME = re.compile(r"(?<![\w-])([A-Z][A-Z0-9-]{2,11})\s+(?:trials?|study|studies)\b")
_PANDOC_KEY = re.compile(r"@(\w(?:[\w:.#$%&+?<>~/-]*\w)?)")
_BRACKET_NUMBERS = re.compile(r"\[(\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*)\]")
_PAREN_NUMBERS = re.compile(r"\((\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*)\)")
_TRAILING_NUMBERS = re.compile(r"(?<=[A-Za-z\)])(\d{1,3}(?:,\d{1,3})*)(?=[\s;:,.]|$)")
_REFERENCE_LINE = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})[.)]?)\s+(\S.*)$")
_REFERENCES_HEADING = re.compile(r"^\s*(?:#+\s*|\*\*)?(references|bibliography|sources|works cited)\b", re.I)
_AUTHOR_YEAR = re.compile(
    r"\b([^\W\d_][\w'\u2019-]+)(?:\s+et\s+al\.?|\s+(?:and|&)\s+[^\W\d_][\w'\u2019-]+)?,?\s+\(?(1[89]\d\d|20\d\d)\)?"
)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;])")
_PMID = re.compile(r"\bPMID:?\s*(\d{5,9})\b", re.I)
_STUDY_COUNT = re.compile(
    rf"(?<![\d.,$£€])\b(\d{{1,3}}|a|an|one|single|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
    rf"((?:[A-Za-z-]+\s+){{0,3}}?){STUDY_NOUNS}\b",
    re.I,
)


Scope = Literal["per-study", "pooled", "single"]


@dataclass(frozen=True)
class ListedReference:
    """One entry of the page's own reference list."""

    label: str
    text: str
    line: int
    first_author: str | None
    year: int | None
    doi: str | None = None
    pmid: str | None = None
    #: best-effort parts, None when the line does not show them apart
    authors: tuple[str, ...] = ()
    title: str | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    #: a line that may be a citation (a title at the top of the page): no finding when it matches nothing
    tentative: bool = False


@dataclass(frozen=True)
class Citation:
    """A citation in the text: the labels or keys it names, and where it stands."""

    start: int
    end: int
    labels: tuple[str, ...]
    #: "named": a study named in the text only (an author and year with no reference list, or a trial name),
    #: resolved against the library by :func:`evidence.audit.match.match_name`
    style: Literal["pandoc", "numbered", "author-year", "named"]
    author: str | None = None
    year: int | None = None
    trial: str | None = None
    journal: str | None = None
    volume: str | None = None
    page: str | None = None


@dataclass(frozen=True)
class Claim:
    """Something a sentence says about its studies, with the numbers parsed out."""

    kind: Literal["rate", "study-count", "participants", "comparison"]
    start: int
    end: int
    text: str
    low: float | None = None
    high: float | None = None
    bound: Bound = "="
    count: int | None = None
    country: str | None = None
    designs: tuple[str, ...] = ()
    outcome: str = ""
    scope: Scope = "single"
    #: "most" when the sentence says most studies (a majority must satisfy the claim)
    quantifier: str = ""
    #: the arm the number is about, by its canonical label ("sham", "placebo", "control"; see
    #: :data:`evidence.grammar.ARM_LABELS`); None for the treatment arm or the whole study
    arm: str | None = None
    #: the words that make a count a subset ("who stopped treatment"); such a count is never contradicted
    subgroup: str | None = None
    #: for comparisons: "versus" (``low`` and ``high`` hold the two rates), "no-difference", "better", "ratio"
    comparison: str = ""
    ratio: float | None = None
    #: the count is of the studies a cited review included ("a review of 2 studies")
    of_review: bool = False


@dataclass(frozen=True)
class Sentence:
    """A sentence of the body; ``carried`` are the citations of an earlier sentence of the
    same paragraph that this uncited sentence continues."""

    start: int
    end: int
    text: str
    citations: tuple[Citation, ...]
    claims: tuple[Claim, ...]
    carried: tuple[Citation, ...] = ()
    #: where the citations judged come from: the sentence itself, its paragraph, a heading above it, the page
    scope: Literal["sentence", "paragraph", "heading", "page"] = "sentence"

    @property
    def cited(self) -> tuple[Citation, ...]:
        return self.citations or self.carried


@dataclass(frozen=True)
class PageText:
    path: str
    text: str
    body_end: int
    references: tuple[ListedReference, ...]
    sentences: tuple[Sentence, ...] = field(default_factory=tuple)


class _TextExtractor(HTMLParser):
    """HTML to text; ``<sup>1,2</sup>`` becomes ``[1,2]``, blocks become new lines."""

    BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "table", "figure"}
    SKIP = {"script", "style", "head", "svg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.in_sup = False
        self.lists: list[int] = []  # next item number of each open <ol>; -1 for <ul>

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "sup":
            self.in_sup = True
        elif tag in ("ol", "ul"):
            start = dict(attrs).get("start") or "1"
            self.lists.append(int(start) if tag == "ol" and start.isdecimal() else -1)
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n")
            if self.lists and self.lists[-1] >= 0:
                value = dict(attrs).get("value") or ""
                number = int(value) if value.isdecimal() else self.lists[-1]
                self.lists[-1] = number + 1
                self.parts.append(f"{number}. ")
        elif tag in ("td", "th"):
            self.parts.append(" | ")  # cells stay apart, as in a Markdown table row
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ol", "ul") and self.lists:
            self.lists.pop()
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "sup":
            self.in_sup = False
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.in_sup and re.fullmatch(r"\s*\[?\d{1,3}(?:\s*[,\u2013-]\s*\d{1,3})*\]?\s*", data):
            self.parts.append("[" + data.strip().strip("[]") + "]")
        else:
            self.parts.append(data)


def html_to_text(source: str) -> str:
    parser = _TextExtractor()
    parser.feed(source)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n\s*(\n\s*)+", "\n\n", text).strip() + "\n"


def read_page(path: Path | str) -> PageText:
    """Read a page from a file; HTML is recognised by its extension or its tags."""
    path = Path(path)
    source = path.read_bytes().decode("utf-8", errors="replace")
    return parse_page(source, str(path), is_html=path.suffix.lower() in (".html", ".htm") or None)


def parse_page(source: str, path: str = "<page>", is_html: bool | None = None) -> PageText:
    """Split a page into body and references, and find sentences, citations and claims.

    References come from a list at the end (numbered, bulleted, or items after a "References" or
    "Sources" heading), from citation lines anywhere in the body (a journal's year;volume(issue):pages,
    a DOI or a PMID on a line of its own), and from Wikipedia-style ``<ref>`` footnotes.  Citation lines
    are not searched for claims: their numbers are volumes and pages.
    """
    if is_html is None:
        is_html = bool(re.search(r"<(?:html|body|p|div|sup)\b", source[:200_000], re.I))
    text = html_to_text(source) if is_html else source.replace("\r\n", "\n")
    text = re.sub(r"<sup>\s{0,5}([\d,\u2013\- ]{1,40})\s{0,5}</sup>", lambda m: f"[{m.group(1).strip()}]", text)
    body_end, references = split_references(text)
    footnotes = tuple(_footnotes(text[:body_end]))
    lines = tuple(_citation_lines(text, body_end))
    references = references + tuple(ref for ref, _ in footnotes) + tuple(ref for ref, _ in lines)
    if not references and not _has_marker(text[:body_end]):
        references = tuple(_title_lines(text, body_end))
    labels = {r.label for r in references if not r.label.startswith(("line-", "top-"))}
    body = text[:body_end]
    loose = not (_PANDOC.search(body) or _BRACKET_NUMBERS.search(body))
    skip = [span for _, span in lines]
    sentences = tuple(
        _sentences(
            text, body_end, labels, loose, _named(references), skip, {span: ref.label for ref, span in footnotes}
        )
    )
    return PageText(path, text, body_end, references, sentences)


_CITATION_LINE = re.compile(
    r"(?:19|20)\d\d[^;\n]{0,20};\s{0,3}\d{1,4}\s{0,3}(?:\(\s{0,3}[\w-]{1,8}\s{0,3}\))?\s{0,3}:"
    r"\s{0,3}[A-Za-z]{0,3}\d{1,6}"
    r"|\b\d{1,4}\s{0,2}\(\d{1,4}\)\s{0,2}:\s{0,2}\d{1,6}\s{0,2}[-\u2013]\s{0,2}\d{1,6}"
    r"|\bPMID:?\s{0,3}\d{5,9}\b|\bdoi:?\s{0,3}10\.\d{4,9}/",
    re.I,
)
_FOOTNOTE = re.compile(r"<ref(?:\s[^<>/]{0,200})?>([^<]{0,3000})</ref>|<ref\s([^<>/]{0,200})/>")


def _has_marker(body: str) -> bool:
    return bool(_PANDOC.search(body) or _BRACKET_NUMBERS.search(body) or _FOOTNOTE.search(body))


def _citation_lines(text: str, body_end: int) -> list[tuple[ListedReference, tuple[int, int]]]:
    """Lines of the body that are citations: a journal's year;volume(issue):pages, a PMID or a DOI,
    in a line of at most 400 characters that is not a sentence of the page with a citation inside."""
    found = []
    for number, match in enumerate(re.finditer(r"[^\n]+", text[:body_end]), 1):
        line = match.group()
        if len(line) > 400 or not _CITATION_LINE.search(line):
            continue
        if re.search(r"\((?:19|20)\d\d;\s{0,2}\d|\(v\s{0,2}\d", line):
            continue  # "(2006; 354:557-66)" inside a sentence: an in-text citation, found as such
        reference = parse_reference(f"line-{number}", line.strip().lstrip("-*\u2022 "), number)
        found.append((reference, match.span()))
    return found


def _footnotes(body: str) -> Iterator[tuple[ListedReference, tuple[int, int]]]:
    """Wikipedia-style ``<ref>{{cite journal | pmid= ... | doi= ...}}</ref>`` footnotes, one reference each."""
    names: dict[str, str] = {}
    for number, match in enumerate(_FOOTNOTE.finditer(body), 1):
        head = match.group(0)[: match.group(0).find(">") + 1]
        name = re.search(r"name\s{0,3}=\s{0,3}\"?([^\"/>]{1,80})", head)
        label = f"ref-{names.setdefault(name.group(1).strip(), str(number)) if name else number}"
        content = match.group(1) or ""
        fields = dict(
            (k.strip().lower(), v.strip())
            for k, v in re.findall(r"\|\s{0,3}([\w-]{1,20})\s{0,3}=\s{0,3}([^|}]{0,300})", content)
        )
        authors = [fields[k] for k in ("last1", "last", "author", "author1") if k in fields][:1]
        year = re.search(r"(?:19|20)\d\d", fields.get("year", "") or fields.get("date", ""))
        line = body.count("\n", 0, match.start()) + 1
        reference = ListedReference(
            label=label,
            text=" ".join(content.split()) or head,
            line=line,
            first_author=authors[0] if authors else None,
            year=int(year.group()) if year else None,
            doi=fields.get("doi") or None,
            pmid=fields.get("pmid") or None,
            title=fields.get("title") or None,
            journal=fields.get("journal") or None,
            volume=fields.get("volume") or None,
            issue=fields.get("issue") or None,
            pages=fields.get("pages") or None,
            tentative=not content.strip(),
        )
        yield reference, match.span()


def _title_lines(text: str, body_end: int) -> list[ListedReference]:
    """The first lines of a page with no citations at all: one may be the title of the study it reports,
    matched to the library by title alone.  Tentative: a line that matches nothing is no finding."""
    found: list[ListedReference] = []
    for number, match in enumerate(re.finditer(r"[^\n]+", text[: min(body_end, 3000)]), 1):
        line = match.group().strip()
        if 20 <= len(line) <= 200 and not re.search(r"[.!?]\s+\S", line.rstrip(".")) and len(found) < 5:
            found.append(
                ListedReference(f"top-{number}", line, number, None, None, title=line.rstrip("."), tentative=True)
            )
    return found


def title_spans(text: str, references: tuple[ListedReference, ...]) -> list[tuple[ListedReference, tuple[int, int]]]:
    """Where the tentative title lines stand, so that a title's words ("A randomized trial of ...") are not
    read as the page's claims."""
    spans = []
    for reference in references:
        if reference.label.startswith("top-"):
            at = text.find(reference.text)
            if at >= 0:
                spans.append((reference, (at, at + len(reference.text))))
    return spans


def split_references(text: str) -> tuple[int, tuple[ListedReference, ...]]:
    """Where the body ends, and the numbered references after it.

    The reference list is the last run of lines that start with a number and
    hold a year, or every numbered line after a 'References' heading.
    """
    lines = text.split("\n")
    offsets, position = [], 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    heading = max((i for i, line in enumerate(lines) if _REFERENCES_HEADING.match(line)), default=None)
    found: list[tuple[int, ListedReference]] = []
    for index, line in enumerate(lines):
        match = _REFERENCE_LINE.match(line)
        if not match:
            continue
        if heading is not None and index <= heading:
            continue
        if heading is None and not (_YEAR.search(match.group(3)) and _looks_like_reference(line)):
            continue
        found.append((index, parse_reference(match.group(1) or match.group(2), match.group(3), index + 1)))
    if not found and heading is not None:
        items = _listed_items(lines[heading + 1 :], heading + 2)
        if items:
            return offsets[heading], tuple(items)
    if not found:
        return len(text), ()
    # keep the last block: references at the end of the page, in order
    block = [found[-1]]
    for item in reversed(found[:-1]):
        if _only_blank_or_text_between(lines, item[0], block[0][0]):
            block.insert(0, item)
        else:
            break
    first_line = block[0][0]
    if heading is not None and heading < first_line:
        first_line = heading
    return offsets[first_line], tuple(ref for _, ref in block)


def _listed_items(lines: list[str], first_line: int) -> list[ListedReference]:
    """Unnumbered references after a heading: bulleted items ("- Clegg DO ...", "* ...", "\u2022 ...") running
    over several lines, or paragraphs separated by blank lines."""
    items: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, first_line):
        stripped = line.strip()
        if not stripped:
            if items and items[-1][1]:
                items.append((number + 1, []))
            continue
        bullet = re.match(r"^[-*\u2022]\s+", stripped)
        if bullet or not items:
            items.append((number, [stripped[bullet.end() :] if bullet else stripped]))
        else:
            items[-1][1].append(stripped)
    return [
        parse_reference(f"item-{index}", " ".join(parts), number)
        for index, (number, parts) in enumerate((i for i in items if i[1]), 1)
    ]


def _looks_like_reference(line: str) -> bool:
    """'1. Anything', '[1] Anything' or '1 Wang DY ...': a numbered line that reads as a reference."""
    return bool(
        re.match(r"^\s*(?:\[\d+\]|\d+[.)])\s", line) or re.match(r"^\s*\d+\s+[^\W\d_][\w'-]*,?\s+[A-Z]{1,3}\b", line)
    )


def _only_blank_or_text_between(lines: list[str], first: int, second: int) -> bool:
    return all(not lines[i].strip() or not _REFERENCE_LINE.match(lines[i]) for i in range(first + 1, second)) and (
        second - first <= 4
    )


def parse_reference(label: str, text: str, line: int) -> ListedReference:
    """The parts of a reference the audit matches on: first author, year, DOI, PMID."""
    text = " ".join(text.split())
    author = re.match(r"\s*([^\W\d_][\w'\u2019-]*)", text)
    year = _YEAR.search(text)
    doi = _DOI.search(text)
    pmid = _PMID.search(text)
    return ListedReference(
        label=label,
        text=text,
        line=line,
        first_author=author.group(1) if author else None,
        year=int(year.group(1)) if year else None,
        doi=doi.group(1) if doi else None,
        pmid=pmid.group(1) if pmid else None,
        **_reference_parts(text),
    )


_VOLUME = re.compile(
    r"(?:^|[;\s.,])(\d{1,4})?\s*\(([\w\s-]{1,12})\)\s*:\s*([A-Za-z]{0,3}\d+(?:\s*[\u2013-]\s*[A-Za-z]{0,3}\d+)?)"
)
_AUTHOR = r"[^\W\d_][\w'\u2019-]*(?:\s+[A-Z]{1,3}\b\.?)?"
_AUTHORS = re.compile(
    rf"^\s*({_AUTHOR}(?:\s*,\s*{_AUTHOR})*(?:,?\s+et\s+al\.?)?)\s*(?:\.\s+|\(\s*(?:1[89]|20)\d\d\s*\)\s*)"
)


def _reference_parts(text: str) -> dict[str, Any]:
    """Authors, title, journal, volume(issue):pages from a Vancouver-like line:
    "Shi YL, Wang YM. Title. Journal. 2003;23(11):651-2." or "Yang YD (1993) Title ... 13(3): 13-14".
    Title and journal are left out when the line gives no full stop between them."""
    parts: dict[str, object] = {}
    volume = _VOLUME.search(text)
    if volume:
        parts.update(volume=volume.group(1), issue=volume.group(2).strip(), pages=re.sub(r"\s+", "", volume.group(3)))
    authors = _AUTHORS.match(text)
    if not authors:
        return parts
    parts["authors"] = tuple(
        a.strip() for a in re.split(r"\s*,\s*", re.sub(r",?\s+et\s+al\.?$", "", authors.group(1))) if a.strip()
    )
    rest = text[authors.end() :]
    stop = re.search(r"\.?\s*(?:1[89]|20)\d\d\s*(?:[;.]|[A-Z][a-z]{2})", rest) or re.search(r"\.?\s*\d{1,4}\s*\(", rest)
    body = rest[: stop.start()] if stop else rest
    pieces = [p.strip() for p in re.split(r"(?<=[^A-Z])\.\s+|[?]\s+", body) if p.strip()]
    if len(pieces) >= 2:
        parts["title"], parts["journal"] = pieces[0].rstrip("."), ". ".join(pieces[1:]).rstrip(".")
    return parts


def _named(references: tuple[ListedReference, ...]) -> dict[tuple[str, int], str]:
    """(first author, year) -> label, for the references that pair names alone, so that
    "Shi 2003" or "Shi et al. (2003)" in the body cites the list's "Shi X ... 2003"."""
    pairs: dict[tuple[str, int], list[str]] = {}
    for ref in references:
        if ref.first_author and ref.year:
            pairs.setdefault((ref.first_author.casefold(), ref.year), []).append(ref.label)
    return {pair: found[0] for pair, found in pairs.items() if len(found) == 1}


#: A sentence without any of these holds no claim (a quick test before the claim patterns run).
_MAY_CLAIM = re.compile(
    r"\d|\b(?:one|single|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|dozen|several|both|twice|double|half|better|effective|superior|"
    r"difference|times|fold)\b|stud|trial|review|analys|series|rct|controlled|randomi",
    re.I,
)

#: A sentence without any of these cites nothing (a quick test before the citation patterns run).
_MAY_CITE = re.compile(r"[\[(@<]|\d|\bet al|\bled by|\b(?:lead|first) author|Group|Investigators|[A-Z]{3}")

#: Citations and claims are looked for in the first this many characters of a sentence: longer "sentences"
#: are not prose (a page without full stops), and the cap keeps the work per sentence bounded.
MAX_SENTENCE = 20_000


class _Spans:
    """Non-overlapping (start, end) spans, kept sorted, so that "is this span free?" costs a bisection
    instead of a scan of every span taken so far (a scan made pages with many citations quadratic)."""

    def __init__(self, spans: "list[tuple[int, int]] | None" = None) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for a, b in sorted(spans or ()):
            self.add(a, b)

    def free(self, a: int, b: int) -> bool:
        at = bisect.bisect_right(self.starts, a)
        if at > 0 and self.ends[at - 1] > a:
            return False
        return not (at < len(self.starts) and self.starts[at] < b)

    def add(self, a: int, b: int) -> None:
        at = bisect.bisect_right(self.starts, a)
        self.starts.insert(at, a)
        self.ends.insert(at, b)

    def covers(self, a: int, b: int) -> bool:
        """Whether one span holds all of (a, b)."""
        at = bisect.bisect_right(self.starts, a)
        return at > 0 and self.ends[at - 1] >= b


class _Taken:
    """``append`` onto :class:`_Spans`, for the citation loops."""

    def __init__(self, spans: _Spans) -> None:
        self.spans = spans

    def append(self, span: tuple[int, int]) -> None:
        self.spans.add(*span)


def _sentences(
    text: str,
    body_end: int,
    labels: set[str],
    loose: bool,
    named: dict[tuple[str, int], str] | None = None,
    skip: list[tuple[int, int]] | None = None,
    footnotes: dict[tuple[int, int], str] | None = None,
) -> list[Sentence]:
    """Sentences of the body.  ``loose`` allows the citation forms that need guessing,
    "(1, 2)" and "studies1,2"; a page that uses [1] or [@key] anywhere does not get them,
    so "China (4)" in such a page is not a citation."""
    body = text[:body_end]
    sentences = []
    skipped = _Spans(skip)
    note_starts = sorted(footnotes or {})
    for paragraph in re.finditer(r"[^\n]+", body):
        start = paragraph.start()
        pieces = _SENTENCE_END.split(paragraph.group())
        cursor = start
        previous: tuple[Citation, ...] = ()
        for piece in pieces:
            at = text.find(piece, cursor)
            cursor = at + len(piece)
            if not piece.strip():
                continue
            if skipped.covers(at, cursor):
                continue  # a citation line: its numbers are volumes and pages
            sentence = _sentence(text, at, cursor, labels, loose, named or {})
            first = bisect.bisect_left(note_starts, (at, -1))
            last = bisect.bisect_left(note_starts, (cursor, -1))
            notes = tuple(Citation(a, b, ((footnotes or {})[(a, b)],), "numbered") for a, b in note_starts[first:last])
            if notes:
                sentence = Sentence(
                    sentence.start,
                    sentence.end,
                    sentence.text,
                    tuple(sorted(sentence.citations + notes, key=lambda c: c.start)),
                    _claims_outside(sentence, notes),
                )
            if sentence.citations:
                previous = sentence.citations
            elif sentence.claims and previous and not _TOTAL_OPENING.match(sentence.text):
                # "Huang 2021 [5] is a meta-analysis. It published ..." : the claim is about [5].
                sentence = Sentence(
                    sentence.start, sentence.end, sentence.text, (), sentence.claims, previous, "paragraph"
                )
            if sentence.claims or sentence.citations:
                sentences.append(sentence)  # the others say nothing the audit judges
    return sentences


def _claims_outside(sentence: Sentence, notes: tuple[Citation, ...]) -> tuple[Claim, ...]:
    """The sentence's claims that do not stand inside a footnote (whose numbers are the citation's)."""
    return tuple(c for c in sentence.claims if not any(n.start <= c.start < n.end for n in notes))


def _sentence(
    text: str, start: int, end: int, labels: set[str], loose: bool, named: dict[tuple[str, int], str] | None = None
) -> Sentence:
    chunk = text[start:end]
    searched = chunk[:MAX_SENTENCE]
    citations = tuple(_citations(searched, start, labels, loose, named or {})) if _MAY_CITE.search(searched) else ()
    pieces, cursor = [], 0
    for citation in citations:
        a, b = citation.start - start, citation.end - start
        if a >= cursor:
            pieces += [searched[cursor:a], " " * (b - a)]
            cursor = b
    masked = "".join(pieces) + searched[cursor:]
    claims = tuple(_claims(masked, start)) if _MAY_CLAIM.search(masked) else ()
    if citations and claims:
        # a claim never runs across a citation ("40[@key]meta-analysis" is no "40 meta-analyses")
        spans = _Spans([(c.start, c.end) for c in citations])
        claims = tuple(c for c in claims if spans.free(c.start, c.end))
    return Sentence(start, end, chunk, citations, claims)


def _expand(numbers: str) -> tuple[str, ...]:
    labels: list[str] = []
    for part in re.split(r"\s*[,;]\s*", numbers.strip()):
        if re.fullmatch(r"\d+\s*[\u2013-]\s*\d+", part):
            first, last = (int(x) for x in re.split(r"\s*[\u2013-]\s*", part))
            if 0 < last - first < 50:
                labels.extend(str(n) for n in range(first, last + 1))
                continue
        if part.isdecimal():
            labels.append(str(int(part)))
    return tuple(labels)


def _citations(
    chunk: str, offset: int, labels: set[str], loose: bool, named: dict[tuple[str, int], str] | None = None
) -> list[Citation]:
    found: list[Citation] = []
    spans = _Spans()

    taken = _Taken(spans)
    free = spans.free

    for match in _PANDOC.finditer(chunk):
        keys = tuple(_PANDOC_KEY.findall(match.group()))
        if keys:
            found.append(Citation(offset + match.start(), offset + match.end(), keys, "pandoc"))
            taken.append(match.span())
    for pattern in (_BRACKET_NUMBERS, _PAREN_NUMBERS) if loose else (_BRACKET_NUMBERS,):
        for match in pattern.finditer(chunk):
            numbers = _expand(match.group(1))
            if numbers and free(*match.span()) and (pattern is _BRACKET_NUMBERS or set(numbers) & labels):
                found.append(Citation(offset + match.start(), offset + match.end(), numbers, "numbered"))
                taken.append(match.span())
    if labels and loose:
        for match in _TRAILING_NUMBERS.finditer(chunk):
            numbers = _expand(match.group(1))
            if numbers and set(numbers) & labels and free(*match.span()):
                found.append(Citation(offset + match.start(), offset + match.end(), numbers, "numbered"))
                taken.append(match.span())
    if not labels:
        for match in _NAMED_AUTHOR_YEAR.finditer(chunk):
            author, year = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
            if free(*match.span()):
                found.append(
                    Citation(
                        offset + match.start(),
                        offset + match.end(),
                        (f"{author} {year}",),
                        "named",
                        author=author,
                        year=int(year),
                    )
                )
                taken.append(match.span())
    for match in _VOLUME_PAGE.finditer(chunk):
        volume, page, year = (
            (match.group(1), match.group(2), match.group(3))
            if match.group(1)
            else (match.group(5), match.group(6), match.group(4))
        )
        if free(*match.span()):
            found.append(
                Citation(
                    offset + match.start(),
                    offset + match.end(),
                    (f"vol. {volume} p. {page}",),
                    "named",
                    year=int(year),
                    volume=volume,
                    page=page,
                )
            )
            taken.append(match.span())
    for match in _TRIAL_ACRONYM.finditer(chunk):
        if free(*match.span()) and match.group(1) not in ("RCT", "RCTS", "USA", "UK", "NHS", "FDA", "NIH", "CI"):
            found.append(
                Citation(offset + match.start(), offset + match.end(), (match.group(1),), "named", trial=match.group(1))
            )
            taken.append(match.span())
    for match in _LEAD_AUTHOR.finditer(chunk) if not labels else ():
        author = match.group(1) or match.group(2) or match.group(3)
        span = match.span(1) if match.group(1) else match.span(2) if match.group(2) else match.span(3)
        if free(*span):
            found.append(Citation(offset + span[0], offset + span[1], (author,), "named", author=author))
            taken.append(span)
    for match in _TRIAL_NAME.finditer(chunk):
        if free(*match.span(1)) and match.group(1) not in ("RCT", "RCTS", "USA", "UK", "NHS", "FDA", "NIH"):
            found.append(
                Citation(
                    offset + match.start(1), offset + match.end(1), (match.group(1),), "named", trial=match.group(1)
                )
            )
            taken.append(match.span(1))
    for match in _AUTHOR_YEAR.finditer(chunk) if named else ():
        label = named.get((match.group(1).casefold(), int(match.group(2))))  # type: ignore[union-attr]
        if label and free(*match.span()):
            found.append(Citation(offset + match.start(), offset + match.end(), (label,), "author-year"))
            taken.append(match.span())
    return sorted(found, key=lambda c: c.start)


def _claims(masked: str, offset: int) -> list[Claim]:
    claims: list[Claim] = []
    scope = _scope(masked.lower())
    taken = _Spans()
    for comparison in find_comparisons(masked):
        values = comparison.values
        claims.append(
            Claim(
                "comparison",
                offset + comparison.start,
                offset + comparison.end,
                comparison.text,
                low=values[0] if values else None,
                high=values[1] if values else None,
                arm=comparison.arm or "control",
                comparison=comparison.kind,
                ratio=comparison.ratio,
                scope=scope,
            )
        )
        if taken.free(comparison.start, comparison.end):
            taken.add(comparison.start, comparison.end)
    for percentage in find_percentages(masked):
        if not taken.free(percentage.start, percentage.end):
            continue
        if is_threshold(masked, percentage.start, percentage.end) or is_money(masked, percentage.start, percentage.end):
            continue
        if _composition(masked, percentage.start, percentage.end):
            continue
        # a general figure ("the usual placebo effect of 30%") or a description of who took part: kept as claims
        # with their own outcome class, which the judge never checks against a study's response rate
        general = "background" if _BACKGROUND.search(masked[max(0, percentage.start - 40) : percentage.start]) else None
        if general or _DEMOGRAPHIC.match(masked, percentage.end):
            claims.append(
                Claim(
                    "rate",
                    offset + percentage.start,
                    offset + percentage.end,
                    percentage.text,
                    low=percentage.low,
                    high=percentage.high,
                    bound=percentage.bound,
                    outcome=general or "demographic",
                    scope=scope,
                )
            )
            continue
        claims.append(
            _rate_claim(
                masked,
                offset,
                percentage.start,
                percentage.end,
                percentage.low,
                percentage.high,
                percentage.bound,
                scope,
            )
        )
    fractions = _Spans()
    for match in _FRACTION.finditer(masked):
        part, whole = (int(match.group(i).replace(",", "")) for i in (1, 2))
        if not whole or part > whole or not taken.free(match.start(), match.end()):
            continue
        # "27 of 40 patients were cured": a rate of one arm, its denominator no count of participants
        taken.add(match.start(), match.end())
        fractions.add(match.start(), match.end())
        rate = 100.0 * part / whole
        claims.append(_rate_claim(masked, offset, match.start(), match.end(), rate, rate, "=", scope))
    counted = _Spans()
    mentions = list(find_designs(masked))
    mention_starts = [m.start for m in mentions]
    for match in _STUDY_COUNT.finditer(masked):
        claim = _study_count_claim(match, offset)
        if claim:
            # "a systematic review and meta-analysis": the design read whole, past the noun the count stops at
            first = bisect.bisect_left(mention_starts, match.start())
            longer = next(
                (m for m in mentions[first : first + 3] if match.start() <= m.start < match.end() < m.end), None
            )
            if longer is not None:
                from dataclasses import replace

                claim = replace(
                    claim, end=offset + longer.end, text=masked[match.start() : longer.end], designs=longer.designs
                )
            claims.append(claim)
            if counted.free(match.start(), longer.end if longer else match.end()):
                counted.add(match.start(), longer.end if longer else match.end())
    for mention in mentions:
        # "A prospective, multicenter, randomized, participant-blinded trial": a design with more adjectives
        # than the study-count pattern reads, after "a"/"an"/"one"
        window = masked[max(0, mention.start - 48) : mention.start]
        # "a"/"an" before the design or its adjectives; "the" only before a design with adjectives
        # ("The patient- and observer-blinded randomised controlled trial"), not "The meta-analysis3"
        articles = "a|an|one|single|the" if len(mention.text.split()) > 1 else "a|an|one|single"
        article = re.search(rf"(?:^|\W)({articles})\s+(?:[\w-]+,?\s+(?:and\s+|or\s+)?){{0,4}}$", window, re.I)
        opening = not masked[: mention.start].strip(" -*\u2022\t") or re.search(r"(?:^|[:.!?]\s)\W{0,3}$", window)
        if not (article or opening) or not counted.free(mention.start, mention.end):
            continue
        start = mention.start - len(window) + article.start(1) if article else mention.start
        claims.append(
            Claim(
                "study-count",
                offset + start,
                offset + mention.end,
                masked[start : mention.end],
                count=1,
                designs=mention.designs,
            )
        )
    for count in find_participants(masked):
        if is_money(masked, count.start, count.end) or is_schedule_or_dose(
            masked, count.start + len(str(count.number))
        ):
            continue
        if not fractions.free(count.start, count.end):
            continue  # the "40" of "27 of 40 patients"
        if re.search(r"\b(?:no|every|each|per)\s+$", masked[max(0, count.start - 8) : count.start], re.I):
            continue  # "no two cases are the same": not a count of anyone
        bound: Bound = (
            "~"
            if re.search(
                r"\b(?:about|around|approximately|nearly|almost|some|over|more than)\s*$",
                masked[max(0, count.start - 16) : count.start],
                re.I,
            )
            else "="
        )
        if re.search(r"\b(?:over|more than|at least)\s*$", masked[max(0, count.start - 16) : count.start], re.I):
            bound = ">"
        claims.append(
            Claim(
                "participants",
                offset + count.start,
                offset + count.end,
                count.text,
                count=count.number,
                bound=bound,
                scope=scope,
                arm=_arm_near(masked, count.start, count.end),
                subgroup=subgroup_cue(masked, count.start, count.end),
            )
        )
    if any(c.kind == "participants" for c in claims):
        # "The study involved 2854 participants, 1406 were given ginkgo": counts whose noun is understood
        claimed = _Spans()
        for claim in sorted(claims, key=lambda c: c.start):
            if claimed.free(claim.start, claim.end):
                claimed.add(claim.start, claim.end)
        for match in _ELIDED_COUNT.finditer(masked):
            if not claimed.free(offset + match.start(), offset + match.end()) or is_money(masked, *match.span()):
                continue
            number = int(match.group(1).replace(",", ""))
            claims.append(
                Claim(
                    "participants",
                    offset + match.start(),
                    offset + match.end(),
                    match.group(1),
                    count=number,
                    scope=scope,
                    arm=_arm_near(masked, match.start(), match.end()),
                    subgroup=subgroup_cue(masked, match.start(), match.end()),
                )
            )
    return sorted((_trimmed(c, masked, offset) for c in claims), key=lambda c: c.start)


def _trimmed(claim: Claim, masked: str, offset: int) -> Claim:
    """The span without the white space a pattern took in, so a report highlights just the claim."""
    from dataclasses import replace

    start, end = claim.start, claim.end
    while start < end and masked[start - offset].isspace():
        start += 1
    while end > start and masked[end - 1 - offset].isspace():
        end -= 1
    return replace(claim, start=start, end=end) if (start, end) != (claim.start, claim.end) else claim


def _rate_claim(
    masked: str, offset: int, start: int, end: int, low: float, high: float, bound: Bound, scope: Scope
) -> Claim:
    return Claim(
        "rate",
        offset + start,
        offset + end,
        masked[start:end].strip(),
        low=low,
        high=high,
        bound=bound,
        outcome=_outcome(masked[end : end + 300]),
        scope=scope,
        quantifier="most" if re.search(r"\bmost\b", masked[max(0, start - 300) : end + 300], re.I) else "",
        arm=_arm_near(masked, start, end),
    )


def _composition(masked: str, start: int, end: int) -> bool:
    """ "herb (25%) and root (25%)": a bare percentage in parentheses after a word with no outcome, people or
    arm word in the six words before it is a share of a mixture, not a result."""
    if masked[start - 1 : start] != "(" or masked[end : end + 1] != ")":
        return False
    words = [w.lower() for w in re.findall(r"[A-Za-z-]+", masked[max(0, start - 60) : start])][-6:]
    cues = set(OUTCOME_WORDS) | {
        "of",
        "rate",
        "group",
        "arm",
        "patients",
        "participants",
        "people",
        "women",
        "men",
        "responders",
        "controls",
        "control",
        "placebo",
        "sham",
    }
    return not any(word in cues for word in words)


def _arm_near(masked: str, start: int, end: int) -> str | None:
    """The arm a number is about: an arm label ("sham", "placebo", "usual care", "control(s)") in the 4 words
    after it ("44.2% in the sham acupuncture group"), else the nearest in the 12 words before it ("In the sham
    group, 53% responded"), within its clause or table cell; "controlled" (a design) names no arm."""
    after = " ".join(re.split(r"[;:,|]", masked[end : end + 80])[0].split()[:4])
    found = list(find_arms(after))
    if found:
        return found[0].label
    before = " ".join(re.split(r"[;:|]", masked[max(0, start - 200) : start])[-1].split()[-12:])
    found = list(find_arms(before))
    return found[-1].label if found else None


#: "27 of 40", "18 out of 40": the events and n of one arm; not "3 of 10 studies" (a count of studies)
_FRACTION = re.compile(
    r"(?<![\w.,$%/-])(\d{1,3}(?:,\d{3})+|\d{1,7})\s+(?:out\s+)?of\s+(?:the\s+)?(\d{1,3}(?:,\d{3})+|\d{1,7})"
    r"(?![\w.,%/]*\d)(?![\w.,%/-])(?!\s+(?:[\w-]+\s+)?(?:studies|study|trials?|reviews?|papers?|articles?)\b)",
    re.I,
)
#: "the usual placebo effect of 30%", "typically 20%": a general figure, not a result of the cited study
_BACKGROUND = re.compile(
    r"\b(?:usual|usually|typical|typically|generally|normally|on\s+average|in\s+general)\b[\w\s,-]{0,30}$", re.I
)
_DEMOGRAPHIC = re.compile(
    r"\s*(?:were\s+|was\s+)?(?:female|male|women|men|white|black|asian|hispanic|smokers|"
    r"married|employed)\b",
    re.I,
)
_ELIDED_COUNT = re.compile(
    r"(?<![\w.,$%-])(\d{1,3}(?:,\d{3})+|\d{1,7})(?=\s+(?:were|was|died|had|developed|received|in\s+the\s+[\w-]+\s+"
    r"(?:group|arm)))"
)


def _outcome(rest: str) -> str:
    """The outcome words of the clause after a percentage ('were cured or significantly improved')."""
    words = re.findall(r"[A-Za-z-]+", re.split(r"[;:]", rest)[0].lower())
    kept = " ".join(w for w in words[:25] if w in OUTCOME_WORDS or w in ("or", "and"))
    return re.sub(r"^(?:(?:and|or)\s+)+|(?:\s+(?:and|or))+$", "", re.sub(r"\b(and|or)(\s+(and|or))+\b", r"\1", kept))


_PER_STUDY = re.compile(r"\b(?:" + "|".join(PER_STUDY_WORDS) + r")\b")


def _scope(lowered: str) -> Scope:
    if _PER_STUDY.search(lowered):
        return "per-study"
    if any(w in lowered for w in POOLED_WORDS):
        return "pooled"
    return "single"


def _study_count_claim(match: re.Match, offset: int) -> Claim | None:
    word = match.group(1).lower()
    count = int(word) if word.isdecimal() else NUMBER_WORDS.get(word)
    if count is None or count > 500:
        return None
    adjectives = match.group(2).lower()
    if word in ("a", "an") and not adjectives.strip() and not designs_of(match.group()):
        return None
    country = next((c for adj, c in NATIONALITIES.items() if re.search(rf"\b{adj}\b", adjectives)), None)
    phrase = " ".join((adjectives + " " + match.group().split()[-1]).lower().split())
    designs = designs_of(phrase)
    if word in ("a", "an") and not designs and country is None:
        return None
    if re.match(
        r"\s*(?:of\s+(?:those|these|them|which|the\s+\w+))\b", match.string[match.end(1) : match.end(1) + 20], re.I
    ) and not re.match(r"\s*of\s+the\s+\d", match.string[match.end(1) : match.end(1) + 20]):
        return None  # "Fifteen of those trials": a subset, judged with the participants it names
    before = match.string[max(0, match.start() - 40) : match.start()]
    of_review = bool(
        re.search(r"(?:review|analysis|analyses)\s+(?:of|including|included|pooling|pooled)\s*$", before, re.I)
    )
    return Claim(
        "study-count",
        offset + match.start(),
        offset + match.end(),
        match.group(),
        count=count,
        country=country,
        designs=designs,
        of_review=of_review,
    )
