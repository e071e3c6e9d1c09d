"""Propose outcome data from an entry's abstract, every number with the quote it came from.

A person still decides: :func:`extract_abstract` returns a :class:`Proposal`
(design, country, participants, blinding, number of studies; arms with their
n, events, percentages, means and SDs; published effects with their CIs),
and each value carries a :class:`Quote`, the character offsets of the words
it was read from, so a reviewer can check it at a glance.

The rules that keep it honest:

* a number is proposed only when its quote, read again, gives that number
  (:func:`invented_numbers` checks exactly this, and the accuracy benchmark
  counts its failures, which must be zero);
* a percentage without a count stays a percentage; a count is computed only
  when the abstract gives the arm's n and the rate, as written, fits exactly
  one whole number of events; it is then marked ``computed``;
* what does not fit (a CI that does not contain its estimate, totals that
  disagree, a rate shared by several arms) goes into ``ambiguities`` and
  is not proposed.

The words (numbers as written, designs, arm labels, qualifiers) come from
:mod:`evidence.grammar`, the grammar the audit's claim finder reads pages
with.  Rules and regular expressions only: nothing is downloaded or learnt.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from evidence import __version__, grammar
from evidence.errors import EvidenceError, Problem
from evidence.library.fields import REVIEW_DESIGNS
from evidence.library.outcomes import OUTCOME_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

EXTRACTED_BY = f"evidence extract {__version__}"


@dataclass(frozen=True)
class Quote:
    """``abstract[start:end]``: the words a value was read from."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Value:
    """One proposed value and its quote; ``computed`` values were derived (the note says how)."""

    value: Any
    quote: Quote
    computed: bool = False
    note: str = ""


@dataclass
class ProposedArm:
    """One arm x outcome x time point as the abstract states it."""

    label: str
    role: str
    label_quote: Quote
    outcome: str = ""
    timepoint: str = ""
    n: Value | None = None
    events: Value | None = None
    percent: Value | None = None
    mean: Value | None = None
    sd: Value | None = None


@dataclass
class Effect:
    """A published effect: measure, estimate and 95% CI, with the studies and participants of a review's analysis."""

    measure: str
    estimate: Value
    ci_lb: Value
    ci_ub: Value
    outcome: str = ""
    studies: Value | None = None
    participants: Value | None = None


@dataclass
class Proposal:
    """What the abstract of entry ``key`` says, ready to be checked by a person."""

    key: str
    abstract: str
    design: Value | None = None
    blinding: Value | None = None
    country: Value | None = None
    participants: Value | None = None
    studies: Value | None = None
    arms: list[ProposedArm] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    ambiguities: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form documented in docs/extract.md."""
        data = asdict(self)
        data["extracted_by"] = EXTRACTED_BY
        return data


# --- text helpers --------------------------------------------------------------------------------------------------

_DASHES = str.maketrans({"\u2013": "-", "\u2212": "-", "\u2012": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-"})
SIGNED = r"(?:-\s?)?\d+(?:\.\d+)?"


def _plain(text: str) -> str:
    """The abstract with every dash and minus as '-': same length, so offsets hold."""
    return text.translate(_DASHES)


def _quote(text: str, start: int, end: int) -> Quote:
    return Quote(start, end, text[start:end])


def _number(text: str) -> float:
    return float(text.replace(" ", "").translate(_DASHES))


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans: a full stop, question or exclamation mark followed by space and a capital."""
    spans, start = [], 0
    for match in re.finditer(r"[.!?](?=\s+[A-Z(])", text):
        if re.search(
            r"(?:\b[A-Za-z]|\bvs|\bet al|\be\.g|\bi\.e)$", text[max(start, match.start() - 8) : match.start()]
        ):
            continue
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans if text[s:e].strip()]


def _sentence_of(spans: list[tuple[int, int]], position: int) -> tuple[int, int]:
    return next(((s, e) for s, e in spans if s <= position < e), (0, 0))


# --- design, blinding, country -------------------------------------------------------------------------------------

_PROTOCOL = re.compile(
    r"\b(?:will\s+(?:be\s+)?(?:randomly|randomi[sz]e|recruit|enrol|allocate|include|divided|assigned|"
    r"allocated|enrolled|recruited|included)|study\s+protocol)",
    re.I,
)
_DESIGN_RULES: tuple[tuple[str, str], ...] = (
    (
        "meta-analysis",
        r"\b(?:this|our|a|the)\s+(?:systematic\s+review\s+and\s+)?meta-?analys[ie]s\b"
        r"|\bmeta-?analys[ie]s\s+(?:was|were)\s+(?:then\s+)?(?:conducted|performed)"
        r"|\bpooled\s+(?:effect|estimate|results?)\b|\bmeta-regression\b",
    ),
    (
        "systematic-review",
        r"\b(?:we|databases?)\s+(?:\w+\s+){0,3}(?:searched|were\s+searched)\b"
        r"|\bsystematic\s+review\b(?=.{0,200}\b(?:included|searched)\b)",
    ),
    ("crossover", r"\bcross-?over\b"),
    ("case-report", r"\bcase\s+report\b|\b(?:A|An)\s+\d{1,3}-year-old\s+(?:wo)?man\b"),
    ("case-series", r"\bcase\s+series\b|\b\d+\s+(?:\w+\s+){0,2}patients\s+who\s+(?:have|had)\s+been\s+treated\b"),
    ("quasi-rct", r"\bquasi-randomi[sz]"),
    (
        "rct",
        r"\brandom(?:ly)?\s+(?:assigned|allocated|divided|control\s+method)\b|\brandomi[sz]ed\s+(?:to|into|in)\b"
        r"|\b(?:were|was)\s+randomi[sz]ed\b|\brandomi[sz]ed,?\s+(?:\w+[\s,-]+){0,6}?(?:trial|study)\b(?!s)",
    ),
)
_NOT_THIS_STUDY = re.compile(r"(?:full-scale|future|further|larger|required\s+for\s+a)\s+(?:\w+\s+){0,2}$", re.I)


def propose_design(text: str) -> Value | None:
    """The abstract's own design by the first rule that matches; mentions of other studies do not count."""
    plain = _plain(text)
    for design, pattern in _DESIGN_RULES:
        for match in re.finditer(pattern, plain, re.I | re.S):
            if design == "rct" and _NOT_THIS_STUDY.search(plain[max(0, match.start() - 40) : match.start()]):
                continue
            if design == "systematic-review" and not re.search(
                r"\b(?:included|analy[sz]ed|review|identified|yielded)\b", plain, re.I
            ):
                continue
            end = min(match.end(), match.start() + 80)
            return Value(design, _quote(text, match.start(), end))
    return None


_BLINDING = (
    ("double", r"\bdouble[- ]blind(?:ed)?\b|\bdouble[- ]dummy\b|\btriple[- ]blind"),
    ("single", r"\bsingle[- ]blind(?:ed)?\b|\b(?:assessor|patient|participant|observer)[- /]*(?:\w+[- ])?blinded\b"),
    ("open", r"\bopen[- ]label\b|\bopen\s+(?:trial|study)\b|\bunblinded\b"),
)


def propose_blinding(text: str) -> Value | None:
    for value, pattern in _BLINDING:
        match = re.search(pattern, text, re.I)
        if match:
            return Value(value, _quote(text, match.start(), match.end()))
    return None


