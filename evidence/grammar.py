"""The prose grammar of health writing: numbers, participants, designs, arms and qualifiers.

Pages and abstracts state the same few things in the same few ways: "1,583
patients", "sixty women", "at least 70%", "between 60 and 80%", "n = 40",
"A prospective, multicenter, randomized, participant-blinded trial",
"51% vs 53%", "no better than sham".  The audit's claim finder
(:mod:`evidence.audit.claims`) and the abstract extractor both read them, so
the patterns live here, once, and both import them.

The stable API (other modules copy or import these names; keep them):

* :func:`parse_number` -> float | None: "1,583", "sixty", "twenty-five", "67.5";
* :func:`find_percentages` -> :class:`Percentage` spans (qualifier, bound, range);
* :func:`find_participants` -> :class:`Count` spans ("in 54 breast cancer
  patients", "enrolled 302 patients", "n = 40");
* :func:`find_designs` -> :class:`DesignMention` spans with the design values
  of :data:`evidence.library.fields.DESIGNS` they allow;
* :func:`find_arms` / :func:`arm_label` -> the arm a phrase names ("sham",
  "placebo", "usual care", "waiting list", "conventional therapy", "control");
* :func:`find_comparisons` -> :class:`ComparisonPhrase` ("51% vs 53%", "no better
  than sham", "twice as likely");
* :func:`bound_of`, :func:`qualifier_before`, :func:`subgroup_cue`,
  :func:`is_threshold`, :func:`is_money`: the words around a number that
  change what it claims, or show it is no claim at all.

Every pattern runs in linear time on any input: each starts at an anchor
(a look-behind that fails inside a run of digits or letters), repeats only
bounded counts of words, and never nests unbounded quantifiers; the words
before a number are read from a window of fixed size.  ``tests/test_grammar.py``
runs each finder on adversarial megabyte inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Literal

Bound = Literal["=", ">=", ">", "<=", "<", "~", "range"]

#: Numbers with more digits than this are not counts a page could mean (a 100,000-digit run is noise).
MAX_DIGITS = 12

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
#: Words for numbers, as study counts use them ("a", "both", "single" count one or two studies).
NUMBER_WORDS: dict[str, int | None] = {
    "a": 1,
    "an": 1,
    "single": 1,
    "both": 2,
    "dozen": 12,
    "several": None,
    "many": None,
    **_UNITS,
    **_TENS,
}
_WORD_NUMBER = (
    r"(?:(?:" + "|".join(_TENS) + r")(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")(?:\s+(?:hundred|thousand))?"
)
#: A number as pages write it: "1,583", "1 583" is not supported (ambiguous with lists), "67.5", "sixty".
NUMBER = rf"(?:(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+(?:\.\d+)?|{_WORD_NUMBER})(?:\s(?:million|billion))?)"
#: Anchor for a number: not inside a word, a longer number or a decimal.
_BEFORE_NUMBER = r"(?<![\w.,\u2013-])"

#: Qualifiers of a number and the bound they make.
QUALIFIERS: dict[str, Bound] = {
    "at least": ">=",
    "no less than": ">=",
    "not less than": ">=",
    "a minimum of": ">=",
    "more than": ">",
    "over": ">",
    "greater than": ">",
    "above": ">",
    "in excess of": ">",
    "upwards of": ">",
    "up to": "<=",
    "at most": "<=",
    "no more than": "<=",
    "a maximum of": "<=",
    "less than": "<",
    "fewer than": "<",
    "under": "<",
    "below": "<",
    "about": "~",
    "around": "~",
    "approximately": "~",
    "roughly": "~",
    "nearly": "~",
    "almost": "~",
    "some": "~",
    "close to": "~",
    "an estimated": "~",
    "circa": "~",
    "approx.": "~",
    "~": "~",
}
# matched on the reversed window before a number, so one anchored match finds the qualifier that ends there
_QUALIFIER_REVERSED = re.compile(
    r"\s*(" + "|".join(re.escape(q[::-1]) for q in sorted(QUALIFIERS, key=len, reverse=True)) + r")(?!\w)", re.I
)

PEOPLE_NOUNS = (
    r"(?:patients|participants|people|persons|subjects|cases|adults|children|women|men|individuals|volunteers|"
    r"infants|adolescents|girls|boys|mothers|veterans|smokers|users|sufferers|respondents|residents|athletes|"
    r"workers|students|nurses|survivors|pregnancies|couples|families|outpatients|inpatients)"
)
STUDY_NOUNS = r"(?:stud(?:y|ies)|trials?|reviews?|meta-analys[ie]s|RCTs?|papers|reports|series)"

_STOP_BETWEEN = (
    r"(?!(?:of|to|than|per|and|or|in|at|on|for|with|from|the|were|was|had|have|who|aged|years?|weeks?|"
    r"days?|months?|hours?|minutes?|sessions?|times?|mg|ml|percent)\b)"
)
_PARTICIPANTS = re.compile(
    rf"{_BEFORE_NUMBER}({NUMBER})\s{{1,8}}(?:{_STOP_BETWEEN}[A-Za-z][\w'-]*,?\s{{1,8}}){{0,4}}?{PEOPLE_NOUNS}\b", re.I
)
_N_EQUALS = re.compile(r"(?<![\w])[nN]\s*=\s*(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?![\d.])")

_PERCENT_SIGN = r"(?:\s?%|\s*percent\b|\s*per\s?cent\b)"
_PERCENT = re.compile(rf"{_BEFORE_NUMBER}(\d+(?:\.\d+)?){_PERCENT_SIGN}", re.I)
_RANGE = re.compile(
    rf"(?<![\w.,])(?:between\s+(\d+(?:\.\d+)?)\s?%?\s+and\s+(\d+(?:\.\d+)?)"
    rf"|(\d+(?:\.\d+)?)\s?%?\s?(?:-|\u2013|to)\s?(\d+(?:\.\d+)?)){_PERCENT_SIGN}",
    re.I,
)
_CONFIDENCE_AFTER = re.compile(r"\s*(?:CI\b|confidence|credible|cred)", re.I)


@dataclass(frozen=True)
class Percentage:
    """A percentage as written: one value, a bound, or a range (``low`` < ``high``)."""

    start: int
    end: int
    text: str
    low: float
    high: float
    bound: Bound
    qualifier: str = ""


@dataclass(frozen=True)
class Count:
    """A count of people: ``number`` of ``noun`` ("302 patients"), with the words between."""

    start: int
    end: int
    text: str
    number: int
    noun: str
    between: str = ""


@dataclass(frozen=True)
class DesignMention:
    """A study design named in prose, with the :data:`~evidence.library.fields.DESIGNS` values it allows."""

    start: int
    end: int
    text: str
    designs: tuple[str, ...]
    noun: str


@dataclass(frozen=True)
class ArmMention:
    """A phrase naming a trial arm, with its canonical label (see :data:`ARM_LABELS`)."""

    start: int
    end: int
    text: str
    label: str


@dataclass(frozen=True)
class ComparisonPhrase:
    """Two arms compared: "51% vs 53%" (``values``), "no better than sham" (``direction`` "none"),
    "twice as likely" (``ratio`` 2.0)."""

    start: int
    end: int
    text: str
    kind: Literal["versus", "no-difference", "ratio", "better", "worse"]
    values: tuple[float, ...] = ()
    ratio: float | None = None
    arm: str | None = None


def parse_number(text: str) -> float | None:
    """The value of a number as written ("1,583", "67.5", "sixty", "twenty-five", "three hundred").

    None for what is not a number or is too long to be a count (more than :data:`MAX_DIGITS` digits).
    """
    word = " ".join(text.lower().replace("-", " ").split())
    if not word:
        return None
    if word[0].isdigit():
        digits = word.replace(",", "")
        if len(digits.split(".")[0]) > MAX_DIGITS or not re.fullmatch(r"\d+(?:\.\d+)?", digits):
            return None
        return float(digits)
    scale = 1
    if word.endswith((" million", " billion")):
        scale = 1_000_000 if word.endswith("million") else 1_000_000_000
        word = word.rsplit(" ", 1)[0]
        value = parse_number(word)
        return value * scale if value is not None else None
    parts = word.split()
    multiplier = 1
    if parts[-1] in ("hundred", "thousand"):
        multiplier = 100 if parts[-1] == "hundred" else 1000
        parts = parts[:-1] or ["one"]
    total = 0
    for part in parts:
        if part in _TENS:
            total += _TENS[part]
        elif part in _UNITS:
            total += _UNITS[part]
        elif part in NUMBER_WORDS and NUMBER_WORDS[part] is not None and len(parts) == 1:
            total += NUMBER_WORDS[part] or 0
        else:
            return None
    return float(total * multiplier)


def parse_count(text: str) -> int | None:
    """:func:`parse_number` for whole counts; None for fractions and non-numbers."""
    value = parse_number(text)
    return int(value) if value is not None and value.is_integer() else None


def bound_of(qualifier: str | None) -> Bound:
    """The bound a qualifier word makes: "at least" -> ">=", "about" -> "~", none -> "="."""
    return QUALIFIERS.get(" ".join((qualifier or "").lower().split()), "=")


def qualifier_before(text: str, start: int) -> tuple[str, int]:
    """The qualifier ending just before ``start`` ("at least "), and where it starts; ("", start) if none."""
    before = text[max(0, start - 3) : start].rstrip()
    if not before or not (before[-1].isalpha() or before[-1] in "~."):
        return "", start  # no word ends here: no qualifier (the common case, checked without a regex)
    window_start = max(0, start - 24)
    reversed_window = text[window_start:start][::-1]
    match = _QUALIFIER_REVERSED.match(reversed_window)
    if not match:
        return "", start
    qualifier_start = start - match.end(1)
    return text[qualifier_start : start - match.start(1)], qualifier_start


def find_percentages(text: str) -> Iterator[Percentage]:
    """Every percentage, in order: ranges ("between 60 and 80%", "70-90%") first claim their span.

    Confidence levels ("95% CI") are left out.
    """
    taken: list[tuple[int, int]] = []
    found: list[Percentage] = []
    if "%" not in text and "per" not in text.lower():
        return
    for match in _RANGE.finditer(text):
        low = float(match.group(1) or match.group(3))
        high = float(match.group(2) or match.group(4))
        if low <= high <= 100:
            found.append(Percentage(match.start(), match.end(), match.group(), low, high, "range"))
            taken.append(match.span())
    for match in _PERCENT.finditer(text):
        if taken and any(match.start() < e and match.end() > s for s, e in taken):
            continue
        if _CONFIDENCE_AFTER.match(text, match.end()):
            continue
        value = float(match.group(1))
        if value > 100:
            continue
        qualifier, start = qualifier_before(text, match.start())
        found.append(
            Percentage(
                start, match.end(), text[start : match.end()], value, value, bound_of(qualifier), qualifier.lower()
            )
        )
    yield from sorted(found, key=lambda p: p.start)


def find_participants(text: str) -> Iterator[Count]:
    """Counts of people, with up to four words between number and noun ("54 breast cancer patients"),
    and "n = 40".  Numbers too long to be counts are skipped."""
    for match in _PARTICIPANTS.finditer(text):
        number = parse_count(match.group(1))
        if number is None or number == 0:
            continue
        noun = re.search(rf"{PEOPLE_NOUNS}$", match.group(), re.I)
        between = text[match.end(1) : noun.start() + match.start() if noun else match.end()].strip()
        yield Count(match.start(), match.end(), match.group(), number, noun.group().lower() if noun else "", between)
    for match in _N_EQUALS.finditer(text):
        number = parse_count(match.group(1))
        if number:
            yield Count(match.start(), match.end(), match.group(), number, "n")


# --- designs --------------------------------------------------------------------------------------------------

#: Design phrases, longest first, with the design values they allow.  "systematic review and
#: meta-analysis" is read whole, so that a page calling a plain review a "meta-analysis" is caught.
DESIGN_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("systematic review and meta-analys", ("meta-analysis", "systematic-review")),
    ("systematic review with meta-analys", ("meta-analysis", "systematic-review")),
    ("meta-analys", ("meta-analysis",)),
    ("metaanalys", ("meta-analysis",)),
    ("pooled analys", ("meta-analysis",)),
    ("systematic review", ("systematic-review", "meta-analysis")),
    ("cochrane review", ("systematic-review", "meta-analysis")),
    ("randomised controlled", ("rct", "crossover")),
    ("randomized controlled", ("rct", "crossover")),
    ("quasi-randomised", ("quasi-rct",)),
    ("quasi-randomized", ("quasi-rct",)),
    ("case series", ("case-series",)),
    ("case report", ("case-report",)),
    ("case-control", ("case-control",)),
    ("case control", ("case-control",)),
    ("crossover", ("crossover",)),
    ("cross-over", ("crossover",)),
    ("cohort", ("cohort",)),
    ("observational", ("cohort", "case-control", "case-series", "other")),
    ("rcts", ("rct", "crossover")),
    ("rct", ("rct", "crossover")),
    ("randomised", ("rct", "crossover", "quasi-rct")),
    ("randomized", ("rct", "crossover", "quasi-rct")),
    ("controlled", ("rct", "crossover", "quasi-rct", "other")),
    ("pilot", ("rct", "crossover", "quasi-rct", "cohort", "case-series", "other")),
    ("review", ("systematic-review", "meta-analysis")),
)
_DESIGN_NOUN = (
    r"(?:systematic\s+review\s+(?:and|with)\s+meta-?analys[ie]s|meta-?analys[ie]s|pooled\s+analys[ie]s|"
    r"case\s+series|case\s+reports?|stud(?:y|ies)|trials?|reviews?|RCTs?|experiments?|analys[ie]s)"
)
_DESIGN = re.compile(rf"(?<![\w-])((?:[A-Za-z][\w-]*,?\s+(?:and\s+|or\s+)?){{0,7}}?){_DESIGN_NOUN}(?![\w-])", re.I)


def designs_of(phrase: str) -> tuple[str, ...]:
    """The design values a phrase allows ("multicenter, randomized, sham-controlled trial" ->
    rct or crossover), by its most specific design words; () when it names none."""
    words = " ".join(phrase.lower().replace(",", " ").split())
    for needle, allowed in DESIGN_PHRASES:
        if needle in words:
            if needle == "review" and not re.search(r"\breviews?\b", words):
                continue
            return allowed
    return ()


def find_designs(text: str) -> Iterator[DesignMention]:
    """Study designs named in prose, with their adjectives: "A prospective, multicenter, randomized,
    participant-blinded trial", "a meta-analysis", "a pilot study", "a case series"."""
    for match in _DESIGN.finditer(text):
        adjectives = match.group(1)
        phrase = match.group()
        # the adjective list ends at the last sentence-like break: keep only the words that run into the noun
        designs = designs_of(phrase)
        if not designs:
            continue
        noun = phrase[len(adjectives) :]
        start = match.start()
        first_design_word = _first_design_word(adjectives)
        if first_design_word is not None:
            start = match.start() + first_design_word
        else:
            start = match.start(0) + len(adjectives)
        yield DesignMention(start, match.end(), text[start : match.end()], designs, noun.lower())


