"""The long outcome table: one row per study x outcome x time point x arm.

Real trials have three arms, several outcomes and several time points, and
some outcomes are scores (means and SDs) rather than counts; one pair of
``n``/``responders`` fields per entry cannot hold them.  So arms live in
``*.outcomes.csv`` files beside the .bib files (any file of that name in a
library folder, or given with ``--refs``), and load into a second, long
table joined to the studies by ``key``.

The BibTeX outcome fields (``n``, ``responders``, ``control_n``,
``control_responders``, ``response_definition``, ``intervention``,
``comparator``) keep working: they are shorthand for the outcome
``response`` with two arms, and load into the same table with ``source`` =
``bib``.  A study that gives the same outcome both ways is an error, since
the two could disagree and nothing says which is right.

Bad input is data: each row's problems come back as :class:`Problem`
records (``file:line: key: severity: message``) and a bad value is left
empty, as in the studies table.  docs/fields.md documents the format.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from evidence.errors import Problem
from evidence.library.fields import DATA_SOURCES

if TYPE_CHECKING:
    import pandas as pd

OUTCOME_COLUMNS = (
    "key",
    "outcome",
    "timepoint",
    "arm",
    "role",
    "n",
    "events",
    "mean",
    "sd",
    "better",
    "definition",
    "extracted_from",
    "extracted_by",
    "verified_by",
    "verified_on",
    "data_source",
)
#: Columns the loader adds: where each row came from; ``source`` is "csv" or "bib".
PROVENANCE_COLUMNS = ("file", "line", "source")
TABLE_COLUMNS = OUTCOME_COLUMNS + PROVENANCE_COLUMNS
#: A CSV without these columns cannot place its rows.
REQUIRED_COLUMNS = ("key", "outcome", "arm", "role")
OUTCOMES_SUFFIX = ".outcomes.csv"
ROLES = ("intervention", "control")
BETTER = ("higher", "lower")
#: The outcome the BibTeX shorthand stands for.
SHORTHAND_OUTCOME = "response"
SHORTHAND_FIELDS = ("n", "responders", "control_n", "control_responders")
_REVIEW_DESIGNS = frozenset({"systematic-review", "meta-analysis"})
#: The studies-table columns the shorthand rows are built from.
SHORTHAND_COLUMNS = (
    "key", "design", "n", "responders", "control_n", "control_responders", "intervention", "comparator",
    "response_definition", "extracted_from", "extracted_by", "verified_by", "verified_on", "verified_fields",
    "data_source", "source_file", "source_line",
)  # fmt: skip
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class OutcomeRow:
    """One parsed CSV row: the values (``None`` where empty or bad) and where it was written."""

    values: dict[str, Any]
    file: str
    line: int


def find_outcome_files(paths: Iterable[Path | str]) -> list[Path]:
    """Every ``*.outcomes.csv`` under the folders in ``paths``, given ones, and those beside given .bib files.

    A .bib file given on its own brings the outcome file of the same name
    (``refs/rls.bib`` -> ``refs/rls.outcomes.csv``), so ``--refs rls.bib``
    sees the same arms as ``--refs refs``.
    """
    found: dict[Path, None] = {}
    for path in map(Path, paths):
        if path.is_dir():
            for candidate in sorted(path.rglob(f"*{OUTCOMES_SUFFIX}")):
                if candidate.is_file():
                    found.setdefault(candidate, None)
        elif path.name.endswith(OUTCOMES_SUFFIX) and path.is_file():
            found.setdefault(path, None)
        elif path.is_file():
            beside = path.with_name(path.name[: -len(path.suffix)] + OUTCOMES_SUFFIX if path.suffix else path.name)
            if beside.name.endswith(OUTCOMES_SUFFIX) and beside.is_file():
                found.setdefault(beside, None)
    return list(found)


def read_outcome_file(path: Path) -> tuple[list[OutcomeRow], list[Problem]]:
    """Parse one outcome CSV: its rows (values typed, bad ones empty) and the problems met."""
    from evidence.library.files import decode_bib_bytes

    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        return [], [Problem(file, None, None, "error", f"cannot read: {error.strerror}")]
    text, problem = decode_bib_bytes(data, file)
    if text is None:  # undecodable: the problem says where
        return [], [problem] if problem else []
    rows, problems = parse_outcome_text(text, file)
    return rows, ([problem] if problem else []) + problems  # a warning naming the encoding the text was read in


def outcome_table_keys(paths: Iterable[Path | str]) -> frozenset[str]:
    """The keys that have rows in the outcome CSVs under ``paths``: cheap, for ``query --has-outcome``."""
    keys: set[str] = set()
    for path in find_outcome_files(paths):
        rows, _ = read_outcome_file(path)
        keys.update(str(row.values["key"]) for row in rows if row.values.get("key"))
    return frozenset(keys)


def parse_outcome_text(text: str, file: str) -> tuple[list[OutcomeRow], list[Problem]]:
    """Rows and problems of one CSV's text; ``line`` is where each row starts (the header is line 1)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    header: list[str] | None = None
    rows: list[OutcomeRow] = []
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                problems += _header_problems(header, file, line)
                if any(problem.severity == "error" for problem in problems):
                    return [], problems
                continue
            row, found = parse_outcome_row(header, cells, file, line)
            problems += found
            if row is not None:
                rows.append(row)
    except csv.Error as error:
        problems.append(Problem(file, reader.line_num, None, "error", f"cannot read the CSV: {error}"))
    if header is None:
        problems.append(Problem(file, 1, None, "error", "no header row; the first row names the columns"))
    return rows, problems


