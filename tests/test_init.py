from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import git, run, run_process


def test_init_creates_a_valid_commented_tracker(repo: Path) -> None:
    result = run(["init"])
    assert result.exit_code == 0, result.output
    config = (repo / ".tracker" / "tracker.yaml").read_text()
    assert config.startswith("# yaml-language-server: $schema=schema/tracker.schema.json\n")
    assert "# Prefix of new work-item ids" in config
    for folder in ("items", "vendors", "deployments", "enhancements", "archive/items"):
        assert (repo / ".tracker" / folder).is_dir()
    assert (repo / ".tracker" / "schema" / "work-item.schema.json").is_file()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()  # only when asked
    assert run(["validate"]).exit_code == 0


def test_init_never_overwrites_files_or_an_existing_hook(repo: Path) -> None:
    root = repo / ".tracker"
    root.mkdir()
    (root / "tracker.yaml").write_text("id_prefix: ABC\n")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    result = run(["init", "--hook"])
    assert result.exit_code == 0, result.output
    assert "kept     .tracker/tracker.yaml" in result.output
    assert "kept     .git/hooks/pre-commit" in result.output
    assert (root / "tracker.yaml").read_text() == "id_prefix: ABC\n"
    assert hook.read_text() == "#!/bin/sh\necho mine\n"


def test_installed_hook_refuses_a_bad_item_at_commit(repo: Path) -> None:
    assert run(["init", "--hook", "--prefix", "ABC"]).exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    item = repo / ".tracker" / "items" / "ABC-123456.yaml"
    item.write_text(
        "id: ABC-123456\ntype: task\ntitle: t\nstatus: done\ncreated_at: 2026-01-01T00:00:00Z\n"
    )
    git(repo, "add", "-A")
    commit = subprocess.run(
        ["git", "commit", "-m", "bad"], cwd=repo, capture_output=True, text=True
    )
    assert commit.returncode != 0
    assert (
        ".tracker/items/ABC-123456.yaml:4: status: 'done' is not one of"
        in commit.stdout + commit.stderr
    )
    item.write_text(item.read_text().replace("done", "completed"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "good")


def test_python_dash_m_works(repo: Path) -> None:
    done = run_process(["--help"], cwd=repo)
    assert done.returncode == 0
    assert "validate" in done.stdout


def test_outside_a_tracker_is_a_clear_error(repo: Path) -> None:
    done = run_process(["validate"], cwd=repo)
    assert done.returncode == 2
    assert "no tracker found" in done.stderr
    assert "Traceback" not in done.stderr
