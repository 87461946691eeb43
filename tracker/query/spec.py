"""Queries as plain data: what the CLI and MCP tools ask, independent of any SQL dialect."""

from __future__ import annotations

from dataclasses import dataclass

SORTS = {
    "priority": "i.priority ASC, i.created_at ASC, i.id ASC",
    "created": "i.created_at ASC, i.id ASC",
    "-created": "i.created_at DESC, i.id DESC",
    "updated": "i.updated_at DESC NULLS LAST, i.id ASC",
    "title": "lower(i.title) ASC, i.id ASC",
    "id": "i.id ASC",
    "tree": "h.path ASC NULLS LAST, i.id ASC",
}


@dataclass(frozen=True)
class ItemQuery:
    """`tracker list` filters; None means "any"."""

    type: str | None = None
    status: str | None = None
    parent: str | None = None
    roots_only: bool = False
    under: str | None = None  # every descendant of this item
    label: str | None = None
    assignee: str | None = None
    priority: int | None = None
    branch: str | None = None
    text: str | None = None  # in title or description, case-insensitive
    include_deleted: bool = False
    archived: bool = False  # True: only archived items; False: only live ones
    limit: int = 50
    offset: int = 0
    sort: str = "priority"


@dataclass(frozen=True)
class DeploymentQuery:
    vendor: str | None = None
    item: str | None = None
    since: str | None = None  # ISO date or time
    limit: int = 10


@dataclass(frozen=True)
class EnhancementQuery:
    priority: int | None = None
    status: str | None = None
    quarter: str | None = None
