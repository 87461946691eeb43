"""Deployment events: what shipped, when, with which vendors and work items."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from tracker.model.fields import Actor, CommitSha, RecordId, Timestamp, Title, VendorName
from tracker.model.work_item import Strict, no_repeats

TestCategory = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class Deployment(Strict):
    id: RecordId
    deployed_at: Timestamp
    commit: CommitSha
    branch: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    pr: Annotated[int, Field(strict=True, ge=1)]
    pr_title: Title
    test_summary: dict[TestCategory, Annotated[int, Field(strict=True, ge=0)]] = {}
    constitutional_compliance: bool
    vendors: list[VendorName] = []
    work_items: list[RecordId] = []
    created_by: Actor | None = None

    @field_validator("vendors", "work_items")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        return no_repeats(value)


DEPLOYMENT_KEY_ORDER = (
    "id", "deployed_at", "commit", "branch", "pr", "pr_title", "test_summary",
    "constitutional_compliance", "vendors", "work_items", "created_by",
)  # fmt: skip
