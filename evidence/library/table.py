"""The evidence table: one typed pandas row per BibTeX entry.

Every command reads the library through :func:`load_table`.  Columns (see
``docs/fields.md`` for the outcome fields):

========================  ==========  =============================================
column                    dtype       meaning
========================  ==========  =============================================
key, entry_type           str         citation key; ``article``, ``book``, ...
authors                   object      list of ``{"family", "given"[, "suffix"]}``
authors_display           str         ``Wang DY, Yang YD``
first_author              str         family name of the first author
year, month               Int64       publication year; month 1-12
title, title_raw          str         title decoded to Unicode; as written
container                 str         journal, booktitle or publisher
volume, issue, pages      str         ``pages`` normalised (``13--14`` -> ``13-14``)
doi, pmid, url            str
language, abstract, note  str
keywords                  object      list of str
condition, intervention,  object      lists of str
comparator
design                    category    one of ``fields.DESIGNS``
n, responders, ...        Int64       counts (nullable)
response_rate             Float64     percent; reported, or computed from counts
response_rate_bound       str         ``=``, ``>=`` or ``<=``
rate_source               str         ``reported``, ``computed`` or missing
response_rate_ci_low/high Float64     a published CI of the rate
control_response_rate     Float64     percent
source_file, source_line  str, Int64  where the entry is written
raw                       str         the entry's exact text
========================  ==========  =============================================
"""

from __future__ import annotations

import dataclasses
import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from evidence.errors import Problem
from evidence.library.fields import (
    FIELDS_BY_NAME,
    OUTCOME_FIELDS,
    FieldValueError,
    Rate,
    check_outcomes,
    missing_required_fields,
    parse_field,
)
from evidence.library.files import BibEntry, find_bib_files, first_definitions, read_bib_file
from evidence.library.normalise import (
    decode_latex,
    normalise_pages,
    parse_date,
    parse_month,
    parse_year,
    split_keywords,
    split_names,
)

if TYPE_CHECKING:
    import pandas as pd

    from evidence.progress import ProgressCallback

BIBLIOGRAPHIC_COLUMNS = (
    "key",
    "entry_type",
    "authors",
    "authors_display",
    "first_author",
    "year",
    "month",
    "title",
    "title_raw",
    "container",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "url",
    "language",
    "abstract",
    "keywords",
    "note",
)
OUTCOME_COLUMNS = (
    "condition",
    "intervention",
    "comparator",
    "design",
    "country",
    "n",
    "responders",
    "response_rate",
    "response_rate_bound",
    "rate_source",
    "response_rate_ci_low",
    "response_rate_ci_high",
    "response_definition",
    "control_n",
    "control_responders",
    "control_response_rate",
    "followup",
    "studies",
    "participants",
    "blinding",
    "data_source",
    "extracted_from",
    "extracted_by",
    "verified_by",
    "verified_on",
    "verified_fields",
)
PROVENANCE_COLUMNS = ("source_file", "source_line", "raw")
COLUMNS = BIBLIOGRAPHIC_COLUMNS + OUTCOME_COLUMNS + PROVENANCE_COLUMNS

INT_COLUMNS = (
    "year",
    "month",
    "n",
    "responders",
    "control_n",
    "control_responders",
    "studies",
    "participants",
    "source_line",
)
FLOAT_COLUMNS = ("response_rate", "response_rate_ci_low", "response_rate_ci_high", "control_response_rate")
LIST_COLUMNS = ("authors", "keywords", "condition", "intervention", "comparator", "verified_fields")
#: Columns whose presence means a study has outcome numbers.
OUTCOME_NUMBER_COLUMNS = ("n", "responders", "response_rate", "control_n", "control_responders")

_OUTCOME_FIELD_ORDER = tuple(spec.name for spec in OUTCOME_FIELDS)
_OUTCOME_FIELD_NAMES = frozenset(_OUTCOME_FIELD_ORDER)
_OUTCOME_LIST_COLUMNS = tuple(spec.name for spec in OUTCOME_FIELDS if spec.kind == "list")
_CONTAINER_FIELDS = ("journal", "journaltitle", "booktitle", "publisher", "institution", "school")


