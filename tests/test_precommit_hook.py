"""The `tracker-validate` hook of .pre-commit-hooks.yaml, run by the real pre-commit framework.

A snapshot of this project is committed to a throwaway git repository, the way a
user would reference a tagged release; a second throwaway repository plays the
user's repository: it has a tracker (`tracker init`), a .pre-commit-config.yaml
pointing at the snapshot, and `pre-commit install`ed hooks. Then plain
`git commit` must accept valid tracker files and refuse invalid ones, naming
`path:line: field`.

pre-commit builds the hook's environment (a virtualenv with the snapshot pip-installed
from the package index) once per test session, in a session-scoped PRE_COMMIT_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
# What pip needs to build and install the project; nothing else goes into the snapshot.
SNAPSHOT_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml")
SNAPSHOT_PACKAGE = "tracker"
SNAPSHOT_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info")

IDENTITY = {
    "GIT_AUTHOR_NAME": "Tracker Tests",
    "GIT_AUTHOR_EMAIL": "tests@tracker.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "Tracker Tests",
    "GIT_COMMITTER_EMAIL": "tests@tracker.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
}
# Variables from the caller that would change what git, pre-commit or tracker do here.
DROPPED_PREFIXES = ("GIT_", "PRE_COMMIT")
DROPPED = {"SKIP", "TRACKER_ROOT"}

# Slow the first time: pre-commit clones the snapshot and pip-installs it.
TIMEOUT = 900

ITEM_ID = "TRK-a1b2c3"
ITEM_PATH = f".tracker/items/{ITEM_ID}.yaml"


def work_item(item_id: str = ITEM_ID, status: str = "active", parent: str | None = None) -> str:
    lines = [
        f"id: {item_id}",
        "type: task",
        "title: Write the parser",
        f"status: {status}",  # line 4
        "priority: 2",
        *([f"parent: {parent}"] if parent else []),  # line 6 when present
        "created_at: 2026-11-20T10:00:00Z",
    ]
    return "\n".join(lines) + "\n"


def run(
    args: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command, stdout and stderr together; on an unexpected failure, show its output."""
    done = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
    )
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}")
    return done


@pytest.fixture(scope="session")
def hook_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment for git and pre-commit: pinned identity, no user or system git config."""
    base = tmp_path_factory.mktemp("pre-commit-env")
    global_config = base / "gitconfig"
    global_config.write_text("")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(DROPPED_PREFIXES) and name not in DROPPED
    }
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, *filter(None, [env.get("PATH")])])
    env.update(IDENTITY)
    env["GIT_CONFIG_GLOBAL"] = str(global_config)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["PRE_COMMIT_HOME"] = str(base / "home")  # hook environments, built once a session
    env["PRE_COMMIT_COLOR"] = "never"
    return env


@pytest.fixture(scope="session")
def hook_repo(
    tmp_path_factory: pytest.TempPathFactory, hook_env: dict[str, str]
) -> tuple[Path, str]:
    """A git repository holding a snapshot of this project: (its path, its HEAD sha)."""
    repo = tmp_path_factory.mktemp("tracker-hook-repo")
    for name in SNAPSHOT_FILES:
        shutil.copy2(PROJECT / name, repo / name)
    shutil.copytree(PROJECT / SNAPSHOT_PACKAGE, repo / SNAPSHOT_PACKAGE, ignore=SNAPSHOT_IGNORE)
    run(["git", "init", "-q", "-b", "main"], repo, hook_env)
    run(["git", "add", "-A"], repo, hook_env)
    run(["git", "commit", "-q", "--no-verify", "-m", "snapshot"], repo, hook_env)
    sha = run(["git", "rev-parse", "HEAD"], repo, hook_env).stdout.strip()
    return repo, sha


class UserRepo:
    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["git", *args], self.path, self.env, check=check)

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(self, message: str) -> subprocess.CompletedProcess[str]:
        """A plain `git commit`: the installed pre-commit hook decides."""
        return self.git("commit", "-m", message, check=False)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def committed(self, relative: str) -> bool:
        return self.git("cat-file", "-e", f"HEAD:{relative}", check=False).returncode == 0


@pytest.fixture
def user_repo(
    tmp_path: Path, hook_env: dict[str, str], hook_repo: tuple[Path, str]
) -> Iterator[UserRepo]:
    """The user's repository: a fresh tracker, the hook installed, all of it committed."""
    hook_path, hook_sha = hook_repo
    repo = UserRepo(tmp_path / "user-repo", hook_env)
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    run([sys.executable, "-m", "tracker", "init"], repo.path, hook_env)
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n"
        f"  - repo: {hook_path.as_posix()}\n"
        f"    rev: {hook_sha}\n"
        "    hooks:\n"
        "      - id: tracker-validate\n",
    )
    run([sys.executable, "-m", "pre_commit", "install"], repo.path, hook_env)
    repo.git("add", "-A")
    first = repo.commit("Start a tracker")  # runs the hook on tracker.yaml & co: they are valid
    assert first.returncode == 0, first.stdout
    assert "tracker validate" in first.stdout and "Passed" in first.stdout, first.stdout
    yield repo


