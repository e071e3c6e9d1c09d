"""Time a warm audit of the seed page against a warm query of the same generated library.

The target: a warm ``evidence audit`` of the restless-legs condition page against a
200,000-entry library takes at most twice a warm ``evidence query`` of that
library.  Both run as their own processes, as a user runs them, after one run
has built the cache; the table shows the median of the runs.

    python bench/audit.py                      # 200,000 entries, 3 runs each
    python bench/audit.py --size 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = Path("/work/shared/examples/restless-legs-condition-page.txt")
FALLBACK_SEED = ROOT / "tests" / "data" / "audit" / "condition-page.txt"


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seed = SEED if SEED.exists() else FALLBACK_SEED
    with tempfile.TemporaryDirectory(prefix="evidence-bench-audit-") as tmp:
        library = Path(tmp) / "library.bib"
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(args.size), str(library)], check=True)
        cli = [sys.executable, "-m", "evidence"]
        query = [*cli, "query", "--refs", str(library), "--condition", "restless legs"]
        audit = [*cli, "audit", "--refs", str(library), str(seed)]
        first = timed(query)  # builds the cache both warm commands read
        times: dict[str, list[float]] = {"query": [], "audit": []}
        for _ in range(args.repeat):  # round robin, so load on the machine falls on both alike
            times["query"].append(timed(query))
            times["audit"].append(timed(audit))
        warm_query, warm_audit = (statistics.median(times[name]) for name in ("query", "audit"))
    print(f"{args.size:,} entries; first query (builds the cache) {first:.2f} s; medians of {args.repeat} runs\n")
    print("| command | median s | x warm query |")
    print("|---|---:|---:|")
    print(f"| evidence query --condition 'restless legs' (warm cache) | {warm_query:.2f} | 1.00 |")
    print(f"| evidence audit {seed.name} (warm cache) | {warm_audit:.2f} | {warm_audit / warm_query:.2f} |")


if __name__ == "__main__":
    main()
