"""The team index on PostgreSQL: publish from scratch, incremental publish, warm reads.

Goals (issue 6, at 100,000 items, against a local PostgreSQL server):

- publish of a repository from scratch (the team index holds nothing of it) <= 30 s;
- incremental publish after one item was edited and committed <= 50 ms (median and p95);
- warm reads answered by the team index: vendor by name p95 <= 1 ms, show of an item with
  its ancestors and descendants p95 <= 5 ms, ready p95 <= 30 ms.

Every run uses a database of its own (`bench_team_<pid>`, dropped at the end), in a local
clone of each size's cached synthetic repository (100,000 items: fanned out, git's split
index). Every timing runs in a clean child process that imports only tracker. The reads
are timed three ways, interleaved: end to end (`reads.*` on a workspace with the team index
configured, the local index kept warm by `LiveIndex` as `tracker serve`, `watch` and the
MCP server do; every answer must say `data_source: postgres`), the Postgres part alone (the
same read's own computation on a `TeamIndex` connection inside one snapshot, as the end to
end call runs it) and the local DuckDB index for reference. A second, instrumented pass
splits each operation into phases by wrapping tracker's functions with timers.

The PostgreSQL server: $TRACKER_BENCH_PG (a libpq DSN of a role that may create
databases), default `host=127.0.0.1 user=postgres dbname=postgres`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import GIT_ENV, LARGE, scratch_clone
from bench.phases import TIMERS, ChildRuns, ms, phase_text
from bench.registry import (
    Context,
    Goal,
    benchmark,
    machine_busy_seconds,
    own_cpu_seconds,
    wait_for_quiet,
)

ADMIN_DSN = os.environ.get("TRACKER_BENCH_PG", "host=127.0.0.1 user=postgres dbname=postgres")
SCRATCH_GOAL = Goal(30.0, "p95")
INCREMENTAL_GOAL = Goal(0.050, "p95")  # the median is below the p95: both <= 50 ms
VENDOR_GOAL = Goal(0.001, "p95")
SHOW_GOAL = Goal(0.005, "p95")
READY_GOAL = Goal(0.030, "p95")
READY_LIMIT = 10  # `tracker ready`'s default
QUERY_BUDGET = 60.0  # seconds for the timed rounds of reads (all cases, all three ways)
QUERY_ROUNDS = (10, 500)


def _defaults(size: int) -> dict[str, int]:
    if size >= LARGE:
        return {"scratch": 3, "fresh_clone": 2, "incremental": 20, "oneshot": 3}
    return {"scratch": 5, "fresh_clone": 3, "incremental": 20, "oneshot": 5}


# -- phases ------------------------------------------------------------------------------

PUBLISH_PHASES: list[tuple[str, str, str, list[str] | None]] = [
    ("tracker.index.duckdb_backend", "DuckIndex.open", "local: DuckDB open", None),
    ("tracker.index.duckdb_backend", "DuckIndex.close", "local: DuckDB close", None),
    ("tracker.service.indexer", "sync", "local: index sync", None),
    ("tracker.service.live", "sync", "local: index sync", None),
    ("tracker.service.live", "LiveIndex.refresh", "local: freshness check (warm)", None),
    ("tracker.index.publication", "uncommitted_files", "local: uncommitted-files query", None),
    ("tracker.service.team", "repository", "git: repository identity", None),
    ("tracker.service.team", "connection", "PG: connect + schema check", None),
    ("tracker.index.postgres_backend", "Publication.published_files", "PG: read baseline", None),
    ("tracker.index.publication", "replace_baseline", "local: replace baseline", None),
    ("tracker.index.publication", "changed_files", "local: diff files vs baseline", None),
    ("tracker.index.publication", "table_rows", "local: rows of changed files", None),
    ("tracker.index.publication", "derived_changes", "local: diff derived tables", None),
    ("tracker.index.publication", "derived_rows", "local: derived rows, all", None),
    ("tracker.index.postgres_backend", "Publication.remove", "PG: DELETE", None),
    ("tracker.index.postgres_backend", "Publication.insert", "PG: COPY", None),
    ("tracker.index.postgres_backend", "Publication.finish", "PG: update scope", None),
    ("tracker.index.publication", "record_published", "local: record baseline", None),
    ("tracker.service.publish", "publish", "publish: rest (BEGIN, scope lock, COMMIT)", None),
]
READ_REST = "service code (rest: building the answer, ending its snapshot)"
READ_PHASES: list[tuple[str, str, str, list[str] | None]] = [
    ("tracker.service.live", "LiveIndex.refresh", "local: freshness check", None),
    ("tracker.service.team", "uncommitted_files", "local: uncommitted-files query", None),
    ("tracker.index.postgres_backend", "TeamIndex._scope_at", "PG: scope lookup", None),
    ("tracker.index.postgres_backend", "TeamIndex.scopes", "PG: scopes lookup", None),
    ("tracker.index.postgres_backend", "TeamIndex.use_scope", "PG: set scope", None),
    # the first query of an answer also begins its snapshot (one round trip)
    ("tracker.index.postgres_backend", "TeamIndex.rows", "PG: SQL (execute + fetch)", None),
    ("tracker.index.postgres_backend", "TeamIndex.rows_many", "PG: SQL (execute + fetch)", None),
    ("tracker.index.duckdb_backend", "DuckIndex.rows", "local: SQL", [READ_REST]),
    *(
        ("tracker.service.reads", name, READ_REST, None)
        for name in ("vendor", "show_item", "ready", "list_items")
    ),
]

# -- child scripts -----------------------------------------------------------------------

# A publish in a process of its own, as `tracker index publish` runs: `scratch` with the
# local index made fresh first (untimed), `fresh-clone` with no local index at all,
# `oneshot` after an item file was edited and committed (untimed).
_PUBLISH = (
    TIMERS
    + r"""
