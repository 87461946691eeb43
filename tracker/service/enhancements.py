"""Future enhancements: planned work, filterable by priority, status and quarter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.model.ids import new_id
from tracker.model.kinds import ENHANCEMENT, WORK_ITEM
from tracker.service.assign import Assignment
from tracker.service.records import TreeReader
from tracker.service.update import update_fields
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult, now, write_record


@dataclass
class NewEnhancement:
    title: str
    description: str | None = None
    priority: int = 3
    status: str = "planned"
    target_quarter: str | None = None
    principles: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)


def create_enhancement(workspace: Workspace, spec: NewEnhancement) -> WriteResult:
    reader = TreeReader(workspace, workspace.store.tip().commit)
    key = new_id(ENHANCEMENT.id_prefix or "ENH", set(reader.keys(ENHANCEMENT)))
    stamp = now()
    data: dict[str, Any] = {
        "id": key,
        "title": spec.title,
        "description": spec.description,
        "priority": spec.priority,
        "status": spec.status,
        "target_quarter": spec.target_quarter,
        "requires_constitutional_principles": spec.principles,
        "depends_on": [reader.resolve(WORK_ITEM, d) for d in spec.depends_on],
        "created_at": stamp,
        "updated_at": stamp,
        "created_by": workspace.store.default_signature(workspace.actor).name,
    }
    return write_record(
        workspace,
        ENHANCEMENT,
        key,
        lambda _o, _r: data,
        create=True,
        summary=f"tracker: new enhancement {key}: {spec.title}"[:200],
    )


def update_enhancement(
    workspace: Workspace,
    key_text: str,
    assignments: list[Assignment],
    if_version: str | None = None,
    force: bool = False,
) -> WriteResult:
    reader = TreeReader(workspace, workspace.store.tip().commit)
    key = reader.resolve(ENHANCEMENT, key_text)
    return update_fields(
        workspace,
        ENHANCEMENT,
        key,
        assignments,
        touch={"updated_at": now()},
        if_version=if_version,
        force=force,
    )
