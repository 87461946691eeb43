"""Queries compiled to parameterised SQL over the index's tables."""

from __future__ import annotations

from typing import Any

from tracker.query.spec import SORTS, DeploymentQuery, EnhancementQuery, ItemQuery

ITEM_COLUMNS = """
    i.id, i.type, i.title, i.status, i.priority, i.parent, h.depth, h.path AS tree_path,
    i.branch, i.commit_sha AS commit, i.pr, i.assignee, i.labels, i.created_at, i.updated_at,
    i.created_by, i.deleted_at, i.archived, i.description, i.metadata,
    COALESCE(o.open, 0) AS open_dependencies, v.version, v.author AS changed_by,
    v.changed_at, (f.blob IS DISTINCT FROM f.head_blob) AS dirty, i.file
"""
ITEM_FROM = """
    FROM items i
    LEFT JOIN hierarchy h ON h.id = i.id
    LEFT JOIN open_deps o ON o.item = i.id
    LEFT JOIN versions v ON v.file = i.file
    LEFT JOIN files f ON f.file = i.file
"""

Sql = tuple[str, list[Any]]

# Descendants share the ancestor's materialised path as a prefix (compared as text: an id
# may hold `_`, a LIKE wildcard).
UNDER = "starts_with(h.path, (SELECT path FROM hierarchy WHERE id = ?) || '/')"


def item_filters(query: ItemQuery) -> Sql:
    clauses = ["i.archived = ?"]
    params: list[Any] = [query.archived]
    if not query.include_deleted:
        clauses.append("i.deleted_at IS NULL")
    simple = {
        "i.type": query.type,
        "i.status": query.status,
        "i.assignee": query.assignee,
        "i.priority": query.priority,
        "i.branch": query.branch,
        "i.parent": query.parent,
    }
    for column, value in simple.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.roots_only:
        clauses.append("i.parent IS NULL")
    if query.label is not None:
        clauses.append("list_contains(i.labels, ?)")
        params.append(query.label)
    if query.under is not None:
        clauses.append(UNDER)
        params.append(query.under)
    if query.text:
        # plain substring search: the user's % and _ are text, not LIKE wildcards
        clauses.append(
            "(contains(lower(i.title), lower(?)) OR "
            "contains(lower(COALESCE(i.description, '')), lower(?)))"
        )
        params += [query.text, query.text]
    return " AND ".join(clauses), params


def list_items(query: ItemQuery) -> tuple[Sql, Sql]:
    """(page query, count query)."""
    where, params = item_filters(query)
    order = SORTS[query.sort]
    page = (
        f"SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, query.limit, query.offset],
    )
    count = (f"SELECT count(*) AS n {ITEM_FROM} WHERE {where}", list(params))
    return page, count


def item_by_id(item_id: str) -> Sql:
    return f"SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE i.id = ?", [item_id]


def items_by_ids(ids: list[str]) -> Sql:
    marks = ", ".join("?" for _ in ids) or "NULL"
    return f"SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE i.id IN ({marks})", list(ids)


def descendants(item_id: str, max_depth: int | None = None) -> Sql:
    sql = f"SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE {UNDER}"
    params: list[Any] = [item_id]
    if max_depth is not None:
        sql += " AND h.depth <= (SELECT depth FROM hierarchy WHERE id = ?) + ?"
        params += [item_id, max_depth]
    return sql + " ORDER BY h.path", params


def tree(max_depth: int | None, include_deleted: bool) -> Sql:
    clauses = ["i.archived = false"]
    params: list[Any] = []
    if not include_deleted:
        clauses.append("i.deleted_at IS NULL")
    if max_depth is not None:
        clauses.append("h.depth <= ?")
        params.append(max_depth)
    where = " AND ".join(clauses)
    return f"SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE {where} ORDER BY h.path NULLS LAST", params


def dependencies_of(item_id: str) -> Sql:
    return (
        f"SELECT {ITEM_COLUMNS} {ITEM_FROM} JOIN deps d ON d.depends_on = i.id "
        "WHERE d.item = ? ORDER BY d.position",
        [item_id],
    )


def dependents_of(item_id: str) -> Sql:
    return (
        f"SELECT {ITEM_COLUMNS} {ITEM_FROM} JOIN deps d ON d.item = i.id "
        "WHERE d.depends_on = ? ORDER BY i.id",
        [item_id],
    )


def missing_dependencies(item_id: str) -> Sql:
    return (
        "SELECT d.depends_on FROM deps d LEFT JOIN items t ON t.id = d.depends_on "
        "WHERE d.item = ? AND t.id IS NULL ORDER BY d.position",
        [item_id],
    )


def ready(limit: int) -> Sql:
    """Active, live items with no open dependency, best first: priority, then age."""
    return (
        f"SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE i.status = 'active' AND "
        "i.deleted_at IS NULL AND NOT i.archived AND COALESCE(o.open, 0) = 0 "
        f"ORDER BY {SORTS['priority']} LIMIT ?",
        [limit],
    )


