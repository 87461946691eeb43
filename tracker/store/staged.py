"""The tracker files as they are staged in git's index: what the next commit will hold."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

from tracker.errors import TrackerError
from tracker.store.tree import is_record_path


def _git(args: list[str], cwd: Path, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True, check=True)
    except FileNotFoundError as exc:
        raise TrackerError("git is not installed or not on PATH") from exc
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip()
        raise TrackerError(f"git {' '.join(args[:2])} failed: {message}") from exc
    return done.stdout


def repository_top(path: Path) -> Path:
    return Path(_git(["rev-parse", "--show-toplevel"], path).decode().strip())


def git_path(path: Path, name: str) -> Path:
    """A path inside the git directory (hooks, info/attributes, ...), worktree-aware."""
    return (path / _git(["rev-parse", "--git-path", name], path).decode().strip()).resolve()


def iter_staged_files(root: Path) -> Iterator[tuple[str, Path, bytes]]:
    """(path relative to root, absolute path, staged content) of every staged tracker file."""
    top = repository_top(root)
    listing = _git(["ls-files", "-z", "--stage", "--", str(root)], top)
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, name = record.split(b"\t", 1)
        mode, sha, _stage = meta.split(b" ")
        if mode.startswith(b"160"):  # a submodule, not a file
            continue
        entries.append((top / name.decode(), sha))
    if not entries:
        return
    batch = _git(["cat-file", "--batch"], top, b"".join(sha + b"\n" for _, sha in entries))
    offset = 0
    for absolute, _ in entries:
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split(b" ")[2])
        content = batch[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1
        relative = absolute.relative_to(root).as_posix()
        if is_record_path(relative):
            yield relative, absolute, content
