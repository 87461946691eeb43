"""Cross-file rules for one changed record, checked against the commit it is written on.

`tracker validate` checks a whole tree; a write only needs the records its
change can affect, read lazily, so a write costs the same at 100 or 100,000 items.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tracker.constants import MAX_DEPTH
from tracker.errors import Problem
from tracker.model.config import TrackerConfig
from tracker.model.deployment import Deployment
from tracker.model.enhancement import Enhancement
from tracker.model.kinds import VENDOR
from tracker.model.vendor import Vendor
from tracker.service.records import TreeReader


def check_record(reader: TreeReader, path: str, record: BaseModel, before: Any) -> list[Problem]:
    shown = reader.workspace.display(path)
    if isinstance(record, Vendor):
        return []
    if isinstance(record, Deployment):
        problems = [
            Problem(shown, 0, f"vendors.{i}", f"no vendor '{name}' exists")
            for i, name in enumerate(record.vendors)
            if reader.get(VENDOR, name) is None
        ]
        return problems + _missing_items(reader, shown, "work_items", record.work_items)
    if isinstance(record, Enhancement):
        return _missing_items(reader, shown, "depends_on", record.depends_on)
    if isinstance(record, TrackerConfig):
        session = record.project.current_session
        if session is None:
            return []
        item = reader.item(session)
        if item is None:
            return [Problem(shown, 0, "project.current_session", f"no item '{session}' exists")]
        if item.type != "session":
            return [
                Problem(
                    shown,
                    0,
                    "project.current_session",
                    f"'{session}' is a {item.type}, not a session",
                )
            ]
        return []
    return _item_problems(reader, shown, record, before)


def _missing_items(reader: TreeReader, shown: str, field: str, keys: list[str]) -> list[Problem]:
    return [
        Problem(shown, 0, f"{field}.{i}", f"no item '{key}' exists")
        for i, key in enumerate(keys)
        if reader.item(key) is None
    ]


def _item_problems(reader: TreeReader, shown: str, item: Any, before: Any) -> list[Problem]:
    problems: list[Problem] = []
    old_parent = before.get("parent") if before else None
    if item.parent is not None and item.parent != old_parent:
        problems += _parent_problems(reader, shown, item)
    old_deps = set(before.get("depends_on", [])) if before else set()
    new_deps = [d for d in item.depends_on if d not in old_deps]
    for index, target in enumerate(item.depends_on):
        if target not in new_deps:
            continue
        if reader.item(target) is None:
            problems.append(Problem(shown, 0, f"depends_on.{index}", f"no item '{target}' exists"))
            continue
        cycle = _dependency_path(reader, target, item.id)
        if cycle:
            shown_cycle = " -> ".join([item.id, *cycle])
            problems.append(
                Problem(
                    shown,
                    0,
                    f"depends_on.{index}",
                    f"dependencies would form a cycle: {shown_cycle}",
                )
            )
    return problems


def _parent_problems(reader: TreeReader, shown: str, item: Any) -> list[Problem]:
    chain: list[str] = []
    current: str | None = item.parent
    while current is not None:
        if current == item.id:
            cycle = " -> ".join([item.id, *chain, item.id])
            return [Problem(shown, 0, "parent", f"parent chain would form a cycle: {cycle}")]
        node = reader.item(current)
        if node is None:
            return [Problem(shown, 0, "parent", f"no item '{current}' exists")]
        chain.append(current)
        if len(chain) > MAX_DEPTH + 1:
            break
        current = node.parent
    depth = len(chain)  # the item sits one below its parent's depth (len - 1)
    below = _subtree_height(reader, item.id) if reader.locate_item(item.id) else 0
    if depth + below > MAX_DEPTH:
        extra = f" (its subtree is {below} levels deep)" if below else ""
        return [
            Problem(
                shown,
                0,
                "parent",
                f"depth {depth + below} would exceed the maximum depth of {MAX_DEPTH}{extra}",
            )
        ]
    return []


def _subtree_height(reader: TreeReader, key: str) -> int:
    height = 0
    frontier = [key]
    seen = {key}
    while frontier:
        next_frontier = []
        for parent in frontier:
            for child in reader.children(parent):
                if child.id not in seen:
                    seen.add(child.id)
                    next_frontier.append(child.id)
        if not next_frontier:
            break
        height += 1
        frontier = next_frontier
    return height


def _dependency_path(reader: TreeReader, start: str, goal: str) -> list[str]:
    """A dependency path from start to goal ([] when none): adding goal -> start would cycle."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen = {start}
    while stack:
        node, path = stack.pop()
        if node == goal:
            return path
        item = reader.item(node)
        if item is None:
            continue
        for target in item.depends_on:
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return []