import json, os, re, subprocess, sys
from pathlib import Path
started = time.perf_counter()
import tracker.service.publish as publishing
from tracker.service.index_admin import index_sync
from tracker.service.indexer import discard_index, index_path
from tracker.service.workspace import Workspace
imported = time.perf_counter() - started
dsn, mode, phases, edit = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
ws = Workspace.open(index_dsn=dsn)
head = None
if mode == "scratch":
    index_sync(ws)
elif mode == "fresh-clone":
    discard_index(index_path(ws))
elif mode == "oneshot":
    path = Path(edit)
    text = path.read_text(encoding="utf-8")
    title = f"One-shot publish {time.time_ns()}"
    path.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1),
                    encoding="utf-8")
    subprocess.run(["git", "add", "--", str(path)], check=True)
    subprocess.run(["git", "commit", "-q", "-m", "bench: one-shot publish"], check=True)
head = subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True,
                      text=True).stdout.strip()
missing = install_timers(phases)
cpu = os.times()
started = time.perf_counter()
report = publishing.publish(ws, dsn)
seconds = time.perf_counter() - started
after = os.times()
print(json.dumps({"seconds": seconds, "cpu": sum(after[:4]) - sum(cpu[:4]), "report": report,
                  "head": head, "phases": TIMES, "missing": missing, "imports": imported}))
"""
)

# Incremental publish in a process that keeps the local index warm (`tracker watch
# --publish`, a server): each round edits another item's title, commits it, then publishes;
# even rounds let the local index sync the commit first (untimed, as the watcher publishes
# after its sync), odd rounds publish right after the commit (the sync inside). Every
# publish must send exactly one file, and the team index's answer then show the new title.
_INCREMENTAL = (
    TIMERS
    + r"""
import json, re, subprocess, sys
import tracker.service.publish as publishing
from tracker.service import reads
from tracker.service.live import LiveIndex
from tracker.service.workspace import Workspace

