"""`tracker index publish`: this clone's committed state into a team index (Postgres).

One transaction per publish, holding the (repository, branch) scope, so readers never see
half of one and two clones publishing at once take turns. Only the files whose blob or
version changed since the baseline are sent; the baseline is what this clone last
published when the team index still holds that publish (its token), compared for the files
the local index logged since, else what the team index holds now, read from it and compared
whole. Publishing again with nothing changed sends nothing.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tracker.errors import TrackerError, UsageError
from tracker.index import publication
from tracker.index.backend import TeamIndexUnavailable
from tracker.index.schema import DERIVED, TABLES, tables_of
from tracker.service import team
from tracker.service.indexer import writable_index
from tracker.service.workspace import Workspace
from tracker.store.identity import is_ancestor


def publish(
    workspace: Workspace, dsn: str | None = None, branch: str | None = None
) -> dict[str, Any]:
    """Publish HEAD's tracker state to `dsn` (default: the configured team index) as
    `branch` (default: the current branch)."""
    from tracker.index.postgres_backend import shown_dsn

    started = time.perf_counter()
    target = team.team_dsn(workspace, dsn)
    if not target:
        raise UsageError(
            "no team index to publish to: pass --to DSN, set --index-dsn, "
            "$TRACKER_INDEX_DSN, or index.backend: postgres with index.dsn in tracker.yaml"
        )
    branch = branch or team.current_branch(workspace)
    if branch is None:
        raise UsageError("HEAD is detached: name the branch to publish as with --branch")
    with writable_index(workspace) as (index, answer):
        commit = answer.commit
        if commit is None:
            raise UsageError("nothing to publish: the repository has no commits yet")
        head = commit
        log = publication.read_log(index)  # what changed since the last publish
        # the same answer the team reads keep (tracker.service.team) while the index stays
        pending = answer.memo(
            ("uncommitted", head),
            lambda: publication.uncommitted_files(
                index, lambda file: workspace.store.blob_id(file, head) is not None, log
            ),
        )
        if pending:
            shown = ", ".join(pending[:3]) + (" ..." if len(pending) > 3 else "")
            raise UsageError(
                f"{len(pending)} tracker file(s) have uncommitted changes ({shown}): a team "
                "index holds commits only; commit or stash them, then publish"
            )
        repository = team.repository(workspace, commit)
        connection = team.connection(target, migrate=True)
        scope_key = f"{shown_dsn(target)}|{repository.identity}|{branch}"
        token = uuid.uuid4().hex
        report: dict[str, Any] = {
            "repository": repository.name,
            "branch": branch,
            "commit": commit,
            "published": True,
            "files_sent": 0,
            "rows_sent": 0,
            "full": False,
        }
        try:
            with connection.publishing(repository.identity, repository.name, branch) as pub:
                held = pub.commit
                if held and held != commit and is_ancestor(workspace.store, commit, held):
                    report.update(published=False, commit=held)
                    report["reason"] = (
                        f"the team index already holds {held[:12]}, newer than this clone's "
                        f"HEAD {commit[:12]}: nothing published"
                    )
                    report["seconds"] = round(time.perf_counter() - started, 3)
                    return report
                meta = index.meta()
                same_baseline = bool(pub.token) and (
                    meta.get("published_scope") == scope_key
                    and meta.get("published_token") == pub.token
                )
                team_files = None if same_baseline else pub.published_files()
                changes = publication.changed_files(index, team_files, log)
                files = changes.files
                # a scope that holds nothing is emptied whole, not file by file
                emptied = team_files is not None and not team_files
                for table in TABLES if emptied else tables_of(files):
                    pub.remove(table, "file", None if emptied else files)
                    rows = publication.table_rows(index, table, changes)
                    if rows:
                        report["rows_sent"] += pub.insert(table, rows)
                deltas: dict[str, publication.Delta] | None = None
                if same_baseline:
                    deltas = {
                        table: publication.derived_changes(index, table, log) for table in DERIVED
                    }
                for table, columns in DERIVED.items():
                    key = columns[0][0]
                    if deltas is None:
                        pub.remove(table, key, None)
                        rows = publication.derived_rows(index, table)
                    else:
                        rows, gone = deltas[table]
                        if rows or gone:
                            pub.remove(table, key, [row[0] for row in rows] + gone)
                    if rows:
                        report["rows_sent"] += pub.insert(table, rows)
                pub.finish(commit, token, workspace.actor)
        except TeamIndexUnavailable:
            team.forget(target)
            raise
        recorded = {"published_scope": scope_key, "published_token": token}
        publication.record_published(
            index, changes, {k: v for k, v in recorded.items() if meta.get(k) != v}, deltas
        )
        report.update(files_sent=len(files), full=not same_baseline)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


class Republisher:
    """Publishes after a sync when HEAD moved since the last publish (`tracker watch
    --publish`); a failed publish is tried again after the next sync, so the next success
    catches up everything missed."""

    def __init__(self, workspace: Workspace, dsn: str | None = None) -> None:
        self.workspace = workspace
        # decided once: commands the watcher serves meanwhile swap the environment
        self.dsn = dsn or team.team_dsn(workspace)
        self._done: str | None = None  # the HEAD last published (or found older)
        self._last_note: str | None = None

    def __call__(self) -> str | None:
        """A line for the log when something was published or failed anew, else None."""
        head = self.workspace.store.tip().commit
        if head == self._done:
            return None
        try:
            report = publish(self.workspace, self.dsn)
        except TrackerError as exc:
            note = f"not published: {exc.message}"
            if note == self._last_note:
                return None
            self._last_note = note
            return note
        self._done, self._last_note = head, None
        if not report["published"]:
            return str(report["reason"])
        return (
            f"published {report['commit'][:12]} as {report['branch']}: {report['files_sent']} "
            f"file(s), {report['rows_sent']} row(s) in {report['seconds'] * 1000:.0f} ms"
        )
