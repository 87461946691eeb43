"""The embedded index: one DuckDB file inside the git directory. The only duckdb importer.

Rows arrive in batches and are loaded set-based through newline-delimited JSON
(`read_json`): DuckDB inserts 100,000 rows that way in well under a second,
where row-by-row inserts would take minutes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tracker.errors import TrackerError
from tracker.index import derived
from tracker.index.rows import Rows, encode_row
from tracker.index.schema import (
    ITEM_FOLDERS,
    LOG_LIMIT,
    SCHEMA_VERSION,
    TABLES,
    create_statements,
    tables_of,
)

LOCK_WAIT_SECONDS = 3.0
# Tables whose rows come from a file's content; versions come from history instead.
SPILL_FOLDER = Path(tempfile.gettempdir()) / "tracker-duckdb"
RECORD_TABLES = tuple(name for name in TABLES if name != "versions")
# Files (or rows): up to this many, statements with bound values beat a scratch table, and
# the derived tables are refreshed for the touched items only.
SMALL_BATCH = 64
LOG_CHECKS = 100  # syncs between two looks at the size of the change log


class QueryRefused(TrackerError):
    kind = "query"


class IndexUnavailable(TrackerError):
    """The index cannot be used right now (locked, corrupt): answer from the files instead."""


class IndexLocked(IndexUnavailable):
    """Another process holds the index beyond the short wait."""


class IndexBroken(IndexUnavailable):
    """The index opened but failed while being read or written (a corrupt block, a
    missing table): it holds nothing the files do not, so it is discarded and rebuilt."""


@dataclass
class Batch:
    """One sync's worth of changes: files whose rows go, and the rows that come."""

    removed: set[str] = field(default_factory=set)  # files whose rows are deleted first
    rows: Rows = field(default_factory=dict)
    versions_removed: set[str] = field(default_factory=set)  # files whose version is redone
    # rows already encoded as JSON lines (by parse workers), loaded like `rows`
    encoded: dict[str, list[str]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)  # the `files` rows that come
    clean: set[str] = field(default_factory=set)  # removed files known to have no problems

    def add(self, rows: Rows) -> None:
        for table, table_rows in rows.items():
            self.rows.setdefault(table, []).extend(table_rows)
        self.files.extend(rows.get("files", ()))

    def add_encoded(self, encoded: dict[str, list[str]], files: list[dict[str, Any]]) -> None:
        for table, lines in encoded.items():
            self.encoded.setdefault(table, []).extend(lines)
        self.files.extend(files)

    def merge(self, other: Batch) -> None:
        """Take in another batch's rows (not what it removes)."""
        for table, rows in other.rows.items():
            self.rows.setdefault(table, []).extend(rows)
        self.add_encoded(other.encoded, other.files)

    def __bool__(self) -> bool:
        return (
            bool(self.removed or self.versions_removed)
            or any(self.rows.values())
            or any(self.encoded.values())
        )


@dataclass
class Applied:
    """What a sync's write changed beyond the rows of its files."""

    derived_changed: bool  # a place in the hierarchy, an open-dependency count
    problems_changed: bool  # a file's problems (it became valid or invalid, or still is)
    items_unchanged: bool = False  # the item files read again hold the same item states


# One DuckDB thread: the index's statements are small (a sync touches a few rows, a query
# reads a few through an index), and for them handing work to a second thread costs more
# than it saves: about a third of a point query's 0.45 ms, and CPU that a warm server's
# other calls want. Even `ready` and `list` at 100,000 items and a rebuild (whose parse
# workers keep the cores busy) were no slower with one.
THREADS = 1


