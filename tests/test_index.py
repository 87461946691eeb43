"""The index (issue 4): fresh on the very next query after any change, versions as git
tells them, never a hard failure; list/ready/blocked/tree/dep tree equal to a brute force
over the YAML files.

Every answer is asked of the CLI (`--format json`) and compared with what the files and
git say, read here with `yaml.safe_load` and `git log`: the test keeps no model of its own.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.conftest import GIT_IDENTITY, PROJECT_ROOT, git, run, run_process
from tests.conftest import cli_json as cli
from tests.conftest import new_item as new
from tracker.index import duckdb_backend
from tracker.index.schema import SCHEMA_VERSION

EXAMPLE = PROJECT_ROOT / ".tracker-example"
EVERYTHING = "100000"


# -- helpers -------------------------------------------------------------------------------


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def index_file(repo: Path) -> Path:
    git_dir = Path(git(repo, "rev-parse", "--absolute-git-dir").strip())
    return git_dir / "tracker" / "index.duckdb"


def item_path(repo: Path, item_id: str) -> Path:
    found = sorted((repo / ".tracker" / "items").rglob(f"{item_id}.yaml"))
    assert found, item_id
    return found[0]


def rel(repo: Path, path: Path) -> str:
    return path.relative_to(repo).as_posix()


def set_title(path: Path, title: str) -> None:
    """Edit the file as an editor would: only the title line changes."""
    text = path.read_text()
    changed = re.sub(r"(?m)^title: .*$", f"title: {json.dumps(title)}", text, count=1)
    assert changed != text
    path.write_text(changed)


def write_item(path: Path, item_id: str, title: str, **extra: str) -> None:
    lines = [
        f"id: {item_id}",
        "type: task",
        f"title: {json.dumps(title)}",
        "status: active",
        "priority: 2",
        *(f"{key}: {value}" for key, value in extra.items()),
        "created_at: 2025-01-01T00:00:00Z",
        "updated_at: 2025-01-01T00:00:00Z",
        "created_by: by-hand",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def last_commit(repo: Path, path: str, *options: str) -> str | None:
    done = subprocess.run(
        ["git", "log", "-1", "--format=%H", *options, "--", path],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None


def author_of(repo: Path, sha: str) -> str:
    return git(repo, "log", "-1", "--format=%an", sha).strip()


def is_dirty(repo: Path, path: str) -> bool:
    work = git(repo, "hash-object", path).strip()
    done = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"HEAD:{path}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() != work


def items_on_disk(repo: Path, broken: frozenset[str] = frozenset()) -> dict[str, tuple[str, Any]]:
    """id -> (repository path, fields) of every live item file in the work tree."""
    found: dict[str, tuple[str, Any]] = {}
    for path in sorted((repo / ".tracker" / "items").rglob("*.yaml")):
        if rel(repo, path) in broken:
            continue
        data = yaml.safe_load(path.read_text())
        found[data["id"]] = (rel(repo, path), data)
    return found


def assert_matches_files(
    repo: Path, broken: frozenset[str] = frozenset(), first_parent: bool = False
) -> dict[str, Any]:
    """`list` equals the files: same items, titles and statuses; each version is the commit
    git names for the file, its author is changed_by, dirty says whether the file differs
    from HEAD's."""
    data = cli("list", "--include-deleted", "--limit", EVERYTHING)
    assert data["data_source"] in ("index", "rebuilt"), data["warnings"]
    expected = items_on_disk(repo, broken)
    got = {row["id"]: row for row in data["items"]}
    assert set(got) == set(expected)
    assert data["total_count"] == len(expected)
    options = ("--first-parent",) if first_parent else ()
    for item_id, (path, fields) in expected.items():
        row = got[item_id]
        assert row["title"] == fields["title"], item_id
        assert row["status"] == fields.get("status", "active"), item_id
        version = last_commit(repo, path, *options)
        assert row["version"] == version, (item_id, path)
        assert row["changed_by"] == (author_of(repo, version) if version else None)
        assert row["dirty"] == is_dirty(repo, path), item_id
    for path in broken:
        assert any(path.removeprefix(".tracker/") in w for w in data["warnings"]), data
    return data


def assert_show(repo: Path, item_id: str, title: str, *options: str) -> dict[str, Any]:
    shown = cli("show", item_id)
    path = rel(repo, item_path(repo, item_id))
    assert shown["record"]["title"] == title
    assert shown["version"] == last_commit(repo, path, *options)
    assert shown["dirty"] == is_dirty(repo, path)
    return shown


# -- 1, 2: freshness and versions ---------------------------------------------------------


