"""The team index on PostgreSQL (psycopg 3): the only module that imports psycopg.

One database holds the published state of many repositories and branches, each a
`scope`. A connection reads one scope through temporary views named like the local
index's tables (`items`, `hierarchy`, ...), so the query layer's SQL runs here unchanged;
`?` placeholders become psycopg's `%s`. Each answer reads one state (one statement, or
one REPEATABLE READ snapshot begun by its first query), and each publish is one
transaction, so a reader never sees half a publish.
"""

from __future__ import annotations

import select
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import DiagnosticField, ExecStatus, TransactionStatus
from psycopg.pq.abc import PGconn, PGresult
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader

from tracker.index.backend import TeamIndexUnavailable
from tracker.index.duckdb_backend import QueryRefused
from tracker.index.pg_schema import BOOKKEEPING, MIGRATIONS
from tracker.index.schema import DERIVED, TABLES, VIEWS

CONNECT_TIMEOUT_SECONDS = 2
ROW_TABLES = {**TABLES, **DERIVED}
KNOWN_MIGRATIONS = [name for name, _ in MIGRATIONS]
SCOPE = "current_setting('tracker.scope')::integer"
SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# Ends a snapshot. A read-only transaction has nothing to undo, and psycopg drops every
# prepared statement of the connection after a ROLLBACK (it may have undone DDL they
# used): answers ended so would plan their statements anew each time.
END_SNAPSHOT = "COMMIT"
# The scope holding a commit (the columns of Scope, in order): one statement, so it reads
# one state on its own and an answer that needs no query (what its memo kept) costs this
# one round trip. Prepared on each connection as SCOPE_AT_NAME ($n: libpq's placeholders).
SCOPE_AT = b"""
    SELECT s.id, r.name AS repository, r.identity, s.branch, s.commit, s.token
    FROM tracker.scopes s JOIN tracker.repositories r ON r.id = s.repository
    WHERE r.identity = $1 AND s.commit = $2 AND ($3::text IS NULL OR s.branch = $3)
    ORDER BY s.branch LIMIT 1
"""
SCOPE_AT_NAME = b"tracker_scope_at"
NOT_PREPARED = b"26000"  # SQLSTATE invalid_sql_statement_name
# That scope, chosen for the rest of the transaction if it still holds the publish found
# (the same commit and token); else -1, which no scope is, so the views read nothing and
# never fail on a missing setting: the caller sees the scope moved and discards the rows.
SCOPE_STILL = """
    SELECT set_config('tracker.scope', coalesce((
        SELECT id FROM tracker.scopes
        WHERE id = %s AND commit = %s AND token IS NOT DISTINCT FROM %s
    ), -1)::text, true) AS chosen
"""


