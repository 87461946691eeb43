"""This clone's side of publishing to a team index: what changed since the last publish.

The local index keeps a copy of what it last published (`schema.PUBLISHED`): the files
with their blob and version, and the derived rows. A publish sends the rows of the files
whose blob or version differs from that copy, and the derived rows that differ from it,
then makes the copy match. Only the files and derived keys the syncs logged since
(`schema.CHANGE_LOG`) are compared, by a few lookups in the tables' indexes; a log that
says "anything may have changed" (a new or rebuilt index, a large sync) and a baseline
read from the team index (someone else published since) are compared whole, set-based
(tens of milliseconds at 100,000 items).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.index.duckdb_backend import SMALL_BATCH, DuckIndex
from tracker.index.schema import DERIVED, PUBLISHED, TABLES, replace_published

# The files to send (new, changed or gone since the baseline), compared set-based: they go
# to a scratch table (`gone` is true for a file no longer here). `{baseline}` is this
# clone's copy or the team index's files (a scratch table).
CHANGED = """
    CREATE OR REPLACE TEMP TABLE publishing AS
    SELECT f.file, false AS gone FROM files f LEFT JOIN versions v ON v.file = f.file
    LEFT JOIN {baseline} p ON p.file = f.file
    WHERE p.file IS NULL OR p.blob IS DISTINCT FROM f.blob
       OR p.version IS DISTINCT FROM v.version
    UNION ALL
    SELECT file, true AS gone FROM (SELECT file FROM {baseline} EXCEPT SELECT file FROM files)
