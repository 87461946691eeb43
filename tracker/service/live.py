"""An index kept open and fresh by one long-running process (watch, serve, mcp, a script).

DuckDB lets one process write the file, so this process owns it: it holds the
connection open, knows the index's bookkeeping without asking it, and learns which
files changed from the kernel's change feed instead of walking the work tree. A
query then costs one read of HEAD and one non-blocking read of the feed when nothing
changed (microseconds, not the ~1 s a full scan takes at 100,000 files), and a sync of
just the changed files when something did. What the read use-cases compute from it is
kept (`Answer.memo`) until the index next changes, some of it (`show`'s projection) computed
off the answering thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracker.index.backend import QueryIndex
from tracker.index.duckdb_backend import DuckIndex, IndexBroken, IndexLocked, IndexUnavailable
from tracker.service import show_graph
from tracker.service.indexer import (
    Answer,
    IndexState,
    Memo,
    SyncReport,
    discard_index,
    index_path,
    keep_warm,
    sync,
)
from tracker.service.reading import Progress
from tracker.service.workspace import Workspace
from tracker.store.head import HeadWatch
from tracker.store.inotify import ChangeFeed
from tracker.store.tree import RECORD_FOLDERS

TREE_CACHE = 20_000  # parsed git trees kept between syncs (a few new ones per commit)


class LiveIndex:
    """The warm index of one tracker root. Thread-safe: syncs and answers take `lock`."""

    def __init__(self, workspace: Workspace, in_memory: bool = False) -> None:
        self.root = workspace.root
        self.lock = threading.RLock()
        self._workspace = workspace
        # in memory: for a process that cannot own the shared file (another one does)
        self._path: Path | None = None if in_memory else index_path(workspace)
        self._index: DuckIndex | None = None
        self._state = IndexState()
        self._cache = Memo()
        self._generation = 0  # counts the changes of the index (each empties `_cache`)
        self._background: Background | None = None  # a computation off the answering thread
        self._feed: ChangeFeed | None = None
        self._notes: list[str] = []  # why the last sync rebuilt, for the next answer
        self._scanned_at_open = True  # the first sync after opening looks at every file
        self._head = HeadWatch(Path(workspace.store.repo.path))
        self._head_commit: str | None = None
        self._head_commit_known = False
        self._git_watched = False  # the feed watches git's HEAD and refs too

    @classmethod
    def start(cls, workspace: Workspace, in_memory: bool = False) -> LiveIndex:
        """Open (or create) the index and route this process's queries on the root through
        it; the first of them syncs it in full. IndexLocked when another process owns the
        file (`in_memory`: a private index, never locked)."""
        live = cls(workspace, in_memory)
        # the feed before the first sync, so that nothing written during it is missed
        live._feed = ChangeFeed.open(live.root, _watched_folder)
        if live._feed is not None:
            # git's HEAD, refs and packed-refs through the same feed: one read per query
            # tells whether HEAD may have moved (else three stat calls do)
            head = live._head
            live._git_watched = (
                live._feed.also_watch(head.git_dir, "git", recursive=False)
                and live._feed.also_watch(head.common, "git", recursive=False)
                and live._feed.also_watch(head.common / "refs", "git", recursive=True)
            )
        try:
            live._open_index()
        except BaseException:
            live.close()
            raise
        keep_warm(live.root, live)
        return live

    def close(self) -> None:
        keep_warm(self.root, None)
        with self.lock:
            if self._feed is not None:
                self._feed.close()
                self._feed = None
            self._close_index()

    def refresh(
        self, full: bool = False, rebuild: bool = False, progress: Progress | None = None
    ) -> SyncReport | None:
        """Sync what changed since the last look (`full`: look at every file; `rebuild`:
        start from an empty index); None when nothing changed."""
        with self.lock:
            changes = self._feed.drain() if self._feed is not None else None
            if self._index is None:
                self._open_index()
            assert self._index is not None
            rescan = full or rebuild or self._scanned_at_open or changes is None or changes.rescan
            git_quiet = (
                self._git_watched
                and changes is not None
                and not changes.rescan
                and "git" not in changes.marks
            )
            tip = self._tip(git_quiet)
            indexed = self._state.meta.get("commit") or None
            if not rescan and changes is not None and not changes.paths and tip == indexed:
                return None
            self._workspace.store.trim_cache(TREE_CACHE)
            candidates = None if rescan or changes is None else changes.paths
            self._stop_background()
            try:
                report = sync(
                    self._workspace, self._index, rebuild, progress, self._state, candidates
                )
            except IndexUnavailable as exc:  # broken mid-sync: start on a new file
                self._notes.append(f"{exc.message}; rebuilt it")
                self._close_index(discard=True)
                self._open_index()
                report = sync(self._workspace, self._index, True, progress, self._state)
            self._scanned_at_open = False
            if report.files_read or report.files_removed or report.rebuilt or tip != indexed:
                # the projection for `show`, brought up to date, costs far less than a load
                kept = show_graph.kept_through(
                    self._cache, self._index, report, len(self._state.known)
                )
                self._forget(None if report.rebuilt else report.folders, report)
                self._cache.update(kept)
            return report

    @contextmanager
    def answering(self) -> Iterator[Answer | None]:
        """A fresh answer on the warm index, the lock held while it is used; None when the
        index cannot be opened (the caller answers another way)."""
        with self.lock:
            try:
                report = self.refresh()
            except IndexLocked:
                yield None
                return
            assert self._index is not None
            notes, self._notes = self._notes, []
            source = "rebuilt" if notes or (report is not None and report.rebuilt) else "index"
            commit = self._state.meta.get("commit") or None
            yield Answer(
                self._index, source, notes, commit, self._cache, background=self.compute_later
            )

    def compute_later(self, key: Any, compute: Callable[[QueryIndex], Any]) -> None:
        """Compute an entry of the cache off the answering thread, on a cursor of its own,
        kept only if the index is still as it was when asked. One at a time: asked while
        one runs, nothing happens (the caller asks again on a later answer).

        Never stale: a sync writes and bumps the generation in one hold of `lock`, and
        the result is kept under `lock` only if the generation did not move since it was
        asked (under `lock` too), so no write landed before or while it read. A sync
        stops it first: its result would be dropped, and it would slow that answer."""
        with self.lock:
            if self._index is None or self._background is not None:
                return
            background = Background(DuckIndex(self._index.connection.cursor(), self._index.path))
            self._background = background
            threading.Thread(
                target=self._compute,
                args=(key, compute, background, self._generation),
                name=f"tracker-index-{key}",
                daemon=True,  # close() waits for it; an exit without close() need not
            ).start()

    def _compute(
        self, key: Any, compute: Callable[[QueryIndex], Any], index: Background, generation: int
    ) -> None:
        value: Any = None
        try:
            value = compute(index)
        except Exception:  # stopped, or the index broken: answers are computed without it
            value = None
        finally:
            index.close()
        with self.lock:
            self._background = None
            if value is not None and generation == self._generation and not index.stopped:
                self._cache[key] = value

    def _stop_background(self, wait: bool = False) -> None:
        if self._background is not None:
            self._background.stop()
            if wait:  # DuckDB refuses to close a connection while a cursor of it runs a query
                self._background.closed.wait()

    def broken(self, exc: IndexBroken) -> None:
        """An answer found the index broken: drop it; the next refresh builds a new one."""
        with self.lock:
            self._notes.append(f"{exc.message}; rebuilt it")
            self._close_index(discard=True)

    # -- internals --------------------------------------------------------------------------

    def _tip(self, git_quiet: bool = False) -> str | None:
        """HEAD's commit: re-read only when a file that decides it changed (`git_quiet`:
        the feed saw no change in git's folders since the last look)."""
        if self._head_commit_known and git_quiet:
            return self._head_commit
        if self._head.unchanged():
            return self._head_commit
        self._head.remember()  # first, so that a move while reading is seen next time
        self._head_commit = self._workspace.store.tip().commit
        self._head_commit_known = True
        return self._head_commit

    def _open_index(self) -> None:
        try:
            index = DuckIndex.open(self._path)
        except IndexLocked:
            raise
        except IndexUnavailable as exc:  # unreadable: it holds nothing the files do not
            self._notes.append(f"{exc.message}; rebuilt it")
            self._discard()
            index = DuckIndex.open(self._path)
        try:
            self._state = IndexState.read(index)
        except IndexUnavailable as exc:
            index.close()
            self._notes.append(f"{exc.message}; rebuilt it")
            self._discard()
            index = DuckIndex.open(self._path)
            self._state = IndexState.read(index)
        self._index = index
        self._forget()
        self._scanned_at_open = True

    def _close_index(self, discard: bool = False) -> None:
        self._stop_background(wait=True)
        if self._index is not None:
            self._index.close()
            self._index = None
        if discard:
            self._discard()
        self._state = IndexState()
        self._forget()

    def _forget(self, folders: set[str] | None = None, report: SyncReport | None = None) -> None:
        """The index changed (the files of `folders`; None: anything): what was computed
        from it no longer holds, but what the sync's `report` leaves true."""
        self._cache.forget(folders, report)
        self._generation += 1

    def _discard(self) -> None:
        if self._path is not None:
            discard_index(self._path)