COUNTRIES: dict[str, str] = {
    "China": "China",
    "Chinese": "China",
    "Japan": "Japan",
    "Japanese": "Japan",
    "Korea": "Korea",
    "Korean": "Korea",
    "Taiwan": "Taiwan",
    "Taiwanese": "Taiwan",
    "Germany": "Germany",
    "German": "Germany",
    "Switzerland": "Switzerland",
    "Swiss": "Switzerland",
    "Czech Republic": "Czech Republic",
    "Czechia": "Czech Republic",
    "Czech": "Czech Republic",
    "United Kingdom": "United Kingdom",
    "UK": "United Kingdom",
    "British": "United Kingdom",
    "England": "United Kingdom",
    "United States": "United States",
    "USA": "United States",
    "US": "United States",
    "American": "United States",
    "Australia": "Australia",
    "Australian": "Australia",
    "Brazil": "Brazil",
    "Brazilian": "Brazil",
    "Italy": "Italy",
    "Italian": "Italy",
    "Spain": "Spain",
    "Spanish": "Spain",
    "France": "France",
    "French": "France",
    "Sweden": "Sweden",
    "Swedish": "Sweden",
    "Norway": "Norway",
    "Norwegian": "Norway",
    "Denmark": "Denmark",
    "Danish": "Denmark",
    "Netherlands": "Netherlands",
    "Dutch": "Netherlands",
    "Canada": "Canada",
    "Canadian": "Canada",
    "Iran": "Iran",
    "Iranian": "Iran",
    "Turkey": "Turkey",
    "Turkish": "Turkey",
    "India": "India",
    "Indian": "India",
    "Israel": "Israel",
    "Israeli": "Israel",
    "Austria": "Austria",
    "Austrian": "Austria",
    "Hong Kong": "Hong Kong",
    "Singapore": "Singapore",
    "Thailand": "Thailand",
    "Thai": "Thailand",
}
_PLACE_NOUNS = (
    r"(?:patients|participants|adults|children|women|men|centres|centers|hospitals?|sites|clinics?|population)"
)
_COUNTRY_NAMES = "|".join(
    re.escape(c)
    for c in sorted(COUNTRIES, key=len, reverse=True)
    if COUNTRIES[c] == c or " " in c or c in ("Czechia", "UK", "USA", "England")
)
_DEMONYMS = "|".join(re.escape(c) for c in sorted(COUNTRIES, key=len, reverse=True))
_COUNTRY = re.compile(
    rf"\b(?:in|from|across)\s+(?:mainland\s+)?({_COUNTRY_NAMES})\b(?!-)"
    rf"|\b({_DEMONYMS})\s+(?:[\w-]+\s+){{0,2}}?(?:\w+-)?{_PLACE_NOUNS}\b"
)


def propose_country(text: str, ambiguities: list[str]) -> Value | None:
    """Where the study was done, when the abstract says it ("in China", "Japanese patients", "Swiss sleep-centres")."""
    found: dict[str, Value] = {}
    for match in _COUNTRY.finditer(text):
        name = match.group(1) or match.group(2)
        if name == "US" and not match.group(1):
            continue
        found.setdefault(COUNTRIES[name], Value(COUNTRIES[name], _quote(text, match.start(), match.end())))
    if len(found) > 1:
        ambiguities.append(f"country: the abstract names {', '.join(sorted(found))}; none proposed")
        return None
    return next(iter(found.values()), None)


# --- participants and studies ------------------------------------------------------------------------------------

_BETWEEN_STOP = (
    r"(?!(?:of|to|than|per|or|in|at|on|for|with|from|the|were|was|had|have|who|aged|then|all|each|"
    r"years?|weeks?|days?|months?|hours?|minutes?|sessions?|times?|mg|ml|percent)\b)"
)
_WORD_HUNDRED = (
    r"(?:(?:one|two|three|four|five|six|seven|eight|nine)\s+hundred(?:\s+and\s+"
    rf"{grammar.NUMBER})?)"
)
COUNT = rf"(?:{_WORD_HUNDRED}|{grammar.NUMBER})"
_TOTAL = re.compile(
    rf"(?:\b(?:a\s+total\s+of|in\s+total,?|overall,?|totally|total\s+of)\s+)?(?<![\w.,=-])({COUNT})\s+"
    rf"(?:{_BETWEEN_STOP}[A-Za-z][\w-]*\s+){{0,4}}?(?:{grammar.PEOPLE_NOUNS}|migraineurs|men\s+and\s+women)\b",
    re.I,
)


def parse_count(text: str) -> int | None:
    """:func:`evidence.grammar.parse_count`, and "one hundred and twenty-six"."""
    match = re.fullmatch(r"(\w+)\s+hundred(?:\s+and\s+(.+))?", " ".join(text.split()), re.I)
    if match:
        hundreds = grammar.parse_count(match.group(1))
        rest = grammar.parse_count(match.group(2)) if match.group(2) else 0
        return None if hundreds is None or rest is None else hundreds * 100 + rest
    return grammar.parse_count(text)


_TOTAL_PAREN = re.compile(
    r"\b(?:patients|participants|subjects)(?:\s+with\s+[\w\s-]{1,40}?)?\s*\(\s*[Nn]\s*=\s*(\d+)\s*\)", re.I
)
_STUDIES = re.compile(
    rf"(?<![\w.,=-])({grammar.NUMBER})\s+(?:eligible\s+|randomi[sz]ed\s+)?(?:randomi[sz]ed\s+controlled\s+trials|RCTs|"
    rf"studies|trials)\b(?=\s*(?:\([^()]{{0,40}}\)\s*)?(?:were\s+(?:\w+\s+)?(?:included|analy[sz]ed)|involving|with\b|"
    rf"in\s+the\s+\d{{4}}))"
    rf"|\b(?:analysis\s+(?:on|of)|yielded|identified\s+from)\s+({grammar.NUMBER})\s+(?:RCTs|trials|studies)\b",
    re.I,
)
_INVOLVING = re.compile(rf"^\s*(?:\(|involving\s+|with\s+)({grammar.NUMBER})\s+(?:{grammar.PEOPLE_NOUNS})\b", re.I)
_SEXES = re.compile(r"(?<![\w.])(\d+)\s+(?:male|men)\s+and\s+(\d+)\s+(?:female|women)\b", re.I)


def propose_participants(text: str, ambiguities: list[str]) -> Value | None:
    """The total the abstract states for the study (first in the text), never a sum made here."""
    plain = _plain(text)
    candidates: list[Value] = []
    for match in _TOTAL_PAREN.finditer(plain):
        candidates.append(Value(int(match.group(1)), _quote(text, match.start(), match.end())))
    for match in _TOTAL.finditer(plain):
        before = plain[max(0, match.start() - 60) : match.start()]
        count = parse_count(match.group(1))
        sentence = plain[plain.rfind(".", 0, match.start()) + 1 : match.end() + 40]
        if count is None or count < 2 or _PROTOCOL.search(sentence) or re.search(r"\([^()]*$", before):
            continue
        if re.search(r"\b(?:among|in\s+each|estimated\s+to\s+be|from)\s*$", before, re.I):
            continue
        after = plain[match.end() : match.end() + 60]
        if re.match(r"\s*(?:providing|completed|who\s+completed|were\s+lost|dropped)", after, re.I):
            continue
        candidates.append(Value(count, _quote(text, match.start(1), match.end())))
    if not candidates:
        return None
    chosen = min(candidates, key=lambda v: v.quote.start)
    sexes = _SEXES.search(plain)
    if sexes and int(sexes.group(1)) + int(sexes.group(2)) != chosen.value:
        ambiguities.append(
            f"participants: {chosen.value} stated, but {sexes.group()} make "
            f"{int(sexes.group(1)) + int(sexes.group(2))}; none proposed"
        )
        return None
    return chosen


def propose_studies(text: str) -> tuple[Value | None, Value | None]:
    """The number of included studies, and the participants stated with them ("Twelve RCTs involving 3286 ...")."""
    plain = _plain(text)
    for match in _STUDIES.finditer(plain):
        group = 1 if match.group(1) else 2
        count = grammar.parse_count(match.group(group))
        if not count:
            continue
        studies = Value(count, _quote(text, match.start(group), match.end()))
        people = _INVOLVING.match(plain[match.end() : match.end() + 60])
        participants = None
        if people:
            start = match.end() + people.start(1)
            participants = Value(grammar.parse_count(people.group(1)), _quote(text, start, match.end() + people.end()))
        return studies, participants
    return None, None


# --- effects -----------------------------------------------------------------------------------------------------

