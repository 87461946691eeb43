"""Helpers shared by benchmark families: writable clones, git identity, the installed CLI."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import CACHE_DIR, PROJECT_DIR

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}

CLI_VENV = CACHE_DIR / "cli-venv"
_installed: str | None = None


# From this size on, repositories are laid out as the README advises for large trackers:
# fanned-out items folder, git's split index.
LARGE = 100_000


@contextmanager
def scratch_clone(source: Path, size: int, label: str) -> Iterator[Path]:
    """A writable clone of `source` (a repository of `size` items) in a temporary folder,
    removed afterwards; how long cloning took goes to stderr."""
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as scratch:
        started = time.perf_counter()
        repo = clone(source, Path(scratch) / "repo", split_index=size >= LARGE)
        print(
            f"  {label}: cloned {size:,} items in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        yield repo


def clone(source: Path, target: Path, split_index: bool) -> Path:
    """A writable copy: a local clone shares objects, so even 100k items copy in seconds.

    Large trackers are set up as the README advises: git's split index, so that updating
    one entry of a 100,000-entry index writes kilobytes, not 10 MB.
    """
    subprocess.run(["git", "clone", "-q", "--local", str(source), str(target)], check=True)
    if split_index:
        subprocess.run(["git", "config", "core.splitIndex", "true"], cwd=target, check=True)
        subprocess.run(["git", "update-index", "--split-index"], cwd=target, check=True)
    return target


def tracker_executable() -> str:
    """`tracker` as users install it: a regular (not editable) install of this checkout in a
    venv of its own, so start-up is measured without the editable-install import hook.

    Installed (or refreshed with the current code) once per benchmark run."""
    global _installed
    if _installed is not None:
        return _installed
    python = CLI_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CLI_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(PROJECT_DIR)], check=True)
    else:  # the current code; dependencies added since are installed first
        with open(PROJECT_DIR / "pyproject.toml", "rb") as handle:
            dependencies = tomllib.load(handle)["project"]["dependencies"]
        subprocess.run([str(python), "-m", "pip", "install", "-q", *dependencies], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--force-reinstall",
                "--no-deps",
                str(PROJECT_DIR),
            ],
            check=True,
        )
    _installed = str(CLI_VENV / "bin" / "tracker")
    return _installed


def cli_python() -> str:
    """The interpreter of the installed CLI's venv (after `tracker_executable()`)."""
    return str(CLI_VENV / "bin" / "python")
