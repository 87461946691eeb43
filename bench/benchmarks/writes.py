"""Writes through git: one `tracker set` via the library, and 1,000 `tracker new` CLI calls.

Goals (issue): a set p95 <= 25 ms at 10,000 items and <= 50 ms at 100,000 (the
100k repository uses the fanned-out items layout); 1,000 items created one CLI
call at a time in under 40 s (Beads: 163 s on the same machine).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import GIT_ENV, clone, tracker_executable
from bench.registry import Context, Goal, benchmark, wait_for_quiet

SET_GOALS = {10_000: Goal(0.025, "p95"), 100_000: Goal(0.050, "p95")}
SET_REPEAT = 60
CLI_CREATES = 1000
ENV = GIT_ENV


def _item_ids(repo: Path, count: int) -> list[str]:
    items = repo / ".tracker" / "items"
    found = sorted(p.stem for p in itertools.islice(items.rglob("TRK-*.yaml"), count))
    return found


@benchmark("writes", "one `tracker set` via the library; 1,000 `tracker new` CLI calls")
def run(ctx: Context) -> None:
    os.environ.update(ENV)
    layouts = [
        (size, fanout) for size in ctx.sizes for fanout in (False, True) if fanout or size < 100_000
    ]  # 100k flat is not a layout anyone should use
    for size, fanout in layouts:
        source = ctx.repo(size, fanout=fanout)
        with tempfile.TemporaryDirectory(prefix="tracker-bench-") as scratch:
            repo = clone(source, Path(scratch) / "repo", split_index=size >= 100_000)
            layout = "fanout" if fanout else "flat"
            wait_for_quiet(ctx.settle)
            samples = _time_sets_in_child(repo, SET_REPEAT)
            ctx.record(
                f"tracker set via the library ({layout} items)",
                size,
                samples,
                goal=SET_GOALS.get(size) if fanout else None,  # the goals assume fan-out
            )
    _cli_creates(ctx)


# Runs in a fresh interpreter that imports only tracker, so the harness's own memory and
# imports (synthetic repositories, statistics) do not weigh on the calls being timed.
_SET_LOOP = """
import json, sys, time, itertools
from pathlib import Path
from tracker.service.assign import parse_assignments
from tracker.service.items import update_item
from tracker.service.workspace import Workspace

repeat = int(sys.argv[1])
items = Path(".tracker/items")
ids = sorted(p.stem for p in itertools.islice(items.rglob("TRK-*.yaml"), 20))
samples = []
for call in range(repeat + 3):
    started = time.perf_counter()
    workspace = Workspace.open(actor="bench")
    change = parse_assignments([f"title=Benchmark title {call}"])  # always a real change
    result = update_item(workspace, ids[call % len(ids)], change)
    elapsed = time.perf_counter() - started
    assert result.changes, "the benchmark's set changed nothing"
    if call >= 3:  # the first calls warm up the caches
        samples.append(elapsed)
print(json.dumps(samples))
"""


def _time_sets_in_child(repo: Path, repeat: int) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", _SET_LOOP, str(repeat)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **ENV},
    )
    samples: list[float] = json.loads(done.stdout)
    return samples


def _cli_creates(ctx: Context) -> None:
    tracker = tracker_executable()
    env = {**os.environ, **ENV, "TRACKER_ACTOR": "bench"}
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as scratch:
        repo = Path(scratch)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        subprocess.run([tracker, "init"], cwd=repo, env=env, check=True, capture_output=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=repo, env=env, check=True)
        server = subprocess.Popen(
            [tracker, "serve", "--idle-timeout", "120"],
            cwd=repo,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stderr is not None
            server.stderr.readline()  # "tracker server for ... on ..." once it listens
            counter = itertools.count()

            def create_all() -> object:
                for _ in range(CLI_CREATES):
                    subprocess.run(
                        [tracker, "new", "task", f"item {next(counter)}"],
                        cwd=repo,
                        env=env,
                        check=True,
                        stdout=subprocess.DEVNULL,
                    )
                return None

            measured = ctx.time(
                f"{CLI_CREATES} x `tracker new` CLI calls, server running",
                None,
                create_all,
                repeat=1,
                warmup=0,
                goal=Goal(40.0, "median"),
            )
            per_call = measured.summary.median / CLI_CREATES
            ctx.note(
                f"`tracker new` CLI call with `tracker serve` running: "
                f"{per_call * 1e3:.1f} ms per call"
            )
            started = time.perf_counter()
            for index in range(20):
                subprocess.run(
                    [tracker, "new", "task", f"cold {index}"],
                    cwd=repo,
                    env={**env, "TRACKER_NO_SERVER": "1"},
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
            cold = (time.perf_counter() - started) / 20
            ctx.note(
                f"`tracker new` without the server: {cold * 1e3:.0f} ms per call "
                f"(about {cold * CLI_CREATES:.0f} s for {CLI_CREATES})"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        count = len(list((repo / ".tracker" / "items").glob("*.yaml")))
        expected = next(counter) + 20  # every `tracker new` that ran made exactly one item
        if count != expected:
            raise AssertionError(f"expected {expected} items, found {count}")
        shutil.rmtree(repo / ".git", ignore_errors=True)
