"""Helpers for tests against a team index (PostgreSQL; the `pg_dsn` fixture's database)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import psycopg

from tracker.index.duckdb_backend import DuckIndex
from tracker.index.schema import DERIVED, TABLES
from tracker.service import team

if TYPE_CHECKING:
    from tracker.index.postgres_backend import TeamIndex


def copy_into_scope(team_index: TeamIndex, index: DuckIndex, branch: str = "main") -> int:
    """Every row of `index` (TABLES and DERIVED, columns in their order) into a new scope of
    a repository of its own, published as the usual way does (one transaction); its id."""
    identity = f"test-{uuid.uuid4().hex}"
    with team_index.publishing(identity, identity, branch) as publication:
        for table, columns in {**TABLES, **DERIVED}.items():
            listed = ", ".join(column for column, _ in columns)
            rows = index.connection.execute(f"SELECT {listed} FROM {table}").fetchall()
            publication.remove(table, columns[0][0], None)
            publication.insert(table, rows)
        publication.finish(f"commit-{identity}", uuid.uuid4().hex, "tests")
    (scope,) = team_index.scopes(identity, branch)
    return scope.id


def forget_connections() -> None:
    """Close this process's team index connections and forget any failure: every test
    starts as a new process would."""
    for dsn in list(team._connections):
        team.forget(dsn)
    team._down_until.clear()
    team._identities.clear()
    team._branches.clear()
    team._memos.clear()


def reset(dsn: str) -> None:
    """An empty database again: the team index's schema dropped (the next connection that
    may migrate creates it anew)."""
    forget_connections()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS tracker CASCADE")
