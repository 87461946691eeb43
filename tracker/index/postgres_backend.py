"""The team index on PostgreSQL (psycopg 3): the only module that imports psycopg.

One database holds the published state of many repositories and branches, each a
`scope`. A connection reads one scope through temporary views named like the local
index's tables (`items`, `hierarchy`, ...), so the query layer's SQL runs here unchanged;
`?` placeholders become psycopg's `%s`. Each answer reads one snapshot (REPEATABLE READ),
and each publish is one transaction, so a reader never sees half a publish.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
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
# The scope holding a commit, chosen for the rest of the transaction (set_config in the
# outer query: it runs once, for the one row chosen).
SCOPE_AT = """
    SELECT *, set_config('tracker.scope', id::text, true) AS chosen FROM (
        SELECT s.id, r.name AS repository, r.identity, s.branch, s.commit, s.token
        FROM tracker.scopes s JOIN tracker.repositories r ON r.id = s.repository
        WHERE r.identity = %s AND s.commit = %s AND (%s::text IS NULL OR s.branch = %s)
        ORDER BY s.branch LIMIT 1
    ) AS held
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
    def reading(self, identity: str, commit: str, branch: str | None) -> Iterator[Scope | None]:
        """One snapshot of the scope that holds `commit` of the repository (on `branch`, if
        given; else the first branch that does), the query layer's tables reading it;
        None when no scope holds that commit."""
        with self._guarded():
            if not self._views:
                self._create_views()
            try:
                # one round trip for both: the answer's own queries follow
                with self.connection.pipeline():
                    self.connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    row = self.connection.execute(SCOPE_AT, [identity, commit, branch, branch])
                found = row.fetchone()
                if found is not None:
                    found.pop("chosen")
                yield None if found is None else Scope(**found)
            finally:
                with suppress(psycopg.Error):
                    self.connection.execute("ROLLBACK")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """The statements inside read one state of the database, whatever publishes meanwhile."""
        with self._guarded():
            self.connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield
            finally:
                with suppress(psycopg.Error):
                    self.connection.execute("ROLLBACK")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._guarded():
            return self.connection.execute(self._placeholders(sql), list(params)).fetchall()

    def rows_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        """Several queries in one round trip (psycopg's pipeline mode)."""
        with self._guarded():
            with self.connection.pipeline():
                cursors = [
                    self.connection.execute(self._placeholders(sql), list(params))
                    for sql, params in queries
                ]
            return [cursor.fetchall() for cursor in cursors]

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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
