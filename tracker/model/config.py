"""tracker.yaml: the tracker's settings and the project configuration singleton."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from tracker.constants import CURRENT_FORMAT_VERSION, DEFAULT_ID_PREFIX
from tracker.model.fields import RecordId
from tracker.model.work_item import Strict


class ContextType(StrEnum):
    FEATURE = "feature"
    MAINTENANCE = "maintenance"
    RESEARCH = "research"


class IndexBackend(StrEnum):
    DUCKDB = "duckdb"
    POSTGRES = "postgres"


class ItemLayout(StrEnum):
    FLAT = "flat"  # items/<id>.yaml
    FANOUT = "fanout"  # items/<2 hex>/<id>.yaml: keeps each git tree small in huge trackers


class ProjectConfiguration(Strict):
    active_context_type: ContextType = ContextType.FEATURE
    current_session: RecordId | None = None
    default_token_budget: Annotated[int, Field(strict=True, ge=1_000, le=1_000_000)] = 200_000


# A password in a DSN: `password=...` (key/value form) or `user:secret@` (URI form).
DSN_PASSWORD = re.compile(r"(?:^|\s)password\s*=|^[a-z]+://[^/@\s]*:[^/@\s]*@", re.IGNORECASE)


class IndexSettings(Strict):
    backend: IndexBackend = IndexBackend.DUCKDB
    # A DSN without a password: tracker.yaml is committed, so secrets come from the
    # environment (PGPASSWORD), ~/.pgpass, or a `passfile=` the DSN names.
    dsn: str | None = None

    @field_validator("dsn")
    @classmethod
    def _no_password(cls, dsn: str | None) -> str | None:
        if dsn is not None and DSN_PASSWORD.search(dsn):
            raise ValueError(
                "holds a password, and tracker.yaml is committed: leave it out and use "
                "PGPASSWORD, ~/.pgpass or passfile=..."
            )
        return dsn


class TrackerConfig(Strict):
    format_version: Annotated[int, Field(strict=True, ge=1)] = CURRENT_FORMAT_VERSION
    id_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{0,9}$")] = (
        DEFAULT_ID_PREFIX
    )
    archive_after_days: Annotated[int, Field(strict=True, ge=1)] = 365
    item_layout: ItemLayout = ItemLayout.FLAT
    project: ProjectConfiguration = ProjectConfiguration()
    index: IndexSettings = IndexSettings()


CONFIG_KEY_ORDER = (
    "format_version", "id_prefix", "archive_after_days", "item_layout", "project", "index",
)  # fmt: skip