@dataclass
class TableResult:
    """The table, the problems met while building it, and the files it came from."""

    table: "pd.DataFrame"
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: things the user should hear that are not problems in the library (e.g. a cache rebuilt)
    notes: list[str] = field(default_factory=list)


def entry_record(entry: BibEntry) -> tuple[dict[str, Any], list[Problem]]:
    """One entry as a table row, and every problem with the entry on its own.

    Problems cover unparsable field values, the rules across outcome fields
    (``fields.check_outcomes``) and missing required fields; checks across
    entries (duplicates) are in ``evidence.library.check``.
    """
    fields = entry.fields
    problems: list[Problem] = []
    authors = split_names(fields["author"]) if "author" in fields else split_names(fields.get("editor", ""))
    row: dict[str, Any] = {
        "key": entry.key,
        "entry_type": entry.entry_type,
        "authors": [name.as_csl() for name in authors],
        "authors_display": ", ".join([name.short for name in authors]) or None,
        "first_author": authors[0].family if authors else None,
        "year": None,
        "month": None,
        "title": decode_latex(fields["title"]) if "title" in fields else None,
        "title_raw": fields.get("title"),
        "container": next((decode_latex(fields[f]) for f in _CONTAINER_FIELDS if fields.get(f)), None),
        "volume": _text(fields, "volume"),
        "issue": _text(fields, "number") or _text(fields, "issue"),
        "pages": normalise_pages(fields["pages"]) if fields.get("pages") else None,
        "doi": _doi(fields.get("doi")),
        "pmid": _text(fields, "pmid"),
        "url": fields.get("url") or None,
        "language": _text(fields, "language") or _text(fields, "langid"),
        "abstract": _text(fields, "abstract"),
        "keywords": split_keywords(fields["keywords"]) if fields.get("keywords") else [],
        "note": _text(fields, "note"),
        "source_file": entry.file,
        "source_line": entry.line,
        "raw": entry.raw,
    }

    def report(severity: str, message: str) -> None:
        problems.append(Problem(entry.file, entry.line, entry.key, severity, message))  # type: ignore[arg-type]

    if fields.get("year"):
        row["year"] = parse_year(fields["year"])
        if row["year"] is None:
            report("warning", f"year is not a number: {_shown(fields['year'])}")
    if fields.get("month"):
        row["month"] = parse_month(fields["month"])
        if row["month"] is None:
            report("warning", f"month not recognised: {_shown(fields['month'])}")
    if fields.get("date") and (row["year"] is None or row["month"] is None) and not fields.get("year", "").strip():
        year, month = parse_date(fields["date"])
        if year is None:
            report("warning", f"date not recognised: {_shown(fields['date'])}")
        else:
            row["year"] = year
            row["month"] = row["month"] if row["month"] is not None else month

    if not _OUTCOME_FIELD_NAMES.isdisjoint(fields):
        values: dict[str, Any] = {}
        for name in _OUTCOME_FIELD_ORDER:
            if name not in fields:
                continue
            try:
                values[name] = parse_field(name, fields[name])
            except FieldValueError as error:
                report("error", str(error))
        for severity, message in check_outcomes(values):
            report(severity, message)
        row.update(outcome_columns(values))
    else:  # most entries of a database export: nothing to parse or check
        row.update(_NO_OUTCOMES, **{name: [] for name in _OUTCOME_LIST_COLUMNS})
    for missing in missing_required_fields(entry.entry_type, fields):
        report("warning", f"missing required field for @{entry.entry_type}: {missing}")
    return row, problems


