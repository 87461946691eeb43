"""The derived tables (materialised paths, open-dependency counts): in full, or for the items
a small change touches.

Recomputing them in full costs 0.5-0.8 s at 100,000 items, far more than the one file a
typical change touches. An incremental refresh redoes only the paths of the items whose
parent changed (or that came or went) and of everything below them, and the open counts
of the changed items and of the items that depend on them. Either way the keys rewritten
are logged (`derived_touched`, schema.CHANGE_LOG), so the next publish compares those alone
with what it last sent. Plain SQL over a `Run` callable, so the module stays free of any
database library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.index.schema import LOG_LIMIT
from tracker.model.times import instant

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

# Materialised paths: root ids first; items in a parent cycle get none. The walk steps over
# distinct (id, parent) pairs: an id held by two files with the same parent would otherwise
# double the rows below it at every step, and in a cycle (reachable through such an id)
# that is 2^64 rows.
FULL_HIERARCHY = """
    INSERT INTO hierarchy
    WITH RECURSIVE pairs AS MATERIALIZED (SELECT DISTINCT id, parent FROM items),
    walk(id, path, depth) AS (
        SELECT id, id, 0 FROM pairs
        WHERE parent IS NULL OR parent NOT IN (SELECT id FROM items)
        UNION ALL
        SELECT i.id, walk.path || '/' || i.id, walk.depth + 1
        FROM pairs i JOIN walk ON i.parent = walk.id
        WHERE walk.depth < 64
    )
    -- stored in path order: a subtree's rows then sit together, and DuckDB's per-block
    -- min/max lets a path-prefix scan skip most of the table
    SELECT id, min(path) AS path, min(depth) FROM walk GROUP BY id ORDER BY path
"""

# The same walk for a set of ids `s` closed under "children of": those whose parent is
# outside the set continue from the parent's (unchanged) path.
PARTIAL_HIERARCHY = """
    INSERT INTO hierarchy
    WITH RECURSIVE s(id) AS (SELECT unnest(?::VARCHAR[])),
    pairs AS MATERIALIZED (SELECT DISTINCT id, parent FROM items WHERE id IN (SELECT id FROM s)),
    walk(id, path, depth) AS (
        SELECT * FROM (
            SELECT i.id, i.id AS path, 0 AS depth FROM pairs i
            WHERE i.parent IS NULL OR i.parent NOT IN (SELECT id FROM items)
            UNION ALL
            SELECT i.id, h.path || '/' || i.id, h.depth + 1 FROM pairs i
            JOIN hierarchy h ON h.id = i.parent
            WHERE i.parent NOT IN (SELECT id FROM s)
        )
        UNION ALL
        SELECT i.id, walk.path || '/' || i.id, walk.depth + 1
        FROM pairs i JOIN walk ON i.parent = walk.id
        WHERE walk.depth < 64
    )
    SELECT id, min(path), min(depth) FROM walk GROUP BY id
"""

# What blocks what: a dependency is open until its target is completed (or deleted); a
# dependency on an item that does not exist stays open.
OPEN_DEPS = """
    INSERT INTO open_deps
    SELECT d.item, count(*) FROM deps d LEFT JOIN items t ON t.id = d.depends_on
    WHERE ({where}) AND (t.id IS NULL OR (t.status <> 'completed' AND t.deleted_at IS NULL))
    GROUP BY d.item
"""

SUBTREE = """
    WITH RECURSIVE sub(id) AS (
        SELECT unnest(?::VARCHAR[])
        UNION
        SELECT i.id FROM items i JOIN sub ON i.parent = sub.id
    )
    SELECT id FROM sub
