"""Time the evidence commands on generated libraries of 1,000, 10,000 and 50,000 entries.

Each command runs as its own process (as a user runs it), several times; the
table shows the median wall time, the ratio to bibtexparser's bare
``parse_file`` (no middleware) of the same file timed the same way, and the
peak resident memory of the process.  A last line compares the full load
into the typed table with the bare parse, each timed inside a fresh process
with imports excluded: the ratio the performance target is about.

    python bench/run.py                  # 1000, 10000, 50000
    python bench/run.py --sizes 1000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


CLI = [sys.executable, str(ROOT / "cli.py")]
BASELINE = "import bibtexparser, sys; bibtexparser.parse_file(sys.argv[1], parse_stack=[])"


def run_once(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one run of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss // 1024


def timed_round_robin(commands: list[tuple[str, list[str]]], repeat: int) -> list[tuple[str, float, int]]:
    """Median seconds and peak MB of each command, run in turns.

    Turns (A B C, A B C, ...) rather than blocks (A A A, B B B) so that the
    machine's slow spells fall on every command alike, not on one ratio.
    """
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    peaks: dict[str, int] = {name: 0 for name, _ in commands}
    for _ in range(repeat):
        for name, command in commands:
            seconds, memory = run_once(command)
            times[name].append(seconds)
            peaks[name] = max(peaks[name], memory)
    return [(name, statistics.median(times[name]), peaks[name]) for name, _ in commands]


def in_process_ratio(path: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of the bare parse and of the full load into the typed table, imports excluded.

    Each is timed inside its own fresh process, in turns: the bare parse with
    only bibtexparser imported, the load with pandas already imported.  (In
    one shared process the parse would run beside pandas' objects and the
    earlier load's caches, and the collector's passes over them would slow
    the baseline.)
    """
    bare, full = [], []
    for _ in range(repeat):
        for kind, times in (("bare", bare), ("load", full)):
            command = [sys.executable, __file__, f"--time-{kind}", str(path)]
            done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            times.append(float(done.stdout))
    return statistics.median(bare), statistics.median(full)


def _time_bare(path: Path) -> float:
    import bibtexparser

    started = time.perf_counter()
    bibtexparser.parse_file(str(path), parse_stack=[])
    return time.perf_counter() - started


def _time_load(path: Path) -> float:
    import pandas  # noqa: F401  (imported before the clock starts, as the baseline imports bibtexparser)

    from evidence.library.table import load_table

    started = time.perf_counter()
    load_table([path], use_cache=False)
    return time.perf_counter() - started


def bench_size(size: int, repeat: int, work: Path) -> list[tuple[str, float, int]]:
    folder = work / f"lib-{size}"
    folder.mkdir()
    path = folder / "library.bib"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(size), str(path)], check=True)
    cache = work / "cache"  # the benchmark's own cache folder (EVIDENCE_CACHE_DIR, set in main)
    refs = ["--refs", str(path)]
    query = [*CLI, "query", *refs, "--condition", "restless legs"]
    reports = work / f"reports-{size}"
    run_once(query)  # build the cache the warm commands read; the cold one ignores it
    rows = timed_round_robin(
        [
            ("bibtexparser parse_file (baseline)", [sys.executable, "-c", BASELINE, str(path)]),
            ("evidence --help", [*CLI, "--help"]),
            ("evidence --version", [*CLI, "--version"]),
            ("evidence query (cold, --no-cache)", [*query, "--no-cache"]),
            ("evidence query (warm cache)", query),
            ("evidence query --format csv, every column (warm cache)", [*query, "--format", "csv"]),
            ("evidence check (warm cache)", [*CLI, "check", *refs]),
        ],
        repeat,
    )
    rows += timed_round_robin(
        [("evidence render --all (warm cache)", [*CLI, "render", *refs, "--all", "--out", str(reports)])],
        max(1, repeat // 2),
    )
    shutil.rmtree(cache, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the median is shown")
    parser.add_argument("--time-bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time-load", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_bare or args.time_load:
        print(_time_bare(args.time_bare) if args.time_bare else _time_load(args.time_load))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, repeat {args.repeat}\n")
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        work = Path(tmp)
        os.environ["EVIDENCE_CACHE_DIR"] = str(work / "cache")
        for size in args.sizes:
            rows = bench_size(size, args.repeat, work)
            baseline = rows[0][1]
            print(f"## {size:,} entries\n")
            print("| command | median s | x baseline | peak MB |")
            print("|---|---:|---:|---:|")
            for name, seconds, memory in rows:
                print(f"| {name} | {seconds:.3f} | {seconds / baseline:.2f} | {memory} |")
            bare, full = in_process_ratio(work / f"lib-{size}" / "library.bib", args.repeat)
            print(f"\nInside the process, imports excluded: bare parse {bare:.2f} s, full load into the typed table {full:.2f} s "
                  f"({full / bare:.2f} x).\n")


if __name__ == "__main__":
    main()
