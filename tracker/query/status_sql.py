"""The status report's queries: each section is selected, ordered and counted here, so the
service only walks rows in order and the template only prints them.

A status report reads most of the index (every active item at 10,000 items), so each
query selects only the columns its section prints. The model's statuses and types are
written into the SQL as literals: a list bound as a parameter costs DuckDB about a
millisecond more per query, a lot beside the 1-3 ms these take on a small tracker.
"""

from __future__ import annotations

from tracker.model.enhancement import EnhancementStatus
from tracker.model.work_item import ItemStatus, ItemType
from tracker.query.sql import Sql


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Groups appear in the order the model declares the types; a type it does not know, last.
TYPE_ORDER = "ARRAY[" + ", ".join(_literal(item_type) for item_type in ItemType) + "]"
OPEN_STATUSES = ", ".join(_literal(status) for status in (ItemStatus.ACTIVE, ItemStatus.BLOCKED))
COMPLETED = _literal(ItemStatus.COMPLETED)
ENHANCEMENT_DONE = _literal(EnhancementStatus.COMPLETED)
LIVE = "i.deleted_at IS NULL AND NOT i.archived"


def vendors() -> Sql:
    return (
        "SELECT name, status, extractor_version, tests_passing, tests_total, tests_skipped, "
        "excel, csv, pdf, ocr, manifest_compliant FROM vendors ORDER BY name, file",
        [],
    )


def active_items() -> Sql:
    """Live active and blocked items by type, then priority, then place in the hierarchy
    (parents before their children). (The shallowest depth of each group is left to the
    caller, who walks the rows anyway: a window function here costs 15 ms at 10,000.)"""
    return (
        "SELECT i.id, i.type, i.priority, i.title, i.status, i.branch, i.parent, h.depth "
        "FROM items i LEFT JOIN hierarchy h ON h.id = i.id "
        f"WHERE i.status IN ({OPEN_STATUSES}) AND {LIVE} "
        f"ORDER BY array_position({TYPE_ORDER}, i.type) NULLS LAST, i.type, i.priority, "
        "h.path NULLS LAST, i.id",
        [],
    )


def recent_deployments(limit: int) -> Sql:
    return (
        "SELECT d.id, d.deployed_at, d.pr, d.pr_title, d.commit_sha AS commit, d.test_summary, "
        "d.constitutional_compliance, "
        "(SELECT array_agg(x.vendor ORDER BY x.vendor) FROM deployment_vendors x "
        "WHERE x.file = d.file) AS vendors "
        f"FROM deployments d ORDER BY d.deployed_at DESC, d.id LIMIT {int(limit)}",
        [],
    )


def pending_enhancements() -> Sql:
    return (
        "SELECT id, title, priority, status, target_quarter FROM enhancements "
        f"WHERE status <> {ENHANCEMENT_DONE} ORDER BY priority, target_quarter NULLS LAST, id",
        [],
    )


def counts() -> Sql:
    """Archived items (whatever their status), and the live items by status."""
    return (
        "SELECT count(*) FILTER (WHERE archived) AS archived, "
        "count(*) FILTER (WHERE NOT archived AND deleted_at IS NULL) AS live "
        "FROM items",
        [],
    )


def open_edges(limit: int) -> Sql:
    """Dependencies still open (the target is neither completed nor deleted, or does not
    exist: the rule of `open_deps`) of the live items not completed, the most urgent items'
    first, with both ends' titles; `total` counts them all, beyond `limit`."""
    return (
        "SELECT d.item, i.title AS item_title, d.depends_on, t.title AS target_title, "
        "count(*) OVER () AS total "
        "FROM deps d JOIN items i ON i.file = d.file "
        "LEFT JOIN items t ON t.id = d.depends_on "
        f"WHERE i.status <> {COMPLETED} AND {LIVE} "
        f"AND (t.id IS NULL OR (t.status <> {COMPLETED} AND t.deleted_at IS NULL)) "
        f"ORDER BY i.priority, d.item, d.position LIMIT {int(limit)}",
        [],
    )