def blocked(limit: int) -> Sql:
    return (
        f"SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE i.status <> 'completed' AND "
        "i.deleted_at IS NULL AND NOT i.archived AND COALESCE(o.open, 0) > 0 "
        f"ORDER BY {SORTS['priority']} LIMIT ?",
        [limit],
    )


def open_blockers(item_ids: list[str]) -> Sql:
    marks = ", ".join("?" for _ in item_ids) or "NULL"
    return (
        "SELECT d.item, d.depends_on, t.status, t.title FROM deps d "
        "LEFT JOIN items t ON t.id = d.depends_on WHERE d.item IN (" + marks + ") AND "
        "(t.id IS NULL OR (t.status <> 'completed' AND t.deleted_at IS NULL)) "
        "ORDER BY d.item, d.depends_on",
        list(item_ids),
    )


def deployments_of_item(item_id: str) -> Sql:
    return (
        "SELECT d.id, d.deployed_at, d.pr, d.pr_title, d.commit_sha AS commit "
        "FROM deployments d JOIN deployment_items x ON x.deployment = d.id "
        "WHERE x.item = ? ORDER BY d.deployed_at DESC",
        [item_id],
    )


VENDOR_COLUMNS = """
    x.name, x.status, x.extractor_version, x.excel, x.csv, x.pdf, x.ocr, x.tests_passing,
    x.tests_total, x.tests_skipped, x.manifest_compliant, x.created_at, x.updated_at,
    x.created_by, x.updated_by, v.version, v.author AS changed_by, v.changed_at,
    (f.blob IS DISTINCT FROM f.head_blob) AS dirty, x.file
"""
VENDOR_FROM = """
    FROM vendors x LEFT JOIN versions v ON v.file = x.file LEFT JOIN files f ON f.file = x.file
"""


def vendors(status: str | None) -> Sql:
    if status is None:
        return f"SELECT {VENDOR_COLUMNS} {VENDOR_FROM} ORDER BY x.name", []
    return f"SELECT {VENDOR_COLUMNS} {VENDOR_FROM} WHERE x.status = ? ORDER BY x.name", [status]


def vendor(name: str) -> Sql:
    return f"SELECT {VENDOR_COLUMNS} {VENDOR_FROM} WHERE lower(x.name) = lower(?)", [name]


DEPLOYMENT_COLUMNS = """
    d.id, d.deployed_at, d.commit_sha AS commit, d.branch, d.pr, d.pr_title, d.test_summary,
    d.constitutional_compliance, d.created_by,
    (SELECT list(vendor ORDER BY vendor) FROM deployment_vendors WHERE deployment = d.id)
        AS vendors,
    (SELECT list(item ORDER BY item) FROM deployment_items WHERE deployment = d.id)
        AS work_items,
    v.version
"""


def deployments(query: DeploymentQuery) -> Sql:
    clauses, params = ["true"], []
    if query.vendor is not None:
        clauses.append("d.id IN (SELECT deployment FROM deployment_vendors WHERE vendor = ?)")
        params.append(query.vendor)
    if query.item is not None:
        clauses.append("d.id IN (SELECT deployment FROM deployment_items WHERE item = ?)")
        params.append(query.item)
    if query.since is not None:
        clauses.append("d.deployed_at >= CAST(? AS TIMESTAMPTZ)")
        params.append(query.since)
    where = " AND ".join(clauses)
    return (
        f"SELECT {DEPLOYMENT_COLUMNS} FROM deployments d LEFT JOIN versions v "
        f"ON v.file = d.file WHERE {where} ORDER BY d.deployed_at DESC, d.id LIMIT ?",
        [*params, query.limit],
    )


def enhancements(query: EnhancementQuery) -> Sql:
    clauses, params = ["true"], []
    for column, value in (
        ("priority", query.priority),
        ("status", query.status),
        ("target_quarter", query.quarter),
    ):
        if value is not None:
            clauses.append(f"e.{column} = ?")
            params.append(value)
    where = " AND ".join(clauses)
    return (
        "SELECT e.id, e.title, e.description, e.priority, e.status, e.target_quarter, "
        "e.principles AS requires_constitutional_principles, "
        "(SELECT list(item ORDER BY item) FROM enhancement_deps WHERE enhancement = e.id) "
        "AS depends_on, e.created_at, e.updated_at, e.created_by, v.version "
        f"FROM enhancements e LEFT JOIN versions v ON v.file = e.file WHERE {where} "
        "ORDER BY e.priority, e.target_quarter NULLS LAST, e.id",
        params,
    )


def problems() -> Sql:
    return "SELECT file, line, field, message FROM problems ORDER BY file, line", []