def shown_dsn(dsn: str) -> str:
    """The DSN without any password, for messages."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "(an unreadable DSN)"
    parts.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in sorted(parts.items()))


def has_password(dsn: str) -> bool:
    try:
        return "password" in conninfo_to_dict(dsn)
    except psycopg.Error:
        return False


class ScopeMoved(Exception):
    """A publish replaced the scope between finding it and the answer's first query: the
    answer is computed again (never a mix of two publishes)."""


@dataclass(frozen=True)
class Scope:
    id: int
    repository: str  # its display name
    identity: str
    branch: str
    commit: str | None
    token: str | None


class TeamIndex:
    def __init__(self, connection: psycopg.Connection[dict[str, Any]], dsn: str) -> None:
        self.connection = connection
        self.dsn = dsn
        self._views = False
        self._statements: dict[str, str] = {}
        # the scope of the answer being read whose snapshot its first query begins
        self._unread: Scope | None = None
        self._scope_at_prepared = False

    @classmethod
    def connect(cls, dsn: str, migrate: bool = False) -> TeamIndex:
        """Connect (waiting at most CONNECT_TIMEOUT_SECONDS) and check the schema: created or
        brought up to date when `migrate`, else one this version does not know is refused."""
        try:
            connection = psycopg.connect(
                dsn,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                autocommit=True,
                row_factory=dict_row,
                options="-c TimeZone=UTC",  # times come back as the local index gives them
            )
        except psycopg.Error as exc:
            raise TeamIndexUnavailable(
                f"team index ({shown_dsn(dsn)}) unreachable: {_first_line(exc)}"
            ) from exc
        # JSON as its text, as DuckDB gives it: the callers parse what they need
        connection.adapters.register_loader("json", TextLoader)
        team = cls(connection, dsn)
        try:
            team._check_schema(migrate)
        except BaseException:
            team.close()
            raise
        return team

    def close(self) -> None:
        with suppress(psycopg.Error):
            self.connection.close()

    def alive(self) -> bool:
        """Whether the server still answers on this connection (one round trip): one it
        ended (a restart, an idle timeout) looks open until it is used."""
        try:
            self.connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            # the server went away, a timeout, or what this role may not do (create the
            # schema in an empty team index, read a table): answered elsewhere, never a crash
            raise TeamIndexUnavailable(
                f"team index ({shown_dsn(self.dsn)}) failed: {_first_line(exc)}"
            ) from exc

    # -- schema ----------------------------------------------------------------------------

    def applied_migrations(self) -> list[str]:
        found = self.connection.execute("SELECT to_regclass('tracker.migrations') AS t")
        if (found.fetchone() or {}).get("t") is None:
            return []
        rows = self.connection.execute("SELECT name FROM tracker.migrations ORDER BY name")
        return [row["name"] for row in rows.fetchall()]

    def _check_schema(self, migrate: bool) -> None:
        with self._guarded():
            applied = self.applied_migrations()
            unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
            if unknown:
                raise TeamIndexUnavailable(
                    f"team index ({shown_dsn(self.dsn)}) has schema migrations this version "
                    f"does not know ({', '.join(unknown)}): upgrade tracker"
                )
            if applied == KNOWN_MIGRATIONS:
                return
            if not migrate:  # a reader never changes the schema
                state = "is of an older schema" if applied else "holds nothing yet"
                raise TeamIndexUnavailable(
                    f"team index ({shown_dsn(self.dsn)}) {state}: `tracker index publish` "
                    "sets it up"
                )
            self._migrate()

    def _migrate(self) -> None:
        with self.connection.transaction():
            # one migrator at a time; the others wait, then find nothing left to do
            self.connection.execute("SELECT pg_advisory_xact_lock(hashtext('tracker.schema'))")
            self.connection.execute(BOOKKEEPING)
            applied = set(self.applied_migrations())
            for name, statements in MIGRATIONS:
                if name not in applied:
                    self.connection.execute(statements)
                    self.connection.execute(
                        "INSERT INTO tracker.migrations (name) VALUES (%s)", [name]
                    )

    # -- scopes ----------------------------------------------------------------------------

    def scopes(self, identity: str | None = None, branch: str | None = None) -> list[Scope]:
        """Published scopes (of one repository, one branch), by repository name, branch."""
        sql = (
            "SELECT s.id, r.name AS repository, r.identity, s.branch, s.commit, s.token "
            "FROM tracker.scopes s JOIN tracker.repositories r ON r.id = s.repository "
            "WHERE s.commit IS NOT NULL"
        )
        params: list[Any] = []
        if identity is not None:
            sql += " AND r.identity = %s"
            params.append(identity)
        if branch is not None:
            sql += " AND s.branch = %s"
            params.append(branch)
        with self._guarded():
            rows = self.connection.execute(sql + " ORDER BY r.name, r.identity, s.branch", params)
            return [Scope(**row) for row in rows.fetchall()]

    def use_scope(self, scope: int) -> None:
        """Let the query layer's table names read `scope` on this connection."""
        with self._guarded():
            if not self._views:
                self._create_views()
            self.connection.execute("SELECT set_config('tracker.scope', %s, false)", [str(scope)])

    def _create_views(self) -> None:
        for name, columns in ROW_TABLES.items():
            listed = ", ".join(column for column, _ in columns)
            self.connection.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {listed} FROM tracker.{name} "
                f"WHERE scope = {SCOPE}"
            )
        for view in VIEWS:
            self.connection.execute(view.replace("CREATE VIEW", "CREATE OR REPLACE TEMP VIEW", 1))
        self._views = True

    # -- reading ---------------------------------------------------------------------------

    @contextmanager
    def reading(
        self, identity: str, commit: str, branch: str | None, snapshot_first: bool = False
    ) -> Iterator[Scope | None]:
        """The scope that holds `commit` of the repository (on `branch`, if given; else the
        first branch that does), for one answer that reads one state of it; None when no
        scope holds that commit.

        The scope is found by one statement; the answer's first query begins its snapshot
        (REPEATABLE READ) in the same round trip as the query, with the check that the
        scope still holds the publish found: if a publish replaced it meanwhile, that
        query raises ScopeMoved. `snapshot_first` begins the snapshot before finding the
        scope (one more round trip per answer), so it cannot move. The snapshot never
        outlives the answer: an idle transaction would hold back vacuum."""
        with self._guarded():
            if not self._views:
                self._create_views()
            try:
                self._unread = self._scope_at(identity, commit, branch, snapshot_first)
                yield self._unread
            finally:
                self._unread = None
                if self.connection.info.transaction_status != TransactionStatus.IDLE:
                    with suppress(psycopg.Error):
                        self.connection.execute(END_SNAPSHOT)

    def _scope_at(
        self, identity: str, commit: str, branch: str | None, snapshot_first: bool
    ) -> Scope | None:
        """SCOPE_AT through libpq's own calls: it runs on every team answer, and psycopg's
        cursor (adapting, preparing, making rows) costs as much as the round trip itself on
        a CPU whose caches went cold since the last answer (~0.25 ms of a vendor answer's
        ~0.75 measured)."""
        encoding = self.connection.info.encoding
        params = [
            None if value is None else value.encode(encoding)
            for value in (identity, commit, branch)
        ]
        pgconn = self.connection.pgconn
        with self.connection.lock:
            for attempt in range(2):
                if not self._scope_at_prepared:
                    pgconn.send_prepare(SCOPE_AT_NAME, SCOPE_AT)
                    _checked(_result(pgconn), encoding)
                    self._scope_at_prepared = True
                if snapshot_first:
                    pgconn.send_query(SNAPSHOT.encode())
                    _checked(_result(pgconn), encoding)
                pgconn.send_query_prepared(SCOPE_AT_NAME, params)
                found = _result(pgconn)
                if attempt or found.error_field(DiagnosticField.SQLSTATE) != NOT_PREPARED:
                    break
                # psycopg deallocates every prepared statement after a ROLLBACK (it may
                # have undone what they read): prepared again, outside any transaction
                self._scope_at_prepared = False
                if snapshot_first:
                    pgconn.send_query(b"ROLLBACK")
                    _result(pgconn)
        _checked(found, encoding)
        if not found.ntuples:
            return None

        def text(column: int) -> str:
            return bytes(found.get_value(0, column) or b"").decode(encoding)

        token = found.get_value(0, 5)
        return Scope(
            int(text(0)), text(1), text(2), text(3), text(4), None if token is None else text(5)
        )

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """The statements inside read one state of the database, whatever publishes meanwhile."""
        with self._guarded():
            self.connection.execute(SNAPSHOT)
            try:
                yield
            finally:
                with suppress(psycopg.Error):
                    self.connection.execute(END_SNAPSHOT)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._guarded():
            if self._unread is None:
                return self.connection.execute(self._placeholders(sql), list(params)).fetchall()
            (cursor,) = self._sent([(sql, params)])
            return cursor.fetchall()

    def rows_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        """Several queries in one round trip (psycopg's pipeline mode)."""
        with self._guarded():
            return [cursor.fetchall() for cursor in self._sent(queries)]

    def _sent(
        self, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[psycopg.Cursor[dict[str, Any]]]:
        """`queries` run in one round trip, after beginning the snapshot of the answer being
        read if this is its first query."""
        unread, self._unread = self._unread, None
        begin = self.connection.info.transaction_status == TransactionStatus.IDLE
        still = None
        with self.connection.pipeline():
            if unread is not None:
                if begin:
                    self.connection.execute(SNAPSHOT)
                still = self.connection.execute(
                    SCOPE_STILL, [unread.id, unread.commit, unread.token], prepare=True
                )
            cursors = [
                self.connection.execute(self._placeholders(sql), list(params))
                for sql, params in queries
            ]
        chosen = None if still is None else (still.fetchone() or {}).get("chosen")
        if unread is not None and chosen != str(unread.id):
            raise ScopeMoved(f"scope {unread.id} was published again while being read")
        return cursors

    def _placeholders(self, sql: str) -> str:
        found = self._statements.get(sql)
        if found is None:
            found = self._statements[sql] = sql.replace("%", "%%").replace("?", "%s")
        return found

    def read_only_query(self, sql: str) -> list[dict[str, Any]]:
        """User SQL, in a read-only transaction that is rolled back: Postgres itself refuses
        any write, and several statements at once are refused before they run."""
        if ";" in sql.strip().rstrip(";"):
            raise QueryRefused("only a single read-only SELECT statement is allowed")
        with self._guarded():
            if self._unread is not None:
                self._sent([])  # the answer's snapshot, begun
            self.connection.execute("SAVEPOINT user_query")
            try:
                return self.connection.execute(sql.strip().rstrip(";")).fetchall()
            except psycopg.Error as exc:
                if isinstance(exc, psycopg.OperationalError):
                    raise
                raise QueryRefused(_first_line(exc)) from exc
            finally:
                with suppress(psycopg.Error):
                    self.connection.execute("ROLLBACK TO SAVEPOINT user_query")

    # -- publishing ------------------------------------------------------------------------

    @contextmanager
    def publishing(self, identity: str, name: str, branch: str) -> Iterator[Publication]:
        """One transaction that holds the (repository, branch) scope: a second publisher of
        the same scope waits until this one commits, then sees what it wrote."""
        with self._guarded(), self.connection.transaction():
            # the name stays the first publisher's: clones differ in folder and remote names
            repository = self.connection.execute(
                "INSERT INTO tracker.repositories (identity, name) VALUES (%s, %s) "
                "ON CONFLICT (identity) DO UPDATE SET identity = EXCLUDED.identity RETURNING id",
                [identity, name],
            ).fetchone()
            assert repository is not None
            self.connection.execute(
                "INSERT INTO tracker.scopes (repository, branch) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                [repository["id"], branch],
            )
            row = self.connection.execute(
                "SELECT id, commit, token FROM tracker.scopes "
                "WHERE repository = %s AND branch = %s FOR UPDATE",
                [repository["id"], branch],
            ).fetchone()
            assert row is not None
            yield Publication(self.connection, row["id"], row["commit"], row["token"])


class Publication:
    """What one publish does inside its transaction."""

    def __init__(
        self,
        connection: psycopg.Connection[dict[str, Any]],
        scope: int,
        commit: str | None,
        token: str | None,
    ) -> None:
        self.connection = connection
        self.scope = scope
        self.commit = commit  # what the scope held before this publish
        self.token = token

    def published_files(self) -> list[tuple[str, str | None, str | None]]:
        rows = self.connection.execute(
            "SELECT f.file, f.blob, v.version FROM tracker.files f LEFT JOIN tracker.versions v "
            "ON v.scope = f.scope AND v.file = f.file WHERE f.scope = %s",
            [self.scope],
        )
        return [(row["file"], row["blob"], row["version"]) for row in rows.fetchall()]

    def remove(self, table: str, column: str, keys: list[str] | None) -> None:
        """Delete the scope's rows of `table` whose `column` is one of `keys` (None: all)."""
        if keys is None:
            self.connection.execute(f"DELETE FROM tracker.{table} WHERE scope = %s", [self.scope])
        elif keys:
            self.connection.execute(
                f"DELETE FROM tracker.{table} WHERE scope = %s AND {column} = ANY(%s)",
                [self.scope, keys],
            )

    def insert(self, table: str, rows: Iterable[Sequence[Any]]) -> int:
        """Append rows (columns in the local index's order) through COPY."""
        columns = ", ".join(column for column, _ in ROW_TABLES[table])
        count = 0
        with self.connection.cursor().copy(
            f"COPY tracker.{table} (scope, {columns}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row((self.scope, *row))
                count += 1
        return count

    def finish(self, commit: str, token: str, by: str | None) -> None:
        self.connection.execute(
            "UPDATE tracker.scopes SET commit = %s, token = %s, published_at = now(), "
            "published_by = %s WHERE id = %s",
            [commit, token, by, self.scope],
        )


def _result(pgconn: PGconn) -> PGresult:
    """The result of the statement just sent on `pgconn`, waited for in poll(), which
    Ctrl-C interrupts (libpq's blocking calls would wait for the server regardless)."""
    ready = select.poll()
    ready.register(pgconn.socket, select.POLLIN)
    while pgconn.flush():  # not all sent yet: the socket is full
        ready.modify(pgconn.socket, select.POLLIN | select.POLLOUT)
        ready.poll()
        pgconn.consume_input()
    ready.modify(pgconn.socket, select.POLLIN)
    pgconn.consume_input()
    while pgconn.is_busy():
        ready.poll()
        pgconn.consume_input()
    result = pgconn.get_result()
    while pgconn.get_result() is not None:  # the end of this statement's results
        pass
    if result is None:
        raise psycopg.OperationalError(pgconn.get_error_message() or "no result")
    return result


def _checked(result: PGresult, encoding: str) -> PGresult:
    """`result` of a libpq call, or the psycopg error it reports."""
    if result.status in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK):
        return result
    message = (result.error_message or b"").decode(encoding, "replace")
    raise psycopg.OperationalError(message.removeprefix("ERROR:").strip() or "failed")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
