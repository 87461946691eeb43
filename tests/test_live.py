"""The warm index a long-running process keeps (LiveIndex): the change feed, the HEAD
check, incremental syncs and derived tables, and its answers right after any change."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import git, run
from tests.conftest import new_item as new
from tracker.index import derived
from tracker.index.duckdb_backend import Batch, DuckIndex
from tracker.index.schema import LOG_LIMIT
from tracker.service import live as live_module
from tracker.service import reads
from tracker.service.indexer import warm_index
from tracker.service.live import LiveIndex
from tracker.service.status import status_data
from tracker.service.workspace import Workspace
from tracker.store.head import HeadWatch
from tracker.store.inotify import ChangeFeed


@pytest.fixture
def live(tracker_repo: Path) -> Iterator[LiveIndex]:
    warm = LiveIndex.start(Workspace.open(tracker_repo))
    try:
        yield warm
    finally:
        warm.close()


def item_file(repo: Path, key: str) -> Path:
    return repo / ".tracker" / "items" / f"{key}.yaml"


def retitle(path: Path, title: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(
        "".join(f"title: {title}\n" if line.startswith("title:") else line for line in lines),
        encoding="utf-8",
    )


# -- the change feed ---------------------------------------------------------------------


def test_the_feed_names_every_file_written_since_the_last_drain(tmp_path: Path) -> None:
    (tmp_path / "items").mkdir()
    (tmp_path / ".hidden").mkdir()
    feed = ChangeFeed.open(tmp_path, lambda folder: not folder.startswith("."))
    assert feed is not None
    try:
        assert not feed.drain()
        (tmp_path / "items" / "a.yaml").write_text("x")
        (tmp_path / ".hidden" / "b.yaml").write_text("x")  # not watched
        (tmp_path / "tracker.yaml").write_text("x")
        assert feed.drain().paths == {"items/a.yaml", "tracker.yaml"}
        assert not feed.drain()  # drained
        # a new folder: watched from now on, and the files already in it are named
        (tmp_path / "items" / "ab").mkdir()
        (tmp_path / "items" / "ab" / "c.yaml").write_text("x")
        changes = feed.drain()
        assert "items/ab/c.yaml" in changes.paths and not changes.rescan
        (tmp_path / "items" / "ab" / "c.yaml").write_text("y")
        assert feed.drain().paths == {"items/ab/c.yaml"}
        (tmp_path / "items" / "a.yaml").rename(tmp_path / "items" / "d.yaml")
        assert feed.drain().paths == {"items/a.yaml", "items/d.yaml"}
        # a folder that goes away: only a scan can tell what went with it
        (tmp_path / "items" / "ab" / "c.yaml").unlink()
        (tmp_path / "items" / "ab").rmdir()
        assert feed.drain().rescan
    finally:
        feed.close()


def test_head_watch_sees_commits_branch_switches_and_detaching(tracker_repo: Path) -> None:
    watch = HeadWatch(tracker_repo / ".git")
    assert not watch.unchanged()  # nothing remembered yet
    watch.remember()
    assert watch.unchanged()
    git(tracker_repo, "commit", "-q", "--allow-empty", "-m", "one")
    assert not watch.unchanged()
    watch.remember()
    git(tracker_repo, "checkout", "-q", "-b", "other")
    assert not watch.unchanged()
    watch.remember()
    git(tracker_repo, "checkout", "-q", "--detach")
    assert not watch.unchanged()
    watch.remember()
    git(tracker_repo, "commit", "-q", "--allow-empty", "-m", "detached")
    assert not watch.unchanged()
    watch.remember()
    git(tracker_repo, "pack-refs", "--all")
    git(tracker_repo, "checkout", "-q", "main")
    assert not watch.unchanged()


# -- answers right after a change --------------------------------------------------------


def test_queries_go_through_the_live_index_and_see_every_change_at_once(
    tracker_repo: Path, live: LiveIndex
) -> None:
    workspace = Workspace.open(tracker_repo)
    assert warm_index(workspace) is live
    parent = new("task", "Parent")
    child = new("task", "Child", "--parent", parent, "--depends-on", parent)
    assert reads.show_item(workspace, child)["ancestors"][0]["id"] == parent

    # an edit in the work tree, no commit: seen by the very next query, dirty
    retitle(item_file(tracker_repo, child), "Edited")
    shown = reads.show_item(workspace, child)
    assert (shown["record"]["title"], shown["dirty"], shown["data_source"]) == (
        "Edited",
        True,
        "index",
    )
    # committed by git: clean, and its version is the new commit
    git(tracker_repo, "commit", "-q", "-am", "edit")
    head = git(tracker_repo, "rev-parse", "HEAD").strip()
    shown = reads.show_item(workspace, child)
    assert (shown["dirty"], shown["version"]) == (False, head)

    # the parent completed by hand: the child is ready at once
    assert [i["id"] for i in reads.ready(workspace, 10)["items"]] == [parent]
    path = item_file(tracker_repo, parent)
    path.write_text(path.read_text().replace("status: active", "status: completed"))
    assert [i["id"] for i in reads.ready(workspace, 10)["items"]] == [child]

    # a branch switch and back
    git(tracker_repo, "stash", "-q")
    git(tracker_repo, "checkout", "-q", "-b", "side")
    item_file(tracker_repo, child).unlink()
    git(tracker_repo, "commit", "-q", "-am", "drop the child")
    listed = reads.tree(workspace, None, None)["items"]
    assert [i["id"] for i in listed] == [parent]
    git(tracker_repo, "checkout", "-q", "main")
    listed = reads.tree(workspace, None, None)["items"]
    assert sorted(i["id"] for i in listed) == sorted([parent, child])
    assert reads.show_item(workspace, child)["depth"] == 1


def test_a_move_in_the_hierarchy_updates_the_subtree(tracker_repo: Path, live: LiveIndex) -> None:
    workspace = Workspace.open(tracker_repo)
    top = new("task", "Top")
    other = new("task", "Other")
    middle = new("task", "Middle", "--parent", top)
    leaf = new("task", "Leaf", "--parent", middle)
    assert [a["id"] for a in reads.show_item(workspace, leaf)["ancestors"]] == [top, middle]
    assert run(["set", middle, f"parent={other}"]).exit_code == 0
    assert [a["id"] for a in reads.show_item(workspace, leaf)["ancestors"]] == [other, middle]
    assert {d["id"] for d in reads.show_item(workspace, other)["descendants"]} == {middle, leaf}
    assert reads.show_item(workspace, top)["descendants"] == []
    # the middle item deleted (its file removed): its child becomes a root
    (tracker_repo / ".tracker" / "items" / f"{middle}.yaml").unlink()
    shown = reads.show_item(workspace, leaf)
    assert (shown["depth"], shown["ancestors"]) == (0, [])
    assert_derived_tables_equal_a_full_refresh(live)


def assert_derived_tables_equal_a_full_refresh(live: LiveIndex) -> None:
    """The incrementally kept hierarchy and open counts equal a refresh from scratch."""
    with live.answering() as answer:
        assert answer is not None
        index = answer.index

        def snapshot() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
            return (
                index.rows("SELECT * FROM hierarchy ORDER BY id"),
                index.rows("SELECT * FROM open_deps ORDER BY item"),
            )

        kept = snapshot()
        index.connection.execute("BEGIN TRANSACTION")
        try:
            derived.refresh_all(
                lambda sql, params: index.connection.execute(sql, list(params)).fetchall()
            )
            assert snapshot() == kept
        finally:
            index.connection.execute("ROLLBACK")


def test_incremental_derived_tables_equal_a_full_refresh(
    tracker_repo: Path, live: LiveIndex
) -> None:
    workspace = Workspace.open(tracker_repo)
    keys = [new("task", f"Item {n}") for n in range(6)]
    steps = [
        ["set", keys[1], f"parent={keys[0]}"],
        ["set", keys[2], f"parent={keys[1]}"],
        ["set", keys[3], f"parent={keys[2]}", f"depends_on={keys[4]}"],
        ["edit", keys[0], f"parent: {keys[3]}"],  # a cycle: 0 -> 3 -> 2 -> 1 -> 0
        ["set", keys[4], "status=completed"],
        ["set", keys[0], "parent=", "--force"],  # the cycle broken
        ["set", keys[5], f"depends_on={keys[3]}", "status=blocked"],
        ["set", keys[3], "status=completed"],
        ["set", keys[2], "title=Renamed", "priority=1"],  # nothing derived changes
        ["set", keys[5], f"depends_on={keys[4]},{keys[3]}"],  # the same targets, reordered
        ["set", keys[5], f"depends_on={keys[0]}"],
        ["set", keys[0], "status=completed"],
    ]
    for step in steps:
        if step[0] == "edit":  # the CLI refuses a cycle; an editor does not
            path = item_file(tracker_repo, step[1])
            path.write_text(path.read_text(encoding="utf-8") + step[2] + "\n", encoding="utf-8")
            git(tracker_repo, "commit", "-q", "-am", "a cycle")
        else:
            assert run(step).exit_code == 0, step
        assert_derived_tables_equal_a_full_refresh(live)
    shown = reads.show_item(workspace, keys[3])
    assert [a["id"] for a in shown["ancestors"]] == [keys[0], keys[1], keys[2]]


def test_without_a_change_feed_every_query_scans(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module.ChangeFeed, "open", classmethod(lambda cls, *a: None))
    warm = LiveIndex.start(Workspace.open(tracker_repo))
    try:
        key = new("task", "Scanned")
        retitle(item_file(tracker_repo, key), "Seen by a scan")
        shown = reads.show_item(Workspace.open(tracker_repo), key)
        assert shown["record"]["title"] == "Seen by a scan"
    finally:
        warm.close()


def test_a_broken_index_is_rebuilt_by_the_live_index(tracker_repo: Path, live: LiveIndex) -> None:
    workspace = Workspace.open(tracker_repo)
    key = new("task", "Survivor")
    assert reads.show_item(workspace, key)["data_source"] == "rebuilt"  # its first sync
    assert reads.show_item(workspace, key)["data_source"] == "index"
    with live.answering() as answer:
        assert answer is not None
        answer.index.connection.execute("DROP TABLE items CASCADE")
    shown = reads.show_item(workspace, key)
    assert shown["record"]["title"] == "Survivor"
    assert shown["data_source"] == "rebuilt"
    assert any("rebuilt" in warning for warning in shown["warnings"])
    assert reads.show_item(workspace, key)["data_source"] == "index"


def test_a_second_live_index_on_the_same_file_is_refused_in_another_process(
    tracker_repo: Path, live: LiveIndex
) -> None:
    import subprocess
    import sys

    code = (
        "from tracker.service.live import LiveIndex\n"
        "from tracker.service.workspace import Workspace\n"
        "from tracker.index.duckdb_backend import IndexLocked\n"
        "try:\n"
        "    LiveIndex.start(Workspace.open())\n"
        "except IndexLocked as exc:\n"
        "    print('locked:', exc.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tracker_repo,
        capture_output=True,
        text=True,
        env={**os.environ, "TRACKER_NO_SERVER": "1"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("locked: index"), done.stdout


def test_the_feed_watches_a_root_that_was_removed_and_made_again(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "root"
    (root / "items").mkdir(parents=True)
    feed = ChangeFeed.open(root, lambda folder: True)
    assert feed is not None
    try:
        shutil.rmtree(root)
        assert feed.drain().rescan
        (root / "items").mkdir(parents=True)
        assert feed.drain().rescan  # watched anew: what is in it only a scan can tell
        (root / "tracker.yaml").write_text("x")
        assert feed.drain().paths == {"tracker.yaml"}
    finally:
        feed.close()


def test_ids_held_twice_in_a_parent_cycle_do_not_multiply_the_hierarchy_walk() -> None:
    """Two ids each held by two files (a bad merge), in a cycle reachable from a root: the
    walk over every (id, parent) row used to double at each of its 64 steps; it must stay a
    walk over distinct pairs and give each id its shortest path, in full and in part."""

    def item(file: str, key: str, parent: str | None) -> dict[str, object]:
        return {
            "file": file, "id": key, "archived": False, "type": "task", "title": key,
            "status": "active", "priority": 1, "parent": parent, "labels": [],
            "created_at": "2024-01-01T00:00:00Z", "metadata": {},
        }  # fmt: skip

    items = [
        item("items/R.yaml", "R", None),
        item("items/X.yaml", "X", "R"),
        item("items/X2.yaml", "X", "Y"),
        item("items/Y.yaml", "Y", "X"),
        item("items/Y2.yaml", "Y", "X"),
    ]
    index = DuckIndex.open(None)
    # an explosion fails at once (out of memory, no spilling) rather than filling the disk
    index.connection.execute("SET memory_limit = '200MB'")
    index.connection.execute("SET temp_directory = ''")
    with index.bulk({}) as load:
        load(Batch(rows={"items": items}))
    expected = [("R", "R", 0), ("X", "R/X", 1), ("Y", "R/X/Y", 2)]
    found = index.connection.execute("SELECT * FROM hierarchy ORDER BY id").fetchall()
    assert found == expected

    def run(sql: str, params: object) -> list[tuple[object, ...]]:
        return index.connection.execute(sql, params).fetchall()

    index.connection.execute("DELETE FROM hierarchy WHERE id IN ('X', 'Y')")
    run(derived.PARTIAL_HIERARCHY, [["X", "Y"]])
    assert index.connection.execute("SELECT * FROM hierarchy ORDER BY id").fetchall() == expected


def test_vendor_answers_are_kept_while_only_items_change(
    tracker_repo: Path, live: LiveIndex
) -> None:
    """What a warm index computed from the vendor files alone outlives a change of an item,
    never a change of a vendor (edited, committed or not)."""
    workspace = Workspace.open(tracker_repo)
    assert run(["vendor", "new", "acme", "--extractor-version", "1.0"]).exit_code == 0
    assert reads.vendor(workspace, "acme")["vendor"]["extractor_version"] == "1.0"
    kept = live._cache["vendors"]
    key = new("task", "Some work")  # a write: a commit and a sync of the item's file
    assert reads.show_item(workspace, key)["record"]["title"] == "Some work"
    assert reads.vendor(workspace, "acme")["vendor"]["extractor_version"] == "1.0"
    assert live._cache["vendors"] is kept  # not computed again

    path = tracker_repo / ".tracker" / "vendors" / "acme.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [
        'extractor_version: "1.1"\n' if line.startswith("extractor_version:") else line
        for line in lines
    ]
    assert edited != lines
    path.write_text("".join(edited), encoding="utf-8")
    shown = reads.vendor(workspace, "acme")["vendor"]
    assert (shown["extractor_version"], shown["dirty"]) == ("1.1", True)
    git(tracker_repo, "commit", "-q", "-am", "acme 1.1")
    head = git(tracker_repo, "rev-parse", "HEAD").strip()
    shown = reads.vendor(workspace, "acme")["vendor"]
    assert (shown["dirty"], shown["version"]) == (False, head)


def test_ready_answers_are_kept_until_an_item_file_changes(
    tracker_repo: Path, live: LiveIndex
) -> None:
    """A warm index keeps `ready`'s answer through changes of other folders, and every
    change of an item file, committed or not, is in the next answer."""
    workspace = Workspace.open(tracker_repo)
    first, second = new("task", "First"), new("task", "Second")
    assert run(["dep", "add", second, "--on", first]).exit_code == 0

    def ready() -> dict[str, dict[str, object]]:
        return {item["id"]: item for item in reads.ready(workspace, 10)["items"]}

    assert first in ready() and second not in ready()
    kept = live._cache[("ready", 10)]
    assert run(["vendor", "new", "acme", "--extractor-version", "1.0"]).exit_code == 0
    assert first in ready() and second not in ready()
    assert live._cache[("ready", 10)] is kept  # a vendor's commit: not computed again

    ready()[first]["title"] = "changed by a caller"  # answers are copies of what is kept
    assert ready()[first]["title"] == "First"

    path = item_file(tracker_repo, first)
    text = path.read_text(encoding="utf-8")
    assert "status: active\n" in text
    path.write_text(text.replace("status: active\n", "status: completed\n"), encoding="utf-8")
    assert first not in ready() and second in ready()  # edited, not committed

    retitle(item_file(tracker_repo, second), "Second, renamed")
    shown = ready()[second]
    assert (shown["title"], shown["dirty"]) == ("Second, renamed", True)
    # its dependency rows, the same before and after, were left in place
    assert [row["id"] for row in reads.show_item(workspace, second)["depends_on"]] == [first]
    assert [row["id"] for row in reads.show_item(workspace, first)["blocks"]] == [second]
    git(tracker_repo, "commit", "-q", "-am", "first done, second renamed")
    head = git(tracker_repo, "rev-parse", "HEAD").strip()
    shown = ready()[second]
    assert (shown["dirty"], shown["version"]) == (False, head)


def test_ready_answers_live_through_edits_that_move_no_item(
    tracker_repo: Path, live: LiveIndex
) -> None:
    """`ready`'s answer is kept through changes of items outside it that decide nothing
    about it (a title, metadata, a commit of them), and computed again for one that could:
    a priority, a creation time, and any change of an item in the answer."""
    workspace = Workspace.open(tracker_repo)
    keys = [new("task", "One"), new("task", "Two"), new("task", "Three")]

    def top() -> list[str]:
        return [item["id"] for item in reads.ready(workspace, 1)["items"]]

    def kept() -> object:
        return live._cache[("ready", 1)]

    [first] = top()
    second, third = (key for key in keys if key != first)
    answer = kept()

    retitle(item_file(tracker_repo, second), "Two, renamed")  # edited, not committed
    assert top() == [first] and kept() is answer
    git(tracker_repo, "commit", "-q", "-am", "two renamed")
    assert top() == [first] and kept() is answer
    assert run(["set", third, "metadata.actual_hours=5"]).exit_code == 0
    assert top() == [first] and kept() is answer

    assert run(["set", second, "priority=1"]).exit_code == 0
    assert top() == [second] and kept() is not answer
    answer = kept()

    # a creation time of its own before the first's, at the same priority: best first now
    path = item_file(tracker_repo, third)
    text = path.read_text(encoding="utf-8")
    assert "priority: 3\n" in text and "created_at: " in text
    lines = [
        "created_at: 2001-01-01T00:00:00Z\n" if line.startswith("created_at:") else line
        for line in text.replace("priority: 3\n", "priority: 1\n").splitlines(keepends=True)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    assert top() == [third] and kept() is not answer
    answer = kept()

    retitle(path, "Three, renamed")  # the item the answer shows: its new title shown
    assert reads.ready(workspace, 1)["items"][0]["title"] == "Three, renamed"
    assert kept() is not answer


def test_status_sections_are_kept_until_the_files_they_read_change(
    tracker_repo: Path, live: LiveIndex
) -> None:
    """A warm index keeps each section of the status report until a file it reads changes:
    an edited item recomputes the item sections only, an edited vendor the vendors."""
    workspace = Workspace.open(tracker_repo)
    assert run(["vendor", "new", "acme", "--extractor-version", "1.0"]).exit_code == 0
    key = new("task", "Some work")

    def titles(report: dict[str, object]) -> list[str]:
        return [
            item["title"]
            for group in report["work_items"]["types"]  # type: ignore[index]
            for level in group["priorities"]
            for item in level["work_items"]
        ]

    assert "Some work" in titles(status_data(workspace))
    vendors = live._cache["status-vendors"]
    retitle(item_file(tracker_repo, key), "Other work")  # edited, not committed
    report = status_data(workspace)
    assert "Other work" in titles(report) and "Some work" not in titles(report)
    assert live._cache["status-vendors"] is vendors  # not computed again

    path = tracker_repo / ".tracker" / "vendors" / "acme.yaml"
    text = path.read_text(encoding="utf-8")
    assert 'extractor_version: "1.0"' in text or "extractor_version: '1.0'" in text
    path.write_text(text.replace("1.0", "1.1"), encoding="utf-8")
    shown = status_data(workspace)["vendors"]["vendors"]  # type: ignore[index]
    assert [v["extractor_version"] for v in shown] == ["1.1"]


def test_a_failed_write_never_leaves_files_unlogged_for_the_next_publish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The change log for the next publish: a write that fails after logging "anything may
    have changed" rolls that back too, and the files of the next write are logged."""
    index = DuckIndex.open(None)
    try:
        index.empty_logs()  # as right after a publish
        many = {f"items/TRK-{n:05d}.yaml" for n in range(LOG_LIMIT)}  # logged as "anything"
        broken = RuntimeError("the disk is full")

        def fail(*_args: object, **_kwargs: object) -> None:
            raise broken

        with monkeypatch.context() as patched:
            patched.setattr(DuckIndex, "_load_batch", fail)
            with pytest.raises(RuntimeError):
                index.apply(Batch(removed=many), {})
        assert index.connection.execute("SELECT count(*) FROM unpublished").fetchone() == (0,)
        index.apply(Batch(removed={"items/TRK-1.yaml"}), {})
        logged = index.connection.execute("SELECT file FROM unpublished").fetchall()
        assert logged == [("items/TRK-1.yaml",)]
    finally:
        index.close()