MEASURES: tuple[tuple[str, str], ...] = (
    (r"standardi[sz]ed\s+mean\s+differences?|SMDs?", "SMD"),
    (r"weighted\s+mean\s+differences?|WMD", "MD"),
    (r"mean\s+differences?|MD|average\s+differences?|differences?|Δ|delta", "MD"),
    (r"risk\s+ratios?|relative\s+risks?|RR", "RR"),
    (r"odds\s+ratios?|OR", "OR"),
    (r"hazard\s+ratios?|HR", "HR"),
    (r"risk\s+differences?|RD", "RD"),
)
_MEASURE = re.compile(r"(?<![\w])(" + "|".join(p for p, _ in MEASURES) + r")(?![\w])")
_CI = re.compile(
    rf"(?<![\w.])({SIGNED})(?:\s+[a-z]+){{0,3}}\s*[\[(,;]?\s*\[?(?:95\s?%\s*)?(?:confidence\s+intervals?|CI)"
    rf"(?:\s*[\[(]CI[\])])?\s*[:,=]?\s*({SIGNED})\s*(?:to|,|-)\s*({SIGNED})",
    re.I,
)
_COMPACT = re.compile(
    rf"\(\s*({grammar.NUMBER})\s+(?:trials|studies|RCTs),\s*({grammar.NUMBER})\s+(?:{grammar.PEOPLE_NOUNS}),\s*"
    rf"(?:([A-Z]{{2,3}})\s+)?({SIGNED}),\s*({SIGNED})\s+to\s+({SIGNED})",
    re.I,
)
_CI_BEFORE = re.compile(
    rf"(?:95\s?%\s*(?:CI|confidence\s+intervals?)\)?)\s*[,:]\s*({SIGNED})\s*\(\s*({SIGNED})\s*(?:,|to|-)\s*({SIGNED})\s*\)",
    re.I,
)
_N_STUDIES_AFTER = re.compile(r"^\s*,\s*n\s*=\s*(\d+)\s*\)")


def _measure_before(plain: str, start: int) -> str | None:
    window_start = max(0, start - 60)
    window = re.split(r"[;]|\)\s*[,;]|\.\s", plain[window_start:start])[-1]
    found = None
    for match in _MEASURE.finditer(window):
        found = match.group(1)
    if found is None:
        return None
    for pattern, name in MEASURES:
        if re.fullmatch(pattern, found, re.I if len(found) > 3 else 0):
            return name
    return None


def propose_effects(text: str, is_review: bool, ambiguities: list[str]) -> list[Effect]:
    """Estimates with a 95% CI; an estimate outside its own CI is reported, not proposed."""
    plain = _plain(text)
    effects: list[Effect] = []
    taken: list[tuple[int, int]] = []
    for match in _CI.finditer(plain):
        est, lb, ub = (_number(match.group(i)) for i in (1, 2, 3))
        measure = _measure_before(plain, match.start(1))
        if measure is None:
            continue
        if not lb <= est <= ub:
            ambiguities.append(
                f"effect {match.group().strip()!r}: the estimate {est:g} is not inside its CI "
                f"{lb:g} to {ub:g} (a lost minus sign?); not proposed"
            )
            continue
        effect = Effect(
            measure,
            Value(est, _quote(text, match.start(1), match.end(1))),
            Value(lb, _quote(text, match.start(2), match.end(2))),
            Value(ub, _quote(text, match.start(3), match.end(3))),
        )
        _review_counts(text, plain, match, effect, is_review)
        effects.append(effect)
        taken.append(match.span())
    for match in _CI_BEFORE.finditer(plain):  # "relative risk (95% CI), 2.20 (1.37, 3.52)"
        if any(s <= match.start(1) < e for s, e in taken):
            continue
        est, lb, ub = (_number(match.group(i)) for i in (1, 2, 3))
        measure = _measure_before(plain, match.start())
        if measure is None or not lb <= est <= ub:
            continue
        effects.append(
            Effect(
                measure,
                Value(est, _quote(text, match.start(1), match.end(1))),
                Value(lb, _quote(text, match.start(2), match.end(2))),
                Value(ub, _quote(text, match.start(3), match.end(3))),
            )
        )
        taken.append(match.span())
    for match in _COMPACT.finditer(plain):
        if any(s <= match.start(4) < e for s, e in taken):
            continue
        est, lb, ub = (_number(match.group(i)) for i in (4, 5, 6))
        measure = match.group(3).upper() if match.group(3) else (effects[-1].measure if effects else None)
        if measure is None or not lb <= est <= ub:
            continue
        effect = Effect(
            measure,
            Value(est, _quote(text, match.start(4), match.end(4))),
            Value(lb, _quote(text, match.start(5), match.end(5))),
            Value(ub, _quote(text, match.start(6), match.end(6))),
            studies=Value(grammar.parse_count(match.group(1)), _quote(text, match.start(1), match.end(1))),
            participants=Value(grammar.parse_count(match.group(2)), _quote(text, match.start(2), match.end(2))),
        )
        effects.append(effect)
    effects.sort(key=lambda e: e.estimate.quote.start)
    return effects


def _review_counts(text: str, plain: str, match: re.Match[str], effect: Effect, is_review: bool) -> None:
    """Trials and participants written beside a review's effect: "(59 trials, 4980 individuals, SMD ...", ", n=8)"."""
    if not is_review:
        return
    before = plain[max(0, match.start() - 80) : match.start(1)]
    paren = before.rfind("(")
    if paren >= 0:
        head = re.match(
            rf"\(\s*({grammar.NUMBER})\s+(?:trials|studies|RCTs),\s*({grammar.NUMBER})\s+"
            rf"(?:{grammar.PEOPLE_NOUNS})",
            before[paren:],
            re.I,
        )
        if head:
            offset = match.start() - 80 if match.start() >= 80 else 0
            offset += paren
            effect.studies = Value(
                grammar.parse_count(head.group(1)), _quote(text, offset + head.start(1), offset + head.end(1))
            )
            effect.participants = Value(
                grammar.parse_count(head.group(2)), _quote(text, offset + head.start(2), offset + head.end(2))
            )
            return
    after = _N_STUDIES_AFTER.match(plain[match.end() : match.end() + 20])
    if after:
        effect.studies = Value(
            int(after.group(1)), _quote(text, match.end() + after.start(), match.end() + after.end(1))
        )


# --- arms --------------------------------------------------------------------------------------------------------

_CONTROL_WORDS = re.compile(
    r"\b(?:placebo|sham|control|controls|waiting|wait-list|waitlist|usual\s+care|no\s+(?:active\s+)?intervention|"
    r"no\s+treatment|conventional|routine|western\s+medicine|standard\s+care|drugs?\s+group)\b",
    re.I,
)
_LABEL_STOP = re.compile(
    r"(?:^|[,;:.()\[\]]|[),]\s*(?:and|or)|\b(?:to|into|either|receive|received|take|assigned|allocated|divided|of|with|"
    r"versus|vs|v|were|was|the|a|an|groups?:)\b)\s*$",
    re.I,
)
_ARM_N = re.compile(
    r"\(\s*(?:([A-Z]{2,5})\s*,\s*)?(?:[nN]|([A-Z]{2,5}))\s*=\s*(\d+)\s*\)"
    r"|\((\d+)\s*cases?\b[^()]{0,40}\)|\((\d+)\)(?=\s*(?:group|arm)\b)"
    r"|\b(?:of|with)\s+(\d+)\s+(?:[Pp]atients|[Cc]ases)\b|(?<=group),\s+(\d+)(?=\s+(?:[Pp]atients|[Cc]ases)\b)"
    r"|(?<![\w.])(\d+)\s+from\s+(?:the\s+|both\s+)?",
)
_EACH = re.compile(
    r"(?<![\d.])(\d+)\s+(?:cases|patients|participants)\s+in\s+each\s+group"
    r"|\b(?:two|three)\s+groups?\s+of\s+(\d+)",
    re.I,
)


def _role(label: str) -> str:
    return "control" if _CONTROL_WORDS.search(label) else "intervention"


def _label_before(plain: str, end: int) -> tuple[int, str]:
    """The noun phrase that ends at ``end``: back to a comma, 'and', 'or', 'to', a colon or a bracket."""
    start = max(0, end - 90)
    window = plain[start:end]
    words = list(re.finditer(r"[\w/+-]+", window))
    label_start = len(window)
    for index in range(len(words) - 1, -1, -1):
        word = words[index]
        head = window[: word.start()]
        label_start = word.start()
        if _LABEL_STOP.search(head) or len(window[label_start:].split()) >= 9:
            break
        if (
            re.search(r"\b(?:and|or)\s*$", head, re.I)
            and index > 0
            and re.fullmatch(r"(?:the|a|an|either)", words[index - 1].group(), re.I) is None
        ):
            following = window[word.start() :].split()[0].lower()
            if following in ("the", "a", "an"):
                break
    label = window[label_start:].strip(" ,:;(")
    return start + label_start, label


def _clean_label(label: str) -> str:
    label = re.sub(r"^(?:\d\)\s*|the\s+|a\s+|an\s+|both\s+|in\s+the\s+)+", "", label, flags=re.I)
    return label.strip(" ,:;")


