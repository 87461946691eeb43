"""The status report's data (`tracker status`): vendors, active work, recent deployments,
pending enhancements, the archive and the open dependencies, from the index.

Everything the report shows is selected, grouped and ordered by SQL
(tracker.query.status_sql); this module only walks the rows into the nested groups a
template prints without logic of its own. A process that keeps the index warm keeps the
result until the index next changes, so only the time and git state are computed again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tracker.index.backend import QueryIndex
from tracker.index.schema import ITEM_FOLDERS, VENDOR_FOLDERS
from tracker.model.vendor import FormatSupport, VendorStatus
from tracker.model.work_item import ItemStatus
from tracker.query import status_sql
from tracker.service.indexer import Answer
from tracker.service.team import answered
from tracker.service.workspace import Workspace

DEPLOYMENTS_SHOWN = 10
# GitHub draws no Mermaid graph beyond 500 edges or 50,000 characters: past this many edges
# the graph shows the most urgent items' dependencies and says how many it leaves out.
GRAPH_EDGES_SHOWN = 200
FORMATS = tuple(FormatSupport.model_fields)


def status_data(workspace: Workspace, at: str | None = None) -> dict[str, Any]:
    """The report as JSON-ready data, plus `data_source` and `warnings` like every read.
    A warm process shares the sections with its cache: read them, do not change them."""

    def compute(answer: Answer) -> dict[str, Any]:
        sections = _sections(answer)
        return answer.envelope(
            {
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "git": _git_state(workspace, at, answer.commit),
                **sections,
            },
        )

    return answered(workspace, at, compute)


def _git_state(workspace: Workspace, at: str | None, commit: str | None) -> dict[str, Any]:
    if at is not None:  # the revision asked for, not the checkout's branch
        return {"branch": None, "head": commit, "at": at}
    ref = workspace.store.tip().ref_name
    branch = ref.removeprefix("refs/heads/") if ref else None
    return {"branch": branch, "head": commit, "at": None}


def _sections(answer: Answer) -> dict[str, Any]:
    """Each section kept (by a warm index) until the files it reads change: an edited item
    recomputes the items' sections only."""
    index = answer.index

    def item_sections() -> dict[str, Any]:
        counts = index.rows(*status_sql.counts())[0]
        return {
            "work_items": _work_items(index, counts["live"]),
            "archived_items": counts["archived"],
            "dependency_graph": _graph(index),
        }

    items = answer.memo("status-items", item_sections, reads=ITEM_FOLDERS)
    return {
        "vendors": answer.memo("status-vendors", lambda: _vendors(index), reads=VENDOR_FOLDERS),
        "work_items": items["work_items"],
        "deployments": answer.memo(
            "status-deployments", lambda: _deployments(index), reads=("deployments",)
        ),
        "enhancements": answer.memo(
            "status-enhancements", lambda: _enhancements(index), reads=("enhancements",)
        ),
        "archived_items": items["archived_items"],
        "dependency_graph": items["dependency_graph"],
    }


def _vendors(index: QueryIndex) -> dict[str, Any]:
    rows = index.rows(*status_sql.vendors())
    vendors = [
        {
            "name": row["name"],
            "status": row["status"],
            "extractor_version": row["extractor_version"],
            "tests_passing": row["tests_passing"],
            "tests_total": row["tests_total"],
            "tests_skipped": row["tests_skipped"],
            "formats": [name for name in FORMATS if row[name]],
            "manifest_compliant": row["manifest_compliant"],
        }
        for row in rows
    ]
    operational = sum(1 for row in rows if row["status"] == VendorStatus.OPERATIONAL)
    total = len(rows)
    return {
        "total": total,
        "operational": operational,
        "broken": sum(1 for row in rows if row["status"] == VendorStatus.BROKEN),
        "percent_operational": round(100 * operational / total, 1) if total else None,
        "vendors": vendors,
    }


def _work_items(index: QueryIndex, live: int) -> dict[str, Any]:
    """Active items in groups by type, then priority, as the query orders them (the rows
    themselves, with their `indent` added)."""
    types: list[dict[str, Any]] = []
    levels: list[list[dict[str, Any]]] = []
    members: list[dict[str, Any]] = []
    group: dict[str, Any] = {}
    level: dict[str, Any] = {}
    blocked = 0
    for row in index.rows(*status_sql.active_items()):
        if row["type"] != group.get("type"):
            group = {"type": row["type"], "count": 0, "priorities": []}
            types.append(group)
            level = {}
        if row["priority"] != level.get("priority"):
            members = []
            level = {"priority": row["priority"], "count": 0, "work_items": members}
            group["priorities"].append(level)
            levels.append(members)
        members.append(row)
        group["count"] += 1
        level["count"] += 1
        blocked += row["status"] == ItemStatus.BLOCKED
    for members in levels:
        _indent(members)
    active = sum(group["count"] for group in types)
    return {"live": live, "active": active - blocked, "blocked": blocked, "types": types}


def _indent(rows: list[dict[str, Any]]) -> None:
    """Each row's `indent`: its depth below the shallowest row's, but never more than two
    levels below the row before it (nor more than one for the first): Markdown reads a
    list item indented further as a code block or as text of the item before, not as a
    nested item. An item in a parent cycle has no depth: as deep as the shallowest."""
    top = min((row["depth"] for row in rows if row["depth"] is not None), default=0)
    indent = -1
    for row in rows:
        depth = row["depth"]
        indent = min(depth - top if depth is not None else 0, indent + 2)
        row["indent"] = indent


def _deployments(index: QueryIndex) -> list[dict[str, Any]]:
    found = []
    for row in index.rows(*status_sql.recent_deployments(DEPLOYMENTS_SHOWN)):
        tests = json.loads(row["test_summary"]) if row["test_summary"] else {}
        found.append(
            {
                "id": row["id"],
                "deployed_at": row["deployed_at"].isoformat(),
                "pr": row["pr"],
                "pr_title": row["pr_title"],
                "commit": row["commit"],
                "short_commit": row["commit"][:7],
                "tests": tests,
                "tests_total": sum(tests.values()),
                "constitutional_compliance": row["constitutional_compliance"],
                "vendors": row["vendors"] or [],
            }
        )
    return found


def _enhancements(index: QueryIndex) -> list[dict[str, Any]]:
    return index.rows(*status_sql.pending_enhancements())


def _graph(index: QueryIndex) -> dict[str, Any]:
    """Open dependency edges and the items at their ends (a missing target has no title)."""
    nodes: dict[str, str | None] = {}
    edges: dict[tuple[str, str], None] = {}  # an id held by two files joins twice
    total = 0
    for row in index.rows(*status_sql.open_edges(GRAPH_EDGES_SHOWN)):
        total = row["total"]
        nodes.setdefault(row["item"], row["item_title"])
        nodes.setdefault(row["depends_on"], row["target_title"])
        edges[row["item"], row["depends_on"]] = None
    return {
        "nodes": [{"id": key, "title": title} for key, title in nodes.items()],
        "edges": [{"from": item, "to": target} for item, target in edges],
        "total_edges": total,
    }
