"""Vendor writes: one file per vendor, keyed by its name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.errors import Conflict
from tracker.model.kinds import VENDOR
from tracker.service.assign import Assignment
from tracker.service.records import TreeReader
from tracker.service.update import update_fields
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult, now, write_record

FORMATS = ("excel", "csv", "pdf", "ocr")


@dataclass
class NewVendor:
    name: str
    status: str
    extractor_version: str
    formats: list[str] = field(default_factory=list)
    passing: int = 0
    total: int = 0
    skipped: int = 0
    manifest_compliant: bool = False


def create_vendor(workspace: Workspace, spec: NewVendor) -> WriteResult:
    reader = TreeReader(workspace, workspace.store.tip().commit)
    clash = [n for n in reader.keys(VENDOR) if n.lower() == spec.name.lower()]
    if clash:
        raise Conflict(f"vendor '{clash[0]}' already exists")
    stamp = now()
    actor = workspace.store.default_signature(workspace.actor).name
    data: dict[str, Any] = {
        "name": spec.name,
        "status": spec.status,
        "extractor_version": spec.extractor_version,
        "format_support": {fmt: fmt in spec.formats for fmt in FORMATS},
        "test_results": {"passing": spec.passing, "total": spec.total, "skipped": spec.skipped},
        "manifest_compliant": spec.manifest_compliant,
        "created_at": stamp,
        "updated_at": stamp,
        "created_by": actor,
        "updated_by": actor,
    }
    return write_record(workspace, VENDOR, spec.name, lambda _old, _r: data, create=True)


def update_vendor(
    workspace: Workspace,
    key_text: str,
    assignments: list[Assignment],
    if_version: str | None = None,
    force: bool = False,
) -> WriteResult:
    """FIELD=VALUE changes to a vendor; nested fields such as `test_results.passing=12`
    merge into the existing mapping and the whole record is validated."""
    reader = TreeReader(workspace, workspace.store.tip().commit)
    name = reader.resolve(VENDOR, key_text)
    actor = workspace.store.default_signature(workspace.actor).name
    return update_fields(
        workspace,
        VENDOR,
        name,
        assignments,
        touch={"updated_at": now(), "updated_by": actor},
        if_version=if_version,
        force=force,
    )
