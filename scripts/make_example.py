"""Write `.tracker-example/`: a realistic example tracker at the seed system's scale.

The domain: a team building document extractors for financial-data vendors,
with AI coding sessions. Everything is deterministic (fixed ids, fixed dates,
seeded numbers), so running the script again reproduces the committed files
byte for byte; `tests/test_example.py` checks that.

    python scripts/make_example.py [OUTPUT_DIR]    # default: <repo>/.tracker-example
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.constants import CONFIG_FILE, DEFAULT_ID_PREFIX, SCHEMA_DIR
from tracker.model.kinds import (
    ARCHIVED_ITEM,
    CONFIG,
    DEPLOYMENT,
    ENHANCEMENT,
    VENDOR,
    WORK_ITEM,
    Kind,
    record_as_data,
    schema_ref,
)
from tracker.model.yaml_read import load_yaml_text
from tracker.model.yaml_write import dump_record
from tracker.service.init import CONFIG_TEMPLATE
from tracker.service.schema_export import export_schemas
from tracker.service.validate import validate_root

SEED = 20250407
NOW = datetime(2026, 3, 20, 17, 0, tzinfo=UTC)  # the example's "today": nothing is later
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / ".tracker-example"
OWNED_FOLDERS = ("items", "archive", "vendors", "deployments", "enhancements", SCHEMA_DIR)

# The project's constitution, referenced by projects and enhancements.
PURE = "pure-extractors"  # an extractor is a pure function of the input document
GOLDEN = "golden-file-tests"  # every vendor ships golden-file tests
NO_DATA = "no-customer-data"  # no credentials or customer documents in the repository
MANIFEST = "manifest-first"  # the manifest declares every supported format


def rng_for(key: str) -> random.Random:
    """A generator of its own per record, so editing one record leaves the others alone."""
    return random.Random(f"{SEED}:{key}")


def sha(label: str) -> str:
    """A fixed, plausible 40-hex commit id."""
    return hashlib.sha1(f"tracker-example:{label}".encode()).hexdigest()


def stamp(day: str, key: str) -> datetime:
    """A working-hours time on `day`, fixed per record."""
    rng = rng_for(f"time:{key}")
    return datetime.fromisoformat(day).replace(
        hour=rng.randint(8, 18), minute=rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50)), tzinfo=UTC
    )


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# Work items: two projects, their sessions, tasks three levels deep, two research items,
# and an old, finished project in archive/.


@dataclass
class ItemSpec:
    key: str
    hex: str
    type: str
    title: str
    parent: str | None
    created: str  # YYYY-MM-DD
    status: str = "active"
    priority: int = 3
    depends_on: list[str] = field(default_factory=list)
    branch: str | None = None
    pr: int | None = None
    commit: bool = False  # True: the commit of `pr` (or of the item) is recorded
    assignee: str | None = None
    labels: list[str] = field(default_factory=list)
    created_by: str = "claude-code"
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    archived: bool = False


CHECKLIST = """\
Wave 3 is accepted when, for every vendor in the wave:
- the manifest passes `tracker`'s compliance check,
- golden tests cover at least 20 anonymised statements,
- extraction takes under 2 s per document on the CI runner.
Sign-off by the data team, then close the onboarding session.
"""

ITEMS = [
    # --- project: extractor platform ---------------------------------------------------------
    ItemSpec(
        "platform", "cc846e", "project", "Extractor platform 2026", None, "2025-04-07",
        priority=1, assignee="maria.chen", labels=["platform", "roadmap"], created_by="maria.chen",
        description="One manifest-driven pipeline for every vendor extractor.",
        metadata={
            "description": "Move all vendor extractors onto one manifest-driven pipeline with "
            "shared CSV, Excel, PDF and OCR readers, golden-file tests and CI compliance checks.",
            "target_quarter": "2026-Q2",
            "constitutional_principles": [PURE, GOLDEN, NO_DATA, MANIFEST],
        },
    ),
    ItemSpec(
        "s_manifest", "096f8d", "session", "Session: manifest schema v2 for extractors",
        "platform", "2025-05-12", status="completed", priority=1, branch="feat/manifest-v2",
        assignee="claude-code", labels=["manifest"], created_by="maria.chen",
        metadata={
            "token_budget": 200_000, "prompts_count": 38,
            "yaml_frontmatter": {
                "schema_version": "1.2", "session_id": "manifest-v2", "agent": "claude-code",
            },
        },
    ),
    ItemSpec(
        "t_manifest_schema", "7a5836", "task", "Define the manifest v2 JSON Schema", "s_manifest",
        "2025-05-12", status="completed", priority=1, branch="feat/manifest-v2", pr=412,
        commit=True, assignee="claude-code", labels=["manifest", "schema"],
        metadata={"estimated_hours": 6, "actual_hours": 7.5},
    ),
    ItemSpec(
        "st_manifest_fields", "ab708f", "task", "Add format_support and sample_files fields",
        "t_manifest_schema", "2025-05-13", status="completed", priority=2,
        branch="feat/manifest-v2", assignee="claude-code", labels=["manifest"],
        metadata={"estimated_hours": 2, "actual_hours": 1.5},
    ),
    ItemSpec(
        "st_manifest_migrate", "0fcc77", "task", "Write the migration from manifest v1",
        "t_manifest_schema", "2025-05-20", status="completed", priority=2,
        depends_on=["st_manifest_fields"], branch="feat/manifest-migration", pr=418, commit=True,
        assignee="claude-code", labels=["manifest", "migration"],
        metadata={"estimated_hours": 8, "actual_hours": 11},
    ),
    ItemSpec(
        "sst_migrate_tests", "221e8c", "task", "Golden tests for the v1 to v2 migration",
        "st_manifest_migrate", "2025-05-22", status="completed", priority=2,
        branch="feat/manifest-migration", assignee="claude-code", labels=["tests", "manifest"],
        metadata={"estimated_hours": 3, "actual_hours": 2.5},
    ),
    ItemSpec(
        "t_manifest_lint", "f2f455", "task", "Manifest compliance check in CI", "s_manifest",
        "2025-06-04", status="completed", priority=2, depends_on=["t_manifest_schema"],
        branch="ci/manifest-compliance", pr=421, commit=True, assignee="dev.okafor",
        labels=["ci", "manifest"], created_by="dev.okafor",
        metadata={"estimated_hours": 4, "actual_hours": 4},
    ),
    ItemSpec(
        "s_ocr", "f7cb5a", "session", "Session: OCR fallback for scanned statements",
        "platform", "2025-09-29", priority=2, branch="feat/ocr-fallback",
        assignee="claude-code", labels=["ocr", "pdf"], created_by="maria.chen",
        metadata={
            "token_budget": 300_000, "prompts_count": 54,
            "yaml_frontmatter": {
                "schema_version": "1.2", "session_id": "ocr-fallback", "agent": "claude-code",
            },
        },
    ),
    ItemSpec(
        "r_ocr", "59cd8b", "research", "Compare OCR engines for low-quality scans", "s_ocr",
        "2025-09-29", status="completed", priority=2, assignee="lena.fischer",
        labels=["ocr", "research"], created_by="lena.fischer",
        metadata={
            "research_questions": [
                "Which engine reads 150-dpi faxed statements with the fewest digit errors?",
                "Does per-vendor language data beat the default model?",
                "What does OCR cost per page on the CI runner?",
            ],
            "findings_summary": "Tesseract 5 with the eng+deu models reached 98.7% digit "
            "accuracy on the 200-page sample after upscaling to 300 dpi; PaddleOCR was "
            "slightly better on tables but three times slower. Go with Tesseract, keep "
            "PaddleOCR as an option for table-heavy vendors.",
            "references": [
                "https://github.com/tesseract-ocr/tesseract",
                "https://github.com/PaddlePaddle/PaddleOCR",
                "docs/research/ocr-benchmark-2025-10.md",
            ],
        },
    ),
    ItemSpec(
        "t_ocr_fallback", "f453f3", "task", "Route scanned pages to the OCR fallback", "s_ocr",
        "2025-10-06", priority=2, depends_on=["r_ocr"], branch="feat/ocr-fallback",
        assignee="claude-code", labels=["ocr", "pdf"],
        metadata={"estimated_hours": 16, "actual_hours": 9},
    ),
    ItemSpec(
        "st_ocr_detect", "ffb96b", "task", "Detect image-only pages", "t_ocr_fallback",
        "2025-10-07", status="completed", priority=2, branch="feat/ocr-detect", pr=455,
        commit=True, assignee="claude-code", labels=["ocr"],
        metadata={"estimated_hours": 3, "actual_hours": 2},
    ),
    ItemSpec(
        "st_ocr_tesseract", "1d1aae", "task", "Wire Tesseract with the eng+deu language data",
        "t_ocr_fallback", "2025-10-09", priority=2, depends_on=["st_ocr_detect"],
        branch="feat/ocr-fallback", assignee="claude-code", labels=["ocr"],
        metadata={"estimated_hours": 6},
    ),
    ItemSpec(
        "sst_ocr_dpi", "8b3215", "task", "Upscale 150-dpi scans before OCR", "st_ocr_tesseract",
        "2025-10-14", priority=3, branch="feat/ocr-fallback", assignee="claude-code",
        labels=["ocr", "image"], metadata={"estimated_hours": 4, "actual_hours": 1},
    ),
    ItemSpec(
        "sst_ocr_confidence", "14ac3f", "task", "Drop OCR words below confidence 60",
        "st_ocr_tesseract", "2025-10-14", status="blocked", priority=3,
        depends_on=["sst_ocr_dpi"], branch="feat/ocr-fallback", assignee="lena.fischer",
        labels=["ocr"],
        metadata={
            "estimated_hours": 3,
            "blocked_reason": "Waiting on labelled confidence samples from the data team.",
        },
    ),
    ItemSpec(
        "st_ocr_eval", "1bb24c", "task", "Measure OCR accuracy on 200 sample statements",
        "t_ocr_fallback", "2025-10-20", priority=3, depends_on=["st_ocr_tesseract"],
        assignee="lena.fischer", labels=["ocr", "evaluation"], created_by="lena.fischer",
        metadata={"estimated_hours": 5},
    ),
    ItemSpec(
        "s_csv", "739ddb", "session", "Session: CSV dialect sniffing", "platform", "2025-07-28",
        status="completed", priority=3, branch="feat/csv-sniffing", assignee="claude-code",
        labels=["csv"], created_by="dev.okafor",
        metadata={"token_budget": 150_000, "prompts_count": 21},
    ),
    ItemSpec(
        "t_csv_sniff", "55cddf", "task", "Sniff delimiter and quoting per vendor file", "s_csv",
        "2025-07-28", status="completed", priority=3, branch="feat/csv-sniffing", pr=430,
        commit=True, assignee="claude-code", labels=["csv"],
        metadata={"estimated_hours": 5, "actual_hours": 4.5},
    ),
    ItemSpec(
        "st_csv_bom", "0fe0ce", "task", "Strip the UTF-8 BOM and read UTF-16 exports",
        "t_csv_sniff", "2025-07-29", status="completed", priority=3, branch="feat/csv-sniffing",
        assignee="claude-code", labels=["csv", "encoding"],
        metadata={"estimated_hours": 2, "actual_hours": 2},
    ),
    ItemSpec(
        "st_csv_decimal", "dfae00", "task", "Parse decimal commas for EU vendors", "t_csv_sniff",
        "2025-08-04", status="completed", priority=2, branch="feat/csv-decimal-comma", pr=436,
        commit=True, assignee="claude-code", labels=["csv", "locale"],
        metadata={"estimated_hours": 3, "actual_hours": 5},
    ),
    ItemSpec(
        "sst_csv_locale", "bc6dbb", "task", "Property tests for locale number parsing",
        "st_csv_decimal", "2025-08-05", status="completed", priority=3,
        branch="feat/csv-decimal-comma", assignee="claude-code", labels=["tests", "locale"],
        metadata={"estimated_hours": 2, "actual_hours": 1.5},
    ),
    ItemSpec(
        "t_csv_docs", "9636ad", "task", "Document the CSV quirks of each vendor", "s_csv",
        "2025-08-11", status="completed", priority=4, depends_on=["t_csv_sniff"],
        assignee="sam.patel", labels=["docs", "csv"], created_by="sam.patel",
    ),
    ItemSpec(
        "s_perf", "e2e5fd", "session", "Session: extractor performance pass", "platform",
        "2025-11-10", priority=3, branch="perf/extractors", assignee="claude-code",
        labels=["performance"], created_by="dev.okafor",
        metadata={
            "token_budget": 250_000, "prompts_count": 12,
            "yaml_frontmatter": {"schema_version": "1.3", "session_id": "perf-pass"},
        },
    ),
    ItemSpec(
        "t_perf_profile", "2c17bc", "task", "Profile the ten slowest extractors", "s_perf",
        "2025-11-10", status="completed", priority=2, branch="perf/extractors", pr=461,
        commit=True, assignee="claude-code", labels=["performance"],
        metadata={"estimated_hours": 4, "actual_hours": 3},
    ),
    ItemSpec(
        "st_perf_report", "4efaec", "task", "Publish the flame graphs in the wiki",
        "t_perf_profile", "2025-11-12", status="completed", priority=5, assignee="dev.okafor",
        labels=["performance", "docs"], created_by="dev.okafor",
        metadata={"estimated_hours": 1, "actual_hours": 1},
    ),
    ItemSpec(
        "t_perf_stream", "d16483", "task", "Stream large Excel workbooks in read-only mode",
        "s_perf", "2025-11-17", priority=2, depends_on=["t_perf_profile"],
        branch="perf/excel-streaming", assignee="claude-code", labels=["performance", "excel"],
        metadata={"estimated_hours": 10, "actual_hours": 3.5},
    ),
    ItemSpec(
        "st_perf_memory", "959141", "task", "Cap memory at 512 MB per extraction",
        "t_perf_stream", "2025-11-18", priority=3, branch="perf/excel-streaming",
        assignee="claude-code", labels=["performance"], metadata={"estimated_hours": 4},
    ),
    ItemSpec(
        "sst_perf_bench", "d68abf", "task", "Benchmark fixture: an 80,000-row workbook",
        "st_perf_memory", "2025-11-19", priority=5, branch="perf/excel-streaming",
        assignee="claude-code", labels=["performance", "tests"],
        metadata={"estimated_hours": 2},
    ),
    ItemSpec(
        "r_layout", "7fbeb6", "research", "Survey table-layout detection for multi-page PDFs",
        "platform", "2025-12-01", priority=3, assignee="lena.fischer",
        labels=["pdf", "research"], created_by="lena.fischer",
        description="Input for the layout cache and for the vision-model enhancement.",
        metadata={
            "research_questions": [
                "How often do vendor tables continue across page breaks?",
                "Can ruling lines alone find the columns of borderless tables?",
            ],
            "references": [
                "https://github.com/jsvine/pdfplumber",
                "https://camelot-py.readthedocs.io/",
            ],
        },
    ),
    ItemSpec(
        "t_perf_cache", "623bfa", "task", "Cache parsed PDF layouts between runs", "s_perf",
        "2025-12-02", status="blocked", priority=3, depends_on=["r_layout"],
        assignee="claude-code", labels=["performance", "pdf"],
        metadata={
            "estimated_hours": 8,
            "blocked_reason": "The cache key depends on the outcome of the layout-detection "
            "research.",
        },
    ),
    # --- project: vendor onboarding ---------------------------------------------------------
    ItemSpec(
        "onboarding", "eaa28f", "project", "Vendor onboarding wave 3", None, "2025-09-15",
        priority=2, assignee="sam.patel", labels=["onboarding", "roadmap"],
        created_by="sam.patel",
        metadata={
            "description": "Onboard the third wave of brokerage and custody vendors and bring "
            "the broken bank extractors back to green before the Q3 reporting season.",
            "target_quarter": "2026-Q3",
            "constitutional_principles": [GOLDEN, NO_DATA, MANIFEST],
        },
    ),
    ItemSpec(
        "s_wave3", "fc1611", "session", "Session: onboard the wave 3 brokerages", "onboarding",
        "2026-01-19", priority=1, branch="onboard/wave-3", assignee="claude-code",
        labels=["onboarding"], created_by="sam.patel",
        metadata={
            "token_budget": 400_000, "prompts_count": 67,
            "yaml_frontmatter": {
                "schema_version": "1.3", "session_id": "wave-3", "agent": "claude-code",
                "vendors": ["harbor-securities", "alpine-trust"],
            },
        },
    ),
    ItemSpec(
        "t_w3_harbor", "b48263", "task", "Onboard harbor-securities statements", "s_wave3",
        "2026-01-19", priority=1, branch="onboard/harbor-securities", pr=472, commit=True,
        assignee="claude-code", labels=["onboarding", "pdf"],
        metadata={"estimated_hours": 20, "actual_hours": 12.5},
    ),
    ItemSpec(
        "st_w3_harbor_fixtures", "1b79ac", "task", "Collect anonymised sample statements",
        "t_w3_harbor", "2026-01-20", status="completed", priority=1, assignee="sam.patel",
        labels=["fixtures"], created_by="sam.patel",
        metadata={"estimated_hours": 3, "actual_hours": 4},
    ),
    ItemSpec(
        "st_w3_harbor_parser", "935d8a", "task", "Parse the positions table", "t_w3_harbor",
        "2026-01-22", priority=1, depends_on=["st_w3_harbor_fixtures"],
        branch="onboard/harbor-securities", assignee="claude-code", labels=["pdf", "tables"],
        metadata={"estimated_hours": 8, "actual_hours": 6},
    ),
    ItemSpec(
        "sst_w3_harbor_fx", "617f2d", "task", "Handle multi-currency position rows",
        "st_w3_harbor_parser", "2026-01-26", priority=2, branch="onboard/harbor-securities",
        assignee="claude-code", labels=["fx"], metadata={"estimated_hours": 3},
    ),
    ItemSpec(
        "sst_w3_harbor_totals", "554ac1", "task", "Reconcile totals with the summary page",
        "st_w3_harbor_parser", "2026-01-26", priority=2, depends_on=["sst_w3_harbor_fx"],
        branch="onboard/harbor-securities", assignee="claude-code", labels=["validation"],
        metadata={"estimated_hours": 2},
    ),
    ItemSpec(
        "t_w3_alpine", "bdcebf", "task", "Onboard alpine-trust PDF confirmations", "s_wave3",
        "2026-02-02", priority=2, branch="onboard/alpine-trust", assignee="claude-code",
        labels=["onboarding", "pdf"], metadata={"estimated_hours": 16},
    ),
    ItemSpec(
        "st_w3_alpine_ocr", "61a707", "task", "Use the OCR fallback for faxed confirmations",
        "t_w3_alpine", "2026-02-03", status="blocked", priority=2,
        depends_on=["t_ocr_fallback"], branch="onboard/alpine-trust", assignee="claude-code",
        labels=["ocr"],
        metadata={
            "estimated_hours": 5,
            "blocked_reason": "Needs the OCR fallback (TRK-f453f3) merged first.",
        },
    ),
    ItemSpec(
        "sst_w3_alpine_fax", "2af984", "task", "Deskew faxed pages before extraction",
        "st_w3_alpine_ocr", "2026-02-04", priority=3, branch="onboard/alpine-trust",
        assignee="claude-code", labels=["ocr", "image"], metadata={"estimated_hours": 2},
    ),
    ItemSpec(
        "t_w3_manifests", "560d10", "task", "Write manifests for all wave 3 vendors", "s_wave3",
        "2026-02-09", priority=2, depends_on=["t_manifest_lint"], branch="onboard/wave-3",
        assignee="claude-code", labels=["manifest", "onboarding"],
        metadata={"estimated_hours": 4},
    ),
    ItemSpec(
        "st_w3_manifest_review", "a2b47d", "task", "Review the manifests with the compliance check",
        "t_w3_manifests", "2026-02-10", priority=3, assignee="dev.okafor",
        labels=["manifest", "review"], created_by="dev.okafor",
    ),
    ItemSpec(
        "t_w3_checklist", "ae3b47", "task", "Wave 3 acceptance checklist", "s_wave3",
        "2026-02-16", priority=2,
        depends_on=["t_w3_harbor", "t_w3_alpine", "t_w3_manifests"], assignee="sam.patel",
        labels=["onboarding", "acceptance"], created_by="sam.patel", description=CHECKLIST,
    ),
    ItemSpec(
        "s_fix", "fddf55", "session", "Session: fix the broken bank extractors", "onboarding",
        "2026-01-05", priority=1, branch="fix/broken-banks", assignee="claude-code",
        labels=["maintenance"], created_by="dev.okafor",
        metadata={"token_budget": 200_000, "prompts_count": 9},
    ),
    ItemSpec(
        "t_fix_triage", "f2d175", "task", "Triage the 15 broken vendors", "s_fix", "2026-01-05",
        status="completed", priority=1, branch="fix/triage-tooling", pr=468, commit=True,
        assignee="claude-code", labels=["maintenance", "triage"],
        description="Group the failures by cause: layout change, encoding, password, portal.",
        metadata={"estimated_hours": 3, "actual_hours": 3.5},
    ),
    ItemSpec(
        "t_fix_northwind", "fc02bc", "task",
        "Fix northwind-bank after the March 2026 layout change", "s_fix", "2026-03-09",
        priority=1, depends_on=["t_fix_triage"],
        branch="fix/northwind-header", pr=480, commit=True, assignee="claude-code",
        labels=["maintenance", "pdf", "regression"],
        metadata={"estimated_hours": 6, "actual_hours": 4},
    ),
    ItemSpec(
        "st_fix_northwind_header", "19aa24", "task", "Detect the new two-line header",
        "t_fix_northwind", "2026-03-09", status="completed", priority=1,
        branch="fix/northwind-header", assignee="claude-code", labels=["pdf"],
        metadata={"estimated_hours": 2, "actual_hours": 2.5},
    ),
    ItemSpec(
        "st_fix_northwind_dates", "a59a5a", "task", "Accept DD.MM.YYYY booking dates",
        "t_fix_northwind", "2026-03-10", priority=1, depends_on=["st_fix_northwind_header"],
        branch="fix/northwind-dates", assignee="claude-code", labels=["dates"],
        metadata={"estimated_hours": 2},
    ),
    ItemSpec(
        "sst_fix_dates_tests", "cce950", "task", "Regression fixtures for both date formats",
        "st_fix_northwind_dates", "2026-03-10", priority=2, branch="fix/northwind-dates",
        assignee="claude-code", labels=["tests", "regression"], metadata={"estimated_hours": 1},
    ),
    ItemSpec(
        "t_fix_keystone", "8b3553", "task", "Fix the keystone-capital workbook password prompt",
        "s_fix", "2026-01-12", status="blocked", priority=2, depends_on=["t_fix_triage"],
        assignee="dev.okafor", labels=["maintenance", "excel"], created_by="dev.okafor",
        metadata={
            "estimated_hours": 2,
            "blocked_reason": "The vendor has not sent the new workbook password yet.",
        },
    ),
    ItemSpec(
        "t_fix_meridian", "56e1b7", "task", "Fix the meridian-credit-union CSV encoding", "s_fix",
        "2026-01-14", priority=2, depends_on=["t_fix_triage"], branch="fix/meridian-encoding",
        assignee="claude-code", labels=["maintenance", "csv", "encoding"],
        metadata={"estimated_hours": 2},
    ),
    # --- archived: a finished project from early 2025 -----------------------------------------
    ItemSpec(
        "legacy", "60b1f3", "project", "Retire the legacy PDF pipeline", None, "2025-01-13",
        status="completed", priority=2, assignee="maria.chen", labels=["legacy"],
        created_by="maria.chen", archived=True,
        metadata={"description": "Port the last vendors off the 2019 pdfminer pipeline."},
    ),
    ItemSpec(
        "legacy_port", "ccc35f", "task", "Port the remaining PDF vendors to pdfplumber", "legacy",
        "2025-01-20", status="completed", priority=2, branch="chore/pdfplumber", pr=388,
        commit=True, assignee="dev.okafor", labels=["legacy", "pdf"], created_by="dev.okafor",
        archived=True, metadata={"estimated_hours": 24, "actual_hours": 31},
    ),
]  # fmt: skip

ITEM_IDS = {spec.key: f"{DEFAULT_ID_PREFIX}-{spec.hex}" for spec in ITEMS}
CURRENT_SESSION = "s_wave3"


def item_record(spec: ItemSpec) -> dict[str, Any]:
    rng = rng_for(f"item:{spec.key}")
    created = stamp(spec.created, spec.key)
    data: dict[str, Any] = {
        "id": ITEM_IDS[spec.key],
        "type": spec.type,
        "title": spec.title,
        "status": spec.status,
        "priority": spec.priority,
        "parent": ITEM_IDS[spec.parent] if spec.parent else None,
        "depends_on": [ITEM_IDS[key] for key in spec.depends_on],
        "branch": spec.branch,
        "commit": sha(f"pr-{spec.pr}" if spec.pr else spec.key) if spec.commit else None,
        "pr": spec.pr,
        "assignee": spec.assignee,
        "labels": spec.labels,
        "created_at": iso(created),
        "created_by": spec.created_by,
        "description": spec.description,
        "metadata": spec.metadata,
    }
    if spec.status != "active" or rng.random() < 0.6:
        updated = created + timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 6))
        data["updated_at"] = iso(min(updated, NOW))
    return data


# ---------------------------------------------------------------------------------------------
# Vendors: 45, two thirds operational.

OPERATIONAL = [
    "harbor-securities", "bluewater-brokerage", "summit-federal", "granite-state-savings",
    "cedar-ridge-bank", "pacific-crest-investments", "lakeshore-wealth", "ironbridge-markets",
    "silverline-advisors", "redwood-pension-fund", "crescent-asset-management", "evergreen-mutual",
    "harborview-credit", "pinnacle-clearing", "coldwater-securities", "riverbend-financial",
    "highland-custody", "sterling-row-capital", "westgate-insurance", "maple-leaf-brokerage",
    "brightwater-funds", "stonegate-partners", "northstar-payroll", "goldcrest-holdings",
    "bayside-community-bank", "kingsbridge-asset", "prairie-farm-credit", "clearwater-custodial",
    "ashford-private-bank", "orchard-lane-finance",
]  # fmt: skip
BROKEN = [
    "northwind-bank", "alpine-trust", "keystone-capital", "meridian-credit-union", "oakmont-trust",
    "fairhaven-bancorp", "copperfield-bank", "tidewater-savings", "lighthouse-annuities",
    "vantage-point-fx", "glacier-wealth", "hollow-creek-cu", "seaport-clearing",
    "union-square-trust", "thornbury-capital",
]  # fmt: skip
PEOPLE = ("maria.chen", "dev.okafor", "lena.fischer", "sam.patel")


@dataclass
class VendorFacts:
    """What the work items and deployments say about a vendor, where chance must not decide."""

    formats: tuple[str, ...]
    created: str | None = None  # YYYY-MM-DD; default: early 2025, before the first deployment
    version: str | None = None
    updated: str | None = None


VENDOR_FACTS = {
    "harbor-securities": VendorFacts(("csv", "pdf"), "2026-01-20", "0.9.0-beta.2", "2026-02-10"),
    "alpine-trust": VendorFacts(("pdf", "ocr"), "2026-02-02", "0.3.1", "2026-03-16"),
    "northwind-bank": VendorFacts(("csv", "pdf"), updated="2026-03-16"),
    "keystone-capital": VendorFacts(("excel",)),
    "meridian-credit-union": VendorFacts(("csv", "excel")),
}


def vendor_record(name: str) -> dict[str, Any]:
    rng = rng_for(f"vendor:{name}")
    broken = name in BROKEN
    facts = VENDOR_FACTS.get(name)
    pdf = rng.random() < 0.7
    formats = {
        "excel": rng.random() < 0.45,
        "csv": rng.random() < 0.6 or not pdf,
        "pdf": pdf,
        "ocr": pdf and rng.random() < 0.3,
    }
    if facts is not None:
        formats = {flag: flag in facts.formats for flag in formats}
    total = rng.randint(18, 180)
    skipped = rng.choice((0, 0, 0, 1, 2, 3, 5))
    failing = rng.randint(3, max(4, total // 4)) if broken else 0
    created_day = f"2025-{rng.randint(2, 5):02d}-{rng.randint(1, 28):02d}"
    created = stamp(facts.created if facts and facts.created else created_day, name)
    updated = min(created + timedelta(days=rng.randint(5, 300)), NOW)
    if facts is not None and facts.updated:
        updated = stamp(facts.updated, f"updated:{name}")
    version = f"{rng.choice((1, 2, 2, 3))}.{rng.randint(0, 9)}.{rng.randint(0, 14)}"
    if facts is not None and facts.version:
        version = facts.version
    return {
        "name": name,
        "status": "broken" if broken else "operational",
        "extractor_version": version,
        "format_support": formats,
        "test_results": {"passing": total - skipped - failing, "total": total, "skipped": skipped},
        "manifest_compliant": rng.random() < (0.3 if broken else 0.85) and name not in VENDOR_FACTS,
        "created_at": iso(created),
        "updated_at": iso(updated),
        "created_by": rng.choice(PEOPLE),
        "updated_by": "claude-code" if rng.random() < 0.5 else rng.choice(PEOPLE),
    }


# ---------------------------------------------------------------------------------------------
# Deployments and enhancements.


@dataclass
class DeploySpec:
    hex: str
    day: str
    pr: int
    title: str
    branch: str
    tests: dict[str, int]
    vendors: list[str]
    items: list[str]
    compliant: bool = True
    created_by: str = "github-actions"


DEPLOYMENTS = [
    DeploySpec("182cc9", "2025-06-03", 412, "Manifest v2 JSON Schema", "feat/manifest-v2",
               {"unit": 96, "integration": 8}, ["bluewater-brokerage", "summit-federal"],
               ["t_manifest_schema", "st_manifest_fields"]),
    DeploySpec("98d7fb", "2025-06-17", 418, "Migrate vendor manifests from v1 to v2",
               "feat/manifest-migration", {"unit": 104, "integration": 10, "golden": 212},
               ["cedar-ridge-bank", "lakeshore-wealth", "ironbridge-markets", "evergreen-mutual",
                "pinnacle-clearing", "highland-custody"],
               ["st_manifest_migrate", "sst_migrate_tests"]),
    DeploySpec("2def2b", "2025-07-01", 421, "Manifest compliance check in CI",
               "ci/manifest-compliance", {"unit": 110, "integration": 12},
               ["summit-federal"], ["t_manifest_lint", "s_manifest"], created_by="dev.okafor"),
    DeploySpec("977dc7", "2025-08-12", 430, "CSV dialect sniffing per vendor",
               "feat/csv-sniffing", {"unit": 131, "integration": 14},
               ["cedar-ridge-bank", "riverbend-financial", "meridian-credit-union"],
               ["t_csv_sniff", "st_csv_bom"]),
    DeploySpec("9f002a", "2025-08-26", 436, "Decimal-comma parsing for EU vendors",
               "feat/csv-decimal-comma", {"unit": 139, "integration": 14, "property": 6},
               ["maple-leaf-brokerage", "ashford-private-bank", "alpine-trust"],
               ["st_csv_decimal", "sst_csv_locale", "s_csv"], compliant=False),
    DeploySpec("007da0", "2025-10-21", 455, "Detect image-only PDF pages", "feat/ocr-detect",
               {"unit": 152, "integration": 17}, ["fairhaven-bancorp", "glacier-wealth"],
               ["st_ocr_detect"], created_by="claude-code"),
    DeploySpec("eaf351", "2025-11-18", 461, "Profiling harness for slow extractors",
               "perf/extractors", {"unit": 158, "integration": 17, "benchmark": 10},
               [], ["t_perf_profile", "st_perf_report"]),
    DeploySpec("3b0d56", "2026-01-13", 468, "Triage report for broken vendors",
               "fix/triage-tooling", {"unit": 171, "integration": 19},
               ["keystone-capital", "meridian-credit-union", "oakmont-trust", "tidewater-savings"],
               ["t_fix_triage"], created_by="claude-code"),
    DeploySpec("7ed76e", "2026-02-10", 472, "harbor-securities: positions table parser (beta)",
               "onboard/harbor-securities", {"unit": 186, "integration": 22, "golden": 240},
               ["harbor-securities"], ["t_w3_harbor", "st_w3_harbor_fixtures"]),
    DeploySpec("0f1b62", "2026-03-17", 480, "northwind-bank: detect the new two-line header",
               "fix/northwind-header", {"unit": 190, "integration": 22, "golden": 251},
               ["northwind-bank"], ["t_fix_northwind", "st_fix_northwind_header"],
               compliant=False, created_by="claude-code"),
]  # fmt: skip


def deployment_record(spec: DeploySpec) -> dict[str, Any]:
    return {
        "id": f"{DEPLOYMENT.id_prefix}-{spec.hex}",
        "deployed_at": iso(stamp(spec.day, f"deploy:{spec.pr}")),
        "commit": sha(f"pr-{spec.pr}"),
        "branch": spec.branch,
        "pr": spec.pr,
        "pr_title": spec.title,
        "test_summary": spec.tests,
        "constitutional_compliance": spec.compliant,
        "vendors": spec.vendors,
        "work_items": [ITEM_IDS[key] for key in spec.items],
        "created_by": spec.created_by,
    }


@dataclass
class EnhancementSpec:
    hex: str
    title: str
    description: str
    priority: int
    status: str
    quarter: str
    principles: list[str]
    depends_on: list[str]
    created: str
    created_by: str


ENHANCEMENTS = [
    EnhancementSpec("9ed3b5", "Streaming extraction API for very large statements",
                    "Yield rows as they are parsed so 500 MB exports fit in a small worker.",
                    2, "approved", "2026-Q3", [PURE], ["t_perf_stream"], "2025-12-08",
                    "dev.okafor"),
    EnhancementSpec("3517b9", "Self-service vendor onboarding wizard",
                    "Generate the manifest, fixtures folder and test skeleton from three sample "
                    "documents.", 3, "planned", "2026-Q4", [MANIFEST, GOLDEN],
                    ["t_w3_manifests"], "2026-02-12", "sam.patel"),
    EnhancementSpec("23c9d6", "Handwriting recognition for cheque images",
                    "Read amounts and dates from scanned cheques.", 5, "planned", "2027-Q2",
                    [NO_DATA], [], "2025-10-30", "lena.fischer"),
    EnhancementSpec("e160d2", "Layout-aware table extraction with a vision model",
                    "Find table regions with a small vision model before text extraction.",
                    2, "planned", "2027-Q1", [PURE, NO_DATA], ["r_layout"], "2025-12-03",
                    "lena.fischer"),
    EnhancementSpec("9f3d6d", "Per-vendor drift alerts",
                    "Alert the owning developer when a vendor's golden tests start failing in "
                    "the nightly run.", 1, "implementing", "2026-Q2", [GOLDEN],
                    ["t_fix_triage"], "2026-01-15", "maria.chen"),
    EnhancementSpec("30dd3d", "Manifest v3: declarative column mappings",
                    "Describe column mappings in the manifest instead of in code.",
                    3, "approved", "2026-Q4", [MANIFEST, PURE], ["t_manifest_lint"],
                    "2025-09-02", "maria.chen"),
    EnhancementSpec("ff4baf", "Signed extractor releases",
                    "Sign every extractor release so deployments can prove what ran.",
                    2, "completed", "2026-Q1", [NO_DATA], [], "2025-08-18", "dev.okafor"),
    EnhancementSpec("25bd5d", "XBRL export of extracted statements",
                    "Offer XBRL next to CSV and JSON for regulatory filings.", 4, "planned",
                    "2027-Q1", [MANIFEST], [], "2026-03-02", "sam.patel"),
]  # fmt: skip


def enhancement_record(spec: EnhancementSpec) -> dict[str, Any]:
    created = stamp(spec.created, f"enh:{spec.hex}")
    updated = min(created + timedelta(days=rng_for(f"enh:{spec.hex}").randint(3, 60)), NOW)
    return {
        "id": f"{ENHANCEMENT.id_prefix}-{spec.hex}",
        "title": spec.title,
        "description": spec.description,
        "priority": spec.priority,
        "status": spec.status,
        "target_quarter": spec.quarter,
        "requires_constitutional_principles": spec.principles,
        "depends_on": [ITEM_IDS[key] for key in spec.depends_on],
        "created_at": iso(created),
        "updated_at": iso(updated),
        "created_by": spec.created_by,
    }


# ---------------------------------------------------------------------------------------------
# Writing.


def render(kind: Kind, relative: str, data: dict[str, Any]) -> str:
    """A record's file text, exactly as the tool writes it; refuses an invalid record."""
    record = kind.adapter.validate_python(data)
    return dump_record(record_as_data(record), kind.key_order, schema_ref(relative, kind))


