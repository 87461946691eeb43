"""Queries compiled to parameterised SQL over the index's tables.

One query layer for both index backends: the SQL here runs unchanged on DuckDB and on
PostgreSQL (`?` placeholders, which the Postgres backend rewrites), so it keeps to what
both speak: `= ANY(list)`, `strpos`, `array_agg`, and explicit, typed unions instead of
DuckDB's `UNION ALL BY NAME`. Text compares byte-wise on both (Postgres columns are
`COLLATE "C"`), so a path prefix is a plain range that either can look up in an index.

DuckDB finds a row through an index in a fraction of a millisecond, but every table a
query joins, and every wide row it fetches, costs more than that (each a few tenths of a
millisecond, whatever the number of rows). So a page of items is chosen on the narrow
columns it is filtered and sorted by, and only the rows chosen are joined to the wide
ones; `show` asks in two round trips of index lookups what it used to ask in seven
joins; and trees select only the columns a tree shows.
"""

from __future__ import annotations

from typing import Any

from tracker.model.kinds import WORK_ITEM
from tracker.query.spec import SORTS, DeploymentQuery, EnhancementQuery, ItemQuery

Sql = tuple[str, list[Any]]

ITEM_COLUMNS = """
    i.id, i.type, i.title, i.status, i.priority, i.parent, h.depth, h.path AS tree_path,
    i.branch, i.commit_sha AS commit, i.pr, i.assignee, i.labels, i.created_at, i.updated_at,
    i.created_by, i.deleted_at, i.archived, i.description, i.metadata,
    COALESCE(o.open, 0) AS open_dependencies, v.version, v.author AS changed_by,
    v.changed_at, (f.blob IS DISTINCT FROM f.head_blob) AS dirty, i.file
"""
ITEM_JOINS = """
    LEFT JOIN hierarchy h ON h.id = i.id
    LEFT JOIN open_deps o ON o.item = i.id
    LEFT JOIN versions v ON v.file = i.file
    LEFT JOIN files f ON f.file = i.file
"""
WITH_PATH = "LEFT JOIN hierarchy h ON h.id = i.id"
# What a tree shows of an item (`reads._brief`), in that order.
BRIEF_COLUMNS = "i.id, i.type, i.title, i.status, i.priority, h.depth, i.parent, v.version"
BRIEF_JOINS = f"{WITH_PATH} LEFT JOIN versions v ON v.file = i.file"

# Descendants share the ancestor's path and a `/` as a prefix: the paths from `path/` up
# to `path0` (`0` follows `/`), a range both backends find in an index (an id may hold `_`,
# a LIKE wildcard, and Postgres does not look `starts_with` up in a btree).
BELOW = "h.path >= ? AND h.path < ?"


def below(path: str | None) -> list[Any]:
    """The bounds of `BELOW` for the item at `path` (None: it has no place, nothing is)."""
    if path is None:
        return [None, None]
    return [path + "/", path + "0"]


# The SQL types of the columns a query of several parts may return, so that a part that
# lacks one selects a typed NULL (Postgres will not guess the type of a bare NULL).
PART_TYPES = {
    "part": "VARCHAR", "id": "VARCHAR", "type": "VARCHAR", "title": "VARCHAR",
    "status": "VARCHAR", "priority": "INTEGER", "parent": "VARCHAR", "branch": "VARCHAR",
    "commit": "VARCHAR", "pr": "INTEGER", "assignee": "VARCHAR", "labels": "VARCHAR[]",
    "created_at": "TIMESTAMPTZ", "updated_at": "TIMESTAMPTZ", "created_by": "VARCHAR",
    "deleted_at": "TIMESTAMPTZ", "archived": "BOOLEAN", "description": "VARCHAR",
    "metadata": "JSON", "file": "VARCHAR", "tree_path": "VARCHAR", "depth": "INTEGER",
    "position": "INTEGER", "version": "VARCHAR", "changed_by": "VARCHAR",
    "changed_at": "TIMESTAMPTZ", "dirty": "BOOLEAN", "open_dependencies": "INTEGER",
    "depends_on": "VARCHAR",
}  # fmt: skip

