"""Keeping the index fresh: every query first syncs what changed since the index was built.

The index records the commit it reflects and the stat data of every file it read.
A sync diffs the indexed commit's tree against HEAD's (skipping unchanged
subtrees), compares the work tree's stat data, re-reads only the files that
changed, and keeps versions up to date from the new commits alone. A missing,
corrupt or outdated index is rebuilt; one locked by another process beyond a
short wait is bypassed by answering from the files.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from tracker.index.duckdb_backend import Batch, DuckIndex, IndexUnavailable
from tracker.index.rows import Rows, record_rows
from tracker.index.schema import SCHEMA_VERSION
from tracker.model.kinds import kind_for_path, record_as_data
from tracker.model.parse import parse_bytes
from tracker.service.workspace import Workspace
from tracker.store.changes import (
    BlobChange,
    FileStat,
    diff_commits,
    is_ancestor,
    scan_work_tree,
    tree_files,
    versions,
)

PARALLEL_PARSE = 400  # files; below this a process pool costs more than it saves


@dataclass
class Answer:
    """An open, fresh index plus where the answer comes from and what degraded it."""

    index: DuckIndex
    data_source: str  # index | rebuilt | files | git
    warnings: list[str] = field(default_factory=list)
    commit: str | None = None

    def envelope(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "data_source": self.data_source, "warnings": self.warnings}


@dataclass
class SyncReport:
    files_read: int = 0
    files_removed: int = 0
    versions_updated: int = 0
    rebuilt: bool = False


def index_path(workspace: Workspace) -> Path:
    """Inside the git directory (never committed); one file per tracker root."""
    git_dir = Path(workspace.store.repo.path)
    prefix = workspace.store.prefix
    name = (
        "index.duckdb"
        if prefix == ".tracker"
        else f"index-{zlib.crc32(prefix.encode()):08x}.duckdb"
    )
    return git_dir / "tracker" / name


@contextmanager
def fresh_index(workspace: Workspace, at: str | None = None) -> Iterator[Answer]:
    """A synced index for one query (or, with `at`, one built from that commit)."""
    if at is not None:
        commit = workspace.store.resolve(at)
        index = DuckIndex.open(None)
        try:
            _build_from_commit(workspace, index, commit)
            yield Answer(index, "git", [], commit)
        finally:
            index.close()
        return
    answer = _open_synced(workspace)
    try:
        yield answer
    finally:
        answer.index.close()


def _open_synced(workspace: Workspace) -> Answer:
    path = index_path(workspace)
    existed = path.exists()
    warnings: list[str] = []
    try:
        index = DuckIndex.open(path)
    except IndexUnavailable as exc:
        if "lock" in exc.message.lower():
            index = DuckIndex.open(None)
            sync(workspace, index)
            return Answer(index, "files", [f"{exc.message}; answered from the files"])
        path.unlink(missing_ok=True)  # corrupt: it holds nothing the files do not
        Path(str(path) + ".wal").unlink(missing_ok=True)
        warnings.append(f"{exc.message}; rebuilt it")
        index = DuckIndex.open(path)
        existed = False
    report = sync(workspace, index)
    source = "rebuilt" if (report.rebuilt or not existed) else "index"
    return Answer(index, source, warnings, index.meta().get("commit") or None)


def sync(workspace: Workspace, index: DuckIndex, force_rebuild: bool = False) -> SyncReport:
    """Bring the index up to date with HEAD and the work tree; see the module docstring."""
    store = workspace.store
    meta = index.meta()
    report = SyncReport()
    tip = store.tip().commit
    indexed = meta.get("commit") or None
    rebuild = force_rebuild or meta.get("root") != store.prefix or "commit" not in meta
    if indexed is not None and not _exists(workspace, indexed):
        rebuild = True  # its commit is gone (gc after a rebase): start over
    if rebuild:
        index.reset()
        indexed, known = None, {}
        report.rebuilt = True
    else:
        known = _known_files(index)

    committed: list[BlobChange] = diff_commits(store, indexed, tip) if indexed != tip else []
    head_blobs = {row["file"]: row["head_blob"] for row in known.values()}
    for change in committed:
        head_blobs[change.path] = change.new

    work_tree = scan_work_tree(workspace.root)
    to_read: dict[str, FileStat] = {}
    for path, stat in work_tree.items():
        row = known.get(path)
        if row is None or (row["mtime_ns"], row["size"]) != (stat.mtime_ns, stat.size):
            to_read[path] = stat
        elif row["head_blob"] != head_blobs.get(path):
            to_read[path] = stat  # same content, but its dirty flag changes
    gone = {path for path in known if path not in work_tree}

    batch = Batch(removed=set(to_read) | gone)
    batch.add(_read_files(workspace, to_read, head_blobs))
    report.files_read, report.files_removed = len(to_read), len(gone)

    # Versions: from the new commits only when HEAD moved forward; by a targeted history
    # walk for the changed files after a reset or a branch switch.
    if indexed is None:
        found = versions(store, tip)
    elif indexed == tip:
        found = {}
    elif tip is not None and is_ancestor(store, indexed, tip):
        found = versions(store, tip, stop_at=indexed)
    else:
        wanted = {c.path for c in committed if c.new is not None}
        found = versions(store, tip, wanted=wanted) if wanted else {}
    batch.versions_removed = set(found) | {c.path for c in committed if c.new is None}
    batch.add(
        {
            "versions": [
                {
                    "file": path,
                    "version": info.sha,
                    "author": info.author,
                    "changed_at": info.time.isoformat(),
                }
                for path, info in found.items()
            ]
        }
    )
    report.versions_updated = len(found)
    index.apply(
        batch, {"commit": tip or "", "root": store.prefix, "schema_version": str(SCHEMA_VERSION)}
    )
    return report


def _exists(workspace: Workspace, sha: str) -> bool:
    try:
        workspace.store.repo[sha].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return False
    return True


def _known_files(index: DuckIndex) -> dict[str, dict[str, Any]]:
    return {
        row["file"]: row
        for row in index.rows("SELECT file, blob, head_blob, mtime_ns, size FROM files")
    }


def _read_files(
    workspace: Workspace, stats: dict[str, FileStat], head_blobs: dict[str, str | None]
) -> Rows:
    jobs = [(path, str(workspace.root / path), workspace.display(path)) for path in sorted(stats)]
    if len(jobs) >= PARALLEL_PARSE:
        size = max(50, len(jobs) // 16)
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        with ProcessPoolExecutor(max_workers=2) as pool:
            parsed = [row for chunk in pool.map(_parse_chunk, chunks) for row in chunk]
    else:
        parsed = _parse_chunk(jobs)
    rows: Rows = {}
    for path, blob, file_rows in parsed:
        stat = stats[path]
        file_rows.setdefault("files", []).append(
            {
                "file": path,
                "kind": path.split("/")[0],
                "key": path.rsplit("/", 1)[-1][:-5],
                "blob": blob,
                "head_blob": head_blobs.get(path),
                "mtime_ns": stat.mtime_ns,
                "size": stat.size,
                "valid": not file_rows.get("problems"),
            }
        )
        for table, table_rows in file_rows.items():
            rows.setdefault(table, []).extend(table_rows)
    return rows


def _parse_chunk(jobs: list[tuple[str, str, str]]) -> list[tuple[str, str, Rows]]:
    out = []
    for path, absolute, shown in jobs:
        try:
            with open(absolute, "rb") as handle:
                raw = handle.read()
        except OSError:
            raw = b""
        out.append((path, str(pygit2.hash(raw)), parse_file(path, shown, raw)))
    return out


def parse_file(path: str, shown: str, raw: bytes) -> Rows:
    """Rows for one file's content: its records when valid, its problems when not."""
    kind = kind_for_path(path)
    if kind is None:
        return {
            "problems": [{"file": path, "line": 0, "field": "", "message": "not a tracker file"}]
        }
    record, problems = parse_bytes(raw, shown, kind)
    if record is None or problems:
        return {
            "problems": [
                {"file": path, "line": p.line, "field": p.field, "message": p.message}
                for p in problems
            ]
        }
    return record_rows(path, kind.folder, record_as_data(record))


def _build_from_commit(workspace: Workspace, index: DuckIndex, commit: str) -> None:
    """An index of a past commit, read from git alone (for --at)."""
    store = workspace.store
    index.reset()
    files = tree_files(store, commit)
    batch = Batch()
    for path, blob in sorted(files.items()):
        rows = parse_file(path, f"{commit[:12]}:{path}", store.read_blob(blob))
        rows.setdefault("files", []).append(
            {
                "file": path,
                "kind": path.split("/")[0],
                "key": path.rsplit("/", 1)[-1][:-5],
                "blob": blob,
                "head_blob": blob,
                "mtime_ns": 0,
                "size": 0,
                "valid": not rows.get("problems"),
            }
        )
        batch.add(rows)
    found = versions(store, commit, wanted=set(files))
    batch.add(
        {
            "versions": [
                {
                    "file": path,
                    "version": info.sha,
                    "author": info.author,
                    "changed_at": info.time.isoformat(),
                }
                for path, info in found.items()
            ]
        }
    )
    index.apply(batch, {"commit": commit, "root": store.prefix})
