"""The read queries against a brute force over the very rows they read.

Random rows go straight into an in-memory index (no files, no git), so they can hold what
valid records never do but the SQL must still answer right: ids holding LIKE wildcards
(`_`, `%`) or non-ASCII letters, parent cycles, parents that do not exist, chains deeper
than the hierarchy goes, dependencies on missing or deleted items, and many ties in every
sort key. Every list, ready, blocked, tree, show and dependency-tree answer must equal what
plain Python computes from the rows, answered by DuckDB (the local index) and by PostgreSQL
(a team index's scope holding the same rows: the query layer's SQL runs unchanged on both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.team_support import copy_into_scope
from tracker.errors import NotFound
from tracker.index.duckdb_backend import Batch, DuckIndex
from tracker.query.spec import SORTS, ItemQuery
from tracker.service import reads
from tracker.service.indexer import Answer
from tracker.service.workspace import Workspace

if TYPE_CHECKING:
    from tracker.index.postgres_backend import TeamIndex

MAX_PATH_DEPTH = 64  # the hierarchy stops there (tracker.index.derived)
TIMES = ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-02T00:00:00.5Z"]
EVERYTHING = 1_000_000


@dataclass
class Row:
    id: str
    parent: str | None
    status: str
    priority: int
    created_at: str
    updated_at: str | None
    title: str
    description: str | None
    deleted: bool
    archived: bool
    depends_on: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        return f"{'archive/' if self.archived else ''}items/{self.id}.yaml"


@st.composite
def item_rows(draw: st.DrawFn) -> list[Row]:
    keys = draw(
        st.lists(
            st.text(alphabet="ab_%é0", min_size=1, max_size=3).map(lambda s: f"X-{s}"),
            min_size=1,
            max_size=25,
            unique=True,
        )
    )
    pick = st.sampled_from([*keys, "X-missing"])
    rows = [
        Row(
            id=key,
            parent=draw(st.one_of(st.none(), pick)),
            status=draw(st.sampled_from(["active", "active", "completed", "blocked"])),
            priority=draw(st.integers(1, 3)),
            created_at=draw(st.sampled_from(TIMES)),
            updated_at=draw(st.sampled_from([None, *TIMES])),
            title=draw(st.sampled_from(["a", "A", "b", "a_b", "100%"])),
            description=draw(st.sampled_from([None, "x_y", "50%", "B"])),
            deleted=draw(st.booleans()) and draw(st.booleans()),
            archived=draw(st.booleans()) and draw(st.booleans()),
            depends_on=draw(st.lists(pick, max_size=3)),
        )
        for key in keys
    ]
    if draw(st.booleans()) and draw(st.booleans()):  # deeper than the hierarchy goes
        rows += [
            Row(f"X-deep{n:02d}", f"X-deep{n - 1:02d}" if n else keys[0], "active", 2,
                TIMES[0], None, "deep", None, False, False)
            for n in range(MAX_PATH_DEPTH + 2)
        ]  # fmt: skip
    return rows


def load(rows: list[Row]) -> DuckIndex:
    index = DuckIndex.open(None)
    table: dict[str, list[dict[str, Any]]] = {"items": [], "deps": [], "versions": [], "files": []}
    for row in rows:
        table["items"].append(
            {
                "file": row.file,
                "id": row.id,
                "archived": row.archived,
                "type": "task",
                "title": row.title,
                "status": row.status,
                "priority": row.priority,
                "parent": row.parent,
                "labels": [],
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "deleted_at": TIMES[0] if row.deleted else None,
                "description": row.description,
                "metadata": {},
            }
        )
        table["deps"] += [
            {"file": row.file, "item": row.id, "depends_on": target, "position": n}
            for n, target in enumerate(row.depends_on)
        ]
        table["versions"].append({"file": row.file, "version": f"v-{row.id}", "author": "a"})
        table["files"].append({"file": row.file, "blob": "b", "head_blob": "b", "valid": True})
    with index.bulk({}) as load:
        load(Batch(rows=table))
    return index


class Truth:
    """What the answers must be, computed from the rows alone."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = {row.id: row for row in rows}
        self.path = {key: path for key in self.rows if (path := self._path(key)) is not None}

    def _path(self, key: str) -> str | None:
        chain = [key]
        parent = self.rows[key].parent
        while parent is not None and parent in self.rows:
            if parent in chain:
                return None  # in (or below) a parent cycle
            chain.append(parent)
            parent = self.rows[parent].parent
        return "/".join(reversed(chain)) if len(chain) <= MAX_PATH_DEPTH + 1 else None

    def depth(self, key: str) -> int | None:
        path = self.path.get(key)
        return None if path is None else path.count("/")

    def is_open(self, target: str) -> bool:
        found = self.rows.get(target)
        return found is None or (found.status != "completed" and not found.deleted)

    def open_count(self, key: str) -> int:
        return sum(self.is_open(target) for target in self.rows[key].depends_on)

    def below(self, key: str) -> list[str]:
        """Descendants by path, in path order."""
        path = self.path.get(key)
        if path is None:
            return []
        found = [k for k, p in self.path.items() if p.startswith(path + "/")]
        return sorted(found, key=lambda k: (self.path[k], k))

    def live(self) -> list[Row]:
        return [row for row in self.rows.values() if not row.deleted and not row.archived]

    def listed(self, query: ItemQuery) -> list[str]:
        chosen = [
            row
            for row in self.rows.values()
            if row.archived == query.archived
            and (query.include_deleted or not row.deleted)
            and (query.status is None or row.status == query.status)
            and (query.parent is None or row.parent == query.parent)
            and (query.under is None or row.id in self.below(query.under))
            and (
                not query.text
                or any(
                    query.text.lower() in (text or "").lower()
                    for text in (row.title, row.description)
                )
            )
        ]
        descending = query.sort == "-created"  # ids unique: reversing breaks no tie
        ordered = sorted(chosen, key=SORT_KEYS[query.sort](self), reverse=descending)
        return [row.id for row in ordered]


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


