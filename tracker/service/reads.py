"""The read use-cases: every one makes the index fresh, queries it, and says what served it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from tracker.errors import NotFound
from tracker.index.duckdb_backend import DuckIndex
from tracker.model.ids import resolve_id
from tracker.query import sql
from tracker.query.spec import DeploymentQuery, EnhancementQuery, ItemQuery
from tracker.service.indexer import Answer, answered
from tracker.service.workspace import Workspace

MAX_TREE = 100_000


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: times as ISO strings, JSON columns parsed, the derived path dropped."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        elif key in ("metadata", "test_summary") and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


def _items(index: DuckIndex, query: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    return [_plain(row) for row in index.rows(*query)]


def _resolve_item(index: DuckIndex, text: str) -> str:
    exact = index.rows("SELECT id FROM items WHERE id = ?", [text])
    if exact:
        return text
    # the same rule as resolve_id: a prefix of the id, or of the id without its prefix
    wanted = text.strip().lower()
    like = index.rows(
        "SELECT DISTINCT id FROM items WHERE starts_with(lower(id), ?) OR "
        "starts_with(lower(substr(id, strpos(id, '-') + 1)), ?)",
        [wanted, wanted],
    )
    return resolve_id(text, [row["id"] for row in like])


def list_items(workspace: Workspace, query: ItemQuery, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        resolved = query
        if query.under or query.parent:
            resolved = replace(
                query,
                under=_resolve_item(answer.index, query.under) if query.under else None,
                parent=_resolve_item(answer.index, query.parent) if query.parent else None,
            )
        page, count = sql.list_items(resolved)
        items = _items(answer.index, page)
        total = answer.index.rows(*count)[0]["n"]
        return _envelope(
            answer,
            {
                "items": items,
                "total_count": total,
                "has_more": query.offset + len(items) < total,
                "limit": query.limit,
                "offset": query.offset,
            },
        )

    return answered(workspace, at, compute)


def show_item(workspace: Workspace, text: str, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        index = answer.index
        item_id = _resolve_item(index, text)
        rows = _items(index, sql.item_by_id(item_id))
        if not rows:
            raise NotFound(f"no item '{text}'")
        item = rows[0]
        path = (item.get("tree_path") or item_id).split("/")
        ancestors = _items(index, sql.items_by_ids(path[:-1]))
        order = {key: position for position, key in enumerate(path)}
        ancestors.sort(key=lambda row: order.get(row["id"], 0))
        depends_on = _items(index, sql.dependencies_of(item_id))
        missing = [r["depends_on"] for r in index.rows(*sql.missing_dependencies(item_id))]
        return _envelope(
            answer,
            {
                "id": item_id,
                "kind": "work-item",
                "path": workspace.display(item["file"]),
                "version": item["version"],
                "changed_by": item["changed_by"],
                "changed_at": item["changed_at"],
                "dirty": item["dirty"],
                "depth": item["depth"],
                "open_dependencies": item["open_dependencies"],
                "archived": item["archived"],
                "record": _as_record(item, [d["id"] for d in depends_on] + missing),
                "ancestors": [_brief(row) for row in ancestors],
                "descendants": [_brief(row) for row in _items(index, sql.descendants(item_id))],
                "depends_on": [_brief(row) for row in depends_on],
                "missing_dependencies": missing,
                "blocks": [_brief(row) for row in _items(index, sql.dependents_of(item_id))],
                "deployments": [
                    _plain(row) for row in index.rows(*sql.deployments_of_item(item_id))
                ],
            },
        )

    return answered(workspace, at, compute)


RECORD_FIELDS = (
    "id",
    "type",
    "title",
    "status",
    "priority",
    "parent",
    "depends_on",
    "branch",
    "commit",
    "pr",
    "assignee",
    "labels",
    "created_at",
    "updated_at",
    "created_by",
    "deleted_at",
    "description",
    "metadata",
)


def _as_record(row: dict[str, Any], depends_on: list[str]) -> dict[str, Any]:
    """The item as its file holds it (empty fields left out), rebuilt from its index row."""
    values = {**row, "depends_on": depends_on}
    return {key: values[key] for key in RECORD_FIELDS if values.get(key) not in (None, [], {})}


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "type", "title", "status", "priority", "depth", "parent", "version")
    return {key: row.get(key) for key in keys}


def tree(
    workspace: Workspace,
    root: str | None,
    depth: int | None,
    include_deleted: bool = False,
    at: str | None = None,
) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        index = answer.index
        if root is not None:
            root_id = _resolve_item(index, root)
            top = _items(index, sql.item_by_id(root_id))
            rows = top + _items(index, sql.descendants(root_id, depth))
        else:
            rows = _items(index, sql.tree(depth, include_deleted))
        if not include_deleted:
            rows = [row for row in rows if row.get("deleted_at") is None]
        return _envelope(answer, {"items": [_brief(row) for row in rows[:MAX_TREE]]})

    return answered(workspace, at, compute)


def ready(workspace: Workspace, limit: int, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        return _envelope(answer, {"items": _items(answer.index, sql.ready(limit))})

    return answered(workspace, at, compute)


def blocked(workspace: Workspace, limit: int, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        items = _items(answer.index, sql.blocked(limit))
        blockers: dict[str, list[dict[str, Any]]] = {}
        for row in answer.index.rows(*sql.open_blockers([i["id"] for i in items])):
            blockers.setdefault(row["item"], []).append(
                {
                    "id": row["depends_on"],
                    "status": row["status"] or "missing",
                    "title": row["title"],
                }
            )
        for item in items:
            item["blocked_by"] = blockers.get(item["id"], [])
        return _envelope(answer, {"items": items})

    return answered(workspace, at, compute)


def dependency_tree(workspace: Workspace, text: str, at: str | None = None) -> dict[str, Any]:
    """What an item depends on, transitively, as nested nodes (a repeated node is cut)."""

    def compute(answer: Answer) -> dict[str, Any]:
        index = answer.index
        root = _resolve_item(index, text)
        edges: dict[str, list[str]] = {}
        for row in index.rows("SELECT item, depends_on FROM deps ORDER BY item, depends_on"):
            edges.setdefault(row["item"], []).append(row["depends_on"])
        info = {row["id"]: row for row in index.rows("SELECT id, title, status FROM items")}

        def node(key: str, seen: frozenset[str]) -> dict[str, Any]:
            found = info.get(key)
            entry: dict[str, Any] = {
                "id": key,
                "title": found["title"] if found else None,
                "status": found["status"] if found else "missing",
            }
            if key in seen:
                entry["repeated"] = True
                return entry
            entry["depends_on"] = [node(child, seen | {key}) for child in edges.get(key, [])]
            return entry

        return _envelope(answer, {"tree": node(root, frozenset())})

    return answered(workspace, at, compute)


def vendors(workspace: Workspace, status: str | None, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [_plain(row) for row in answer.index.rows(*sql.vendors(status))]
        return _envelope(answer, {"vendors": rows, "total_count": len(rows)})

    return answered(workspace, at, compute)


def vendor(workspace: Workspace, name: str, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = answer.index.rows(*sql.vendor(name))
        if not rows:
            raise NotFound(f"no vendor '{name}'")
        return _envelope(answer, {"vendor": _plain(rows[0])})

    return answered(workspace, at, compute)


def deployments(
    workspace: Workspace, query: DeploymentQuery, at: str | None = None
) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [_plain(row) for row in answer.index.rows(*sql.deployments(query))]
        return _envelope(answer, {"deployments": rows})

    return answered(workspace, at, compute)


def enhancements(
    workspace: Workspace, query: EnhancementQuery, at: str | None = None
) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [_plain(row) for row in answer.index.rows(*sql.enhancements(query))]
        return _envelope(answer, {"enhancements": rows})

    return answered(workspace, at, compute)


def run_query(workspace: Workspace, text: str, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [_plain(row) for row in answer.index.read_only_query(text)]
        return _envelope(answer, {"rows": rows, "row_count": len(rows)})

    return answered(workspace, at, compute)


def _envelope(answer: Answer, data: dict[str, Any]) -> dict[str, Any]:
    problems = answer.index.rows(*sql.problems())
    if problems:
        files = sorted({row["file"] for row in problems})
        shown = ", ".join(files[:3]) + (" ..." if len(files) > 3 else "")
        answer.warnings.append(
            f"{len(files)} file(s) failed validation and are left out: {shown} "
            "(run `tracker validate`)"
        )
    return answer.envelope(data)
