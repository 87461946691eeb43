"""`tracker index status | sync | rebuild`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tracker.index.duckdb_backend import DuckIndex, IndexUnavailable
from tracker.index.schema import SCHEMA_VERSION
from tracker.service.indexer import index_path, sync, warm_index
from tracker.service.reading import Progress
from tracker.service.team import team_status
from tracker.service.workspace import Workspace


def index_status(workspace: Workspace) -> dict[str, Any]:
    path = index_path(workspace)
    tip = workspace.store.tip().commit
    if not path.exists():
        return {
            "path": str(path),
            "exists": False,
            "fresh": False,
            "head": tip,
            "schema_version": SCHEMA_VERSION,
        }
    index = DuckIndex.open(path)
    try:
        meta = index.meta()
        counts = {
            table: index.rows(f"SELECT count(*) AS n FROM {table}")[0]["n"]
            for table in ("items", "vendors", "deployments", "enhancements", "problems")
        }
        return {
            "path": str(path),
            "exists": True,
            "schema_version": int(meta["schema_version"]),
            "indexed_commit": meta.get("commit") or None,
            "head": tip,
            "fresh_commit": (meta.get("commit") or None) == tip,
            "size_bytes": path.stat().st_size,
            "rows": counts,
            **_team(workspace),
        }
    finally:
        index.close()


def _team(workspace: Workspace) -> dict[str, Any]:
    found = team_status(workspace)
    return {} if found is None else {"team": found}


def index_sync(
    workspace: Workspace, rebuild: bool = False, progress: Progress | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    path = index_path(workspace)
    warm = warm_index(workspace)
    if warm is not None:  # this process owns the index (a `tracker watch` runs the command)
        report = warm.refresh(full=True, rebuild=rebuild, progress=progress)
        return {
            "path": str(path),
            "rebuilt": bool(report and report.rebuilt),
            "files_read": report.files_read if report else 0,
            "files_removed": report.files_removed if report else 0,
            "versions_updated": report.versions_updated if report else 0,
            "seconds": round(time.perf_counter() - started, 3),
            "commit": workspace.store.tip().commit,
        }
    # A rebuild resets the file in place and deletes it only when it is unusable: a running
    # `tracker watch` runs this command and holds the file open, and a deleted file would
    # live on only inside that process.
    try:
        index = DuckIndex.open(path)
    except IndexUnavailable:
        if not rebuild:
            raise
        index = _replaced(path)
    try:
        try:
            report = sync(workspace, index, force_rebuild=rebuild, progress=progress)
        except IndexUnavailable:
            if not rebuild:
                raise
            index.close()
            index = _replaced(path)
            report = sync(workspace, index, force_rebuild=True, progress=progress)
        return {
            "path": str(path),
            "rebuilt": report.rebuilt,
            "files_read": report.files_read,
            "files_removed": report.files_removed,
            "versions_updated": report.versions_updated,
            "seconds": round(time.perf_counter() - started, 3),
            "commit": index.meta().get("commit") or None,
        }
    finally:
        index.close()


def _replaced(path: Path) -> DuckIndex:
    """A new, empty index file in place of an unusable one."""
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    return DuckIndex.open(path)
