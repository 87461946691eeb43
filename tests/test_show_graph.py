"""`show` on a warm index answered from its in-memory projection (tracker.service.show_graph):
the very answer the index's SQL gives, byte for byte, and never one of an index that has
changed since the projection was loaded."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from bench.generate import GenParams, ensure_repo
from tests.conftest import git
from tracker.errors import TrackerError
from tracker.index.backend import QueryIndex
from tracker.index.duckdb_backend import Batch, DuckIndex
from tracker.model.kinds import kind_for_path, schema_ref
from tracker.model.yaml_write import dump_record
from tracker.query import sql as query_sql
from tracker.service import reads, show_graph
from tracker.service.indexer import Answer
from tracker.service.live import LiveIndex
from tracker.service.show_graph import GRAPH, ShowGraph
from tracker.service.workspace import Workspace

WHEN = "2024-03-01T10:00:00Z"


@pytest.fixture
def record_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids whose links `show` asked the index for: the SQL path does, the projection
    never (it asks only for the item's own row)."""
    fetched: list[str] = []
    rows = DuckIndex.rows
    links = query_sql.item_links("")[0]

    def counted(index: DuckIndex, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        if sql == links:
            fetched.append(params[0])
        return rows(index, sql, params)

    many = DuckIndex.rows_many

    def counted_many(index: DuckIndex, queries: Any) -> list[list[dict[str, Any]]]:
        fetched.extend(params[0] for sql, params in queries if sql == links)
        return many(index, queries)

    monkeypatch.setattr(DuckIndex, "rows", counted)
    monkeypatch.setattr(DuckIndex, "rows_many", counted_many)
    return fetched


@pytest.fixture
def live_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], LiveIndex]]:
    """A warm index on a repository; the tests load its projection when they choose."""
    monkeypatch.setattr(show_graph, "QUIET", 10**9)
    started: list[LiveIndex] = []

    def start(repo: Path) -> LiveIndex:
        started.append(LiveIndex.start(Workspace.open(repo)))
        return started[-1]

    yield start
    for live in started:
        live.close()


def shown(workspace: Workspace, key: str) -> str:
    """The answer as JSON text, in which the rows of an id held by two files (next to each
    other in a list) are in an order of their own: SQL leaves it open (`ORDER BY path, id`
    ties), and one index gives one order one time and another the next."""
    try:
        answer = reads.show_item(workspace, key)
    except TrackerError as exc:  # not found, ambiguous: the same either way
        return f"{type(exc).__name__}: {exc}"
    for name in ("ancestors", "descendants", "depends_on", "blocks"):
        runs = groupby(answer[name], key=lambda row: row["id"])
        answer[name] = [row for _, rows in runs for row in sorted(rows, key=json.dumps)]
    return json.dumps(answer)


def load_projection(live: LiveIndex) -> None:
    with live.answering() as answer:
        assert answer is not None and answer.cache is not None
        answer.cache[GRAPH] = ShowGraph.load(answer.index)


def assert_same_both_ways(
    live: LiveIndex, keys: list[str], record_queries: list[str], asked: tuple[str, ...] = ()
) -> None:
    """Every key (and every other text in `asked`) shown through the SQL path, then through
    a projection loaded now, gives the same JSON; the second did go through it."""
    workspace = Workspace.open(live.root)
    with live.answering() as answer:
        assert answer is not None and answer.cache is not None
        answer.cache.pop(GRAPH, None)
    texts = [*keys, *asked]
    by_sql = {text: shown(workspace, text) for text in texts}
    assert set(record_queries) >= set(keys)  # answered by the SQL path
    record_queries.clear()
    load_projection(live)
    by_graph = {text: shown(workspace, text) for text in texts}
    for text in texts:
        assert by_graph[text] == by_sql[text], text
    assert record_queries == []  # answered by the projection


def item_ids(live: LiveIndex) -> list[str]:
    with live.answering() as answer:
        assert answer is not None
        return sorted({row["id"] for row in answer.index.rows("SELECT id FROM items")})


# -- repositories ------------------------------------------------------------------------


