"""Work items: projects, sessions, tasks and research, each with its own typed metadata."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from tracker.model.fields import (
    Actor,
    CommitSha,
    Priority,
    Quarter,
    RecordId,
    Timestamp,
    Title,
)


class ListItemError(ValueError):
    """A problem with one element of a list field; its index joins the error's location."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def no_repeats(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise ListItemError(index, f"{value!r} is listed twice")
        seen.add(value)
    return values


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, validate_default=False)


class ItemType(StrEnum):
    PROJECT = "project"
    SESSION = "session"
    TASK = "task"
    RESEARCH = "research"


class ItemStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    BLOCKED = "blocked"


Label = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^\S(.*\S)?$")]
Hours = Annotated[float, Field(ge=0, le=1000, strict=True, allow_inf_nan=False)]


class ProjectMetadata(Strict):
    description: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    target_quarter: Quarter | None = None
    constitutional_principles: list[Annotated[str, StringConstraints(min_length=1)]] = []


class SessionMetadata(Strict):
    token_budget: Annotated[int, Field(strict=True, ge=1_000, le=1_000_000)]
    prompts_count: Annotated[int, Field(strict=True, ge=0)]
    yaml_frontmatter: dict[str, Any] | None = None

    @field_validator("yaml_frontmatter")
    @classmethod
    def _frontmatter_has_schema_version(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and "schema_version" not in value:
            raise ValueError("must hold schema_version")
        return value


class TaskMetadata(Strict):
    estimated_hours: Hours | None = None
    actual_hours: Hours | None = None
    blocked_reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class ResearchMetadata(Strict):
    research_questions: list[Annotated[str, StringConstraints(min_length=1)]] = []
    findings_summary: Annotated[str, StringConstraints(max_length=2000)] | None = None
    references: list[Annotated[str, StringConstraints(min_length=1)]] = []


class _WorkItemBase(Strict):
    id: RecordId
    title: Title
    status: ItemStatus = ItemStatus.ACTIVE
    priority: Priority = 3
    parent: RecordId | None = None
    depends_on: list[RecordId] = []
    branch: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    commit: CommitSha | None = None
    pr: Annotated[int, Field(strict=True, ge=1)] | None = None
    assignee: Actor | None = None
    labels: list[Label] = []
    created_at: Timestamp
    updated_at: Timestamp | None = None
    created_by: Actor | None = None
    deleted_at: Timestamp | None = None
    description: str | None = None

    @field_validator("parent")
    @classmethod
    def _not_own_parent(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("id"):
            raise ValueError("an item cannot be its own parent")
        return value

    @field_validator("depends_on")
    @classmethod
    def _sane_dependencies(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("id") in value:
            raise ListItemError(value.index(info.data["id"]), "an item cannot depend on itself")
        return no_repeats(value)

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, value: list[str]) -> list[str]:
        return no_repeats(value)


class ProjectItem(_WorkItemBase):
    type: Literal["project"]
    metadata: ProjectMetadata


class SessionItem(_WorkItemBase):
    type: Literal["session"]
    metadata: SessionMetadata


class TaskItem(_WorkItemBase):
    type: Literal["task"]
    metadata: TaskMetadata = TaskMetadata()


class ResearchItem(_WorkItemBase):
    type: Literal["research"]
    metadata: ResearchMetadata = ResearchMetadata()


WorkItem = Annotated[
    ProjectItem | SessionItem | TaskItem | ResearchItem, Field(discriminator="type")
]
AnyWorkItem = ProjectItem | SessionItem | TaskItem | ResearchItem

# The order keys are written in: identity first, free text and metadata last.
WORK_ITEM_KEY_ORDER = (
    "id", "type", "title", "status", "priority", "parent", "depends_on", "branch", "commit",
    "pr", "assignee", "labels", "created_at", "updated_at", "created_by", "deleted_at",
    "description", "metadata",
)  # fmt: skip