"""
CURRENT_FILES = "SELECT f.file, f.blob, v.version FROM files f LEFT JOIN versions v USING (file)"
# a baseline table changed in more rows than this is made anew, faster than through its index
REPLACE_OVER = 5_000
Delta = tuple[list[tuple[Any, ...]], list[str]]  # (rows new or changed, keys gone)
Version = tuple[Any, Any]  # a file's (blob, version)
LOGGED_ROWS = ("files", "versions")  # read with the log: what both checks below need


@dataclass
class Log:
    """What the syncs logged since the last publish (None: anything may have changed),
    with the `files` and `versions` rows of the logged files."""

    files: list[str] | None
    keys: dict[str, set[str] | None]  # derived table -> keys
    rows: dict[str, list[tuple[Any, ...]]]


@dataclass
class Changes:
    """The files a publish sends: new, changed or gone since the baseline (sorted)."""

    files: list[str]
    # the (blob, version) of those still here when compared one by one (from the log);
    # None when compared set-based (the baseline copy is then made anew)
    current: dict[str, Version] | None
    rows: dict[str, list[tuple[Any, ...]]]  # rows of some tables, read already


def read_log(index: DuckIndex) -> Log:
    """The change log, and the rows of the files it names (two index lookups)."""
    connection = index.connection
    logged = connection.execute(
        "SELECT NULL, file FROM unpublished UNION ALL SELECT tbl, key FROM derived_touched"
    ).fetchall()
    # by table (None: the files), the keys logged; None once a NULL says "any"
    found: dict[str | None, set[str] | None] = {None: set(), **{table: set() for table in DERIVED}}
    for table, key in logged:
        keys = found.setdefault(table, set())
        if key is None:
            found[table] = None
        elif keys is not None:
            keys.add(key)
    files = found[None]
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in LOGGED_ROWS}
    if files:
        where, params = _among(sorted(files))
        for table in LOGGED_ROWS:
            columns = ", ".join(name for name, _ in TABLES[table])
            rows[table] = connection.execute(
                f"SELECT {columns} FROM {table} WHERE file {where}", params
            ).fetchall()
    derived = {table: found[table] for table in DERIVED}
    return Log(None if files is None else sorted(files), derived, rows)


def uncommitted_files(
    index: DuckIndex, in_head: Callable[[str], bool], log: Log | None = None
) -> list[str]:
    """Files edited, added or deleted in the work tree and not committed: a file whose blob
    is not HEAD's, or one HEAD holds (`in_head`) that the work tree lacks (no `files` row).
    `versions` names every file the first-parent history changed, the ones a commit
    deleted too (their version is that commit), so only HEAD tells which are missing.

    Once this index has published, only the files logged since (`log`, read when not
    given) are looked at: it published with nothing uncommitted, and a file's rows change
    whenever its state can."""
    log = log or read_log(index)
    if log.files is None:
        dirty = index.rows("SELECT file FROM files WHERE blob IS DISTINCT FROM head_blob")
        absent = index.rows("SELECT file FROM versions EXCEPT SELECT file FROM files")
        found = {row["file"] for row in dirty}
        found.update(row["file"] for row in absent if in_head(row["file"]))
        return sorted(found)
    blob, head_blob = _column("files", "blob"), _column("files", "head_blob")
    here = {row[0] for row in log.rows["files"]}
    found = {row[0] for row in log.rows["files"] if row[blob] != row[head_blob]}
    found.update(row[0] for row in log.rows["versions"] if row[0] not in here and in_head(row[0]))
    return sorted(found)


def changed_files(
    index: DuckIndex,
    team_files: Sequence[tuple[str, str | None, str | None]] | None,
    log: Log,
) -> Changes:
    """The files to send since the baseline: this clone's copy (`team_files` None), for the
    files logged since it was made, or what the team index holds, compared whole."""
    if team_files is None and log.files is not None:
        return _changed_among(index, log)
    baseline = "published_files" if team_files is None else replace_baseline(index, team_files)
    connection = index.connection
    connection.execute(CHANGED.format(baseline=baseline))
    if team_files is not None:
        connection.execute(f"DROP TABLE {baseline}")
    sent = connection.execute("SELECT file FROM publishing ORDER BY file").fetchall()
    return Changes([row[0] for row in sent], None, {})


def replace_baseline(
    index: DuckIndex, team_files: Sequence[tuple[str, str | None, str | None]]
) -> str:
    """A team index's (file, blob, version) as the baseline (someone else published since
    this clone did), loaded into a scratch table; its name. This clone's copy is made anew
    only once the publish is done (`record_published`)."""
    columns = PUBLISHED["published_files"]
    body = ", ".join(f"{name} {kind}" for name, kind in columns)
    index.connection.execute(f"CREATE OR REPLACE TEMP TABLE team_files ({body})")
    held = [{"file": file, "blob": blob, "version": version} for file, blob, version in team_files]
    index.insert_rows("team_files", held, columns)
    return "team_files"


def table_rows(index: DuckIndex, table: str, changes: Changes) -> list[tuple[Any, ...]]:
    """The rows of `table` from the files to send, columns in `TABLES` order (JSON as
    text)."""
    files = changes.files
    if not files:
        return []
    sent = set(files)
    if table in changes.rows:
        return [row for row in changes.rows[table] if row[0] in sent]
    if table != "versions" and "files" in changes.rows:
        # what the `files` rows read already tell: gone files have no rows, valid ones no
        # problems
        valid = _column("files", "valid")
        here = [row for row in changes.rows["files"] if row[0] in sent]
        if not here or (table == "problems" and all(row[valid] for row in here)):
            return []
    columns = ", ".join(name for name, _ in TABLES[table])
    where, params = _among(files)
    return index.connection.execute(
        f"SELECT {columns} FROM {table} WHERE file {where}", params
    ).fetchall()


def derived_changes(index: DuckIndex, table: str, log: Log) -> Delta:
    """(rows of derived `table` new or different from this clone's copy, keys gone since),
    for the keys logged since the copy was made."""
    names = [name for name, _ in DERIVED[table]]
    columns, key, copy = ", ".join(names), names[0], f"published_{table}"
    run = index.connection.execute
    logged = log.keys[table]
    if logged is None:  # any key may have changed: compared whole
        changed = run(f"SELECT {columns} FROM {table} EXCEPT SELECT {columns} FROM {copy}")
        gone = run(f"SELECT {key} FROM {copy} EXCEPT SELECT {key} FROM {table}").fetchall()
        return changed.fetchall(), [row[0] for row in gone]
    if not logged:
        return [], []
    where, params = _among(sorted(logged))
    now = run(f"SELECT {columns} FROM {table} WHERE {key} {where}", params).fetchall()
    was = set(run(f"SELECT {columns} FROM {copy} WHERE {key} {where}", params).fetchall())
    here = {row[0] for row in now}
    return [row for row in now if row not in was], sorted({row[0] for row in was} - here)


def derived_rows(index: DuckIndex, table: str) -> list[tuple[Any, ...]]:
    columns = ", ".join(name for name, _ in DERIVED[table])
    return index.connection.execute(f"SELECT {columns} FROM {table}").fetchall()


def record_published(
    index: DuckIndex,
    changes: Changes,
    meta: dict[str, str | None],
    derived: dict[str, Delta] | None,
) -> None:
    """Make the baseline what was just published, with `meta`, and empty the change log, in
    one transaction: the files sent (`changes`) and the `derived` deltas sent (None:
    everything was compared with the team index's baseline, and the copy is made anew)."""
    connection = index.connection
    run = connection.execute
    replaced = 0
    run("BEGIN TRANSACTION")
    try:
        current = changes.current
        if derived is None or current is None or len(changes.files) > REPLACE_OVER:
            for statement in replace_published("published_files", CURRENT_FILES):
                run(statement)
            replaced += 1
        elif changes.files:
            where, params = _among(changes.files)
            run(f"DELETE FROM published_files WHERE file {where}", params)
            rows = [
                {"file": file, "blob": blob, "version": version}
                for file, (blob, version) in current.items()
            ]
            index.insert_rows("published_files", rows, PUBLISHED["published_files"])
        for table, columns in DERIVED.items():
            copy, key = f"published_{table}", columns[0][0]
            changed, gone = derived[table] if derived is not None else ([], [])
            if derived is None or len(changed) + len(gone) > REPLACE_OVER:
                names = ", ".join(name for name, _ in columns)
                for statement in replace_published(copy, f"SELECT {names} FROM {table}"):
                    run(statement)
                replaced += 1
                continue
            if changed or gone:
                where, params = _among([row[0] for row in changed] + gone)
                run(f"DELETE FROM {copy} WHERE {key} {where}", params)
            if changed:
                named = [
                    dict(zip((name for name, _ in columns), row, strict=True)) for row in changed
                ]
                index.insert_rows(copy, named, columns)
        index.empty_logs()
        index.set_meta(meta)
        run("COMMIT")
    except BaseException:
        run("ROLLBACK")
        raise
    if replaced:
        index.checkpoint()


def _changed_among(index: DuckIndex, log: Log) -> Changes:
    """Of the logged files, those whose blob or version differs from this clone's copy."""
    logged = log.files or []
    if not logged:
        return Changes([], {}, log.rows)
    blob_at, version_at = _column("files", "blob"), _column("versions", "version")
    versions = {row[0]: row[version_at] for row in log.rows["versions"]}
    current = {row[0]: (row[blob_at], versions.get(row[0])) for row in log.rows["files"]}
    where, params = _among(logged)
    was = {
        file: (blob, version)
        for file, blob, version in index.connection.execute(
            f"SELECT file, blob, version FROM published_files WHERE file {where}", params
        ).fetchall()
    }
    files = sorted(file for file in set(current) | set(was) if current.get(file) != was.get(file))
    return Changes(files, {file: current[file] for file in files if file in current}, log.rows)


def _column(table: str, name: str) -> int:
    return [column for column, _ in TABLES[table]].index(name)


def _among(values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`IN (...)` for these values: bound one by one when few (DuckDB then looks each up
    in the column's index), else as one list."""
    if len(values) <= SMALL_BATCH:
        return "IN (" + ", ".join("?" for _ in values) + ")", list(values)
    return "IN (SELECT unnest(?))", [list(values)]
