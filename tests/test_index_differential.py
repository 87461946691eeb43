"""Differential test of the index (issue 4, point 7).

A hypothesis state machine drives a real git repository through random sequences of
operations: create an item, edit a field in the work tree, commit, branch, checkout,
merge, rebase, `reset --hard HEAD~1`, delete a file, restore a file from HEAD, write an
invalid value. After every step the indexed answers of `list`, `ready`, `tree` and `show`
(called in-process, each one syncing the persistent index first) must equal what a
brute force computes from the YAML files in the work tree and from git.

The machine keeps almost no model of its own: the truth is read back from the files
each time, so merges, resets and branch switches need no bookkeeping here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pygit2
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import git
from tracker.constants import MAX_DEPTH
from tracker.errors import NotFound
from tracker.model.kinds import WORK_ITEM, record_as_data, schema_ref
from tracker.model.parse import parse_bytes
from tracker.model.yaml_write import dump_record
from tracker.query.spec import ItemQuery
from tracker.service import reads
from tracker.service.indexer import warm_index
from tracker.service.init import init_tracker
from tracker.service.live import LiveIndex
from tracker.service.workspace import Workspace

ITEMS = ".tracker/items"  # the default (flat) layout: items/<id>.yaml
EVERYTHING = 1_000_000  # a `limit` no answer here comes near

TITLES = st.text(
    alphabet=st.sampled_from(list("abcXYZ 019:#'\"-é")), min_size=1, max_size=12
).filter(lambda text: text.strip() != "")
STATUSES = st.sampled_from(["active", "completed", "blocked"])
PRIORITIES = st.integers(min_value=1, max_value=5)
# Few distinct creation times, so ready/list order often falls back to the id.
CREATED = st.integers(min_value=0, max_value=4).map(lambda m: f"2024-01-01T00:0{m}:00Z")
DELETED_AT = "2024-02-01T00:00:00Z"
# Text-level damage that makes a file fail validation (or fail to parse at all).
INVALID_EDITS = st.sampled_from(
    [
        ("status", "status: done"),
        ("priority", "priority: 9"),
        ("title", 'title: ""'),
        ("id", "id: TRK-ffffff"),  # no longer matches the file name
        (None, "bogus_field: 1"),  # unknown field
        (None, "priority: 2"),  # duplicate key: yaml.safe_load would accept it
        (None, "title: [unclosed"),  # not YAML
    ]
)


# -- brute force: the truth, straight from the work tree and git --------------------------


@dataclass(frozen=True)
class Truth:
    id: str
    title: str
    status: str
    priority: int
    parent: str | None
    depends_on: tuple[str, ...]
    deleted: bool
    created_at: datetime
    file: str  # relative to the repository

    @property
    def order(self) -> tuple[int, datetime, str]:
        """`--sort priority`: priority, then age, then id."""
        return self.priority, self.created_at, self.id


def item_files(repo: Path) -> list[Path]:
    return sorted((repo / ITEMS).glob("*.yaml"))


def scan(repo: Path) -> dict[str, Truth]:
    """Every work-item file that passes validation (the index leaves the others out)."""
    found: dict[str, Truth] = {}
    for path in item_files(repo):
        raw = path.read_bytes()
        record, problems = parse_bytes(raw, str(path), WORK_ITEM)
        if record is None or problems:
            continue
        data = yaml.safe_load(raw)
        found[data["id"]] = Truth(
            id=data["id"],
            title=data["title"],
            status=data.get("status", "active"),
            priority=data.get("priority", 3),
            parent=data.get("parent"),
            depends_on=tuple(data.get("depends_on") or ()),
            deleted=data.get("deleted_at") is not None,
            created_at=_instant(data["created_at"]),
            file=path.relative_to(repo).as_posix(),
        )
    return found


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    assert isinstance(value, date)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def chain(truth: dict[str, Truth], key: str) -> list[str] | None:
    """Ancestors of `key`, root first; None when its parent chain runs into a cycle.

    A parent that is not a valid item (missing, invalid file) makes its child a root.
    """
    seen = [key]
    current = key
    while True:
        parent = truth[current].parent
        if parent is None or parent not in truth:
            return list(reversed(seen[1:]))
        if parent in seen:
            return None
        seen.append(parent)
        current = parent


def children_map(truth: dict[str, Truth]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for item in truth.values():
        if item.parent is not None:
            children.setdefault(item.parent, []).append(item.id)
    return children


def subtree(truth: dict[str, Truth], key: str) -> tuple[set[str], int]:
    """`key` and everything below it (cycles included), and the subtree's height."""
    children = children_map(truth)
    seen, level, height = {key}, [key], 0
    while level:
        level = [c for k in level for c in children.get(k, []) if c not in seen]
        seen.update(level)
        height += 1 if level else 0
    return seen, height


