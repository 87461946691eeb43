"""Keeping the index warm: sync it as soon as the tracker folder or git's refs change.

The only module that imports watchdog. Its observer thread only notes that
something changed; a sync thread waits until the burst of events is over
(`DEBOUNCE_SECONDS` without a new one, at most `MAX_DELAY_SECONDS` after the
first) and refreshes the process's `LiveIndex`, which syncs just the files that
changed. Commands the same process runs answer from that same warm index (its
lock keeps a sync and a command apart); a command that comes first syncs the
change itself, and the watcher then finds nothing left to do.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from tracker.errors import TrackerError
from tracker.service.live import LiveIndex
from tracker.service.workspace import Workspace
from tracker.store.head import common_dir
from tracker.store.tree import RECORD_FOLDERS, is_record_path

DEBOUNCE_SECONDS = 0.02
MAX_DELAY_SECONDS = 0.06  # a steady stream of events still syncs this often
# Writes, not reads: the sync itself opens every file it reads.
EVENTS = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


@dataclass(frozen=True)
class SyncResult:
    """What one sync did, for the log."""

    files_read: int = 0
    files_removed: int = 0
    versions_updated: int = 0
    rebuilt: bool = False
    commit: str | None = None
    milliseconds: float = 0.0
    error: str | None = None


class Watcher:
    """Watches one tracker root and its repository's refs; syncs the index after each change."""

    def __init__(
        self,
        workspace: Workspace,
        on_sync: Callable[[SyncResult], None],
        after_sync: Callable[[], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.after_sync = after_sync  # after every sync, changes or not (e.g. publish)
        self.root = workspace.root
        self.git_dir = Path(workspace.store.repo.path)
        self.on_sync = on_sync
        self.live: LiveIndex | None = None
        self.last_sync = time.monotonic()
        self._changed = threading.Condition()
        self._first: float | None = None  # the first event of the burst not yet synced
        self._latest = 0.0
        self._stopping = False
        self._observer = Observer()
        self._thread = threading.Thread(target=self._run, name="tracker-sync", daemon=True)

    @property
    def lock(self) -> threading.RLock:
        """Held by a sync; a command server holds it while a command runs."""
        assert self.live is not None, "start() first"
        return self.live.lock

    def watched(self) -> list[Path]:
        return [self.root, *self._git_watches()]

    def start(self) -> SyncResult:
        """Open the index, sync it once, then follow changes in the background."""
        self.live = LiveIndex.start(self.workspace)  # IndexLocked fails the start, with why
        first = self.sync_now(full=True)
        self._observer.schedule(
            _Changes(self.poke, self._in_tracker),
            str(self.root),
            recursive=True,
            event_filter=EVENTS,
        )
        for path, names in self._git_watches().items():
            self._observer.schedule(
                _Changes(self.poke, None if names is None else _named(names)),
                str(path),
                recursive=names is None,
                event_filter=EVENTS,
            )
        self._observer.start()
        self._thread.start()
        return first

    def stop(self) -> None:
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join()
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread.is_alive():
            self._thread.join()
        if self.live is not None:
            self.live.close()
            self.live = None

    def poke(self) -> None:
        """Something changed: sync once the burst is over."""
        with self._changed:
            self._latest = time.monotonic()
            if self._first is None:
                self._first = self._latest
            self._changed.notify()

    def sync_now(self, full: bool = False) -> SyncResult:
        """Sync what changed; logged (through `on_sync`) unless nothing had."""
        assert self.live is not None, "start() first"
        started = time.perf_counter()
        try:
            report = self.live.refresh(full=full)
        except TrackerError as exc:
            result = SyncResult(milliseconds=_since(started), error=exc.message)
        except Exception as exc:  # the watcher outlives a failed sync; the next query repairs
            error = f"{type(exc).__name__}: {exc}"
            result = SyncResult(milliseconds=_since(started), error=error)
        else:
            self.last_sync = time.monotonic()
            if report is None:
                if self.after_sync is not None:
                    self.after_sync()
                return SyncResult(milliseconds=_since(started))
            result = SyncResult(
                report.files_read,
                report.files_removed,
                report.versions_updated,
                report.rebuilt,
                report.commit,
                _since(started),
            )
        self.last_sync = time.monotonic()
        self.on_sync(result)
        if self.after_sync is not None and result.error is None:
            self.after_sync()
        return result

    # -- internals --------------------------------------------------------------------------

    def _git_watches(self) -> dict[Path, frozenset[str] | None]:
        """Git's folders to watch: the files of interest in each (git moves each into place
        from `<name>.lock`), or None for everything below it."""
        folders: dict[Path, frozenset[str] | None] = {}
        common = common_dir(self.git_dir)  # a linked worktree shares the main one's refs
        if common != self.git_dir:
            folders[self.git_dir] = frozenset({"HEAD", "index"})
            folders[common] = frozenset({"packed-refs"})
        else:
            folders[common] = frozenset({"HEAD", "index", "packed-refs"})
        if (common / "refs").is_dir():
            folders[common / "refs"] = None
        return folders

    def _in_tracker(self, path: str, is_directory: bool) -> bool:
        relative = os.path.relpath(path, self.root).replace(os.sep, "/")
        if is_directory:
            return any(relative == f or relative.startswith(f + "/") for f in RECORD_FOLDERS)
        return is_record_path(relative)

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._first is None and not self._stopping:
                    self._changed.wait()
                while not self._stopping and self._first is not None:
                    due = min(self._latest + DEBOUNCE_SECONDS, self._first + MAX_DELAY_SECONDS)
                    if time.monotonic() >= due:
                        break
                    self._changed.wait(due - time.monotonic())
                if self._stopping:
                    return
                self._first = None
            if self.git_dir.is_dir():  # else the repository is gone and the server is leaving
                self.sync_now()


def _named(names: frozenset[str]) -> Callable[[str, bool], bool]:
    return lambda path, is_directory: not is_directory and os.path.basename(path) in names


class _Changes(FileSystemEventHandler):
    def __init__(self, poke: Callable[[], None], wanted: Callable[[str, bool], bool] | None):
        self.poke = poke
        self.wanted = wanted

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        if self.wanted is None or any(self.wanted(p, event.is_directory) for p in paths):
            self.poke()


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
