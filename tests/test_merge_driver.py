"""`tracker merge-driver` driven by real `git merge`, set up by `tracker init --merge-driver`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, run, run_process
from tracker.model.yaml_read import load_yaml_text

ITEM_ID = "TRK-7f3a9c"
ITEM_TEXT = """\
# yaml-language-server: $schema=../schema/work-item.schema.json
id: TRK-7f3a9c
type: task
# the title is what the board shows
title: Parse the statements
status: active
priority: 3
depends_on:
  - TRK-111111
labels:
  - csv
  - parser
created_at: 2026-01-01T00:00:00Z
updated_at: 2026-01-01T00:00:00Z
metadata:
  estimated_hours: 2.0
"""


def target(item_id: str) -> str:
    return f"id: {item_id}\ntype: task\ntitle: Target {item_id}\ncreated_at: 2026-01-01T00:00:00Z\n"


@pytest.fixture
def merge_repo(tracker_repo: Path) -> Path:
    """A committed tracker with the merge driver installed and one item (plus its targets)."""
    result = run(["init", "--merge-driver"])
    assert result.exit_code == 0, result.output
    items = tracker_repo / ".tracker" / "items"
    (items / f"{ITEM_ID}.yaml").write_text(ITEM_TEXT)
    for other in ("TRK-111111", "TRK-222222", "TRK-333333"):
        (items / f"{other}.yaml").write_text(target(other))
    git(tracker_repo, "add", "-A")
    git(tracker_repo, "commit", "-q", "-m", "one item")
    return tracker_repo


def item_path(repo: Path) -> Path:
    return repo / ".tracker" / "items" / f"{ITEM_ID}.yaml"


def edit(repo: Path, old: str, new: str) -> None:
    path = item_path(repo)
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def on_branches(repo: Path, ours: list[tuple[str, str]], theirs: list[tuple[str, str]]) -> None:
    """Branch `theirs` gets the `theirs` edits, main the `ours` edits; main is checked out."""
    git(repo, "checkout", "-q", "-b", "theirs")
    for old, new in theirs:
        edit(repo, old, new)
    git(repo, "commit", "-q", "-am", "their edit")
    git(repo, "checkout", "-q", "main")
    for old, new in ours:
        edit(repo, old, new)
    git(repo, "commit", "-q", "-am", "our edit")


def merge(repo: Path, branch: str = "theirs") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "merge", "--no-edit", branch], cwd=repo, capture_output=True, text=True
    )


def merged_item(repo: Path) -> dict[str, object]:
    return load_yaml_text(item_path(repo).read_text(), "item.yaml").data


# --- tracker init --merge-driver


def test_init_merge_driver_writes_gitattributes_and_git_config(tracker_repo: Path) -> None:
    result = run(["init", "--merge-driver"])
    assert result.exit_code == 0, result.output
    assert "created  .gitattributes\n" in result.output
    assert "created  .git/config (merge.tracker.name)\n" in result.output
    assert "created  .git/config (merge.tracker.driver)\n" in result.output
    assert (tracker_repo / ".gitattributes").read_text() == ".tracker/** merge=tracker\n"
    assert git(tracker_repo, "config", "merge.tracker.name").strip() == "tracker field-level merge"
    driver = git(tracker_repo, "config", "merge.tracker.driver").strip()
    assert driver == f"'{sys.executable}' -m tracker merge-driver %O %A %B %P"
    attr = git(tracker_repo, "check-attr", "merge", "--", ".tracker/items/TRK-7f3a9c.yaml")
    assert attr.strip().endswith("merge: tracker")


def test_init_merge_driver_appends_once_and_keeps_other_lines(tracker_repo: Path) -> None:
    attributes = tracker_repo / ".gitattributes"
    attributes.write_text("*.png binary\n# mine\n*.md text")  # no final newline
    first = run(["init", "--merge-driver"])
    assert "updated  .gitattributes\n" in first.output
    second = run(["init", "--merge-driver", "--format", "json"])
    assert second.exit_code == 0, second.output
    assert '"action": "kept"' in second.output
    assert '"detail": "merge.tracker.driver"' in second.output
    assert attributes.read_text() == "*.png binary\n# mine\n*.md text\n.tracker/** merge=tracker\n"


def test_init_merge_driver_updates_a_stale_driver_command(tracker_repo: Path) -> None:
    git(tracker_repo, "config", "merge.tracker.driver", "/gone/python -m tracker merge-driver")
    result = run(["init", "--merge-driver"])
    assert "updated  .git/config (merge.tracker.driver)\n" in result.output
    assert "kept     .tracker/tracker.yaml\n" in result.output


def test_init_merge_driver_in_a_subfolder_and_custom_root(repo: Path) -> None:
    sub = repo / "my proj"
    sub.mkdir()
    result = run(["-C", str(sub), "--root", "work", "init", "--merge-driver"])
    assert result.exit_code == 0, result.output
    assert (repo / ".gitattributes").read_text() == '"my proj/work/**" merge=tracker\n'
    attr = git(repo, "check-attr", "merge", "--", "my proj/work/items/TRK-7f3a9c.yaml")
    assert attr.strip().endswith("merge: tracker")
    assert (
        git(repo, "check-attr", "merge", "--", "my proj/other.yaml").strip().endswith("unspecified")
    )


# --- git merge with the driver


def test_different_fields_and_a_label_merge_cleanly(merge_repo: Path) -> None:
    on_branches(
        merge_repo,
        ours=[("status: active", "status: completed")],
        theirs=[("priority: 3", "priority: 1"), ("  - parser\n", "  - parser\n  - urgent\n")],
    )
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    data = merged_item(merge_repo)
    assert data["status"] == "completed" and data["priority"] == 1
    assert data["labels"] == ["csv", "parser", "urgent"]
    assert "# the title is what the board shows\n" in item_path(merge_repo).read_text()
    assert run(["validate"]).exit_code == 0


def test_same_list_edited_on_both_sides_is_a_union(merge_repo: Path) -> None:
    # Adjacent lines on both sides: git's line merge alone would conflict here.
    on_branches(
        merge_repo,
        ours=[("  - TRK-111111\n", "  - TRK-111111\n  - TRK-222222\n")],
        theirs=[("  - TRK-111111\n", "  - TRK-111111\n  - TRK-333333\n")],
    )
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert merged_item(merge_repo)["depends_on"] == ["TRK-111111", "TRK-222222", "TRK-333333"]
    assert (
        "depends_on:\n  - TRK-111111\n  - TRK-222222\n  - TRK-333333\n"
        in item_path(merge_repo).read_text()
    )
    assert run(["validate"]).exit_code == 0


def test_a_removed_label_stays_removed(merge_repo: Path) -> None:
    on_branches(
        merge_repo,
        ours=[("  - parser\n", "")],
        theirs=[("  - csv\n", "  - csv\n  - importer\n"), ("status: active", "status: blocked")],
    )
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    data = merged_item(merge_repo)
    assert data["labels"] == ["csv", "importer"]
    assert data["status"] == "blocked"


def test_the_later_updated_at_wins(merge_repo: Path) -> None:
    on_branches(
        merge_repo,
        ours=[("updated_at: 2026-01-01T00:00:00Z", "updated_at: 2026-03-01T09:00:00Z"),
              ("status: active", "status: completed")],
        theirs=[("updated_at: 2026-01-01T00:00:00Z", "updated_at: 2026-03-02T08:00:00Z"),
                ("priority: 3", "priority: 2")],
    )  # fmt: skip
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    text = item_path(merge_repo).read_text()
    assert "updated_at: 2026-03-02T08:00:00Z\n" in text
    assert "status: completed\n" in text and "priority: 2\n" in text


def test_a_true_conflict_marks_only_that_field(merge_repo: Path) -> None:
    on_branches(
        merge_repo,
        ours=[("title: Parse the statements", "title: Parse bank statements"),
              ("status: active", "status: completed")],
        theirs=[("title: Parse the statements", "title: Parse CSV statements"),
                ("priority: 3", "priority: 1"), ("  - parser\n", "  - parser\n  - urgent\n")],
    )  # fmt: skip
    done = merge(merge_repo)
    assert done.returncode != 0
    assert "CONFLICT" in done.stdout
    assert f"tracker merge: conflict in .tracker/items/{ITEM_ID}.yaml fields: title" in done.stderr
    assert "Traceback" not in done.stderr
    text = item_path(merge_repo).read_text()
    assert (
        "# the title is what the board shows\n"
        "<<<<<<< ours\n"
        "title: Parse bank statements\n"
        "=======\n"
        "title: Parse CSV statements\n"
        ">>>>>>> theirs\n"
        "status: completed\n"
        "priority: 1\n"
    ) in text
    assert text.count("<<<<<<<") == 1
    assert "  - urgent\n" in text
    unmerged = git(merge_repo, "diff", "--name-only", "--diff-filter=U").split()
    assert unmerged == [f".tracker/items/{ITEM_ID}.yaml"]


def test_tracker_set_on_two_branches_merges(merge_repo: Path) -> None:
    """The tool's own writes (each bumping updated_at) merge without a conflict."""
    git(merge_repo, "checkout", "-q", "-b", "theirs")
    assert run(["set", ITEM_ID, "priority=1", "labels+=urgent"]).exit_code == 0
    git(merge_repo, "checkout", "-q", "main")
    assert run(["set", ITEM_ID, "status=completed", "labels-=csv"]).exit_code == 0
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    data = merged_item(merge_repo)
    assert (data["status"], data["priority"]) == ("completed", 1)
    assert data["labels"] == ["parser", "urgent"]
    assert run(["validate"]).exit_code == 0


