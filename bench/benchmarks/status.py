"""`tracker status`: the report's data from a warm index, rendered to Markdown, in-process.

Goals (issue 5): p95 <= 30 ms for the example tracker, <= 150 ms at 10,000 items, the index
kept warm in the process (`LiveIndex`, as `tracker watch`, `serve` and the MCP server do).

Two cases per repository: nothing changed since the last report (the data comes from the
warm index's cache, only the time, git state and rendering are new), and one item file
edited just before (the index syncs that file and every section is queried again): the
first report after any change costs that much.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from itertools import count
from pathlib import Path

from bench import PROJECT_DIR
from bench.common import GIT_ENV, clone
from bench.registry import Case, Context, Goal, benchmark
from tracker.constants import DEFAULT_ROOT
from tracker.service.live import LiveIndex
from tracker.service.status import status_data
from tracker.service.status_render import render_status
from tracker.service.workspace import Workspace

EXAMPLE = PROJECT_DIR / ".tracker-example"
EXAMPLE_GOAL = Goal(0.030, "p95")
LARGE_GOAL = Goal(0.150, "p95")  # from 10,000 items; none for the sizes between
REPEAT = 20


def _report(workspace: Workspace) -> str:
    return render_status(workspace, status_data(workspace))


def _check(result: object) -> None:
    assert isinstance(result, str)
    for heading in ("# Project Status", "## Vendors", "## Work Items", "## Open Dependencies"):
        if f"{heading}\n" not in result:
            raise AssertionError(f"the report has no {heading!r}")


def _editing(workspace: Workspace) -> Callable[[], str]:
    """A report right after an active item's title was edited (a new title each call)."""
    path = next(
        path
        for path in sorted((workspace.root / "items").rglob("*.yaml"))
        if "\nstatus: active\n" in path.read_text("utf-8")
    )
    text = path.read_text("utf-8")
    edits = count()

    def edit_and_report() -> str:
        changed = re.sub(r"(?m)^title: .*$", f"title: Edited {next(edits)}", text, count=1)
        path.write_text(changed, "utf-8")
        return _report(workspace)

    return edit_and_report


def _time_repo(ctx: Context, label: str, size: int | None, repo: Path, goal: Goal | None) -> None:
    workspace = Workspace.open(repo)
    live = LiveIndex.start(workspace)
    try:
        ctx.time_cases(
            size,
            [
                Case(f"{label}, unchanged", lambda: _report(workspace), goal, _check),
                Case(f"{label}, after an edit", _editing(workspace), goal, _check),
            ],
            repeat=REPEAT,
            settle_each=False,
        )
        data = status_data(workspace)
        items = sum(group["count"] for group in data["work_items"]["types"])
        edges = data["dependency_graph"]["total_edges"]
        ctx.note(f"{label}: {items:,} open items and {edges:,} open dependencies in the report")
    finally:
        live.close()


@benchmark("status", "`tracker status`: report data from a warm index + Markdown rendering")
def run(ctx: Context) -> None:
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as scratch:
        example = Path(scratch) / "example"
        shutil.copytree(EXAMPLE, example / DEFAULT_ROOT)
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *args], cwd=example, env={**os.environ, **GIT_ENV}, check=True)
        _time_repo(ctx, "example tracker (50 items)", None, example, EXAMPLE_GOAL)
        for size in ctx.sizes:
            repo = clone(ctx.repo(size), Path(scratch) / f"repo-{size}", size >= 100_000)
            goal = LARGE_GOAL if size >= 10_000 else None
            _time_repo(ctx, "warm index", size, repo, goal)