def is_open(truth: dict[str, Truth], target: str) -> bool:
    """A dependency stays open until its target is completed or soft-deleted; a missing
    (or invalid) target stays open."""
    found = truth.get(target)
    return found is None or (found.status != "completed" and not found.deleted)


def head_blob(repo: Path, file: str) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"HEAD:{file}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def is_dirty(repo: Path, file: str) -> bool:
    """The work-tree file differs from HEAD's (a file HEAD lacks is dirty too)."""
    if head_blob(repo, file) is None:
        return True
    done = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", file], cwd=repo)
    return done.returncode != 0


class Head:
    """HEAD's tree and first-parent history, read with pygit2: cheap enough to check the
    dirty flag and version of every item after every step."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.commit: pygit2.Commit = pygit2.Repository(str(repo)).head.peel(pygit2.Commit)

    @staticmethod
    def blob_at(commit: pygit2.Commit, file: str) -> str | None:
        try:
            return str(commit.tree[file].id)
        except KeyError:
            return None

    def dirty(self, file: str) -> bool:
        return self.blob_at(self.commit, file) != str(pygit2.hash((self.repo / file).read_bytes()))

    def version(self, file: str) -> str | None:
        """The newest commit on HEAD's first-parent chain whose blob of the file differs
        from its first parent's."""
        commit: pygit2.Commit | None = self.commit
        while commit is not None:
            parent = commit.parents[0] if commit.parents else None
            if parent is None or self.blob_at(parent, file) != self.blob_at(commit, file):
                return str(commit.id)
            commit = parent
        return None


def try_git(repo: Path, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True).returncode == 0


# -- the state machine -------------------------------------------------------------------


