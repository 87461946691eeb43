"""The index: cold rebuild, warm in-process queries, freshness after a commit, CLI wall time.

Goals (issue 4, on the 2-core machine):

- cold full index (`tracker index rebuild`): 1,000 items <= 0.5 s, 100,000 items <= 10 s;
- in-process, index warm (kept open by the process, as `tracker watch`, `serve` and the MCP
  server do) and nothing changed (every call still checks freshness): vendor
  by name p95 <= 0.2 ms; show of a depth-4 item with ancestors and descendants p95 <= 5 ms
  at 100,000 items; ready p95 <= 20 ms at 100,000 items;
- freshness: after one item is edited and committed in a 100,000-item repository, the next
  in-process query answers, correct, within 50 ms;
- CLI process wall time, median, 1,000-item repository, index warm: `tracker show`, `list`,
  `ready` <= 150 ms each, without a server and with `tracker serve` running.

Every timing runs in a clean child process that imports only tracker (the harness's
memory and imports do not weigh on it) in a local clone of a cached synthetic repository
(100,000 items: the fanned-out layout and git's split index, as the README advises). A
second, instrumented pass splits each operation into phases (DuckDB open, the freshness
sync's steps, SQL, ...) by wrapping tracker's functions with timers, and the CLI time
without a server is split into python start, imports, sync and query.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import GIT_ENV, LARGE, cli_python, scratch_clone, tracker_executable
from bench.phases import TIMERS, ChildRuns, phase_text
from bench.registry import (
    Case,
    Context,
    Goal,
    Measurement,
    benchmark,
    machine_busy_seconds,
    own_cpu_seconds,
    wait_for_quiet,
)

REBUILD_GOALS = {1_000: Goal(0.5, "p95"), 100_000: Goal(10.0, "p95")}
VENDOR_GOAL = Goal(0.0002, "p95")
SHOW_GOAL = Goal(0.005, "p95")  # at 100,000 items
READY_GOAL = Goal(0.020, "p95")  # at 100,000 items
FRESH_GOAL = Goal(0.050, "p95")  # at 100,000 items
CLI_GOAL = Goal(0.150, "median")  # at 1,000 items
WATCH_GOAL = Goal(0.100, "p95")
DEBOUNCE_MS = 20  # tracker.service.watch.DEBOUNCE_SECONDS
READY_LIMIT = 10  # `tracker ready`'s default


QUERY_BUDGET = 60.0  # seconds for the timed rounds of in-process queries (all cases)
QUERY_ROUNDS = (10, 1000)  # fewest and most rounds, whatever the budget


def _defaults(size: int) -> dict[str, int]:
    """Runs per case: more for quick operations, few where one takes tens of seconds."""
    if size >= LARGE:  # a p95 of fewer runs is their slowest: one hiccup decides it
        return {"rebuild": 3, "fresh": 10, "instrumented": 3}
    if size >= 10_000:
        return {"rebuild": 3, "fresh": 8, "instrumented": 5}
    return {"rebuild": 5, "fresh": 10, "instrumented": 5}


# -- instrumentation shared by the child processes ---------------------------------------

# Phases: (module, attribute, label, parents). A wrapped function's time is counted
# exclusive of the wrapped functions it calls, so the phases add up to the whole. With
# `parents`, it is timed only when called directly from one of those phases (elsewhere
# its time stays with its caller): DuckIndex.rows is "SQL" in a query, not in the sync.
SERVICE = "service code (rest)"
SYNC_PHASES: list[tuple[str, str, str, list[str] | None]] = [
    ("tracker.index.duckdb_backend", "DuckIndex.open", "DuckDB open (+ schema check)", None),
    ("tracker.index.duckdb_backend", "DuckIndex.close", "DuckDB close (+ checkpoint)", None),
    ("tracker.service.indexer", "_open_if_fresh", "check: read-only fast path (rest)", None),
    ("tracker.service.indexer", "_plan", "check: plan (meta, HEAD, compare stats)", None),
    ("tracker.service.indexer", "scan_work_tree", "check: work-tree scan (os.walk+stat)", None),
    ("tracker.service.indexer", "_known_files", "check: load `files` table to Python", None),
    ("tracker.service.indexer", "diff_commits", "check: tree diff of commits", None),
    ("tracker.service.indexer", "_hash_file", "check: hash racily clean files", None),
    ("tracker.service.indexer", "sync", "sync: rest", None),
    ("tracker.service.indexer", "read_files", "sync: read + parse changed files", None),
    ("tracker.service.indexer", "versions", "sync: versions (history walk)", None),
    ("tracker.service.indexer", "_moved_versions", "sync: versions after HEAD moved", None),
    ("tracker.index.duckdb_backend", "DuckIndex.apply", "sync: write transaction (rest)", None),
    ("tracker.index.duckdb_backend", "DuckIndex._load", "sync: load rows (JSON->DuckDB)", None),
    ("tracker.index.derived", "refresh_all", "sync: derived tables, in full", None),
    ("tracker.index.derived", "refresh_some", "sync: derived tables, touched items", None),
    ("tracker.index.duckdb_backend", "DuckIndex.reset", "sync: reset schema", None),
    ("tracker.service.live", "LiveIndex.refresh", "warm: freshness check (HEAD, feed)", None),
    ("tracker.store.inotify", "ChangeFeed.drain", "warm: read the change feed", None),
    ("tracker.service.indexer", "stat_files", "check: stat the changed files", None),
]
QUERY_PHASES = [
    *SYNC_PHASES,
    ("tracker.index.duckdb_backend", "DuckIndex.rows", "SQL (execute + fetch)", [SERVICE]),
    *(
        ("tracker.service.reads", name, SERVICE, None)
        for name in ("vendor", "show_item", "ready", "list_items")
    ),
]
REBUILD_PHASES = [
    *SYNC_PHASES,
    ("tracker.service.index_admin", "index_sync", "index_sync (rest)", None),
]


# Cold full index: what `tracker index rebuild` does, timed without the imports.
_REBUILD = (
    TIMERS
    + r"""
