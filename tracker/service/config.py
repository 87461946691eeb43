"""The project configuration: stored settings in tracker.yaml plus live repository state."""

from __future__ import annotations

from typing import Any

from tracker.constants import CONFIG_FILE
from tracker.model.kinds import CONFIG, WORK_ITEM, record_as_data
from tracker.service.assign import Assignment
from tracker.service.records import TreeReader
from tracker.service.update import update_fields
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult


def set_config(
    workspace: Workspace,
    assignments: list[Assignment],
    if_version: str | None = None,
    force: bool = False,
) -> WriteResult:
    reader = TreeReader(workspace, workspace.store.tip().commit)
    resolved = [
        Assignment(a.path, a.op, reader.resolve(WORK_ITEM, a.text))
        if a.path[-1] == "current_session" and a.text
        else a
        for a in assignments
    ]

    return update_fields(
        workspace, CONFIG, CONFIG_FILE, resolved, if_version=if_version, force=force
    )


def get_config(workspace: Workspace) -> dict[str, Any]:
    """Stored settings plus the live git state (branch, HEAD); never stored in the file."""
    tip = workspace.store.tip()
    branch = tip.ref_name.removeprefix("refs/heads/") if tip.ref_name else None
    settings = record_as_data(workspace.config)
    return {
        **settings,
        "git": {"branch": branch, "head": tip.commit, "detached": tip.ref_name is None},
        "config_file": workspace.display(CONFIG_FILE),
    }


__all__ = ["CONFIG", "get_config", "set_config"]
