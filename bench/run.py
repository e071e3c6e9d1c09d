"""Time the evidence commands on generated libraries of 1,000, 10,000 and 50,000 entries, and on real files.

Each command runs as its own process (as a user runs it), several times; the
table shows the median wall time, the ratio to bibtexparser's bare
``parse_file`` (no middleware) of the same file timed the same way, and the
peak resident memory of the process.  A last line compares the full load
into the typed table with the bare parse, each timed inside a fresh process
with imports excluded: the ratio the performance target is about.

    python bench/run.py                  # 1000, 10000, 50000
    python bench/run.py --sizes 1000 --repeat 5
    python bench/run.py --sizes --real   # the real files in ../shared/bench-real (cold load vs bare parse)
    python bench/run.py --sizes --pages  # a warm 3,300-study page vs a cold load; render --all, 1 vs 2 processes
    python bench/run.py --sizes --big-page --work /tmp/benchpages  # only the page against the cold load
    python bench/run.py --sizes --big-page --against ../main --work /tmp/benchpages  # and main's page, in turns
    python bench/run.py --sizes --scale  # 50,000 vs 200,000 entries: check per entry, cold-load memory
    python bench/run.py --sizes --citations  # one page's references: two citeproc passes, one, the cache
    python bench/run.py --sizes --parsers    # CPU time: cold load with bibtexparser and with citerra vs bare parse

The last four are sections of their own (``--sizes`` with no size skips
the generated libraries); ``--real-dir`` names another folder of .bib files.
"""

from __future__ import annotations

import argparse
import os
import random
import re
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