def test_cli_writes_and_work_tree_edits_show_on_the_very_next_query(tracker_repo: Path) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha", "--as", "alice")
    beta = new("task", "Beta", "--depends-on", alpha)
    assert assert_matches_files(repo)["data_source"] == "rebuilt"  # first query builds it
    assert assert_show(repo, alpha, "Alpha")["changed_by"] == "alice"

    # a CLI write
    cli("set", alpha, "title=Alpha two", "status=completed", "--as", "carol")
    shown = assert_show(repo, alpha, "Alpha two")
    assert (shown["version"], shown["changed_by"]) == (head(repo), "carol")
    assert [row["id"] for row in cli("ready")["items"]] == [beta]
    assert assert_matches_files(repo)["data_source"] == "index"

    # an edit in the work tree, not committed: seen, dirty, version unchanged
    beta_file = item_path(repo, beta)
    set_title(beta_file, "Beta edited")
    assert assert_show(repo, beta, "Beta edited")["dirty"] is True
    assert_matches_files(repo)

    # written twice within one tick of the file-system clock, with a query in between: the
    # second write keeps size and mtime, so stat data alone cannot tell (git's "racily
    # clean" files). A stamp not older than the last scan stands for "the same tick".
    tick = time.time_ns() + 5_000_000_000
    set_title(beta_file, "Beta editeC")
    os.utime(beta_file, ns=(tick, tick))
    assert_show(repo, beta, "Beta editeC")
    size = beta_file.stat().st_size
    set_title(beta_file, "Beta editeD")
    os.utime(beta_file, ns=(tick, tick))
    assert beta_file.stat().st_size == size
    assert_show(repo, beta, "Beta editeD")

    # committed with plain git by someone else
    git(repo, "commit", "-qam", "edit beta", "--author", "Bob Builder <bob@example.com>")
    shown = assert_show(repo, beta, "Beta editeD")
    assert (shown["dirty"], shown["version"], shown["changed_by"]) == (
        False,
        head(repo),
        "Bob Builder",
    )
    assert_matches_files(repo)

    # a file added by hand: there at once (no version yet), then committed
    hand = repo / ".tracker" / "items" / "TRK-a1b2c3.yaml"
    write_item(hand, "TRK-a1b2c3", "By hand", depends_on=f"[{beta}]")
    shown = assert_show(repo, "TRK-a1b2c3", "By hand")
    assert (shown["version"], shown["dirty"]) == (None, True)
    assert [row["id"] for row in shown["depends_on"]] == [beta]
    assert [row["id"] for row in cli("show", beta)["blocks"]] == ["TRK-a1b2c3"]
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "by hand")
    assert assert_show(repo, "TRK-a1b2c3", "By hand")["version"] == head(repo)
    assert_matches_files(repo)

    # an edit that makes a file invalid: the item is left out and a warning names the file
    good = hand.read_text()
    hand.write_text(good.replace("status: active", "status: done"))
    broken = frozenset({rel(repo, hand)})
    data = assert_matches_files(repo, broken)
    assert "TRK-a1b2c3" not in {row["id"] for row in data["items"]}
    assert run(["show", "TRK-a1b2c3"]).exit_code == 2
    hand.write_text(good)  # fixed: back again
    assert_show(repo, "TRK-a1b2c3", "By hand")
    assert assert_matches_files(repo)["warnings"] == []

    # a deleted file: gone at once; restored from HEAD, back as it was (clean, same version)
    beta_file.unlink()
    assert beta not in {row["id"] for row in assert_matches_files(repo)["items"]}
    assert cli("show", "TRK-a1b2c3")["missing_dependencies"] == [beta]
    git(repo, "checkout", "--", rel(repo, beta_file))
    assert assert_show(repo, beta, "Beta editeD")["dirty"] is False
    # deleted again, and the deletion committed
    beta_file.unlink()
    assert beta not in {row["id"] for row in assert_matches_files(repo)["items"]}
    git(repo, "commit", "-qam", "drop beta")
    assert beta not in {row["id"] for row in assert_matches_files(repo)["items"]}


def test_branch_switch_merge_reset_and_rebase(tracker_repo: Path) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha")
    beta = new("task", "Beta")
    assert_matches_files(repo)

    git(repo, "checkout", "-q", "-b", "feature")
    gamma = new("task", "Gamma on feature", "--as", "fiona")
    cli("set", alpha, "title=Alpha on feature")
    assert_matches_files(repo)

    git(repo, "checkout", "-q", "main")
    data = assert_matches_files(repo)
    assert gamma not in {row["id"] for row in data["items"]}
    assert_show(repo, alpha, "Alpha")
    git(repo, "checkout", "-q", "feature")
    assert assert_show(repo, gamma, "Gamma on feature")["changed_by"] == "fiona"
    assert_show(repo, alpha, "Alpha on feature")

    git(repo, "checkout", "-q", "main")
    assert_matches_files(repo)
    git(repo, "merge", "-q", "--ff-only", "feature")
    assert_matches_files(repo)
    assert_show(repo, alpha, "Alpha on feature")

    # a true merge: the side branch changed beta, main changed alpha
    git(repo, "checkout", "-q", "-b", "side")
    cli("set", beta, "title=Beta on side")
    git(repo, "checkout", "-q", "main")
    cli("set", alpha, "title=Alpha on main")
    git(repo, "merge", "-q", "--no-ff", "side", "-m", "merge side")
    # A version is the last commit that changed the file on the current branch (git log
    # --first-parent, the same rule the writers' version check uses): for beta that is the
    # merge, where a plain `git log` would follow the side branch to its own commit.
    assert_matches_files(repo, first_parent=True)
    assert assert_show(repo, beta, "Beta on side", "--first-parent")["version"] == head(repo)

    git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert_matches_files(repo)
    assert_show(repo, beta, "Beta")

    # a rebase re-creates commits: a file whose content ends the same on both lines still
    # gets the rebased commit as its version
    git(repo, "checkout", "-q", "-b", "topic")
    cli("set", alpha, "title=Alpha on topic")
    git(repo, "checkout", "-q", "main")
    cli("set", beta, "title=Beta on main")
    assert_matches_files(repo)
    git(repo, "checkout", "-q", "topic")
    assert_matches_files(repo)
    git(repo, "rebase", "-q", "main")
    assert_matches_files(repo)
    shown = assert_show(repo, alpha, "Alpha on topic")
    assert shown["version"] == head(repo)
    assert_show(repo, beta, "Beta on main")

    # and back on main after the reset, the versions are main's again
    git(repo, "checkout", "-q", "main")
    assert_matches_files(repo)
    assert_show(repo, alpha, "Alpha on main")


