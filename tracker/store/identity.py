"""What names a repository across its clones, and how two of its commits relate."""

from __future__ import annotations

from pathlib import Path

import pygit2

from tracker.store.git_repo import GitStore


def root_commit(store: GitStore, commit: str) -> str:
    """The first commit of `commit`'s first-parent line: every clone of a repository shares
    it, and two repositories almost never do."""
    walker = store.repo.walk(commit, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.simplify_first_parent()
    oldest = commit
    for found in walker:
        oldest = str(found.id)
    return oldest


def display_name(store: GitStore) -> str:
    """`origin`'s URL, else the work tree's folder name."""
    try:
        url = store.repo.remotes["origin"].url
    except (KeyError, ValueError, pygit2.GitError):
        url = None
    return url or Path(store.workdir).name


def is_ancestor(store: GitStore, older: str, newer: str) -> bool | None:
    """Whether `older` is an ancestor of `newer` (None: one of them is not here to tell)."""
    try:
        return older != newer and store.repo.descendant_of(newer, older)
    except (KeyError, ValueError, pygit2.GitError):
        return None
