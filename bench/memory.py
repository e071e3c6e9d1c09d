"""Peak memory and CPU time of a cold load, for one or more checkouts of evidence, in turns.

    python bench/memory.py --work /tmp/bench                       # this checkout, 50,000 and 200,000 entries
    python bench/memory.py --tree /tmp/old --tree . --sizes 50000 --repeat 3

Each run is ``evidence query --refs LIB --quiet`` in a fresh process, with
``--no-cache`` (the parse serial or in two processes) or with an empty
cache folder (the first query, which also writes the cache).  The runs go
in turns (tree A, tree B, tree A, ...) so that a busy spell on the machine
falls on all of them alike.  Reported per row: the median CPU seconds (user
+ system, the worker process included), the largest peak resident set of
one process (``ru_maxrss``, what ``/usr/bin/time`` shows) and the largest
total proportional set size (PSS) of the process and its workers, sampled
every 0.2 s: with the parse in two processes the worker's memory adds to
the parent's, and PSS counts the pages they share once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "no cache, serial parse": (["--no-cache"], {"EVIDENCE_PARALLEL_PARSE": "0"}),
    "no cache, parse in 2 processes": (["--no-cache"], {"EVIDENCE_PARALLEL_PARSE": "1"}),
    "first query (writes the cache)": ([], {"EVIDENCE_PARALLEL_PARSE": "1"}),
}


def pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` and its children, in kB (0 once it has gone)."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            pids += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    for one in pids:
        try:
            with open(f"/proc/{one}/smaps_rollup") as handle:
                total += sum(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
        except (OSError, ValueError):
            pass
    return total


def run(tree: Path, library: Path, options: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """CPU seconds, peak RSS (MB) of one process, peak total PSS (MB) of one cold query."""
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, **env, "EVIDENCE_CACHE_DIR": cache}
        command = [sys.executable, "-m", "evidence", "query", "--refs", str(library), "--quiet", *options]
        process = subprocess.Popen(command, cwd=tree, env=environment, stdout=subprocess.DEVNULL)
        peak_pss = 0
        finished = threading.Event()

        def sample() -> None:
            nonlocal peak_pss
            while not finished.wait(0.2):
                peak_pss = max(peak_pss, pss_kb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        finished.set()
        sampler.join()
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed in {tree}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, peak_pss // 1024


def library(size: int, work: Path) -> Path:
    path = work / f"lib-{size}" / "library.bib"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(size), str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, action="append", help="a checkout to run (repeatable; default: this one)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50000, 200000])
    parser.add_argument("--modes", nargs="+", choices=range(len(MODES)), type=int, default=list(range(len(MODES))))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "evidence-bench")
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.tree or [ROOT]]
    names = list(MODES)
    print("| entries | how | checkout | CPU s (median) | peak RSS MB | peak PSS MB, all processes |")
    print("|---:|---|---|---:|---:|---:|")
    for size in args.sizes:
        path = library(size, args.work)
        for mode in (names[m] for m in args.modes):
            options, env = MODES[mode]
            results: dict[Path, list[tuple[float, int, int]]] = {tree: [] for tree in trees}
            for _ in range(args.repeat):
                for tree in trees:
                    results[tree].append(run(tree, path, options, env))
            for tree, runs in results.items():
                cpu = statistics.median(r[0] for r in runs)
                print(
                    f"| {size:,} | {mode} | {tree.name} | {cpu:.2f} | {max(r[1] for r in runs):,} "
                    f"| {max(r[2] for r in runs):,} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
