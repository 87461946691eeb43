"""git's own line-by-line three-way merge of one file, for what a field merge cannot read."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tracker.errors import TrackerError


def line_merge(ours: Path, base: Path, theirs: Path) -> int:
    """`git merge-file`: the result replaces `ours`; returns the number of conflicts (≤ 127)."""
    args = ["merge-file", "-L", "ours", "-L", "base", "-L", "theirs"]
    try:
        done = subprocess.run(
            ["git", *args, str(ours), str(base), str(theirs)], capture_output=True, text=True
        )
    except FileNotFoundError as exc:
        raise TrackerError("git is not installed or not on PATH") from exc
    if not 0 <= done.returncode <= 127:  # git merge-file exits negative on error
        raise TrackerError(f"git merge-file failed: {done.stderr.strip()}")
    return done.returncode