def propose_arms(text: str, ambiguities: list[str]) -> tuple[list[ProposedArm], dict[str, ProposedArm]]:
    """Arms named with their size ("placebo (n = 115)", "experimental group (34 cases)", "RA = 26"),
    and the abbreviations the abstract gives them ("RA", "REA")."""
    plain = _plain(text)
    arms: list[ProposedArm] = []
    seen: dict[str, ProposedArm] = {}
    abbreviations: dict[str, ProposedArm] = {}
    for match in _ARM_N.finditer(plain):
        if _PROTOCOL.search(plain[max(0, match.start() - 120) : match.start()]):
            continue
        if match.group(5):  # "HSM (152) group": the label is the words before, with "group"
            label_start, label = _label_before(plain, match.start())
            label, n = _clean_label(label), int(match.group(5))
            if label and not grammar.parse_number(label) and label.lower() not in seen:
                arm = ProposedArm(
                    label,
                    _role(label),
                    _quote(text, label_start, label_start + len(label)),
                    n=Value(n, _quote(text, match.start(5), match.end(5))),
                )
                seen[label.lower()] = arm
                arms.append(arm)
            continue
        number_group = next(i for i in (3, 4, 6, 7, 8) if match.group(i))
        n = int(match.group(number_group))
        if number_group == 7:
            if re.match(r"\s+(?:cases|patients)\s+in\s+each\b", plain[match.end(7) :], re.I):
                continue
            label_start, label = _label_before(plain, match.start())
        elif number_group == 8:  # "41 from both treatment groups"
            after = re.match(r"[\w\s-]{1,60}?group(?:s)?\b", plain[match.end() :])
            if not after:
                continue
            label_start, label = match.end(), plain[match.end() : match.end() + after.end()]
        elif number_group == 6:  # "Treatment group of 30 Patients"
            label_start, label = _label_before(plain, match.start())
            if not re.search(r"(?:group|arm)s?$", label.strip(), re.I):
                continue
        else:
            label_start, label = _label_before(plain, match.start())
            if number_group == 4 and not re.search(r"group|arm", label, re.I):
                continue
        label = _clean_label(label)
        numbered = None
        if not re.search(r"group|arm", label, re.I):  # "2) topiramate group: a 4-week titration ... (n = 33)"
            clause = plain[max(0, match.start() - 250) : match.start()].rsplit(";", 1)[-1]
            numbered = re.search(r"(?<!\d)\d\)\s*([A-Za-z][\w\s-]{1,40}?(?:group|arm))\s*:", clause)
        if numbered:
            label = numbered.group(1)
            label_start = plain.rfind(label, 0, match.start())
        if not label or len(label) > 80 or grammar.parse_number(label) is not None:
            continue
        if re.search(rf"\b{grammar.PEOPLE_NOUNS}$|^{grammar.PEOPLE_NOUNS}\b", label, re.I) or re.search(
            rf"\b{grammar.PEOPLE_NOUNS}\s+with\s+$", plain[max(0, label_start - 30) : label_start], re.I
        ):
            continue  # "Patients (N = 344)", "Patients with primary RLS (n = 202)": the total, not an arm
        key = label.lower()
        if key in seen:
            earlier = seen[key].n
            if earlier and earlier.value != n:
                ambiguities.append(f"arm {label!r}: sizes {earlier.value} and {n} both stated")
            continue
        quote_start = match.start(number_group)
        arm = ProposedArm(
            label,
            _role(label),
            _quote(text, label_start, label_start + len(label)),
            n=Value(n, _quote(text, quote_start, match.end(number_group))),
        )
        abbreviation = match.group(1) or match.group(2)
        if abbreviation:
            abbreviations[abbreviation] = arm
        seen[key] = arm
        arms.append(arm)
    each = _EACH.search(plain)
    if each and not arms:
        n = int(each.group(1) or each.group(2))
        groups = re.findall(r"\b(?:an?|the)\s+([\w-]+(?:\s+[\w-]+)?\s+group)\b", plain[: each.start()], re.I)
        for name in dict.fromkeys(g.lower() for g in groups):
            start = plain.lower().find(name)
            arms.append(
                ProposedArm(
                    name,
                    _role(name),
                    _quote(text, start, start + len(name)),
                    n=Value(n, _quote(text, each.start(), each.end())),
                )
            )
    if not arms:
        arms = _arms_without_sizes(text, plain)
    return arms, abbreviations


_ASSIGNED = re.compile(
    r"\b(?:randomly\s+assigned|randomi[sz]ed|allocated)\s+to\s+(?:receive\s+|take\s+)?(?:either\s+)?"
    r"(?:double-blind\s+)?([\w\s/().,-]{2,60}?)\s+or\s+([\w\s/-]{2,40}?)(?=\s+(?:for|during|over|in|at)\b|[.,;])",
    re.I,
)
_SINGLE_ARM = re.compile(
    r"\b(?:tested|treated\s+with|received)\s+(?:[\w-]+,?\s+){0,4}?([\w-]+),?\s+in\s+(\d+)\s+"
    rf"{grammar.PEOPLE_NOUNS}"
    r"|(?<![\w.])(\d+)\s+(?:[\w-]+\s+){0,2}patients\s+who\s+(?:have|had)\s+been\s+treated\s+with\s+([\w-]+)",
    re.I,
)


def _arms_without_sizes(text: str, plain: str) -> list[ProposedArm]:
    """Arms named only by their assignment ("randomly assigned to take pramipexole or placebo") or a single arm."""
    match = _ASSIGNED.search(plain)
    if match:
        arms = []
        for group in (1, 2):
            label = re.sub(r"\s*\([^)]*\)\s*", " ", match.group(group)).strip(" ,")
            label = re.sub(
                r"^(?:optimi[sz]ed|fixed\s+doses\s+of|(?:double-blind\s+)?treatment\s+with)\s+", "", label, flags=re.I
            )
            if label and len(label.split()) <= 5:
                start = match.start(group)
                arms.append(ProposedArm(label, _role(label), _quote(text, start, start + len(match.group(group)))))
        return arms
    single = _SINGLE_ARM.search(plain)
    if single:
        label_group, n_group = (1, 2) if single.group(1) else (4, 3)
        return [
            ProposedArm(
                single.group(label_group),
                "intervention",
                _quote(text, single.start(label_group), single.end(label_group)),
                n=Value(int(single.group(n_group)), _quote(text, single.start(n_group), single.end(n_group))),
            )
        ]
    return []


_OUTCOME = re.compile(
    r"(?<![\w-])(ineffective(?:\s+rate)?|(?:total\s+)?effective(?:ness)?(?:\s+rates?)?|cured?-markedly\s+effective\s+rate|"
    r"cure\s+rates?|responder\s+rates?|responders?|response(?:\s+rates?)?|remission|improvement\s+rate|improvement|"
    r"adverse\s+events|augmentation|successful\s+rate(?:\s+of\s+attack\s+control)?|clinical\s+control\s+rate|"
    r"markedly\s+effective(?:\s+rate)?|much\s+(?:better|improved)|relaps\w*)",
    re.I,
)
_TIMEPOINT = re.compile(
    r"(?:at|after|by)\s+(?:the\s+)?(?:end\s+of\s+(?:the\s+)?(?:treatment|intervention|trial)|\d+\s*(?:-\s*)?"
    r"(?:weeks?|months?|days?)(?:\s+follow-up)?|week\s+\d+|(?:\d+|six|three|twelve)-month\s+follow-up)"
    r"|\b\d+-month\s+follow-up|\bend\s+of\s+the\s+(?:treatment|intervention)",
    re.I,
)
_THRESHOLD_AFTER = re.compile(
    r"^\s*(?:or\s+(?:more|greater)\s+)?(?:[\w-]+\s+)?(?:reduction|decrease|improvement|fewer|"
    r"less|lower|drop|of\s+(?:patients|participants)\s+(?:consented|were\s+lost)|"
    r"of\s+the\s+participants)",
    re.I,
)
_THRESHOLD_BEFORE = re.compile(r"(?:≥|>=|>|<|≤|at\s+least|more\s+than|less\s+than|over|score\s+>)\s*$", re.I)


def _timepoint(plain: str, start: int, end: int) -> str:
    match = None
    for match in _TIMEPOINT.finditer(plain, start, end):
        pass
    return " ".join(match.group().split()) if match else ""