# -- 3: where answers come from -------------------------------------------------------------


@pytest.fixture
def clone(tracker_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh clone of a small tracker, in a folder whose path says "lock" (DuckDB's error
    messages quote the path: only its own lock wording may mean "locked")."""
    alpha = new("task", "Alpha")
    new("task", "Beta", "--depends-on", alpha)
    target = tmp_path / "locked-out" / "clone"
    git(tmp_path, "clone", "-q", str(tracker_repo), str(target))
    monkeypatch.chdir(target)
    return target


def listed(data: dict[str, Any]) -> list[str]:
    return sorted(row["id"] for row in data["items"])


def test_fresh_clone_rebuilds_then_answers_from_the_index(clone: Path) -> None:
    assert not index_file(clone).exists()
    first = cli("list")
    assert (first["data_source"], first["warnings"]) == ("rebuilt", [])
    assert listed(first) == sorted(items_on_disk(clone))
    second = cli("list")
    assert (second["data_source"], second["warnings"]) == ("index", [])
    assert second["items"] == first["items"]


def test_truncated_index_is_rebuilt_with_a_warning(clone: Path) -> None:
    cli("list")
    path = index_file(clone)
    with open(path, "r+b") as handle:
        handle.truncate(100)
    data = cli("list")
    assert data["data_source"] == "rebuilt"
    assert any("rebuilt" in warning for warning in data["warnings"]), data["warnings"]
    assert listed(data) == sorted(items_on_disk(clone))
    assert cli("list")["data_source"] == "index"


def test_index_broken_inside_is_rebuilt_even_when_only_a_query_reads_the_bad_block(
    clone: Path,
) -> None:
    cli("list")
    path = index_file(clone)
    connection = duckdb.connect(str(path))
    blocks = connection.execute(
        "SELECT DISTINCT block_id FROM pragma_storage_info('items') WHERE block_id >= 0"
    ).fetchall()
    sizes = connection.execute("SELECT block_size FROM pragma_database_size()").fetchone()
    assert sizes is not None
    header, block_size = 3 * 4096, sizes[0]  # DuckDB's file header: three 4 KiB blocks
    connection.close()
    assert blocks
    with open(path, "r+b") as handle:
        for (block,) in blocks:
            handle.seek(header + block * block_size + 64)
            handle.write(b"\xff" * 1024)
    data = cli("list")
    assert data["data_source"] == "rebuilt"
    assert any("broken" in warning for warning in data["warnings"]), data["warnings"]
    assert listed(data) == sorted(items_on_disk(clone))
    assert listed(cli("tree")) == sorted(items_on_disk(clone))
    assert cli("list")["data_source"] == "index"


def test_index_of_another_schema_version_is_rebuilt(clone: Path) -> None:
    cli("list")
    connection = duckdb.connect(str(index_file(clone)))
    connection.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)]
    )
    connection.close()
    data = cli("list")
    assert data["data_source"] == "rebuilt"
    assert listed(data) == sorted(items_on_disk(clone))
    connection = duckdb.connect(str(index_file(clone)), read_only=True)
    stored = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    connection.close()
    assert stored == (str(SCHEMA_VERSION),)
    assert cli("list")["data_source"] == "index"


@pytest.fixture
def held_index(clone: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The index held open for writing by another process (DuckDB allows one)."""
    cli("list")
    monkeypatch.setattr(duckdb_backend, "LOCK_WAIT_SECONDS", 0.3)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); time.sleep(60)",
            str(index_file(clone)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield clone
    finally:
        holder.kill()
        holder.wait()


def test_locked_index_is_bypassed_by_answering_from_the_files(held_index: Path) -> None:
    repo = held_index
    set_title(item_path(repo, sorted(items_on_disk(repo))[0]), "Edited while locked")
    data = cli("list")
    assert data["data_source"] == "files"
    assert any("locked" in warning for warning in data["warnings"]), data["warnings"]
    expected = {key: fields["title"] for key, (_, fields) in items_on_disk(repo).items()}
    assert {row["id"]: row["title"] for row in data["items"]} == expected
    assert "Edited while locked" in expected.values()
    for row in data["items"]:
        assert row["version"] == last_commit(repo, f".tracker/{row['file']}")
    assert len(cli("ready")["items"]) == 1
    assert cli("show", sorted(expected)[0])["data_source"] == "files"


def test_at_answers_as_of_an_old_commit(tracker_repo: Path) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha")
    old = head(repo)
    later = new("task", "Later")
    cli("set", alpha, "title=Alpha renamed")
    data = cli("list", "--at", old)
    assert data["data_source"] == "git"
    assert [(row["id"], row["title"]) for row in data["items"]] == [(alpha, "Alpha")]
    assert later in listed(cli("list"))
    shown = cli("show", alpha, "--at", old)
    assert (shown["record"]["title"], shown["version"], shown["data_source"]) == (
        "Alpha",
        old,
        "git",
    )
    assert run(["show", later, "--at", old, "--format", "json"]).exit_code == 2
    assert cli("show", alpha, "--at", "main")["record"]["title"] == "Alpha renamed"
    assert [row["id"] for row in cli("ready", "--at", f"{old}")["items"]] == [alpha]
    assert cli("list")["data_source"] == "index"  # --at never touches the index file


# -- 4: special repositories ----------------------------------------------------------------


def test_repository_without_commits(repo: Path) -> None:
    assert run(["init"]).exit_code == 0
    write_item(repo / ".tracker" / "items" / "TRK-0a0b0c.yaml", "TRK-0a0b0c", "First")
    write_item(
        repo / ".tracker" / "items" / "TRK-1a1b1c.yaml",
        "TRK-1a1b1c",
        "Second",
        parent="TRK-0a0b0c",
        depends_on="[TRK-0a0b0c]",
    )
    data = cli("list")
    assert data["data_source"] == "rebuilt"
    assert {(row["id"], row["version"], row["dirty"]) for row in data["items"]} == {
        ("TRK-0a0b0c", None, True),
        ("TRK-1a1b1c", None, True),
    }
    assert [row["id"] for row in cli("ready")["items"]] == ["TRK-0a0b0c"]
    assert [row["id"] for row in cli("show", "TRK-1a1b1c")["ancestors"]] == ["TRK-0a0b0c"]
    assert cli("list")["data_source"] == "index"
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first commit")
    assert_matches_files(repo)


def test_detached_head(tracker_repo: Path) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha")
    cli("list")
    cli("set", alpha, "title=Alpha two")
    later = new("task", "Later")
    git(repo, "checkout", "-q", "--detach", "HEAD~2")
    data = assert_matches_files(repo)
    assert listed(data) == [alpha]
    assert_show(repo, alpha, "Alpha")
    git(repo, "checkout", "-q", "main")
    assert later in listed(assert_matches_files(repo))


def test_shallow_clone(tracker_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alpha = new("task", "Alpha")
    cli("set", alpha, "title=Alpha two")
    new("task", "Beta")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{tracker_repo}", str(shallow))
    monkeypatch.chdir(shallow)
    assert git(shallow, "rev-parse", "--is-shallow-repository").strip() == "true"
    data = assert_matches_files(shallow)
    assert {row["version"] for row in data["items"]} == {head(shallow)}
    assert_show(shallow, alpha, "Alpha two")
    # more history fetched: HEAD stays, but the versions are the older commits now
    git(shallow, "fetch", "-q", "--deepen", "5")
    data = assert_matches_files(shallow)
    assert len({row["version"] for row in data["items"]}) == 2
    cli("set", alpha, "title=Alpha three")
    assert assert_show(shallow, alpha, "Alpha three")["version"] == head(shallow)


def test_linked_worktree_has_its_own_index(
    tracker_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha")
    cli("list")
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "-b", "other", str(other))
    monkeypatch.chdir(other)
    cli("set", alpha, "title=Alpha in the worktree")
    gamma = new("task", "Gamma in the worktree")
    assert_matches_files(other)
    assert_show(other, alpha, "Alpha in the worktree")
    monkeypatch.chdir(repo)
    data = assert_matches_files(repo)
    assert gamma not in listed(data)
    assert_show(repo, alpha, "Alpha")
    assert index_file(repo) != index_file(other)
    assert index_file(repo).exists() and index_file(other).exists()
    monkeypatch.chdir(other)
    assert cli("list")["data_source"] == "index"
    assert_show(other, alpha, "Alpha in the worktree")


def test_merge_in_progress_with_a_conflict(tracker_repo: Path) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha")
    beta = new("task", "Beta")
    git(repo, "checkout", "-q", "-b", "side")
    cli("set", alpha, "title=Alpha on side")
    git(repo, "checkout", "-q", "main")
    cli("set", alpha, "title=Alpha on main")
    merged = subprocess.run(["git", "merge", "side"], cwd=repo, capture_output=True, text=True)
    assert merged.returncode != 0 and "CONFLICT" in merged.stdout
    assert (repo / ".git" / "MERGE_HEAD").exists()
    path = rel(repo, item_path(repo, alpha))
    data = cli("list")
    assert listed(data) == [beta]  # the conflicted file is left out, by name
    assert any(path.removeprefix(".tracker/") in warning for warning in data["warnings"])
    for command in (["ready"], ["tree"], ["blocked"], ["show", beta]):
        assert run([*command, "--format", "json"]).exit_code == 0
    git(repo, "merge", "--abort")
    assert_matches_files(repo)


# -- 5: several processes at once -----------------------------------------------------------


def test_a_dozen_readers_while_a_writer_commits(tracker_repo: Path) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha")
    beta = new("task", "Beta", "--depends-on", alpha, "--parent", alpha)
    assert cli("list")["data_source"] == "rebuilt"
    env = {**os.environ, **GIT_IDENTITY}
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys\n"
            "for n in range(4):\n"
            "    subprocess.run([sys.executable, '-m', 'tracker', 'set', sys.argv[1],\n"
            "                    f'title=Beta {n}'], check=True, capture_output=True)\n",
            beta,
        ],
        cwd=repo,
        env=env,
    )
    commands = [["list"], ["show", beta], ["ready"], ["tree"]] * 3
    readers = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", *command, "--format", "json"],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    titles = {"Beta", *(f"Beta {n}" for n in range(4))}
    for command, reader in zip(commands, readers, strict=True):
        out, err = reader.communicate(timeout=120)
        assert reader.returncode == 0, (command, err)
        data = json.loads(out)
        assert data["data_source"] in ("index", "files"), data
        if data["data_source"] == "files":  # locked beyond the wait: said so
            assert any("locked" in warning for warning in data["warnings"]), data
        if command[0] == "show":
            assert data["record"]["title"] in titles
            if not data["dirty"]:  # the content is the version's
                committed = git(repo, "show", f"{data['version']}:{data['path']}")
                assert f"title: {data['record']['title']}\n" in committed
        elif command[0] == "ready":
            assert [row["id"] for row in data["items"]] == [alpha]
        else:
            assert sorted(row["id"] for row in data["items"]) == sorted([alpha, beta])
            assert {row["title"] for row in data["items"]} - {"Alpha"} <= titles
    assert writer.wait(timeout=120) == 0
    assert_show(repo, beta, "Beta 3")
    assert_matches_files(repo)


