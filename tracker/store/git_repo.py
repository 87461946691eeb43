"""The repository side of the store: read records at any commit, commit changes safely.

This is the only module that imports pygit2. Commits are built from trees
directly (never through the user's staging area) and the branch is moved with
a compare-and-swap, so a concurrent `git commit` or another tracker process
can never be overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from tracker.errors import Conflict, NotFound, TrackerError

WRITE_LOCK = "tracker-write.lock"


class TipMoved(Exception):
    """The branch moved between reading it and committing on it: try again."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    time: datetime
    message: str


@dataclass(frozen=True)
class Tip:
    ref_name: str | None  # None: detached HEAD
    commit: str | None  # None: no commits yet


class GitStore:
    """A git repository holding a tracker root (given relative to the work tree)."""

    def __init__(self, tracker_root: Path) -> None:
        discovered = pygit2.discover_repository(str(tracker_root))
        if discovered is None:
            raise NotFound(f"{tracker_root} is not inside a git repository (run `git init`)")
        self.repo = pygit2.Repository(discovered)
        if self.repo.workdir is None:
            raise TrackerError("a bare repository has no working tree to track")
        self.workdir = Path(self.repo.workdir).resolve()
        self.prefix = tracker_root.resolve().relative_to(self.workdir).as_posix()
        # Parsed trees by id: a 10,000-entry folder costs milliseconds to parse, so one
        # command parses each tree it touches once.
        self._trees: dict[str, pygit2.Tree] = {}

    # -- reading ---------------------------------------------------------------------------

    def repo_path(self, relative: str) -> str:
        """A tracker-root-relative path as a path inside the repository."""
        return relative if self.prefix == "." else f"{self.prefix}/{relative}"

    def tip(self) -> Tip:
        if self.repo.head_is_unborn:
            target = self.repo.lookup_reference("HEAD").target
            return Tip(str(target), None)
        if self.repo.head_is_detached:
            return Tip(None, str(self.repo.head.target))
        head = self.repo.head
        return Tip(head.name, str(head.target))

    def resolve(self, revision: str) -> str:
        try:
            obj = self.repo.revparse_single(revision)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise NotFound(f"no commit '{revision}' in this repository") from exc
        return str(commit.id)

    def trim_cache(self, limit: int) -> None:
        """Forget the parsed trees once there are more than `limit` (a long-running process
        reads a few new ones per commit)."""
        if len(self._trees) > limit:
            self._trees.clear()

    def tree_by_id(self, tree_id: pygit2.Oid | str) -> pygit2.Tree:
        key = str(tree_id)
        tree = self._trees.get(key)
        if tree is None:
            tree = self._trees[key] = self.repo[key].peel(pygit2.Tree)
        return tree

    def entry_at(self, repo_path: str, commit: str) -> pygit2.Object | None:
        """The tree entry at a path of a commit, walking cached trees one name at a time."""
        tree = self.tree_by_id(self.repo[commit].peel(pygit2.Commit).tree_id)
        *folders, name = repo_path.split("/")
        try:
            for folder in folders:
                entry = tree[folder]
                if entry.type_str != "tree":
                    return None
                tree = self.tree_by_id(entry.id)
            found: pygit2.Object = tree[name]
        except KeyError:
            return None
        return found

    def blob_id(self, relative: str, commit: str | None) -> str | None:
        if commit is None:
            return None
        entry = self.entry_at(self.repo_path(relative), commit)
        return str(entry.id) if entry is not None and entry.type_str == "blob" else None

    def read(self, relative: str, commit: str | None) -> bytes | None:
        blob = self.blob_id(relative, commit)
        return None if blob is None else self.read_blob(blob)

    def read_blob(self, blob_id: str | pygit2.Oid) -> bytes:
        data: bytes = self.repo[blob_id].peel(pygit2.Blob).data
        return data

    def list_files(self, folder: str, commit: str | None) -> list[str]:
        """Tracker-root-relative paths of the blobs under `folder` at `commit`, recursively."""
        if commit is None:
            return []
        sub = self.entry_at(self.repo_path(folder), commit)
        if sub is None or sub.type_str != "tree":
            return []
        found: list[str] = []
        stack: list[tuple[str, pygit2.Tree]] = [(folder, self.repo[sub.id].peel(pygit2.Tree))]
        while stack:
            base, current = stack.pop()
            for entry in current:
                path = f"{base}/{entry.name}"
                if entry.type_str == "tree":
                    stack.append((path, self.repo[entry.id].peel(pygit2.Tree)))
                elif entry.type_str == "blob":
                    found.append(path)
        return found

    def working_blob_id(self, relative: str) -> str | None:
        """The blob id the working-tree file would have, or None when it does not exist."""
        path = self.workdir / self.repo_path(relative)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return str(pygit2.hash(data))

    def probe_staged(self, relative: str, commit: str | None) -> StagedProbe:
        """Whether git's index holds a version of the file other than `commit`'s.

        The answer comes from `git diff-index --cached` over the whole tracker folder
        (git skips unchanged folders through its cache tree), started in the background
        so it overlaps with preparing the change. Between two writes of this process
        nothing else touched the index when its stat signature is the one recorded
        after the last write: then the answer is known without asking git.
        """
        path = self.repo_path(relative)
        signature = self._index_signature()
        cached = _STAGED_CACHE.get(self.repo.path)
        if cached is not None and cached[0] == signature and cached[1] == commit:
            return StagedProbe(None, path, cached[2])
        process = subprocess.Popen(
            [
                "git",
                "diff-index",
                "--cached",
                "--name-only",
                "-z",
                "--no-renames",
                commit or EMPTY_TREE,
                "--",
                self.prefix,
            ],
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
        return StagedProbe(process, path, None)

    def _index_signature(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(os.path.join(self.repo.path, "index"))
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def remember_staged(self, commit: str, staged: frozenset[str]) -> None:
        """Record what the index holds right after this process wrote it."""
        _STAGED_CACHE[self.repo.path] = (self._index_signature(), commit, staged)

    def _git(self, *args: str, stdin: bytes | None = None) -> bytes:
        """git itself for the index: it reads and rewrites a 100,000-entry index in a few
        milliseconds where libgit2 needs over 100, and it honours split indexes."""
        for attempt in range(50):
            done = subprocess.run(
                ["git", *args], cwd=self.workdir, input=stdin, capture_output=True
            )
            if done.returncode == 0:
                return done.stdout
            if b"index.lock" in done.stderr and attempt < 49:
                time.sleep(0.02)  # someone else's git is writing the index: wait our turn
                continue
            raise TrackerError(f"git {args[0]} failed: {done.stderr.decode(errors='replace')}")
        raise AssertionError("unreachable")

    def commit_info(self, sha: str) -> CommitInfo:
        commit = self.repo[sha].peel(pygit2.Commit)
        when = datetime.fromtimestamp(commit.author.time, UTC)
        return CommitInfo(
            str(commit.id), commit.author.name, commit.author.email, when, commit.message
        )

    def commit_parent(self, sha: str) -> str | None:
        """The first parent of a commit (None for a root commit)."""
        parents = self.repo[sha].peel(pygit2.Commit).parent_ids
        return str(parents[0]) if parents else None

    def last_change(self, relative: str, commit: str | None) -> CommitInfo | None:
        """The newest commit at or before `commit` that changed the file (its version)."""
        for info, _, _ in self.file_history(relative, commit, limit=1):
            return info
        return None

    def file_history(
        self,
        relative: str,
        commit: str | None,
        limit: int | None = None,
        follow_from: tuple[str, ...] = (),
    ) -> Iterator[tuple[CommitInfo, bytes | None, bytes | None]]:
        """(commit, content before, content after) for each commit that changed the file."""
        if commit is None:
            return
        paths = [self.repo_path(relative), *(self.repo_path(p) for p in follow_from)]
        walker = self.repo.walk(commit, pygit2.enums.SortMode.TOPOLOGICAL)
        walker.simplify_first_parent()
        count = 0
        for current in walker:
            after = _entry_at(current.tree, paths)
            before = _entry_at(current.parents[0].tree, paths) if current.parents else None
            if after == before:  # a move between the paths followed is a change too
                continue
            yield (
                self.commit_info(str(current.id)),
                None if before is None else self.read_blob(before[1]),
                None if after is None else self.read_blob(after[1]),
            )
            count += 1
            if limit is not None and count >= limit:
                return

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Serialise tracker writers of this repository (other git users are caught by the CAS)."""
        lock_path = Path(self.repo.path) / WRITE_LOCK
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def commit(
        self, tip: Tip, changes: dict[str, bytes | None], message: str, author: pygit2.Signature
    ) -> str:
        """Commit `changes` (root-relative path -> content, None deletes) on top of `tip`.

        Raises TipMoved when the branch no longer points at tip.commit.
        """
        parent_tree = (
            self.tree_by_id(self.repo[tip.commit].peel(pygit2.Commit).tree_id)
            if tip.commit
            else None
        )
        tree_id, _ = self._updated_tree(
            parent_tree, {self.repo_path(p): c for p, c in changes.items()}
        )
        parents = [pygit2.Oid(hex=tip.commit)] if tip.commit else []
        new = self.repo.create_commit(None, author, author, message, tree_id, parents)
        ref_name = tip.ref_name or "HEAD"
        try:
            if tip.commit is None:
                self.repo.create_reference(ref_name, new, force=False)
            else:
                reference = self.repo.lookup_reference(ref_name)
                if str(reference.target) != tip.commit:
                    raise TipMoved()
                # libgit2 refuses when the ref changed since it was looked up: a true CAS.
                reference.set_target(new, f"tracker: {message.splitlines()[0]}")
        except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError) as exc:
            raise TipMoved() from exc
        return str(new)

    def _updated_tree(
        self, base: pygit2.Tree | None, changes: dict[str, bytes | None]
    ) -> tuple[pygit2.Oid, bool]:
        """The id of `base` with `changes` applied, and whether that tree is empty."""
        grouped: dict[str, dict[str, bytes | None]] = {}
        direct: dict[str, bytes | None] = {}
        for path, content in changes.items():
            head, _, rest = path.partition("/")
            if rest:
                grouped.setdefault(head, {})[rest] = content
            else:
                direct[path] = content
        builder = self.repo.TreeBuilder(base) if base is not None else self.repo.TreeBuilder()
        for name, content in direct.items():
            if content is None:
                if builder.get(name) is not None:
                    builder.remove(name)
            else:
                builder.insert(name, self.repo.create_blob(content), pygit2.enums.FileMode.BLOB)
        for name, sub_changes in grouped.items():
            existing = base[name] if base is not None and name in base else None
            sub_tree = (
                self.tree_by_id(existing.id)
                if (existing is not None and existing.type_str == "tree")
                else None
            )
            new_sub, empty = self._updated_tree(sub_tree, sub_changes)
            if empty:
                if builder.get(name) is not None:
                    builder.remove(name)
            else:
                builder.insert(name, new_sub, pygit2.enums.FileMode.TREE)
        return builder.write(), len(builder) == 0

    def sync_worktree(self, changes: dict[str, bytes | None], committed: str) -> None:
        """Make the working tree and git's index match the commit for the changed paths only."""
        paths = []
        for relative, content in changes.items():
            repo_path = self.repo_path(relative)
            self.write_working(relative, content)
            paths.append(repo_path)
        # Re-adding by path records the fresh files' stat data with their blob ids (which
        # equal the commit's); --remove drops the deleted ones. Other entries are untouched.
        self._git(
            "update-index",
            "--add",
            "--remove",
            "-z",
            "--stdin",
            stdin=b"".join(p.encode() + b"\0" for p in paths),
        )

    def write_working(self, relative: str, content: bytes | None) -> None:
        """Write (None: delete) a working-tree file, leaving git's index alone."""
        target = self.workdir / self.repo_path(relative)
        if content is not None:
            _atomic_write(target, content)
            return
        target.unlink(missing_ok=True)
        # A commit holds no empty folders: a fan-out bucket goes with its last file.
        with contextlib.suppress(OSError):
            target.parent.rmdir()

    def default_signature(self, name: str | None) -> pygit2.Signature:
        """The actor: --as NAME, else $TRACKER_ACTOR, else who git would name (env, config)."""
        try:
            configured = self.repo.default_signature
        except (KeyError, pygit2.GitError):
            configured = None
        env_name = os.environ.get("GIT_AUTHOR_NAME")
        env_email = os.environ.get("GIT_AUTHOR_EMAIL")
        email = env_email or (configured.email if configured is not None else None)
        actor = name or os.environ.get("TRACKER_ACTOR")
        if actor:
            return pygit2.Signature(actor, email or f"{actor}@tracker")
        if env_name:
            return pygit2.Signature(env_name, email or f"{env_name}@tracker")
        if configured is not None:
            return configured
        return pygit2.Signature("tracker", "tracker@localhost")


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# git dir -> (index stat signature, HEAD, repository paths staged differently from HEAD)
_STAGED_CACHE: dict[str, tuple[tuple[int, int, int] | None, str | None, frozenset[str]]] = {}


class StagedProbe:
    """The tracker paths whose staged content differs from the commit, asked of git in the
    background (reading a 100,000-entry index takes git ~15 ms) or already known."""

    def __init__(
        self, process: subprocess.Popen[bytes] | None, path: str, known: frozenset[str] | None
    ) -> None:
        self.process = process
        self.path = path
        self.known = known

    def staged_paths(self) -> frozenset[str]:
        if self.known is None:
            assert self.process is not None
            listing, errors = self.process.communicate()
            if self.process.returncode != 0:
                raise TrackerError(f"git diff-index failed: {errors.decode(errors='replace')}")
            self.known = frozenset(p.decode() for p in listing.split(b"\0") if p)
        return self.known

    def differs(self) -> bool:
        """Whether the file itself is staged with content other than the commit's."""
        return self.path in self.staged_paths()


def _entry_at(tree: pygit2.Tree, paths: list[str]) -> tuple[str, pygit2.Oid] | None:
    """(path, blob id) of the first of `paths` the tree holds a file at."""
    for path in paths:
        try:
            entry = tree[path]
        except KeyError:
            continue
        if entry.type_str == "blob":
            return path, entry.id
    return None


def _atomic_write(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tracker-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


__all__ = ["CommitInfo", "Conflict", "GitStore", "Tip", "TipMoved"]
