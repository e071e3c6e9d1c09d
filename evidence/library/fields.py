"""The outcome-field schema: the custom BibTeX fields that hold study data.

Each field has a kind that says how its text is parsed (``parse_field``) and
what column type it gets in the table.  Parsing returns a value or a message,
never raises, so that one bad value is reported as a problem and the rest of
the entry still loads.  ``check_outcomes`` holds the rules that involve more
than one field (responders not above n, a rate that agrees with its counts,
the GRIM test).  ``docs/fields.md`` documents the same schema for users.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from evidence.library.normalise import decode_latex, split_list

Kind = Literal["text", "list", "count", "rate", "range", "choice", "date"]

DESIGNS = (
    "rct",
    "quasi-rct",
    "crossover",
    "cohort",
    "case-control",
    "case-series",
    "case-report",
    "systematic-review",
    "meta-analysis",
    "other",
)
REVIEW_DESIGNS = frozenset({"systematic-review", "meta-analysis"})
RANDOMISED_DESIGNS = frozenset({"rct", "crossover"})
BLINDING = ("double", "single", "open", "unclear")
#: where outcome numbers came from: the paper, another source quoting it, or its abstract (machine-extracted)
DATA_SOURCES = ("primary", "secondary", "abstract")
RATE_BOUNDS = ("=", ">=", "<=")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    help: str
    choices: tuple[str, ...] = ()


OUTCOME_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("condition", "list", "conditions studied; several separated by ';'"),
    FieldSpec("intervention", "list", "interventions given; several separated by ';'"),
    FieldSpec("comparator", "list", "what the intervention was compared with; ';'-separated"),
    FieldSpec("design", "choice", "study design", DESIGNS),
    FieldSpec("country", "text", "country or countries where the study was done"),
    FieldSpec("n", "count", "participants analysed in the intervention arm"),
    FieldSpec("responders", "count", "participants in the intervention arm who responded"),
    FieldSpec(
        "response_rate",
        "rate",
        "percent who responded, e.g. '67.5'; a bound as '>=70' or '<=20' when only that is reported",
    ),
    FieldSpec("response_rate_ci", "range", "a published 95% CI of the rate in percent, e.g. '38.3-57.3'"),
    FieldSpec("response_definition", "text", "what counted as a response, in the paper's words"),
    FieldSpec("control_n", "count", "participants analysed in the control arm"),
    FieldSpec("control_responders", "count", "participants in the control arm who responded"),
    FieldSpec("control_response_rate", "rate", "percent who responded in the control arm"),
    FieldSpec("followup", "text", "when the outcome was measured, e.g. 'end of treatment', '3 months'"),
    FieldSpec("studies", "count", "for reviews: number of studies included"),
    FieldSpec("participants", "count", "total participants in the study or review"),
    FieldSpec("blinding", "choice", "blinding of outcome assessment", BLINDING),
    FieldSpec(
        "data_source",
        "choice",
        "'primary' when the numbers come from the paper, 'secondary' when from another source",
        DATA_SOURCES,
    ),
    FieldSpec("extracted_from", "text", "where the numbers were found: table, page, or the secondary source"),
    FieldSpec("extracted_by", "text", "who extracted the numbers"),
    FieldSpec("verified_by", "text", "who checked the extracted numbers against the source"),
    FieldSpec("verified_on", "date", "when they were checked, YYYY-MM-DD"),
    FieldSpec("verified_fields", "list", "which fields the verification covers; empty means all"),
)

FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in OUTCOME_FIELDS}
COUNT_FIELDS = tuple(s.name for s in OUTCOME_FIELDS if s.kind == "count")

#: Counts of people or studies; more digits than this is a typo or an attack, never data (and would not fit Int64).
MAX_COUNT_DIGITS = 12

#: The standard BibTeX and BibLaTeX fields, and common extensions (doi, pmid, keywords, abstract, and what JabRef,
#: Zotero and arXiv exports add).  With the outcome fields these are the names ``evidence set`` writes without
#: ``--force``; anything else is likely a typo.
STANDARD_FIELDS = frozenset(
    [
        "abstract",
        "addendum",
        "address",
        "afterword",
        "annotation",
        "annotator",
        "annote",
        "archiveprefix",
        "author",
        "authortype",
        "bookauthor",
        "bookpagination",
        "booksubtitle",
        "booktitle",
        "booktitleaddon",
        "chapter",
        "commentator",
        "crossref",
        "date",
        "doi",
        "edition",
        "editor",
        "editora",
        "editorb",
        "editorc",
        "editortype",
        "eid",
        "entrysubtype",
        "eprint",
        "eprintclass",
        "eprinttype",
        "eventdate",
        "eventtitle",
        "eventtitleaddon",
        "file",
        "foreword",
        "holder",
        "howpublished",
        "ids",
        "institution",
        "introduction",
        "isan",
        "isbn",
        "ismn",
        "isrn",
        "issn",
        "issue",
        "issuesubtitle",
        "issuetitle",
        "iswc",
        "journal",
        "journalsubtitle",
        "journaltitle",
        "key",
        "keywords",
        "label",
        "langid",
        "langidopts",
        "language",
        "library",
        "location",
        "mainsubtitle",
        "maintitle",
        "maintitleaddon",
        "month",
        "mrnumber",
        "nameaddon",
        "note",
        "number",
        "options",
        "organization",
        "origdate",
        "origlanguage",
        "origlocation",
        "origpublisher",
        "origtitle",
        "pagetotal",
        "pages",
        "pagination",
        "part",
        "pmcid",
        "pmid",
        "presort",
        "primaryclass",
        "publisher",
        "pubstate",
        "related",
        "relatedoptions",
        "relatedstring",
        "relatedtype",
        "reprinttitle",
        "school",
        "series",
        "shortauthor",
        "shorteditor",
        "shorthand",
        "shorthandintro",
        "shortjournal",
        "shortseries",
        "shorttitle",
        "sortkey",
        "sortname",
        "sorttitle",
        "sortyear",
        "subtitle",
        "title",
        "titleaddon",
        "translator",
        "type",
        "url",
        "urldate",
        "venue",
        "version",
        "volume",
        "volumes",
        "xdata",
        "xref",
        "year",
        "arxivid",
        "comment",
        "copyright",
        "day",
        "groups",
        "lccn",
        "mrclass",
        "owner",
        "timestamp",
        "zbl",
    ]
)


def known_field_names() -> frozenset[str]:
    """Every field name ``set`` accepts without ``--force``: standard BibTeX/BibLaTeX and outcome fields."""
    return STANDARD_FIELDS | FIELDS_BY_NAME.keys()


_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_RATE = re.compile(rf"^(>=|<=|≥|≤)?\s*({_NUMBER})\s*%?$")
_RANGE = re.compile(rf"^({_NUMBER})\s*%?\s*(?:-|–|--|to|,)\s*({_NUMBER})\s*%?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Rate:
    """A reported percentage: its value, whether it is exact or a bound, and its precision."""

    value: float
    bound: str = "="
    decimals: int = 0


class FieldValueError(ValueError):
    """A field value that does not fit its kind; the message is for the user."""


def parse_field(name: str, raw: str) -> Any:
    """Parse the raw BibTeX text of outcome field ``name`` into its typed value.

    Returns ``None`` for an empty value.  Raises :class:`FieldValueError`
    with a message that says what was expected.
    """
    spec = FIELDS_BY_NAME[name]
    text = decode_latex(raw)
    if not text:
        return None
    return _PARSERS[spec.kind](text, spec)


def _parse_text(text: str, spec: FieldSpec) -> str:
    return text


def _parse_list(text: str, spec: FieldSpec) -> list[str]:
    return split_list(text)


def _parse_count(text: str, spec: FieldSpec) -> int:
    cleaned = text.replace(",", "").replace("_", "")
    if len(cleaned) > MAX_COUNT_DIGITS and cleaned.isdecimal():
        raise FieldValueError(
            f"{spec.name} is too large to be a count ({len(cleaned):,} digits, "
            f"at most {MAX_COUNT_DIGITS}), got {text[:20]!r}..."
        )
    if re.fullmatch(r"-[0-9]+", cleaned):
        raise FieldValueError(f"{spec.name} must not be negative, got {text!r}")
    if not re.fullmatch(r"[0-9]+", cleaned):
        raise FieldValueError(f"{spec.name} must be a whole number, got {text!r}")
    return int(cleaned)


def parse_rate(text: str, name: str = "response_rate") -> Rate:
    match = _RATE.match(text.strip())
    if not match:
        raise FieldValueError(f"{name} must be a percentage like '67.5' or a bound like '>=70', got {text!r}")
    bound = {"≥": ">=", "≤": "<="}.get(match.group(1) or "=", match.group(1) or "=")
    number = match.group(2)
    value = float(number)
    if value > 100:
        raise FieldValueError(f"{name} is a percentage and cannot exceed 100, got {text!r}")
    decimals = len(number.split(".")[1]) if "." in number else 0
    return Rate(value, bound, decimals)


def _parse_rate(text: str, spec: FieldSpec) -> Rate:
    return parse_rate(text, spec.name)


def _parse_range(text: str, spec: FieldSpec) -> tuple[float, float]:
    match = _RANGE.match(text.strip())
    if not match:
        raise FieldValueError(f"{spec.name} must be a range like '38.3-57.3', got {text!r}")
    low, high = float(match.group(1)), float(match.group(2))
    if low > high or high > 100:
        raise FieldValueError(f"{spec.name} must run from low to high within 0-100, got {text!r}")
    return low, high


def _parse_choice(text: str, spec: FieldSpec) -> str:
    value = text.strip().lower().replace("_", "-").replace(" ", "-")
    if value not in spec.choices:
        raise FieldValueError(f"unknown {spec.name} {text!r}; expected one of: {', '.join(spec.choices)}")
    return value


def _parse_date(text: str, spec: FieldSpec) -> str:
    if not _DATE.match(text):
        raise FieldValueError(f"{spec.name} must be a date as YYYY-MM-DD, got {text!r}")
    return text


_PARSERS = {
    "text": _parse_text,
    "list": _parse_list,
    "count": _parse_count,
    "rate": _parse_rate,
    "range": _parse_range,
    "choice": _parse_choice,
    "date": _parse_date,
}


def rate_from_counts(responders: int, n: int) -> float | None:
    """Percent responding; ``None`` when n is 0."""
    return None if n == 0 else 100.0 * responders / n


def rate_matches_counts(rate: Rate, responders: int, n: int) -> bool:
    """Whether ``rate`` is ``responders/n`` rounded to the precision it was reported with."""
    exact = rate_from_counts(responders, n)
    if exact is None:
        return False
    tolerance = 0.5 * 10 ** (-rate.decimals) + 1e-9
    if rate.bound == ">=":
        return exact + tolerance >= rate.value
    if rate.bound == "<=":
        return exact - tolerance <= rate.value
    return abs(exact - rate.value) <= tolerance


def grim_consistent(rate: Rate, n: int) -> bool:
    """The GRIM test: can some whole number of responders out of n give this rate?

    A percentage reported to ``decimals`` places is consistent when some k in
    0..n has ``100k/n`` within half a unit of the last reported place.
    """
    if n <= 0 or rate.bound != "=":
        return True
    tolerance = 0.5 * 10 ** (-rate.decimals) + 1e-9
    nearest = rate.value * n / 100
    return any(
        abs(100 * k / n - rate.value) <= tolerance for k in {math.floor(nearest), math.ceil(nearest)} if 0 <= k <= n
    )


def check_outcomes(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rules across fields, as (severity, message) pairs.

    ``values`` maps field names to parsed values (``None`` when absent); the
    ``response_rate`` values are :class:`Rate` objects as reported, not the
    rates the table derives.
    """
    found: list[tuple[str, str]] = []
    for arm in ("", "control_"):
        n, responders = values.get(f"{arm}n"), values.get(f"{arm}responders")
        rate = values.get(f"{arm}response_rate")
        label = "control arm: " if arm else ""
        if n is not None and responders is not None and responders > n:
            found.append(("error", f"{label}responders ({responders}) greater than n ({n})"))
            continue
        if responders is not None and n is None:
            found.append(("warning", f"{label}responders given without n; no rate can be computed"))
        if n == 0:
            found.append(("warning", f"{label}n is 0; no rate can be computed"))
        if rate is None or not n:
            continue
        if responders is not None:
            if not rate_matches_counts(rate, responders, n):
                exact = rate_from_counts(responders, n)
                found.append(
                    (
                        "error",
                        f"{label}{arm}response_rate {_show_rate(rate)}% disagrees with "
                        f"responders/n = {responders}/{n} = {exact:.1f}%",
                    )
                )
        elif values.get("design") not in REVIEW_DESIGNS and not grim_consistent(rate, n):
            found.append(
                (
                    "error",
                    f"{label}{arm}response_rate {_show_rate(rate)}% is impossible with n = {n}: "
                    "no whole number of responders gives it (GRIM test)",
                )
            )
    if values.get("verified_by") and not values.get("extracted_by"):
        found.append(("warning", "verified_by is set but extracted_by is not"))
    return found


