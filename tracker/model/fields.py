"""Constrained field types shared by the record models."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from tracker.model.times import to_aware_datetime

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
QUARTER_RE = re.compile(r"^[0-9]{4}-Q[1-4]$")
ID_RE = re.compile(r"^[A-Z][A-Z0-9]{0,9}-[0-9a-f]{4,16}$")
VENDOR_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank)]
Priority = Annotated[int, Field(strict=True, ge=1, le=5, description="1 high ... 5 low")]
CommitSha = Annotated[
    str, StringConstraints(pattern=COMMIT_RE.pattern), Field(description="40 lowercase hex digits")
]
Quarter = Annotated[str, StringConstraints(pattern=QUARTER_RE.pattern), Field(examples=["2026-Q3"])]
RecordId = Annotated[str, StringConstraints(pattern=ID_RE.pattern), Field(examples=["TRK-7f3a9c"])]
VendorName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=VENDOR_NAME_RE.pattern)
]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Timestamp = Annotated[datetime, BeforeValidator(to_aware_datetime)]