class IndexAgainstFiles(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.home = Path(tempfile.mkdtemp(prefix="tracker-differential-"))
        self.repo = self.home / "repo"
        self.repo.mkdir()
        self.old_cwd = os.getcwd()
        git(self.repo, "init", "-q", "-b", "main")
        init_tracker(self.repo)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", "init tracker")
        os.chdir(self.repo)
        # One long-lived workspace (like the watcher or the MCP server) for list and ready;
        # show and tree open a new one per query (like a CLI call).
        self.workspace = Workspace.open(self.repo)
        self.next_id = 0
        self.next_branch = 0
        self.touched: str | None = None  # the item the last step changed
        self.steps = 0

    def teardown(self) -> None:
        os.chdir(self.old_cwd)
        shutil.rmtree(self.home, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------

    def path_of(self, key: str) -> Path:
        return self.repo / ITEMS / f"{key}.yaml"

    def write(self, key: str, data: dict[str, Any]) -> None:
        relative = f"items/{key}.yaml"
        text = dump_record(data, WORK_ITEM.key_order, schema_ref(relative, WORK_ITEM))
        self.path_of(key).write_text(text, encoding="utf-8")
        self.touched = key

    def branches(self) -> list[str]:
        out = git(self.repo, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        return sorted(out.split())

    def current_branch(self) -> str:
        return git(self.repo, "symbolic-ref", "--short", "HEAD").strip()

    def other_branches(self) -> list[str]:
        current = self.current_branch()
        return [name for name in self.branches() if name != current]

    def work_tree_clean(self) -> bool:
        return git(self.repo, "status", "--porcelain").strip() == ""

    def commit_all(self, message: str) -> None:
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "--allow-empty", "-m", message)

    # -- operations --------------------------------------------------------------------

    def add_item(self, data: st.DataObject) -> None:
        truth = scan(self.repo)
        key = f"TRK-{self.next_id:06x}"
        self.next_id += 1
        title = data.draw(TITLES, label="title")
        record: dict[str, Any] = {
            "id": key,
            "type": data.draw(st.sampled_from(["task", "research"]), label="type"),
            "title": title,
            "status": data.draw(STATUSES, label="status"),
            "priority": data.draw(PRIORITIES, label="priority"),
            "created_at": data.draw(CREATED, label="created_at"),
        }
        # A parent whose depth leaves room (new item at depth <= MAX_DEPTH); new items
        # cannot close a cycle, neither as a child nor as a dependant.
        parents = sorted(
            k for k in truth if (up := chain(truth, k)) is not None and len(up) < MAX_DEPTH
        )
        if len(parents) > 0 and data.draw(st.booleans(), label="has parent"):
            record["parent"] = data.draw(st.sampled_from(parents), label="parent")
        if truth:
            record["depends_on"] = data.draw(
                st.lists(st.sampled_from(sorted(truth)), unique=True, max_size=3),
                label="depends_on",
            )
        self.write(key, record)
        loaded, problems = parse_bytes(self.path_of(key).read_bytes(), key, WORK_ITEM)
        assert loaded is not None and not problems, problems
        assert loaded.title == title  # type: ignore[attr-defined]

    @initialize(data=st.data(), count=st.integers(min_value=0, max_value=6), commit=st.booleans())
    def seed(self, data: st.DataObject, count: int, commit: bool) -> None:
        """A few items to start from, so that hierarchies get deep within few steps."""
        for _ in range(count):
            self.add_item(data)
        if commit:
            self.commit_all("seed")

    @rule(data=st.data())
    def create_item(self, data: st.DataObject) -> None:
        self.add_item(data)

    @precondition(lambda self: bool(scan(self.repo)))
    @rule(
        data=st.data(),
        field=st.sampled_from(["status", "priority", "title", "parent", "depends_on", "deleted"]),
    )
    def edit_field(self, data: st.DataObject, field: str) -> None:
        """An edit in the work tree, as an editor would make it (the file is rewritten
        with one field changed)."""
        truth = scan(self.repo)
        key = data.draw(st.sampled_from(sorted(truth)), label="item")
        record, _ = parse_bytes(self.path_of(key).read_bytes(), key, WORK_ITEM)
        assert record is not None
        values = record_as_data(record)
        if field == "status":
            values["status"] = data.draw(STATUSES, label="status")
        elif field == "priority":
            values["priority"] = data.draw(PRIORITIES, label="priority")
        elif field == "title":
            values["title"] = data.draw(TITLES, label="title")
        elif field == "parent":
            below, height = subtree(truth, key)
            room = MAX_DEPTH - height  # the deepest the item itself may sit
            candidates = sorted(
                k
                for k in truth
                if k not in below and (path := chain(truth, k)) is not None and len(path) < room
            )
            choice = data.draw(st.sampled_from([None, *candidates]), label="parent")
            values.pop("parent", None)
            if choice is not None:
                values["parent"] = choice
        elif field == "depends_on":
            # No dependency cycle: nothing the item can already be reached from.
            dependants = {key}
            grew = True
            while grew:
                more = {t.id for t in truth.values() if dependants & set(t.depends_on)}
                grew = not more <= dependants
                dependants |= more
            options = sorted(k for k in truth if k not in dependants)
            values["depends_on"] = data.draw(
                st.lists(st.sampled_from(options), unique=True, max_size=3)
                if options
                else st.just([]),
                label="depends_on",
            )
        else:
            if "deleted_at" in values:
                values.pop("deleted_at")
            else:
                values["deleted_at"] = DELETED_AT
        self.write(key, values)

    @precondition(lambda self: bool(item_files(self.repo)))
    @rule(data=st.data(), damage=INVALID_EDITS)
    def write_invalid_value(self, data: st.DataObject, damage: tuple[str | None, str]) -> None:
        path = data.draw(st.sampled_from(item_files(self.repo)), label="file")
        field, line = damage
        lines = path.read_text(encoding="utf-8").splitlines()
        if field is not None and any(text.startswith(f"{field}:") for text in lines):
            lines = [line if text.startswith(f"{field}:") else text for text in lines]
        else:
            lines.append(line)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.touched = path.stem

    @precondition(lambda self: bool(item_files(self.repo)))
    @rule(data=st.data())
    def delete_file(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(item_files(self.repo)), label="file")
        path.unlink()
        self.touched = path.stem

    def committed_files(self) -> list[str]:
        out = git(self.repo, "ls-tree", "--name-only", "HEAD", f"{ITEMS}/")
        return sorted(name for name in out.split() if name.endswith(".yaml"))

    @precondition(lambda self: bool(self.committed_files()))
    @rule(data=st.data())
    def restore_file(self, data: st.DataObject) -> None:
        """`git checkout HEAD -- file`: discard the work-tree edits of one committed file,
        or bring it back after it was deleted."""
        relative = data.draw(st.sampled_from(self.committed_files()), label="file")
        git(self.repo, "checkout", "HEAD", "--", relative)
        self.touched = Path(relative).stem

    @rule()
    def commit(self) -> None:
        self.commit_all(f"step {self.steps}")

    @rule()
    def create_branch(self) -> None:
        self.next_branch += 1
        git(self.repo, "branch", f"b{self.next_branch}")

    @precondition(lambda self: len(self.branches()) > 1)
    @rule(data=st.data(), commit_first=st.booleans())
    def checkout(self, data: st.DataObject, commit_first: bool) -> None:
        """Switch branches; uncommitted edits travel along when git allows it."""
        name = data.draw(st.sampled_from(self.other_branches()), label="branch")
        if commit_first and not self.work_tree_clean():
            self.commit_all(f"before checkout of {name}")
        if not try_git(self.repo, "checkout", "-q", name):
            self.commit_all(f"before checkout of {name}")
            git(self.repo, "checkout", "-q", name)

    @precondition(lambda self: len(self.branches()) > 1)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.other_branches()), label="branch")
        if not self.work_tree_clean():
            self.commit_all(f"before merge of {name}")
        if not try_git(self.repo, "merge", "--no-edit", "-q", name):
            if try_git(self.repo, "rev-parse", "-q", "--verify", "MERGE_HEAD"):
                git(self.repo, "merge", "--abort")
            assert self.work_tree_clean()

    @precondition(lambda self: len(self.branches()) > 1)
    @rule(data=st.data())
    def rebase(self, data: st.DataObject) -> None:
        """Replay the current branch onto another: equal files, new commits."""
        name = data.draw(st.sampled_from(self.other_branches()), label="branch")
        if not self.work_tree_clean():
            self.commit_all(f"before rebase onto {name}")
        if not try_git(self.repo, "rebase", "-q", name):
            git(self.repo, "rebase", "--abort")
            assert self.work_tree_clean()

    @precondition(lambda self: try_git(self.repo, "rev-parse", "-q", "--verify", "HEAD~1"))
    @rule()
    def reset_hard(self) -> None:
        git(self.repo, "reset", "-q", "--hard", "HEAD~1")

    # -- the invariant -----------------------------------------------------------------

    @invariant()
    def index_equals_brute_force(self) -> None:
        self.steps += 1
        truth = scan(self.repo)
        paths = {key: chain(truth, key) for key in truth}
        depth = {key: None if up is None else len(up) for key, up in paths.items()}
        live = sorted((t for t in truth.values() if not t.deleted), key=lambda t: t.order)

        # list: default filters (no deleted, no archived), everything on one page
        listed = reads.list_items(self.workspace, ItemQuery(limit=EVERYTHING))
        head = Head(self.repo)
        got = [
            (r["id"], r["title"], r["status"], r["priority"], r["parent"], r["depth"], r["dirty"])
            for r in listed["items"]
        ]
        want = [
            (t.id, t.title, t.status, t.priority, t.parent, depth[t.id], head.dirty(t.file))
            for t in live
        ]
        assert got == want, "list"
        # versions of the files HEAD holds (an uncommitted file's version is not checked)
        committed = {t.id: t.file for t in live if head.blob_at(head.commit, t.file) is not None}
        got_versions = {r["id"]: r["version"] for r in listed["items"] if r["id"] in committed}
        want_versions = {key: head.version(file) for key, file in committed.items()}
        assert got_versions == want_versions, "list versions"
        assert listed["total_count"] == len(want)
        assert listed["has_more"] is False

        # ready: active, live, every dependency closed; best first
        ready = reads.ready(self.workspace, EVERYTHING)
        want_ready = [
            t.id
            for t in live
            if t.status == "active" and not any(is_open(truth, d) for d in t.depends_on)
        ]
        assert [r["id"] for r in ready["items"]] == want_ready, "ready"
        # the best two, with their rows: an answer a warm index may keep through changes
        # of other items (when none of them moves any item), so it must still be exact
        best = reads.ready(self.workspace, 2)["items"]
        assert [r["id"] for r in best] == want_ready[:2], "ready --limit 2"
        assert best == ready["items"][:2], "ready --limit 2 rows"

        # tree: every live item with its depth; items with a path ordered by it
        tree = reads.tree(Workspace.open(self.repo), None, None)
        assert {r["id"]: r["depth"] for r in tree["items"]} == {t.id: depth[t.id] for t in live}
        placed = [r["id"] for r in tree["items"] if r["depth"] is not None]
        path_text = {k: "/".join([*up, k]) for k, up in paths.items() if up is not None}
        assert placed == sorted(placed, key=path_text.__getitem__), "tree order"
        assert len(tree["items"]) == len(live)

        # show: the item the step touched, else (after a git operation) one in turn
        keys = sorted(truth)
        target = self.touched or (keys[self.steps % len(keys)] if keys else None)
        self.touched = None
        if target is not None:
            self.check_show(truth, paths, target)

    def check_show(
        self, truth: dict[str, Truth], paths: dict[str, list[str] | None], key: str
    ) -> None:
        workspace = Workspace.open(self.repo)
        if key not in truth:  # deleted or invalid: left out
            try:
                reads.show_item(workspace, key)
            except NotFound:
                return
            raise AssertionError(f"show {key}: answered for a missing or invalid file")
        item = truth[key]
        shown = reads.show_item(workspace, key)
        record = shown["record"]
        assert shown["id"] == key
        assert shown["path"] == item.file
        assert record["title"] == item.title
        assert record["status"] == item.status
        assert record["priority"] == item.priority
        assert record.get("parent") == item.parent
        assert ("deleted_at" in record) == item.deleted
        up = paths[key]
        assert shown["depth"] == (None if up is None else len(up)), "show depth"
        assert [a["id"] for a in shown["ancestors"]] == (up or []), "ancestors"
        below = {k for k, p in paths.items() if p is not None and up is not None and key in p}
        assert {d["id"] for d in shown["descendants"]} == below, "descendants"
        assert sorted(record.get("depends_on", [])) == sorted(item.depends_on)
        assert shown["missing_dependencies"] == [d for d in item.depends_on if d not in truth]
        assert shown["open_dependencies"] == sum(is_open(truth, d) for d in item.depends_on)
        blocks = {t.id for t in truth.values() if key in t.depends_on}
        assert {b["id"] for b in shown["blocks"]} == blocks, "blocks"
        assert shown["dirty"] == is_dirty(self.repo, item.file), "dirty"
        if head_blob(self.repo, item.file) is not None:
            assert shown["version"] == Head(self.repo).version(item.file), "version"


def test_index_answers_equal_brute_force() -> None:
    # Each step costs four fresh-index queries (~35 ms each here) plus git: 20 sequences of
    # up to 15 steps take about a minute on a 2-core machine.
    run_state_machine_as_test(
        IndexAgainstFiles,
        settings=settings(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


class LiveIndexAgainstFiles(IndexAgainstFiles):
    """The same, with the index kept open by this process (as `tracker watch`, `serve` and
    the MCP server do): every query goes through the LiveIndex, which learns what changed
    from the kernel's change feed and syncs only those files, updating the derived tables
    for the touched items only."""

    def __init__(self) -> None:
        super().__init__()
        self.live = LiveIndex.start(self.workspace)

    def teardown(self) -> None:
        self.live.close()
        super().teardown()

    @invariant()
    def answers_come_from_the_live_index(self) -> None:
        assert warm_index(Workspace.open(self.repo)) is self.live
        self.live.refresh()
        assert self.live.refresh() is None  # a sync leaves nothing behind to sync again


def test_live_index_answers_equal_brute_force() -> None:
    run_state_machine_as_test(
        LiveIndexAgainstFiles,
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
