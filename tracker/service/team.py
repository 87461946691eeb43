"""Answers from a team index (Postgres), when one is configured and holds this clone's state.

The files stay the truth: a team index answers only when it holds exactly the commit this
clone is at, with no uncommitted tracker edits; otherwise, and whenever it cannot be
reached (a 2 s connect timeout), is of an unknown schema or fails mid-answer, the local
index answers with a warning saying why. A failed connection is not retried for
RETRY_SECONDS, so a long-running server does not wait 2 s on every query.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tracker.errors import UsageError
from tracker.index.backend import TeamIndexUnavailable
from tracker.index.duckdb_backend import DuckIndex
from tracker.index.publication import uncommitted_files
from tracker.model.config import IndexBackend
from tracker.service import indexer
from tracker.service.indexer import Answer, Memo
from tracker.service.workspace import Workspace
from tracker.store.head import HeadWatch
from tracker.store.identity import display_name, root_commit

if TYPE_CHECKING:  # psycopg takes 0.2 s to import: only a process that uses it pays
    from tracker.index.postgres_backend import Scope, TeamIndex

T = TypeVar("T")
DSN_VARIABLE = "TRACKER_INDEX_DSN"
RETRY_SECONDS = 30.0

_connections: dict[str, TeamIndex] = {}
_down_until: dict[str, float] = {}
_identities: dict[str, tuple[str, str]] = {}
_memos: dict[tuple[str, int], tuple[str | None, Memo]] = {}
_branches: dict[str, HeadWatch] = {}  # by workspace root


@dataclass(frozen=True)
class Repository:
    identity: str  # the root commit: the same in every clone
    name: str  # shown: origin's URL or the folder's name


def team_dsn(workspace: Workspace, explicit: str | None = None) -> str | None:
    """The team index to use: `explicit`, --index-dsn, $TRACKER_INDEX_DSN, then index.dsn
    when tracker.yaml chooses the postgres backend."""
    named = explicit or workspace.index_dsn or os.environ.get(DSN_VARIABLE)
    if named:
        return named
    settings = workspace.config.index
    if settings.backend == IndexBackend.POSTGRES:
        return settings.dsn or ""  # "": chosen, but not said where
    return None


def connection(dsn: str, migrate: bool = False) -> TeamIndex:
    """An open connection to `dsn`, kept for the process; TeamIndexUnavailable when it
    cannot be had (remembered for RETRY_SECONDS unless `migrate`: a publish always tries)."""
    from tracker.index.postgres_backend import TeamIndex, shown_dsn

    if not migrate and time.monotonic() < _down_until.get(dsn, 0.0):
        raise TeamIndexUnavailable(
            f"team index ({shown_dsn(dsn)}) was unreachable moments ago; retried after "
            f"{RETRY_SECONDS:.0f} s"
        )
    team = _connections.get(dsn)
    if team is not None and not team.connection.closed:
        # a publish cannot fall back: it makes sure the kept connection still works
        if not migrate or team.alive():
            return team
        forget(dsn)
    try:
        team = TeamIndex.connect(dsn, migrate=migrate)
    except TeamIndexUnavailable:
        _down_until[dsn] = time.monotonic() + RETRY_SECONDS
        raise
    _down_until.pop(dsn, None)
    _connections[dsn] = team
    return team


def forget(dsn: str) -> None:
    team = _connections.pop(dsn, None)
    if team is not None:
        team.close()


def repository(workspace: Workspace, commit: str) -> Repository:
    key = str(workspace.root)
    found = _identities.get(key)
    if found is None:
        store = workspace.store
        found = _identities[key] = (root_commit(store, commit), display_name(store))
    return Repository(*found)


def current_branch(workspace: Workspace) -> str | None:
    """The branch checked out (None: detached): HEAD is read again only when its stat data
    changed, a few µs on every team answer where libgit2 resolves it in ~50."""
    key = str(workspace.root)
    watch = _branches.get(key)
    if watch is None:
        watch = _branches[key] = HeadWatch(Path(workspace.store.repo.path))
    return watch.branch()


def answered(workspace: Workspace, at: str | None, compute: Callable[[Answer], T]) -> T:
    """`compute` on the team index when it holds this clone's state, else on the local one."""
    dsn = None if at is not None else team_dsn(workspace)
    if dsn is None:
        return indexer.answered(workspace, at, compute)

    def decide(local: Answer) -> T:
        why = _why_not_asked(workspace, dsn, local)
        if why is None:
            assert local.commit is not None
            from tracker.index.postgres_backend import ScopeMoved

            try:
                team = connection(dsn)
                held = repository(workspace, local.commit)
                branch = current_branch(workspace)
                for snapshot_first in (False, True):
                    try:
                        with team.reading(
                            held.identity, local.commit, branch, snapshot_first
                        ) as scope:
                            if scope is None:
                                break
                            memo = _memo(dsn, scope)
                            return compute(Answer(team, "postgres", [], local.commit, memo))
                    except ScopeMoved:
                        # a publish landed between finding the scope and the answer's first
                        # query: once more, finding it inside the snapshot the answer reads
                        continue
                why = _not_held(team, held.identity, branch, local.commit)
            except TeamIndexUnavailable as exc:
                forget(dsn)
                why = f"{exc.message}; answered from the local index"
        local.warnings.append(why)
        return compute(local)

    return indexer.answered(workspace, None, decide)


