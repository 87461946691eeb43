"""What changed: between two commits (skipping equal subtrees), in history, in the work tree."""

from __future__ import annotations

import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2

from tracker.store.git_repo import CommitInfo, GitStore
from tracker.store.tree import is_record_folder, is_record_path


@dataclass(frozen=True)
class BlobChange:
    path: str  # relative to the tracker root
    old: str | None  # blob id before (None: added)
    new: str | None  # blob id after (None: removed)


@dataclass(frozen=True)
class FileStat:
    path: str  # relative to the tracker root
    mtime_ns: int
    size: int


def tracker_tree(store: GitStore, commit: str | None) -> pygit2.Tree | None:
    """The tracker root's tree at a commit (None when absent)."""
    if commit is None:
        return None
    entry = store.entry_at(store.prefix, commit) if store.prefix != "." else None
    if store.prefix == ".":
        return store.tree_by_id(store.repo[commit].peel(pygit2.Commit).tree_id)
    if entry is None or entry.type_str != "tree":
        return None
    return store.tree_by_id(entry.id)


def diff_commits(store: GitStore, old: str | None, new: str | None) -> list[BlobChange]:
    """Record files that differ between two commits; subtrees with equal ids are skipped,
    so one changed item in a fanned-out 100,000-item tree costs a handful of lookups."""
    changes: list[BlobChange] = []
    _diff_trees(store, tracker_tree(store, old), tracker_tree(store, new), "", changes)
    return [c for c in changes if is_record_path(c.path)]


def _diff_trees(
    store: GitStore,
    old: pygit2.Tree | None,
    new: pygit2.Tree | None,
    base: str,
    out: list[BlobChange],
) -> None:
    if old is not None and new is not None and old.id == new.id:
        return
    old_entries = {e.name: e for e in old} if old is not None else {}
    new_entries = {e.name: e for e in new} if new is not None else {}
    for name in old_entries.keys() | new_entries.keys():
        before, after = old_entries.get(name), new_entries.get(name)
        if before is not None and after is not None and before.id == after.id:
            continue
        path = f"{base}{name}"
        before_tree = store.tree_by_id(before.id) if before and _is_tree(before) else None
        after_tree = store.tree_by_id(after.id) if after and _is_tree(after) else None
        if before_tree is not None or after_tree is not None:
            _diff_trees(store, before_tree, after_tree, path + "/", out)
        old_blob = str(before.id) if before and _is_blob(before) else None
        new_blob = str(after.id) if after and _is_blob(after) else None
        if old_blob != new_blob:
            out.append(BlobChange(path, old_blob, new_blob))


def _is_tree(entry: pygit2.Object | None) -> bool:
    return entry is not None and entry.type_str == "tree"


def _is_blob(entry: pygit2.Object | None) -> bool:
    return entry is not None and entry.type_str == "blob"


def tree_files(store: GitStore, commit: str | None) -> dict[str, str]:
    """Every record file of the tracker root at a commit: path -> blob id."""
    return {c.path: c.new for c in diff_commits(store, None, commit) if c.new is not None}


def is_ancestor(store: GitStore, ancestor: str, descendant: str) -> bool:
    try:
        return bool(store.repo.descendant_of(descendant, ancestor)) or ancestor == descendant
    except (KeyError, ValueError, pygit2.GitError):
        return False


def versions(
    store: GitStore, commit: str | None, wanted: set[str] | None = None, stop_at: str | None = None
) -> dict[str, CommitInfo]:
    """For record files, the newest commit (first-parent history from `commit`) that
    changed them: their version. Stops once every wanted path is found, or at `stop_at`."""
    found: dict[str, CommitInfo] = {}
    if commit is None:
        return found
    for current, changed in _first_parent_changes(store, commit, stop_at):
        info: CommitInfo | None = None
        for change in changed:
            if change.path in found or (wanted is not None and change.path not in wanted):
                continue
            if info is None:
                info = store.commit_info(current)
            found[change.path] = info
        if wanted is not None and wanted.issubset(found):
            break
    return found