Part = tuple[str, dict[str, str], str]  # (name, {column: expression}, FROM ... WHERE ...)


def parts(*selects: Part) -> str:
    """One query of several parts told apart by a `part` column: every part selects every
    column any part has, NULL where it has none (each part in parentheses: it may have its
    own LIMIT)."""
    columns = list(dict.fromkeys(column for _, chosen, _ in selects for column in chosen))
    unions = []
    for name, chosen, tail in selects:
        listed = ", ".join(
            f"{chosen[column]} AS {column}"
            if column in chosen
            else f"CAST(NULL AS {PART_TYPES[column]}) AS {column}"
            for column in columns
        )
        unions.append(f"(SELECT '{name}' AS part, {listed} {tail})")
    return " UNION ALL ".join(unions)


OPEN = "EXISTS (SELECT 1 FROM open_deps o WHERE o.item = i.id AND o.open > 0)"


def marks(values: list[Any]) -> str:
    """Placeholders for an IN list (an empty list matches nothing)."""
    return ", ".join("?" for _ in values) or "NULL"


def item_filters(query: ItemQuery, under_path: str | None = None) -> Sql:
    """`under_path`: the materialised path of `query.under` (None: it has none)."""
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
        clauses.append("? = ANY(i.labels)")
        params.append(query.label)
    if query.under is not None:
        clauses.append(BELOW)
        params += below(under_path)
    if query.text:
        # plain substring search: the user's % and _ are text, not LIKE wildcards
        clauses.append(
            "(strpos(lower(i.title), lower(?)) > 0 OR "
            "strpos(lower(COALESCE(i.description, '')), lower(?)) > 0)"
        )
        params += [query.text, query.text]
    return " AND ".join(clauses), params


def page(where: Sql, order: str, limit: int, offset: int = 0, joins: str = "") -> Sql:
    """Items in full, but only the `limit` rows chosen (from the narrow columns `where` and
    `order` read, joined to `joins`) are joined to the wide ones. `file` names one row."""
    sql, params = where
    return (
        f"WITH page AS (SELECT i.file FROM items i {joins} WHERE {sql} "
        f"ORDER BY {order} LIMIT ? OFFSET ?) "
        f"SELECT {ITEM_COLUMNS} FROM page JOIN items i ON i.file = page.file {ITEM_JOINS} "
        f"ORDER BY {order}",
        [*params, limit, offset],
    )


def path_of(item_id: str) -> Sql:
    return "SELECT path FROM hierarchy WHERE id = ?", [item_id]


def list_items(query: ItemQuery, under_path: str | None = None) -> tuple[Sql, Sql]:
    """(page query, count query)."""
    where, params = item_filters(query, under_path)
    needs_path = query.under is not None or query.sort == "tree"
    joins = WITH_PATH if needs_path else ""
    found = page((where, params), SORTS[query.sort], query.limit, query.offset, joins)
    count_joins = WITH_PATH if query.under is not None else ""
    count = (f"SELECT count(*) AS n FROM items i {count_joins} WHERE {where}", list(params))
    return found, count


READY_LIVE = "i.status = 'active' AND i.deleted_at IS NULL AND NOT i.archived"