SORT_KEYS: dict[str, Callable[[Truth], Callable[[Row], Any]]] = {
    "priority": lambda t: lambda r: (r.priority, at(r.created_at), r.id),
    "created": lambda t: lambda r: (at(r.created_at), r.id),
    "-created": lambda t: lambda r: (at(r.created_at), r.id),  # reversed
    "updated": lambda t: lambda r: (r.updated_at is None, -at(r.updated_at or TIMES[0]), r.id),
    "title": lambda t: lambda r: (r.title.lower(), r.id),
    "id": lambda t: lambda r: r.id,
    "tree": lambda t: lambda r: (r.id not in t.path, t.path.get(r.id, ""), r.id),
}


@pytest.fixture(scope="module")
def team_index(pg_dsn: str) -> Iterator[TeamIndex]:
    """One connection to the team index for the module: each example its own scope."""
    from tracker.index.postgres_backend import TeamIndex

    connected = TeamIndex.connect(pg_dsn, migrate=True)
    try:
        yield connected
    finally:
        connected.close()


@pytest.fixture(params=["duckdb", "postgres"])
def answering(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[DuckIndex], None]]:
    """Point the read use-cases at an index of our own (no workspace, no sync): the
    in-memory index itself, or a team index scope holding a copy of every row of it."""

    def use(index: DuckIndex) -> None:
        monkeypatch.setattr(
            reads, "answered", lambda ws, at, compute: compute(Answer(index, "index"))
        )

    if request.param == "duckdb":
        yield use
        return
    shared: TeamIndex = request.getfixturevalue("team_index")

    def use_team(index: DuckIndex) -> None:
        shared.use_scope(copy_into_scope(shared, index))

        def answered(ws: Workspace, at: str | None, compute: Callable[[Answer], Any]) -> Any:
            with shared.snapshot():
                return compute(Answer(shared, "postgres"))

        monkeypatch.setattr(reads, "answered", answered)

    yield use_team


WORKSPACE = Workspace(Path("/nowhere"))
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def ids(answer: dict[str, Any], key: str = "items") -> list[str]:
    return [row["id"] for row in answer[key]]