def test_a_generated_repository_before_and_after_changes(
    tmp_path: Path,
    live_on: Callable[[Path], LiveIndex],
    record_queries: list[str],
) -> None:
    repo = ensure_repo(GenParams(items=300, seed=5, history=3), tmp_path / "gen", quiet=True)
    live = live_on(repo)
    keys = item_ids(live)
    assert len(keys) == 300
    prefixes = (keys[0][:-1], keys[1][4:], "TRK-", "nothing-like-it")
    assert_same_both_ways(live, keys, record_queries, prefixes)

    # moved, completed, deleted, edited in the work tree and committed, or left dirty
    root = repo / ".tracker"
    files = {key: next(root.glob(f"items/**/{key}.yaml")) for key in keys[:40]}
    for key in keys[:10]:
        text = files[key].read_text(encoding="utf-8")
        files[key].write_text(text.replace("status: active", "status: completed"), "utf-8")
    for key in keys[10:20]:
        text = files[key].read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if not line.startswith("parent:")]
        files[key].write_text("\n".join([*lines, f"parent: {keys[30]}", ""]), "utf-8")
    files[keys[25]].unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "changes")
    text = files[keys[31]].read_text(encoding="utf-8")
    files[keys[31]].write_text(text.replace("priority:", "priority: 1\n#", 1), "utf-8")
    assert_same_both_ways(live, [k for k in keys if k != keys[25]], record_queries)


def write(root: Path, folder: str, data: dict[str, Any]) -> None:
    relative = f"{folder}/{data['id']}.yaml"
    kind = kind_for_path(relative)
    assert kind is not None
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_record(data, kind.key_order, schema_ref(relative, kind)), "utf-8")


def item(key: str, title: str, **fields: Any) -> dict[str, Any]:
    return {"id": key, "type": "task", "title": title, "priority": 3, "created_at": WHEN, **fields}


def test_odd_shapes(
    tracker_repo: Path, live_on: Callable[[Path], LiveIndex], record_queries: list[str]
) -> None:
    """An id held by two files, deleted and archived items, missing dependency targets and
    parents, a parent cycle (no place in the hierarchy), an id the prefix of another,
    deployments, dirty and uncommitted files."""
    root = tracker_repo / ".tracker"
    chain = [f"TRK-a{n:03x}" for n in range(6)]  # depth 0-5
    for depth, key in enumerate(chain):
        parent = {"parent": chain[depth - 1]} if depth else {}
        write(root, "items", item(key, f"Level {depth}", **parent))
    top, second, third = chain[:3]
    shapes = [
        item("TRK-d0d0", "Twice, live", parent=top, depends_on=[third]),
        item("TRK-e0e0", "Below the twice-held", parent="TRK-d0d0", status="blocked"),
        item("TRK-f0f0", "Deleted", parent=second, deleted_at=WHEN),
        item("TRK-f1f1", "Below the deleted", parent="TRK-f0f0", deleted_at=WHEN),
        item("TRK-f2f2", "Live below the deleted", parent="TRK-f0f0"),
        item("TRK-b0b0", "Missing targets", depends_on=["TRK-dead", third, "TRK-beef"]),
        item("TRK-c1c1", "Cycle one", parent="TRK-c2c2", depends_on=["TRK-c2c2"]),
        item("TRK-c2c2", "Cycle two", parent="TRK-c1c1"),
        item("TRK-0f0f", "Missing parent", parent="TRK-ffff"),
        item("TRK-ab12", "Short id", parent=second),
        item("TRK-ab12cd", "Longer id", parent=second),
        item("TRK-ab1200", "Below the short", parent="TRK-ab12"),
        item("TRK-ab12cd00", "Below the longer", parent="TRK-ab12cd", depends_on=[third]),
        item("TRK-5e1f", "Itself", depends_on=["TRK-5e1f", "TRK-b0b0"], status="completed"),
    ]
    for data in shapes:
        write(root, "items", data)
    write(root, "archive/items", item("TRK-d0d0", "Twice, archived", parent=second))
    write(root, "archive/items", item("TRK-a0a0", "Archived", parent=top, depends_on=[third]))
    for n, (at, items) in enumerate(
        [("2024-04-01T00:00:00Z", [third, "TRK-d0d0"]), ("2024-05-01T00:00:00+02:00", [third])]
    ):
        write(
            root,
            "deployments",
            {
                "id": f"DEP-000{n}",
                "deployed_at": at,
                "commit": f"{n}" * 40,
                "pr": n + 1,
                "pr_title": f"Release {n}",
                "constitutional_compliance": True,
                "work_items": items,
            },
        )
    git(tracker_repo, "add", "-A")
    git(tracker_repo, "commit", "-q", "-m", "odd shapes")
    # dirty, and new (no version yet)
    path = root / "items" / f"{chain[4]}.yaml"
    path.write_text(path.read_text("utf-8").replace("Level 4", "Level four"), "utf-8")
    write(root, "items", item("TRK-0e0e", "Not committed", parent=chain[5]))

    live = live_on(tracker_repo)
    keys = item_ids(live)
    assert {"TRK-d0d0", "TRK-c1c1", "TRK-0e0e", "TRK-ab12cd00"} <= set(keys)
    assert_same_both_ways(live, keys, record_queries, ("trk-ab12c", "a000", "dead"))
    workspace = Workspace.open(tracker_repo)
    twice = reads.show_item(workspace, "TRK-e0e0")  # through the projection
    # its place: the least of the two paths; the depth of the twice-held id: the least too
    assert sorted((a["title"], a["depth"]) for a in twice["ancestors"]) == [
        ("Level 0", 0), ("Level 1", 1), ("Twice, archived", 1), ("Twice, live", 1),
    ]  # fmt: skip
    below = [d["id"] for d in reads.show_item(workspace, second)["descendants"]]
    assert below.index("TRK-ab1200") < below.index("TRK-ab12cd")  # "TRK-ab12/" sorts first
    assert "TRK-f1f1" in below
    assert reads.show_item(workspace, "TRK-b0b0")["missing_dependencies"] == [
        "TRK-dead",
        "TRK-beef",
    ]