def run_once(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one run of ``command`` (with ``env`` added to the environment)."""
    started = time.perf_counter()
    environment = {**os.environ, **(env or {})}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=environment)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss // 1024


def timed_round_robin(
    commands: list[tuple[str, list[str]]] | list[tuple[str, list[str], dict[str, str]]], repeat: int
) -> list[tuple[str, float, int]]:
    """Median seconds and peak MB of each command, run in turns.

    Turns (A B C, A B C, ...) rather than blocks (A A A, B B B) so that the
    machine's slow spells fall on every command alike, not on one ratio.
    """
    runs = [(row[0], row[1], row[2] if len(row) > 2 else {}) for row in commands]  # type: ignore[misc]
    times: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    peaks: dict[str, int] = {name: 0 for name, _, _ in runs}
    for _ in range(repeat):
        for name, command, env in runs:
            seconds, memory = run_once(command, env)
            times[name].append(seconds)
            peaks[name] = max(peaks[name], memory)
    return [(name, statistics.median(times[name]), peaks[name]) for name, _, _ in runs]


def in_process_ratio(path: Path, repeat: int, env: dict[str, str] | None = None) -> tuple[float, float]:
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
            environment = {**os.environ, **(env or {})}
            done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT, env=environment)
            times.append(float(done.stdout))
    return statistics.median(bare), statistics.median(full)


CLOCK = "EVIDENCE_BENCH_CLOCK"  # "cpu": CPU seconds of the process and its children instead of wall seconds


def _clock() -> float:
    if os.environ.get(CLOCK) != "cpu":
        return time.perf_counter()
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # a parse in two processes counts both
    return time.process_time() + children.ru_utime + children.ru_stime


def _time_bare(path: Path) -> float:
    import bibtexparser

    started = _clock()
    bibtexparser.parse_file(str(path), parse_stack=[])
    return _clock() - started


def _time_load(path: Path) -> float:
    import pandas  # noqa: F401  (imported before the clock starts, as the baseline imports bibtexparser)

    from evidence.library import parallel
    from evidence.library.table import load_table

    if os.environ.get(PARALLEL_FROM):  # the benchmark's own switch: parse smaller files in parts too
        parallel.PARALLEL_MIN_CHARS = int(os.environ[PARALLEL_FROM])
    started = _clock()
    load_table([path], use_cache=False)
    return _clock() - started


def bench_size(size: int, repeat: int, work: Path) -> list[tuple[str, float, int]]:
    path = generate(size, work)
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


SERIAL_PARSE = {"EVIDENCE_PARALLEL_PARSE": "0"}
PARALLEL_FROM = "EVIDENCE_BENCH_PARALLEL_MIN_CHARS"


def generate(size: int, work: Path) -> Path:
    path = work / f"lib-{size}" / "library.bib"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(size), str(path)], check=True)
    return path


def bench_real(folder: Path, repeat: int) -> None:
    """Each real file: bare parse vs cold load into the table, serial and with the parse in two processes."""
    print("## Real files\n")
    print("Inside fresh processes, imports excluded; median of", repeat, "runs.\n")
    print("| file | MB | entries | bare parse s | cold load s | x bare | cold load, parse in 2 processes s | x bare |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path in sorted(folder.glob("*.bib")):
        bare, serial = in_process_ratio(path, repeat, SERIAL_PARSE)
        _, full = in_process_ratio(path, repeat, {PARALLEL_FROM: "0"})
        entries = path.read_text(encoding="utf-8", errors="replace").count("\n@")
        print(
            f"| {path.name} | {path.stat().st_size / 1e6:.1f} | ~{entries:,} | {bare:.2f} | {serial:.2f} "
            f"| {serial / bare:.2f} | {full:.2f} | {full / bare:.2f} |",
            flush=True,
        )
    print()


def bench_parsers(paths: list[Path], repeat: int) -> None:
    """CPU seconds of the cold load read by bibtexparser and by citerra, against bibtexparser's bare parse.

    Each figure is one fresh process (imports excluded), the three in turns,
    the median of ``repeat``; the parse is serial in both loads, so the CPU
    time is the work done.  citerra reads a file only where its reading is
    bibtexparser's (``evidence.library.citerra_parse``); the last column says
    whether it did, or why not.
    """
    from evidence.library.citerra_parse import citerra_reading
    from evidence.library.files import read_bib_file

    print("## The cold load with each parser (CPU seconds)\n")
    print(f"Inside fresh processes, imports excluded, serial parse; in turns, median of {repeat}.\n")
    print(
        "| file | entries | bare parse s | load, bibtexparser s | x bare | load, citerra s | x bare | citerra read it |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    cpu = {CLOCK: "cpu", **SERIAL_PARSE}
    for path in paths:
        text, _ = read_bib_file(path)
        reading = citerra_reading(text or "", str(path))
        used = "yes" if not isinstance(reading, str) else f"no: {reading}"
        times: dict[str, list[float]] = {"bare": [], "bibtexparser": [], "citerra": []}
        for _ in range(repeat):
            for name in times:
                kind = "bare" if name == "bare" else "load"
                env = {**os.environ, **cpu, "EVIDENCE_PARSER": "bibtexparser" if name == "bare" else name}
                command = [sys.executable, __file__, f"--time-{kind}", str(path)]
                done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT, env=env)
                times[name].append(float(done.stdout))
        bare, slow, fast = (statistics.median(times[name]) for name in ("bare", "bibtexparser", "citerra"))
        entries = text.count("\n@") if text else 0
        print(
            f"| {path.name} | ~{entries:,} | {bare:.2f} | {slow:.2f} | {slow / bare:.2f} | {fast:.2f} "
            f"| {fast / bare:.2f} | {used} |",
            flush=True,
        )
    print()


PAGE_CONDITION = "restless legs syndrome"
_ENTRY = re.compile(
    r"^@\w+\{(?P<key>[^,\n]+),\n(?P<body>.*?)^\}$", re.MULTILINE | re.DOTALL
)  # a generated entry: its key line, then one field a line, then a closing brace alone


def page_library(work: Path, size: int = 50000) -> Path:
    """The generated library with a controlled outcome for every study of the page's condition, in its own folder.

    The generated entries carry single-arm counts only, which draw no comparison and so no forest plot; a
    big page's cost is its comparison of thousands of studies, so each study of the condition gets an
    ``improvement`` outcome with its own arm (its ``n`` and ``responders``) and a ``usual care`` control
    arm, deterministic like the library. The other sections keep the plain library: nothing else reads
    this outcome table.
    """
    source = generate(size, work)
    folder = work / f"page-{size}"
    path = folder / "library.bib"
    table = folder / "library.outcomes.csv"
    if path.exists() and table.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    text = source.read_text(encoding="utf-8")
    rng = random.Random(15)
    lines = ["key,outcome,timepoint,arm,role,n,events,better,definition,data_source"]
    for match in _ENTRY.finditer(text):
        fields = dict(re.findall(r"^  (\w+) = \{(.*)\},$", match.group("body"), re.MULTILINE))
        if fields.get("condition") != PAGE_CONDITION or "n" not in fields or "responders" not in fields:
            continue
        key, n, events = match.group("key"), int(fields["n"]), int(fields["responders"])
        control_n = max(5, n + rng.randint(-n // 5, n // 5))
        control_events = min(control_n, max(0, round(control_n * rng.uniform(0.2, 0.7))))
        for arm, role, people, count in (
            (fields.get("intervention", "treatment"), "intervention", n, events),
            ("usual care", "control", control_n, control_events),
        ):
            lines.append(f"{key},improvement,end of treatment,{arm},{role},{people},{count},higher,improved,primary")
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(source, path)
    return path


def run_cpu(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """CPU seconds (user + system, the process and the children it waited for), wall seconds and peak MB of
    one run: on a machine other people share, CPU time is what a command costs, wall time is not."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ, **(env or {})}
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return usage.ru_utime + usage.ru_stime, elapsed, usage.ru_maxrss // 1024


def bench_big_page(repeat: int, work: Path, against: Path | None = None) -> None:
    """A warm render of one ~3,300-study page vs a cold load of its 50,000-entry library, in CPU time.

    The commands run in turns (cold, page, cold, page, ...); each round's ratio is the page's CPU time
    over the cold load's in that round, and the median of the rounds is the figure.  ``against`` is
    another checkout (``cli.py`` at its root, e.g. the main branch): its page is timed in the same turns,
    for a before-and-after from one run.
    """
    path = page_library(work)
    refs = ["--refs", str(path)]
    citations = work / "citation-cache-warm"
    warm_env = {"EVIDENCE_CACHE_DIR": str(citations)}
    page = [*CLI, "render", *refs, PAGE_CONDITION, "--out", str(work / "page"), "--quiet"]
    run_once(page, warm_env)  # the table cache and the citation cache the warm runs read
    commands = [
        ("evidence query (cold, --no-cache): the cold load", [*CLI, "query", *refs, "--no-cache"], {}),
        (f"evidence render '{PAGE_CONDITION}' (warm caches)", page, warm_env),
    ]
    if against is not None:
        other = [sys.executable, str(against / "cli.py"), *page[len(CLI) :]]
        other[other.index("--out") + 1] = str(work / "page-against")
        run_once(other, warm_env)
        commands.append((f"the same page, warm, rendered by {against}", other, warm_env))
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _, _ in commands}
    for _ in range(repeat):
        for name, command, env in commands:
            runs[name].append(run_cpu(command, env))
    cold = runs[commands[0][0]]
    text = (work / "page" / f"{PAGE_CONDITION.replace(' ', '-')}.md").read_text(encoding="utf-8")
    svgs = sorted((work / "page").glob("*.svg"))
    print(f"## A big page, warm, against a cold load ({path.parent.name}, runs in turns, median of {repeat})\n")
    print(
        f"The page lists about {text.count(chr(10) + '| '):,} table rows and has {len(svgs)} forest plot(s) "
        f"({', '.join(f'{svg.stat().st_size / 1e3:,.0f} kB' for svg in svgs)}).\n"
    )
    print("| command | median CPU s | median wall s | peak MB |")
    print("|---|---:|---:|---:|")
    for name, _, _ in commands:
        cpu, wall, peak = zip(*runs[name])
        print(f"| {name} | {statistics.median(cpu):.2f} | {statistics.median(wall):.2f} | {max(peak)} |")
    print()
    for name, _, _ in commands[1:]:
        ratios = [w[0] / c[0] for c, w in zip(cold, runs[name])]
        print(
            f"{name}, over the cold load, CPU time: median {statistics.median(ratios):.2f} x "
            f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}).\n",
            flush=True,
        )