def ready(limit: int, candidates: int | None = None) -> Sql:
    """Active, live items with no open dependency, best first: priority, then age.

    With `candidates`, only the first that many active, live items (blocked or not) are
    looked at: when `limit` of them are unblocked, they are the answer (every item after
    them ranks lower), found without testing every active item for open dependencies, which
    costs half the query at 100,000 items. Fewer than `limit` found: ask again without."""
    order = SORTS["priority"]
    if candidates is None:
        return page((f"{READY_LIVE} AND NOT {OPEN}", []), order, limit)
    return (
        f"WITH first AS (SELECT i.file, i.id, i.priority, i.created_at FROM items i "
        f"WHERE {READY_LIVE} ORDER BY {order} LIMIT ?), "
        f"page AS (SELECT i.file FROM first i WHERE NOT {OPEN} ORDER BY {order} LIMIT ?) "
        f"SELECT {ITEM_COLUMNS} FROM page JOIN items i ON i.file = page.file {ITEM_JOINS} "
        f"ORDER BY {order}",
        [candidates, limit],
    )


def blocked(limit: int) -> Sql:
    where = f"i.status <> 'completed' AND i.deleted_at IS NULL AND NOT i.archived AND {OPEN}"
    return page((where, []), SORTS["priority"], limit)


def open_blockers(item_ids: list[str]) -> Sql:
    return (
        "SELECT d.item, d.depends_on, t.status, t.title FROM deps d "
        f"LEFT JOIN items t ON t.id = d.depends_on WHERE d.item IN ({marks(item_ids)}) AND "
        "(t.id IS NULL OR (t.status <> 'completed' AND t.deleted_at IS NULL)) "
        "ORDER BY d.item, d.depends_on",
        list(item_ids),
    )


# -- one item and what it links to (`show`) ------------------------------------------------

# The item's row as `show` reads it: the fields of its file (the dependencies come apart),
# where it lies and whether it is archived.
RECORD_COLUMNS = {field: field for field in WORK_ITEM.key_order if field != "depends_on"} | {
    "commit": "commit_sha",
    "archived": "archived",
    "file": "file",
}


def item_record(item_id: str) -> Sql:
    """The item's own row (two when an id is in two files)."""
    listed = ", ".join(f"{expr} AS {column}" for column, expr in RECORD_COLUMNS.items())
    return f"SELECT {listed} FROM items WHERE id = ?", [item_id]


def item_links(item_id: str) -> Sql:
    """The first round trip of `show` besides `item_record`: only index lookups on the id,
    told apart by `part` (a column a part lacks is NULL): its `path`, its `depends_on`
    targets (with their `position`), the items it `blocks`, whether it has a `child`, and
    its `deployment`s. (The wide record apart: padding every part to its columns costs
    DuckDB twice the time of a second query.)"""
    return (
        parts(
            ("path", {"tree_path": "path", "depth": "depth"}, "FROM hierarchy WHERE id = ?"),
            ("depends_on", {"id": "depends_on", "position": "position"},
             "FROM deps WHERE item = ?"),
            ("blocks", {"id": "item"}, "FROM deps WHERE depends_on = ?"),
            ("child", {"id": "id"}, "FROM items WHERE parent = ? LIMIT 1"),
            ("deployment", {"id": "deployment"}, "FROM deployment_items WHERE item = ?"),
        ),
        [item_id] * 5,
    )  # fmt: skip


BRIEF_PART = {
    column: f"i.{column}" for column in ("id", "type", "title", "status", "priority", "parent")
} | {"version": "v.version", "changed_by": "v.author", "changed_at": "v.changed_at",
     "file": "i.file"}  # fmt: skip


def linked_items(item_ids: list[str], depths: list[str], opened: str | None, file: str) -> Sql:
    """The second round trip of `show`: the `brief` rows (but the depth) of some items,
    with their file's version, the `depth` of some of them, the `open` count of `opened`,
    and the state of `file` (the item's own: is it `dirty`)."""
    selects: list[Part] = [
        ("brief", BRIEF_PART,
         f"FROM items i LEFT JOIN versions v ON v.file = i.file WHERE i.id IN ({marks(item_ids)})"),
        ("file", {"dirty": "(blob IS DISTINCT FROM head_blob)"}, "FROM files WHERE file = ?"),
    ]  # fmt: skip
    params: list[Any] = [*item_ids, file]
    if depths:
        selects.append(depth_part(depths))
        params += depths
    if opened is not None:
        selects.append(("open", {"open_dependencies": "open"}, "FROM open_deps WHERE item = ?"))
        params.append(opened)
    return parts(*selects), params


