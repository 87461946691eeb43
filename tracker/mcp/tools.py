"""The MCP tools as plain functions: a workspace and JSON arguments in, JSON-ready data out.

Each tool makes the same service call as the CLI command it mirrors, so an agent and a
person see the same records, versions and errors. The docstrings are what agents read
(tracker.mcp.server registers them as the tools' descriptions): what the tool does, what
each argument means, what comes back. This module does not import the MCP SDK.

Results are compact: fields that are empty, false or internal are left out of rows, and
lists are paged. Every write returns the record's new `version`; pass it as `version`
to the next write of that record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from tracker.constants import CONFIG_FILE
from tracker.errors import UsageError
from tracker.model.kinds import WORK_ITEM
from tracker.query.spec import ItemQuery
from tracker.service import reads
from tracker.service.assign import Assignment
from tracker.service.config import get_config, set_config
from tracker.service.deployments import NewDeployment
from tracker.service.deployments import record_deployment as record_deployment_service
from tracker.service.history import record_history
from tracker.service.items import NewItem, change_dependency, create_item, update_item
from tracker.service.status import status_data
from tracker.service.status_render import render_status
from tracker.service.vendors import FORMATS, NewVendor, update_vendor
from tracker.service.vendors import create_vendor as create_vendor_service
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult, now

ItemType = Literal["project", "session", "task", "research"]
ItemStatus = Literal["active", "completed", "blocked"]
VendorStatus = Literal["operational", "broken"]
VendorFormat = Literal["excel", "csv", "pdf", "ocr"]
ContextType = Literal["feature", "maintenance", "research"]

MAX_PAGE = 500
DESCENDANTS_SHOWN = 100  # a project's whole subtree would flood an agent's context
HIDDEN = frozenset({"file", "tree_path", "kind"})  # index bookkeeping, not record data
# An item's fields in lists: enough to choose one; query_work_item gives the whole record.
LISTED = (
    "id", "type", "title", "status", "priority", "parent", "depth", "assignee", "labels",
    "branch", "open_dependencies", "deleted_at", "archived", "dirty", "version", "updated_at",
    "repository", "published_branch",  # all_repos: where each item was published from
)  # fmt: skip
VENDOR_AUDIT = (
    "version", "changed_by", "changed_at", "dirty",
    "created_at", "updated_at", "created_by", "updated_by",
)  # fmt: skip


# -- work items ----------------------------------------------------------------------------


def create_work_item(
    ws: Workspace,
    item_type: ItemType,
    title: str,
    parent_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    priority: int | None = None,
    depends_on: list[str] | None = None,
    branch_name: str | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Create a work item and commit it. Returns its `id` and `version` (the commit).

    item_type: project, session, task or research. Depth is at most 5 below a root.
    title: 1-200 characters.
    parent_id: the parent item (any unique id prefix); none makes a root.
    metadata: typed by item_type. project: {"description": required, "target_quarter":
      "2026-Q3", "constitutional_principles": [...]}; session: {"token_budget": 1000-1000000
      (default from the project configuration), "prompts_count": default 0,
      "yaml_frontmatter": {"schema_version": ...}}; task: {"estimated_hours", "actual_hours"
      (0-1000), "blocked_reason"}; research: {"research_questions": [...],
      "findings_summary", "references": [...]}.
    priority: 1 (high) to 5 (low), default 3.
    depends_on: ids of items this one depends on (they must exist; no cycles).
    branch_name: the git branch the work happens on.
    created_by: who creates it (your client's name, e.g. "claude-code"): the item's
      created_by and the commit's author.
    """
    spec = NewItem(
        item_type,
        title,
        parent_id,
        list(depends_on or []),
        priority,
        branch=branch_name,
        metadata=dict(metadata or {}),
        created_by=created_by,
    )
    return _written(ws, create_item(_acting(ws, created_by), spec), created=True)