dsn, rounds, instrumented = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
phases = json.loads(sys.argv[4])
ws = Workspace.open(index_dsn=dsn)
live = LiveIndex.start(ws)
first = publishing.publish(ws, dsn)  # warm-up; nothing changed since the last publish
paths = sorted((ws.root / "items").rglob("*.yaml"))[: 2 * rounds + instrumented]
samples = {"synced": [], "direct": []}
syncs, problems, breakdown = [], [], []
missing = []

def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout

for trial, path in enumerate(paths):
    timed = trial < 2 * rounds
    if trial == 2 * rounds:
        missing = install_timers(phases)
    text = path.read_text(encoding="utf-8")
    title = f"Published {trial} {time.time_ns()}"
    edited, count = re.subn(r"(?m)^title: .*$", f"title: {title}", text, count=1)
    assert count == 1, f"no title line in {path}"
    path.write_text(edited, encoding="utf-8")
    git("add", "--", str(path))
    git("commit", "-q", "-m", f"bench: publish {trial}")
    head = git("rev-parse", "HEAD").strip()
    synced = trial % 2 == 0 or not timed
    if synced:
        started = time.perf_counter()
        live.refresh()
        syncs.append(time.perf_counter() - started)
    TIMES.clear()
    started = time.perf_counter()
    report = publishing.publish(ws, dsn)
    elapsed = time.perf_counter() - started
    if timed:
        samples["synced" if synced else "direct"].append(elapsed)
    else:
        breakdown.append({"total": elapsed, **TIMES})
    if (report["files_sent"], report["commit"], report["published"], report["full"]) != (
        1, head, True, False
    ):
        problems.append(f"round {trial}: {report}")
    answer = reads.show_item(ws, path.stem)
    got = (answer["data_source"], answer["record"].get("title"), answer["version"])
    if got != ("postgres", title, head):
        problems.append(f"round {trial}: answer {got[0]}, {got[1]!r}, {str(got[2])[:12]}, "
                        f"expected postgres, {title!r}, {head[:12]}: {answer['warnings']}")
print(json.dumps({"samples": samples, "syncs": syncs, "problems": problems, "first": first,
                  "breakdown": breakdown, "missing": missing}))
"""
)

# Warm reads three ways, interleaved: "team" = `reads.*` on a workspace with the team index
# configured (the realistic number), "pg" = the same read's computation on a TeamIndex
# connection inside one snapshot (the Postgres part alone), "local" = the local index.
_READS = (
    TIMERS
    + r"""
import itertools, json, sys
from tracker.index.postgres_backend import TeamIndex
from tracker.query.spec import ItemQuery
from tracker.service import reads
from tracker.service.indexer import Answer
from tracker.service.live import LiveIndex
from tracker.service.workspace import Workspace

dsn = sys.argv[1]
least, most, warmup, instrumented, ready_limit = (int(a) for a in sys.argv[2:7])
budget = float(sys.argv[7])
phases = json.loads(sys.argv[8])
team_ws = Workspace.open(index_dsn=dsn)
local_ws = Workspace.open()
live = LiveIndex.start(team_ws)

def rows(sql):
    answer = reads.run_query(local_ws, sql)
    if not answer["rows"]:
        raise SystemExit(f"nothing found by {sql}")
    return answer["rows"]

vendors = [r["name"] for r in rows("SELECT name FROM vendors ORDER BY name LIMIT 50")]
deeps = [r["id"] for r in rows("SELECT id FROM work_items WHERE depth = 4 ORDER BY id LIMIT 50")]
wides = rows(
    "SELECT split_part(path, '/', 3) AS id, count(*) - 1 AS n FROM work_items "
    "WHERE depth >= 2 GROUP BY 1 ORDER BY n DESC, id LIMIT 20"
)
import subprocess
head = subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True,
                      text=True).stdout.strip()
pg = TeamIndex.connect(dsn)
scope = next(s for s in pg.scopes() if s.commit == head)
pg.use_scope(scope.id)
real_answered = reads.answered

def pg_answered(workspace, at, compute):
    with pg.snapshot():
        return compute(Answer(pg, "postgres", [], scope.commit))