def test_an_unparsable_side_falls_back_to_a_line_merge(merge_repo: Path) -> None:
    on_branches(
        merge_repo,
        ours=[("status: active", "status: [completed")],  # malformed YAML
        theirs=[("  estimated_hours: 2.0", "  estimated_hours: 4.0")],
    )
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "malformed YAML" in done.stderr and "merged line by line" in done.stderr
    text = item_path(merge_repo).read_text()
    assert "status: [completed\n" in text and "estimated_hours: 4.0\n" in text


def test_an_unparsable_side_with_overlapping_lines_conflicts_like_git(merge_repo: Path) -> None:
    on_branches(
        merge_repo,
        ours=[("status: active", "status: - not a mapping")],
        theirs=[("status: active", "status: blocked")],
    )
    done = merge(merge_repo)
    assert done.returncode != 0
    text = item_path(merge_repo).read_text()
    assert "<<<<<<< ours\nstatus: - not a mapping\n=======\nstatus: blocked\n>>>>>>> theirs\n" in (
        text
    )


def test_the_same_new_item_added_on_both_branches_merges_without_a_base(merge_repo: Path) -> None:
    new_item = merge_repo / ".tracker" / "items" / "TRK-444444.yaml"
    git(merge_repo, "checkout", "-q", "-b", "theirs")
    new_item.write_text(target("TRK-444444") + "labels:\n  - theirs\n")
    git(merge_repo, "add", "-A")
    git(merge_repo, "commit", "-q", "-m", "their new item")
    git(merge_repo, "checkout", "-q", "main")
    new_item.write_text(target("TRK-444444") + "labels:\n  - ours\n")
    git(merge_repo, "add", "-A")
    git(merge_repo, "commit", "-q", "-m", "our new item")
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert new_item.read_text().endswith("labels:\n  - ours\n  - theirs\n")


