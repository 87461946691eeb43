"""Reading record files into index rows: in this process for a few, in worker processes
for many (a rebuild), where the workers also encode the rows for DuckDB's bulk load so
that the parent only concatenates text."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pygit2

from tracker.index.duckdb_backend import Batch
from tracker.index.rows import Rows, encode_row, record_rows
from tracker.model.kinds import kind_for_path, record_as_data
from tracker.model.parse import parse_bytes
from tracker.store.changes import FileStat

PARALLEL_PARSE = 400  # files; below this a process pool costs more than it saves
# Files per worker task: each task's rows are one bulk load per table in the parent (a few
# ms each, whatever the size), so small trackers want few tasks; large ones want ~32, to
# keep loading and parsing overlapped.
MIN_TASK = 200
TASKS = 32
WORKERS = 2
READ_SIZE = 1 << 16  # a record file is a few KB: one read, and one more that finds the end
Progress = Callable[[int, int], None]  # (files read so far, files to read)
# (path, absolute path, path as shown in messages, blob at HEAD, mtime_ns, size); without
# stat data (a rebuild), the reader takes it from the file it opened
Job = tuple[str, str, str, str | None, int | None, int | None]
Encoded = dict[str, list[str]]  # table -> its rows as JSON lines


def read_files(
    root: Path,
    shown_base: str,
    stats: Mapping[str, FileStat | None],
    head_blobs: dict[str, str | None],
    progress: Progress | None = None,
    meanwhile: Callable[[], None] | None = None,
    sink: Callable[[Batch], None] | None = None,
) -> Batch:
    """The rows of the given work-tree files (their content, or their problems), and their
    `files` rows. `shown_base` + path is how a path appears in messages. `meanwhile` runs
    in this process while the workers parse; with `sink`, each worker's rows go there as
    they arrive (a bulk load overlapping the parsing) and the Batch returned holds only
    the `files` rows."""
    base = f"{root}/"
    jobs: list[Job] = [
        (
            path,
            base + path,
            shown_base + path,
            head_blobs.get(path),
            None if stat is None else stat.mtime_ns,
            None if stat is None else stat.size,
        )
        for path, stat in sorted(stats.items())
    ]
    batch = Batch()

    def deliver(part: Batch) -> None:
        if sink is None:
            batch.merge(part)
        else:
            sink(part)
            batch.files.extend(part.files)

    if len(jobs) < PARALLEL_PARSE:
        part = Batch()
        for job in jobs:
            part.add(_read_one(job))
        if progress is not None:
            progress(len(jobs), len(jobs))
        if meanwhile is not None:
            meanwhile()
        deliver(part)
        return batch
    size = max(MIN_TASK, len(jobs) // TASKS)
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    done = 0
    collecting = gc.isenabled()
    gc.disable()  # the rows collected here all live on: collections would only cost
    try:
        with ProcessPoolExecutor(max_workers=WORKERS) as pool:
            parts = pool.map(_read_encoded, chunks)  # every chunk is submitted here
            if meanwhile is not None:
                meanwhile()
            for files, encoded in parts:
                # `files` rows come as dicts, so the caller can still complete them
                part = Batch(rows={"files": files})
                part.add_encoded(encoded, files)
                deliver(part)
                done += len(files)
                if progress is not None:
                    progress(done, len(jobs))
    finally:
        if collecting:
            gc.enable()
    return batch


def _read_one(job: Job) -> Rows:
    path, absolute, shown, head_blob, mtime_ns, size = job
    try:
        # os.open and os.read: a buffered file object costs more than reading ~1 KB does
        fd = os.open(absolute, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if mtime_ns is None or size is None:
                info = os.fstat(fd)
                mtime_ns, size = info.st_mtime_ns, info.st_size
            raw = _read_all(fd)
        finally:
            os.close(fd)
    except OSError:
        raw = b""
    if mtime_ns is None or size is None:
        mtime_ns, size = 0, 0  # gone meanwhile: the next sync finds it missing
    rows = parse_file(path, shown, raw)
    rows["files"] = [file_row(path, str(pygit2.hash(raw)), head_blob, mtime_ns, size, rows)]
    return rows


def _read_all(fd: int) -> bytes:
    chunks = [os.read(fd, READ_SIZE)]
    while chunks[-1]:
        chunks.append(os.read(fd, READ_SIZE))
    return b"".join(chunks) if len(chunks) > 2 else chunks[0]


def _read_encoded(jobs: list[Job]) -> tuple[list[dict[str, object]], Encoded]:
    """In a worker: read and parse the files, and encode every row for the bulk load."""
    gc.disable()  # many small objects that all live until the end: collections only cost
    files: list[dict[str, object]] = []
    encoded: Encoded = {}
    for job in jobs:
        rows = _read_one(job)
        files.extend(rows.pop("files"))
        for table, table_rows in rows.items():
            encoded.setdefault(table, []).extend(encode_row(table, row) for row in table_rows)
    return files, encoded


def file_row(
    path: str, blob: str, head_blob: str | None, mtime_ns: int, size: int, rows: Rows
) -> dict[str, object]:
    """The `files` row: what the index knows of one file (its rows are `rows`)."""
    return {
        "file": path,
        "kind": path.split("/")[0],
        "key": path.rsplit("/", 1)[-1][:-5],
        "blob": blob,
        "head_blob": head_blob,
        "mtime_ns": mtime_ns,
        "size": size,
        "valid": not rows.get("problems"),
    }


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


def blob_rows(commit: str, files: Iterable[tuple[str, str, bytes]]) -> Batch:
    """The rows of files as a commit holds them: (path, blob id, content)."""
    batch = Batch()
    for path, blob, raw in files:
        rows = parse_file(path, f"{commit[:12]}:{path}", raw)
        rows["files"] = [file_row(path, blob, blob, 0, 0, rows)]
        batch.add(rows)
    return batch
