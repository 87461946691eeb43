"""The index's tables. Bump SCHEMA_VERSION on any change: an index of another version is
rebuilt from the files, never migrated (it holds nothing the files do not)."""

from __future__ import annotations

SCHEMA_VERSION = 2

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
PUBLISHED = {
    "published_files": (("file", "VARCHAR"), ("blob", "VARCHAR"), ("version", "VARCHAR")),
    "published_hierarchy": DERIVED["hierarchy"],
    "published_open_deps": DERIVED["open_deps"],
}


def create_statements() -> list[str]:
    statements = [_create("meta", META, "key")]
    for name, columns in TABLES.items():
        statements.append(_create(name, columns, None))
        statements.append(f"CREATE INDEX {name}_file ON {name} (file)")
    for name, columns in (DERIVED | PUBLISHED).items():
        statements.append(_create(name, columns, columns[0][0]))
    statements += [
        "CREATE INDEX items_id ON items (id)",
        "CREATE INDEX items_parent ON items (parent)",
        "CREATE INDEX deps_item ON deps (item)",
        "CREATE INDEX deps_target ON deps (depends_on)",
        "CREATE INDEX vendors_name ON vendors (name)",
        *VIEWS,
    ]
    return statements


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