def test_readers_in_separate_processes_see_each_change(tracker_repo: Path) -> None:
    repo = tracker_repo
    alpha = new("task", "Alpha")
    listing = run_process(["list", "--format", "json"], repo)
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout)["data_source"] == "rebuilt"
    set_title(item_path(repo, alpha), "Alpha edited")
    shown = run_process(["show", alpha, "--format", "json"], repo)
    data = json.loads(shown.stdout)
    assert (data["record"]["title"], data["dirty"], data["data_source"]) == (
        "Alpha edited",
        True,
        "index",
    )


# -- 6: tracker query -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO items (id) VALUES ('TRK-ffffff')",
        "DELETE FROM items",
        "UPDATE items SET title = 'x'",
        "DROP TABLE items",
        "DROP VIEW work_items",
        "CREATE TABLE t (x INTEGER)",
        "SELECT 1; DROP TABLE items",
        "SELECT 1; SELECT 2",
        "EXPLAIN ANALYZE DELETE FROM items",
        "COPY items TO 'stolen.csv'",
        "ATTACH ':memory:' AS other",
        "PRAGMA enable_profiling",
        "not sql at all",
    ],
)
def test_query_refuses_anything_but_one_select(query_example: Path, sql: str) -> None:
    example = query_example
    result = run(["query", sql, "--format", "json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["error"] == "query"
    data = cli("query", "SELECT count(*) AS n FROM work_items")
    assert data["rows"] == [{"n": len(example_items(example))}]
    assert not (example / "stolen.csv").exists()


def test_query_answers_select_over_the_documented_views(query_example: Path) -> None:
    example = query_example
    items = example_items(example)
    data = cli("query", "SELECT id, title, depth FROM work_items ORDER BY id")
    assert [row["id"] for row in data["rows"]] == sorted(items)
    assert data["row_count"] == len(items) and data["data_source"] == "index"
    assert {row["id"]: row["title"] for row in data["rows"]} == {
        key: item.fields["title"] for key, item in items.items()
    }
    assert {row["id"]: row["depth"] for row in data["rows"]} == {
        key: depth_of(items, key) for key in items
    }
    edges = cli("query", "SELECT item, depends_on FROM dependencies ORDER BY 1, 2")["rows"]
    assert [(e["item"], e["depends_on"]) for e in edges] == sorted(
        (key, target) for key, item in items.items() for target in item.depends_on
    )
    vendors = cli("query", "SELECT name, status FROM vendors ORDER BY name")["rows"]
    on_disk = [
        yaml.safe_load(path.read_text())
        for path in (example / ".tracker" / "vendors").glob("*.yaml")
    ]
    assert [(v["name"], v["status"]) for v in vendors] == sorted(
        (v["name"], v["status"]) for v in on_disk
    )
    explained = cli("query", "EXPLAIN SELECT * FROM work_items")
    assert explained["row_count"] >= 1


# -- 7, 8: list filters and ready/blocked/tree/dep tree against a brute force ---------------


class Item:
    def __init__(self, path: str, fields: dict[str, Any]) -> None:
        self.path = path
        self.fields = fields
        self.id: str = fields["id"]
        self.archived = "/archive/" in path
        self.deleted = fields.get("deleted_at") is not None
        self.status: str = fields.get("status", "active")
        self.priority: int = fields.get("priority", 3)
        self.parent: str | None = fields.get("parent")
        self.depends_on: list[str] = fields.get("depends_on", [])
        self.created: datetime = fields["created_at"]
        self.updated: datetime | None = fields.get("updated_at")


def example_items(repo: Path) -> dict[str, Item]:
    found = {}
    for folder in ("items", "archive/items"):
        for path in sorted((repo / ".tracker" / folder).rglob("*.yaml")):
            item = Item(rel(repo, path), yaml.safe_load(path.read_text()))
            found[item.id] = item
    return found


def ancestors(items: dict[str, Item], key: str) -> list[str]:
    """Root first; the chain ends at a parent that does not exist."""
    chain: list[str] = []
    parent = items[key].parent
    while parent is not None and parent in items and parent not in chain:
        chain.insert(0, parent)
        parent = items[parent].parent
    return chain


def depth_of(items: dict[str, Item], key: str) -> int:
    return len(ancestors(items, key))


def tree_path(items: dict[str, Item], key: str) -> str:
    return "/".join([*ancestors(items, key), key])


def is_open(items: dict[str, Item], target: str) -> bool:
    found = items.get(target)
    return found is None or (found.status != "completed" and not found.deleted)


def by_priority(item: Item) -> tuple[Any, ...]:
    return (item.priority, item.created, item.id)


SORT_KEYS = {
    "priority": lambda items: sorted(items, key=by_priority),
    "created": lambda items: sorted(items, key=lambda i: (i.created, i.id)),
    "-created": lambda items: sorted(items, key=lambda i: (i.created, i.id), reverse=True),
    "updated": lambda items: sorted(
        sorted(items, key=lambda i: i.id),
        key=lambda i: (i.updated is None, -(i.updated.timestamp() if i.updated else 0)),
    ),
    "title": lambda items: sorted(items, key=lambda i: (i.fields["title"].lower(), i.id)),
    "id": lambda items: sorted(items, key=lambda i: i.id),
}

SOFT_DELETED = "TRK-617f2d"  # a dependency of the active TRK-554ac1, which becomes ready
MISSING_TARGET = "TRK-2af984"  # depends on an item that does not exist
ARCHIVED_TARGET = "TRK-d68abf"  # depends on a completed, archived item
CYCLE = ("TRK-14ac3f", "TRK-8b3215")  # depend on each other
FANNED_OUT = "TRK-cce950"  # in items/cc/
SPECIAL_TITLE = "Benchmark fixture: 100% of an 80_000-row workbook"


def make_example_repo(repo: Path) -> Path:
    """The example tracker committed in a repository, with a few additions that exercise
    the rules: a soft-deleted dependency, a missing and an archived target, a cycle, a
    fanned-out file, a title holding LIKE wildcards."""
    shutil.copytree(EXAMPLE, repo / ".tracker")
    items = repo / ".tracker" / "items"

    def append(key: str, text: str) -> None:
        with open(items / f"{key}.yaml", "a") as handle:
            handle.write(text)

    append(SOFT_DELETED, "deleted_at: 2026-03-01T00:00:00Z\n")
    append(MISSING_TARGET, "depends_on:\n  - TRK-000000\n")
    append(ARCHIVED_TARGET, "depends_on:\n  - TRK-ccc35f\n")
    append(CYCLE[1], f"depends_on:\n  - {CYCLE[0]}\n")
    set_title(items / f"{ARCHIVED_TARGET}.yaml", SPECIAL_TITLE)
    (items / "cc").mkdir()
    (items / f"{FANNED_OUT}.yaml").rename(items / "cc" / f"{FANNED_OUT}.yaml")
    env = {
        **os.environ,
        **GIT_IDENTITY,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo.parent),
    }
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-qm", "example"],
    ):
        subprocess.run(["git", *command], cwd=repo, env=env, check=True)
    return repo


