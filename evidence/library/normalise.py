"""Turn raw BibTeX field values into clean display values.

``evidence.library.files`` resolves ``@string`` macros and strips the outer braces;
what is left may still hold LaTeX (``M{\\"u}ller``, ``{RLS}``, ``13--14``).  Its own
LaTeX-decoding middleware runs pylatexenc over every value, which costs about
25 times the parse itself on a large library.  Here a value is decoded only
when it holds something LaTeX could change, and each distinct value is
decoded once (``functools.lru_cache``).  Names are split on the raw value,
because braces protect corporate names (``{World Health Organization}``)
and decoding first would drop them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

_DASHES = re.compile(r"\s*(?:--+|\u2013|\u2014)\s*")
_SPACES = re.compile(r"\s+")

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


@lru_cache(maxsize=1)
def _decoder():  # pragma: no cover - trivial factory
    """The same pylatexenc decoder bibtexparser's LatexDecodingMiddleware builds."""
    from bibtexparser.middlewares.latex_encoding import LatexDecodingMiddleware

    return LatexDecodingMiddleware()._decoder


@lru_cache(maxsize=1 << 16)
def _decode_with_pylatexenc(value: str) -> str:
    return _decoder().latex_to_text(value)


#: Characters that ``\\`` merely escapes; every other backslash starts a macro.
_SIMPLE_ESCAPES = frozenset("%&_#$")


def decode_latex(value: str) -> str:
    """Return ``value`` as Unicode text, with white space folded.

    Three paths, cheapest first: no markup passes through; protective braces
    (``{RLS} in {C}hina``) and the escaped characters ``\\% \\& \\_ \\#``
    (common in abstracts, and unique per entry, so a cache would not help)
    are handled with string replacements; anything else (accents, macros,
    math, ties) goes to pylatexenc, once per distinct value.  Every test is
    ``in`` or ``find``: a regular expression over each abstract cost more
    than the decoding.
    """
    if "\\" in value or "$" in value or "~" in value or "^" in value:
        if _needs_decoder(value):
            value = _decode_with_pylatexenc(value)
        else:
            value = value.replace("{", "").replace("}", "")
            for char in "%&_#":
                value = value.replace("\\" + char, char)
    elif "{" in value or "}" in value:
        value = value.replace("{", "").replace("}", "")
    if "\n" in value or "  " in value or "\t" in value:
        value = _SPACES.sub(" ", value)
    return value.strip()


def _needs_decoder(value: str) -> bool:
    """Whether ``value`` holds math, a tie, or a backslash that is not a simple escape."""
    if "$" in value or "~" in value or "^" in value:
        return True
    at = value.find("\\")
    while at >= 0:
        if value[at + 1 : at + 2] not in _SIMPLE_ESCAPES:  # a macro, or a backslash at the very end
            return True
        at = value.find("\\", at + 2)
    return False


@dataclass(frozen=True)
class Name:
    """One person (or organisation) from an author or editor field."""

    family: str
    given: str = ""
    suffix: str = ""

    @cached_property
    def initials(self) -> str:
        """``Dong-Yan`` -> ``DY``; ``D. Y.`` -> ``DY``: Vancouver-style initials."""
        parts = re.split(r"[\s.\-]+", self.given)
        return "".join(p[0].upper() for p in parts if p and p[0].isalpha())

    @cached_property
    def short(self) -> str:
        """``Wang DY``: the form condition pages and Vancouver styles use."""
        return f"{self.family} {self.initials}".strip()

    def as_csl(self) -> dict[str, str]:
        csl = {"family": self.family}
        if self.given:
            csl["given"] = self.given
        if self.suffix:
            csl["suffix"] = self.suffix
        return csl


@lru_cache(maxsize=1 << 16)
def split_names(raw: str) -> tuple[Name, ...]:
    """Split a BibTeX name list (``Wang, D. Y. and M{\\"u}ller, Hans``) into names."""
    return tuple(_person(person.strip()) for person in split_persons(raw) if person.strip())


_AND = re.compile(r"[ \r\n\t]+[aA][nN][dD][ \r\n\t]+(?=[^ \r\n\t])")


def split_persons(raw: str) -> list[str]:
    """bibtexparser's ``split_multiple_persons_names``, with a fast path for plain lists.

    That function walks the value one character at a time to track braces
    and escapes.  A list with neither (``Wang, D. Y. and Yang, Y. D.``, as
    database exports write them) has its separators exactly where this
    regular expression finds them, three times faster; anything else goes to
    bibtexparser.  A property test holds the two to the same result.
    """
    if "{" in raw or "}" in raw or "\\" in raw:
        from bibtexparser.middlewares.names import split_multiple_persons_names  # not needed for a cached table

        return split_multiple_persons_names(raw)
    names = raw.strip(" \r\n\t")
    return _AND.split(names) if names else []


@lru_cache(maxsize=1 << 16)
def _person(person: str) -> Name:
    """One name, parsed once however many entries it appears in (authors recur across a library)."""
    from bibtexparser.middlewares.names import parse_single_name_into_parts

    if person.lower() == "others":
        return Name(family="et al.")
    parts = parse_single_name_into_parts(person, strict=False)
    return Name(
        family=decode_latex(" ".join(parts.von + parts.last)),
        given=decode_latex(" ".join(parts.first)),
        suffix=decode_latex(" ".join(parts.jr)),
    )


def parse_month(raw: str) -> int | None:
    """``mar``, ``March``, ``3`` and ``03`` all give 3; anything else ``None``."""
    value = raw.strip().strip(".").lower()
    if value.isdecimal() and len(value) <= 2:
        number = int(value)
        return number if 1 <= number <= 12 else None
    return MONTHS.get(value)


def parse_year(raw: str) -> int | None:
    """The year as an integer; ``None`` when it is not a plain 1-4 digit number."""
    value = raw.strip()
    return int(value) if value.isdecimal() and len(value) <= 4 else None


def normalise_pages(raw: str) -> str:
    """``13--14`` and ``13 – 14`` become ``13-14``."""
    return _DASHES.sub("-", decode_latex(raw))


def split_list(raw: str, separator: str = ";") -> list[str]:
    """Split a multi-valued field; empty items are dropped, white space folded."""
    return [item for item in (decode_latex(part) for part in raw.split(separator)) if item]


def split_keywords(raw: str) -> list[str]:
    """Keywords are separated by ``;`` when any is present, else by ``,``."""
    return split_list(raw, ";" if ";" in raw else ",")
