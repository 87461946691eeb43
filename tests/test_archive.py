"""`tracker archive`: old items move to archive/items in one commit and stay readable."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, run
from tests.conftest import new_item as new
from tracker.store.git_repo import GitStore

LONG_AGO = "2020-01-01T00:00:00Z"


def item_path(repo: Path, key: str, folder: str = "items") -> Path:
    found = list((repo / ".tracker" / folder).rglob(f"{key}.yaml"))
    assert len(found) == 1, (key, folder, found)
    return found[0]


def set_created(repo: Path, when: str, *keys: str) -> None:
    """Back-date items and commit, as if they had been created `when`."""
    for key in keys:
        path = item_path(repo, key)
        text = re.sub(r"(?m)^created_at: .*$", f"created_at: {when}", path.read_text())
        path.write_text(text)
    git(repo, "commit", "-q", "-am", "back-date items")


def days_ago(days: int) -> str:
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def archive(*args: str) -> dict[str, Any]:
    result = run(["archive", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def moved_ids(data: dict[str, Any]) -> set[str]:
    return {row["id"] for row in data["archived"]}


def kept(data: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["reason"] for row in data["kept"]}


def test_old_finished_items_move_in_one_commit(tracker_repo: Path) -> None:
    done = new("task", "Done long ago", "--status", "completed")
    deleted = new("task", "Dropped long ago")
    assert run(["delete", deleted]).exit_code == 0
    still_open = new("task", "Open for years")
    blocked = new("task", "Blocked for years", "--status", "blocked")
    recent = new("task", "Done last week", "--status", "completed")
    set_created(tracker_repo, LONG_AGO, done, deleted, still_open, blocked)
    before, count = head(tracker_repo), commit_count(tracker_repo)

    data = archive()

    assert moved_ids(data) == {done, deleted}
    assert data["count"] == 2
    assert kept(data) == {still_open: "open (active)", blocked: "open (blocked)"}
    assert recent not in kept(data) and data["newer_count"] == 1
    assert commit_count(tracker_repo) == count + 1
    assert data["version"] == head(tracker_repo)
    assert git(tracker_repo, "rev-parse", "HEAD^").strip() == before
    subject, _, body = git(tracker_repo, "log", "-1", "--format=%B").partition("\n\n")
    assert re.fullmatch(r"tracker: archive 2 items created before \d{4}-\d\d-\d\d", subject)
    assert set(body.split()) == {done, deleted}
    changed = git(tracker_repo, "show", "--name-status", "--no-renames", "--format=", "HEAD")
    assert sorted(changed.splitlines()) == sorted(
        [f"D\t.tracker/items/{key}.yaml" for key in (done, deleted)]
        + [f"A\t.tracker/archive/items/{key}.yaml" for key in (done, deleted)]
    )
    assert git(tracker_repo, "status", "--porcelain") == ""
    archived_text = item_path(tracker_repo, done, "archive/items").read_text()
    assert archived_text.startswith(
        "# yaml-language-server: $schema=../../schema/work-item.schema.json\n"
    )
    assert f"id: {done}\n" in archived_text and "status: completed\n" in archived_text
    assert not (tracker_repo / ".tracker" / "items" / f"{done}.yaml").exists()


def test_include_open_moves_open_items_too(tracker_repo: Path) -> None:
    still_open = new("task", "Open for years")
    blocked = new("task", "Blocked for years", "--status", "blocked")
    set_created(tracker_repo, LONG_AGO, still_open, blocked)
    data = archive("--include-open")
    assert moved_ids(data) == {still_open, blocked}
    assert {row["why"] for row in data["archived"]} == {
        "open (active), --include-open",
        "open (blocked), --include-open",
    }


def test_an_item_with_a_descendant_that_stays_is_kept(tracker_repo: Path) -> None:
    grand = new("project", "Old programme", "--meta", "description=x", "--status", "completed")
    parent = new("task", "Old epic", "--parent", grand, "--status", "completed")
    open_child = new("task", "Still going", "--parent", parent)
    other = new("project", "Old project", "--meta", "description=y", "--status", "completed")
    done_child = new("task", "Finished", "--parent", other, "--status", "completed")
    recent_child = new("task", "New work", "--parent", other, "--status", "completed")
    set_created(tracker_repo, LONG_AGO, grand, parent, open_child, other, done_child)

    data = archive()

    assert moved_ids(data) == {done_child}
    assert kept(data) == {
        grand: f"has a descendant that stays ({open_child})",
        parent: f"has a descendant that stays ({open_child})",
        open_child: "open (active)",
        other: f"has a descendant that stays ({recent_child})",
    }
    with_open = archive("--include-open")
    assert moved_ids(with_open) == {grand, parent, open_child}
    assert kept(with_open) == {other: f"has a descendant that stays ({recent_child})"}
    assert run(["validate"]).exit_code == 0


def test_the_current_session_is_kept(tracker_repo: Path) -> None:
    session = new("session", "Old session", "--status", "completed")
    assert run(["config", "set", f"project.current_session={session}"]).exit_code == 0
    set_created(tracker_repo, LONG_AGO, session)
    data = archive()
    assert data["archived"] == [] and data["version"] is None
    assert kept(data) == {session: "the current session in tracker.yaml"}


def test_dry_run_lists_and_writes_nothing(tracker_repo: Path) -> None:
    done = new("task", "Done long ago", "--status", "completed")
    still_open = new("task", "Open for years")
    set_created(tracker_repo, LONG_AGO, done, still_open)
    before = head(tracker_repo)

    data = archive("--dry-run")

    assert data["dry_run"] is True and data["version"] is None
    assert moved_ids(data) == {done}
    assert kept(data) == {still_open: "open (active)"}
    assert head(tracker_repo) == before
    assert git(tracker_repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert item_path(tracker_repo, done).parent.name == "items"
    shown = run(["archive", "--dry-run"])
    assert shown.exit_code == 0
    assert done in shown.output and "dry run: nothing written" in shown.output
    assert f"{still_open}  open (active)" in shown.output


def test_older_than_takes_days_or_weeks_and_defaults_to_the_config(tracker_repo: Path) -> None:
    ancient = new("task", "100 days old", "--status", "completed")
    month = new("task", "40 days old", "--status", "completed")
    week = new("task", "10 days old", "--status", "completed")
    set_created(tracker_repo, days_ago(100), ancient)
    set_created(tracker_repo, days_ago(40), month)
    set_created(tracker_repo, days_ago(10), week)

    assert moved_ids(archive("--older-than", "2w", "--dry-run")) == {ancient, month}
    assert moved_ids(archive("--older-than", "60d", "--dry-run")) == {ancient}
    assert archive("--older-than", "52w", "--dry-run")["archived"] == []
    for bad in ("1y", "12m", "30", "0d", "-3d", "d"):
        result = run(["archive", "--older-than", bad])
        assert result.exit_code == 1, (bad, result.output)
        assert "days or weeks, e.g. 365d or 52w" in result.output

    assert archive("--dry-run")["older_than_days"] == 365
    config = tracker_repo / ".tracker" / "tracker.yaml"
    config.write_text(
        config.read_text().replace("archive_after_days: 365", "archive_after_days: 30")
    )
    git(tracker_repo, "commit", "-q", "-am", "archive sooner")
    data = archive()
    assert data["older_than_days"] == 30
    assert moved_ids(data) == {ancient, month}


def test_nothing_to_archive_makes_no_commit(tracker_repo: Path) -> None:
    new("task", "Fresh", "--status", "completed")
    count = commit_count(tracker_repo)
    data = archive()
    assert data == {**data, "count": 0, "version": None, "message": "nothing to archive"}
    assert commit_count(tracker_repo) == count
    assert "nothing to archive" in run(["archive"]).output


def test_archived_dependencies_still_resolve_and_count_as_completed(tracker_repo: Path) -> None:
    done = new("task", "Old prerequisite", "--status", "completed")
    dropped = new("task", "Old dropped prerequisite")
    assert run(["delete", dropped]).exit_code == 0
    waiting = new("task", "Needs the old work", "--depends-on", done, "--depends-on", dropped)
    set_created(tracker_repo, LONG_AGO, done, dropped)
    assert moved_ids(archive()) == {done, dropped}

    validated = run(["validate"])
    assert validated.exit_code == 0, validated.output
    ready = json.loads(run(["ready", "--format", "json"]).output)
    assert [row["id"] for row in ready["items"]] == [waiting]
    blocked = json.loads(run(["blocked", "--format", "json"]).output)
    assert blocked["items"] == []
    shown = json.loads(run(["show", waiting, "--format", "json"]).output)
    assert {row["id"]: row["status"] for row in shown["depends_on"]} == {
        done: "completed",
        dropped: "active",
    }
    assert shown["missing_dependencies"] == [] and shown["open_dependencies"] == 0
    # a new dependency on an archived item is accepted too
    later = new("task", "Also needs it", "--depends-on", done)
    assert run(["validate"]).exit_code == 0
    assert later in {
        row["id"] for row in json.loads(run(["ready", "--format", "json"]).output)["items"]
    }


def test_archived_items_are_listed_shown_and_keep_their_history(tracker_repo: Path) -> None:
    parent = new("project", "Live project", "--meta", "description=x")
    done = new("task", "Done long ago", "--parent", parent, "--status", "completed")
    assert run(["set", done, "priority=1"]).exit_code == 0
    set_created(tracker_repo, LONG_AGO, done)
    version = archive()["version"]

    live = json.loads(run(["list", "--format", "json"]).output)
    assert [row["id"] for row in live["items"]] == [parent]
    archived = json.loads(run(["list", "--archived", "--format", "json"]).output)
    assert [row["id"] for row in archived["items"]] == [done]
    assert archived["items"][0]["archived"] is True
    under = run(["list", "--archived", "--under", parent, "--format", "json"])
    assert [row["id"] for row in json.loads(under.output)["items"]] == [done]

    shown = json.loads(run(["show", done[:7], "--format", "json"]).output)
    assert shown["archived"] is True and shown["version"] == version
    assert shown["path"] == f".tracker/archive/items/{done}.yaml"
    assert [row["id"] for row in shown["ancestors"]] == [parent]
    assert "(archived)" in run(["show", done]).output
    parent_shown = json.loads(run(["show", parent, "--format", "json"]).output)
    assert [row["id"] for row in parent_shown["descendants"]] == [done]

    history = json.loads(run(["history", done, "--format", "json"]).output)
    events = [(v["event"], [c["field"] for c in v["changes"]]) for v in history["versions"]]
    assert events[0] == ("archived", [])
    assert history["versions"][0]["version"] == version
    assert events[1] == ("changed", ["created_at"])
    assert events[2] == ("changed", ["priority"])
    assert events[-1][0] == "created"
    assert "archived" in run(["history", done]).output

    # archived items are read-only, and a write says so (not "not found")
    refused = run(["set", done, "priority=2"])
    assert refused.exit_code == 1
    assert f"{done} is archived (.tracker/archive/items/{done}.yaml)" in refused.output


def test_a_branch_that_keeps_moving_is_a_conflict_and_nothing_is_written(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = new("task", "Done long ago", "--status", "completed")
    set_created(tracker_repo, LONG_AGO, done)
    original = GitStore.commit

    def someone_commits_first(self: GitStore, *args: Any, **kwargs: Any) -> str:
        git(tracker_repo, "commit", "-q", "--allow-empty", "-m", "someone else")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GitStore, "commit", someone_commits_first)
    result = run(["archive"])
    assert result.exit_code == 3, result.output
    assert "conflict" in result.output and "nothing was written" in result.output
    assert git(tracker_repo, "log", "-1", "--format=%s").strip() == "someone else"
    assert git(tracker_repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert item_path(tracker_repo, done).parent.name == "items"
    assert not (tracker_repo / ".tracker" / "archive" / "items" / f"{done}.yaml").exists()


def test_a_branch_moved_once_is_archived_on_the_new_tip(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = new("task", "Done long ago", "--status", "completed")
    reopened = new("task", "Done, then reopened meanwhile", "--status", "completed")
    set_created(tracker_repo, LONG_AGO, done, reopened)
    original = GitStore.commit
    calls: list[str] = []

    def reopen_first(self: GitStore, *args: Any, **kwargs: Any) -> str:
        if not calls:  # another writer reopens one item after the plan was made
            calls.append("moved")
            path = item_path(tracker_repo, reopened)
            path.write_text(path.read_text().replace("status: completed", "status: active"))
            git(tracker_repo, "commit", "-q", "-am", "reopen")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GitStore, "commit", reopen_first)
    data = archive()
    assert moved_ids(data) == {done}
    assert kept(data) == {reopened: "open (active)"}
    assert git(tracker_repo, "log", "-2", "--format=%s").splitlines()[1] == "reopen"
    assert "status: active" in item_path(tracker_repo, reopened).read_text()
    assert git(tracker_repo, "status", "--porcelain") == ""


def test_local_edits_are_refused_unless_forced_and_then_kept(tracker_repo: Path) -> None:
    done = new("task", "Done long ago", "--status", "completed")
    set_created(tracker_repo, LONG_AGO, done)
    (tracker_repo / "notes.txt").write_text("unrelated\n")
    git(tracker_repo, "add", "notes.txt")
    path = item_path(tracker_repo, done)
    edited = path.read_text() + "description: an uncommitted note\n"
    path.write_text(edited)
    before = head(tracker_repo)

    refused = run(["archive"])
    assert refused.exit_code == 3, refused.output
    assert "uncommitted local edits" in refused.output and done in refused.output
    assert head(tracker_repo) == before and path.read_text() == edited

    data = archive("--force")
    assert moved_ids(data) == {done}
    target = item_path(tracker_repo, done, "archive/items")
    committed = git(tracker_repo, "show", f"HEAD:.tracker/archive/items/{done}.yaml")
    assert "uncommitted note" not in committed
    assert "uncommitted note" in target.read_text()
    status = git(tracker_repo, "status", "--porcelain").splitlines()
    assert sorted(status) == sorted([f" M .tracker/archive/items/{done}.yaml", "A  notes.txt"])


def test_a_staged_edit_is_refused(tracker_repo: Path) -> None:
    done = new("task", "Done long ago", "--status", "completed")
    set_created(tracker_repo, LONG_AGO, done)
    path = item_path(tracker_repo, done)
    original = path.read_text()
    path.write_text(original + "description: staged\n")
    git(tracker_repo, "add", "-A")
    path.write_text(original)
    result = run(["archive"])
    assert result.exit_code == 3 and "uncommitted local edits" in result.output


def test_fanned_out_layout(tracker_repo: Path) -> None:
    assert run(["config", "set", "item_layout=fanout"]).exit_code == 0
    done = new("task", "Done long ago", "--status", "completed")
    waiting = new("task", "Needs it", "--depends-on", done)
    source = item_path(tracker_repo, done)
    bucket = done.split("-", 1)[1][:2]
    assert source.parent.name == bucket
    set_created(tracker_repo, LONG_AGO, done)

    data = archive()

    assert moved_ids(data) == {done}
    assert data["archived"][0]["target"] == f".tracker/archive/items/{bucket}/{done}.yaml"
    changed = git(tracker_repo, "show", "--name-status", "--no-renames", "--format=", "HEAD")
    assert sorted(changed.splitlines()) == [
        f"A\t.tracker/archive/items/{bucket}/{done}.yaml",
        f"D\t.tracker/items/{bucket}/{done}.yaml",
    ]
    target = item_path(tracker_repo, done, "archive/items")
    assert target.read_text().startswith("# yaml-language-server: $schema=../../../schema/")
    if not git(tracker_repo, "ls-files", f".tracker/items/{bucket}"):
        assert not source.parent.exists()  # an emptied bucket folder goes with its last file
    assert git(tracker_repo, "status", "--porcelain") == ""
    assert run(["validate"]).exit_code == 0
    archived = json.loads(run(["list", "--archived", "--format", "json"]).output)
    assert [row["id"] for row in archived["items"]] == [done]
    assert json.loads(run(["show", done, "--format", "json"]).output)["archived"] is True
    ready = json.loads(run(["ready", "--format", "json"]).output)
    assert [row["id"] for row in ready["items"]] == [waiting]
    history = json.loads(run(["history", done, "--format", "json"]).output)
    assert history["versions"][0]["event"] == "archived"
    assert history["versions"][-1]["event"] == "created"