def changed_paths(store: GitStore, commit: str, stop_at: str | None) -> set[str]:
    """Record files changed by the first-parent commits from `commit` down to `stop_at`
    (excluded)."""
    return {c.path for _, changed in _first_parent_changes(store, commit, stop_at) for c in changed}


def first_parent_meeting(store: GitStore, one: str, other: str) -> str | None:
    """The newest commit on both first-parent chains (where a reset, rebase or branch switch
    left the old line), or None for unrelated histories. Both chains are walked in step, so
    the cost is the distance to that commit, not the length of the history."""
    seen: tuple[set[str], set[str]] = (set(), set())
    heads: list[pygit2.Commit | None] = [
        store.repo[one].peel(pygit2.Commit),
        store.repo[other].peel(pygit2.Commit),
    ]
    while heads[0] is not None or heads[1] is not None:
        for side in (0, 1):
            current = heads[side]
            if current is None:
                continue
            sha = str(current.id)
            if sha in seen[1 - side]:
                return sha
            seen[side].add(sha)
            heads[side] = _first_parent(current)
    return None


def _first_parent(commit: pygit2.Commit) -> pygit2.Commit | None:
    try:
        return commit.parents[0] if commit.parents else None
    except KeyError:  # a parent beyond a shallow clone's boundary
        return None


def _first_parent_changes(
    store: GitStore, commit: str, stop_at: str | None
) -> Iterator[tuple[str, list[BlobChange]]]:
    current: pygit2.Commit | None = store.repo[commit].peel(pygit2.Commit)
    while current is not None:
        sha = str(current.id)
        if sha == stop_at:
            return
        parent = _first_parent(current)
        yield sha, diff_commits(store, str(parent.id) if parent is not None else None, sha)
        current = parent


def shallow_marker(store: GitStore) -> str:
    """Which commits a shallow clone stops at ("" when it is complete): fetching more
    history (`git fetch --deepen`, `--unshallow`) changes the versions without moving HEAD."""
    if not store.repo.is_shallow:
        return ""
    git_dir = Path(store.repo.path)
    try:
        pointer = git_dir / "commondir"  # a linked worktree: the list is the main one's
        common = (git_dir / pointer.read_text().strip()) if pointer.exists() else git_dir
        return f"{zlib.crc32((common / 'shallow').read_bytes()):08x}"
    except OSError:
        return "shallow"


def stat_files(root: Path, paths: Iterable[str]) -> dict[str, FileStat]:
    """The stat data of those of `paths` (relative to root) that exist as files."""
    found: dict[str, FileStat] = {}
    for relative in paths:
        try:
            info = os.stat(root / relative)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISREG(info.st_mode):
            found[relative] = FileStat(relative, info.st_mtime_ns, info.st_size)
    return found


def scan_work_tree(root: Path) -> dict[str, FileStat]:
    """Every record file under the tracker root in the work tree, with its stat data."""
    found: dict[str, FileStat] = {}
    for relative, absolute in _record_files(root):
        try:
            info = os.stat(absolute)
        except FileNotFoundError:
            continue
        found[relative] = FileStat(relative, info.st_mtime_ns, info.st_size)
    return found


def list_work_tree(root: Path) -> list[str]:
    """Every record file under the tracker root in the work tree (no stat calls: a rebuild
    leaves them to the processes that read the files)."""
    return [relative for relative, _absolute in _record_files(root)]


def _record_files(root: Path) -> Iterator[tuple[str, str]]:
    """(path relative to root, absolute path) of every record file in the work tree."""
    root_text = str(root)
    cut = len(root_text) + 1
    for directory, subdirs, files in os.walk(root_text):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        relative_dir = directory[cut:]
        records = is_record_folder(relative_dir)  # decided once per folder, not per file
        for name in files:
            relative = f"{relative_dir}/{name}" if relative_dir else name
            if (records and not name.startswith(".")) or is_record_path(relative):
                yield relative, os.path.join(directory, name)