# -- rows no valid record holds -----------------------------------------------------------


def random_rows(seed: int) -> dict[str, list[dict[str, Any]]]:
    """Ids with `/`, `_`, `%` and non-ASCII letters, held by up to three files, parents
    missing or in a cycle, a chain deeper than the hierarchy goes, ties everywhere. Other
    parents come before their children: a parent cycle through an id held twice makes the
    hierarchy's walk grow exponentially (the indexer's limit, not show's)."""
    draw = random.Random(seed)
    keys = sorted(
        {"X-" + "".join(draw.choices("ab/_%é0", k=draw.randint(1, 3))) for _ in range(40)}
    )
    files = [
        (key, n, draw.choice([None, "X-missing", *keys[:at]]))
        for at, key in enumerate(keys)
        for n in range(draw.choice([1, 1, 1, 2, 3]))
    ]
    files += [("X-c1", 0, "X-c2"), ("X-c2", 0, "X-c1"), ("X-deep00", 0, keys[-1])]
    files += [(f"X-deep{n:02d}", 0, f"X-deep{n - 1:02d}") for n in range(1, 70)]
    draw.shuffle(files)
    pick = [*keys, "X-missing", "X-c1"]
    times = [f"2024-01-0{n}T00:00:00Z" for n in range(1, 4)]
    table: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in ("items", "deps", "versions", "files", "deployments", "deployment_items")
    }
    for key, n, parent in files:
        file = f"items/{n}/{key}.yaml"
        table["items"].append({
            "file": file, "id": key, "archived": draw.random() < 0.2, "type": "task",
            "title": draw.choice(["a", "b"]), "status": draw.choice(["active", "completed"]),
            "priority": draw.randint(1, 3), "parent": parent, "labels": [],
            "created_at": times[0], "deleted_at": times[1] if draw.random() < 0.2 else None,
            "metadata": {},
        })  # fmt: skip
        targets = draw.sample(pick, draw.randint(0, 3))
        table["deps"] += [
            {"file": file, "item": key, "depends_on": target, "position": draw.randint(0, 1)}
            for target in targets
        ]
        if draw.random() < 0.9:
            table["versions"].append({
                "file": file, "version": f"v{draw.randint(0, 5)}", "author": draw.choice("pq"),
                "changed_at": draw.choice(times),
            })  # fmt: skip
        table["files"].append(
            {"file": file, "blob": "b", "head_blob": draw.choice(["b", "c", None]), "valid": True}
        )
    for n in range(5):
        table["deployments"].append(
            {"file": f"deployments/{n}.yaml", "id": f"D-{n}", "deployed_at": times[n % 3], "pr": n}
        )
        table["deployment_items"] += [
            {"file": f"deployments/{n}.yaml", "deployment": f"D-{n}", "item": key}
            for key in draw.sample(pick, 3)
        ]
    return table