def assert_refused(repo: UserRepo, done: subprocess.CompletedProcess[str], before: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "- hook id: tracker-validate" in done.stdout, done.stdout
    assert "- exit code: 1" in done.stdout, done.stdout
    assert repo.head() == before, "the refused commit was made anyway"


def test_the_manifest_is_valid_for_pre_commit(hook_env: dict[str, str]) -> None:
    run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        PROJECT,
        hook_env,
    )


def test_a_valid_item_is_committed(user_repo: UserRepo) -> None:
    user_repo.write(ITEM_PATH, work_item())
    user_repo.git("add", ITEM_PATH)

    done = user_repo.commit("Add a task")

    assert done.returncode == 0, done.stdout
    assert "tracker validate" in done.stdout and "Passed" in done.stdout, done.stdout
    assert user_repo.committed(ITEM_PATH)


def test_an_invalid_item_is_refused_naming_file_line_and_field(user_repo: UserRepo) -> None:
    before = user_repo.head()
    user_repo.write(ITEM_PATH, work_item(status="done"))
    user_repo.git("add", ITEM_PATH)

    done = user_repo.commit("Add a task")

    assert_refused(user_repo, done, before)
    assert f"{ITEM_PATH}:4: status: 'done' is not one of" in done.stdout, done.stdout
    assert not user_repo.committed(ITEM_PATH)


def test_a_bad_edit_of_a_committed_item_is_refused(user_repo: UserRepo) -> None:
    user_repo.write(ITEM_PATH, work_item())
    user_repo.git("add", ITEM_PATH)
    assert user_repo.commit("Add a task").returncode == 0
    before = user_repo.head()
    user_repo.write(ITEM_PATH, work_item(status="done"))
    user_repo.git("add", ITEM_PATH)

    done = user_repo.commit("Finish the task")

    assert_refused(user_repo, done, before)
    assert f"{ITEM_PATH}:4: status:" in done.stdout, done.stdout


def test_what_is_checked_is_what_is_staged(user_repo: UserRepo) -> None:
    """A fix left unstaged does not rescue a bad staged file: the commit would hold the bad one."""
    before = user_repo.head()
    user_repo.write(ITEM_PATH, work_item(status="done"))
    user_repo.git("add", ITEM_PATH)
    user_repo.write(ITEM_PATH, work_item())  # fixed in the working tree only

    done = user_repo.commit("Add a task")

    assert_refused(user_repo, done, before)
    assert f"{ITEM_PATH}:4: status:" in done.stdout, done.stdout
    # pre-commit put the unstaged fix back
    assert (user_repo.path / ITEM_PATH).read_text(encoding="utf-8") == work_item()


def test_an_item_whose_parent_does_not_exist_is_refused(user_repo: UserRepo) -> None:
    parent_id = "TRK-ffffff"
    before = user_repo.head()
    user_repo.write(ITEM_PATH, work_item(parent=parent_id))
    user_repo.git("add", ITEM_PATH)

    done = user_repo.commit("Add a subtask")

    assert_refused(user_repo, done, before)
    assert f"{ITEM_PATH}:6: parent: no item '{parent_id}' exists" in done.stdout, done.stdout

    # Once the parent is committed too, the same child passes: the check sees the whole tracker,
    # not only the files in the commit.
    user_repo.git("reset", "-q")
    parent_path = f".tracker/items/{parent_id}.yaml"
    user_repo.write(parent_path, work_item(item_id=parent_id))
    user_repo.git("add", parent_path)
    assert user_repo.commit("Add the parent").returncode == 0
    user_repo.git("add", ITEM_PATH)

    done = user_repo.commit("Add a subtask")

    assert done.returncode == 0, done.stdout
    assert user_repo.committed(ITEM_PATH)


def test_deleting_an_item_others_point_at_is_refused(user_repo: UserRepo) -> None:
    parent_id = "TRK-ffffff"
    parent_path = f".tracker/items/{parent_id}.yaml"
    user_repo.write(parent_path, work_item(item_id=parent_id))
    user_repo.write(ITEM_PATH, work_item(parent=parent_id))
    user_repo.git("add", "-A")
    assert user_repo.commit("Parent and child").returncode == 0
    before = user_repo.head()
    user_repo.git("rm", "-q", parent_path)

    done = user_repo.commit("Drop the parent")

    assert_refused(user_repo, done, before)
    assert f"{ITEM_PATH}:6: parent: no item '{parent_id}' exists" in done.stdout, done.stdout


def test_commits_without_tracker_changes_pass(user_repo: UserRepo) -> None:
    user_repo.write("notes/items/TRK-a1b2c3.yaml", "status: done\n")  # not under .tracker/
    user_repo.git("add", "-A")

    done = user_repo.commit("Unrelated YAML")

    assert done.returncode == 0, done.stdout
    assert "tracker validate" in done.stdout and "Passed" in done.stdout, done.stdout
