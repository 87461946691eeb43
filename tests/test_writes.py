from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, run, run_process


def new(*args: str) -> dict[str, Any]:
    result = run(["new", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def item_file(repo: Path, item_id: str) -> Path:
    return repo / ".tracker" / "items" / f"{item_id}.yaml"


def test_new_commits_one_file_and_reports_id_and_version(tracker_repo: Path) -> None:
    created = new(
        "task",
        "Parse statements",
        "--priority",
        "2",
        "--label",
        "parser",
        "--meta",
        "estimated_hours=3",
    )
    assert created["version"] == head(tracker_repo)
    assert git(tracker_repo, "log", "-1", "--format=%s").strip() == (
        f"tracker: new task {created['id']}: Parse statements"
    )
    assert git(tracker_repo, "status", "--porcelain") == ""
    text = item_file(tracker_repo, created["id"]).read_text()
    assert text.startswith("# yaml-language-server: $schema=../schema/work-item.schema.json\n")
    assert "priority: 2\n" in text and "labels:\n  - parser\n" in text
    assert "metadata:\n  estimated_hours: 3.0\n" in text
    changed = git(tracker_repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == [f".tracker/items/{created['id']}.yaml"]


def test_author_is_the_actor(tracker_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = new("task", "A", "--as", "claude-code")
    assert git(tracker_repo, "log", "-1", "--format=%an").strip() == "claude-code"
    monkeypatch.setenv("TRACKER_ACTOR", "ci-bot")
    run(["close", first["id"]])
    assert git(tracker_repo, "log", "-1", "--format=%an").strip() == "ci-bot"
    monkeypatch.delenv("TRACKER_ACTOR")
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    git(tracker_repo, "config", "user.name", "Ana Lima")
    git(tracker_repo, "config", "user.email", "ana@example.com")
    run(["reopen", first["id"]])
    assert git(tracker_repo, "log", "-1", "--format=%an <%ae>").strip() == (
        "Ana Lima <ana@example.com>"
    )


def test_set_changes_fields_lists_and_metadata_with_a_readable_message(
    tracker_repo: Path,
) -> None:
    item = new("task", "A", "--label", "a", "--label", "b")
    result = run(
        [
            "set",
            item["id"][:8],
            "status=completed",
            "priority=1",
            "labels+=c",
            "labels-=a",
            "metadata.actual_hours=2.5",
            "--format",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["record"]["labels"] == ["b", "c"]
    assert data["record"]["metadata"] == {"actual_hours": 2.5}
    assert git(tracker_repo, "log", "-1", "--format=%s").strip() == (
        f"tracker: {item['id']} status active -> completed, priority 3 -> 1, "
        "labels [a, b] -> [b, c], metadata.actual_hours (none) -> 2.5"
    )


def test_invalid_change_writes_nothing_and_names_file_and_field(tracker_repo: Path) -> None:
    item = new("task", "A")
    before, text = head(tracker_repo), item_file(tracker_repo, item["id"]).read_text()
    result = run(["set", item["id"], "status=done"])
    assert result.exit_code == 1
    assert f".tracker/items/{item['id']}.yaml: status: 'done' is not one of" in result.output
    assert head(tracker_repo) == before
    assert item_file(tracker_repo, item["id"]).read_text() == text


def test_stale_version_is_a_conflict_with_who_and_when(tracker_repo: Path) -> None:
    item = new("task", "A")
    seen = item["version"]
    run(["set", item["id"], "priority=1", "--as", "bob"])
    current = head(tracker_repo)
    result = run(["set", item["id"], "priority=5", "--if-version", seen, "--format", "json"])
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["error"] == "conflict"
    assert (data["expected_version"], data["current_version"]) == (seen, current)
    assert data["changed_by"] == "bob" and data["changed_at"]
    assert head(tracker_repo) == current
    text = run(["set", item["id"], "priority=5", "--if-version", seen])
    assert f"conflict: {item['id']} changed since {seen}: now {current} by bob at" in text.output
    assert run(["set", item["id"], "priority=5", "--if-version", current]).exit_code == 0


def test_version_of_an_untouched_record_survives_other_commits(tracker_repo: Path) -> None:
    first, second = new("task", "A"), new("task", "B")
    assert run(["set", second["id"], "priority=1"]).exit_code == 0
    ok = run(["set", first["id"], "priority=2", "--if-version", first["version"]])
    assert ok.exit_code == 0, ok.output


def test_uncommitted_edits_are_refused_unless_forced(tracker_repo: Path) -> None:
    item = new("task", "A")
    path = item_file(tracker_repo, item["id"])
    path.write_text(path.read_text() + "assignee: me\n")
    before = head(tracker_repo)
    refused = run(["close", item["id"]])
    assert refused.exit_code == 3
    assert "uncommitted local edits" in refused.output
    assert head(tracker_repo) == before
    assert path.read_text().endswith("assignee: me\n")
    forced = run(["close", item["id"], "--force"])
    assert forced.exit_code == 0, forced.output
    committed = git(tracker_repo, "show", f"HEAD:.tracker/items/{item['id']}.yaml")
    assert "assignee: me" in committed and "status: completed" in committed
    assert git(tracker_repo, "status", "--porcelain") == ""


def test_unrelated_staged_and_modified_files_are_left_alone(tracker_repo: Path) -> None:
    item = new("task", "A")
    (tracker_repo / "staged.txt").write_text("staged\n")
    git(tracker_repo, "add", "staged.txt")
    (tracker_repo / "notes.txt").write_text("v1\n")
    git(tracker_repo, "add", "notes.txt")
    git(tracker_repo, "commit", "-q", "-m", "notes")
    (tracker_repo / "notes.txt").write_text("v2, not staged\n")
    (tracker_repo / "staged.txt").write_text("staged\n")
    (tracker_repo / "new.txt").write_text("staged later\n")
    git(tracker_repo, "add", "new.txt")
    status_before = git(tracker_repo, "status", "--porcelain")
    assert run(["close", item["id"]]).exit_code == 0
    assert git(tracker_repo, "status", "--porcelain") == status_before
    assert git(tracker_repo, "show", "HEAD", "--name-only", "--format=").split() == [
        f".tracker/items/{item['id']}.yaml"
    ]
    assert (tracker_repo / "notes.txt").read_text() == "v2, not staged\n"


def test_moves_that_would_cycle_or_exceed_depth_are_refused(tracker_repo: Path) -> None:
    chain = [new("project", "P", "--meta", "description=d")]
    for depth in range(1, 6):
        chain.append(new("task", f"level {depth}", "--parent", chain[-1]["id"]))
    too_deep = run(["new", "task", "level 6", "--parent", chain[-1]["id"]])
    assert too_deep.exit_code == 1
    assert "depth 6 would exceed the maximum depth of 5" in too_deep.output
    cycle = run(["move", chain[1]["id"], "--parent", chain[3]["id"]])
    assert cycle.exit_code == 1
    assert "parent chain would form a cycle" in cycle.output
    other = new("project", "Q", "--meta", "description=d")
    subtree = run(["move", chain[1]["id"], "--parent", chain[0]["id"]])
    assert subtree.exit_code == 0  # same place: nothing moves
    deeper = new("task", "under Q", "--parent", other["id"])
    fits = run(["move", chain[2]["id"], "--parent", deeper["id"]])  # 2 + its 3 levels = 5
    assert fits.exit_code == 0, fits.output
    deepest = new("task", "under under Q", "--parent", deeper["id"])
    refused = run(["move", chain[2]["id"], "--parent", deepest["id"]])
    assert refused.exit_code == 1
    assert "its subtree is 3 levels deep" in refused.output
    assert run(["move", chain[5]["id"], "--root"]).exit_code == 0


def test_dependency_cycles_and_missing_targets_are_refused(tracker_repo: Path) -> None:
    a, b, c = new("task", "A"), new("task", "B"), new("task", "C")
    assert run(["dep", "add", a["id"], "--on", b["id"]]).exit_code == 0
    assert run(["dep", "add", b["id"], "--on", c["id"]]).exit_code == 0
    cycle = run(["dep", "add", c["id"], "--on", a["id"]])
    assert cycle.exit_code == 1
    assert f"dependencies would form a cycle: {c['id']} -> {a['id']} -> {b['id']} -> " in (
        cycle.output
    )
    assert run(["dep", "add", a["id"], "--on", "TRK-zzzzzz"]).exit_code == 2
    assert run(["dep", "rm", a["id"], "--on", b["id"]]).exit_code == 0
    assert "depends_on" not in item_file(tracker_repo, a["id"]).read_text()


def test_delete_restore_and_history(tracker_repo: Path) -> None:
    item = new("task", "A")
    run(["set", item["id"], "status=blocked", "--as", "ana"])
    run(["delete", item["id"]])
    assert "deleted_at:" in item_file(tracker_repo, item["id"]).read_text()
    run(["restore", item["id"]])
    assert "deleted_at" not in item_file(tracker_repo, item["id"]).read_text()
    result = run(["history", item["id"], "--format", "json"])
    versions = json.loads(result.output)["versions"]
    assert [v["event"] for v in versions] == ["changed", "changed", "changed", "created"]
    assert versions[2]["author"] == "ana"
    assert {"field": "status", "old": "active", "new": "blocked"} in versions[2]["changes"]
    assert [c["field"] for c in versions[1]["changes"]] == ["deleted_at"]
    table = run(["history", item["id"]]).output
    assert "status: active -> blocked" in table


def test_vendor_deployment_enhancement_and_config_writes(tracker_repo: Path) -> None:
    made = run(
        [
            "vendor",
            "new",
            "acme",
            "--extractor-version",
            "1.2.0",
            "--supports",
            "pdf",
            "--passing",
            "5",
            "--total",
            "6",
        ]
    )
    assert made.exit_code == 0, made.output
    over = run(["vendor", "set", "acme", "test_results.passing=7"])
    assert over.exit_code == 1
    assert "test_results: passing (7) exceeds total (6)" in over.output
    assert run(["vendor", "set", "ACME", "status=broken"]).exit_code == 0
    assert run(["vendor", "new", "Acme", "--extractor-version", "1"]).exit_code == 3
    item = new("task", "Ship")
    deployed = run(
        [
            "deploy",
            "record",
            "--pr",
            "12",
            "--title",
            "Ship it",
            "--vendor",
            "acme",
            "--item",
            item["id"],
            "--tests",
            "unit=5",
            "--format",
            "json",
        ]
    )
    assert deployed.exit_code == 0, deployed.output
    record = json.loads(deployed.output)["record"]
    assert record["commit"] == item["version"] and record["branch"] == "main"
    assert record["test_summary"] == {"unit": 5} and record["vendors"] == ["acme"]
    assert run(["deploy", "record", "--pr", "1", "--title", "x", "--vendor", "nope"]).exit_code == 2
    enhancement = run(["enhancement", "new", "Faster", "--quarter", "2027-Q1", "--format", "json"])
    enhancement_id = json.loads(enhancement.output)["id"]
    bad = run(["enhancement", "set", enhancement_id, "target_quarter=2027-Q5"])
    assert bad.exit_code == 1
    assert run(["enhancement", "set", enhancement_id, "status=approved"]).exit_code == 0
    session = new("session", "S")
    assert run(["config", "set", f"project.current_session={session['id']}"]).exit_code == 0
    wrong = run(["config", "set", f"project.current_session={item['id']}"])
    assert wrong.exit_code == 1
    assert "is a task, not a session" in wrong.output
    config = (tracker_repo / ".tracker" / "tracker.yaml").read_text()
    assert f"current_session: {session['id']}" in config
    assert "# Token budget of new sessions" in config  # the template's comments survive
    assert run(["validate"]).exit_code == 0
    assert git(tracker_repo, "status", "--porcelain") == ""


def test_show_reports_version_and_dirty(tracker_repo: Path) -> None:
    item = new("task", "A")
    shown = json.loads(run(["show", item["id"], "--format", "json"]).output)
    assert (shown["version"], shown["dirty"]) == (item["version"], False)
    path = item_file(tracker_repo, item["id"])
    path.write_text(path.read_text().replace("title: A", "title: B"))
    shown = json.loads(run(["show", item["id"], "--format", "json"]).output)
    assert shown["dirty"] is True


def test_first_write_in_a_repository_without_commits(repo: Path) -> None:
    assert run(["init"]).exit_code == 0
    created = new("task", "first")
    assert created["version"] == head(repo)


def test_ambiguous_prefix_lists_candidates(tracker_repo: Path) -> None:
    ids = [new("task", f"T{i}")["id"] for i in range(40)]
    common = next(
        a[: len("TRK-") + 1]
        for a in ids
        if sum(b.startswith(a[: len("TRK-") + 1]) for b in ids) > 1
    )
    result = run_process(["close", common], cwd=tracker_repo)
    assert result.returncode == 1
    assert f"'{common}' is ambiguous: matches" in result.stderr


def test_a_staged_edit_is_refused_even_when_the_working_file_matches_head(
    tracker_repo: Path,
) -> None:
    item = new("task", "A")
    other = new("task", "B")
    assert run(["set", other["id"], "priority=1"]).exit_code == 0  # this process knows the index
    path = item_file(tracker_repo, item["id"])
    committed = path.read_text()
    path.write_text(committed.replace("title: A", "title: staged title"))
    git(tracker_repo, "add", str(path))
    path.write_text(committed)  # the working file is back to HEAD; the index is not
    refused = run(["set", item["id"], "priority=2"])
    assert refused.exit_code == 3
    assert "uncommitted local edits" in refused.output
    staged = git(tracker_repo, "show", f":.tracker/items/{item['id']}.yaml")
    assert "title: staged title" in staged