#: Fields biblatex never copies from a parent (``crossref``/``xdata``): they belong to the entry itself.
_NOT_INHERITED = frozenset(
    [
        "ids",
        "crossref",
        "xref",
        "xdata",
        "entryset",
        "entrysubtype",
        "execute",
        "label",
        "options",
        "presort",
        "related",
        "relatedoptions",
        "relatedstring",
        "relatedtype",
        "shorthand",
        "shorthandintro",
        "sortkey",
    ]
)
#: biblatex's default inheritance: a parent's title is the child's booktitle (or journaltitle).
_BOOK_PARENTS = frozenset(
    ["book", "mvbook", "collection", "mvcollection", "proceedings", "mvproceedings", "reference", "mvreference"]
)
_BOOK_CHILDREN = frozenset(
    ["inbook", "bookinbook", "suppbook", "incollection", "suppcollection", "inproceedings", "inreference", "conference"]
)
_TITLE_AS_BOOKTITLE = {"title": "booktitle", "subtitle": "booksubtitle", "titleaddon": "booktitleaddon"}
_TITLE_AS_JOURNAL = {"title": "journaltitle", "subtitle": "journalsubtitle"}
_INHERITANCE_DEPTH = 8


def inherit_fields(entries: list[BibEntry]) -> list[BibEntry]:
    """Entries with the fields they inherit through ``crossref`` and ``xdata``, as biblatex resolves them.

    The entry's own fields win; the parent's ``title`` becomes the child's
    ``booktitle`` when a paper or chapter points at its proceedings or
    book (and ``journaltitle`` for an article in a ``periodical``); other
    fields (year, publisher, editor, ...) are copied as they are.  Parents
    are looked up in the same file (the unit the cache keeps), by exact key
    and then case-insensitively as BibTeX does; a parent that itself has
    a ``crossref`` is resolved first, and a loop stops after a few steps.
    ``raw`` stays the entry's own text.
    """
    if not any("crossref" in e.fields or "xdata" in e.fields for e in entries):
        return entries
    by_key = {e.key: e for e in entries}
    by_lower = {e.key.lower(): e for e in reversed(entries)}

    def parent(key: str) -> BibEntry | None:
        key = key.strip()
        return by_key.get(key) or by_lower.get(key.lower())

    def resolved(entry: BibEntry, depth: int) -> dict[str, str]:
        fields = entry.fields
        if depth >= _INHERITANCE_DEPTH or ("crossref" not in fields and "xdata" not in fields):
            return fields
        inherited: dict[str, str] = {}
        for xdata_key in fields.get("xdata", "").split(","):
            source = parent(xdata_key) if xdata_key.strip() else None
            if source is not None and source is not entry:
                for name, value in resolved(source, depth + 1).items():
                    if name not in _NOT_INHERITED:
                        inherited.setdefault(name, value)
        source = parent(fields["crossref"]) if fields.get("crossref", "").strip() else None
        if source is not None and source is not entry:
            renames = {}
            if entry.entry_type in _BOOK_CHILDREN and source.entry_type in _BOOK_PARENTS:
                renames = _TITLE_AS_BOOKTITLE
            elif entry.entry_type in ("article", "suppperiodical") and source.entry_type == "periodical":
                renames = _TITLE_AS_JOURNAL
            for name, value in resolved(source, depth + 1).items():
                if name in _NOT_INHERITED or (renames and name in ("shorttitle", "sorttitle", "indextitle")):
                    continue
                inherited.setdefault(renames.get(name, name), value)
        if not inherited:
            return fields
        return {**inherited, **fields}

    return [
        dataclasses.replace(entry, fields=fields) if (fields := resolved(entry, 0)) is not entry.fields else entry
        for entry in entries
    ]


