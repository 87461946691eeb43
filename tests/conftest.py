"""Shared fixtures: real git repositories in temp directories with a pinned author."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tracker.cli.main import cli

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


@pytest.fixture(autouse=True)
def _pinned_git_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    # Never read the developer's own git configuration or home directory.
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("TRACKER_ROOT", raising=False)
    monkeypatch.delenv("TRACKER_ACTOR", raising=False)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty git repository, also the current directory."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    monkeypatch.chdir(path)
    yield path


@pytest.fixture
def tracker_repo(repo: Path) -> Path:
    """A git repository with an initialised, committed tracker."""
    result = run(["init"])
    assert result.exit_code == 0, result.output
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init tracker")
    return repo


def run(args: list[str], input: str | None = None) -> Result:
    """Run the CLI in-process (fast); exit codes and output as a user would see them."""
    return CliRunner().invoke(cli, args, input=input, catch_exceptions=False)


def cli_json(*args: str) -> dict[str, Any]:
    """One in-process CLI call with --format json; it must succeed."""
    result = run([*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def new_item(*args: str) -> str:
    """`tracker new ARGS`, in-process; the new item's id."""
    item_id: str = cli_json("new", *args)["id"]
    return item_id


def run_process(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a separate process, exactly as a user or a hook would."""
    env = {**os.environ, **GIT_IDENTITY}
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        **kwargs,  # type: ignore[call-overload]
    )


# -- a team index (PostgreSQL) -----------------------------------------------------------

PG_SERVER = "host=127.0.0.1 port=5432 user=postgres"


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """The DSN of a database of its own for this test session on the local PostgreSQL,
    dropped at the end. No server: a skip on a developer's machine, a failure in CI."""
    import secrets

    import psycopg

    admin: psycopg.Connection[Any] | None = None
    try:
        admin = psycopg.connect(f"{PG_SERVER} dbname=postgres", connect_timeout=3, autocommit=True)
    except psycopg.Error as exc:
        reason = f"no PostgreSQL at {PG_SERVER}: {str(exc).strip().splitlines()[0]}"
    if admin is None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    name = f"tracker_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin.execute(f"CREATE DATABASE {name}")
        yield f"{PG_SERVER} dbname={name}"
    finally:
        # FORCE: connections still open (a process's cached one, a watcher's) are ended
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
