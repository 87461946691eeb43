"""The committed example tracker (.tracker-example/): valid, reproducible, and a good test bed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / ".tracker-example"
SCRIPT = REPO / "scripts" / "make_example.py"

BROKEN_ITEM = "TRK-cce950"  # an active leaf task: nothing else points at it
BROKEN_VENDOR = "silverline-advisors"  # no deployment names it

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Example Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2026-03-20T12:00:00Z",
    "GIT_COMMITTER_NAME": "Example Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_COMMITTER_DATE": "2026-03-20T12:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def run_tracker(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "TRACKER_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def files_under(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def line_of(text: str, line: str) -> int:
    """The 1-based number of the one line of `text` that equals `line`."""
    numbers = [number for number, found in enumerate(text.split("\n"), 1) if found == line]
    assert len(numbers) == 1, f"expected exactly one line {line!r}, found {numbers}"
    return numbers[0]


def test_example_validates() -> None:
    result = run_tracker("validate", ".tracker-example", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("no problems"), result.stdout


def test_example_has_the_seed_scale() -> None:
    assert len(list((EXAMPLE / "items").glob("*.yaml"))) == 50
    assert len(list((EXAMPLE / "archive" / "items").glob("*.yaml"))) == 2
    vendors = list((EXAMPLE / "vendors").glob("*.yaml"))
    assert len(vendors) == 45
    broken = [path for path in vendors if "\nstatus: broken\n" in path.read_text("utf-8")]
    assert len(broken) == 15
    assert len(list((EXAMPLE / "deployments").glob("DEP-*.yaml"))) == 10
    assert len(list((EXAMPLE / "enhancements").glob("ENH-*.yaml"))) == 8


def test_script_regenerates_the_committed_files(tmp_path: Path) -> None:
    target = tmp_path / "example"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected, produced = files_under(EXAMPLE), files_under(target)
    assert sorted(produced) == sorted(expected), "the script writes a different set of files"
    differing = [name for name in expected if produced[name] != expected[name]]
    assert not differing, f"regenerated files differ (rerun {SCRIPT.name}): {differing}"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose committed .tracker/ is a copy of the example."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(EXAMPLE, repo / ".tracker")
    env = {**os.environ, **GIT_ENV}
    for command in (
        ["git", "init", "--quiet", "--initial-branch=main"],
        ["git", "add", "--all"],
        ["git", "commit", "--quiet", "--no-gpg-sign", "--message", "Example tracker"],
    ):
        subprocess.run(command, cwd=repo, env=env, check=True, capture_output=True, timeout=60)
    return repo


def test_invalid_item_status_is_reported_with_path_and_line(repo: Path) -> None:
    path = repo / ".tracker" / "items" / f"{BROKEN_ITEM}.yaml"
    text = path.read_text("utf-8")
    assert text.count("\nstatus: active\n") == 1
    broken = text.replace("\nstatus: active\n", "\nstatus: done\n")
    path.write_text(broken, "utf-8")

    result = run_tracker("validate", cwd=repo)

    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(broken, "status: done")
    expected = f".tracker/items/{BROKEN_ITEM}.yaml:{line}: status: 'done' is not one of"
    assert expected in result.stdout, result.stdout
    assert "1 problem" in result.stdout.splitlines()[-1], result.stdout


def test_invalid_vendor_test_counts_are_reported_with_path_and_line(repo: Path) -> None:
    path = repo / ".tracker" / "vendors" / f"{BROKEN_VENDOR}.yaml"
    text = path.read_text("utf-8")
    total_match = re.search(r"^  total: (\d+)$", text, flags=re.MULTILINE)
    assert total_match is not None
    total = int(total_match.group(1))
    broken, replaced = re.subn(
        r"^  passing: \d+$", f"  passing: {total + 1}", text, flags=re.MULTILINE
    )
    assert replaced == 1
    path.write_text(broken, "utf-8")

    result = run_tracker("validate", cwd=repo)

    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(broken, "test_results:")
    expected = (
        f".tracker/vendors/{BROKEN_VENDOR}.yaml:{line}: test_results: "
        f"passing ({total + 1}) exceeds total ({total})"
    )
    assert expected in result.stdout, result.stdout
    assert "1 problem" in result.stdout.splitlines()[-1], result.stdout