import json, os, sys
started = time.perf_counter()
from tracker.service.index_admin import index_sync
from tracker.service.workspace import Workspace
imported = time.perf_counter() - started
missing = install_timers(json.loads(sys.argv[1])) if sys.argv[1] != "[]" else []
cpu = os.times()
started = time.perf_counter()
report = index_sync(Workspace.open(), rebuild=True)
seconds = time.perf_counter() - started
after = os.times()
cpu = sum(after[:4]) - sum(cpu[:4])
print(json.dumps({"seconds": seconds, "cpu": cpu, "imports": imported, "report": report,
                  "phases": TIMES, "missing": missing}))
"""
)

# Warm in-process queries, as a long-running caller (watch, serve, the MCP server) makes
# them: the process keeps a LiveIndex, and every call still checks freshness first. The
# targets rotate (50 vendors, 50 depth-4 items, the 20 widest depth-2 items), so no answer
# is simply repeated.
_QUERIES = (
    TIMERS
    + r"""
import itertools, json, sys
from tracker.query.spec import ItemQuery
from tracker.service import reads
from tracker.service.live import LiveIndex
from tracker.service.workspace import Workspace

least, most, warmup, instrumented, ready_limit = (int(a) for a in sys.argv[1:6])
budget = float(sys.argv[6])
phases = json.loads(sys.argv[7])
ws = Workspace.open()
live = LiveIndex.start(ws)

def rows(sql):
    found = reads.run_query(ws, sql)["rows"]
    if not found:
        raise SystemExit(f"nothing found by {sql}")
    return found

vendors = [r["name"] for r in rows("SELECT name FROM vendors ORDER BY name LIMIT 50")]
deeps = [r["id"] for r in rows("SELECT id FROM work_items WHERE depth = 4 ORDER BY id LIMIT 50")]
wides = rows(
    "SELECT split_part(path, '/', 3) AS id, count(*) - 1 AS n FROM work_items "
    "WHERE depth >= 2 GROUP BY 1 ORDER BY n DESC, id LIMIT 20"
)
wide = wides[0]
next_vendor, next_deep, next_wide = (itertools.cycle(x) for x in (vendors, deeps, wides))
problems = []