def outcome_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Table columns from parsed outcome values; derives the rate from counts when absent."""
    columns: dict[str, Any] = {}
    for name in OUTCOME_COLUMNS:
        spec = FIELDS_BY_NAME.get(name)
        value = values.get(name)
        if spec is not None and spec.kind == "list":
            columns[name] = value or []
        elif spec is not None and spec.kind == "rate":
            columns[name] = value.value if isinstance(value, Rate) else None
        elif spec is not None:
            columns[name] = value
    rate: Rate | None = values.get("response_rate")
    n, responders = values.get("n"), values.get("responders")
    columns["response_rate_bound"] = rate.bound if rate else None
    columns["rate_source"] = "reported" if rate else None
    if rate is None and n and responders is not None and responders <= n:
        columns["response_rate"] = 100.0 * responders / n
        columns["response_rate_bound"] = "="
        columns["rate_source"] = "computed"
    ci = values.get("response_rate_ci")
    columns["response_rate_ci_low"], columns["response_rate_ci_high"] = ci if ci else (None, None)
    return columns


#: The outcome columns of an entry without outcome fields (list columns get fresh lists per row).
_NO_OUTCOMES = outcome_columns({})


def build_table(entries: Iterable[BibEntry]) -> tuple["pd.DataFrame", list[Problem]]:
    """Rows for ``entries`` with the documented dtypes, and the problems found."""
    rows, problems = [], []
    for entry in entries:
        row, entry_problems = entry_record(entry)
        rows.append(row)
        problems.extend(entry_problems)
    return frame_from_rows(rows), problems


def frame_from_rows(rows: list[dict[str, Any]], names: Sequence[str] = COLUMNS) -> "pd.DataFrame":
    """The typed table (columns ``names``, ``key`` among them) from rows as ``entry_record`` makes them."""
    if len(names) == 1:  # itemgetter of one name gives the value itself, not a tuple
        return frame_from_lists({names[0]: [row[names[0]] for row in rows]}, names)
    values = zip(*map(itemgetter(*names), rows)) if rows else ([] for _ in names)
    return frame_from_lists(dict(zip(names, map(list, values))), names)


def frame_from_lists(columns: dict[str, list[Any]], names: Sequence[str] = COLUMNS) -> "pd.DataFrame":
    """The typed table (columns ``names``, ``key`` among them) from one list of values per column.

    ``columns`` is emptied as the table is built: each list goes as soon as
    its typed column exists, so a large table is never held twice.
    """
    import pandas as pd

    typed = {name: _typed_column(name, columns.pop(name)) for name in names}
    columns.clear()
    return pd.DataFrame(typed, index=pd.Index(typed["key"], name=None), copy=False)


def _typed_column(name: str, values: list[Any]) -> Any:
    """One column's values as the array of its documented dtype."""
    import pandas as pd

    from evidence.library.fields import DESIGNS

    if name in INT_COLUMNS:
        return pd.array(values, dtype="Int64")
    if name in FLOAT_COLUMNS:
        return pd.array(values, dtype="Float64")
    if name in LIST_COLUMNS:
        return pd.Series(values, dtype=object).array
    if name == "design":
        return pd.Categorical(values, categories=DESIGNS)
    return pd.array(values, dtype="str")


def load_table(
    paths: Iterable[Path | str],
    use_cache: bool = True,
    cache_dir: Path | None = None,
    progress: "ProgressCallback | None" = None,
    columns: Iterable[str] | None = None,
) -> TableResult:
    """Load the .bib files under ``paths`` into the evidence table.

    Problems from parsing and from field values come back with the table;
    entries with problems are still in it (a bad field is left empty).  With
    ``use_cache`` each file's columns (and, for several files, the whole
    table) are cached in ``cache_dir`` (default: the user's own cache folder,
    see :mod:`evidence.library.cache`) and reused only while every file is
    byte-identical and the code that built them unchanged.  ``columns`` limits the
    table to those columns (``key`` is always there): a command that needs
    a few reads only those from the cache.
    """
    wanted = _wanted_columns(columns)
    with _collector_paused():
        return _load_table([Path(p) for p in paths], use_cache, cache_dir, progress, wanted)


