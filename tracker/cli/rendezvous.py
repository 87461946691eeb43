"""Where a repository's command server listens. Standard library only: the launcher imports it."""

from __future__ import annotations

import os
import zlib


def find_git_dir(start: str) -> str | None:
    """The repository's git directory for `start` (worktrees: their own), found by walking up."""
    current = os.path.abspath(start)
    while True:
        candidate = os.path.join(current, ".git")
        if os.path.isdir(candidate):
            return candidate
        if os.path.isfile(candidate):  # a linked worktree or submodule: "gitdir: <path>"
            with open(candidate, encoding="utf-8") as handle:
                line = handle.readline().strip()
            if line.startswith("gitdir:"):
                return os.path.normpath(os.path.join(current, line[7:].strip()))
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def socket_path(git_dir: str) -> str:
    """A short path (sockets are limited to ~100 bytes) unique to the repository and user."""
    # zlib rather than hashlib: it imports in a fraction of the time, and this runs per command
    key = os.path.realpath(git_dir).encode()
    digest = f"{zlib.crc32(key):08x}{zlib.adler32(key):08x}"
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/tracker-{os.getuid()}"
    return os.path.join(base, f"tracker-{digest}.sock")