_DESIGN_WORD = re.compile(
    r"(?<![\w-])(?:prospective|retrospective|multi-?cent(?:er|re)|randomi[sz]ed|quasi-randomi[sz]ed|controlled|"
    r"[\w-]*-controlled|double-blind(?:ed)?|single-blind(?:ed)?|[\w-]*-blind(?:ed)?|blinded|open-label|pilot|"
    r"crossover|cross-over|parallel(?:-group)?|pragmatic|systematic|observational|cohort|case-control|"
    r"placebo|sham|clinical|large|small|three-arm(?:ed)?|two-arm(?:ed)?|phase)(?![\w-])",
    re.I,
)


def _first_design_word(adjectives: str) -> int | None:
    match = _DESIGN_WORD.search(adjectives)
    return match.start() if match else None


# --- arms --------------------------------------------------------------------------------------------------------

#: Phrases naming an arm, with their canonical label.  "control" is the generic one: it names
#: whichever arm has the control role.
ARM_LABELS: dict[str, str] = {
    "sham": "sham",
    "minimal acupuncture": "sham",
    "placebo": "placebo",
    "dummy": "placebo",
    "usual care": "usual care",
    "standard care": "usual care",
    "routine care": "usual care",
    "usual treatment": "usual care",
    "standard treatment": "usual care",
    "routine treatment": "usual care",
    "treatment as usual": "usual care",
    "waiting list": "waiting list",
    "waiting-list": "waiting list",
    "wait-list": "waiting list",
    "waitlist": "waiting list",
    "wait list": "waiting list",
    "no treatment": "no treatment",
    "no intervention": "no treatment",
    "untreated": "no treatment",
    "conventional therapy": "conventional therapy",
    "conventional treatment": "conventional therapy",
    "conventional medicine": "conventional therapy",
    "conventional care": "conventional therapy",
    "guideline-based care": "conventional therapy",
    "guideline care": "conventional therapy",
    "control": "control",
    "controls": "control",
}
_ARM = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(p) for p in sorted(ARM_LABELS, key=len, reverse=True)) + r")(?![\w])", re.I
)