@pytest.mark.parametrize("seed", range(6))
def test_rows_no_valid_record_holds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    index = DuckIndex.open(None)
    with index.bulk({}) as load:
        load(Batch(rows=random_rows(seed)))
    cache: dict[Any, Any] = {}

    def later(key: Any, compute: Callable[[QueryIndex], Any]) -> None:
        raise AssertionError("loaded by the test")

    monkeypatch.setattr(
        reads,
        "answered",
        lambda ws, at, compute: compute(Answer(index, "index", [], None, cache, later)),
    )
    monkeypatch.setattr(show_graph, "QUIET", 10**9)
    workspace = Workspace(Path("/nowhere"))
    keys = sorted({row["id"] for row in index.rows("SELECT id FROM items")})
    texts = [*keys, "x-a", "é", "X-missing"]
    by_sql = {text: shown(workspace, text) for text in texts}
    cache[GRAPH] = ShowGraph.load(index)
    for text in texts:
        assert shown(workspace, text) == by_sql[text], text


# -- when the projection is loaded, and when it is dropped --------------------------------


def test_loaded_in_the_background_and_never_stale(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(show_graph, "QUIET", 1.0)
    root = tracker_repo / ".tracker"
    write(root, "items", item("TRK-1111", "Parent"))
    write(root, "items", item("TRK-2222", "Child", parent="TRK-1111", depends_on=["TRK-1111"]))
    git(tracker_repo, "add", "-A")
    git(tracker_repo, "commit", "-q", "-m", "two")
    workspace = Workspace.open(tracker_repo)
    live = LiveIndex.start(workspace)
    try:
        for _ in range(3):  # shows one after the other: not worth a load yet
            assert reads.show_item(workspace, "TRK-2222")["record"]["title"] == "Child"
        time.sleep(0.2)
        assert GRAPH not in live._cache
        time.sleep(show_graph.QUIET)  # shows go on, the index stays as it is: worth it now
        assert reads.show_item(workspace, "TRK-2222")["record"]["title"] == "Child"
        wait_for(lambda: GRAPH in live._cache)  # loaded off the answering thread
        for n in range(3):  # edited and committed: the very next show tells
            write(root, "items", item("TRK-1111", f"Parent {n}"))
            git(tracker_repo, "commit", "-q", "-am", f"edit {n}")
            head = git(tracker_repo, "rev-parse", "HEAD").strip()
            answer = reads.show_item(workspace, "TRK-2222")
            assert answer["ancestors"][0]["title"] == f"Parent {n}"
            assert answer["depends_on"][0]["title"] == f"Parent {n}"
            time.sleep(show_graph.QUIET)
            parent = reads.show_item(workspace, "TRK-1111")
            assert (parent["version"], parent["dirty"]) == (head, False)
            wait_for(lambda: GRAPH in live._cache)
            assert json.dumps(reads.show_item(workspace, "TRK-2222")) == json.dumps(answer)
    finally:
        live.close()


def test_a_change_stops_a_load_in_the_background_and_it_is_never_kept(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(show_graph, "QUIET", 10**9)
    write(tracker_repo / ".tracker", "items", item("TRK-3333", "Before"))
    git(tracker_repo, "add", "-A")
    git(tracker_repo, "commit", "-q", "-m", "one")
    workspace = Workspace.open(tracker_repo)
    live = LiveIndex.start(workspace)
    loaded, stopped = threading.Event(), []

    def slow(index: QueryIndex) -> ShowGraph:
        """A projection of the index as it was, then queries for up to 10 s."""
        graph = ShowGraph.load(index)
        loaded.set()
        try:
            for _ in range(2000):
                index.rows("SELECT count(*) FROM items")
                time.sleep(0.005)
        except Exception as exc:
            stopped.append(exc)
        return graph

    try:
        reads.show_item(workspace, "TRK-3333")
        live.compute_later(GRAPH, slow)
        assert loaded.wait(20)
        write(tracker_repo / ".tracker", "items", item("TRK-3333", "After"))
        assert reads.show_item(workspace, "TRK-3333")["record"]["title"] == "After"
        wait_for(lambda: live._background is None)
        assert stopped  # by the sync
        assert GRAPH not in live._cache
        assert reads.show_item(workspace, "TRK-3333")["record"]["title"] == "After"
        # closing stops one still running, and waits for it to let go of the index
        loaded.clear()
        stopped.clear()
        live.compute_later(GRAPH, slow)
        assert loaded.wait(20)
        closing = time.monotonic()
    finally:
        live.close()
    assert stopped and time.monotonic() - closing < 5


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_kept_and_brought_up_to_date_through_changes_of_titles_and_versions(
    tmp_path: Path, live_on: Callable[[Path], LiveIndex], record_queries: list[str]
) -> None:
    """A sync that changes no place in the hierarchy, no status and no dependency keeps
    the projection, brought up to date (titles, priorities, versions, dirty flags), and
    its answers stay those of the SQL path; any other change drops it."""
    repo = ensure_repo(GenParams(items=120, seed=7, history=2), tmp_path / "gen", quiet=True)
    live = live_on(repo)
    workspace = Workspace.open(repo)
    keys = item_ids(live)
    load_projection(live)
    graph = live._cache[GRAPH]
    root = repo / ".tracker"
    files = {key: next(root.glob(f"items/**/{key}.yaml")) for key in keys}

    def edit(key: str, old: str, new: str) -> None:
        text = files[key].read_text(encoding="utf-8")
        assert old in text
        files[key].write_text(text.replace(old, new, 1), "utf-8")

    def same_as_sql(shown_keys: list[str]) -> None:
        by_graph = {key: shown(workspace, key) for key in shown_keys}
        assert live._cache.get(GRAPH) is graph  # kept, not loaded again
        assert record_queries == []  # answered by the projection
        with live.answering() as answer:
            assert answer is not None and answer.cache is not None
            kept = answer.cache.pop(GRAPH)
        by_sql = {key: shown(workspace, key) for key in shown_keys}
        for key in shown_keys:
            assert by_graph[key] == by_sql[key], key
        record_queries.clear()
        with live.answering() as answer:
            assert answer is not None and answer.cache is not None
            answer.cache[GRAPH] = kept

    # with a parent, children, dependencies both ways: their rows show in others' answers
    linked = [k for k in keys if "parent:" in files[k].read_text("utf-8")][:6]
    for n, key in enumerate(linked):
        edit(key, "title: ", f"title: Renamed {n} ")
    same_as_sql(keys)  # edited, not committed: dirty, the new titles
    git(repo, "commit", "-q", "-am", "renamed")
    same_as_sql(keys)  # committed: the new versions, clean
    edit(linked[0], "priority: ", "priority: 1\n# was ")
    vendor = next(root.glob("vendors/*.yaml"))
    vendor.write_text(vendor.read_text("utf-8").replace("status: ", "status: broken\n# ", 1))
    same_as_sql(keys[:30])  # a vendor changed too: nothing the projection holds

    edit(linked[1], "status: ", "status: completed\n# was ")  # blocks others no more
    assert shown(workspace, linked[1])
    assert GRAPH not in live._cache  # dropped: answered by the SQL path again


def test_shows_amid_edits_count_as_going_on_in_small_trackers_only(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time shows began outlives an edit of a title in a small tracker (a load there
    is short), not in a large one (a load would slow the answers after each edit)."""
    monkeypatch.setattr(show_graph, "QUIET", 10**9)
    root = tracker_repo / ".tracker"
    write(root, "items", item("TRK-4444", "Before"))
    git(tracker_repo, "add", "-A")
    git(tracker_repo, "commit", "-q", "-m", "one")
    workspace = Workspace.open(tracker_repo)
    live = LiveIndex.start(workspace)
    try:
        reads.show_item(workspace, "TRK-4444")
        began = live._cache[show_graph.FIRST]
        write(root, "items", item("TRK-4444", "After"))
        assert reads.show_item(workspace, "TRK-4444")["record"]["title"] == "After"
        assert live._cache[show_graph.FIRST] == began  # kept: a small tracker
        monkeypatch.setattr(show_graph, "LOADS_AMID_EDITS", 0)
        write(root, "items", item("TRK-4444", "Again"))
        assert reads.show_item(workspace, "TRK-4444")["record"]["title"] == "Again"
        assert live._cache[show_graph.FIRST] > began  # began again
    finally:
        live.close()