def update_work_item(
    ws: Workspace,
    id: str,
    version: str,
    title: str | None = None,
    status: ItemStatus | None = None,
    priority: int | None = None,
    metadata: dict[str, Any] | None = None,
    parent_id: str | None = None,
    depends_on: list[str] | None = None,
    deleted_at: str | None = None,
    updated_by: str | None = None,
) -> dict[str, Any]:
    """Change fields of a work item in one commit, if it is still at `version`.

    version: the version you last saw (from query_work_item, list_work_items or an earlier
      write). If the item changed since, nothing is written and the error starts with
      `conflict:` and names the current version: read the item again, then retry.
    Only the fields given change. metadata: keys merged into the existing metadata
    (nested mappings key by key; null removes a key). parent_id: the new parent ("" makes
    the item a root). depends_on: the complete new list (see add_dependency to add one).
    deleted_at: an ISO 8601 time or "now" soft-deletes the item; "" restores it.
    updated_by: the commit's author (your client's name).
    Returns the new `version`, the field changes and the record.
    """
    fields = {"title": title, "status": status, "priority": priority}
    changes = [Assignment.of((key,), value) for key, value in fields.items() if value is not None]
    changes += [Assignment.of(path, value) for path, value in _merged(("metadata",), metadata)]
    if parent_id is not None:
        changes.append(Assignment.of(("parent",), parent_id or None))
    if depends_on is not None:
        changes.append(Assignment.of(("depends_on",), list(depends_on)))
    if deleted_at is not None:
        stamp = now() if deleted_at == "now" else deleted_at or None
        changes.append(Assignment.of(("deleted_at",), stamp))
    if not changes:
        raise UsageError("nothing to change: give at least one field to update")
    result = update_item(_acting(ws, updated_by), id, changes, if_version=version)
    return _written(ws, result)


def query_work_item(
    ws: Workspace, id: str, include_children: bool = True, include_dependencies: bool = True
) -> dict[str, Any]:
    """One work item with its `version`, its ancestors (root first), its descendants
    (depth-first; the first 100, then use list_work_items with `under`), what it depends
    on and what it blocks (both ways), and the deployments that shipped it.

    id: the item's id or any unique prefix of it.
    include_children: include the descendants.
    include_dependencies: include depends_on, blocks and missing_dependencies.
    `dirty: true` means the file holds uncommitted edits (or another writer is mid-write):
    the record shown is not that version's, and writes are refused until it is committed.
    """
    data = _read(reads.show_item(ws, id))
    if include_children:
        descendants = data["descendants"]
        data["descendants"] = [_row(row) for row in descendants[:DESCENDANTS_SHOWN]]
        if len(descendants) > DESCENDANTS_SHOWN:
            data["descendants_total"] = len(descendants)
    else:
        data.pop("descendants")
    if include_dependencies:
        for key in ("depends_on", "blocks"):
            data[key] = [_row(row) for row in data[key]]
    else:
        for key in ("depends_on", "blocks", "missing_dependencies"):
            data.pop(key)
    data["ancestors"] = [_row(row) for row in data["ancestors"]]
    data["deployments"] = [_row(row) for row in data["deployments"]]
    return data


def list_work_items(
    ws: Workspace,
    item_type: ItemType | None = None,
    status: ItemStatus | None = None,
    parent_id: str | None = None,
    under: str | None = None,
    include_deleted: bool = False,
    limit: int = 50,
    offset: int = 0,
    all_repos: bool = False,
) -> dict[str, Any]:
    """Work items (not archived), best first (priority, then age), one page at a time.

    item_type, status: filters. parent_id: direct children of that item. under: every
    descendant of that item. include_deleted: soft-deleted items too.
    limit (1-500), offset: the page. Returns `items`, `total_count` and `has_more`.
    all_repos: across every repository published to the team index (Postgres); each
    item then names its `repository` and `published_branch`.
    """
    query = _item_query(item_type, status, parent_id, under, include_deleted, limit, offset)
    return _page(reads.list_items(ws, query, all_repos=all_repos))