problems = []

def check(name, condition, what):
    if not condition and len(problems) < 20:
        problems.append(f"{name}: {what}")

def make(way):
    ws = local_ws if way == "local" else team_ws
    source = "index" if way == "local" else "postgres"
    next_vendor, next_deep, next_wide = (itertools.cycle(x) for x in (vendors, deeps, wides))

    def run(call):
        if way != "pg":
            result = call()
        else:
            reads.answered = pg_answered
            try:
                result = call()
            finally:
                reads.answered = real_answered
        check(f"{way}", result["data_source"] == source,
              f"answered from {result['data_source']}: {result['warnings']}")
        return result

    def vendor():
        name = next(next_vendor)
        result = run(lambda: reads.vendor(ws, name))
        check(f"{way} vendor", result["vendor"]["name"] == name, "wrong vendor")

    def deep():
        key = next(next_deep)
        result = run(lambda: reads.show_item(ws, key))
        check(f"{way} show deep", result["id"] == key, "wrong item")
        check(f"{way} show deep", len(result["ancestors"]) == 4, "not 4 ancestors")

    def wide():
        target = next(next_wide)
        result = run(lambda: reads.show_item(ws, target["id"]))
        check(f"{way} show wide", len(result["descendants"]) == target["n"],
              f"{len(result['descendants'])} descendants, expected {target['n']}")
        check(f"{way} show wide", len(result["ancestors"]) == 2, "not 2 ancestors")

    def ready():
        items = run(lambda: reads.ready(ws, ready_limit))["items"]
        check(f"{way} ready", 0 < len(items) <= ready_limit, f"{len(items)} items")
        check(f"{way} ready", all(i["status"] == "active" for i in items), "not active")

    def listing():
        items = run(lambda: reads.list_items(ws, ItemQuery()))["items"]
        check(f"{way} list", len(items) == 50, f"{len(items)} items")

    return {"vendor": vendor, "show_deep": deep, "show_wide": wide, "ready": ready,
            "list": listing}

ways = ("team", "pg", "local")
cases = {(way, name): call for way in ways for name, call in make(way).items()}
started = time.perf_counter()
for call in cases.values():
    for _ in range(warmup):
        call()
one_round = (time.perf_counter() - started) / warmup
repeat = max(least, min(most, int(budget / one_round)))
samples = {f"{way}/{name}": [] for way, name in cases}
for _ in range(repeat):  # interleaved, so drift spreads over every case
    for (way, name), call in cases.items():
        started = time.perf_counter()
        call()
        samples[f"{way}/{name}"].append(time.perf_counter() - started)
missing = install_timers(phases)
breakdown = {}
for (way, name), call in cases.items():
    if way != "team":
        continue
    TIMES.clear()
    started = time.perf_counter()
    for _ in range(instrumented):
        call()
    total = time.perf_counter() - started
    breakdown[name] = {"total": total / instrumented,
                       **{k: v / instrumented for k, v in TIMES.items()}}
print(json.dumps({"samples": samples, "problems": problems, "breakdown": breakdown,
                  "missing": missing, "descendants": [w["n"] for w in wides],
                  "rounds": repeat}))