def check(name, result, condition, what):
    if not condition:
        problems.append(f"{name}: {what}")

def call_vendor():
    name = next(next_vendor)
    result = reads.vendor(ws, name)
    check("vendor", result, result["vendor"]["name"] == name, "wrong vendor")
    return result

def call_deep():
    key = next(next_deep)
    result = reads.show_item(ws, key)
    check("show deep", result, result["id"] == key, "wrong item")
    check("show deep", result, len(result["ancestors"]) == 4, "not 4 ancestors")
    return result

def call_wide():
    target = next(next_wide)
    result = reads.show_item(ws, target["id"])
    check("show wide", result, len(result["descendants"]) == target["n"],
          f"{len(result['descendants'])} descendants, expected {target['n']}")
    check("show wide", result, len(result["ancestors"]) == 2, "not 2 ancestors")
    return result

def noop(result):
    pass

def check_ready(result):
    items = result["items"]
    check("ready", result, 0 < len(items) <= ready_limit, f"{len(items)} items")
    check("ready", result, all(i["status"] == "active" for i in items), "an item not active")

def ready_not_kept():
    # as the first `ready` after an item changed: the warm index's kept answer dropped
    live._cache.pop(("ready", ready_limit), None)
    return reads.ready(ws, ready_limit)

def check_list(result):
    check("list", result, len(result["items"]) == 50, f"{len(result['items'])} items")

cases = {
    "vendor": (call_vendor, noop),
    "show_deep": (call_deep, noop),
    "show_wide": (call_wide, noop),
    "ready": (lambda: reads.ready(ws, ready_limit), check_ready),
    "ready_query": (ready_not_kept, check_ready),
    "list": (lambda: reads.list_items(ws, ItemQuery()), check_list),
}
round_started = time.perf_counter()
for name, (call, checker) in cases.items():
    for index in range(warmup):
        result = call()
        if index == 0:
            checker(result)
one_round = (time.perf_counter() - round_started) / warmup
# as many rounds as fit the time budget, within [least, most]
repeat = max(least, min(most, int(budget / one_round)))
samples = {name: [] for name in cases}
sources = {}
for _ in range(repeat):  # interleaved, so drift spreads over every case
    for name, (call, _checker) in cases.items():
        # the previous case's answer is freed here, not on this case's clock (a 50-row
        # list took as long to free as a vendor answer takes to compute)
        result = None
        started = time.perf_counter()
        result = call()
        samples[name].append(time.perf_counter() - started)
        source = result.get("data_source")
        sources[source] = sources.get(source, 0) + 1
missing = install_timers(phases)
breakdown = {}
for name, (call, _checker) in cases.items():
    TIMES.clear()
    started = time.perf_counter()
    for _ in range(instrumented):
        call()
    total = time.perf_counter() - started
    breakdown[name] = {"total": total / instrumented,
                       **{k: v / instrumented for k, v in TIMES.items()}}
print(json.dumps({"samples": samples, "sources": sources, "problems": problems,
                  "breakdown": breakdown, "missing": missing, "deep": deeps[0], "wide": wide,
                  "wides": len(wides), "descendants": [w["n"] for w in wides]}))
"""
)

# Freshness: edit an item's file, commit it with git, time the next in-process query; then
# one more such edit with the phase timers on.
_FRESH = (
    TIMERS
    + r"""
import json, re, subprocess, sys
from pathlib import Path
from tracker.service import reads
from tracker.service.live import LiveIndex
from tracker.service.workspace import Workspace

item, trials, phases = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
ws = Workspace.open()
live = LiveIndex.start(ws)
for _ in range(3):  # the index is warm and fresh before the first edit
    first = reads.show_item(ws, item)