@pytest.fixture(scope="module")
def example_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the read-only tests of this module."""
    return make_example_repo(tmp_path_factory.mktemp("example") / "repo")


@pytest.fixture(scope="module")
def query_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The query tests' own copy: a write let through must not spoil the other tests."""
    return make_example_repo(tmp_path_factory.mktemp("query") / "repo")


@pytest.fixture
def example(example_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(example_repo)
    return example_repo


@pytest.fixture
def query_example(query_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(query_repo)
    return query_repo


def test_example_additions_are_indexed(example: Path) -> None:
    items = example_items(example)
    assert items[SOFT_DELETED].deleted and items[ARCHIVED_TARGET].depends_on == ["TRK-ccc35f"]
    data = cli("list", "--include-deleted", "--limit", EVERYTHING)
    assert data["warnings"] == []
    assert len(data["items"]) == sum(not item.archived for item in items.values())


LIST_CASES: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("--type task", {"type": "task"}),
    ("--type session", {"type": "session"}),
    ("--type research", {"type": "research"}),
    ("--type project", {"type": "project"}),
    ("--status active", {"status": "active"}),
    ("--status completed", {"status": "completed"}),
    ("--status blocked", {"status": "blocked"}),
    ("--parent TRK-fc1611", {"parent": "TRK-fc1611"}),
    ("--parent b48263", {"parent": "TRK-b48263"}),  # a unique prefix
    ("--parent TRK-cce950", {"parent": "TRK-cce950"}),  # a leaf
    ("--root", {"root": True}),
    ("--root --archived", {"root": True, "archived": True}),
    ("--under TRK-cc846e", {"under": "TRK-cc846e"}),
    ("--under TRK-eaa28f --status active", {"under": "TRK-eaa28f", "status": "active"}),
    ("--under TRK-f453f3", {"under": "TRK-f453f3"}),
    ("--under TRK-60b1f3 --archived", {"under": "TRK-60b1f3", "archived": True}),
    ("--label csv", {"label": "csv"}),
    ("--label ocr", {"label": "ocr"}),
    ("--label no-such-label", {"label": "no-such-label"}),
    ("--assignee claude-code", {"assignee": "claude-code"}),
    ("--assignee dev.okafor", {"assignee": "dev.okafor"}),
    ("--priority 1", {"priority": 1}),
    ("--priority 5", {"priority": 5}),
    ("--branch feat/ocr-fallback", {"branch": "feat/ocr-fallback"}),
    ("--text ocr", {"text": "ocr"}),
    ("--text CSV", {"text": "CSV"}),
    ("--text %", {"text": "%"}),
    ("--text 80_000", {"text": "80_000"}),
    ("--text _", {"text": "_"}),
    ("--text 'manifest v'", {"text": "manifest v"}),
    ("--include-deleted", {"include_deleted": True}),
    ("--archived", {"archived": True}),
    ("--archived --include-deleted", {"archived": True, "include_deleted": True}),
    ("--limit 5", {"limit": 5}),
    ("--limit 5 --offset 5", {"limit": 5, "offset": 5}),
    ("--limit 10 --offset 45", {"limit": 10, "offset": 45}),
    ("--offset 1000", {"offset": 1000}),
    ("--limit 1 --offset 0 --status blocked", {"limit": 1, "status": "blocked"}),
    *((f"--sort {sort}", {"sort": sort}) for sort in (*SORT_KEYS, "tree")),
    (
        "--status active --label ocr --sort title",
        {"status": "active", "label": "ocr", "sort": "title"},
    ),
    (
        "--type task --priority 2 --limit 3 --offset 2 --sort -created",
        {"type": "task", "priority": 2, "limit": 3, "offset": 2, "sort": "-created"},
    ),
    (
        "--assignee claude-code --under TRK-eaa28f --include-deleted --sort tree",
        {"assignee": "claude-code", "under": "TRK-eaa28f", "include_deleted": True, "sort": "tree"},
    ),
]


def brute_list(items: dict[str, Item], spec: dict[str, Any]) -> list[Item]:
    text = spec.get("text")
    under = spec.get("under")
    chosen = []
    for item in items.values():
        fields = item.fields
        if item.archived != spec.get("archived", False):
            continue
        if item.deleted and not spec.get("include_deleted"):
            continue
        checks = [
            ("type", fields["type"]),
            ("status", item.status),
            ("parent", item.parent),
            ("priority", item.priority),
            ("assignee", fields.get("assignee")),
            ("branch", fields.get("branch")),
        ]
        if any(key in spec and spec[key] != value for key, value in checks):
            continue
        if spec.get("root") and item.parent is not None:
            continue
        if "label" in spec and spec["label"] not in fields.get("labels", []):
            continue
        if under is not None and under not in ancestors(items, item.id):
            continue
        if text is not None and not any(
            text.lower() in (fields.get(key) or "").lower() for key in ("title", "description")
        ):
            continue
        chosen.append(item)
    sort = spec.get("sort", "priority")
    if sort == "tree":
        return sorted(chosen, key=lambda i: (tree_path(items, i.id), i.id))
    ordered: list[Item] = SORT_KEYS[sort](chosen)
    return ordered


@pytest.mark.parametrize(
    ("args", "spec"), LIST_CASES, ids=lambda case: case if isinstance(case, str) else ""
)
def test_list_filters_equal_a_brute_force(example: Path, args: str, spec: dict[str, Any]) -> None:
    items = example_items(example)
    matching = brute_list(items, spec)
    limit, offset = spec.get("limit", 50), spec.get("offset", 0)
    data = cli("list", *shlex.split(args))
    assert [row["id"] for row in data["items"]] == [i.id for i in matching][offset : offset + limit]
    assert data["total_count"] == len(matching)
    assert data["has_more"] == (offset + limit < len(matching))
    assert (data["limit"], data["offset"]) == (limit, offset)
    only_commit = head(example)
    for row in data["items"]:
        item = items[row["id"]]
        assert (row["depth"], row["tree_path"]) == (
            depth_of(items, item.id),
            tree_path(items, item.id),
        )
        assert (row["version"], row["dirty"]) == (only_commit, False)


def test_list_pages_cover_everything_once(example: Path) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = cli("list", "--include-deleted", "--limit", "7", "--offset", str(offset))
        seen += [row["id"] for row in page["items"]]
        offset += 7
        if not page["has_more"]:
            break
    live = [
        i.id for i in SORT_KEYS["priority"](list(example_items(example).values())) if not i.archived
    ]
    assert seen == live


def test_ready_equals_a_brute_force(example: Path) -> None:
    items = example_items(example)
    expected = [
        item.id
        for item in sorted(items.values(), key=by_priority)
        if item.status == "active"
        and not item.deleted
        and not item.archived
        and not any(is_open(items, target) for target in item.depends_on)
    ]
    assert "TRK-554ac1" in expected and ARCHIVED_TARGET in expected
    assert MISSING_TARGET not in expected
    assert [row["id"] for row in cli("ready", "--limit", "1000")["items"]] == expected
    assert [row["id"] for row in cli("ready", "--limit", "3")["items"]] == expected[:3]
    assert [row["id"] for row in cli("ready")["items"]] == expected[:10]


def test_blocked_equals_a_brute_force(example: Path) -> None:
    items = example_items(example)
    expected = {
        item.id: sorted(target for target in item.depends_on if is_open(items, target))
        for item in sorted(items.values(), key=by_priority)
        if item.status != "completed" and not item.deleted and not item.archived
    }
    expected = {key: targets for key, targets in expected.items() if targets}
    assert MISSING_TARGET in expected and set(CYCLE) <= set(expected)
    data = cli("blocked", "--limit", "1000")
    assert [row["id"] for row in data["items"]] == list(expected)
    for row in data["items"]:
        blockers = row["blocked_by"]
        assert [b["id"] for b in blockers] == expected[row["id"]]
        for blocker in blockers:
            found = items.get(blocker["id"])
            assert blocker["status"] == (found.status if found else "missing")


def test_tree_equals_a_brute_force(example: Path) -> None:
    items = example_items(example)
    live = [item for item in items.values() if not item.archived and not item.deleted]
    ordered = sorted(live, key=lambda i: tree_path(items, i.id))
    data = cli("tree")
    assert [(row["id"], row["depth"]) for row in data["items"]] == [
        (item.id, depth_of(items, item.id)) for item in ordered
    ]
    shallow = cli("tree", "--depth", "1")
    assert [row["id"] for row in shallow["items"]] == [
        item.id for item in ordered if depth_of(items, item.id) <= 1
    ]
    with_deleted = cli("tree", "--include-deleted")
    assert SOFT_DELETED in {row["id"] for row in with_deleted["items"]}
    for top, depth in (("TRK-eaa28f", None), ("TRK-f7cb5a", 1), ("TRK-b48263", 0)):
        args = ["tree", top, *(["--depth", str(depth)] if depth is not None else [])]
        rows = cli(*args)["items"]
        base = depth_of(items, top)
        expected = [top] + [
            item.id
            for item in ordered
            if top in ancestors(items, item.id)
            and (depth is None or depth_of(items, item.id) <= base + depth)
        ]
        assert [row["id"] for row in rows] == expected, args


def test_tree_under_an_archived_root(example: Path) -> None:
    rows = cli("tree", "TRK-60b1f3")["items"]
    assert [row["id"] for row in rows] == ["TRK-60b1f3", "TRK-ccc35f"]


def test_dep_tree_equals_a_brute_force(example: Path) -> None:
    items = example_items(example)

    def node(key: str, seen: frozenset[str]) -> dict[str, Any]:
        found = items.get(key)
        entry: dict[str, Any] = {
            "id": key,
            "title": found.fields["title"] if found else None,
            "status": found.status if found else "missing",
        }
        if key in seen:
            return {**entry, "repeated": True}
        targets = sorted(found.depends_on) if found else []
        return {**entry, "depends_on": [node(t, seen | {key}) for t in targets]}

    for key in ("TRK-ae3b47", "TRK-1bb24c", CYCLE[0], MISSING_TARGET, "TRK-cc846e"):
        assert cli("dep", "tree", key)["tree"] == node(key, frozenset()), key


def test_show_links_equal_a_brute_force(example: Path) -> None:
    items = example_items(example)
    for key in ("TRK-a59a5a", "TRK-1d1aae", "TRK-f2d175", FANNED_OUT, "TRK-ccc35f"):
        shown = cli("show", key)
        assert [row["id"] for row in shown["ancestors"]] == ancestors(items, key)
        assert shown["depth"] == depth_of(items, key)
        assert sorted(row["id"] for row in shown["descendants"]) == sorted(
            other for other in items if key in ancestors(items, other)
        )
        assert [row["id"] for row in shown["depends_on"]] == [
            t for t in items[key].depends_on if t in items
        ]
        assert sorted(row["id"] for row in shown["blocks"]) == sorted(
            other for other, item in items.items() if key in item.depends_on
        )
        assert shown["version"] == last_commit(example, items[key].path)
        assert shown["path"] == items[key].path
        assert shown["archived"] == items[key].archived


def test_index_sync_after_an_unchanged_query_reads_nothing(example: Path) -> None:
    cli("list")
    report = cli("index", "sync")
    assert (report["files_read"], report["files_removed"], report["rebuilt"]) == (0, 0, False)


def records(repo: Path, folder: str) -> list[dict[str, Any]]:
    return [
        yaml.safe_load(path.read_text())
        for path in sorted((repo / ".tracker" / folder).glob("*.yaml"))
    ]


def test_vendors_deployments_and_enhancements_equal_the_files(example: Path) -> None:
    vendors = records(example, "vendors")
    listed_vendors = cli("vendor", "list")["vendors"]
    assert [(v["name"], v["status"]) for v in listed_vendors] == sorted(
        (v["name"], v["status"]) for v in vendors
    )
    broken = cli("vendor", "list", "--status", "broken")["vendors"]
    assert sorted(v["name"] for v in broken) == sorted(
        v["name"] for v in vendors if v["status"] == "broken"
    )
    first = vendors[0]
    shown = cli("vendor", "show", first["name"])
    shown_vendor = shown["vendor"]
    assert shown_vendor["tests_passing"] == first["test_results"]["passing"]
    assert shown_vendor["version"] == last_commit(example, f".tracker/vendors/{first['name']}.yaml")

    deployments = records(example, "deployments")
    ordered = sorted(deployments, key=lambda d: d["id"])  # newest first; equal times by id
    ordered.sort(key=lambda d: d["deployed_at"], reverse=True)
    got = cli("deploy", "list", "--limit", "100")["deployments"]
    assert [d["id"] for d in got] == [d["id"] for d in ordered]
    assert {d["id"]: sorted(d["vendors"] or []) for d in got} == {
        d["id"]: sorted(d.get("vendors", [])) for d in deployments
    }
    vendor = ordered[0]["vendors"][0]
    by_vendor = cli("deploy", "list", "--vendor", vendor, "--limit", "100")["deployments"]
    assert [d["id"] for d in by_vendor] == [
        d["id"] for d in ordered if vendor in d.get("vendors", [])
    ]
    item = ordered[0]["work_items"][0]
    by_item = cli("deploy", "list", "--item", item, "--limit", "100")["deployments"]
    assert [d["id"] for d in by_item] == [
        d["id"] for d in ordered if item in d.get("work_items", [])
    ]
    assert [d["id"] for d in cli("show", item)["deployments"]] == [d["id"] for d in by_item]
    assert [d["id"] for d in cli("deploy", "list", "--limit", "3")["deployments"]] == [
        d["id"] for d in ordered[:3]
    ]

    enhancements = records(example, "enhancements")
    got_enhancements = cli("enhancement", "list")["enhancements"]
    assert [e["id"] for e in got_enhancements] == [
        e["id"]
        for e in sorted(
            enhancements,
            key=lambda e: (
                e.get("priority", 3),
                e.get("target_quarter") is None,
                e.get("target_quarter") or "",
                e["id"],
            ),
        )
    ]
    planned = cli("enhancement", "list", "--status", "planned")["enhancements"]
    assert sorted(e["id"] for e in planned) == sorted(
        e["id"] for e in enhancements if e.get("status", "planned") == "planned"
    )


def test_rows_encode_for_the_bulk_load_whatever_their_values() -> None:
    """orjson encodes rows; what it cannot (integers past 64 bits) the json module does,
    and either way DuckDB reads back the same values."""
    from tracker.index.rows import encode_row

    rows = [
        {"file": "items/a.yaml", "id": "A", "title": 'é\u2028"quoted"', "labels": ["x"]},
        {"file": "items/b.yaml", "id": "B", "title": "big", "metadata": {"n": 2**70, "m": 1.5}},
    ]
    lines = [encode_row("items", row) for row in rows]
    assert [json.loads(line)["title"] for line in lines] == [row["title"] for row in rows]
    assert json.loads(lines[1])["metadata"] == {"n": 2**70, "m": 1.5}
    assert list(json.loads(lines[0])) == [column for column, _ in duckdb_backend.TABLES["items"]]