def _header_problems(header: list[str], file: str, line: int) -> list[Problem]:
    problems = []
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        message = f"header lacks the column(s) {', '.join(missing)}; the first row must name the columns"
        return [Problem(file, line, None, "error", message)]  # likely no header at all: its cells are data
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        problems.append(Problem(file, line, None, "error", f"column(s) named twice: {', '.join(repeated)}"))
    unknown = [name for name in header if name and name not in OUTCOME_COLUMNS]
    if unknown:
        message = f"unknown column(s) {', '.join(unknown)} are ignored; known: {', '.join(OUTCOME_COLUMNS)}"
        problems.append(Problem(file, line, None, "warning", message))
    return problems


def parse_outcome_row(
    header: list[str], cells: list[str], file: str, line: int
) -> tuple[OutcomeRow | None, list[Problem]]:
    """One row's values, typed; ``None`` when it lacks a key, an outcome or an arm and so cannot be placed."""
    raw = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
    key = raw.get("key") or None
    problems: list[Problem] = []

    def report(severity: str, message: str) -> None:
        problems.append(Problem(file, line, key, severity, message))  # type: ignore[arg-type]

    if len(cells) > len(header):
        report("error", f"{len(cells)} cells but the header names {len(header)} columns")
    missing = [name for name in ("key", "outcome", "arm") if not raw.get(name)]
    if missing:
        report("error", f"{', '.join(missing)} missing; the row is ignored")
        return None, problems
    values, messages = parse_outcome_values(raw)
    for severity, message in messages:
        report(severity, message)
    values["timepoint"] = values.get("timepoint") or ""
    return OutcomeRow(values, file, line), problems


