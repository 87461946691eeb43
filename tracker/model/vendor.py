"""Vendors: one file per vendor, keyed by name."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from tracker.model.fields import Actor, Timestamp, VendorName
from tracker.model.work_item import Strict


class VendorStatus(StrEnum):
    OPERATIONAL = "operational"
    BROKEN = "broken"


class FormatSupport(Strict):
    excel: bool = False
    csv: bool = False
    pdf: bool = False
    ocr: bool = False


Count = Annotated[int, Field(strict=True, ge=0)]


class TestResults(Strict):
    __test__ = False  # not a pytest test class despite the name

    passing: Count = 0
    total: Count = 0
    skipped: Count = 0

    @model_validator(mode="after")
    def _counts_add_up(self) -> TestResults:
        if self.passing > self.total:
            raise ValueError(f"passing ({self.passing}) exceeds total ({self.total})")
        if self.passing + self.skipped > self.total:
            raise ValueError(
                f"passing + skipped ({self.passing + self.skipped}) exceeds total ({self.total})"
            )
        return self


class Vendor(Strict):
    name: VendorName
    status: VendorStatus
    extractor_version: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    format_support: FormatSupport = FormatSupport()
    test_results: TestResults = TestResults()
    manifest_compliant: bool = False
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    created_by: Actor | None = None
    updated_by: Actor | None = None


VENDOR_KEY_ORDER = (
    "name", "status", "extractor_version", "format_support", "test_results",
    "manifest_compliant", "created_at", "updated_at", "created_by", "updated_by",
)  # fmt: skip
