"""`tracker history`: every version of a record from git, with field-level changes."""

from __future__ import annotations

from typing import Any

from tracker.model.kinds import ARCHIVED_ITEM, WORK_ITEM, Kind
from tracker.model.yaml_read import YamlProblem, load_yaml_bytes
from tracker.service.records import TreeReader
from tracker.service.workspace import Workspace, candidate_paths
from tracker.service.writer import diff_fields


def record_history(
    workspace: Workspace,
    kind: Kind,
    key_text: str,
    limit: int | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    store = workspace.store
    commit = store.resolve(at) if at else store.tip().commit
    reader = TreeReader(workspace, commit)
    key = reader.resolve(kind, key_text)
    paths = list(candidate_paths(kind, key))
    if kind is WORK_ITEM:  # an archived item keeps the history of its live years
        paths += candidate_paths(ARCHIVED_ITEM, key)
    versions = []
    for info, before, after in store.file_history(paths[0], commit, limit, tuple(paths[1:])):
        old, new = _fields(before), _fields(after)
        event = "created" if before is None else "removed" if after is None else "changed"
        changes = diff_fields(old or {}, new or {})
        moved = event == "changed" and not changes and kind is WORK_ITEM
        if moved and _archived_in(workspace, key, info.sha):
            event = "archived"
        versions.append(
            {
                "version": info.sha,
                "author": info.author,
                "email": info.email,
                "time": info.time.isoformat(),
                "message": info.message.strip().splitlines()[0],
                "event": event,
                "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in changes],
            }
        )
    return {"id": key, "kind": kind.name, "versions": versions}


def _archived_in(workspace: Workspace, key: str, sha: str) -> bool:
    """Whether the commit moved the item from items/ to archive/items/."""
    store = workspace.store
    parent = store.commit_parent(sha)
    if parent is None:
        return False
    live, archived = candidate_paths(WORK_ITEM, key), candidate_paths(ARCHIVED_ITEM, key)
    return any(store.blob_id(p, sha) for p in archived) and any(
        store.blob_id(p, parent) for p in live
    )


def _fields(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = load_yaml_bytes(raw, "history").data
    except YamlProblem as exc:
        return {"(file)": f"unreadable: {exc.message}"}
    return {key: _plain(value) for key, value in data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