def parse_outcome_values(raw: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Typed values of one row from its text, and (severity, message) for each that does not fit.

    Shared by the loader and by edits, so a value an edit writes is one the
    loader accepts.
    """
    values: dict[str, Any] = {name: None for name in OUTCOME_COLUMNS}
    found: list[tuple[str, str]] = []
    for name in OUTCOME_COLUMNS:
        text = (raw.get(name) or "").strip()
        if not text:
            continue
        if name in ("n", "events"):
            if _INTEGER.match(text.replace(",", "")):
                values[name] = int(text.replace(",", ""))
            else:
                found.append(("error", f"{name} {text!r} is not a count (a whole number, 0 or more)"))
        elif name in ("mean", "sd"):
            try:
                number = float(text)
            except ValueError:
                found.append(("error", f"{name} {text!r} is not a number"))
                continue
            if not math.isfinite(number):
                found.append(("error", f"{name} {text!r} is not a finite number"))
            elif name == "sd" and number <= 0:
                found.append(("error", f"sd {text} must be greater than 0"))
            else:
                values[name] = number
        elif name in ("role", "better", "data_source"):
            choices = {"role": ROLES, "better": BETTER, "data_source": DATA_SOURCES}[name]
            if text.lower() in choices:
                values[name] = text.lower()
            else:
                found.append(("error", f"{name} {text!r} is not one of {', '.join(choices)}"))
        elif name == "verified_on":
            if _DATE.match(text):
                values[name] = text
            else:
                found.append(("error", f"verified_on {text!r} is not a date (YYYY-MM-DD)"))
        else:
            values[name] = text
    if raw.get("role", "").strip() == "":
        found.append(("error", "role missing: intervention or control"))
    if raw.get("better", "").strip() == "":
        found.append(("error", "better missing: higher or lower, whichever is good for this outcome"))
    if values["events"] is not None and (values["mean"] is not None or values["sd"] is not None):
        found.append(("error", "events and mean/sd in one row: an outcome is dichotomous or continuous, not both"))
    if values["events"] is not None and values["n"] is not None and values["events"] > values["n"]:
        found.append(("error", f"events ({values['events']}) greater than n ({values['n']})"))
    if values["events"] is None and values["mean"] is None and values["sd"] is None and not found:
        found.append(("warning", "no events and no mean: this arm has no result to compare"))
    if values["verified_by"] and not values["extracted_by"]:
        found.append(("warning", "verified_by is set but extracted_by is not"))
    return values, found


def shorthand_rows(studies: "pd.DataFrame") -> list[OutcomeRow]:
    """The BibTeX shorthand of each study as the outcome ``response`` with an intervention and a control arm.

    Reviews are left out: their counts are pooled totals, reported as
    published, not arms of one trial.
    """
    rows: list[OutcomeRow] = []
    if studies is None or len(studies) == 0:
        return rows
    present = [name for name in SHORTHAND_FIELDS if name in studies.columns]
    if not present:
        return rows
    # only entries with counts have shorthand arms; selecting them first keeps large libraries fast
    with_counts = studies[studies[present].notna().any(axis=1)]
    wanted = [name for name in SHORTHAND_COLUMNS if name in with_counts.columns]
    for record in _given_records(with_counts, wanted):
        if record.get("design") in _REVIEW_DESIGNS:
            continue
        arms = (
            ("intervention", ("n", "responders"), record.get("intervention"), "intervention"),
            ("control", ("control_n", "control_responders"), record.get("comparator"), "control"),
        )
        for role, counts, labels, fallback in arms:
            n, events = (record.get(name) for name in counts)
            if n is None and events is None:
                continue
            label = "; ".join(labels) if labels else fallback
            values: dict[str, Any] = {name: None for name in OUTCOME_COLUMNS}
            values.update(
                key=str(record["key"]),
                outcome=SHORTHAND_OUTCOME,
                timepoint="",
                arm=label,
                role=role,
                n=None if n is None else int(n),
                events=None if events is None else int(events),
                better="higher",
                definition=record.get("response_definition"),
                extracted_from=record.get("extracted_from"),
                extracted_by=record.get("extracted_by"),
                verified_by=_verifier_of(record, counts),
                verified_on=record.get("verified_on"),
                data_source=record.get("data_source"),
            )
            file, line = record.get("source_file"), record.get("source_line")
            rows.append(OutcomeRow(values, "" if file is None else str(file), 0 if line is None else int(line)))
    return rows


def _given_records(frame: "pd.DataFrame", names: list[str]) -> list[dict[str, Any]]:
    """The frame's rows as dicts, every missing value (NaN, NA, None) as None.

    Column by column: pandas finds the missing cells of a whole column at
    once, where a test per cell cost most of an audit of a large library.
    """
    columns = []
    for name in names:
        column = frame[name]
        columns.append([None if gone else value for value, gone in zip(column.tolist(), column.isna().tolist())])
    return [dict(zip(names, row)) for row in zip(*columns)] if names else []


def _verifier_of(record: Mapping[str, Any], counts: tuple[str, str]) -> Any:
    """Who verified an arm's counts: ``verified_by``, unless ``verified_fields`` limits the check to other fields.

    An entry verified for its title and DOI only has unverified numbers, and a
    comparison or audit resting on them must say so rather than borrow the
    entry's verifier.
    """
    covered = record.get("verified_fields")
    if covered and not all(name in covered for name in counts if record.get(name) is not None):
        return None
    return record.get("verified_by")


def load_outcomes(
    paths: Iterable[Path | str], studies: "pd.DataFrame", check: bool = True, shorthand: bool = True
) -> tuple["pd.DataFrame", list[Problem]]:
    """The long outcome table from every outcome CSV under ``paths`` and the studies' BibTeX shorthand.

    Columns: :data:`OUTCOME_COLUMNS` then ``file``, ``line`` and ``source``
    ("csv" or "bib").  ``n`` and ``events`` are nullable integers, ``mean``
    and ``sd`` floats; bad values are empty.  The problems include the rules
    across rows (:func:`check_outcomes_table`), unless ``check`` is false:
    a caller that only reads the table (a page, an audit) need not pay for
    rules it never reports.  ``shorthand=False`` leaves out the BibTeX
    shorthand rows, for a reader that takes them from the entries (the
    audit): a large library has tens of thousands of them.
    """
    rows: list[OutcomeRow] = []
    problems: list[Problem] = []
    for path in find_outcome_files(paths):
        file_rows, file_problems = read_outcome_file(path)
        rows += file_rows
        problems += file_problems
    from_bib = shorthand_rows(studies) if shorthand else []
    table = outcome_frame([(row, "csv") for row in rows] + [(row, "bib") for row in from_bib])
    if check:
        problems += check_outcomes_table(table, studies)
    return table, sorted(problems, key=lambda p: (p.file, p.line or 0, p.key or "", p.message))


def outcome_frame(rows: list[tuple[OutcomeRow, str]]) -> "pd.DataFrame":
    """The long table from parsed rows, typed as :func:`load_outcomes` documents."""
    import pandas as pd

    columns: dict[str, list[Any]] = {name: [] for name in TABLE_COLUMNS}
    for row, source in rows:
        for name in OUTCOME_COLUMNS:
            columns[name].append(row.values.get(name))
        columns["file"].append(row.file)
        columns["line"].append(row.line)
        columns["source"].append(source)
    typed: dict[str, Any] = {}
    for name, values in columns.items():
        if name in ("n", "events", "line"):
            typed[name] = pd.array(values, dtype="Int64")
        elif name in ("mean", "sd"):
            typed[name] = pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        else:
            typed[name] = pd.array(values, dtype="object")
    return pd.DataFrame(typed)


def check_outcomes_table(outcomes: "pd.DataFrame", studies: "pd.DataFrame") -> list[Problem]:
    """Rules across rows: unknown keys, duplicate arms, mixed kinds, ``better`` disagreeing, both .bib and CSV.

    Each problem points at the later row (the first one stands), so fixing
    the file top to bottom clears them.
    """
    problems: list[Problem] = []
    known = set(studies["key"].astype(str)) if studies is not None and "key" in studies else set()
    rows = records(outcomes)

    def report(record: Mapping[str, Any], severity: str, message: str) -> None:
        where = (str(record["file"]), _line(record), str(record["key"]))
        problems.append(Problem(*where, severity, message))  # type: ignore[arg-type]

    arms: dict[tuple[str, ...], Mapping[str, Any]] = {}
    kinds: dict[tuple[str, str, str], tuple[str, Mapping[str, Any]]] = {}
    better: dict[str, Mapping[str, Any]] = {}
    sources: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for record in rows:
        key, outcome = str(record["key"]), str(record["outcome"])
        if record["source"] == "csv" and key not in known:
            report(record, "error", f"unknown key {key!r}: no entry in the library has it")
        # across .bib and CSV the "given both ways" error below says it once
        arm = (
            str(record["source"]),
            key,
            outcome.lower(),
            str(record["timepoint"]).lower(),
            str(record["arm"]).lower(),
        )
        if arm in arms:
            first = arms[arm]
            report(
                record,
                "error",
                f"duplicate arm: {record['arm']!r} of {outcome!r}{_at(record)} is also given at {_where(first)}",
            )
        else:
            arms[arm] = record
        kind = _kind(record)
        group = (key, outcome.lower(), str(record["timepoint"]).lower())
        if kind:
            if group in kinds and kinds[group][0] != kind:
                other, first = kinds[group]
                report(
                    record,
                    "error",
                    f"{outcome!r}{_at(record)} mixes {kind} and {other} rows "
                    f"(see {_where(first)}); an outcome is one or the other",
                )
            kinds.setdefault(group, (kind, record))
        if record["better"]:
            first = better.setdefault(outcome.lower(), record)
            if first["better"] != record["better"]:
                report(
                    record,
                    "error",
                    f"better is {record['better']!r} for {outcome!r} here but {first['better']!r} at {_where(first)}",
                )
        sources.setdefault((key, outcome.lower()), {}).setdefault(str(record["source"]), record)
    for given in sources.values():
        if "csv" in given and "bib" in given:
            message = (
                f"outcome {given['csv']['outcome']!r} is given both here and as BibTeX fields at "
                f"{_where(given['bib'])}; keep one (the CSV holds any number of arms)"
            )
            report(given["csv"], "error", message)
    return problems


def records(frame: "pd.DataFrame", columns: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The frame's rows as dicts, built column by column (several times faster than ``to_dict``)."""
    names = list(frame.columns if columns is None else columns)
    values = [frame[name].tolist() for name in names]
    return [dict(zip(names, row)) for row in zip(*values)] if names else []


def _kind(record: Mapping[str, Any]) -> str | None:
    import pandas as pd

    if not pd.isna(record["events"]):
        return "dichotomous"
    if not pd.isna(record["mean"]) or not pd.isna(record["sd"]):
        return "continuous"
    return None


def _line(record: Mapping[str, Any]) -> int | None:
    import pandas as pd

    return None if pd.isna(record["line"]) else int(record["line"])


def _at(record: Mapping[str, Any]) -> str:
    return f" at {record['timepoint']}" if record["timepoint"] else ""


def _where(record: Mapping[str, Any]) -> str:
    return f"{record['file']}:{_line(record)}"


def outcome_problems(paths: Iterable[Path | str], studies: "pd.DataFrame") -> list[Problem]:
    """What ``evidence check`` adds for outcomes: the table's problems and the comparisons that cannot be made."""
    from evidence.analysis.comparisons import excluded_problems

    outcomes, problems = load_outcomes(paths, studies)
    return problems + excluded_problems(outcomes, studies)