def arm_label(text: str) -> str | None:
    """The canonical arm label a phrase or a comparator field value names ("sham acupuncture" -> "sham");
    None when it names none."""
    match = _ARM.search(text)
    return ARM_LABELS[" ".join(match.group(1).lower().split())] if match else None


def find_arms(text: str) -> Iterator[ArmMention]:
    """Every arm label in the text; "controlled" (a design word) is not an arm."""
    for match in _ARM.finditer(text):
        after = text[match.end() : match.end() + 3].lower()
        if match.group(1).lower() == "control" and after.startswith("led"):
            continue
        if match.group(1).lower() in ("placebo", "sham") and text[match.end() : match.end() + 12].lower().startswith(
            "-controlled"
        ):
            continue
        yield ArmMention(
            match.start(), match.end(), match.group(), ARM_LABELS[" ".join(match.group(1).lower().split())]
        )


# --- comparisons --------------------------------------------------------------------------------------------------

_VERSUS = re.compile(
    rf"{_BEFORE_NUMBER}(\d+(?:\.\d+)?)\s?%?(?:\s*\([^()]{{0,40}}\))?\s*(?:vs\.?|versus|compared\s+(?:with|to)|against)"
    rf"\s+(\d+(?:\.\d+)?){_PERCENT_SIGN}",
    re.I,
)
_NO_BETTER = re.compile(
    r"(?<![\w])(?:no\s+(?:better|more\s+effective)\s+than|not\s+(?:any\s+)?(?:better|more\s+effective)\s+than|"
    r"(?:as\s+(?:effective|good)\s+as)|no\s+(?:significant\s+)?difference\s+(?:between|from|compared))(?![\w])",
    re.I,
)
_BETTER = re.compile(
    r"(?<![\w])(?:(?:significantly\s+)?(?:better|more\s+effective|superior)\s+(?:than|to))(?![\w])", re.I
)
_RATIO_WORDS = {"twice": 2.0, "double": 2.0, "half": 0.5, "three times": 3.0, "four times": 4.0, "five times": 5.0}
_RATIO = re.compile(
    r"(?<![\w.])(twice|double|half|three\s+times|four\s+times|five\s+times|(\d+(?:\.\d+)?)\s*(?:times|-fold|fold))"
    r"\s+(?:as\s+)?(?:likely|often|many|high|higher|effective|more\s+likely|the\s+(?:rate|odds|risk|chance))",
    re.I,
)


