"""Future enhancements: planned work that is not a work item yet."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints, field_validator

from tracker.model.fields import Actor, Priority, Quarter, RecordId, Timestamp, Title
from tracker.model.work_item import Strict, no_repeats


class EnhancementStatus(StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    IMPLEMENTING = "implementing"
    COMPLETED = "completed"


class Enhancement(Strict):
    id: RecordId
    title: Title
    description: str | None = None
    priority: Priority = 3
    status: EnhancementStatus = EnhancementStatus.PLANNED
    target_quarter: Quarter | None = None
    requires_constitutional_principles: list[Annotated[str, StringConstraints(min_length=1)]] = []
    depends_on: list[RecordId] = []
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    created_by: Actor | None = None

    @field_validator("depends_on")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        return no_repeats(value)


ENHANCEMENT_KEY_ORDER = (
    "id", "title", "description", "priority", "status", "target_quarter",
    "requires_constitutional_principles", "depends_on", "created_at", "updated_at", "created_by",
)  # fmt: skip