class Background:
    """The index a computation off the answering thread reads: its own cursor, which
    `stop` interrupts at once (its current query) and for good (any further one)."""

    def __init__(self, index: DuckIndex) -> None:
        self._index = index
        self._guard = threading.Lock()  # an interrupt never meets a closed cursor
        self.stopped = False
        self.closed = threading.Event()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.stopped:
            raise IndexUnavailable("stopped: the index changes")
        return self._index.rows(sql, params)

    def rows_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        if self.stopped:
            raise IndexUnavailable("stopped: the index changes")
        return self._index.rows_many(queries)

    def read_only_query(self, sql: str) -> list[dict[str, Any]]:
        if self.stopped:
            raise IndexUnavailable("stopped: the index changes")
        return self._index.read_only_query(sql)

    def stop(self) -> None:
        with self._guard:
            self.stopped = True
            if not self.closed.is_set():
                self._index.connection.interrupt()

    def close(self) -> None:
        with self._guard:
            self._index.close()
            self.closed.set()


def _watched_folder(relative: str) -> bool:
    """The folders below the tracker root that hold records (and those leading to them)."""
    if any(part.startswith(".") for part in relative.split("/")):
        return False
    return any(
        relative == folder or relative.startswith(folder + "/") or folder.startswith(relative + "/")
        for folder in RECORD_FOLDERS
    )