def find_comparisons(text: str) -> Iterator[ComparisonPhrase]:
    """Comparisons between arms: "51% vs 53%", "no better than sham", "twice as likely", "better than placebo".

    ``arm`` is the arm label named within the clause after the comparison ("better than" and "no better
    than" need one).
    """
    for match in _VERSUS.finditer(text):
        yield ComparisonPhrase(
            match.start(),
            match.end(),
            match.group(),
            "versus",
            (float(match.group(1)), float(match.group(2))),
            arm=_arm_after(text, match.end()),
        )
    # "no better than" and "better than" compare arms only when an arm is named ("better than sham"),
    # not in "make a treatment look better than it is"
    for match in _NO_BETTER.finditer(text):
        arm = _arm_after(text, match.end())
        if arm:
            yield ComparisonPhrase(match.start(), match.end(), match.group(), "no-difference", arm=arm)
    for match in _BETTER.finditer(text):
        before = text[max(0, match.start() - 12) : match.start()].lower()
        if re.search(r"\bno\s*$|\bnot\s*$|\bany\s*$", before):
            continue
        arm = _arm_after(text, match.end())
        if arm:
            yield ComparisonPhrase(match.start(), match.end(), match.group(), "better", arm=arm)
    for match in _RATIO.finditer(text):
        word = " ".join(match.group(1).lower().split())
        ratio = float(match.group(2)) if match.group(2) else _RATIO_WORDS.get(word)
        if ratio is not None and ratio < 1000:
            yield ComparisonPhrase(
                match.start(), match.end(), match.group(), "ratio", ratio=ratio, arm=_arm_after(text, match.end())
            )


