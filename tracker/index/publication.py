"""This clone's side of publishing to a team index: what changed since the last publish.

The local index keeps a copy of what it last published (`schema.PUBLISHED`): the files
with their blob and version, and the derived rows. A publish sends the rows of the files
whose blob or version differs from that copy, and the derived rows that differ from it,
then makes the copy match. Everything here is set-based SQL in the local index, so the
diff of a 100,000-item tracker costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tracker.index.duckdb_backend import DuckIndex
from tracker.index.schema import DERIVED, PUBLISHED, TABLES

# The files to send (new, changed or gone since the baseline) go to a scratch table that
# the statements below join: `gone` is true for a file no longer here.
CHANGED = """
    CREATE OR REPLACE TEMP TABLE publishing AS
    SELECT f.file, false AS gone FROM files f LEFT JOIN versions v ON v.file = f.file
    LEFT JOIN published_files p ON p.file = f.file
    WHERE p.file IS NULL OR p.blob IS DISTINCT FROM f.blob
       OR p.version IS DISTINCT FROM v.version
    UNION ALL
    SELECT file, true AS gone FROM (SELECT file FROM published_files EXCEPT SELECT file FROM files)
"""
CURRENT_FILES = "SELECT f.file, f.blob, v.version FROM files f LEFT JOIN versions v USING (file)"
Delta = tuple[list[tuple[Any, ...]], list[str]]  # (rows new or changed, keys gone)


def uncommitted_files(index: DuckIndex, in_head: Callable[[str], bool]) -> list[str]:
    """Files edited, added or deleted in the work tree and not committed: a file whose blob
    is not HEAD's, or one HEAD holds (`in_head`) that the work tree lacks (no `files` row).
    `versions` names every file the first-parent history changed, the ones a commit
    deleted too (their version is that commit), so only HEAD tells which are missing."""
    dirty = index.rows("SELECT file FROM files WHERE blob IS DISTINCT FROM head_blob")
    absent = index.rows("SELECT file FROM versions EXCEPT SELECT file FROM files")
    found = {row["file"] for row in dirty}
    found.update(row["file"] for row in absent if in_head(row["file"]))
    return sorted(found)


def replace_baseline(index: DuckIndex, files: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Take a team index's (file, blob, version) as the baseline: someone else published
    since this clone did, so the diff is against what the team index holds now (and its
    derived rows are sent whole)."""
    for table in PUBLISHED:
        index.connection.execute(f"DELETE FROM {table}")
    rows = [{"file": file, "blob": blob, "version": version} for file, blob, version in files]
    index.insert_rows("published_files", rows, PUBLISHED["published_files"])


def changed_files(index: DuckIndex) -> list[str]:
    """The files to send, new, changed or gone since the baseline (kept for the calls
    below until the next publish)."""
    index.connection.execute(CHANGED)
    rows = index.connection.execute("SELECT file FROM publishing ORDER BY file").fetchall()
    return [row[0] for row in rows]


def table_rows(index: DuckIndex, table: str) -> list[tuple[Any, ...]]:
    """The rows of `table` from the files to send, columns in `TABLES` order (JSON as text)."""
    columns = ", ".join(name for name, _ in TABLES[table])
    return index.connection.execute(
        f"SELECT {columns} FROM {table} WHERE file IN (SELECT file FROM publishing)"
    ).fetchall()


def derived_changes(index: DuckIndex, table: str) -> Delta:
    """(rows of derived `table` new or different from the baseline, keys gone since)."""
    columns = ", ".join(name for name, _ in DERIVED[table])
    key = DERIVED[table][0][0]
    copy = f"published_{table}"
    changed = index.connection.execute(
        f"SELECT {columns} FROM {table} EXCEPT SELECT {columns} FROM {copy}"
    ).fetchall()
    gone = index.connection.execute(
        f"SELECT {key} FROM {copy} EXCEPT SELECT {key} FROM {table}"
    ).fetchall()
    return changed, [row[0] for row in gone]


def derived_rows(index: DuckIndex, table: str) -> list[tuple[Any, ...]]:
    columns = ", ".join(name for name, _ in DERIVED[table])
    return index.connection.execute(f"SELECT {columns} FROM {table}").fetchall()


def record_published(
    index: DuckIndex, meta: dict[str, str | None], derived: dict[str, Delta] | None
) -> None:
    """Make the baseline what was just published, with `meta`: the files sent (the
    `publishing` table) and the `derived` deltas sent (None: every derived row was)."""
    connection = index.connection
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute(
            "DELETE FROM published_files WHERE file IN (SELECT file FROM publishing)"
        )
        connection.execute(
            f"INSERT INTO published_files SELECT * FROM ({CURRENT_FILES}) "
            "WHERE file IN (SELECT file FROM publishing WHERE NOT gone)"
        )
        for table, columns in DERIVED.items():
            copy, key = f"published_{table}", columns[0][0]
            if derived is None:
                connection.execute(f"DELETE FROM {copy}")
                connection.execute(f"INSERT INTO {copy} SELECT * FROM {table}")
                continue
            changed, gone = derived[table]
            keys = [[row[0]] for row in changed] + [[key_value] for key_value in gone]
            if keys:
                connection.executemany(f"DELETE FROM {copy} WHERE {key} = ?", keys)
            if changed:
                marks = ", ".join("?" for _ in columns)
                connection.executemany(f"INSERT INTO {copy} VALUES ({marks})", changed)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    index.set_meta(meta)