def _load_table(
    paths: list[Path],
    use_cache: bool,
    cache_dir: Path | None,
    progress: "ProgressCallback | None",
    wanted: list[str],
) -> TableResult:
    from evidence.library.cache import Cache, default_cache_dir, file_kind, file_signature, table_kind

    files = find_bib_files(paths)
    if not use_cache or not files:
        places = _with_places(wanted)
        return _merge_columns([read_file_columns(path, progress, places) for path in files], files, [], wanted)
    cache = Cache(cache_dir or default_cache_dir())
    signatures = [file_signature(path) for path in files]
    # one file: its own cache is the table; several: the set's table, else each file's cache
    whole = table_kind(signatures) if len(files) > 1 else file_kind(signatures[0])
    cached = cache.load(whole, signatures, ["problems", *wanted])
    if cached is not None:
        problems = cached.pop("problems")
        return TableResult(table=frame_from_columns(cached), problems=problems, files=files, notes=cache.notes)
    parts = []
    for path, signature in zip(files, signatures, strict=True):
        part = cache.load(file_kind(signature), [signature]) if len(files) > 1 else None
        if part is None:
            columns, problems = read_file_columns(path, progress)
            frame = frame_from_lists(columns)
            part = {"problems": problems, **{name: frame[name].array for name in COLUMNS}}
            del frame
            cache.store(file_kind(signature), [signature], part)
        parts.append(part)
    result = _merge_parts(parts, files, cache.notes)
    if len(files) > 1:
        columns = {name: result.table[name].array for name in COLUMNS}
        cache.store(whole, signatures, {"problems": result.problems, **columns})
    return _only(result, wanted)


def _merge_parts(parts: list[dict[str, Any]], files: list[Path], notes: list[str]) -> TableResult:
    """Files' cached columns in one table; as :func:`_merge`, a key defined in an earlier file wins."""
    import pandas as pd

    problems = [p for part in parts for p in part["problems"]]
    frames = [frame_from_columns({name: part[name] for name in COLUMNS}) for part in parts]
    nonempty = [frame for frame in frames if len(frame)]
    if len(nonempty) > 1:
        table = pd.concat(nonempty)
        places = list(zip(table["key"], table["source_file"], table["source_line"], strict=True))
        kept, duplicates = first_definitions(list(range(len(places))), places.__getitem__)
        if duplicates:
            table = table.iloc[kept]
        problems += duplicates
    else:
        table = nonempty[0] if nonempty else frames[0]
    return TableResult(table=table, problems=problems, files=files, notes=notes)


def frame_from_columns(columns: dict[str, Any]) -> "pd.DataFrame":
    """The table from column arrays as the cache keeps them (``key`` among them)."""
    import pandas as pd

    return pd.DataFrame(columns, index=pd.Index(columns["key"], name=None), copy=False)


def _wanted_columns(columns: Iterable[str] | None) -> list[str]:
    """The requested columns in table order, ``key`` first; all of them for ``None``."""
    if columns is None:
        return list(COLUMNS)
    requested = set(columns) | {"key"}
    unknown = requested.difference(COLUMNS)
    if unknown:
        raise ValueError(f"not table columns: {', '.join(sorted(unknown))}")
    return [name for name in COLUMNS if name in requested]


def _only(result: TableResult, wanted: list[str]) -> TableResult:
    if len(wanted) < len(COLUMNS):
        result.table = result.table[wanted]
    return result


_INHERITS = re.compile(r"^\s*(?:crossref|xdata)\s*=", re.IGNORECASE | re.MULTILINE)


