"""One record with its version: the commit that last changed its file, and whether it is dirty."""

from __future__ import annotations

from typing import Any

from tracker.model.kinds import WORK_ITEM, Kind, record_as_data
from tracker.service.records import TreeReader
from tracker.service.workspace import Workspace


def ordered(data: dict[str, Any], key_order: tuple[str, ...]) -> dict[str, Any]:
    return {key: data[key] for key in [*key_order, *data] if key in data}


def record_version(
    workspace: Workspace, path: str, commit: str | None, live: bool
) -> dict[str, Any]:
    """version, changed_by, changed_at and dirty for a record file."""
    store = workspace.store
    info = store.last_change(path, commit)
    dirty = False
    if live:
        dirty = store.working_blob_id(path) != store.blob_id(path, commit)
    return {
        "version": info.sha if info else None,
        "changed_by": info.author if info else None,
        "changed_at": info.time.isoformat() if info else None,
        "dirty": dirty,
    }


def show_record(
    workspace: Workspace, kind: Kind, key_text: str, at: str | None = None
) -> dict[str, Any]:
    store = workspace.store
    commit = store.resolve(at) if at else store.tip().commit
    reader = TreeReader(workspace, commit)
    key = reader.resolve(kind, key_text)
    found = reader.get(kind, key)
    if found is None and kind is WORK_ITEM:
        from tracker.model.kinds import ARCHIVED_ITEM

        found = reader.get(ARCHIVED_ITEM, key)
    assert found is not None
    path, record = found
    result: dict[str, Any] = {
        "id": key,
        "kind": kind.name,
        "path": workspace.display(path),
        **record_version(workspace, path, commit, live=at is None),
        "record": ordered(record_as_data(record), kind.key_order),
    }
    if kind is WORK_ITEM:
        ancestors: list[dict[str, Any]] = []
        parent = getattr(record, "parent", None)
        while parent is not None and len(ancestors) <= 6:
            node = reader.item(parent)
            if node is None:
                break
            ancestors.append(
                {"id": node.id, "type": node.type, "title": node.title, "status": str(node.status)}
            )
            parent = node.parent
        result["ancestors"] = list(reversed(ancestors))
    return result
