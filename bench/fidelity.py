"""Run the loader and the exporters over a corpus of real .bib files and count what goes wrong.

For every file (see bench/corpus.py for how the corpus is gathered):

* **crashes**: any exception other than a reported problem, anywhere in loading or the round trips;
* **decoding**: files read as UTF-8, read in another encoding (with a warning), or not read at all;
* **entries lost**: entries bibtexparser 2 finds in the file (its default parse, on the same text)
  that are not rows of the evidence table;
* **values**: entries whose biblatex ``date`` gave the year, ``crossref`` children that got a
  container, titles and names with LaTeX left in them after decoding;
* **round trips**: the table exported as CSL-JSON, RIS and CSV, read back by ``add``'s readers,
  written as BibTeX and loaded again; per field, how many entries came back different, and how
  many keys were lost.

    python bench/fidelity.py ~/.cache/evidence/corpus             # Markdown report on stdout
    python bench/fidelity.py CORPUS --json figures.json --no-round-trip
    python bench/fidelity.py tests/data/corpus --fail-on-crash   # the committed sample, as CI can run it
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUND_TRIP_FORMATS = ("csljson", "ris", "csv")
ROUND_TRIP_COLUMNS = (
    "authors",
    "year",
    "month",
    "title",
    "container",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "url",
    "keywords",
    "note",
    "abstract",
    "language",
)
#: What decoding should have removed: a macro, or math between two dollars.
_LEFTOVER_LATEX = re.compile(r"\\[A-Za-z]+|\$[^$]+\$")


@dataclass
class Figures:
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    entries: int = 0
    entries_bibtexparser: int = 0
    entries_lost: int = 0
    files_losing_entries: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    encodings: Counter = field(default_factory=Counter)
    undecodable: list[str] = field(default_factory=list)
    problems: Counter = field(default_factory=Counter)
    date_without_year: int = 0
    date_gave_year: int = 0
    crossref_children: int = 0
    crossref_with_container: int = 0
    crossref_with_year: int = 0
    titles: int = 0
    titles_with_latex_left: int = 0
    title_examples: list[str] = field(default_factory=list)
    names: int = 0
    names_with_latex_left: int = 0
    name_examples: list[str] = field(default_factory=list)
    round_trip_entries: Counter = field(default_factory=Counter)
    round_trip_keys_lost: Counter = field(default_factory=Counter)
    round_trip_losses: dict[str, Counter] = field(default_factory=lambda: {f: Counter() for f in ROUND_TRIP_FORMATS})
    round_trip_examples: dict[str, list[str]] = field(default_factory=dict)


def run(corpus: Path, round_trip: bool = True, limit: int | None = None) -> Figures:
    figures = Figures()
    files = sorted(p for p in corpus.rglob("*") if p.suffix.lower() == ".bib" and p.is_file())
    for path in files[:limit]:
        started = time.perf_counter()
        try:
            check_file(path, figures, round_trip)
        except Exception as error:  # a crash is what this benchmark is for
            where = traceback.extract_tb(error.__traceback__)[-1]
            place = f"{Path(where.filename).name}:{where.lineno}"
            figures.crashes.append(f"{path}: {type(error).__name__}: {error} ({place})")
        figures.seconds += time.perf_counter() - started
    return figures


def check_file(path: Path, figures: Figures, round_trip: bool) -> None:
    import bibtexparser

    from evidence.library.files import decode_bib_bytes
    from evidence.library.table import read_file_rows

    data = path.read_bytes()
    figures.files += 1
    figures.bytes += len(data)
    text, problem = decode_bib_bytes(data, str(path))
    if text is None:
        figures.undecodable.append(str(path))
        text = data.decode("utf-8", "replace")
        ours: list[dict[str, Any]] = []
    else:
        encoding = "utf-8"
        if problem is not None:
            match = re.search(r"read as (\S+)", problem.message)
            encoding = match.group(1).lower() if match else "other"
        figures.encodings[encoding] += 1
        ours, problems = read_file_rows(path)
        for found in problems:
            figures.problems[_problem_class(found.message)] += 1
    theirs = len(bibtexparser.parse_string(text).entries)
    figures.entries += len(ours)
    figures.entries_bibtexparser += theirs
    if theirs > len(ours):
        figures.entries_lost += theirs - len(ours)
        figures.files_losing_entries.append(f"{path} ({theirs - len(ours)} of {theirs})")
    if ours:
        check_values(path, ours, figures)
        if round_trip:
            check_round_trips(path, ours, figures)


def _problem_class(message: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "…", message.split(":")[0])[:60]


def check_values(path: Path, rows: list[dict[str, Any]], figures: Figures) -> None:
    from evidence.library.files import parse_bib_text

    raw_fields = {e.key: e.fields for e in parse_bib_text("\n\n".join(r["raw"] for r in rows), str(path))[0]}
    for row in rows:
        fields = raw_fields.get(row["key"], {})
        if fields.get("date") and not fields.get("year"):
            figures.date_without_year += 1
            figures.date_gave_year += row["year"] is not None
        if fields.get("crossref"):
            figures.crossref_children += 1
            figures.crossref_with_container += bool(row["container"])
            figures.crossref_with_year += row["year"] is not None
        if row["title"]:
            figures.titles += 1
            if _LEFTOVER_LATEX.search(row["title"]):
                figures.titles_with_latex_left += 1
                if len(figures.title_examples) < 15:
                    figures.title_examples.append(f"{row['title_raw']!r} -> {row['title']!r}")
        for name in row["authors"]:
            figures.names += 1
            text = " ".join(str(v) for v in name.values())
            if _LEFTOVER_LATEX.search(text):
                figures.names_with_latex_left += 1
                if len(figures.name_examples) < 15:
                    figures.name_examples.append(f"{path.name}: {name}")


def check_round_trips(path: Path, rows: list[dict[str, Any]], figures: Figures) -> None:
    from evidence.curation.export import export_table
    from evidence.curation.importers import plan_import, read_source_records
    from evidence.library.files import parse_bib_text
    from evidence.library.table import entry_record, frame_from_rows, inherit_fields

    unique = list({row["key"]: row for row in rows if row["key"]}.values())  # an empty key gets a new one
    if not unique:
        return
    table = frame_from_rows(unique)
    empty = frame_from_rows([])
    for fmt in ROUND_TRIP_FORMATS:
        text = export_table(table, fmt)
        records, _ = read_source_records(text, fmt, f"{path}.{fmt}")
        plan = plan_import(records, empty, allow_duplicates=True)
        entries, _ = parse_bib_text("\n\n".join(t for _, t in plan.added), f"{path}.{fmt}.bib")
        back = {e.key: entry_record(e)[0] for e in inherit_fields(entries)}
        figures.round_trip_entries[fmt] += len(unique)
        for row in unique:
            again = back.get(row["key"])
            if again is None:
                figures.round_trip_keys_lost[fmt] += 1
                continue
            for column in ROUND_TRIP_COLUMNS:
                if _comparable(column, row[column]) != _comparable(column, again[column]):
                    figures.round_trip_losses[fmt][column] += 1
                    examples = figures.round_trip_examples.setdefault(f"{fmt}:{column}", [])
                    if len(examples) < 3:
                        examples.append(f"{row['key']}: {row[column]!r} -> {again[column]!r}")


def _comparable(column: str, value: Any) -> Any:
    if value is None or value == [] or value == "":
        return None
    if column == "authors":
        return [tuple(sorted(name.items())) for name in value]
    if isinstance(value, list):
        return [" ".join(str(v).split()) for v in value]
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def markdown(figures: Figures, corpus: Path) -> str:
    def percent(part: int, whole: int) -> str:
        return f"{part:,} of {whole:,} ({100 * part / whole:.1f}%)" if whole else f"{part:,} of 0"

    lines = [
        f"Corpus: {corpus} — {figures.files:,} files, {figures.bytes / 1e6:.1f} MB, {figures.seconds:.0f} s.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| crashes | {len(figures.crashes)} |",
        f"| entries (evidence / bibtexparser) | {figures.entries:,} / {figures.entries_bibtexparser:,} |",
        f"| entries lost against bibtexparser | {figures.entries_lost:,} in "
        f"{len(figures.files_losing_entries)} file(s) |",
        f"| files read as UTF-8 | {figures.encodings.get('utf-8', 0):,} |",
        "| files read in another encoding (with a warning) | "
        + (", ".join(f"{n} {e}" for e, n in figures.encodings.most_common() if e != "utf-8") or "0")
        + " |",
        f"| files not decodable | {len(figures.undecodable)} |",
        f"| `date` without `year`: year found | {percent(figures.date_gave_year, figures.date_without_year)} |",
        "| `crossref` children with a container | "
        f"{percent(figures.crossref_with_container, figures.crossref_children)} |",
        f"| `crossref` children with a year | {percent(figures.crossref_with_year, figures.crossref_children)} |",
        f"| titles with LaTeX left after decoding | {percent(figures.titles_with_latex_left, figures.titles)} |",
        f"| names with LaTeX left after decoding | {percent(figures.names_with_latex_left, figures.names)} |",
    ]
    if figures.round_trip_entries:
        lines += [
            "",
            "Round trips (export, `add`, load again): entries whose field came back different.",
            "",
            "| field | " + " | ".join(ROUND_TRIP_FORMATS) + " |",
            "|---|" + "---|" * len(ROUND_TRIP_FORMATS),
        ]
        lines.append(
            "| keys lost | "
            + " | ".join(
                percent(figures.round_trip_keys_lost[f], figures.round_trip_entries[f]) for f in ROUND_TRIP_FORMATS
            )
            + " |"
        )
        for column in ROUND_TRIP_COLUMNS:
            lines.append(
                f"| {column} | "
                + " | ".join(f"{figures.round_trip_losses[f][column]:,}" for f in ROUND_TRIP_FORMATS)
                + " |"
            )
    sections = [
        ("Crashes", figures.crashes),
        ("Files losing entries", figures.files_losing_entries),
        ("Undecodable files", figures.undecodable),
        ("Titles with LaTeX left", figures.title_examples),
        ("Names with LaTeX left", figures.name_examples),
        ("Round-trip differences", [f"{k}: {v}" for k, vs in sorted(figures.round_trip_examples.items()) for v in vs]),
        ("Problems reported, by kind", [f"{n:,} {kind}" for kind, n in figures.problems.most_common(15)]),
    ]
    for title, items in sections:
        if items:
            lines += ["", f"{title}:", ""] + [f"- {item}" for item in items[:40]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=Path.home() / ".cache" / "evidence" / "corpus")
    parser.add_argument("--no-round-trip", action="store_true", help="skip the export/import round trips")
    parser.add_argument("--limit", type=int, help="only the first N files")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--fail-on-crash", action="store_true", help="exit 1 on any crash or lost entry")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.CRITICAL)
    figures = run(args.corpus, not args.no_round_trip, args.limit)
    print(markdown(figures, args.corpus))
    if args.json:
        args.json.write_text(json.dumps(figures.__dict__, indent=2, default=list) + "\n")
    return 1 if args.fail_on_crash and (figures.crashes or figures.entries_lost) else 0


if __name__ == "__main__":
    raise SystemExit(main())
