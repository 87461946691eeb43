"""Recording deployments: commit, branch and PR default to the repository's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.errors import UsageError
from tracker.model.ids import new_id
from tracker.model.kinds import DEPLOYMENT, VENDOR, WORK_ITEM
from tracker.service.records import TreeReader
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult, now, write_record


@dataclass
class NewDeployment:
    pr: int
    pr_title: str
    commit: str | None = None
    branch: str | None = None
    deployed_at: str | None = None
    vendors: list[str] = field(default_factory=list)
    work_items: list[str] = field(default_factory=list)
    test_summary: dict[str, int] = field(default_factory=dict)
    compliant: bool = True
    created_by: str | None = None


def record_deployment(workspace: Workspace, spec: NewDeployment) -> WriteResult:
    tip = workspace.store.tip()
    reader = TreeReader(workspace, tip.commit)
    commit = workspace.store.resolve(spec.commit) if spec.commit else tip.commit
    if commit is None:
        raise UsageError("the repository has no commits yet: pass --commit SHA")
    branch = spec.branch
    if branch is None and tip.ref_name and tip.ref_name.startswith("refs/heads/"):
        branch = tip.ref_name.removeprefix("refs/heads/")
    key = new_id(DEPLOYMENT.id_prefix or "DEP", set(reader.keys(DEPLOYMENT)))
    data: dict[str, Any] = {
        "id": key,
        "deployed_at": spec.deployed_at or now(),
        "commit": commit,
        "branch": branch,
        "pr": spec.pr,
        "pr_title": spec.pr_title,
        "test_summary": spec.test_summary,
        "constitutional_compliance": spec.compliant,
        "vendors": [reader.resolve(VENDOR, name) for name in spec.vendors],
        "work_items": [reader.resolve(WORK_ITEM, item) for item in spec.work_items],
        "created_by": spec.created_by or workspace.store.default_signature(workspace.actor).name,
    }
    summary = f"tracker: deployment {key} PR #{spec.pr}: {spec.pr_title}"[:200]
    return write_record(
        workspace, DEPLOYMENT, key, lambda _o, _r: data, create=True, summary=summary
    )
