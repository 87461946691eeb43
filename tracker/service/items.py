"""Work-item writes: new, set, close/reopen, delete/restore, move, dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.model.ids import new_id
from tracker.model.kinds import ARCHIVED_ITEM, WORK_ITEM
from tracker.service.assign import Assignment, apply_assignments, parse_assignments, typed_value
from tracker.service.records import TreeReader
from tracker.service.update import update_fields
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult, now, write_record


@dataclass
class NewItem:
    item_type: str
    title: str
    parent: str | None = None
    depends_on: list[str] = field(default_factory=list)
    priority: int | None = None
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    branch: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    created_by: str | None = None
    status: str | None = None


def parse_meta(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`--meta KEY=VALUE` pairs as a metadata mapping with typed values."""
    metadata: dict[str, Any] = {}
    for assignment in parse_assignments(pairs):
        metadata = apply_assignments(
            metadata, [Assignment(assignment.path, assignment.op, assignment.text)]
        )
    return metadata


def create_item(workspace: Workspace, spec: NewItem) -> WriteResult:
    tip = workspace.store.tip()
    reader = TreeReader(workspace, tip.commit)
    parent = reader.resolve(WORK_ITEM, spec.parent) if spec.parent else None
    depends_on = [reader.resolve(WORK_ITEM, d) for d in spec.depends_on]
    existing = set(reader.keys(WORK_ITEM)) | set(reader.keys(ARCHIVED_ITEM))
    key = new_id(workspace.config.id_prefix, existing)
    stamp = now()
    data: dict[str, Any] = {
        "id": key,
        "type": spec.item_type,
        "title": spec.title,
        "status": spec.status or "active",
        "priority": spec.priority or 3,
        "parent": parent,
        "depends_on": depends_on,
        "branch": spec.branch,
        "assignee": spec.assignee,
        "labels": spec.labels,
        "created_at": stamp,
        "updated_at": stamp,
        "created_by": spec.created_by or workspace.store.default_signature(workspace.actor).name,
        "description": spec.description,
    }
    if spec.metadata or spec.item_type in ("project", "session"):
        data["metadata"] = _default_metadata(workspace, spec)
    return write_record(
        workspace,
        WORK_ITEM,
        key,
        lambda _old, _reader: data,
        create=True,
        summary=f"tracker: new {spec.item_type} {key}: {spec.title}"[:200],
    )


def _default_metadata(workspace: Workspace, spec: NewItem) -> dict[str, Any]:
    metadata = dict(spec.metadata)
    if spec.item_type == "session":
        metadata.setdefault("token_budget", workspace.config.project.default_token_budget)
        metadata.setdefault("prompts_count", 0)
    return metadata


def update_item(
    workspace: Workspace,
    key_text: str,
    assignments: list[Assignment],
    if_version: str | None = None,
    force: bool = False,
) -> WriteResult:
    """Apply FIELD=VALUE assignments to an item (ids in links may be any unique prefix)."""
    reader = TreeReader(workspace, workspace.store.tip().commit)
    key = reader.resolve(WORK_ITEM, key_text)
    resolved = [_resolve_links(reader, a) for a in assignments]
    return update_fields(
        workspace,
        WORK_ITEM,
        key,
        resolved,
        touch={"updated_at": now()},
        if_version=if_version,
        force=force,
    )


def _resolve_links(reader: TreeReader, assignment: Assignment) -> Assignment:
    """Let `parent=7f3a` and `depends_on+=7f3a` use id prefixes like every other command."""
    if assignment.path not in (("parent",), ("depends_on",)):
        return assignment
    if assignment.typed:  # ids that arrive as JSON resolve like the same ids typed as text
        value = assignment.value
        text = ",".join(map(str, value)) if isinstance(value, list) else (value or "")
        assignment = Assignment(assignment.path, assignment.op, text)
    if not assignment.text:
        return assignment
    if assignment.op == "=" and assignment.path == ("depends_on",):
        parts = [reader.resolve(WORK_ITEM, p.strip()) for p in assignment.text.split(",") if p]
        return Assignment(assignment.path, "=", ",".join(parts))
    return Assignment(assignment.path, assignment.op, reader.resolve(WORK_ITEM, assignment.text))


def set_status(workspace: Workspace, key_text: str, *, status: str, **options: Any) -> WriteResult:
    return update_item(workspace, key_text, [Assignment(("status",), "=", status)], **options)


def set_deleted(
    workspace: Workspace, key_text: str, *, deleted: bool, **options: Any
) -> WriteResult:
    value = now() if deleted else ""
    return update_item(workspace, key_text, [Assignment(("deleted_at",), "=", value)], **options)


def move_item(
    workspace: Workspace, key_text: str, parent: str | None, **options: Any
) -> WriteResult:
    return update_item(workspace, key_text, [Assignment(("parent",), "=", parent or "")], **options)


def change_dependency(
    workspace: Workspace, key_text: str, target: str, add: bool, **options: Any
) -> WriteResult:
    op = "+=" if add else "-="
    return update_item(workspace, key_text, [Assignment(("depends_on",), op, target)], **options)


__all__ = ["NewItem", "create_item", "parse_meta", "typed_value", "update_item"]
