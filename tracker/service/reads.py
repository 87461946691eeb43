"""The read use-cases: every one makes the index fresh, queries it, and says what served it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from tracker.errors import NotFound
from tracker.index.backend import QueryIndex
from tracker.index.schema import ITEM_FOLDERS, VENDOR_FOLDERS
from tracker.model.ids import resolve_id
from tracker.model.kinds import WORK_ITEM
from tracker.query import sql
from tracker.query.spec import DeploymentQuery, EnhancementQuery, ItemQuery
from tracker.service import show_graph, team
from tracker.service.indexer import Answer, SyncReport
from tracker.service.team import answered
from tracker.service.workspace import Workspace

MAX_TREE = 100_000


TIMES = (datetime, date)
JSON_COLUMNS = frozenset(("metadata", "test_summary"))


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: times as ISO strings, JSON columns parsed."""
    out = dict(row)
    for key, value in row.items():
        if isinstance(value, TIMES):
            out[key] = value.isoformat()
        elif key in JSON_COLUMNS and isinstance(value, str):
            out[key] = json.loads(value)
    return out


def _items(index: QueryIndex, query: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    return [_plain(row) for row in index.rows(*query)]


def _resolve_item(index: QueryIndex, text: str) -> str:
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


def list_items(
    workspace: Workspace, query: ItemQuery, at: str | None = None, all_repos: bool = False
) -> dict[str, Any]:
    """`all_repos`: across every repository published to the team index."""
    if all_repos:

        def page(answer: Answer, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
            try:
                return _page(answer, replace(query, limit=limit, offset=offset))
            except NotFound:  # the --under/--parent item is another repository's
                return [], 0

        return team.across_repositories(workspace, query.limit, query.offset, page)

    def compute(answer: Answer) -> dict[str, Any]:
        items, total = _page(answer, query)
        return answer.envelope(
            {
                "items": items,
                "total_count": total,
                "has_more": query.offset + len(items) < total,
                "limit": query.limit,
                "offset": query.offset,
            },
        )

    return answered(workspace, at, compute)


def _page(answer: Answer, query: ItemQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of items and how many match in all."""
    index = answer.index
    resolved, under_path = query, None
    if query.under or query.parent:
        resolved = replace(
            query,
            under=_resolve_item(index, query.under) if query.under else None,
            parent=_resolve_item(index, query.parent) if query.parent else None,
        )
    if resolved.under is not None:
        under_path = next((row["path"] for row in index.rows(*sql.path_of(resolved.under))), None)
    page, count = sql.list_items(resolved, under_path)
    return _items(index, page), index.rows(*count)[0]["n"]


def show_item(workspace: Workspace, text: str, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        index = answer.index
        asked = show_graph.queries(answer)  # a warm index's projection, or the index itself
        item_id, links = text, asked.item_links(text)
        if "item" not in links:  # not an exact id: a prefix, resolved once
            item_id = _resolve_item(index, text)
            links = asked.item_links(item_id)
            if "item" not in links:
                raise NotFound(f"no item '{text}'")
        item = _plain(links["item"][0])
        place = _first(links, "path")
        ancestors = (place.get("tree_path") or item_id).split("/")[:-1]
        targets = [row["id"] for row in sorted(links.get("depends_on", []), key=_position)]
        dependents = [row["id"] for row in links.get("blocks", [])]
        others = list(dict.fromkeys(targets + dependents))
        linked = asked.linked_items(
            list(dict.fromkeys([item_id, *ancestors, *others])),
            others,
            item_id if targets else None,  # no dependency, nothing open
            item["file"],
        )
        own = [row for row in linked.get("brief", []) if row["file"] == item["file"]]
        version = _plain(own[0]) if own else {}
        briefs = _briefs(asked, linked, ancestors)
        depends_on = [row for key in targets for row in briefs.get(key, [])]
        missing = [key for key in targets if key not in briefs]
        descendants = []
        if "child" in links and place.get("tree_path"):
            descendants = asked.descendants(place["tree_path"])
        deployments = []
        if "deployment" in links:
            deployments = [_plain(row) for row in asked.deployments_of_item(item_id)]
        return answer.envelope(
            {
                "id": item_id,
                "kind": "work-item",
                "path": workspace.display(item["file"]),
                "version": version.get("version"),
                "changed_by": version.get("changed_by"),
                "changed_at": version.get("changed_at"),
                "dirty": _first(linked, "file").get("dirty", False),
                "depth": place.get("depth"),
                "open_dependencies": _first(linked, "open").get("open_dependencies", 0),
                "archived": item["archived"],
                "record": _as_record(item, [row["id"] for row in depends_on] + missing),
                "ancestors": [row for key in ancestors for row in briefs.get(key, [])],
                "descendants": descendants,
                "depends_on": depends_on,
                "missing_dependencies": missing,
                "blocks": sorted(
                    (row for key in dependents for row in briefs.get(key, [])),
                    key=lambda row: str(row["id"]),
                ),
                "deployments": deployments,
            },
        )

    return answered(workspace, at, compute)


def _first(parts: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
    return parts[name][0] if name in parts else {}


def _position(row: dict[str, Any]) -> int:
    return int(row["position"])


def _briefs(
    asked: show_graph.SqlShow | show_graph.GraphShow,
    linked: dict[str, list[dict[str, Any]]],
    ancestors: list[str],
) -> dict[str, list[dict[str, Any]]]:
    """The brief rows of the linked items by id (more than one when an id is in two files),
    their depth filled in."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in linked.get("brief", []):
        found.setdefault(row["id"], []).append(row)
    depth = {row["id"]: row["depth"] for row in linked.get("depth", [])}
    if all(len(found.get(key, ())) == 1 for key in ancestors):
        # one parent each, so one way down from the root: the place in the path
        depth.update((key, place) for place, key in enumerate(ancestors))
    else:
        depth.update((row["id"], row["depth"]) for row in asked.depth_of(ancestors))
    return {
        key: [{**_brief(row), "depth": depth.get(key)} for row in rows]
        for key, rows in found.items()
    }


RECORD_FIELDS = WORK_ITEM.key_order  # the order of the item's own file


def _as_record(row: dict[str, Any], depends_on: list[str]) -> dict[str, Any]:
    """The item as its file holds it (empty fields left out), rebuilt from its index row."""
    values = {**row, "depends_on": depends_on}
    return {key: values[key] for key in RECORD_FIELDS if values.get(key) not in (None, [], {})}


BRIEF_FIELDS = ("id", "type", "title", "status", "priority", "depth", "parent", "version")


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in BRIEF_FIELDS}


def tree(
    workspace: Workspace,
    root: str | None,
    depth: int | None,
    include_deleted: bool = False,
    at: str | None = None,
) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        index = answer.index
        if root is None:
            rows = index.rows(*sql.tree(depth, include_deleted))  # brief rows already
        else:
            top = index.rows(*sql.tree_root(root))
            if not top:  # not an exact id: a prefix, resolved once
                top = index.rows(*sql.tree_root(_resolve_item(index, root)))
            rows = [_brief(row) for row in top if include_deleted or not row["deleted"]]
            path = top[0]["tree_path"] if top else None
            if path is not None:
                deepest = None if depth is None else int(top[0]["depth"]) + depth
                rows += index.rows(*sql.descendants(path, deepest, include_deleted))
        return answer.envelope({"items": rows[:MAX_TREE]})

    return answered(workspace, at, compute)


def ready_candidates(limit: int) -> int:
    """How many of the best active items a `ready` answer looks among first: more than a
    few of them blocked is rare, and a short answer asks again over all of them."""
    return max(64, 8 * limit)


def ready(workspace: Workspace, limit: int, at: str | None = None) -> dict[str, Any]:
    """Active, live items with no open dependency, best first. A warm index keeps the
    answer until an item change could alter it (agents ask for ready work again and
    again, between edits of other items; at 100,000 items the query costs ~11 ms, a kept
    answer ~0.03 ms)."""

    def compute(answer: Answer) -> dict[str, Any]:
        found = answer.memo(
            # all it reads: item rows, their dependencies, versions and files rows, and
            # what is derived from them (hierarchy, open dependencies)
            ("ready", limit),
            lambda: _ready_items(answer.index, limit),
            reads=ITEM_FOLDERS,
            survives=_ready_survives,
        )
        return answer.envelope({"items": [dict(item) for item in found]})

    return answered(workspace, at, compute)


def _ready_survives(report: SyncReport, found: list[dict[str, Any]]) -> bool:
    """Whether `ready`'s answer holds after a sync: what it changed decides no item's place
    in it (the items of the files read again kept every state and rank), and no file it
    changed holds an item of the answer (whose row, version or dirty flag would differ)."""
    return report.items_unchanged and not report.item_files & {row["file"] for row in found}


def _ready_items(index: QueryIndex, limit: int) -> list[dict[str, Any]]:
    items = _items(index, sql.ready(limit, ready_candidates(limit)))
    if len(items) < limit:  # too many of the first candidates blocked, or too few items
        items = _items(index, sql.ready(limit))
    return items


def blocked(workspace: Workspace, limit: int, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        items = _items(answer.index, sql.blocked(limit))
        blockers: dict[str, list[dict[str, Any]]] = {}
        if items:
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
        return answer.envelope({"items": items})

    return answered(workspace, at, compute)


def dependency_tree(workspace: Workspace, text: str, at: str | None = None) -> dict[str, Any]:
    """What an item depends on, transitively, as nested nodes (a repeated node is cut)."""

    def compute(answer: Answer) -> dict[str, Any]:
        index = answer.index
        root, first = text, index.rows(*sql.dependency_step([text]))
        if not any(row["part"] == "item" for row in first):  # a prefix, resolved once
            root = _resolve_item(index, text)
            first = index.rows(*sql.dependency_step([root]))
        edges, info = _reachable(index, root, first)

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

        return answer.envelope({"tree": node(root, frozenset())})

    return answered(workspace, at, compute)


def _reachable(
    index: QueryIndex, root: str, rows: list[dict[str, Any]]
) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
    """The dependencies (targets sorted) and the items `root` reaches, walked a step (one
    query) at a time; `rows` answer the first step."""
    edges: dict[str, list[str]] = {}
    info: dict[str, dict[str, Any]] = {}
    seen = {root}
    while rows:
        reached: list[str] = []
        for row in rows:
            if row["part"] == "item":
                info[row["id"]] = row
            else:
                edges.setdefault(row["id"], []).append(row["depends_on"])
                reached.append(row["depends_on"])
        step = [key for key in dict.fromkeys(reached) if key not in seen]
        seen.update(step)
        rows = index.rows(*sql.dependency_step(step)) if step else []
    for targets in edges.values():
        targets.sort()
    return edges, info


def vendors(workspace: Workspace, status: str | None, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [dict(row) for row in _all_vendors(answer) if status in (None, row["status"])]
        return answer.envelope({"vendors": rows, "total_count": len(rows)})

    return answered(workspace, at, compute)


def vendor(workspace: Workspace, name: str, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        found = answer.memo(  # all that vendor answers read: kept while items change
            "vendors-by-name", lambda: _by_name(_all_vendors(answer)), reads=VENDOR_FOLDERS
        )
        row = found.get(name.lower())
        if row is None:
            raise NotFound(f"no vendor '{name}'")
        return answer.envelope({"vendor": dict(row)})

    return answered(workspace, at, compute)


def _all_vendors(answer: Answer) -> list[dict[str, Any]]:
    """Every vendor, by name: a few hundred rows, kept by a warm index between changes."""
    return answer.memo(
        "vendors",
        lambda: [_plain(row) for row in answer.index.rows(*sql.vendors(None))],
        reads=VENDOR_FOLDERS,
    )


def _by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in rows:  # names differing only in case: the first by name, as SQL would
        found.setdefault(row["name"].lower(), row)
    return found


def deployments(
    workspace: Workspace, query: DeploymentQuery, at: str | None = None
) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [_plain(row) for row in answer.index.rows(*sql.deployments(query))]
        return answer.envelope({"deployments": rows})

    return answered(workspace, at, compute)


def enhancements(
    workspace: Workspace, query: EnhancementQuery, at: str | None = None
) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [_plain(row) for row in answer.index.rows(*sql.enhancements(query))]
        return answer.envelope({"enhancements": rows})

    return answered(workspace, at, compute)


def run_query(workspace: Workspace, text: str, at: str | None = None) -> dict[str, Any]:
    def compute(answer: Answer) -> dict[str, Any]:
        rows = [_plain(row) for row in answer.index.read_only_query(text)]
        return answer.envelope({"rows": rows, "row_count": len(rows)})

    return answered(workspace, at, compute)
