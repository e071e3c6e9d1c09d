"""Hold citerra's reading to bibtexparser's over real .bib files: identical, declined, or different.

For every file under the folders given, the text is read as a load reads it
and parsed twice: by ``evidence.library.citerra_parse`` (citerra, checked)
and by bibtexparser (``parse_bib_text`` with ``EVIDENCE_PARSER=bibtexparser``).
A file is *identical* when citerra's result equals bibtexparser's (entries,
fields, lines, raw text, problems), *declined* when the adapter gave the file
back to bibtexparser (with the reason), and *different* when the adapter
returned a result that is not bibtexparser's: a bug in the adapter, which
must then decline.  The exit status is 1 when any file is different.

    python bench/parsers.py ~/.cache/evidence/corpus ../shared/bench-real
    python bench/parsers.py tests/data --json tally.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ["EVIDENCE_PARSER"] = "bibtexparser"  # parse_bib_text is the reference here

from evidence.library.citerra_parse import citerra_reading
from evidence.library.files import find_bib_files, parse_bib_text, read_bib_file


def compare(folders: list[Path], verbose: bool) -> dict[str, object]:
    """The tally over every .bib file under ``folders``."""
    tally: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    clean_reasons: Counter[str] = Counter()  # declined, though bibtexparser found no problem
    different: list[str] = []
    seconds = {"citerra": 0.0, "bibtexparser": 0.0}
    entries = {"citerra": 0, "bibtexparser": 0}
    for path in find_bib_files(folders):
        text, _ = read_bib_file(path)
        if text is None:
            tally["not decoded"] += 1
            continue
        started = time.process_time()
        fast = citerra_reading(text, str(path))
        seconds["citerra"] += time.process_time() - started
        started = time.process_time()
        reference = parse_bib_text(text, str(path))
        seconds["bibtexparser"] += time.process_time() - started
        entries["bibtexparser"] += len(reference[0])
        if isinstance(fast, str):
            tally["declined"] += 1
            reasons[fast] += 1
            if not reference[1]:
                clean_reasons[fast] += 1
            if verbose:
                print(f"declined: {path}: {fast}", file=sys.stderr)
        elif fast == reference:
            tally["identical"] += 1
            entries["citerra"] += len(fast[0])
        else:
            tally["different"] += 1
            different.append(str(path))
            print(f"DIFFERENT: {path}", file=sys.stderr)
    return {
        "files": sum(tally.values()),
        "tally": dict(tally),
        "declined_because": dict(reasons.most_common()),
        "declined_though_bibtexparser_found_no_problem": dict(clean_reasons.most_common()),
        "different": different,
        "entries_read_by_citerra": entries["citerra"],
        "entries": entries["bibtexparser"],
        "cpu_seconds": {name: round(value, 2) for name, value in seconds.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--json", type=Path, help="also write the tally here")
    parser.add_argument("-v", "--verbose", action="store_true", help="name every declined file and why")
    args = parser.parse_args()
    result = compare(args.folders, args.verbose)
    tally = result["tally"]
    assert isinstance(tally, dict)
    print(f"{result['files']} files: " + ", ".join(f"{count} {name}" for name, count in sorted(tally.items())))
    print(f"entries read by citerra: {result['entries_read_by_citerra']:,} of {result['entries']:,}")
    print("declined because:")
    for reason, count in dict(result["declined_because"]).items():  # type: ignore[call-overload]
        clean = dict(result["declined_though_bibtexparser_found_no_problem"]).get(reason, 0)  # type: ignore[call-overload]
        print(f"  {count:4} {reason} ({clean} of them with no problem for bibtexparser)")
    print(f"CPU seconds: {result['cpu_seconds']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.exit(1 if tally.get("different") else 0)


if __name__ == "__main__":
    main()
