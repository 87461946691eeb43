"""What the query layer needs of an index, whichever backend holds it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from tracker.errors import TrackerError


class TeamIndexUnavailable(TrackerError):
    """A team index unreachable, too slow, of an unknown schema, or lost mid-answer."""


class QueryIndex(Protocol):
    """DuckDB (the local index, `duckdb_backend.DuckIndex`) or Postgres (a team index's
    scope, `postgres_backend.TeamIndex`): both run the SQL of `tracker.query`."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def rows_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        """The rows of each query: on a server, in one round trip."""
        ...

    def read_only_query(self, sql: str) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...