def _arm_after(text: str, end: int) -> str | None:
    clause = re.split(r"[.;:]", text[end : end + 80])[0]
    return arm_label(clause)


# --- words that change what a number claims ----------------------------------------------------------------------

_SUBGROUP_AFTER = re.compile(
    r"^\W{0,3}(?:(?:\w+\s+){0,2}?(?:within|after|by\s+(?:day|week|month)|"
    r"who\s+(?:stopped|dropped|completed|withdrew|discontinued|responded|improved|relapsed|died|recovered|"
    r"developed|needed|required|received|were\s+followed|had\s+(?:severe|mild|moderate))|"
    r"of\s+(?:the|these|those|them|whom|severe|mild|moderate|all)\b|in\s+the\s+(?:subgroup|first|second|last))"
    r"|receiving|given|treated\s+with|in\s+the\s+(?:[\w-]+\s+){0,2}(?:group|arm)\b)",
    re.I,
)
_SUBGROUP_BEFORE = re.compile(
    r"(?:subgroup|of\s+(?:these|those|them|the)|among\s+(?:these|those|them|the)|of\s+whom|in\s+whom|only|"
    r"analy[sz]ed|completed|completing|follow(?:ed)?[- ]up|dropped\s+out|withdr[ae]w|severe|mild|moderate|"
    r"hospitali[sz]ed)\W*(?:\w+\W+){0,3}$",
    re.I,
)


