"""`tracker validate` of a whole tracker: in-process and as a CLI process, parallel and not.

Goal (issue): 10,000 items validated in under 5 s on the 2-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.registry import Case, Context, Goal, benchmark
from tracker.constants import DEFAULT_ROOT
from tracker.service.validate import ValidationReport, validate_root

GOAL_SIZE = 10_000
GOAL = Goal(5.0, "p95")
IN_PROCESS_REPEAT = 5
CLI_REPEAT = 3


def _check_report(expected_items: int) -> Callable[[object], None]:
    def check(result: object) -> None:
        assert isinstance(result, ValidationReport)
        if result.problems:
            raise AssertionError(f"validate found problems: {result.problems[:3]}")
        if result.files_checked < expected_items:
            raise AssertionError(f"only {result.files_checked} files checked")

    return check


def _run_cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "TRACKER_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args], cwd=repo, env=env, capture_output=True, text=True
    )


def _check_cli(result: object) -> None:
    assert isinstance(result, subprocess.CompletedProcess)
    if result.returncode != 0 or "no problems" not in result.stdout:
        raise AssertionError(f"tracker validate failed: {result.stdout[-500:]}{result.stderr}")


@benchmark("validate", "`tracker validate` of the whole tracker (schema of every file + links)")
def run(ctx: Context) -> None:
    default = f"jobs=default ({os.cpu_count() or 1})"
    startup = partial(_run_cli, Path.cwd(), "--version")
    ctx.time("CLI startup only: tracker --version", None, startup, repeat=CLI_REPEAT)
    for size in ctx.sizes:
        repo = ctx.repo(size)
        root = repo / DEFAULT_ROOT
        goal = GOAL if size >= GOAL_SIZE else None  # the goal is for the default, parallel run
        check = _check_report(size)
        # Each pair is interleaved so that their ratio is measured under the same conditions.
        parallel, serial = ctx.time_cases(
            size,
            [
                Case(f"in-process, {default}", partial(validate_root, root), goal, check),
                Case("in-process, jobs=1", partial(validate_root, root, jobs=1), None, check),
            ],
            repeat=IN_PROCESS_REPEAT,
        )
        cli_parallel, cli_serial = ctx.time_cases(
            size,
            [
                Case(
                    f"CLI process, {default}", partial(_run_cli, repo, "validate"), goal, _check_cli
                ),
                Case(
                    "CLI process, -j 1",
                    partial(_run_cli, repo, "validate", "-j", "1"),
                    None,
                    _check_cli,
                ),
            ],
            repeat=CLI_REPEAT,
        )
        ctx.note(
            f"{size:,} items, parallel speedup (median jobs=1 / median {default}): "
            f"in-process {serial.summary.median / parallel.summary.median:.2f}x, "
            f"CLI {cli_serial.summary.median / cli_parallel.summary.median:.2f}x"
        )