"""

# (id, parent, status, deleted) of the item rows of some files, and their dependencies:
# two index lookups in one round trip (each costs DuckDB ~0.5 ms; a correlated subquery for
# the lists costs ten times as much). Dependency rows have a position, item rows none.
ITEM_STATE = (
    "SELECT id, parent, status, deleted_at IS NOT NULL, NULL::INTEGER AS position, "
    "priority, epoch_us(created_at) FROM items WHERE file IN ({marks}) UNION ALL "
    "SELECT item, depends_on, NULL, NULL, position, NULL, NULL FROM deps "
    "WHERE file IN ({marks})"
)

# id -> (parent, status, deleted, dependencies, (priority, creation in µs since 1970))
ItemState = dict[str, tuple[Any, ...]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def refresh_all(run: Run) -> None:
    run("DELETE FROM hierarchy", ())
    run("DELETE FROM open_deps", ())
    run(FULL_HIERARCHY, ())
    run(OPEN_DEPS.format(where="true"), ())
    for table in ("hierarchy", "open_deps"):
        touched_all(run, table)


def item_state(run: Run, files: Sequence[str]) -> ItemState | None:
    """The items of these files as the index holds them; None when an id is held twice
    (a duplicate across files), which only a full refresh gets right."""
    if not files:
        return {}
    marks = ", ".join("?" for _ in files)
    targets: dict[str, list[tuple[int, str]]] = {}
    items: list[tuple[Any, ...]] = []
    for key, parent_or_target, status, deleted, position, priority, created in run(
        ITEM_STATE.format(marks=marks), [*files, *files]
    ):
        if position is None:
            items.append((key, parent_or_target, status, deleted, (priority, created)))
        else:
            targets.setdefault(key, []).append((position, parent_or_target))
    found: ItemState = {}
    for key, parent, status, deleted, rank in items:
        if key in found:
            return None
        wanted = [target for _, target in sorted(targets.get(key, []))]
        found[key] = (parent, status, deleted, wanted, rank)
    return found


def new_state(
    rows: Iterable[dict[str, Any]], deps: Iterable[dict[str, Any]] = ()
) -> ItemState | None:
    targets: dict[str, list[tuple[int, str]]] = {}
    for dep in deps:
        targets.setdefault(dep["item"], []).append((dep["position"], dep["depends_on"]))
    found: ItemState = {}
    for row in rows:
        if row["id"] in found:
            return None
        wanted = [target for _, target in sorted(targets.get(row["id"], []))]
        rank = (row["priority"], _micros(row["created_at"]))
        found[row["id"]] = (
            row["parent"],
            row["status"],
            row["deleted_at"] is not None,
            wanted,
            rank,
        )
    return found


def refresh_some(run: Run, before: ItemState, after: ItemState) -> bool | None:
    """Refresh the derived rows the change from `before` to `after` (the items of the
    changed files) touches, and tell whether it rewrote any. None when it cannot tell (an
    id held twice): refresh all."""
    changed = set(before) | set(after)
    if not changed:
        return False
    moved = sorted(
        key
        for key in changed
        if key not in before or key not in after or before[key][0] != after[key][0]
    )
    # an item blocks others by existing (or not), by its status and by its deletion; its
    # own count changes with its dependencies
    blockers = sorted(
        key for key in changed if _blocking(before.get(key)) != _blocking(after.get(key))
    )
    counted = {key for key in changed if _deps(before.get(key)) != _deps(after.get(key))}
    if not moved and not blockers and not counted:
        # a title, a description, a priority: nothing derived changes, whether or not
        # another file holds one of these ids too
        return False
    marks = ", ".join("?" for _ in changed)
    # counted here, not with GROUP BY: index lookups cost DuckDB a tenth of a hash aggregate
    held = [row[0] for row in run(f"SELECT id FROM items WHERE id IN ({marks})", sorted(changed))]
    if len(held) != len(set(held)):  # another file holds one of these ids too: only a full
        return None  # refresh is sure
    if moved:
        subtree = [row[0] for row in run(SUBTREE, [moved])]
        run("DELETE FROM hierarchy WHERE id IN (SELECT unnest(?::VARCHAR[]))", [subtree])
        run(PARTIAL_HIERARCHY, [subtree])
        _touched(run, "hierarchy", subtree)
    if not blockers and not counted:
        return True  # rewrote the moved items' paths
    counted |= set(blockers)
    if blockers:
        counted.update(
            row[0]
            for row in run(
                "SELECT DISTINCT item FROM deps WHERE depends_on IN (SELECT unnest(?::VARCHAR[]))",
                [blockers],
            )
        )
    ids = sorted(counted)
    run("DELETE FROM open_deps WHERE item IN (SELECT unnest(?::VARCHAR[]))", [ids])
    run(OPEN_DEPS.format(where="d.item IN (SELECT unnest(?::VARCHAR[]))"), [ids])
    _touched(run, "open_deps", ids)
    return True


def _touched(run: Run, table: str, keys: list[str]) -> None:
    """Log the keys of `table` rewritten, for the next publish (the index keeps the log
    below LOG_LIMIT rows)."""
    if len(keys) >= LOG_LIMIT:
        touched_all(run, table)
    else:
        run("INSERT INTO derived_touched SELECT ?, unnest(?::VARCHAR[])", [table, keys])


def touched_all(run: Run, table: str) -> None:
    """Log that any key of `table` may have been rewritten (the next publish compares all)."""
    run("DELETE FROM derived_touched WHERE tbl = ?", [table])
    run("INSERT INTO derived_touched VALUES (?, NULL)", [table])


def without_dependencies(state: ItemState) -> bool:
    """No item of `state` depends on anything."""
    return not any(_deps(item) for item in state.values())


def same_dependencies(before: ItemState, after: ItemState | None) -> bool:
    """The same items, each with the same dependencies in the same order."""
    return (
        after is not None
        and before.keys() == after.keys()
        and all(_deps(before[key]) == _deps(after[key]) for key in before)
    )


def _blocking(state: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    return None if state is None else (state[1], state[2])


def _deps(state: tuple[Any, ...] | None) -> list[str] | None:
    return None if state is None else list(state[3])


def _micros(value: Any) -> Any:
    """A creation time as the rows hold it, in µs since 1970 as the index's
    `epoch_us(created_at)` gives it; anything else as it is (it compares unequal)."""
    moment = instant(value)
    return value if moment is None else (moment - _EPOCH) // timedelta(microseconds=1)