def read_file_rows(
    path: Path, progress: "ProgressCallback | None" = None
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """One file's rows and problems, all built at once (the simple path :func:`read_file_columns` must equal)."""
    text, problem = read_bib_file(path)
    if text is None:
        return [], [problem] if problem else []
    if progress:
        progress(f"parsing {path.name}", 0, None)
    from evidence.library.parallel import file_rows  # a large file in two processes

    # crossref/xdata parents must be seen by their children, so such a file is prepared whole
    prepare = inherit_fields if _INHERITS.search(text) else None
    rows, problems = file_rows(text, str(path), entry_record, progress, prepare=prepare)
    if problem:  # a warning, e.g. the encoding the text was read in
        problems.insert(0, problem)
    return rows, problems


#: Columns whose values repeat across a library (entry types, journals, countries, ...): stored once per value.
REPEATED_COLUMNS = frozenset(
    [
        "entry_type",
        "first_author",
        "container",
        "volume",
        "issue",
        "language",
        "country",
        "design",
        "response_rate_bound",
        "rate_source",
        "response_definition",
        "followup",
        "blinding",
        "data_source",
        "extracted_from",
        "extracted_by",
        "verified_by",
        "verified_on",
        "source_file",
    ]
)


def read_file_columns(
    path: Path, progress: "ProgressCallback | None" = None, names: Sequence[str] = COLUMNS
) -> tuple[dict[str, list[Any]], list[Problem]]:
    """One file's columns ``names`` (a list of values each, in entry order) and its problems: the unit the cache keeps.

    The same values and problems as :func:`read_file_rows`, built a part of
    the file at a time so that a large file's parsed blocks, entries and
    rows are never all in memory together (:func:`~evidence.library.parallel.file_columns`);
    the text itself goes when this returns.
    """
    text, problem = read_bib_file(path)
    if text is None:
        return {name: [] for name in names}, [problem] if problem else []
    if progress:
        progress(f"parsing {path.name}", 0, None)
    from evidence.library.parallel import file_columns  # a large file in parts, and in two processes

    # crossref/xdata parents must be seen by their children, so such a file is prepared whole
    prepare = inherit_fields if _INHERITS.search(text) else None
    columns, problems = file_columns(
        text, str(path), entry_record, names, progress, prepare=prepare, repeated=REPEATED_COLUMNS
    )
    if problem:  # a warning, e.g. the encoding the text was read in
        problems.insert(0, problem)
    return columns, problems


def _with_places(names: Sequence[str]) -> list[str]:
    """``names`` and the columns that say where an entry is written (needed to report a key in two files)."""
    return [name for name in COLUMNS if name in names or name in ("key", "source_file", "source_line")]


def _merge_columns(
    parts: list[tuple[dict[str, list[Any]], list[Problem]]],
    files: list[Path],
    notes: list[str],
    names: Sequence[str] = COLUMNS,
) -> TableResult:
    """As :func:`_merge`, from each file's columns: a key already defined in an earlier file is dropped and reported."""
    columns: dict[str, list[Any]] = parts[0][0] if parts else {name: [] for name in _with_places(names)}
    problems = [p for _, part_problems in parts for p in part_problems]
    for more, _ in parts[1:]:
        for name in columns:
            columns[name].extend(more.pop(name))
    if len(parts) > 1:
        keys, where, lines = columns["key"], columns["source_file"], columns["source_line"]
        kept, duplicates = first_definitions(list(range(len(keys))), lambda i: (keys[i], where[i], lines[i]))
        if duplicates:
            for name in columns:
                columns[name] = list(map(columns[name].__getitem__, kept))
        problems += duplicates
    return TableResult(table=frame_from_lists(columns, names), problems=problems, files=files, notes=notes)


def _merge(
    parts: list[tuple[list[dict[str, Any]], list[Problem]]],
    files: list[Path],
    notes: list[str],
    names: Sequence[str] = COLUMNS,
) -> TableResult:
    """All files' rows in one table; a key already defined in an earlier file is dropped and reported."""
    rows = [row for part_rows, _ in parts for row in part_rows]
    kept, duplicates = first_definitions(rows, lambda r: (r["key"], r["source_file"], r["source_line"]))
    problems = [p for _, part_problems in parts for p in part_problems] + duplicates
    return TableResult(table=frame_from_rows(kept, names), problems=problems, files=files, notes=notes)


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while the table is built or unpickled.

    A load allocates millions of strings, dicts and lists and no reference
    cycles; the collector's repeated full passes over that growing heap cost
    about a fifth of a cold load and half of a cache read, and find nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _shown(value: str, limit: int = 40) -> str:
    """A value quoted for a message, cut short: a problem stays one readable line however long the value."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"... ({len(value):,} characters)"


def _text(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name)
    return decode_latex(value) or None if value else None


def _doi(raw: str | None) -> str | None:
    if not raw:
        return None
    doi = raw.strip()
    lowered = doi.lower()
    for prefix in _DOI_PREFIXES if lowered.startswith(("http", "doi:")) else ():
        if lowered.startswith(prefix):
            doi = doi[len(prefix) :]
            break
    return doi.strip() or None


_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:")