def bench_pages(repeat: int, work: Path, against: Path | None = None) -> None:
    """The big page against a cold load; render --all, 1 vs 2 jobs."""
    bench_big_page(repeat, work, against)
    small = generate(10000, work)
    fresh = work / "citation-cache-cold"
    everything = [*CLI, "render", "--refs", str(small), "--all", "--out", str(work / "all"), "--quiet"]
    run_once([*CLI, "query", "--refs", str(small)])
    rows = []
    for jobs in ("1", "2"):
        times = []
        for number in range(max(1, repeat)):
            env = {"EVIDENCE_CACHE_DIR": str(fresh / f"{jobs}-{number}")}  # nothing formatted yet
            times.append(run_once([*everything, "--jobs", jobs], env))
        rows.append(
            (
                f"evidence render --all --jobs {jobs} (10,000 entries, citation cache empty)",
                statistics.median(t for t, _ in times),
                max(m for _, m in times),
            )
        )
    print("## render --all, one process and two (10,000 entries, 5 pages)\n")
    _print_rows(rows)


def bench_scale(repeat: int, work: Path, sizes: tuple[int, int] = (50000, 200000)) -> None:
    """check's cost per entry at 200,000 against 50,000 entries, and the cold load's peak memory."""
    rows = []
    for size in sizes:
        path = generate(size, work)
        refs = ["--refs", str(path)]
        run_once([*CLI, "query", *refs, "--condition", "restless legs"])
        rows += timed_round_robin(
            [
                (f"evidence check (warm cache), {size:,} entries", [*CLI, "check", *refs]),
                (f"evidence query (cold, --no-cache), {size:,} entries", [*CLI, "query", *refs, "--no-cache"]),
                (
                    f"evidence query (cold, --no-cache, serial parse), {size:,} entries",
                    [*CLI, "query", *refs, "--no-cache"],
                    SERIAL_PARSE,
                ),
            ],
            repeat,
        )
    print(f"## {sizes[0]:,} against {sizes[1]:,} entries\n")
    _print_rows(rows)
    small, large = rows[0][1] / sizes[0], rows[3][1] / sizes[1]
    print(
        f"\n`check` per entry: {small * 1e6:.1f} us at {sizes[0]:,}, {large * 1e6:.1f} us at {sizes[1]:,} "
        f"({large / small:.2f} x).\n"
    )
    inner = []
    for size in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--time-check", str(generate(size, work))],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        inner.append(float(done.stdout))
    print(
        f"Inside the process (the table loaded, then `check_library` timed): {inner[0]:.2f} s and {inner[1]:.2f} s, "
        f"{inner[0] / sizes[0] * 1e6:.1f} and {inner[1] / sizes[1] * 1e6:.1f} us per entry "
        f"({inner[1] / sizes[1] / (inner[0] / sizes[0]):.2f} x).\n"
    )
    for size in sizes:
        bare, full = in_process_ratio(generate(size, work), repeat)
        _, serial = in_process_ratio(generate(size, work), repeat, SERIAL_PARSE)
        print(
            f"{size:,} entries, inside the process: bare parse {bare:.2f} s, "
            f"cold load {full:.2f} s ({full / bare:.2f} x), "
            f"cold load with the serial parse {serial:.2f} s ({serial / bare:.2f} x).\n",
            flush=True,
        )


