"""FIELD=VALUE changes to an existing record of any kind: the one path every `set` takes."""

from __future__ import annotations

from typing import Any

from tracker.errors import UsageError
from tracker.model.kinds import Kind
from tracker.service.assign import Assignment, apply_assignments
from tracker.service.records import TreeReader
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult, write_record

# Identity and provenance are set once; changing them would rewrite history's meaning.
FIXED_FIELDS = frozenset({"id", "name", "type", "created_at", "created_by"})


def update_fields(
    workspace: Workspace,
    kind: Kind,
    key: str,
    assignments: list[Assignment],
    *,
    touch: dict[str, Any] | None = None,
    if_version: str | None = None,
    force: bool = False,
) -> WriteResult:
    """Apply the assignments to record `key` (already resolved), then the `touch` fields
    (updated_at, updated_by), validate the whole record and commit it."""
    for assignment in assignments:
        if assignment.path[0] in FIXED_FIELDS:
            raise UsageError(f"{assignment.field} cannot be changed")

    def mutate(old: dict[str, Any] | None, _reader: TreeReader) -> dict[str, Any]:
        assert old is not None
        return {**apply_assignments(old, assignments), **(touch or {})}

    return write_record(workspace, kind, key, mutate, if_version=if_version, force=force)