def test_settings_in_tracker_yaml_merge_and_keep_comments(merge_repo: Path) -> None:
    config = merge_repo / ".tracker" / "tracker.yaml"
    original = config.read_text()
    git(merge_repo, "checkout", "-q", "-b", "theirs")
    config.write_text(original.replace("backend: duckdb", "backend: postgres"))
    git(merge_repo, "commit", "-q", "-am", "postgres")
    git(merge_repo, "checkout", "-q", "main")
    config.write_text(original.replace("default_token_budget: 200000", "default_token_budget: 5000")
                      .replace("archive_after_days: 365", "archive_after_days: 90"))  # fmt: skip
    git(merge_repo, "commit", "-q", "-am", "budget")
    done = merge(merge_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert config.read_text() == (
        original.replace("backend: duckdb", "backend: postgres")
        .replace("default_token_budget: 200000", "default_token_budget: 5000")
        .replace("archive_after_days: 365", "archive_after_days: 90")
    )


# --- the command itself


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_without_a_base_both_new_files_merge(tmp_path: Path) -> None:
    ours = write(tmp_path / "ours", "id: TRK-aaaaaa\ntitle: A\nlabels:\n  - x\n")
    theirs = write(tmp_path / "theirs", "id: TRK-aaaaaa\ntitle: A\nlabels:\n  - y\npriority: 2\n")
    done = run_process(
        ["merge-driver", str(tmp_path / "missing"), str(ours), str(theirs),
         ".tracker/items/TRK-aaaaaa.yaml"], cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ours.read_text() == "id: TRK-aaaaaa\ntitle: A\npriority: 2\nlabels:\n  - x\n  - y\n"


def test_files_that_are_not_yaml_records_merge_line_by_line(tmp_path: Path) -> None:
    base = write(tmp_path / "base", '{\n  "a": 1,\n  "b": 2\n}\n')
    ours = write(tmp_path / "ours", '{\n  "a": 10,\n  "b": 2\n}\n')
    theirs = write(tmp_path / "theirs", '{\n  "a": 1,\n  "b": 2\n}\n')
    done = run_process(
        ["merge-driver", str(base), str(ours), str(theirs), ".tracker/schema/x.json"],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert ours.read_text() == '{\n  "a": 10,\n  "b": 2\n}\n'  # still JSON, not YAML
    assert done.stderr == ""


def test_a_list_document_falls_back(tmp_path: Path) -> None:
    base = write(tmp_path / "base", "- a\n- b\n")
    ours = write(tmp_path / "ours", "- a\n- b\n- c\n")
    theirs = write(tmp_path / "theirs", "- z\n- a\n- b\n")
    done = run_process(["merge-driver", str(base), str(ours), str(theirs), "t.yaml"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ours.read_text() == "- z\n- a\n- b\n- c\n"
    assert "expected a mapping of fields" in done.stderr


def test_an_unreadable_side_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    base = write(tmp_path / "base", "id: x\n")
    done = run_process(
        ["merge-driver", str(base), str(tmp_path / "nope"), str(base), "a.yaml"], cwd=tmp_path
    )
    assert done.returncode == 1
    assert "cannot read" in done.stderr and "Traceback" not in done.stderr
