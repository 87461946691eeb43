"""Rules that span files: unique keys, links that resolve, no cycles, depth at most 5."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tracker.constants import MAX_DEPTH
from tracker.errors import Problem
from tracker.model.config import TrackerConfig
from tracker.model.deployment import Deployment
from tracker.model.enhancement import Enhancement
from tracker.model.kinds import Kind
from tracker.model.vendor import Vendor
from tracker.model.yaml_read import LoadedYaml


@dataclass
class RecordLinks:
    """What the cross-file rules need to know of one valid file (small, cheap to pickle)."""

    path: str
    kind: str  # "items", "archive/items", "vendors", "deployments", "enhancements", ""
    key: str
    item_type: str = ""
    parent: str | None = None
    depends_on: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    work_items: list[str] = field(default_factory=list)
    current_session: str | None = None
    lines: dict[str, int] = field(default_factory=dict)
    valid: bool = True  # False: the file failed its schema check; it only counts as existing

    def line(self, name: str, index: int | None = None) -> int:
        if index is not None and f"{name}.{index}" in self.lines:
            return self.lines[f"{name}.{index}"]
        return self.lines.get(name, 1)


_LINKED_FIELDS = ("id", "name", "parent", "depends_on", "vendors", "work_items")


def links_of(record: BaseModel, kind: Kind, loaded: LoadedYaml) -> RecordLinks:
    lines: dict[str, int] = {}
    for name in _LINKED_FIELDS:
        if (name,) in loaded.lines:
            lines[name] = loaded.lines[(name,)]
            value = loaded.data.get(name)
            if isinstance(value, list):
                for index in range(len(value)):
                    lines[f"{name}.{index}"] = loaded.line_of((name, index))
    if isinstance(record, TrackerConfig):
        lines["project.current_session"] = loaded.line_of(("project", "current_session"))
        return RecordLinks(
            loaded.path,
            kind.folder,
            "tracker",
            current_session=record.project.current_session,
            lines=lines,
        )
    if isinstance(record, Vendor):
        return RecordLinks(loaded.path, kind.folder, record.name, lines=lines)
    if isinstance(record, Deployment):
        return RecordLinks(
            loaded.path,
            kind.folder,
            record.id,
            vendors=list(record.vendors),
            work_items=list(record.work_items),
            lines=lines,
        )
    if isinstance(record, Enhancement):
        return RecordLinks(
            loaded.path, kind.folder, record.id, depends_on=list(record.depends_on), lines=lines
        )
    item: Any = record
    return RecordLinks(
        loaded.path,
        kind.folder,
        item.id,
        item_type=item.type,
        parent=item.parent,
        depends_on=list(item.depends_on),
        lines=lines,
    )


def links_of_invalid(kind: Kind, loaded: LoadedYaml) -> RecordLinks | None:
    """What can still be read of a file that failed its schema check, so the files that
    point at it are not also reported as pointing at nothing."""
    data = loaded.data
    stem = loaded.path.rsplit("/", 1)[-1].removesuffix(".yaml")
    if kind.key_field is None:
        return None
    key = data.get(kind.key_field)
    key = key if isinstance(key, str) else stem

    item_type = data.get("type")
    # Only a target of other files' links: its own links are not checked until it is valid.
    return RecordLinks(loaded.path, kind.folder, key, item_type=str(item_type or ""), valid=False)


def links_of_unreadable(kind: Kind, relative: str, path: str) -> RecordLinks | None:
    """A file that is not even well-formed YAML still exists under its file name."""
    if kind.key_field is None:
        return None
    key = relative.rsplit("/", 1)[-1].removesuffix(".yaml")
    return RecordLinks(path, kind.folder, key, valid=False)


def check_links(records: Iterable[RecordLinks]) -> list[Problem]:
    """Every cross-file problem among the given records."""
    by_kind: dict[str, list[RecordLinks]] = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)
    items = by_kind.get("items", []) + by_kind.get("archive/items", [])
    problems = _duplicates(items, "id")
    for kind in ("vendors", "deployments", "enhancements"):
        problems += _duplicates(by_kind.get(kind, []), "name" if kind == "vendors" else "id")
    item_by_id = {item.key: item for item in items}
    vendor_names = {vendor.key for vendor in by_kind.get("vendors", [])}

    for item in items:
        if item.parent is not None and item.parent not in item_by_id:
            problems.append(_missing(item, "parent", None, "item", item.parent))
        for index, target in enumerate(item.depends_on):
            if target not in item_by_id:
                problems.append(_missing(item, "depends_on", index, "item", target))
    problems += _parent_problems(item_by_id)
    problems += _dependency_cycles(item_by_id)
    for deployment in by_kind.get("deployments", []):
        for index, name in enumerate(deployment.vendors):
            if name not in vendor_names:
                problems.append(_missing(deployment, "vendors", index, "vendor", name))
        for index, target in enumerate(deployment.work_items):
            if target not in item_by_id:
                problems.append(_missing(deployment, "work_items", index, "item", target))
    for enhancement in by_kind.get("enhancements", []):
        for index, target in enumerate(enhancement.depends_on):
            if target not in item_by_id:
                problems.append(_missing(enhancement, "depends_on", index, "item", target))
    for config in by_kind.get("", []):
        session = config.current_session
        if session is None:
            continue
        line = config.line("project.current_session")
        session_item = item_by_id.get(session)
        if session_item is None:
            problems.append(
                Problem(config.path, line, "project.current_session", f"no item '{session}' exists")
            )
        elif session_item.item_type != "session" and session_item.valid:
            problems.append(
                Problem(
                    config.path,
                    line,
                    "project.current_session",
                    f"'{session}' is a {session_item.item_type}, not a session",
                )
            )
    return problems


def _missing(record: RecordLinks, name: str, index: int | None, what: str, key: str) -> Problem:
    field_name = name if index is None else f"{name}.{index}"
    return Problem(record.path, record.line(name, index), field_name, f"no {what} '{key}' exists")


def _duplicates(records: list[RecordLinks], key_field: str) -> list[Problem]:
    first: dict[str, RecordLinks] = {}
    problems = []
    for record in sorted(records, key=lambda r: r.path):
        folded = record.key.lower()
        if folded in first:
            other = first[folded]
            problems.append(
                Problem(
                    record.path,
                    record.line(key_field),
                    key_field,
                    f"'{record.key}' is also used by {other.path}",
                )
            )
        else:
            first[folded] = record
    return problems


def _parent_problems(item_by_id: dict[str, RecordLinks]) -> list[Problem]:
    """Cycles in parent chains, and items deeper than MAX_DEPTH."""
    depth: dict[str, int | None] = {}  # None: in or under a cycle, so no depth
    problems: list[Problem] = []
    for start in sorted(item_by_id):
        chain: list[str] = []
        on_chain: set[str] = set()
        current: str | None = start
        while current in item_by_id and current not in depth and current not in on_chain:
            chain.append(current)
            on_chain.add(current)
            current = item_by_id[current].parent
        base: int | None
        if current is not None and current in on_chain:
            cycle = chain[chain.index(current) :]
            culprit = item_by_id[min(cycle)]
            shown = " -> ".join([*cycle, current])
            problems.append(
                Problem(
                    culprit.path,
                    culprit.line("parent"),
                    "parent",
                    f"parent chain forms a cycle: {shown}",
                )
            )
            for member in cycle:
                depth[member] = None
            chain = chain[: chain.index(current)]
            base = None
        elif current is None or current not in item_by_id:
            base = -1  # reached a root (a missing parent is reported on its own)
        else:
            base = depth[current]
        for member in reversed(chain):
            base = None if base is None else base + 1
            depth[member] = base
    for item_id in sorted(depth):
        level = depth[item_id]
        if level is not None and level > MAX_DEPTH:
            item = item_by_id[item_id]
            problems.append(
                Problem(
                    item.path,
                    item.line("parent"),
                    "parent",
                    f"depth {level} exceeds the maximum depth of {MAX_DEPTH}",
                )
            )
    return problems


def _dependency_cycles(item_by_id: dict[str, RecordLinks]) -> list[Problem]:
    """One problem per dependency cycle, found with an iterative depth-first search."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(item_by_id, white)
    problems = []
    for root in sorted(item_by_id):
        if color[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        color[root] = grey
        while stack:
            node, next_index = stack[-1]
            targets = [t for t in item_by_id[node].depends_on if t in item_by_id]
            if next_index < len(targets):
                stack[-1] = (node, next_index + 1)
                target = targets[next_index]
                if color[target] == grey:
                    cycle = path[path.index(target) :]
                    culprit = item_by_id[node]
                    index = item_by_id[node].depends_on.index(target)
                    shown = " -> ".join([*cycle, target])
                    problems.append(
                        Problem(
                            culprit.path,
                            culprit.line("depends_on", index),
                            f"depends_on.{index}",
                            f"dependencies form a cycle: {shown}",
                        )
                    )
                elif color[target] == white:
                    color[target] = grey
                    stack.append((target, 0))
                    path.append(target)
            else:
                color[node] = black
                stack.pop()
                path.pop()
    return problems
