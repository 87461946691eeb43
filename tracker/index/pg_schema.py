"""The team index's schema in Postgres: named migrations, applied in order, each recorded in
`tracker.migrations`. A migration, once released, never changes; a new one is appended.
(The local DuckDB index has no migrations: it is rebuilt when its schema changes, which a
shared database cannot be.)

Every row table of the local index (`schema.TABLES`, `schema.DERIVED`) is here with a
`scope` first: one published (repository, branch). Text is `COLLATE "C"`, so it sorts
byte-wise as DuckDB does and both backends return the same order.
"""

from __future__ import annotations

INITIAL = """
    CREATE TABLE tracker.repositories (
        id serial PRIMARY KEY, identity text NOT NULL UNIQUE, name text NOT NULL);
    CREATE TABLE tracker.scopes (
        id serial PRIMARY KEY,
        repository integer NOT NULL REFERENCES tracker.repositories (id),
        branch text COLLATE "C" NOT NULL,
        commit text, token text, published_at timestamptz, published_by text,
        UNIQUE (repository, branch));
    CREATE TABLE tracker.files (scope integer NOT NULL, file text COLLATE "C", kind text
        COLLATE "C", key text COLLATE "C", blob text COLLATE "C", head_blob text COLLATE
        "C", mtime_ns bigint, size bigint, valid boolean);
    CREATE TABLE tracker.versions (scope integer NOT NULL, file text COLLATE "C",
        version text COLLATE "C", author text COLLATE "C", changed_at timestamptz);
    CREATE TABLE tracker.problems (scope integer NOT NULL, file text COLLATE "C", line
        integer, field text COLLATE "C", message text COLLATE "C");
    CREATE TABLE tracker.items (scope integer NOT NULL, file text COLLATE "C", id text
        COLLATE "C", archived boolean, type text COLLATE "C", title text COLLATE "C",
        status text COLLATE "C", priority integer, parent text COLLATE "C", branch text
        COLLATE "C", commit_sha text COLLATE "C", pr integer, assignee text COLLATE "C",
        labels text[] COLLATE "C", created_at timestamptz, updated_at timestamptz,
        created_by text COLLATE "C", deleted_at timestamptz, description text COLLATE
        "C", metadata json);
    CREATE TABLE tracker.deps (scope integer NOT NULL, file text COLLATE "C", item text
        COLLATE "C", depends_on text COLLATE "C", position integer);
    CREATE TABLE tracker.vendors (scope integer NOT NULL, file text COLLATE "C", name
        text COLLATE "C", status text COLLATE "C", extractor_version text COLLATE "C",
        excel boolean, csv boolean, pdf boolean, ocr boolean, tests_passing integer,
        tests_total integer, tests_skipped integer, manifest_compliant boolean,
        created_at timestamptz, updated_at timestamptz, created_by text COLLATE "C",
        updated_by text COLLATE "C");
    CREATE TABLE tracker.deployments (scope integer NOT NULL, file text COLLATE "C", id
        text COLLATE "C", deployed_at timestamptz, commit_sha text COLLATE "C", branch
        text COLLATE "C", pr integer, pr_title text COLLATE "C", test_summary json,
        constitutional_compliance boolean, created_by text COLLATE "C");
    CREATE TABLE tracker.deployment_vendors (scope integer NOT NULL, file text COLLATE
        "C", deployment text COLLATE "C", vendor text COLLATE "C");
    CREATE TABLE tracker.deployment_items (scope integer NOT NULL, file text COLLATE
        "C", deployment text COLLATE "C", item text COLLATE "C");
    CREATE TABLE tracker.enhancements (scope integer NOT NULL, file text COLLATE "C", id
        text COLLATE "C", title text COLLATE "C", description text COLLATE "C", priority
        integer, status text COLLATE "C", target_quarter text COLLATE "C", principles
        text[] COLLATE "C", created_at timestamptz, updated_at timestamptz, created_by
        text COLLATE "C");
    CREATE TABLE tracker.enhancement_deps (scope integer NOT NULL, file text COLLATE
        "C", enhancement text COLLATE "C", item text COLLATE "C");
    CREATE TABLE tracker.config (scope integer NOT NULL, file text COLLATE "C", settings
        json);
    CREATE TABLE tracker.hierarchy (scope integer NOT NULL, id text COLLATE "C", path
        text COLLATE "C", depth integer);
    CREATE TABLE tracker.open_deps (scope integer NOT NULL, item text COLLATE "C", open
        integer);
"""

INDEXES = """
    CREATE INDEX ON tracker.files (scope, file);
    CREATE INDEX ON tracker.versions (scope, file);
    CREATE INDEX ON tracker.problems (scope, file);
    CREATE INDEX ON tracker.items (scope, file);
    CREATE INDEX ON tracker.items (scope, id);
    CREATE INDEX ON tracker.items (scope, parent);
    CREATE INDEX ON tracker.items (scope, priority, created_at, id);
    CREATE INDEX ON tracker.items (scope, status, priority, created_at, id);
    CREATE INDEX ON tracker.deps (scope, file);
    CREATE INDEX ON tracker.deps (scope, item);
    CREATE INDEX ON tracker.deps (scope, depends_on);
    CREATE INDEX ON tracker.vendors (scope, file);
    CREATE INDEX ON tracker.vendors (scope, lower(name));
    CREATE INDEX ON tracker.vendors (scope, name);
    CREATE INDEX ON tracker.deployments (scope, file);
    CREATE INDEX ON tracker.deployments (scope, deployed_at);
    CREATE INDEX ON tracker.deployment_vendors (scope, file);
    CREATE INDEX ON tracker.deployment_vendors (scope, deployment);
    CREATE INDEX ON tracker.deployment_items (scope, file);
    CREATE INDEX ON tracker.deployment_items (scope, deployment);
    CREATE INDEX ON tracker.deployment_items (scope, item);
    CREATE INDEX ON tracker.enhancements (scope, file);
    CREATE INDEX ON tracker.enhancement_deps (scope, file);
    CREATE INDEX ON tracker.enhancement_deps (scope, enhancement);
    CREATE INDEX ON tracker.config (scope, file);
    ALTER TABLE tracker.hierarchy ADD PRIMARY KEY (scope, id);
    CREATE INDEX ON tracker.hierarchy (scope, path);
    ALTER TABLE tracker.open_deps ADD PRIMARY KEY (scope, item);
    CREATE INDEX ON tracker.open_deps (scope, item) WHERE open > 0;
"""

# (name, SQL), in the order they apply.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_tables", INITIAL),
    ("0002_indexes", INDEXES),
)

# Where the migrations are recorded; created before any of them runs.
BOOKKEEPING = """
    CREATE SCHEMA IF NOT EXISTS tracker;
    CREATE TABLE IF NOT EXISTS tracker.migrations (
        name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
"""