def subgroup_cue(text: str, start: int, end: int) -> str | None:
    """The words that make a count a subset, not a study's total ("who stopped treatment",
    "within three days", "of severe cases", "of these, 40 patients"); None for a plain count.

    Reads a window of fixed size on either side of ``text[start:end]``.
    """
    match = _SUBGROUP_AFTER.match(text[end : end + 60])
    if match:
        return match.group().strip()
    match = _SUBGROUP_BEFORE.search(text[max(0, start - 40) : start])
    if match:
        return match.group().strip()
    return None


_THRESHOLD_BEFORE = re.compile(
    r"(?:defined\s+as|definition|criteri(?:on|a)|considered|counted\s+as|at\s+least|or\s+more|"
    r"reduction\s+of|improvement\s+of|decrease\s+of|reduced\s+by|≥|>=)\s+(?:\w+\s+){0,3}?"
    r"(?:a\s+|an\s+)?(?:at\s+least\s+|more\s+than\s+|over\s+|≥\s?|>=\s?)?$",
    re.I,
)
_THRESHOLD_AFTER = re.compile(
    r"^\s*(?:or\s+(?:more|greater|higher|better)\b|(?:fewer|less|lower|reduction|decrease|improvement|drop|fall)\b|"
    r"(?:of\s+)?(?:the\s+)?(?:pain|headache|migraine|symptom)s?\s+(?:days|score|intensity|frequency)\b)",
    re.I,
)


def is_threshold(text: str, start: int, end: int) -> bool:
    """Whether the percentage at ``text[start:end]`` is the threshold of a response definition
    ("at least 50% fewer headache days", "defined as a 33% improvement", "15% or higher") rather than a result."""
    if _THRESHOLD_AFTER.match(text[end : end + 50]):
        return True
    return bool(_THRESHOLD_BEFORE.search(text[max(0, start - 50) : start]))


_MONEY_BEFORE = re.compile(r"(?:[$£€¥]|\b(?:US|USD|EUR|GBP|AUD|CAD)\s?\$?)\s*$", re.I)
_MONEY_AFTER = re.compile(
    r"^\s*(?:million|billion|thousand|m\b|bn\b|k\b)?\s*(?:dollars|euros|pounds|USD|EUR|GBP)\b"
    r"|^\s*(?:million|billion)\b",
    re.I,
)


def is_money(text: str, start: int, end: int) -> bool:
    """Whether the number at ``text[start:end]`` is an amount of money ("$12.5 million", "5 million euros")."""
    return bool(_MONEY_BEFORE.search(text[max(0, start - 6) : start]) or _MONEY_AFTER.match(text[end : end + 20]))


_DOSE_AFTER = re.compile(
    r"^\s*(?:mg|g|mcg|µg|ug|ml|mL|iu|IU|units?|sessions?|treatments?|times?|minutes?|mins?|hours?|hrs?|days?|weeks?|"
    r"months?|years?|doses?|tablets?|capsules?|cups?|drops?|needles?|points?|mmhg|kg|cm|mm|hz|°)\b",
    re.I,
)


def is_schedule_or_dose(text: str, end: int) -> bool:
    """Whether the number ending at ``end`` is a dose, a duration or a schedule ("12 sessions", "500 mg")."""
    return bool(_DOSE_AFTER.match(text[end : end + 16]))