@EXAMPLES
@given(rows=item_rows(), data=st.data())
def test_list_ready_blocked_equal_a_brute_force(
    answering: Callable[[DuckIndex], None], rows: list[Row], data: st.DataObject
) -> None:
    truth = Truth(rows)
    index = load(rows)
    answering(index)
    some = st.sampled_from(sorted(truth.rows))
    queries = [
        ItemQuery(limit=EVERYTHING),
        ItemQuery(sort=data.draw(st.sampled_from(sorted(SORTS))), limit=3, offset=1),
        ItemQuery(
            sort=data.draw(st.sampled_from(sorted(SORTS))),
            include_deleted=True,
            limit=data.draw(st.integers(0, 5)),
            offset=data.draw(st.integers(0, 30)),
        ),
        ItemQuery(archived=True, include_deleted=True, sort="tree", limit=EVERYTHING),
        ItemQuery(under=data.draw(some), include_deleted=True, sort="tree", limit=EVERYTHING),
        ItemQuery(under=data.draw(some), status="active", limit=2),
        ItemQuery(parent=data.draw(some), limit=EVERYTHING),
        ItemQuery(text=data.draw(st.sampled_from(["_", "%", "a_", "b"])), limit=EVERYTHING),
    ]
    for query in queries:
        answer = reads.list_items(WORKSPACE, query)
        every = truth.listed(query)
        assert ids(answer) == every[query.offset : query.offset + query.limit], query
        assert answer["total_count"] == len(every), query
        assert answer["has_more"] == (query.offset + query.limit < len(every)), query
        for row in answer["items"]:
            key = row["id"]
            assert (row["depth"], row["tree_path"]) == (truth.depth(key), truth.path.get(key))
            assert row["open_dependencies"] == truth.open_count(key)
            assert (row["version"], row["dirty"]) == (f"v-{key}", False)

    by_priority = sorted(truth.live(), key=SORT_KEYS["priority"](truth))
    ready = [r.id for r in by_priority if r.status == "active" and not truth.open_count(r.id)]
    limit = data.draw(st.sampled_from([1, 3, EVERYTHING]))
    assert ids(reads.ready(WORKSPACE, limit)) == ready[:limit]
    for candidates in (1, 2, 5):  # few candidates, some of them blocked: asked again over all
        with patch.object(reads, "ready_candidates", lambda _limit, n=candidates: n):
            assert ids(reads.ready(WORKSPACE, limit)) == ready[:limit], candidates
    stuck = [r for r in by_priority if r.status != "completed" and truth.open_count(r.id)]
    answer = reads.blocked(WORKSPACE, limit)
    assert ids(answer) == [r.id for r in stuck][:limit]
    for row, item in zip(answer["items"], stuck, strict=False):
        blockers = sorted(t for t in item.depends_on if truth.is_open(t))
        assert [b["id"] for b in row["blocked_by"]] == blockers


@EXAMPLES
@given(rows=item_rows(), data=st.data())
def test_tree_show_and_dependency_tree_equal_a_brute_force(
    answering: Callable[[DuckIndex], None], rows: list[Row], data: st.DataObject
) -> None:
    truth = Truth(rows)
    answering(load(rows))
    include_deleted = data.draw(st.booleans())
    depth = data.draw(st.one_of(st.none(), st.integers(0, 2)))

    def shown(key: str) -> bool:
        return include_deleted or not truth.rows[key].deleted

    placed = sorted(truth.path, key=lambda k: (truth.path[k], k))
    unplaced = sorted(k for k in truth.rows if k not in truth.path)
    whole = [
        (k, truth.depth(k))
        for k in placed + unplaced
        if not truth.rows[k].archived
        and shown(k)
        and (depth is None or (k in truth.path and (truth.depth(k) or 0) <= depth))
    ]
    answer = reads.tree(WORKSPACE, None, depth, include_deleted)
    assert [(row["id"], row["depth"]) for row in answer["items"]] == whole

    for key in sorted(truth.rows):
        row = truth.rows[key]
        base = truth.depth(key)
        below = [
            k
            for k in truth.below(key)
            if shown(k) and (depth is None or (truth.depth(k) or 0) <= (base or 0) + depth)
        ]
        answer = reads.tree(WORKSPACE, key, depth, include_deleted)
        assert ids(answer) == [key] * shown(key) + below, key

        show = reads.show_item(WORKSPACE, key)
        path = truth.path.get(key, key).split("/")
        assert ids(show, "ancestors") == path[:-1]
        assert [a["depth"] for a in show["ancestors"]] == list(range(len(path) - 1))
        assert (show["depth"], show["open_dependencies"]) == (base, truth.open_count(key))
        assert ids(show, "descendants") == truth.below(key)
        assert [d["depth"] for d in show["descendants"]] == [
            truth.depth(k) for k in truth.below(key)
        ]
        present = [t for t in row.depends_on if t in truth.rows]
        missing = [t for t in row.depends_on if t not in truth.rows]
        assert ids(show, "depends_on") == present
        assert show["missing_dependencies"] == missing
        assert show["record"].get("depends_on", []) == present + missing
        assert ids(show, "blocks") == sorted(
            k for k, other in truth.rows.items() for t in other.depends_on if t == key
        )
        assert [b["depth"] for b in show["blocks"]] == [truth.depth(b) for b in ids(show, "blocks")]
        assert (show["version"], show["archived"]) == (f"v-{key}", row.archived)

        def node(at: str, seen: frozenset[str]) -> dict[str, Any]:
            found = truth.rows.get(at)
            entry: dict[str, Any] = {
                "id": at,
                "title": found.title if found else None,
                "status": found.status if found else "missing",
            }
            if at in seen:
                return {**entry, "repeated": True}
            targets = sorted(found.depends_on) if found else []
            return {**entry, "depends_on": [node(t, seen | {at}) for t in targets]}

        if len(truth.rows) < 40:  # the nested answer grows fast along long chains
            assert reads.dependency_tree(WORKSPACE, key)["tree"] == node(key, frozenset())