"""
)


# -- running children ------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def postgres_cpu_seconds() -> float:
    """CPU time of the local PostgreSQL server's processes (the postmaster's reaped backends
    included), from /proc: the server works for the benchmark, so its CPU is not other
    load."""
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        name_end = text.rfind(")")
        if text[text.find("(") + 1 : name_end] != "postgres":
            continue
        fields = text[name_end + 2 :].split()
        # after the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based
        total += sum(int(value) for value in fields[11:15])
    return total / _CLOCK_TICKS


def _child(
    python: str, script: str, args: list[str], repo: Path, env: dict[str, str]
) -> tuple[dict[str, Any], float, float]:
    """Run a child script in `repo`; its JSON answer, the share of the machine's CPU that
    other processes than it and the PostgreSQL server used while it ran, and its wall
    time."""
    cores = os.cpu_count() or 1
    busy, cpu, server = machine_busy_seconds(), own_cpu_seconds(), postgres_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", script, *args], cwd=repo, capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"child failed ({done.returncode}): {done.stderr.strip()[-2000:] or done.stdout}"
        )
    ours = own_cpu_seconds() - cpu + postgres_cpu_seconds() - server
    other = max(0.0, machine_busy_seconds() - busy - ours)
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer, min(1.0, other / (cores * wall)), wall


# -- the database ------------------------------------------------------------------------


class Database:
    """A database of this benchmark run, created on the server of ADMIN_DSN, dropped after."""

    def __init__(self, name: str) -> None:
        import psycopg
        from psycopg.conninfo import make_conninfo

        self.name = name
        self.dsn = make_conninfo(ADMIN_DSN, dbname=name)
        with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def empty(self) -> None:
        """No team index at all, then the current schema (untimed): a team index that
        holds nothing of the repository about to be published."""
        from tracker.index.postgres_backend import TeamIndex

        self.execute("DROP SCHEMA IF EXISTS tracker CASCADE")
        TeamIndex.connect(self.dsn, migrate=True).close()

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# -- the benchmark -----------------------------------------------------------------------


@benchmark(
    "team",
    "the team index on PostgreSQL: publish from scratch, incremental publish, warm reads",
)
def run(ctx: Context) -> None:
    env = {**os.environ, **GIT_ENV, "TRACKER_ACTOR": "bench"}
    for variable in ("TRACKER_NO_SERVER", "TRACKER_INDEX_DSN"):
        env.pop(variable, None)
    try:
        database = Database(f"bench_team_{os.getpid()}")
    except Exception as exc:  # no server: say so, measure nothing
        ctx.note(f"**PostgreSQL not reachable at `{ADMIN_DSN}`**: {exc}")
        return
    server = database.execute("SHOW server_version")[0][0]
    ctx.note(
        f"PostgreSQL {server} on `{ADMIN_DSN}` (database `{database.name}`, dropped after); "
        "the server's CPU counts as the benchmark's own, not as other load"
    )
    try:
        for size in ctx.sizes:
            fanout = size >= LARGE
            source = ctx.repo(size, fanout=fanout)
            with scratch_clone(source, size, "team") as repo:
                defaults = _defaults(size)
                _fresh_clone(ctx, size, repo, env, database, ctx.repeats(defaults["fresh_clone"]))
                _scratch(ctx, size, repo, env, database, ctx.repeats(defaults["scratch"]))
                database.execute("VACUUM ANALYZE")
                _reads(ctx, size, repo, env, database)
                _incremental(ctx, size, repo, env, database, ctx.repeats(defaults["incremental"]))
                _oneshot(ctx, size, repo, env, database, ctx.repeats(defaults["oneshot"]))
    finally:
        database.drop()


def _publish_child(
    repo: Path, env: dict[str, str], database: Database, mode: str, edit: str = ""
) -> tuple[dict[str, Any], float]:
    answer, other, _wall = _child(
        sys.executable,
        _PUBLISH,
        [database.dsn, mode, json.dumps(PUBLISH_PHASES), edit],
        repo,
        env,
    )
    return answer, other


def _check_full(answer: dict[str, Any], size: int, database: Database) -> None:
    report = answer["report"]
    if not (report["published"] and report["full"] and report["commit"] == answer["head"]):
        raise AssertionError(f"not a full publish of HEAD: {report}")
    items, files = database.execute(
        "SELECT (SELECT count(*) FROM tracker.items), (SELECT count(*) FROM tracker.files)"
    )[0]
    if items != size or files != report["files_sent"]:
        raise AssertionError(
            f"the team index holds {items} items and {files} files after publishing "
            f"{size} items in {report['files_sent']} files"
        )


def _scratch(
    ctx: Context, size: int, repo: Path, env: dict[str, str], database: Database, runs: int
) -> None:
    """The team index holds nothing (its schema made, untimed), the local index is fresh."""
    timed = ChildRuns()
    for _ in range(runs):
        database.empty()
        wait_for_quiet(ctx.settle)
        answer, other = _publish_child(repo, env, database, "scratch")
        _check_full(answer, size, database)
        timed.add(answer, other)
    timed.record(
        ctx,
        "publish from scratch: team index empty, local index fresh (`publish`)",
        size,
        SCRATCH_GOAL if size >= LARGE else None,
    )
    report = timed.median["report"]
    ctx.note(
        f"publish from scratch @ {size:,}: {report['files_sent']:,} files, "
        f"{report['rows_sent']:,} rows; phases of the median run: {timed.median_phases()}"
    )
    replaced = statistics.median(
        answer["phases"].get("local: replace baseline", 0.0) for answer in timed.answers
    )
    if replaced >= 0.1:
        ctx.note(
            f"publish from scratch @ {size:,}: this clone had published before (to the "
            "team index emptied since), so its copy of what it last published is replaced "
            f"first: {replaced:.1f} s (median) of each run; a clone's first publish has "
            "nothing to replace (the fresh-clone row)"
        )


def _fresh_clone(
    ctx: Context, size: int, repo: Path, env: dict[str, str], database: Database, runs: int
) -> None:
    """A clone that never had a local index publishes to an empty team index."""
    timed = ChildRuns()
    for _ in range(runs):
        database.empty()
        wait_for_quiet(ctx.settle)
        answer, other = _publish_child(repo, env, database, "fresh-clone")
        _check_full(answer, size, database)
        timed.add(answer, other)
    timed.record(ctx, "publish from a fresh clone: no local index yet, team index empty", size)
    ctx.note(
        f"publish from a fresh clone @ {size:,}, phases of the median run (the local index "
        f"is built first): {timed.median_phases()}"
    )


def _incremental(
    ctx: Context, size: int, repo: Path, env: dict[str, str], database: Database, rounds: int
) -> None:
    instrumented = 3
    wait_for_quiet(ctx.settle)
    answer, other, _wall = _child(
        sys.executable,
        _INCREMENTAL,
        [database.dsn, str(rounds), str(instrumented), json.dumps(PUBLISH_PHASES)],
        repo,
        env,
    )
    goal = INCREMENTAL_GOAL if size >= LARGE else None
    rows = {
        "synced": "incremental publish, warm process, the commit already synced locally "
        "(as `tracker watch --publish`)",
        "direct": "incremental publish, warm process, right after `git commit` (the local "
        "sync of the commit inside)",
    }
    for key, name in rows.items():
        measurement = ctx.record(name, size, answer["samples"][key], goal)
        measurement.other_load = other
    first = answer["first"]
    if first["files_sent"] != 0:
        ctx.note(f"**CHECK**: the warm-up publish @ {size:,} sent {first['files_sent']} files")
    if answer["problems"]:
        ctx.note(
            f"**incremental publish NOT correct** @ {size:,}: " + "; ".join(answer["problems"][:5])
        )
    else:
        ctx.note(
            f"incremental publish @ {size:,}: every round sent exactly 1 file, published the "
            "new HEAD (not a full publish), and the next `reads.show_item` answered from "
            "postgres with the new title and version"
        )
    ctx.note(
        f"incremental publish @ {size:,}: the local sync of the commit before the synced "
        f"rounds (`LiveIndex.refresh`, not counted in them) took median "
        f"{ms(statistics.median(answer['syncs']))} ms"
    )
    merged: dict[str, list[float]] = {}
    for phases in answer["breakdown"]:
        for key, value in phases.items():
            merged.setdefault(key, []).append(value)
    means = {key: statistics.mean(values) for key, values in merged.items()}
    total = means.pop("total")
    ctx.note(
        f"incremental publish @ {size:,} (synced first), mean of {len(answer['breakdown'])} "
        f"instrumented rounds: {phase_text(means, total)}"
    )
    if answer["missing"]:
        ctx.note(f"instrumentation: not found (renamed?): {', '.join(answer['missing'])}")


def _oneshot(
    ctx: Context, size: int, repo: Path, env: dict[str, str], database: Database, runs: int
) -> None:
    """`tracker index publish` as a process of its own after one item was committed: the
    local index is opened and synced (a full freshness check) before the publish."""
    paths = sorted((repo / ".tracker" / "items").rglob("*.yaml"))[-runs:]
    timed = ChildRuns()
    for path in paths:
        wait_for_quiet(ctx.settle)
        answer, other = _publish_child(repo, env, database, "oneshot", str(path))
        report = answer["report"]
        if (report["files_sent"], report["commit"], report["full"]) != (1, answer["head"], False):
            raise AssertionError(f"one-shot publish did not send the one file: {report}")
        timed.add(answer, other)
    timed.record(
        ctx, "incremental publish, one-shot process (`tracker index publish`, no warm index)", size
    )
    ctx.note(
        f"one-shot incremental publish @ {size:,}, phases of the median run: "
        f"{timed.median_phases()}"
    )


def _reads(ctx: Context, size: int, repo: Path, env: dict[str, str], database: Database) -> None:
    least, most = (ctx.repeat, ctx.repeat) if ctx.repeat is not None else QUERY_ROUNDS
    instrumented = 20
    wait_for_quiet(ctx.settle)
    answer, other, _wall = _child(
        sys.executable,
        _READS,
        [
            database.dsn,
            *(str(n) for n in (least, most, 2, instrumented, READY_LIMIT, QUERY_BUDGET)),
            json.dumps(READ_PHASES),
        ],
        repo,
        env,
    )
    large = size >= LARGE
    descendants = answer["descendants"]
    cases = {
        "vendor": ("vendor by name: `reads.vendor`", VENDOR_GOAL),
        "show_deep": ("show depth-4 item (4 ancestors): `reads.show_item`", SHOW_GOAL),
        "show_wide": (
            f"show depth-2 item (2 ancestors, {min(descendants)}-{max(descendants)} "
            "descendants): `reads.show_item`",
            SHOW_GOAL,
        ),
        "ready": (f"ready --limit {READY_LIMIT}: `reads.ready`", READY_GOAL),
        "list": ("list (default filters, 50 rows): `reads.list_items`", None),
    }
    ways = {
        "team": "team index, end to end",
        "pg": "Postgres part alone",
        "local": "local index (reference)",
    }
    for way, label in ways.items():
        for key, (name, goal) in cases.items():
            measurement = ctx.record(
                f"{label}, warm: {name}",
                size,
                answer["samples"][f"{way}/{key}"],
                goal if large and way == "team" else None,
            )
            measurement.other_load = other
    ctx.note(
        f"reads @ {size:,}: {answer['rounds']} interleaved rounds of every case three ways; "
        "end to end = `reads.*` on a workspace whose team index holds its HEAD, the local "
        "index warm (`LiveIndex`); Postgres part alone = the same read's computation on a "
        "`TeamIndex` connection in one snapshot (BEGIN ... COMMIT included), without the "
        "local freshness check, uncommitted-files check and scope lookup; the team index "
        "was VACUUM ANALYZEd after the publishes (as autovacuum would soon do)"
    )
    for key in cases:
        phases = answer["breakdown"][key]
        total = phases.pop("total")
        ctx.note(
            f"end-to-end {key} @ {size:,}, mean per call of {instrumented}: "
            f"{phase_text(phases, total)}"
        )
    if answer["problems"]:
        ctx.note(f"**reads NOT correct** @ {size:,}: " + "; ".join(answer["problems"]))
    else:
        ctx.note(
            f"reads @ {size:,}: every answer checked (data_source postgres for the team "
            "index, index for the local one; the right vendor, 4 or 2 ancestors, all "
            "descendants, ready items active)"
        )
    if answer["missing"]:
        ctx.note(f"instrumentation: not found (renamed?): {', '.join(answer['missing'])}")
