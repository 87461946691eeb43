"""Whether HEAD may have moved, from the stat data of the files that decide it.

A warm process asks before every query. Resolving HEAD through libgit2 costs ~30-60 µs;
three stat calls cost a few. Git (and libgit2) update HEAD and refs by renaming a new
lock file into place, so a changed ref always comes with a new inode: the stat data
cannot stay equal across an update, even within one tick of the file system's clock.
"""

from __future__ import annotations

import os
from pathlib import Path

StatKey = tuple[int, int, int, int] | None  # inode, device, size, mtime_ns; None: missing


def _key(path: str | Path) -> StatKey:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns


def common_dir(git_dir: Path) -> Path:
    """Where the refs are: a linked worktree's git directory names the main one's."""
    try:
        pointer = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return git_dir
    return (git_dir / pointer).resolve()


class HeadWatch:
    """Remembers the stat data of HEAD, the ref it names and packed-refs."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.common = common_dir(git_dir)
        self._seen: tuple[StatKey, ...] | None = None
        # str paths: stat-ed on every query
        self._head_file = os.fspath(git_dir / "HEAD")
        self._packed_refs = os.fspath(self.common / "packed-refs")
        # HEAD's stat, the ref it names (its path, and its name below refs/)
        self._head: tuple[StatKey, Path | None, str | None] = (None, None, None)

    def _read_head(self) -> StatKey:
        """HEAD's stat data, its content read again only when they changed."""
        head_key = _key(self._head_file)
        if head_key is None or head_key != self._head[0]:
            try:
                text = Path(self._head_file).read_text(encoding="utf-8").strip()
            except OSError:
                text = ""
            named = text[5:] if text.startswith("ref: refs/") else None
            self._head = (head_key, None if named is None else self.common / named, named)
        return head_key

    def _signature(self) -> tuple[StatKey, ...]:
        head_key = self._read_head()
        ref = self._head[1]
        return head_key, _key(self._packed_refs), None if ref is None else _key(ref)

    def branch(self) -> str | None:
        """The branch checked out (None: detached), from one stat of HEAD when it did not
        change (a checkout replaces the file: a new inode)."""
        self._read_head()
        named = self._head[2]
        return named[len("refs/heads/") :] if named and named.startswith("refs/heads/") else None

    def unchanged(self) -> bool:
        """Whether nothing that decides HEAD changed since the last `remember()`."""
        return self._seen is not None and self._signature() == self._seen

    def remember(self) -> None:
        self._seen = self._signature()
