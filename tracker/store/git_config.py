"""The repository's local git configuration, read and written through `git config`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tracker.errors import TrackerError


def _config(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "config", "--local", *args], cwd=repo, capture_output=True, text=True
        )
    except FileNotFoundError as exc:
        raise TrackerError("git is not installed or not on PATH") from exc


def get_local(repo: Path, key: str) -> str | None:
    """The value of `key` in the repository's own config, None when unset."""
    done = _config(repo, "--get", key)
    if done.returncode == 1:  # git's "key not set"
        return None
    if done.returncode != 0:
        raise TrackerError(f"git config --get {key} failed: {done.stderr.strip()}")
    return done.stdout.rstrip("\n")


def set_local(repo: Path, key: str, value: str) -> str:
    """Set `key` in the repository's own config: "created", "kept" (same value) or "updated"."""
    current = get_local(repo, key)
    if current == value:
        return "kept"
    done = _config(repo, key, value)
    if done.returncode != 0:
        raise TrackerError(f"git config {key} failed: {done.stderr.strip()}")
    return "created" if current is None else "updated"
