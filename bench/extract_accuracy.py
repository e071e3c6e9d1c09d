"""Precision and recall of `evidence extract` per field, on the hand-extracted abstracts in tests/data/extract.

Run from the repository root:

    python -m bench.extract_accuracy            # a table
    python -m bench.extract_accuracy --json     # the same numbers as JSON
    python -m bench.extract_accuracy --cases    # what was missed and what was extra, per abstract
    python -m bench.extract_accuracy --heldout  # the abstracts no rule was fixed against (tests/data/extract/heldout)

A proposed value counts as correct when the hand extraction has it; values are compared as sets per field and
abstract (an arm's n, events, percent, mean, SD; an effect's measure, estimate and CI together).  A computed count is
correct when the extraction's n and rate imply it.  "invented" counts proposed numbers that their own quote does not
bear out (evidence.curation.extract.invented_numbers); it must be 0.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from evidence.curation.extract import extract_abstract, implied_count, invented_numbers

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "extract"
SCALARS = ("design", "blinding", "country", "participants", "studies")
ARM_FIELDS = ("n", "events", "percent", "mean", "sd")
FIELDS = SCALARS + ARM_FIELDS + ("effect", "effect_studies", "effect_participants")


def load_cases(folder: Path = DATA) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def _r(value: float) -> float:
    return round(float(value), 4)


def expected_sets(expected: dict) -> dict[str, set]:
    sets: dict[str, set] = {name: set() for name in FIELDS}
    for name in SCALARS:
        if expected.get(name) is not None:
            sets[name].add(expected[name])
    for arm in expected.get("arms", []):
        for name in ARM_FIELDS:
            if arm.get(name) is not None:
                sets[name].add(_r(arm[name]))
    for effect in expected.get("effects", []):
        sets["effect"].add((effect["measure"], _r(effect["estimate"]), _r(effect["ci_lb"]), _r(effect["ci_ub"])))
        for name in ("studies", "participants"):
            if effect.get(name) is not None:
                sets[f"effect_{name}"].add(effect[name])
    return sets


def proposed_sets(proposal, expected: dict) -> tuple[dict[str, set], set]:
    """The proposal's values as sets, and the computed counts the hand extraction supports."""
    sets: dict[str, set] = {name: set() for name in FIELDS}
    for name in SCALARS:
        value = getattr(proposal, name)
        if value is not None:
            sets[name].add(value.value)
    supported: set = set()
    rates = [(a.get("n"), a.get("percent")) for a in expected.get("arms", []) if a.get("percent") is not None]
    for arm in proposal.arms:
        for name in ARM_FIELDS:
            value = getattr(arm, name)
            if value is not None:
                sets[name].add(_r(value.value))
                if name == "events" and value.computed:
                    for n, percent in rates:
                        if n and _r(percent) == _r(arm.percent.value):
                            written = arm.percent.quote.text.rstrip(" %")
                            decimals = len(written.split(".")[1]) if "." in written else 0
                            if implied_count(percent, decimals, n) == value.value:
                                supported.add(_r(value.value))
    for effect in proposal.effects:
        sets["effect"].add((effect.measure, _r(effect.estimate.value), _r(effect.ci_lb.value), _r(effect.ci_ub.value)))
        for name in ("studies", "participants"):
            if getattr(effect, name) is not None:
                sets[f"effect_{name}"].add(getattr(effect, name).value)
    return sets, supported


def score(cases: list[dict]) -> dict:
    tally = {name: Counter() for name in FIELDS}
    invented: list[str] = []
    per_case = []
    for case in cases:
        proposal = extract_abstract(case["id"], case["abstract"])
        invented += [f"{case['id']}: {line}" for line in invented_numbers(proposal)]
        want = expected_sets(case["expected"])
        got, supported = proposed_sets(proposal, case["expected"])
        want["events"] |= supported
        detail = {"id": case["id"], "missed": {}, "extra": {}}
        for name in FIELDS:
            hits = got[name] & want[name]
            tally[name]["tp"] += len(hits)
            tally[name]["proposed"] += len(got[name])
            tally[name]["expected"] += len(want[name])
            if want[name] - got[name]:
                detail["missed"][name] = sorted(map(str, want[name] - got[name]))
            if got[name] - want[name]:
                detail["extra"][name] = sorted(map(str, got[name] - want[name]))
        per_case.append(detail)
    fields = {}
    for name, c in tally.items():
        fields[name] = {
            "proposed": c["proposed"],
            "expected": c["expected"],
            "correct": c["tp"],
            "precision": round(c["tp"] / c["proposed"], 3) if c["proposed"] else None,
            "recall": round(c["tp"] / c["expected"], 3) if c["expected"] else None,
        }
    return {"abstracts": len(cases), "fields": fields, "invented": invented, "cases": per_case}


def format_table(result: dict) -> str:
    lines = [
        f"{result['abstracts']} abstracts; invented numbers: {len(result['invented'])}",
        "",
        "| field | proposed | expected | correct | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, f in result["fields"].items():
        p = "-" if f["precision"] is None else f"{f['precision']:.2f}"
        r = "-" if f["recall"] is None else f"{f['recall']:.2f}"
        lines.append(f"| {name} | {f['proposed']} | {f['expected']} | {f['correct']} | {p} | {r} |")
    lines += [f"invented: {line}" for line in result["invented"]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    result = score(load_cases(DATA / "heldout" if "--heldout" in argv else DATA))
    if "--json" in argv:
        print(json.dumps({k: v for k, v in result.items() if k != "cases"}, indent=2))
    elif "--cases" in argv:
        for case in result["cases"]:
            if case["missed"] or case["extra"]:
                print(case["id"], "missed:", case["missed"], "extra:", case["extra"])
    else:
        print(format_table(result))
    return 1 if result["invented"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