class DuckIndex:
    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.connection = connection
        self.path = path
        self._logs_unchecked = 0  # syncs until the change log's size is looked at
        # the change log holds "any file may have changed" (so files need not be logged):
        # learnt on the first sync, the only writer being this process
        self._logged_everything = False

    @classmethod
    def open(cls, path: Path | None, read_only: bool = False) -> DuckIndex:
        """Open (creating) the index; a lock held by another process is waited on briefly."""
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexUnavailable(f"index {path} unavailable: {exc}") from exc
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                config: dict[str, str | bool | int | float | list[str]] = {"threads": THREADS}
                if path is None:  # spill to the system's temp folder, not to `.tmp/` in the
                    config["temp_directory"] = str(SPILL_FOLDER)  # user's working directory
                connection = duckdb.connect(
                    str(path) if path else ":memory:", read_only=read_only, config=config
                )
                break
            except duckdb.Error as exc:  # locked, or a truncated or foreign file
                if not _is_lock_error(exc):
                    raise IndexUnavailable(f"index {path} unreadable: {_first_line(exc)}") from exc
                if time.monotonic() > deadline:
                    raise IndexLocked(f"index {path} is locked: {_first_line(exc)}") from exc
                time.sleep(0.02)
        index = cls(connection, path)
        try:
            # times come back in UTC whatever the machine's zone, as a team index gives them
            connection.execute("SET TimeZone = 'UTC'")
            if index.schema_version() != SCHEMA_VERSION and not read_only:
                index.reset()
        except (duckdb.Error, IndexUnavailable) as exc:
            connection.close()
            message = exc.message if isinstance(exc, IndexUnavailable) else _first_line(exc)
            raise IndexUnavailable(f"index {path} unreadable: {message}") from exc
        return index

    def close(self) -> None:
        self.connection.close()

    def checkpoint(self) -> None:
        """Write the log of recent changes into the file now, after a large change: else
        the next small write's commit pays for it. Skipped while another cursor reads."""
        with suppress(duckdb.Error):
            self.connection.execute("CHECKPOINT")

    # -- schema and bookkeeping ------------------------------------------------------------

    def schema_version(self) -> int | None:
        try:
            row = self.connection.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        except duckdb.CatalogException:
            return None
        try:
            return int(row[0]) if row else None
        except (TypeError, ValueError):
            return None

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """DuckDB failures of the index file mean a broken file, which is rebuilt; an
        in-memory index is built from scratch each time, so its failures are bugs."""
        try:
            yield
        except duckdb.Error as exc:
            if self.path is None:
                raise
            raise IndexBroken(f"index {self.path} is broken: {_first_line(exc)}") from exc

    def reset(self) -> None:
        """Drop everything and create the current schema (an empty index)."""
        with self._guarded():
            self._reset()

    def _reset(self) -> None:
        # one transaction: all or nothing, and one commit instead of one per statement
        # (half the time of a rebuild's reset)
        connection = self.connection
        connection.execute("BEGIN TRANSACTION")
        try:
            tables = connection.execute(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_schema = 'main'"
            ).fetchall()
            for name, kind in tables:
                keyword = "VIEW" if kind == "VIEW" else "TABLE"
                connection.execute(f"DROP {keyword} IF EXISTS {name} CASCADE")
            for statement in create_statements():
                connection.execute(statement)
            self.set_meta({"schema_version": str(SCHEMA_VERSION)})
            connection.execute("COMMIT")
            self._logged_everything = True  # a new index: nothing published from it yet
        except BaseException:
            with suppress(duckdb.Error):
                connection.execute("ROLLBACK")
            self._logged_everything = False
            raise

    def meta(self) -> dict[str, str]:
        with self._guarded():
            return dict(self.connection.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, str | None]) -> None:
        # an UPDATE per key costs a third of an upsert (DuckDB's conflict check is slow);
        # a key not there yet is inserted
        for key, value in values.items():
            if value is None:
                self.connection.execute("DELETE FROM meta WHERE key = ?", [key])
                continue
            updated = self.connection.execute(
                "UPDATE meta SET value = ? WHERE key = ?", [value, key]
            ).fetchone()
            if not updated or not updated[0]:
                self.connection.execute("INSERT INTO meta VALUES (?, ?)", [key, value])

    # -- writing -----------------------------------------------------------------------------

    def apply(self, batch: Batch, meta: dict[str, str | None]) -> Applied:
        """Replace the rows of the batch's files and refresh what is derived, atomically."""
        with self._guarded():
            return self._apply(batch, meta)

    def _apply(self, batch: Batch, meta: dict[str, str | None]) -> Applied:
        connection = self.connection
        connection.execute("BEGIN TRANSACTION")
        try:
            item_files = sorted(f for f in batch.removed if _folder(f) in ITEM_FOLDERS)
            small = len(batch.removed) <= SMALL_BATCH
            before = derived.item_state(self._run, item_files) if small else None
            after = (  # compared with `before` only: not worked out for a large batch
                None
                if before is None
                else derived.new_state(batch.rows.get("items", []), batch.rows.get("deps", []))
            )
            undeleted: tuple[str, ...] = ()  # tables with no rows of these files to delete
            kept: tuple[str, ...] = ()  # tables whose rows of these files stay as they are
            if before is not None and item_files == sorted(batch.removed):
                if derived.without_dependencies(before):
                    undeleted = ("deps",)  # they had none
                elif len(item_files) == 1 and derived.same_dependencies(before, after):
                    undeleted = kept = ("deps",)  # one item, its dependencies as they were
            tables: tuple[str, ...] = ()
            if batch.removed:
                tables = tables_of(batch.removed, RECORD_TABLES)
                if batch.clean >= batch.removed:
                    tables = tuple(t for t in tables if t != "problems")
                tables = tuple(t for t in tables if t not in undeleted)
                self._delete_files(batch.removed, tables)
            if batch.versions_removed:
                self._delete_files(batch.versions_removed, ("versions",))
            self._log_unpublished(batch.removed | batch.versions_removed)
            self._load_batch(batch, skip=kept)
            derived_changed = bool(batch)
            if before is not None:
                some = None if after is None else derived.refresh_some(self._run, before, after)
                derived_changed = some is not False
                if some is None:
                    derived.refresh_all(self._run)
            elif batch:
                derived.refresh_all(self._run)
            if meta:
                self.set_meta(meta)
            connection.execute("COMMIT")
            problems_changed = "problems" in tables or bool(batch.rows.get("problems"))
            return Applied(derived_changed, problems_changed, after is not None and before == after)
        except BaseException:
            with suppress(duckdb.Error):  # a failed COMMIT has already ended it
                connection.execute("ROLLBACK")
            self._logged_everything = False  # what the log holds now: not sure, so log
            raise

    @contextmanager
    def bulk(self, meta: dict[str, str | None]) -> Iterator[Callable[[Batch], None]]:
        """Fill an empty index in one transaction, batch by batch as they come (a rebuild
        loads while its files are still being parsed); the derived tables and `meta` are
        written at the end, and nothing is visible before the commit."""
        with self._guarded():
            connection = self.connection
            connection.execute("BEGIN TRANSACTION")
            try:

                def load(batch: Batch) -> None:
                    with self._guarded():
                        self._load_batch(batch)

                yield load
                derived.refresh_all(self._run)
                self._log_unpublished(None)
                self.set_meta(meta)
                connection.execute("COMMIT")
            except BaseException:
                with suppress(duckdb.Error):
                    connection.execute("ROLLBACK")
                self._logged_everything = False
                raise

    def _load_batch(self, batch: Batch, skip: tuple[str, ...] = ()) -> None:
        for table, rows in batch.rows.items():
            if rows and table not in skip:
                self._load(table, rows)
        for table, lines in batch.encoded.items():
            if lines:
                self._load_lines(table, lines)

    def _log_unpublished(self, files: set[str] | None) -> None:
        """Note files whose `files` or `versions` rows change (None: any file may have), for
        the next publish (schema.CHANGE_LOG)."""
        if files is not None and not files:
            return
        if files is None or len(files) >= LOG_LIMIT:
            self._unpublished_all()
        elif not self._logged_everything:  # else the next publish compares every file anyway
            self.connection.execute(
                "INSERT INTO unpublished SELECT unnest(?::VARCHAR[])", [sorted(files)]
            )
        self._logs_unchecked -= 1
        if self._logs_unchecked < 0:
            self._trim_logs()

    def _trim_logs(self) -> None:
        """A change log grown past LOG_LIMIT rows (no publish for long) comes to say
        "anything may have changed": it stays small, and the next publish compares all.
        Looked at on a connection's first sync, then every LOG_CHECKS syncs."""
        sizes = self.connection.execute(
            "SELECT NULL, count(*), count(*) FILTER (WHERE file IS NULL) FROM unpublished "
            "UNION ALL SELECT tbl, count(*), 0 FROM derived_touched GROUP BY tbl"
        ).fetchall()
        for table, size, everything in sizes:
            if table is None:
                self._logged_everything = everything > 0
            if size <= LOG_LIMIT:
                continue
            if table is None:
                self._unpublished_all()
            else:
                derived.touched_all(self._run, table)
        self._logs_unchecked = LOG_CHECKS

    def _unpublished_all(self) -> None:
        """Log that any file may have changed (the next publish compares all)."""
        self.connection.execute("DELETE FROM unpublished")
        self.connection.execute("INSERT INTO unpublished VALUES (NULL)")
        self._logged_everything = True

    def empty_logs(self) -> None:
        """A publish sent what the change logs named: they start again, empty."""
        self.connection.execute("DELETE FROM unpublished; DELETE FROM derived_touched")
        self._logged_everything = False

    def _run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params)).fetchall()

    def _delete_files(self, files: Iterable[str], tables: Iterable[str]) -> None:
        values = sorted(files)
        if len(values) <= SMALL_BATCH:
            marks = ", ".join("?" for _ in values)
            for table in tables:
                self.connection.execute(f"DELETE FROM {table} WHERE file IN ({marks})", values)
            return
        self.connection.execute("CREATE OR REPLACE TEMP TABLE gone (file VARCHAR)")
        self._load("gone", [{"file": f} for f in values], columns=(("file", "VARCHAR"),))
        for table in tables:
            self.connection.execute(f"DELETE FROM {table} WHERE file IN (SELECT file FROM gone)")

    def insert_rows(
        self,
        table: str,
        rows: Sequence[dict[str, Any]],
        columns: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        """Append rows (set-based when there are many) to any table of the index."""
        if not rows:
            return
        with self._guarded():
            self._load(table, rows, columns)

    def _load(
        self,
        table: str,
        rows: Sequence[dict[str, Any]],
        columns: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        columns = columns or TABLES[table]
        names = ", ".join(c for c, _ in columns)
        if len(rows) <= SMALL_BATCH:
            # a few rows: bound parameters beat writing and reading a scratch file
            marks = "(" + ", ".join("?" for _ in columns) + ")"
            values = [_bound(row.get(c), t) for row in rows for c, t in columns]
            self.connection.execute(
                f"INSERT INTO {table} ({names}) VALUES " + ", ".join(marks for _ in rows), values
            )
            return
        if table in TABLES:
            lines = [encode_row(table, row) for row in rows]
        else:
            lines = [json.dumps({c: row.get(c) for c, _ in columns}) for row in rows]
        self._load_lines(table, lines, columns)

    def _load_lines(
        self,
        table: str,
        lines: Sequence[str],
        columns: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        """Rows encoded as JSON lines, loaded set-based through a scratch file."""
        columns = columns or TABLES[table]
        names = ", ".join(c for c, _ in columns)
        fd, name = tempfile.mkstemp(prefix="tracker-index-", suffix=".jsonl")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines))
                handle.write("\n")
            spec = ", ".join(f"'{c}': '{t}'" for c, t in columns)
            self.connection.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM read_json(?, "
                f"columns = {{{spec}}}, format = 'newline_delimited')",
                [name],
            )
        finally:
            os.unlink(name)

    # -- reading -----------------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._guarded():
            return self._rows(sql, params)

    def rows_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        with self._guarded():
            return [self._rows(sql, params) for sql, params in queries]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.connection.execute(sql, list(params))
        names = [column[0] for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def read_only_query(self, sql: str) -> list[dict[str, Any]]:
        """Run user SQL that only reads: one SELECT (or an EXPLAIN of one), told apart by
        DuckDB's own parser; anything else is refused before it runs. It runs in a
        transaction that is rolled back, so even a side effect the parser let through
        never reaches the index."""
        if not _is_single_select(sql):
            raise QueryRefused("only a single read-only SELECT statement is allowed")
        connection = self.connection
        connection.execute("BEGIN TRANSACTION")
        try:
            return self._rows(sql)
        except duckdb.Error as exc:
            raise QueryRefused(_first_line(exc)) from exc
        finally:
            with suppress(duckdb.Error):
                connection.execute("ROLLBACK")


EXPLAIN = re.compile(r"\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^)]*\)\s*)?(?P<inner>.*)", re.I | re.S)


def _is_single_select(sql: str) -> bool:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"not valid SQL: {_first_line(exc)}") from exc
    if len(statements) != 1:
        return False
    if statements[0].type == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs the statement it explains: only a SELECT may be explained
        found = EXPLAIN.match(sql)
        return found is not None and _is_single_select(found["inner"])
    return bool(statements[0].type == duckdb.StatementType.SELECT)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _is_lock_error(exc: BaseException) -> bool:
    """DuckDB's own wording for a file another process holds (the path may say "lock" too)."""
    text = str(exc)
    return "Could not set lock on file" in text or "Conflicting lock is held" in text


def _folder(file: str) -> str:
    return file.split("/", 1)[0]


def _bound(value: Any, sql_type: str) -> Any:
    """A row value as a bound parameter: JSON columns take their text."""
    if sql_type == "JSON" and value is not None:
        return json.dumps(value)
    return value
