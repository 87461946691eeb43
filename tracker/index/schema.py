"""The index's tables. Bump SCHEMA_VERSION on any change: an index of another version is
rebuilt from the files, never migrated (it holds nothing the files do not)."""

from __future__ import annotations

from collections.abc import Iterable

SCHEMA_VERSION = 3

# table -> columns (name, SQL type); every row table carries the file it came from, so a
# changed file's rows are replaced by deleting on `file` and inserting the new ones.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "files": (
        ("file", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("key", "VARCHAR"),
        ("blob", "VARCHAR"),
        ("head_blob", "VARCHAR"),
        ("mtime_ns", "BIGINT"),
        ("size", "BIGINT"),
        ("valid", "BOOLEAN"),
    ),
    "versions": (
        ("file", "VARCHAR"),
        ("version", "VARCHAR"),
        ("author", "VARCHAR"),
        ("changed_at", "TIMESTAMPTZ"),
    ),
    "problems": (
        ("file", "VARCHAR"),
        ("line", "INTEGER"),
        ("field", "VARCHAR"),
        ("message", "VARCHAR"),
    ),
    "items": (
        ("file", "VARCHAR"),
        ("id", "VARCHAR"),
        ("archived", "BOOLEAN"),
        ("type", "VARCHAR"),
        ("title", "VARCHAR"),
        ("status", "VARCHAR"),
        ("priority", "INTEGER"),
        ("parent", "VARCHAR"),
        ("branch", "VARCHAR"),
        ("commit_sha", "VARCHAR"),
        ("pr", "INTEGER"),
        ("assignee", "VARCHAR"),
        ("labels", "VARCHAR[]"),
        ("created_at", "TIMESTAMPTZ"),
        ("updated_at", "TIMESTAMPTZ"),
        ("created_by", "VARCHAR"),
        ("deleted_at", "TIMESTAMPTZ"),
        ("description", "VARCHAR"),
        ("metadata", "JSON"),
    ),
    "deps": (
        ("file", "VARCHAR"),
        ("item", "VARCHAR"),
        ("depends_on", "VARCHAR"),
        ("position", "INTEGER"),
    ),
    "vendors": (
        ("file", "VARCHAR"),
        ("name", "VARCHAR"),
        ("status", "VARCHAR"),
        ("extractor_version", "VARCHAR"),
        ("excel", "BOOLEAN"),
        ("csv", "BOOLEAN"),
        ("pdf", "BOOLEAN"),
        ("ocr", "BOOLEAN"),
        ("tests_passing", "INTEGER"),
        ("tests_total", "INTEGER"),
        ("tests_skipped", "INTEGER"),
        ("manifest_compliant", "BOOLEAN"),
        ("created_at", "TIMESTAMPTZ"),
        ("updated_at", "TIMESTAMPTZ"),
        ("created_by", "VARCHAR"),
        ("updated_by", "VARCHAR"),
    ),
    "deployments": (
        ("file", "VARCHAR"),
        ("id", "VARCHAR"),
        ("deployed_at", "TIMESTAMPTZ"),
        ("commit_sha", "VARCHAR"),
        ("branch", "VARCHAR"),
        ("pr", "INTEGER"),
        ("pr_title", "VARCHAR"),
        ("test_summary", "JSON"),
        ("constitutional_compliance", "BOOLEAN"),
        ("created_by", "VARCHAR"),
    ),
    "deployment_vendors": (("file", "VARCHAR"), ("deployment", "VARCHAR"), ("vendor", "VARCHAR")),
    "deployment_items": (("file", "VARCHAR"), ("deployment", "VARCHAR"), ("item", "VARCHAR")),
    "enhancements": (
        ("file", "VARCHAR"),
        ("id", "VARCHAR"),
        ("title", "VARCHAR"),
        ("description", "VARCHAR"),
        ("priority", "INTEGER"),
        ("status", "VARCHAR"),
        ("target_quarter", "VARCHAR"),
        ("principles", "VARCHAR[]"),
        ("created_at", "TIMESTAMPTZ"),
        ("updated_at", "TIMESTAMPTZ"),
        ("created_by", "VARCHAR"),
    ),
    "enhancement_deps": (("file", "VARCHAR"), ("enhancement", "VARCHAR"), ("item", "VARCHAR")),
    "config": (("file", "VARCHAR"), ("settings", "JSON")),
}

# The top folders of work-item files (archived ones included), and of vendor files.
ITEM_FOLDERS = ("items", "archive")
VENDOR_FOLDERS = ("vendors",)

# The tables a file's rows can land in, by the file's top folder (tracker.yaml: config).
_ALWAYS = ("files", "problems")
TABLES_BY_FOLDER: dict[str, tuple[str, ...]] = {
    "items": (*_ALWAYS, "items", "deps"),
    "archive": (*_ALWAYS, "items", "deps"),
    "vendors": (*_ALWAYS, "vendors"),
    "deployments": (*_ALWAYS, "deployments", "deployment_vendors", "deployment_items"),
    "enhancements": (*_ALWAYS, "enhancements", "enhancement_deps"),
    "tracker.yaml": (*_ALWAYS, "config"),
}