def depth_part(item_ids: list[str]) -> Part:
    return ("depth", {"id": "id", "depth": "depth"},
            f"FROM hierarchy WHERE id IN ({marks(item_ids)})")  # fmt: skip


def depth_of(item_ids: list[str]) -> Sql:
    return parts(depth_part(item_ids)), list(item_ids)


def deployments_of_item(item_id: str) -> Sql:
    return (
        "SELECT d.id, d.deployed_at, d.pr, d.pr_title, d.commit_sha AS commit "
        "FROM deployments d JOIN deployment_items x ON x.deployment = d.id "
        "WHERE x.item = ? ORDER BY d.deployed_at DESC",
        [item_id],
    )


# -- trees ---------------------------------------------------------------------------------


def tree_root(item_id: str) -> Sql:
    """The brief rows of a tree's root, with its path and whether it is deleted."""
    return (
        f"SELECT {BRIEF_COLUMNS}, h.path AS tree_path, i.deleted_at IS NOT NULL AS deleted "
        f"FROM items i {BRIEF_JOINS} WHERE i.id = ?",
        [item_id],
    )


def descendants(path: str, max_depth: int | None, include_deleted: bool) -> Sql:
    """Brief rows of everything below the item at `path`, down to depth `max_depth`."""
    clauses = [BELOW]
    params: list[Any] = below(path)
    if max_depth is not None:
        clauses.append("h.depth <= ?")
        params.append(max_depth)
    if not include_deleted:
        clauses.append("i.deleted_at IS NULL")
    return (
        f"SELECT {BRIEF_COLUMNS} FROM hierarchy h JOIN items i ON i.id = h.id "
        f"LEFT JOIN versions v ON v.file = i.file WHERE {' AND '.join(clauses)} "
        "ORDER BY h.path, i.id",
        params,
    )


def tree(max_depth: int | None, include_deleted: bool) -> Sql:
    clauses = ["i.archived = false"]
    params: list[Any] = []
    if not include_deleted:
        clauses.append("i.deleted_at IS NULL")
    if max_depth is not None:
        clauses.append("h.depth <= ?")
        params.append(max_depth)
    where = " AND ".join(clauses)
    return (
        f"SELECT {BRIEF_COLUMNS} FROM items i {BRIEF_JOINS} WHERE {where} "
        "ORDER BY h.path NULLS LAST, i.id",
        params,
    )


def dependency_step(item_ids: list[str]) -> Sql:
    """One step of a walk along dependencies: the `edge`s out of some items, and their own
    `title` and `status` (an id no item has is missing)."""
    where = f"IN ({marks(item_ids)})"
    return (
        parts(
            ("edge", {"id": "item", "depends_on": "depends_on"}, f"FROM deps WHERE item {where}"),
            ("item", {"id": "id", "title": "title", "status": "status"},
             f"FROM items WHERE id {where}"),
        ),
        [*item_ids, *item_ids],
    )  # fmt: skip


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
    (SELECT array_agg(vendor ORDER BY vendor) FROM deployment_vendors WHERE deployment = d.id)
        AS vendors,
    (SELECT array_agg(item ORDER BY item) FROM deployment_items WHERE deployment = d.id)
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
        "(SELECT array_agg(item ORDER BY item) FROM enhancement_deps WHERE enhancement = e.id) "
        "AS depends_on, e.created_at, e.updated_at, e.created_by, v.version "
        f"FROM enhancements e LEFT JOIN versions v ON v.file = e.file WHERE {where} "
        "ORDER BY e.priority, e.target_quarter NULLS LAST, e.id",
        params,
    )


def problems() -> Sql:
    return "SELECT file, line, field, message FROM problems ORDER BY file, line", []