def test_text_is_an_id_never_a_pattern(answering: Callable[[DuckIndex], None]) -> None:
    """`_` and `%` in what the user types match only themselves."""
    rows = [
        Row("X-a_b", None, "active", 1, TIMES[0], None, "t", None, False, False),
        Row("X-axb", "X-a_b", "active", 1, TIMES[0], None, "t", None, False, False),
        Row("X-a%", "X-axb", "active", 1, TIMES[0], None, "t", None, False, False),
        Row("X-abc", "X-a%", "active", 1, TIMES[0], None, "t", None, False, False),
    ]
    answering(load(rows))
    assert reads.show_item(WORKSPACE, "X-a_b")["id"] == "X-a_b"
    assert ids(reads.show_item(WORKSPACE, "X-a%"), "descendants") == ["X-abc"]
    assert ids(reads.list_items(WORKSPACE, ItemQuery(under="X-a%"))) == ["X-abc"]
    assert ids(reads.list_items(WORKSPACE, ItemQuery(parent="X-a_b"))) == ["X-axb"]
    assert ids(reads.tree(WORKSPACE, "X-axb", 0)) == ["X-axb"]
    for text in ("X-_", "X-%", "%", "_"):
        with pytest.raises(NotFound):
            reads.show_item(WORKSPACE, text)
    # a unique prefix still finds its item, whichever read is asked
    assert reads.show_item(WORKSPACE, "x-ab")["id"] == "X-abc"
    assert ids(reads.tree(WORKSPACE, "x-ab", None)) == ["X-abc"]
    assert reads.dependency_tree(WORKSPACE, "x-ab")["tree"]["id"] == "X-abc"
    assert ids(reads.list_items(WORKSPACE, ItemQuery(under="x-ax"))) == ["X-a%", "X-abc"]


def test_duplicate_ids_show_every_row_and_the_hierarchy_depth(
    answering: Callable[[DuckIndex], None],
) -> None:
    """An id in two files (a live and an archived copy, mid-move): both rows are shown
    wherever the id is, and depths come from the hierarchy (the shortest way down), which
    need not be the place in the (smallest) path."""
    rows = [
        Row("X-a", None, "active", 1, TIMES[0], None, "t", None, False, False),
        Row("X-m", "X-a", "active", 1, TIMES[0], None, "t", None, False, False),
        Row("X-m", None, "active", 1, TIMES[0], None, "t", None, False, True),
        Row("X-l", "X-m", "active", 1, TIMES[0], None, "t", None, False, False, ["X-m"]),
    ]
    answering(load(rows))
    show = reads.show_item(WORKSPACE, "X-l")
    # paths X-a/X-m/X-l (the smaller) and X-m/X-l (the shorter)
    assert (show["depth"], ids(show, "ancestors")) == (1, ["X-a", "X-m", "X-m"])
    assert [row["depth"] for row in show["ancestors"]] == [0, 0, 0]
    assert sorted(row["version"] for row in show["depends_on"]) == ["v-X-m", "v-X-m"]
    assert ids(reads.show_item(WORKSPACE, "X-a"), "descendants") == ["X-m", "X-m", "X-l"]