path = Path(first["path"])  # as shown: relative to the working directory, or absolute
samples, problems = [], []
missing = []
for trial in range(trials + 1):
    if trial == trials:  # the instrumented one, not counted
        missing = install_timers(phases)
        TIMES.clear()
    text = path.read_text(encoding="utf-8")
    title = f"Freshness check {trial} {time.time_ns()}"
    edited, count = re.subn(r"(?m)^title: .*$", f"title: {title}", text, count=1)
    assert count == 1, "no title line"
    path.write_text(edited, encoding="utf-8")
    subprocess.run(["git", "add", "--", str(path)], check=True)
    subprocess.run(["git", "commit", "-q", "-m", f"bench: freshness {trial}"], check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    started = time.perf_counter()
    answer = reads.show_item(ws, item)
    elapsed = time.perf_counter() - started
    if trial < trials:
        samples.append(elapsed)
    got = (answer["record"].get("title"), answer["version"], answer["dirty"],
           answer["data_source"])
    if got != (title, head, False, "index"):
        problems.append(f"trial {trial}: expected {(title, head[:12], False, 'index')}, "
                        f"got {(got[0], (got[1] or '')[:12], got[2], got[3])}")
print(json.dumps({"samples": samples, "problems": problems, "file": str(path),
                  "phases": TIMES, "instrumented": elapsed, "missing": missing}))
"""
)

# One CLI command run in this process, as the launcher would without a server, with the
# imports timed first and the command's phases timed by wrappers.
_CLI_BREAKDOWN = (
    TIMERS
    + r"""
import contextlib, io, json, sys
started = time.perf_counter()
import tracker.cli.launcher
import tracker.cli.main as cli_main
argv = sys.argv[2:]
target = getattr(cli_main, "COMMANDS", {}).get(argv[0], "")
if target:
    importlib.import_module(target.split(":")[0])
import tracker.service.reads, tracker.service.indexer, tracker.index.duckdb_backend
imported = time.perf_counter() - started
missing = install_timers(json.loads(sys.argv[1]))
out = io.StringIO()
code = 0
started = time.perf_counter()
with contextlib.redirect_stdout(out):
    try:
        cli_main.main(argv)
    except SystemExit as exc:
        code = exc.code
command = time.perf_counter() - started
print(json.dumps({"imports": imported, "command": command, "phases": TIMES, "code": code,
                  "missing": missing}))
"""
)


# -- running children ------------------------------------------------------------------


def _child(
    python: str, script: str, args: list[str], repo: Path, env: dict[str, str]
) -> tuple[dict[str, Any], float, float]:
    """Run a child script in `repo`; its JSON answer, the other load share while it ran and
    its wall time."""
    cores = os.cpu_count() or 1
    busy, cpu = machine_busy_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", script, *args], cwd=repo, capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"child failed ({done.returncode}): {done.stderr.strip()[-2000:] or done.stdout}"
        )
    other = max(0.0, machine_busy_seconds() - busy - (own_cpu_seconds() - cpu))
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer, min(1.0, other / (cores * wall)), wall


# -- the benchmark -----------------------------------------------------------------------


@benchmark(
    "index",
    "the DuckDB index: cold rebuild, warm in-process queries, freshness after a commit, "
    "CLI wall time",
)
def run(ctx: Context) -> None:
    env = {**os.environ, **GIT_ENV, "TRACKER_ACTOR": "bench"}
    env.pop("TRACKER_NO_SERVER", None)
    for size in ctx.sizes:
        fanout = size >= LARGE  # 100k flat is not a layout anyone should use
        source = ctx.repo(size, fanout=fanout)
        with scratch_clone(source, size, "index") as repo:
            defaults = _defaults(size)
            _rebuild(ctx, size, repo, env, ctx.repeats(defaults["rebuild"]))
            picked = _queries(ctx, size, repo, env, defaults["instrumented"])
            _freshness(ctx, size, repo, env, picked["deep"], ctx.repeats(defaults["fresh"]))
            _watch_latency(ctx, size, repo, env, picked["deep"], ctx.repeats(10, 3))
            if size < LARGE:
                _cli(ctx, size, repo, env, picked["deep"])


def _rebuild(ctx: Context, size: int, repo: Path, env: dict[str, str], runs: int) -> None:
    timed = ChildRuns()
    for _ in range(runs):
        wait_for_quiet(ctx.settle)
        answer, other, _wall = _child(
            sys.executable, _REBUILD, [json.dumps(REBUILD_PHASES)], repo, env
        )
        report = answer["report"]
        if not report.get("rebuilt") or report.get("files_read", 0) < size:
            raise AssertionError(f"the rebuild did not rebuild: {report}")
        timed.add(answer, other)
    measurement = timed.record(
        ctx,
        "cold full index: `index_sync(rebuild=True)` (= `tracker index rebuild`)",
        size,
        REBUILD_GOALS.get(size),
    )
    imports = statistics.median(answer["imports"] for answer in timed.answers)
    ctx.note(
        f"rebuild @ {size:,}, phases of the median run: {timed.median_phases()}; CPU "
        f"{measurement.cpu_median:.2f} s (parse workers included); imports before it "
        f"{imports * 1e3:.0f} ms, not counted"
    )


def _queries(
    ctx: Context, size: int, repo: Path, env: dict[str, str], instrumented: int
) -> dict[str, Any]:
    """Warm calls of every case, interleaved: as many rounds as fit QUERY_BUDGET (or
    exactly --repeat), then `instrumented` calls per case with phase timers."""
    least, most = (ctx.repeat, ctx.repeat) if ctx.repeat is not None else QUERY_ROUNDS
    wait_for_quiet(ctx.settle)
    answer, other, _wall = _child(
        sys.executable,
        _QUERIES,
        [
            *(str(n) for n in (least, most, 2, instrumented, READY_LIMIT, QUERY_BUDGET)),
            json.dumps(QUERY_PHASES),
        ],
        repo,
        env,
    )
    large = size >= LARGE
    cases = {
        "vendor": ("vendor by name: `reads.vendor`", VENDOR_GOAL),
        "show_deep": (
            "show depth-4 item (4 ancestors): `reads.show_item`",
            SHOW_GOAL if large else None,
        ),
        "show_wide": (
            f"show depth-2 item (2 ancestors, {min(answer['descendants'])}-"
            f"{max(answer['descendants'])} descendants): `reads.show_item`",
            SHOW_GOAL if large else None,
        ),
        "ready": (
            f"ready --limit {READY_LIMIT} (the kept answer): `reads.ready`",
            READY_GOAL if large else None,
        ),
        "ready_query": (
            f"ready --limit {READY_LIMIT}, first after an item changed (the query): `reads.ready`",
            None,
        ),
        "list": ("list (default filters, 50 rows): `reads.list_items`", None),
    }
    for key, (name, goal) in cases.items():
        measurement = ctx.record(f"in-process warm, {name}", size, answer["samples"][key], goal)
        measurement.other_load = other
    for key in cases:
        phases = answer["breakdown"][key]
        total = phases.pop("total")
        ctx.note(f"{key} @ {size:,}, mean per call of {instrumented}: {phase_text(phases, total)}")
    if set(answer["sources"]) != {"index"}:
        ctx.note(f"**CHECK**: warm calls @ {size:,} answered from {answer['sources']}")
    for problem in answer["problems"]:
        ctx.note(f"**CHECK FAILED** @ {size:,}: {problem}")
    if answer["missing"]:
        ctx.note(f"instrumentation: not found (renamed?): {', '.join(answer['missing'])}")
    return answer


def _freshness(
    ctx: Context, size: int, repo: Path, env: dict[str, str], item: str, trials: int
) -> None:
    wait_for_quiet(ctx.settle)
    answer, other, _wall = _child(
        sys.executable, _FRESH, [item, str(trials), json.dumps(QUERY_PHASES)], repo, env
    )
    measurement = ctx.record(
        "freshness: `reads.show_item` right after the item was edited + `git commit`",
        size,
        answer["samples"],
        FRESH_GOAL if size >= LARGE else None,
    )
    measurement.other_load = other
    if answer["problems"]:
        ctx.note(f"**freshness NOT correct** @ {size:,}: " + "; ".join(answer["problems"]))
    else:
        ctx.note(
            f"freshness @ {size:,}: every answer showed the new title, version = the new HEAD, "
            "not dirty, data_source index"
        )
    ctx.note(
        f"freshness @ {size:,}, one more edit + commit with phase timers: "
        f"{phase_text(answer['phases'], answer['instrumented'])}"
    )


def _watch_latency(
    ctx: Context, size: int, repo: Path, env: dict[str, str], item: str, trials: int
) -> None:
    """`tracker watch` running: the time from an edit saved (or a `git commit` returning)
    to the watcher's log line saying it synced that change."""
    import queue
    import signal
    import threading

    path = next((repo / ".tracker" / "items").rglob(f"{item}.yaml"))
    watcher = subprocess.Popen(
        [sys.executable, "-m", "tracker", "watch"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        assert watcher.stderr is not None
        for line in watcher.stderr:
            lines.put((time.perf_counter(), line.rstrip("\n")))

    def wait_for(*parts: str, limit: float = 600.0) -> float:
        deadline = time.perf_counter() + limit
        while True:
            arrived, line = lines.get(timeout=max(0.001, deadline - time.perf_counter()))
            if all(part in line for part in parts):
                return arrived

    threading.Thread(target=read, daemon=True).start()
    edits: list[float] = []
    commits: list[float] = []
    try:
        wait_for("watching")
        for trial in range(trials):
            wait_for_quiet(ctx.settle)
            text = path.read_text(encoding="utf-8")
            edited = re.sub(r"(?m)^title: .*$", f"title: Watched {trial} {time.time_ns()}", text)
            path.write_text(edited, encoding="utf-8")
            saved = time.perf_counter()
            edits.append(wait_for("synced", "read 1,", limit=30) - saved)
            time.sleep(0.2)  # the burst is over
            subprocess.run(
                ["git", "commit", "-q", "-am", f"bench: watch {trial}"],
                cwd=repo,
                env=env,
                check=True,
            )
            committed = time.perf_counter()
            head = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            commits.append(wait_for("synced", f"commit {head[:12]}", limit=30) - committed)
            time.sleep(0.2)
    except queue.Empty:
        ctx.note(f"**`tracker watch` @ {size:,} did not log a sync in time**")
        return
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            watcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait()
    ctx.record("`tracker watch`: edit saved -> synced (log line)", size, edits, WATCH_GOAL)
    ctx.record("`tracker watch`: `git commit` returned -> synced", size, commits, WATCH_GOAL)
    ctx.note(
        f"watch @ {size:,}: each figure includes the {DEBOUNCE_MS} ms the watcher waits for a "
        "burst of events to end; the commit case times from `git commit` returning (git's "
        "own work is not counted)"
    )


def _cli(ctx: Context, size: int, repo: Path, env: dict[str, str], item: str) -> None:
    tracker = tracker_executable()
    python = cli_python()
    goal = CLI_GOAL if size <= 1_000 else None
    commands = {"show": ["show", item], "list": ["list"], "ready": ["ready"]}
    repeat = ctx.repeats(15, 3)
    no_server = {**env, "TRACKER_NO_SERVER": "1"}

    def call(args: list[str], run_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tracker, *args], cwd=repo, env=run_env, capture_output=True, text=True
        )

    def checker(name: str) -> Callable[[object], None]:
        def check(result: object) -> None:
            assert isinstance(result, subprocess.CompletedProcess)
            if result.returncode != 0:
                raise AssertionError(f"`tracker {name}` failed: {result.stderr[-500:]}")
            if name == "show" and item not in result.stdout:
                raise AssertionError(f"`tracker show` did not show {item}")

        return check

    floor = ctx.time(
        "CLI floor: `python -c pass` (the CLI's venv)",
        size,
        partial(subprocess.run, [python, "-c", "pass"], check=True),
        repeat=repeat,
        settle_each=False,
    )
    cases = [
        Case(
            f"CLI `tracker {name}`, no server", partial(call, args, no_server), goal, checker(name)
        )
        for name, args in commands.items()
    ]
    measured = ctx.time_cases(size, cases, repeat=repeat, warmup=2, settle_each=False)
    _cli_breakdown(ctx, size, repo, no_server, commands, floor, measured, python)

    server_log = repo.parent / "serve.log"
    with open(server_log, "w", encoding="utf-8") as log:
        server = subprocess.Popen(
            [tracker, "serve", "--idle-timeout", "600"],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        if not _wait_for_socket(repo, server):
            ctx.note(
                "**`tracker serve` did not start listening**: "
                + server_log.read_text(encoding="utf-8")[-500:]
            )
            return
        forwarded = _imports(python, commands["show"], repo, env)
        if any(name == "duckdb" for name, _ in forwarded["modules"]):
            ctx.note("**CHECK**: with the server running the CLI still imported duckdb")
        cases = [
            Case(
                f"CLI `tracker {name}`, `tracker serve` running",
                partial(call, args, env),
                goal,
                checker(name),
            )
            for name, args in commands.items()
        ]
        ctx.time_cases(size, cases, repeat=repeat, warmup=2, settle_each=False)
        ctx.note(
            "the server is not a child of the benchmark: its CPU counts as other load in the "
            "server rows (and their runs are redone as noisy), so their other-load share "
            "is no sign of a busy machine"
        )
        ctx.note(
            f"with the server the client process imports {forwarded['total'] * 1e3:.0f} ms "
            "of modules (under -X importtime), the server does the sync and the query"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_socket(repo: Path, server: subprocess.Popen[Any], limit: float = 30) -> bool:
    from tracker.cli.rendezvous import find_git_dir, socket_path

    git_dir = find_git_dir(str(repo))
    assert git_dir is not None
    path = socket_path(git_dir)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _imports(python: str, args: list[str], repo: Path, env: dict[str, str]) -> dict[str, Any]:
    """What one CLI process imports (-X importtime): the total and the heaviest packages."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", "from tracker.cli.launcher import main; main()", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    total = 0
    packages: dict[str, int] = {}
    for line in done.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match is None:
            continue
        cumulative, indent, name = int(match[2]), len(match[3]), match[4]
        if indent == 1:
            total += cumulative
        if "." not in name and not name.startswith("_"):
            packages[name] = max(packages.get(name, 0), cumulative)
    heavy = sorted(packages.items(), key=lambda kv: -kv[1])
    return {"total": total / 1e6, "modules": [(n, us / 1e6) for n, us in heavy]}


def _cli_breakdown(
    ctx: Context,
    size: int,
    repo: Path,
    env: dict[str, str],
    commands: dict[str, list[str]],
    floor: Measurement,
    measured: list[Measurement],
    python: str,
) -> None:
    """Where a CLI process's time goes without a server: python start, imports, the command
    (DuckDB open, sync, SQL, close, CLI) and exit, medians of several instrumented runs."""
    start = floor.summary.median
    runs = 7
    for (name, args), measurement in zip(commands.items(), measured, strict=True):
        walls, imports, commands_t = [], [], []
        phases: dict[str, list[float]] = {}
        for _ in range(runs):
            answer, _other, wall = _child(
                python, _CLI_BREAKDOWN, [json.dumps(QUERY_PHASES), *args], repo, env
            )
            walls.append(wall)
            imports.append(answer["imports"])
            commands_t.append(answer["command"])
            for key, value in answer["phases"].items():
                phases.setdefault(key, []).append(value)
        command = statistics.median(commands_t)
        medians = {key: statistics.median(values) for key, values in phases.items()}
        medians["CLI: click, output"] = command - sum(medians.values())
        wall = statistics.median(walls)
        exit_rest = wall - start - statistics.median(imports) - command
        heavy = _imports(python, args, repo, env)
        top = ", ".join(f"{n} {s * 1e3:.0f}" for n, s in heavy["modules"][:7] if n != "tracker")
        ctx.note(
            f"`tracker {name}` @ {size:,} without a server, breakdown (medians of {runs} "
            f"instrumented runs; the timed median was "
            f"{measurement.summary.median * 1e3:.0f} ms): process {wall * 1e3:.0f} ms = "
            f"python start {start * 1e3:.0f} + imports {statistics.median(imports) * 1e3:.0f} "
            f"+ command {phase_text(medians, command)} + exit/other {exit_rest * 1e3:.0f}. "
            f"-X importtime: {heavy['total'] * 1e3:.0f} ms of imports; heaviest packages "
            f"(ms, cumulative): {top}"
        )