def bench_citations(work: Path) -> None:
    """One page's references (the restless legs studies of 50,000 entries): two passes, one pass, the cache."""
    import tempfile as temporary
    import warnings

    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    from evidence.library.table import load_table
    from evidence.pages import cite

    table = load_table([generate(50000, work)]).table
    rows = table[table["condition"].map(lambda value: "restless legs" in str(value)).astype(bool)]
    items = cite.csl_items(rows)
    style = cite._load_style(cite.resolve_style_name(cite.DEFAULT_STYLE))
    shielded = [cite._shielded(item, f"ref{i}") for i, item in enumerate(items)]

    def two_passes() -> None:  # what a page cost before: the text, then the HTML
        for output in (formatter.plain, formatter.html):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bibliography = CitationStylesBibliography(style, CiteProcJSON(shielded), output)
                for item in shielded:
                    bibliography.register(Citation([CitationItem(item["id"])]))
                bibliography.bibliography()

    store = cite.CitationCache(Path(temporary.mkdtemp(dir=work)) / "citations")
    timings = []
    for name, run in (
        ("two citeproc passes (text, then HTML)", two_passes),
        ("one pass, no cache", lambda: cite.format_references(items, cache=False)),
        ("one pass, writing the cache", lambda: cite.format_references(items, cache=store)),
        ("from the disk cache", lambda: cite.format_references(items, cache=store)),
    ):
        cite._MEMO.clear()  # as in a new process
        started = time.perf_counter()
        run()
        timings.append((name, time.perf_counter() - started))
    print(f"## Formatting one page's {len(items):,} references ({cite.DEFAULT_STYLE}), in one process\n")
    print("| how | s | x two passes |")
    print("|---|---:|---:|")
    for name, seconds in timings:
        print(f"| {name} | {seconds:.2f} | {seconds / timings[0][1]:.3f} |")
    print(flush=True)


