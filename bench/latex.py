"""CPU time of a cold load of each real file against bibtexparser's bare parse, in fresh processes.

The machine is shared, so wall time says little: each measurement is the
CPU time (``time.process_time``) of the work alone inside its own fresh
process, imports excluded, the bare parse and the load run in turns
(A B A B A B) and the median of each taken.  The load is ``load_table``
without the cache and with the serial parse (``EVIDENCE_PARALLEL_PARSE=0``),
as the real-file target is stated.

    python bench/latex.py                       # the five files in ../shared/bench-real, 3 rounds
    python bench/latex.py --repeat 5 FILE.bib   # other files
    python bench/latex.py --stages              # where a load's CPU goes: parse, LaTeX, names (one process per file)
    python bench/latex.py --before /tmp/old     # also the load by the package in /tmp/old, in the same turns

For ``--before``, export an earlier commit first: ``git archive COMMIT | tar -x -C /tmp/old``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "bench-real"


def _cpu_bare(path: Path) -> float:
    import bibtexparser

    started = time.process_time()
    bibtexparser.parse_file(str(path), parse_stack=[])
    return time.process_time() - started


def _cpu_load(path: Path) -> float:
    import pandas  # noqa: F401  (imported before the clock starts, as the baseline imports bibtexparser)

    from evidence.library.table import load_table

    started = time.process_time()
    load_table([path], use_cache=False)
    return time.process_time() - started


def _stages(path: Path) -> str:
    """CPU seconds of the stages of one load, each stage's functions timed where they are called."""
    import gc

    from evidence.library import normalise, table
    from evidence.library.files import parse_bib_text

    gc.disable()
    text = path.read_text(encoding="utf-8", errors="replace")
    started = time.process_time()
    entries, _ = parse_bib_text(text, str(path))
    parsed = time.process_time()
    names = [e.fields.get("author") or e.fields.get("editor", "") for e in entries]
    for raw in names:
        normalise.split_names(raw)
    named = time.process_time()
    for entry in entries:
        table.entry_record(entry)
    recorded = time.process_time()
    return (
        f"{path.name}: parse_bib_text {parsed - started:.2f} s, names {named - parsed:.2f} s, "
        f"rest of the records {recorded - named:.2f} s (LaTeX chunks decoded: "
        f"{normalise._decode_chunk.cache_info().currsize})"
    )


def _in_fresh_process(kind: str, path: Path, root: Path = ROOT) -> float:
    """CPU seconds of one bare parse or load in a new process, with the ``evidence`` package found in ``root``."""
    environment = {**os.environ, "EVIDENCE_PARALLEL_PARSE": "0", "EVIDENCE_BENCH_ROOT": str(root)}
    command = [sys.executable, __file__, f"--{kind}", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root, env=environment)
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stages", action="store_true")
    parser.add_argument("--before", type=Path, help="a folder holding an earlier version of the package, to compare")
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, os.environ.get("EVIDENCE_BENCH_ROOT", str(ROOT)))
    if args.bare or args.load:
        print(_cpu_bare(args.bare) if args.bare else _cpu_load(args.load))
        return
    files = args.files or sorted(REAL.glob("*.bib"))
    if args.stages:
        for path in files:
            command = [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                f"from bench.latex import _stages; from pathlib import Path; print(_stages(Path({str(path)!r})))",
            ]
            print(subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip())
        return
    print(f"CPU seconds in fresh processes, imports excluded, bare and load in turns, median of {args.repeat}.\n")
    before = "| load before s | x bare " if args.before else ""
    print(f"| file | bare parse CPU s {before}| cold load CPU s | x bare | runs of x |")
    print("|---|---:|" + ("---:|---:|" if args.before else "") + "---:|---:|---|")
    for path in files:
        bare, load, old = [], [], []
        for _ in range(args.repeat):
            bare.append(_in_fresh_process("bare", path))
            if args.before:
                old.append(_in_fresh_process("load", path, args.before.resolve()))
            load.append(_in_fresh_process("load", path))
        ratios = ", ".join(f"{full / parse:.2f}" for parse, full in zip(bare, load, strict=True))
        parse, full = statistics.median(bare), statistics.median(load)
        earlier = f"| {statistics.median(old):.2f} | {statistics.median(old) / parse:.2f} " if args.before else ""
        print(f"| {path.name} | {parse:.2f} {earlier}| {full:.2f} | {full / parse:.2f} | {ratios} |", flush=True)


if __name__ == "__main__":
    main()