def _memo(dsn: str, scope: Scope) -> Memo:
    """What answers computed from a scope, kept while it holds the same publish: a
    published commit's rows never change, only a new publish (a new token) replaces them."""
    key = (dsn, scope.id)
    kept = _memos.get(key)
    if kept is None or kept[0] != scope.token:
        kept = _memos[key] = (scope.token, Memo())
    return kept[1]


def _why_not_asked(workspace: Workspace, dsn: str, local: Answer) -> str | None:
    """Why the team index cannot hold the local state, before asking it (None: ask)."""
    if not dsn:
        return (
            "index.backend is postgres but no DSN is set (index.dsn, $TRACKER_INDEX_DSN or "
            "--index-dsn); answered from the local index"
        )
    if local.commit is None:
        return "no commits yet, nothing published; answered from the local index"
    index = local.index
    if isinstance(index, DuckIndex):
        head = local.commit
        # a scan of every file's row at 100,000 items: kept while the index stays as it is
        pending = local.memo(
            ("uncommitted", head),
            lambda: uncommitted_files(
                index, lambda file: workspace.store.blob_id(file, head) is not None
            ),
        )
        if pending:
            return (
                f"{len(pending)} uncommitted tracker file(s) (the team index holds commits "
                "only); answered from the local index"
            )
    return None


def _not_held(team: TeamIndex, identity: str, branch: str | None, commit: str) -> str:
    held = next((scope.commit for scope in team.scopes(identity, branch) if branch), None)
    return (
        f"the team index holds {(held or 'nothing')[:12]} for branch {branch or '(detached)'}, "
        f"this clone is at {commit[:12]} (run `tracker index publish`); "
        "answered from the local index"
    )


def across_repositories(
    workspace: Workspace, limit: int, offset: int, page: Callable[[Answer, int, int], Any]
) -> dict[str, Any]:
    """One listing over every repository and branch published to the team index, in order
    of repository name and branch; `page(answer, limit, offset)` lists one scope and returns
    (items, total). Items carry their `repository` and `published_branch`."""
    dsn = team_dsn(workspace)
    if not dsn:
        raise UsageError(
            "--all-repos reads a team index: set index.backend: postgres and index.dsn, "
            "$TRACKER_INDEX_DSN or --index-dsn"
        )
    team = connection(dsn)
    scopes = team.scopes()
    if scopes:
        team.use_scope(scopes[0].id)  # its views are made outside the snapshot, to last
    items: list[dict[str, Any]] = []
    total = 0
    with team.snapshot():
        for scope in scopes:
            team.use_scope(scope.id)
            answer = Answer(team, "postgres", [], scope.commit)
            wanted = max(0, limit - len(items))
            found, count = page(answer, max(wanted, 1), max(0, offset - total))
            if wanted:
                items += [
                    {**row, "repository": scope.repository, "published_branch": scope.branch}
                    for row in found[:wanted]
                ]
            total += count
    return {
        "items": items,
        "total_count": total,
        "has_more": offset + len(items) < total,
        "limit": limit,
        "offset": offset,
        "data_source": "postgres",
        "warnings": [],
    }


def team_status(workspace: Workspace) -> dict[str, Any] | None:
    """The team index as `tracker index status` shows it (None: none is configured)."""
    dsn = team_dsn(workspace)
    if dsn is None:
        return None
    if not dsn:
        return {"reachable": False, "error": "index.backend is postgres but no DSN is set"}
    from tracker.index.postgres_backend import shown_dsn

    head = workspace.store.tip().commit
    branch = current_branch(workspace)
    found: dict[str, Any] = {"dsn": shown_dsn(dsn), "branch": branch}
    try:
        team = connection(dsn)
        scopes = team.scopes(repository(workspace, head).identity, branch) if head else []
        found["migrations"] = team.applied_migrations()
    except TeamIndexUnavailable as exc:
        forget(dsn)
        return {**found, "reachable": False, "error": exc.message}
    published = scopes[0].commit if scopes else None
    return {**found, "reachable": True, "published_commit": published, "in_sync": published == head}