def _time_check(path: Path) -> float:
    from evidence.library.check import check_library
    from evidence.library.table import load_table

    result = load_table([path])
    started = time.perf_counter()
    check_library(result)
    return time.perf_counter() - started


def _print_rows(rows: list[tuple[str, float, int]]) -> None:
    print("| command | median s | peak MB |")
    print("|---|---:|---:|")
    for name, seconds, memory in rows:
        print(f"| {name} | {seconds:.3f} | {memory} |")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000])
    parser.add_argument("--real", action="store_true", help="time the real files (cold load vs bare parse)")
    parser.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "bench-real")
    parser.add_argument(
        "--pages", action="store_true", help="a warm big page vs a cold load; render --all, 1 vs 2 jobs"
    )
    parser.add_argument("--big-page", action="store_true", help="only the warm big page vs a cold load (CPU time)")
    parser.add_argument(
        "--against", type=Path, help="with --big-page or --pages: also time this checkout's page, in turns"
    )
    parser.add_argument("--citations", action="store_true", help="one page's references: two passes, one, the cache")
    parser.add_argument("--scale", action="store_true", help="50,000 vs 200,000 entries: check per entry, memory")
    parser.add_argument(
        "--parsers", action="store_true", help="CPU time of the cold load, bibtexparser vs citerra (50,000 and real)"
    )
    parser.add_argument("--work", type=Path, help="keep generated libraries here (default: a temporary folder)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the median is shown")
    parser.add_argument("--time-bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time-load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time-check", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_bare or args.time_load or args.time_check:
        if args.time_check:
            print(_time_check(args.time_check))
        else:
            print(_time_bare(args.time_bare) if args.time_bare else _time_load(args.time_load))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, repeat {args.repeat}\n")
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        work = args.work or Path(tmp)
        os.environ["EVIDENCE_CACHE_DIR"] = str(work / "cache")
        if args.real:
            bench_real(args.real_dir, args.repeat)
        if args.pages:
            bench_pages(args.repeat, work, args.against)
        elif args.big_page:
            bench_big_page(args.repeat, work, args.against)
        if args.citations:
            bench_citations(work)
        if args.scale:
            bench_scale(args.repeat, work)
        if args.parsers:
            bench_parsers([generate(50000, work), *sorted(args.real_dir.glob("*.bib"))], args.repeat)
        for size in args.sizes:
            rows = bench_size(size, args.repeat, work)
            baseline = rows[0][1]
            print(f"## {size:,} entries\n")
            print("| command | median s | x baseline | peak MB |")
            print("|---|---:|---:|---:|")
            for name, seconds, memory in rows:
                print(f"| {name} | {seconds:.3f} | {seconds / baseline:.2f} | {memory} |")
            bare, full = in_process_ratio(work / f"lib-{size}" / "library.bib", args.repeat)
            print(
                f"\nInside the process, imports excluded: bare parse {bare:.2f} s, "
                f"full load into the typed table {full:.2f} s "
                f"({full / bare:.2f} x).\n"
            )


if __name__ == "__main__":
    main()