def config_text() -> str:
    """tracker.yaml: `tracker init`'s commented template with the current session set."""
    text = CONFIG_TEMPLATE.format(schema=schema_ref(CONFIG_FILE, CONFIG), prefix=DEFAULT_ID_PREFIX)
    placeholder = f"  # current_session: {DEFAULT_ID_PREFIX}-7f3a9c\n"
    if placeholder not in text:
        raise SystemExit("CONFIG_TEMPLATE changed: no commented current_session line to fill in")
    session = ITEM_IDS[CURRENT_SESSION]
    text = text.replace(placeholder, f"  current_session: {session}\n")
    config = CONFIG.adapter.validate_python(load_yaml_text(text, CONFIG_FILE).data)
    assert config.project.current_session == session
    return text


def example_files() -> dict[str, str]:
    """Path inside the tracker root -> text, for every record file (schema/ aside)."""
    files = {CONFIG_FILE: config_text()}
    created = {spec.key: spec.created for spec in ITEMS}
    for spec in ITEMS:
        if spec.parent is not None and created[spec.parent] > spec.created:
            raise SystemExit(f"{spec.key} is created before its parent {spec.parent}")
        kind = ARCHIVED_ITEM if spec.archived else WORK_ITEM
        relative = f"{kind.folder}/{ITEM_IDS[spec.key]}.yaml"
        files[relative] = render(kind, relative, item_record(spec))
    for name in OPERATIONAL + BROKEN:
        relative = f"{VENDOR.folder}/{name}.yaml"
        files[relative] = render(VENDOR, relative, vendor_record(name))
    for deploy in DEPLOYMENTS:
        data = deployment_record(deploy)
        relative = f"{DEPLOYMENT.folder}/{data['id']}.yaml"
        files[relative] = render(DEPLOYMENT, relative, data)
    for enhancement in ENHANCEMENTS:
        data = enhancement_record(enhancement)
        relative = f"{ENHANCEMENT.folder}/{data['id']}.yaml"
        files[relative] = render(ENHANCEMENT, relative, data)
    return files


def is_example(target: Path) -> bool:
    """Whether `target` holds an earlier run's output (never wipe a real tracker's records)."""
    config = target / CONFIG_FILE
    marker = f"\n  current_session: {ITEM_IDS[CURRENT_SESSION]}\n"
    return config.is_file() and marker in config.read_text(encoding="utf-8")


def write_example(target: Path) -> int:
    """(Re)write the example tracker in `target`; returns the number of record files."""
    if target.exists() and any(target.iterdir()) and not is_example(target):
        raise SystemExit(f"{target} is not empty and not this example: refusing to write there")
    files = example_files()
    for folder in OWNED_FOLDERS:  # start clean so records dropped from this script disappear
        shutil.rmtree(target / folder, ignore_errors=True)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    export_schemas(target / SCHEMA_DIR)
    report = validate_root(target)
    if not report.ok:
        problems = "\n".join(str(problem) for problem in report.problems)
        raise SystemExit(f"the example does not validate:\n{problems}")
    return len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "output", nargs="?", type=Path, default=DEFAULT_OUTPUT, help="tracker root to write"
    )
    args = parser.parse_args(argv)
    count = write_example(args.output)
    print(f"wrote {count} record files and the schemas to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