def _arm_mentions(
    plain: str, arms: list[ProposedArm], abbreviations: dict[str, ProposedArm]
) -> list[tuple[int, int, ProposedArm]]:
    """Where each arm is named in ``plain``: its label, its head noun, 'control' or its abbreviation."""
    mentions: list[tuple[int, int, ProposedArm]] = []
    lower = plain.lower()
    names: list[tuple[str, ProposedArm]] = []
    for arm in arms:
        words = arm.label.lower().split()
        names.append((arm.label.lower(), arm))
        if words and words[-1] == "group" and len(words) > 1:
            names.append((" ".join(words[:-1]), arm))
            if len(words) > 2:
                names.append((" ".join(words[-2:]), arm))
        if arm.role == "control" and "control" in arm.label.lower():
            names.append(("control group", arm))
            names.append(("controls", arm))
    taken = bytearray(len(plain))
    found = [(name, arm, lower) for name, arm in sorted(names, key=lambda item: len(item[0]), reverse=True)]
    found += [(abbreviation, arm, plain) for abbreviation, arm in abbreviations.items()]
    for name, arm, haystack in found:
        for match in re.finditer(rf"(?<![\w-]){re.escape(name)}s?(?![\w-])", haystack):
            if not any(taken[match.start() : match.end()]):
                taken[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
                mentions.append((match.start(), match.end(), arm))
    return sorted(mentions, key=lambda m: m[0])


def attach_results(
    text: str, arms: list[ProposedArm], ambiguities: list[str], abbreviations: dict[str, ProposedArm] | None = None
) -> list[ProposedArm]:
    """Percentages, counts and means of the results, each given to the arm named beside it."""
    plain = _plain(text)
    mentions = _arm_mentions(plain, arms, abbreviations or {})
    results: list[ProposedArm] = []
    for s_start, s_end in _sentences(plain):
        if _PROTOCOL.search(plain[s_start:s_end]):
            continue
        results += _percent_rows(text, plain, arms, mentions, s_start, s_end, ambiguities)
        results += _count_rows(text, plain, arms, mentions, s_start, s_end, ambiguities)
        results += _mean_rows(text, plain, mentions, s_start, s_end)
    return results


def _new_row(arm: ProposedArm, outcome: str, timepoint: str) -> ProposedArm:
    return ProposedArm(arm.label, arm.role, arm.label_quote, outcome=outcome, timepoint=timepoint, n=arm.n)


def _outcome_before(plain: str, start: int, s_start: int) -> str:
    found = None
    for found in _OUTCOME.finditer(plain, max(s_start, start - 160), start):
        pass
    return " ".join(found.group().lower().split()) if found else ""


def _arm_for(
    plain: str,
    arms: list[ProposedArm],
    mentions: list[tuple[int, int, ProposedArm]],
    start: int,
    end: int,
    s_start: int,
    s_end: int,
    versus_words: tuple[re.Match[str] | None, re.Match[str] | None],
) -> ProposedArm | None:
    """The arm a number at ``plain[start:end]`` belongs to: named just after it, paired by 'vs', or named before."""
    after = re.match(
        r"\s*(?:\(([^()]{1,40})\)|(?:in|for|of)\s+(?:the\s+)?([^,;.()]{1,100}?)(?=\s+(?:group|arm)s?\b|[,;.)]|$))",
        plain[end : end + 110],
    )
    if after:
        named = [m for m in mentions if end <= m[0] <= end + after.end() + 8]
        if named:
            return named[0][2]
    versus, words = versus_words if len(arms) == 2 else (None, None)
    if versus:
        first = s_start + versus.start() <= start < s_start + versus.start(2)
        if words:
            w_start = s_start + words.start()
            left = [
                m
                for m in mentions
                if w_start + words.start(1) - words.start() <= m[0] < w_start + words.end(1) - words.start()
            ]
            right = [
                m
                for m in mentions
                if w_start + words.start(2) - words.start() <= m[0] < w_start + words.end(2) - words.start()
            ]
            if left or right:
                known = (left or right)[0][2]
                other = arms[1] if known is arms[0] else arms[0]
                first_arm, second_arm = (known, other) if left else (other, known)
                return first_arm if first else second_arm
        named_arms: list[ProposedArm] = []
        for m in mentions:
            if s_start <= m[0] < s_start + versus.start() and all(m[2] is not a for a in named_arms):
                named_arms.append(m[2])
        if len(named_arms) == 2:  # "pramipexole was more effective than placebo ... 58.6% vs. 42.8%"
            return named_arms[0] if first else named_arms[1]
    before = [m for m in mentions if s_start - 200 <= m[1] <= start and not re.search(r";", plain[m[1] : start])]
    return before[-1][2] if before else None


_VERSUS_NUMBERS = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s?%?\s*(?:vs\.?|versus)\s+(\d+(?:\.\d+)?)\s?%")
_VERSUS_WORDS = re.compile(
    r"(?<![\w-])([\w-]{1,40}(?:\s+[\w-]{1,40}){0,3})\s+(?:vs\.?|versus)\s+([\w-]{1,40}(?:\s+[\w-]{1,40}){0,3})"
)


def _versus_of(plain: str, s_start: int, s_end: int) -> tuple[re.Match[str] | None, re.Match[str] | None]:
    """The first "x% vs y%" of a sentence, and the "A vs B" words before it; read once per sentence."""
    versus = _VERSUS_NUMBERS.search(plain[s_start:s_end])
    if not versus:
        return None, None
    return versus, _VERSUS_WORDS.search(plain[s_start : s_start + versus.start()])


def _is_threshold(plain: str, start: int, end: int) -> bool:
    return bool(
        _THRESHOLD_AFTER.match(plain[end : end + 40]) or _THRESHOLD_BEFORE.search(plain[max(0, start - 12) : start])
    )


def _respectively(
    plain: str,
    arms: list[ProposedArm],
    mentions: list[tuple[int, int, ProposedArm]],
    readable: list[tuple[Any, int, int]],
    s_start: int,
    s_end: int,
    ambiguities: list[str],
) -> list[ProposedArm] | None:
    """For "65.0% and 40.0% in the acupuncture and sham groups, respectively": the arms in the order named.

    None when the sentence has no "respectively"; [] (nothing read) when the rates and the arms named do not
    pair up one to one, which is reported rather than guessed.
    """
    if not re.search(r"\brespectively\b", plain[s_start:s_end], re.I) or not readable:
        return None
    named: list[ProposedArm] = []
    for _, _, arm in (m for m in mentions if s_start <= m[0] < s_end):
        if all(arm is not other for other in named):
            named.append(arm)
    if len(named) != len(readable) or len(named) < 2:
        ambiguities.append(
            f"{len(readable)} rate(s) 'respectively' in {plain[s_start:s_end][:80]!r}... but {len(named)} arm(s) "
            "named there; not proposed"
        )
        return []
    return named


def _percent_rows(
    text: str,
    plain: str,
    arms: list[ProposedArm],
    mentions: list[tuple[int, int, ProposedArm]],
    s_start: int,
    s_end: int,
    ambiguities: list[str],
) -> list[ProposedArm]:
    rows: list[ProposedArm] = []
    if not arms:
        return rows
    timepoint = _timepoint(plain, s_start, s_end)
    versus_words = _versus_of(plain, s_start, s_end)
    readable = []
    for percent in grammar.find_percentages(plain[s_start:s_end]):
        start, end = s_start + percent.start, s_start + percent.end
        if percent.bound != "=" or _is_threshold(plain, start, end):
            continue
        if re.search(r"\d\.\s$", plain[max(0, start - 4) : start]):
            ambiguities.append(f"{plain[max(0, start - 4) : end].strip()!r}: a decimal broken by a space; not read")
            continue
        if re.match(r"\s*(?:or|-)\s+\d+\s+(?:patients|cases)", plain[end : end + 20]):
            continue  # "42.31% or 22 patients": read with its count
        readable.append((percent, start, end))
    in_order = _respectively(plain, arms, mentions, readable, s_start, s_end, ambiguities)
    if in_order == []:
        return rows
    for index, (percent, start, end) in enumerate(readable):
        outcome = _outcome_before(plain, start, s_start)
        if not outcome:
            continue
        arm: ProposedArm | None = (
            in_order[index]
            if in_order is not None
            else _arm_for(plain, arms, mentions, start, end, s_start, s_end, versus_words)
        )
        if arm is None:
            continue
        row = _new_row(arm, outcome, timepoint)
        row.percent = Value(percent.low, _quote(text, start, end))
        rows.append(row)
    kept: list[ProposedArm] = []
    groups: dict[tuple[int, str], list[ProposedArm]] = {}
    for row in rows:
        groups.setdefault((id(next(a for a in arms if a.label == row.label)), row.outcome), []).append(row)
    for (_, outcome), group in groups.items():
        if len(group) > 1:
            ambiguities.append(
                f"{group[0].label}: {', '.join(r.percent.quote.text for r in group if r.percent)} all read as "
                f"{outcome!r} in one sentence; not proposed"
            )
            continue
        kept += group
    return kept


_COUNT_VERB = re.compile(
    r"(?<![\w.,])(\d+)\s+(?:cases|patients|participants|subjects)\s+((?:were\s+|was\s+)?cured|reported|said|showed|"
    r"had|didn't\s+have|did\s+not\s+have|responded|improved)\b([^,;.]{0,70})",
    re.I,
)


_FRACTION = re.compile(
    rf"(?<![\w.,/])(\d+)\s*/\s*(\d+)(?![\w./])"
    rf"|(?<![\w.,/])(\d+)\s+(?:of|out\s+of)\s+(?:the\s+)?(\d+)\s+(?:{grammar.PEOPLE_NOUNS}|\w+\s+{grammar.PEOPLE_NOUNS})\b"
    rf"|(?<![\w.,/])(\d+)\s+(?:of|out\s+of)\s+(?:the\s+)?(\d+)(?=\s*(?:\(|\)|,|;|\.|\s+(?:in|with|on|for|vs|versus|and)\b))",
    re.I,
)


def _count_rows(
    text: str,
    plain: str,
    arms: list[ProposedArm],
    mentions: list[tuple[int, int, ProposedArm]],
    s_start: int,
    s_end: int,
    ambiguities: list[str],
) -> list[ProposedArm]:
    rows: list[ProposedArm] = []
    timepoint = _timepoint(plain, s_start, s_end)
    fractions = [(m, s_start + m.start(), s_start + m.end()) for m in _FRACTION.finditer(plain[s_start:s_end])]
    in_order = _respectively(plain, arms, mentions, fractions, s_start, s_end, ambiguities) if arms else None
    for index, (match, start, end) in enumerate(fractions if in_order != [] else []):
        first = next(i for i in (1, 3, 5) if match.group(i))
        events, n = int(match.group(first)), int(match.group(first + 1))
        if in_order is not None:
            arm: ProposedArm | None = in_order[index]
        else:
            versus = _versus_of(plain, s_start, s_end)
            arm = _arm_for(plain, arms, mentions, start, end, s_start, s_end, versus) if arms else None
        if arm is None or events > n:
            continue
        row = _new_row(arm, _outcome_before(plain, start, s_start), timepoint)
        row.events = Value(events, _quote(text, s_start + match.start(first), s_start + match.end(first)))
        row.n = Value(n, _quote(text, s_start + match.start(first + 1), s_start + match.end(first + 1)))
        rows.append(row)
    for match in _COUNT_VERB.finditer(plain, s_start, s_end):
        start = match.start()
        before = [m for m in mentions if s_start - 200 <= m[1] <= start]
        arm = before[-1][2] if before else (arms[0] if len(arms) == 1 else None)
        if arm is None:
            continue
        words = (match.group(2) + match.group(3)).strip()
        outcome = (
            "cured"
            if "cured" in words.lower()
            else " ".join(re.sub(r"^(?:reported|said)\s+(?:that\s+)?", "", words, flags=re.I).split())
        )
        row = _new_row(arm, outcome, timepoint)
        row.events = Value(int(match.group(1)), _quote(text, start, match.end(1)))
        percent = re.search(r"(\d+(?:\.\d+)?)%\s*(?:or|-)\s*$", plain[max(s_start, start - 14) : start])
        if percent:
            p_start = max(s_start, start - 14) + percent.start(1)
            row.percent = Value(float(percent.group(1)), _quote(text, p_start, p_start + len(percent.group(1)) + 1))
        rows.append(row)
    return rows


_MEAN_SD = re.compile(rf"(?<![\d.])({SIGNED})\s*(?:±|\+/-)\s*(\d+(?:\.\d+)?)")


_MEAN_PAREN = re.compile(rf"(?<![\d.])({SIGNED})\s*\(\s*(\d+(?:\.\d+)?)\s*\)")
_SD_DECLARED = re.compile(
    r"\bmean\s*[(\[]\s*SD\s*[)\]]|\(\s*SD\s*\)|\bmean\s*(?:±|\+/-)\s*SD\b|\bmeans?\s+and\s+SDs?\b"
)
_NOT_SD = re.compile(r"\bage\b|\bse\b|\bsem\b|standard\s+error|\(\+/-se\)|\biqr\b|\brange\b|\bci\b|median", re.I)


def _first_of_versus_pair(
    plain: str, mentions: list[tuple[int, int, ProposedArm]], match: re.Match[str], s_start: int, timepoint: str
) -> tuple[list[tuple[int, int, ProposedArm]], str]:
    """For "for HSM (3.8 ± 2.6 versus 8.5 ± 2.9; 3.7 ± 2.2 versus 10.1 ± 2.9)": the arm named just before the
    bracket owns the first value of each pair; the second belongs to a comparator and is not read here.  The
    pairs take the time points listed before the bracket ("at 2 weeks and 6 months") when the counts agree."""
    paren = plain.rfind("(", s_start, match.start())
    if paren < 0 or ")" in plain[paren : match.start()]:
        return [], timepoint
    inside = plain[paren + 1 : match.start()]
    if re.search(r"(?:versus|vs\.?)\s*$", inside):
        return [], timepoint  # the second of a pair
    if not re.match(r"\s*(?:versus|vs\.?)\s", plain[match.end() : match.end() + 10]):
        return [], timepoint
    owner = [m for m in mentions if m[1] <= paren and re.fullmatch(r"\s*", plain[m[1] : paren])]
    if not owner:
        return [], timepoint
    index = inside.count(";")
    times = re.findall(r"\d+\s+(?:weeks?|months?|days?)", plain[s_start:paren])
    closing = plain.find(")", match.end())
    groups = plain[paren + 1 : closing if closing > 0 else len(plain)].count(";") + 1
    return owner[-1:], (times[index] if len(times) == groups else timepoint)


def _mean_rows(
    text: str, plain: str, mentions: list[tuple[int, int, ProposedArm]], s_start: int, s_end: int
) -> list[ProposedArm]:
    """Means with SDs: "RA: 5.2 ± 5.0", "5.2 ± 5.0 in the acupuncture group", and "5.2 (5.0)" only in a
    sentence that declares its numbers as mean (SD)."""
    rows: list[ProposedArm] = []
    timepoint = _timepoint(plain, s_start, s_end)
    sentence = plain[s_start:s_end]
    matches = list(_MEAN_SD.finditer(plain, s_start, s_end))
    if _SD_DECLARED.search(sentence) and not re.search(r"\b(?:SE|SEM|IQR|standard\s+error)\b", sentence):
        matches += [
            m
            for m in _MEAN_PAREN.finditer(plain, s_start, s_end)
            if not re.match(r"\s*(?:%|years?|patients|participants)", plain[m.end() : m.end() + 12])
        ]
    for match in sorted(matches, key=lambda m: m.start()):
        start, end = match.start(), match.end()
        if _NOT_SD.search(plain[max(s_start, start - 40) : start]) or "se)" in plain[end : end + 5].lower():
            continue
        before = [
            m
            for m in mentions
            if m[1] <= start and start - m[1] <= 4 and re.fullmatch(r"\s*:?\s*", plain[m[1] : start])
        ]
        after = [
            m
            for m in mentions
            if end <= m[0] <= end + 30 and re.fullmatch(r"\s*(?:in|for)\s+(?:the\s+)?", plain[end : m[0]], re.I)
        ]
        named = before[-1:] or after[:1]
        row_time = timepoint
        if not named:
            named, row_time = _first_of_versus_pair(plain, mentions, match, s_start, timepoint)
        if not named:
            continue
        arm = named[0][2]
        paren = plain.rfind("(", s_start, start)
        head = plain[max(s_start, paren - 40) : paren] if paren > 0 else ""
        outcome_match = re.search(r"([\w\s-]{3,40}?)\s*$", head) if head else None
        outcome = (
            re.sub(
                r"^(?:(?:reported|showed|had|significant|significantly|less|more|fewer|greater|lower|higher)\s+)+",
                "",
                outcome_match.group(1).strip().lower(),
            )
            if outcome_match
            else ""
        )
        row = _new_row(arm, outcome, row_time)
        row.mean = Value(_number(match.group(1)), _quote(text, match.start(1), match.end(1)))
        row.sd = Value(float(match.group(2)), _quote(text, match.start(2), match.end(2)))
        rows.append(row)
    return rows


def implied_count(percent: float, decimals: int, n: int) -> int | None:
    """The one whole number of events ``k`` with ``100 k / n`` rounding to ``percent``; None if none or several."""
    half = 0.5 * 10**-decimals + 1e-9
    fits = [k for k in range(n + 1) if abs(100 * k / n - percent) <= half]
    return fits[0] if len(fits) == 1 else None


def compute_counts(rows: list[ProposedArm]) -> None:
    """Events for rows with n and a rate but no count, when exactly one whole number fits; marked computed."""
    for row in rows:
        if row.events is not None or row.percent is None or row.n is None or not row.n.value:
            continue
        written = row.percent.quote.text.rstrip(" %").replace("percent", "").strip()
        decimals = len(written.split(".")[1]) if "." in written else 0
        count = implied_count(float(row.percent.value), decimals, int(row.n.value))
        if count is not None:
            row.events = Value(
                count,
                row.percent.quote,
                computed=True,
                note=f"computed: {row.percent.quote.text} of n = {row.n.value} is {count} and no other whole number",
            )


# --- the whole proposal ------------------------------------------------------------------------------------------


def extract_abstract(key: str, abstract: str) -> Proposal:
    """Everything the abstract states that the outcome table and the study fields can hold."""
    proposal = Proposal(key, abstract)
    if not abstract.strip():
        return proposal
    proposal.design = propose_design(abstract)
    proposal.blinding = propose_blinding(abstract)
    proposal.country = propose_country(abstract, proposal.ambiguities)
    proposal.participants = propose_participants(abstract, proposal.ambiguities)
    is_review = bool(proposal.design and proposal.design.value in REVIEW_DESIGNS)
    studies, review_people = propose_studies(abstract)
    proposal.studies = studies
    if review_people is not None and (proposal.participants is None or is_review):
        proposal.participants = review_people
    proposal.effects = propose_effects(abstract, is_review or studies is not None, proposal.ambiguities)
    if not is_review:
        arms, abbreviations = propose_arms(abstract, proposal.ambiguities)
        rows = attach_results(abstract, arms, proposal.ambiguities, abbreviations)
        compute_counts(rows)
        covered = {row.label for row in rows}
        proposal.arms = [arm for arm in arms if arm.label not in covered] + rows
        if any(a.startswith("participants:") for a in proposal.ambiguities):
            for arm in proposal.arms:  # the same disputed total must not come back as an arm's size
                total = arms[0].n if len(arms) == 1 else None
                if total is not None and arm.n is not None and arm.n.value == total.value:
                    arm.n = None
    return proposal


def invented_numbers(proposal: Proposal) -> list[str]:
    """Every proposed number its quote does not bear out; the extractor's promise is that this is empty."""
    bad: list[str] = []
    text = proposal.abstract

    def check(name: str, value: Value | None, computed_ok: bool = False) -> None:
        if value is None or isinstance(value.value, str):
            return
        quote = value.quote
        if text[quote.start : quote.end] != quote.text:
            bad.append(f"{name} {value.value}: quote offsets do not match the abstract")
            return
        if value.computed:
            if not computed_ok:
                bad.append(f"{name} {value.value}: computed where only a stated number may go")
            return
        numbers = [
            grammar.parse_number(m.group()) for m in re.finditer(rf"-?\s?{grammar.NUMBER}", _plain(quote.text), re.I)
        ]
        numbers += [-abs(n) for n in numbers if n is not None]
        numbers += [parse_count(m.group()) for m in re.finditer(COUNT, quote.text, re.I)]
        if not any(n is not None and math.isclose(n, float(value.value), abs_tol=1e-9) for n in numbers):
            bad.append(f"{name} {value.value}: not in its quote {quote.text!r}")

    check("participants", proposal.participants)
    check("studies", proposal.studies)
    for arm in proposal.arms:
        check("n", arm.n)
        check("events", arm.events, computed_ok=True)
        check("percent", arm.percent)
        check("mean", arm.mean)
        check("sd", arm.sd)
        if arm.events is not None and arm.events.computed:
            written = arm.percent.quote.text.rstrip(" %") if arm.percent else ""
            decimals = len(written.split(".")[1]) if "." in written else 0
            if (
                arm.percent is None
                or arm.n is None
                or implied_count(float(arm.percent.value), decimals, int(arm.n.value)) != arm.events.value
            ):
                bad.append(f"events {arm.events.value}: computed without a unique whole number behind it")
    for effect in proposal.effects:
        for name in ("estimate", "ci_lb", "ci_ub", "studies", "participants"):
            check(name, getattr(effect, name))
    return bad


# --- the library side: entries in, text / JSON / CSV rows out --------------------------------------------------


@dataclass
class ExtractResult:
    """Proposals for the keys that have an abstract, and a problem for each key that has none."""

    proposals: list[Proposal] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def extract_entries(table: "pd.DataFrame", keys: Iterable[str] | None = None) -> ExtractResult:
    """Proposals for ``keys`` (every entry when None); an entry without an abstract is a warning, not a stop."""
    import pandas as pd

    from evidence.analysis.query import closest
    from evidence.errors import UnknownKeyError

    result = ExtractResult()
    wanted = list(keys) if keys is not None else [str(k) for k in table.index]
    for key in wanted:
        if key not in table.index:
            raise UnknownKeyError(key, closest(key, [str(k) for k in table.index], n=3))
        row = table.loc[key]
        abstract = row.get("abstract")
        if abstract is None or pd.isna(abstract) or not str(abstract).strip():
            result.problems.append(
                Problem(
                    str(row.get("source_file", "")),
                    _int(row.get("source_line")),
                    key,
                    "warning",
                    "no abstract to extract from; add one (e.g. 'evidence add --pmid') and run extract again",
                )
            )
            continue
        result.proposals.append(extract_abstract(key, str(abstract)))
    return result


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_LOWER_IS_BETTER = re.compile(
    r"\b(?:ineffective|inefficacy|relaps\w*|adverse|side\s+effects?|augmentation|days|attacks?|frequency|pain|"
    r"severity|severe|score|intensity|dropouts?|withdr\w*|recurrence|no\s+improvement|didn't\s+have)\b",
    re.I,
)
_HIGHER_IS_BETTER = re.compile(
    r"\b(?:effective\w*|cured?|cure\s+rate|responders?|response|responded|improve\w*|remission|"
    r"much\s+(?:better|improved)|symptoms\s+totally\s+disappeared|pain\s+is\s+almost\s+gone|success\w*)\b",
    re.I,
)


def better_of(outcome: str) -> str:
    """``higher`` or ``lower`` when the outcome's own words say which is good ("effective rate", "relapsed",
    "migraine days"); empty when they do not, for the person checking the row to fill in."""
    negated = r"\bin-?effective|\b(?:no|not|didn't|did\s+not|without)\s+(?:\w+\s+){0,2}?(?:improve|effective|respon)"
    if re.search(negated, outcome, re.I):
        return "lower"  # "no improvement", "didn't have any improvement", "ineffective"
    lower = bool(_LOWER_IS_BETTER.search(outcome))
    higher = bool(_HIGHER_IS_BETTER.search(outcome))
    if lower and not higher:
        return "lower"
    if higher and not lower:
        return "higher"
    return ""


def outcome_rows(proposal: Proposal) -> tuple[list[dict[str, str]], list[str]]:
    """Outcome CSV rows for the arms that have a count or a mean and SD; a line for each arm left out, and why."""
    rows: list[dict[str, str]] = []
    skipped: list[str] = []
    for arm in proposal.arms:
        if arm.events is None and (arm.mean is None or arm.sd is None):
            if arm.percent is not None:
                skipped.append(
                    f"{proposal.key}: {arm.label} {arm.outcome}: {arm.percent.quote.text} has no count; "
                    "a percentage stays in the proposal and is not written"
                )
            continue
        quotes = [v.quote for v in (arm.n, arm.events, arm.percent, arm.mean, arm.sd) if v is not None]
        source = "; ".join(f"abstract[{q.start}:{q.end}] {q.text!r}" for q in dict.fromkeys(quotes))
        if arm.events is not None and arm.events.computed:
            source += f"; {arm.events.note}"
        rows.append(
            {
                "key": proposal.key,
                "outcome": arm.outcome or "unnamed outcome",
                "timepoint": arm.timepoint,
                "arm": arm.label,
                "role": arm.role,
                "n": _cell(arm.n),
                "events": _cell(arm.events),
                "mean": _cell(arm.mean),
                "sd": _cell(arm.sd),
                "better": better_of(arm.outcome),
                "definition": arm.outcome,
                "extracted_from": source,
                "extracted_by": EXTRACTED_BY,
                "verified_by": "",
                "verified_on": "",
                "data_source": "abstract",
            }
        )
    return rows, skipped


def _cell(value: Value | None) -> str:
    if value is None:
        return ""
    number = float(value.value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def outcomes_path(bib_file: Path) -> Path:
    """Where an entry's outcome rows go: ``<bib stem>.outcomes.csv`` beside its .bib file."""
    return bib_file.with_name(bib_file.stem + ".outcomes.csv")


def append_rows_text(existing: str, rows: list[dict[str, str]], path: Path) -> str:
    """``existing`` CSV text with ``rows`` appended in its own column order; its bytes are kept as they are."""
    if not existing.strip():
        header = list(OUTCOME_COLUMNS)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        prefix = ""
    else:
        first_line = existing.splitlines()[0]
        header = next(csv.reader([first_line]))
        missing = [c for c in ("key", "outcome", "arm", "n") if c not in header]
        if missing:
            raise EvidenceError(f"{path}:1: the header lacks {', '.join(missing)}; nothing was written")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        prefix = existing if existing.endswith("\n") else existing + "\n"
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return prefix + out.getvalue()


_ROW_IDENTITY = ("key", "outcome", "timepoint", "arm")


def new_rows(existing: str, rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """``rows`` split into those the CSV lacks and those it (or an earlier row) already has, by key, outcome,
    time point and arm: running ``--write`` twice must not add the same arm twice."""
    seen: set[tuple[str, ...]] = set()
    if existing.strip():
        for row in csv.DictReader(io.StringIO(existing)):
            seen.add(tuple((row.get(c) or "").strip() for c in _ROW_IDENTITY))
    kept: list[dict[str, str]] = []
    duplicates: list[dict[str, str]] = []
    for row in rows:
        identity = tuple(row.get(c, "").strip() for c in _ROW_IDENTITY)
        (duplicates if identity in seen else kept).append(row)
        seen.add(identity)
    return kept, duplicates


def write_proposals(proposals: list[Proposal], files: dict[str, Path]) -> list[str]:
    """Append every proposal's rows to its outcome CSV; all rows are built before the first write.

    ``files`` maps keys to their .bib file.  Each CSV is written once, under
    its lock and atomically, so an interrupted run leaves every file either
    as it was or with all of its new rows.
    """
    from evidence.curation.edit import locked_update

    by_path: dict[Path, list[dict[str, str]]] = {}
    messages: list[str] = []
    for proposal in proposals:
        rows, skipped = outcome_rows(proposal)
        messages += skipped
        if rows:
            by_path.setdefault(outcomes_path(files[proposal.key]), []).extend(rows)
    for path, rows in by_path.items():
        outcome: dict[str, list[dict[str, str]]] = {}

        def change(
            text: str, rows: list[dict[str, str]] = rows, path: Path = path, outcome: dict[str, Any] = outcome
        ) -> str:
            outcome["kept"], outcome["duplicates"] = new_rows(text, rows)
            return append_rows_text(text, outcome["kept"], path) if outcome["kept"] else text

        locked_update(path, change)
        for row in outcome["duplicates"]:
            messages.append(
                f"{row['key']}: {row['arm']} {row['outcome']} {row['timepoint']}".rstrip()
                + f" is already in {path}; not written again"
            )
        kept = outcome["kept"]
        if kept:
            keys = sorted({r["key"] for r in kept})
            messages.append(
                f"wrote {len(kept)} row{'s' if len(kept) != 1 else ''} for {', '.join(keys)} to {path} "
                "(data_source = abstract, not verified)"
            )
    return messages


# --- text output -------------------------------------------------------------------------------------------------


def _context(abstract: str, quote: Quote, before: int = 32, after: int = 16) -> str:
    """The quote in brackets with a few words either side: '...either placebo (n = [115]) or pramipexole...'."""
    head = abstract[max(0, quote.start - before) : quote.start]
    tail = abstract[quote.end : quote.end + after]
    head = head.split(" ", 1)[1] if quote.start - before > 0 and " " in head else head
    tail = tail.rsplit(" ", 1)[0] if quote.end + after < len(abstract) and " " in tail else tail
    return f"...{head}[{quote.text}]{tail}..."


def format_text(proposals: list[Proposal]) -> str:
    """A readable table per entry: each value beside the words it came from."""
    blocks = []
    for proposal in proposals:
        lines = [f"{proposal.key}"]
        for name in ("design", "blinding", "country", "participants", "studies"):
            value = getattr(proposal, name)
            if value is not None:
                lines.append(f"  {name:<13}{value.value!s:<16}{_context(proposal.abstract, value.quote)}")
        if proposal.arms:
            lines.append("  arms")
            for arm in proposal.arms:
                parts = [
                    f"{name}={_cell(v)}{'*' if v.computed else ''}" + ("%" if name == "percent" else "")
                    for name, v in (
                        ("n", arm.n),
                        ("events", arm.events),
                        ("percent", arm.percent),
                        ("mean", arm.mean),
                        ("sd", arm.sd),
                    )
                    if v is not None
                ]
                where = " | ".join(x for x in (arm.outcome, arm.timepoint) if x)
                lines.append(f"    {arm.label} ({arm.role}){' [' + where + ']' if where else ''}: {', '.join(parts)}")
                quotes = dict.fromkeys(v.quote for v in (arm.n, arm.events, arm.percent, arm.mean, arm.sd) if v)
                for quote in quotes:
                    lines.append(f"      {_context(proposal.abstract, quote)}")
        if proposal.effects:
            lines.append("  effects")
            for effect in proposal.effects:
                extra = "".join(
                    f", {name} {getattr(effect, name).value}"
                    for name in ("studies", "participants")
                    if getattr(effect, name) is not None
                )
                lines.append(
                    f"    {effect.measure} {effect.estimate.value:g} (95% CI {effect.ci_lb.value:g} to "
                    f"{effect.ci_ub.value:g}){extra}"
                )
                span = Quote(
                    effect.estimate.quote.start,
                    effect.ci_ub.quote.end,
                    proposal.abstract[effect.estimate.quote.start : effect.ci_ub.quote.end],
                )
                lines.append(f"      {_context(proposal.abstract, span)}")
        if any(arm.events is not None and arm.events.computed for arm in proposal.arms):
            lines.append("  * computed: the rate as written fits exactly one whole number of n")
        for ambiguity in proposal.ambiguities:
            lines.append(f"  ambiguous: {ambiguity}")
        if len(lines) == 1:
            lines.append("  nothing to propose: the abstract states no design, arms or effects")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


@dataclass
class ExtractRun:
    """What ``evidence extract`` did: the proposals, entries it could not read, and what --write wrote."""

    proposals: list[Proposal] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "extracted_by": EXTRACTED_BY,
            "proposals": [p.as_dict() for p in self.proposals],
            "problems": [p.as_dict() for p in self.problems],
            "written": self.messages,
        }


def run_extract(table: "pd.DataFrame", keys: list[str] | None, write: bool = False) -> ExtractRun:
    """Propose data for ``keys`` (every entry when None) and, with ``write``, append it to the outcome CSVs."""
    result = extract_entries(table, keys)
    run = ExtractRun(result.proposals, result.problems)
    if write and result.proposals:
        files = {p.key: Path(str(table.loc[p.key, "source_file"])) for p in result.proposals}
        run.messages = write_proposals(result.proposals, files)
    return run