def _show_rate(rate: Rate) -> str:
    sign = "" if rate.bound == "=" else rate.bound
    return f"{sign}{rate.value:.{rate.decimals}f}"


#: Fields BibTeX's standard styles require, per entry type; a tuple inside
#: means any one of them will do.
REQUIRED_FIELDS: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "article": (("author",), "title", ("journal", "journaltitle"), ("year", "date")),
    "book": (("author", "editor"), "title", "publisher", ("year", "date")),
    "inbook": (("author", "editor"), "title", ("chapter", "pages"), "publisher", ("year", "date")),
    "incollection": ("author", "title", "booktitle", "publisher", ("year", "date")),
    "inproceedings": ("author", "title", "booktitle", ("year", "date")),
    "conference": ("author", "title", "booktitle", ("year", "date")),
    "phdthesis": ("author", "title", "school", ("year", "date")),
    "mastersthesis": ("author", "title", "school", ("year", "date")),
    "techreport": ("author", "title", "institution", ("year", "date")),
    "manual": ("title",),
    "misc": (),
    "unpublished": ("author", "title", "note"),
}


def missing_required_fields(entry_type: str, fields: Mapping[str, str]) -> list[str]:
    """The required fields (``a or b`` for alternatives) that are absent or empty."""
    missing = []
    for options in _REQUIRED_OPTIONS.get(entry_type, ()):
        for name in options:
            if fields.get(name, "").strip():
                break
        else:
            missing.append(" or ".join(options))
    return missing


#: ``REQUIRED_FIELDS`` with every requirement as a tuple of alternatives (checked once per entry).
_REQUIRED_OPTIONS = {
    entry_type: tuple((required,) if isinstance(required, str) else required for required in requirements)
    for entry_type, requirements in REQUIRED_FIELDS.items()
}