# Derived from the row tables after every change: hierarchy and what blocks what.
DERIVED = {
    "hierarchy": (("id", "VARCHAR"), ("path", "VARCHAR"), ("depth", "INTEGER")),
    "open_deps": (("item", "VARCHAR"), ("open", "INTEGER")),
}

META = (("key", "VARCHAR"), ("value", "VARCHAR"))

# What this clone last published to a team index (`tracker index publish`): the baseline
# the next publish diffs against, so it sends only what changed. Meta `published_scope`
# and `published_token` say where it went and which publish it was; a team index whose
# token differs was written by someone else since, and the baseline is read from it.
# No primary keys: a publish replaces these tables whole or changes a few rows, and DuckDB
# keeps a key (or any index) through deleting and inserting 100,000 rows at ~1.6 s, where
# the plain table takes 50 ms. So a whole table is made anew, its index on the key (for
# the few rows' lookups) made after it is loaded (`replace_published`).
PUBLISHED = {
    "published_files": (("file", "VARCHAR"), ("blob", "VARCHAR"), ("version", "VARCHAR")),
    "published_hierarchy": DERIVED["hierarchy"],
    "published_open_deps": DERIVED["open_deps"],
}

# What changed since the last publish, so the next one compares those rows alone against
# the baseline instead of every row: the files whose `files` or `versions` rows a sync wrote
# or deleted, and the keys of the derived rows it rewrote (by table). A NULL file or key
# means "anything may have": a new index (nothing published from it yet), a rebuild, a
# refresh of every derived row, a log grown past LOG_LIMIT (beyond which comparing
# everything is as cheap, and the log stays small). Only a publish empties the log.
CHANGE_LOG = {
    "unpublished": (("file", "VARCHAR"),),
    "derived_touched": (("tbl", "VARCHAR"), ("key", "VARCHAR")),
}
LOG_LIMIT = 10_000


def create_statements() -> list[str]:
    statements = [_create("meta", META, "key")]
    for name, columns in TABLES.items():
        statements.append(_create(name, columns, None))
        statements.append(f"CREATE INDEX {name}_file ON {name} (file)")
    for name, columns in DERIVED.items():
        statements.append(_create(name, columns, columns[0][0]))
    for name in PUBLISHED:
        statements += replace_published(name)
    for name, columns in CHANGE_LOG.items():
        statements.append(_create(name, columns, None))
    statements += [
        "INSERT INTO unpublished VALUES (NULL)",
        *(f"INSERT INTO derived_touched VALUES ('{name}', NULL)" for name in DERIVED),
    ]
    statements += [
        "CREATE INDEX items_id ON items (id)",
        "CREATE INDEX items_parent ON items (parent)",
        "CREATE INDEX deps_item ON deps (item)",
        "CREATE INDEX deps_target ON deps (depends_on)",
        "CREATE INDEX vendors_name ON vendors (name)",
        *VIEWS,
    ]
    return statements


def replace_published(name: str, rows: str | None = None) -> list[str]:
    """The statements that make baseline table `name` anew, holding the rows of the query
    `rows` (None: empty)."""
    columns = PUBLISHED[name]
    body = ", ".join(f"{column} {kind}" for column, kind in columns)
    statements = [f"CREATE OR REPLACE TABLE {name} ({body})"]
    if rows is not None:
        statements.append(f"INSERT INTO {name} {rows}")
    return [*statements, f"CREATE INDEX {name}_key ON {name} ({columns[0][0]})"]


def tables_of(files: Iterable[str], tables: Iterable[str] = TABLES) -> tuple[str, ...]:
    """Of `tables`, those that can hold rows of these files (`versions` always can; a file
    of an unknown folder has only problems, but every table is cleared for it, to be sure)."""
    wanted: set[str] = set()
    for file in files:
        wanted.update(TABLES_BY_FOLDER.get(file.split("/", 1)[0], TABLES), ("versions",))
    return tuple(name for name in tables if name in wanted)


def _create(name: str, columns: tuple[tuple[str, str], ...], key: str | None) -> str:
    body = ", ".join(f"{column} {kind}" for column, kind in columns)
    if key:
        body += f", PRIMARY KEY ({key})"
    return f"CREATE TABLE {name} ({body})"


# Documented, stable views for `tracker query` (tables may change between versions).
VIEWS = [
    """CREATE VIEW work_items AS
       SELECT i.id, i.type, i.title, i.status, i.priority, i.parent, h.depth, h.path,
              i.branch, i.commit_sha, i.pr, i.assignee, i.labels, i.created_at, i.updated_at,
              i.created_by, i.deleted_at, i.archived, i.description, i.metadata,
              COALESCE(o.open, 0) AS open_dependencies, v.version, i.file
       FROM items i
       LEFT JOIN hierarchy h ON h.id = i.id
       LEFT JOIN open_deps o ON o.item = i.id
       LEFT JOIN versions v ON v.file = i.file""",
    """CREATE VIEW dependencies AS SELECT item, depends_on FROM deps""",
]