def query_archived_work_items(
    ws: Workspace,
    item_type: ItemType | None = None,
    status: ItemStatus | None = None,
    parent_id: str | None = None,
    under: str | None = None,
    include_deleted: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Archived work items (moved to archive/ by `tracker archive`; left out of every
    other query). Arguments and result as list_work_items."""
    query = _item_query(item_type, status, parent_id, under, include_deleted, limit, offset)
    return _page(reads.list_items(ws, ItemQuery(**{**vars(query), "archived": True})))


def ready_work(ws: Workspace, limit: int = 10) -> dict[str, Any]:
    """Active items whose dependencies are all completed: what to work on next, best first
    (priority, then age). limit: 1-500."""
    data = _read(reads.ready(ws, _limit(limit)))
    data["items"] = [_brief(row) for row in data["items"]]
    return data


def add_dependency(
    ws: Workspace, id: str, depends_on: str, version: str | None = None
) -> dict[str, Any]:
    """Make item `id` depend on item `depends_on` (refused if it would form a cycle).
    version: if given, refused with `conflict:` unless `id` is still at that version.
    Returns `id`'s new version."""
    return _written(ws, change_dependency(ws, id, depends_on, True, if_version=version))


def remove_dependency(
    ws: Workspace, id: str, depends_on: str, version: str | None = None
) -> dict[str, Any]:
    """Remove item `id`'s dependency on item `depends_on`. version: as add_dependency."""
    return _written(ws, change_dependency(ws, id, depends_on, False, if_version=version))


def item_history(ws: Workspace, id: str, limit: int = 20) -> dict[str, Any]:
    """The item's versions from git, newest first: commit (`version`), author, time,
    message, event (created, changed, archived, removed) and the field changes."""
    return record_history(ws, WORK_ITEM, id, _limit(limit))


# -- deployments and vendors ---------------------------------------------------------------


def record_deployment(
    ws: Workspace,
    pr_number: int,
    pr_title: str,
    commit_hash: str | None = None,
    deployed_at: str | None = None,
    vendor_names: list[str] | None = None,
    work_item_ids: list[str] | None = None,
    test_summary: dict[str, int] | None = None,
    *,
    constitutional_compliance: bool,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Record a deployment and commit it. Returns its `id` (DEP-...) and `version`.

    pr_number, pr_title: the pull request. commit_hash: the deployed commit (any revision;
    default HEAD). deployed_at: ISO 8601 time (default now). vendor_names, work_item_ids:
    what shipped (they must exist). test_summary: test counts by category, e.g.
    {"unit": 120, "integration": 14}. constitutional_compliance: whether it complied.
    created_by: who records it (the record's created_by and the commit's author).
    """
    spec = NewDeployment(
        pr_number,
        pr_title,
        commit_hash,
        None,
        deployed_at,
        list(vendor_names or []),
        list(work_item_ids or []),
        dict(test_summary or {}),
        constitutional_compliance,
        created_by=created_by,
    )
    return _written(ws, record_deployment_service(_acting(ws, created_by), spec), created=True)


def query_vendor_status(ws: Workspace, name: str) -> dict[str, Any]:
    """One vendor by name (case-insensitive): status, extractor version, formats, test
    results, manifest compliance, and its `version` for update_vendor_status."""
    data = _read(reads.vendor(ws, name))
    return {**_vendor(data.pop("vendor")), **data}


def list_vendors(ws: Workspace, status: VendorStatus | None = None) -> dict[str, Any]:
    """Every vendor (or those with `status`), by name, with `total_count`."""
    data = _read(reads.vendors(ws, status))
    data["vendors"] = [_vendor(row) for row in data["vendors"]]
    return data


def create_vendor(
    ws: Workspace,
    name: str,
    extractor_version: str,
    status: VendorStatus = "operational",
    formats: list[VendorFormat] | None = None,
    passing: int = 0,
    total: int = 0,
    skipped: int = 0,
    manifest_compliant: bool = False,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Add a vendor (its file is vendors/NAME.yaml) and commit it.

    name: unique (case-insensitive), letters, digits, . _ -. extractor_version: 1-50
    characters. formats: the input formats it supports. passing, total, skipped: test
    counts (passing <= total, passing + skipped <= total).
    """
    spec = NewVendor(
        name,
        status,
        extractor_version,
        list(formats or []),
        passing,
        total,
        skipped,
        manifest_compliant,
    )
    return _written(ws, create_vendor_service(_acting(ws, created_by), spec), created=True)


def update_vendor_status(
    ws: Workspace,
    name: str,
    version: str,
    status: VendorStatus | None = None,
    metadata: dict[str, Any] | None = None,
    updated_by: str | None = None,
) -> dict[str, Any]:
    """Change a vendor in one commit, if it is still at `version` (else `conflict:`).

    status: operational or broken. metadata: other fields, merged into the record and
    the result validated whole: {"extractor_version": "2.1.0", "test_results":
    {"passing": 40}, "format_support": {"ocr": true}, "manifest_compliant": true}
    (nested mappings merge key by key). updated_by: the record's updated_by and the
    commit's author.
    """
    changes = [] if status is None else [Assignment.of(("status",), status)]
    changes += [Assignment.of(path, value) for path, value in _merged((), metadata)]
    if not changes:
        raise UsageError("nothing to change: give status or metadata")
    return _written(ws, update_vendor(_acting(ws, updated_by), name, changes, if_version=version))


# -- the project ---------------------------------------------------------------------------


def get_project_configuration(ws: Workspace) -> dict[str, Any]:
    """The project configuration (tracker.yaml): the stored settings and their `version`,
    the live git state (branch, HEAD) and the index's health (checked now)."""
    found = _read(
        reads.run_query(
            ws,
            "SELECT version, author AS changed_by, changed_at FROM versions "
            f"WHERE file = '{CONFIG_FILE}'",
        )
    )
    rows = found.pop("rows")
    settings = get_config(ws)
    return {
        **settings,
        **(rows[0] if rows else {"version": None}),
        "index": {
            "healthy": found.get("data_source", "index") in ("index", "rebuilt"),
            "source": found.get("data_source", "index"),
            "checked_at": now(),
            **({"warnings": found["warnings"]} if found.get("warnings") else {}),
        },
    }


def update_project_configuration(
    ws: Workspace,
    version: str | None = None,
    active_context_type: ContextType | None = None,
    current_session: str | None = None,
    default_token_budget: int | None = None,
    archive_after_days: int | None = None,
    updated_by: str | None = None,
) -> dict[str, Any]:
    """Change settings in tracker.yaml in one commit.

    version: if given, refused with `conflict:` unless tracker.yaml is still at it.
    active_context_type: feature, maintenance or research. current_session: a session
    item's id ("" clears it). default_token_budget: 1000-1000000, for new sessions.
    archive_after_days: age at which `tracker archive` moves finished items.
    """
    settings: dict[tuple[str, ...], Any] = {
        ("project", "active_context_type"): active_context_type,
        ("project", "default_token_budget"): default_token_budget,
        ("archive_after_days",): archive_after_days,
    }
    changes = [Assignment.of(path, value) for path, value in settings.items() if value is not None]
    if current_session is not None:  # "" clears it
        changes.append(Assignment.of(("project", "current_session"), current_session or None))
    if not changes:
        raise UsageError("nothing to change: give at least one setting")
    return _written(ws, set_config(_acting(ws, updated_by), changes, if_version=version))


def generate_status(ws: Workspace, format: Literal["markdown", "json"] = "markdown") -> Any:
    """The project status report: vendors, active work items by type and priority,
    the last 10 deployments, pending enhancements, archived items and a Mermaid graph
    of open dependencies. format: markdown (the report's text) or json (its data)."""
    data = status_data(ws)
    if format == "json":
        return data
    return render_status(ws, data)


READ_TOOLS: tuple[Callable[..., Any], ...] = (
    query_work_item,
    list_work_items,
    query_archived_work_items,
    ready_work,
    item_history,
    query_vendor_status,
    list_vendors,
    get_project_configuration,
    generate_status,
)
WRITE_TOOLS: tuple[Callable[..., Any], ...] = (
    create_work_item,
    update_work_item,
    add_dependency,
    remove_dependency,
    record_deployment,
    create_vendor,
    update_vendor_status,
    update_project_configuration,
)


# -- helpers -------------------------------------------------------------------------------


def _acting(ws: Workspace, actor: str | None) -> Workspace:
    """The workspace with `actor` as the commit author (the CLI's --as)."""
    return ws if not actor else Workspace(ws.root, actor)


def _merged(
    base: tuple[str, ...], values: dict[str, Any] | None
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) for each leaf of `values`: nested mappings merge key by key."""
    for key, value in (values or {}).items():
        if not isinstance(key, str) or not key:
            raise UsageError(f"{'.'.join(base) or 'metadata'}: keys must be non-empty text")
        if isinstance(value, dict) and value:
            yield from _merged((*base, key), value)
        else:
            yield (*base, key), value


def _item_query(
    item_type: str | None,
    status: str | None,
    parent_id: str | None,
    under: str | None,
    include_deleted: bool,
    limit: int,
    offset: int,
) -> ItemQuery:
    if offset < 0:
        raise UsageError(f"offset must be 0 or more, not {offset}")
    return ItemQuery(
        type=item_type,
        status=status,
        parent=parent_id,
        under=under,
        include_deleted=include_deleted,
        limit=_limit(limit),
        offset=offset,
    )


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
    return limit


def _read(answer: dict[str, Any]) -> dict[str, Any]:
    """A read's answer without the envelope's noise: where it came from only when that is
    not the index, warnings only when there are some."""
    data = {key: value for key, value in answer.items() if key not in HIDDEN}
    if not data.get("warnings"):
        data.pop("warnings", None)
        if data.get("data_source") in ("index", "rebuilt"):
            data.pop("data_source")
    return data


def _page(answer: dict[str, Any]) -> dict[str, Any]:
    data = _read(answer)
    data["items"] = [_brief(row) for row in data["items"]]
    return data


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    """What a list shows of an item (query_work_item shows the rest)."""
    return _row({key: row.get(key) for key in LISTED})


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """An item's row with its empty, false and internal fields left out."""
    return {key: value for key, value in row.items() if key not in HIDDEN and not _empty(value)}


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def _vendor(row: dict[str, Any]) -> dict[str, Any]:
    """A vendor's row in its record's shape (the field names update_vendor_status takes)."""
    tests = {"passing": "tests_passing", "total": "tests_total", "skipped": "tests_skipped"}
    shaped = {
        "name": row["name"],
        "status": row["status"],
        "extractor_version": row["extractor_version"],
        "format_support": {fmt: row[fmt] for fmt in FORMATS},
        "test_results": {key: row[column] for key, column in tests.items()},
        "manifest_compliant": row["manifest_compliant"],
    }
    rest = {key: row[key] for key in VENDOR_AUDIT if not _empty(row.get(key))}
    return {**shaped, **rest}


def _written(ws: Workspace, result: WriteResult, created: bool = False) -> dict[str, Any]:
    """id, version, path, the field changes (not for a new record: all of it is new) and
    the record as written."""
    data = {**result.to_dict(), "path": ws.display(result.path)}
    keys = (
        ("id", "version", "path", "record")
        if created
        else ("id", "version", "path", "changes", "record")
    )
    return {key: data[key] for key in keys}
