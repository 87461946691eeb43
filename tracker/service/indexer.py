"""Keeping the index fresh: every query first syncs what changed since the index was built.

The index records the commit it reflects and the stat data of every file it read.
A sync diffs the indexed commit's tree against HEAD's (skipping unchanged
subtrees), compares the work tree's stat data (hashing the files written too close
to the last scan for their stat data to tell), re-reads only the files that
changed, and keeps versions up to date from the new commits alone (after a reset,
rebase or branch switch, also for the files changed on the abandoned line). A
missing, corrupt or outdated index is rebuilt; one locked by another process
beyond a short wait is bypassed by answering from the files. An index with
nothing to sync is read through a shared read-only connection, so parallel
queries do not queue for DuckDB's single writer.

A long-running process registers a warm index here (tracker.service.live): it owns
the file, keeps the bookkeeping in memory and names the changed files itself, so
`answered` goes through it and a sync looks at those files only.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pygit2

from tracker.index.backend import QueryIndex
from tracker.index.duckdb_backend import (
    Batch,
    DuckIndex,
    IndexBroken,
    IndexLocked,
    IndexUnavailable,
)
from tracker.index.rows import Rows
from tracker.index.schema import ITEM_FOLDERS, SCHEMA_VERSION
from tracker.query import sql
from tracker.service.reading import Progress, blob_rows, read_files
from tracker.service.workspace import Workspace
from tracker.store.changes import (
    BlobChange,
    FileStat,
    changed_paths,
    diff_commits,
    first_parent_meeting,
    list_work_tree,
    scan_work_tree,
    shallow_marker,
    stat_files,
    tree_files,
    versions,
)
from tracker.store.git_repo import CommitInfo
from tracker.store.tree import is_record_path

# File-system clocks tick coarsely (a few ms): a file whose mtime is this close to the last
# scan may have been written again within the same tick, unseen by its stat data.
RACY_NS = 100_000_000
T = TypeVar("T")
PROBLEMS = "problems"  # the cache's key of every file's problems (kept until they change)


class Memo(dict[Any, Any]):
    """What was computed from a warm index, kept until the index changes. An entry may
    name the folders whose files it reads (`reads`): a change elsewhere keeps it; and it
    may know which changes leave it true (`survives(report, value)`)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: dict[Any, frozenset[str]] = {}
        self.survives: dict[Any, Callable[[SyncReport, Any], bool]] = {}

    def forget(self, folders: set[str] | None = None, report: SyncReport | None = None) -> None:
        """Drop what files of these folders may have changed (None: everything), unless
        the sync's `report` leaves it true."""
        for key in list(self):
            read = self.reads.get(key)
            if folders is not None and read is not None and not read & folders:
                continue
            survives = self.survives.get(key)
            if (
                folders is not None
                and report is not None
                and survives is not None
                and survives(report, self[key])
            ):
                continue
            del self[key]
            self.reads.pop(key, None)
            self.survives.pop(key, None)


@dataclass
class Answer:
    """An open, fresh index plus where the answer comes from and what degraded it."""

    index: QueryIndex
    data_source: str  # index | rebuilt | files | git | postgres
    warnings: list[str] = field(default_factory=list)
    commit: str | None = None
    # A process that keeps the index warm keeps what it computed from it here until the
    # index next changes; elsewhere None (nothing outlives one answer).
    cache: dict[Any, Any] | None = None
    # ... and may compute an entry of it off the answering thread: `background(key,
    # compute)` runs `compute` on an index of its own and keeps the result under `key` if
    # the index has not changed meanwhile (tracker.service.live); elsewhere None.
    background: Callable[[Any, Callable[[QueryIndex], Any]], None] | None = None

    def envelope(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with where it came from and what degraded it, files that failed
        validation (and are left out of every answer) included."""
        warnings = list(self.warnings)
        problems = self.memo(
            PROBLEMS,
            lambda: self.index.rows(*sql.problems()),
            survives=lambda report, _rows: not report.problems_changed,
        )
        if problems:
            files = sorted({row["file"] for row in problems})
            shown = ", ".join(files[:3]) + (" ..." if len(files) > 3 else "")
            warnings.append(
                f"{len(files)} file(s) failed validation and are left out: {shown} "
                "(run `tracker validate`)"
            )
        return {**data, "data_source": self.data_source, "warnings": warnings}

    def memo(
        self,
        key: Any,
        compute: Callable[[], T],
        reads: Iterable[str] | None = None,
        survives: Callable[[SyncReport, T], bool] | None = None,
    ) -> T:
        """`compute()`, remembered while the index stays as it is, or with `reads` (the
        top folders of the only files it reads), while those files do, or through a sync
        whose report `survives(report, value)` says leaves it true (callers must not
        change what it returns)."""
        if self.cache is None:
            return compute()
        if key not in self.cache:
            self.cache[key] = compute()
            if isinstance(self.cache, Memo):
                if reads is not None:
                    self.cache.reads[key] = frozenset(reads)
                if survives is not None:
                    self.cache.survives[key] = survives
        return self.cache[key]  # type: ignore[no-any-return]


@dataclass
class IndexState:
    """What a process that keeps the index open knows of it without asking DuckDB: its
    bookkeeping (meta) and its `files` rows. Only that process writes the file (DuckDB
    lets one process hold it), so this stays true between its syncs."""

    meta: dict[str, str] = field(default_factory=dict)
    known: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, index: DuckIndex) -> IndexState:
        return cls(index.meta(), _known_files(index))


class WarmIndex(Protocol):
    """An index a process keeps open and fresh (see tracker.service.live)."""

    def answering(self) -> AbstractContextManager[Answer | None]: ...

    def broken(self, exc: IndexBroken) -> None: ...

    def refresh(
        self, full: bool = False, rebuild: bool = False, progress: Progress | None = None
    ) -> SyncReport | None: ...

    def close(self) -> None: ...


# tracker root -> the warm index this process keeps for it
_warm: dict[Path, WarmIndex] = {}


# set by long-running processes (serve, mcp): opens a warm index for a root on first use
_warm_factory: Callable[[Workspace], WarmIndex] | None = None
# a root whose index another process owns: not tried again (a lock wait each) until then
_refused_until: dict[Path, float] = {}
RETRY_WARM_SECONDS = 30.0


def warm_on_demand(factory: Callable[[Workspace], WarmIndex] | None) -> None:
    """From now on, keep a warm index for every tracker root this process queries (the
    factory opens and registers one); None: no more (the open ones stay until closed)."""
    global _warm_factory
    _warm_factory = factory


def warm_index(workspace: Workspace) -> WarmIndex | None:
    """The warm index this process keeps for the workspace's root, if any (opened now when
    the process keeps them on demand and the file is free)."""
    warm = _warm.get(workspace.root)
    if warm is None and _warm_factory is not None:
        if time.monotonic() < _refused_until.get(workspace.root, 0.0):
            return None
        try:
            warm = _warm_factory(workspace)
        except IndexUnavailable:  # owned by another process: answer as one-shot meanwhile
            _refused_until[workspace.root] = time.monotonic() + RETRY_WARM_SECONDS
    return warm


def warm_indexes() -> list[WarmIndex]:
    return list(_warm.values())


def keep_warm(root: Path, warm: WarmIndex | None) -> None:
    """Route this process's queries on `root` through `warm` (None: stop)."""
    if warm is None:
        _warm.pop(root, None)
    else:
        _warm[root] = warm


@dataclass
class SyncReport:
    files_read: int = 0
    files_removed: int = 0
    versions_updated: int = 0
    rebuilt: bool = False
    commit: str | None = None
    # the top folders (or tracker.yaml) of the files whose rows or versions changed
    folders: set[str] = field(default_factory=set)
    # those files under items/ and archive/ (an incremental sync only), and whether any
    # derived row (place in the hierarchy, open dependencies) changed with them
    item_files: set[str] = field(default_factory=set)
    derived_changed: bool = True
    problems_changed: bool = True  # whether any file's problems (validation) changed
    # the items of the item files read again are the same, each in the same place, with
    # the same status, deletion, dependencies, priority and creation time (what decides
    # whether and where an item stands in `ready`); False when not known
    items_unchanged: bool = False


def index_path(workspace: Workspace) -> Path:
    """Inside the git directory (never committed); one file per tracker root."""
    git_dir = Path(workspace.store.repo.path)
    prefix = workspace.store.prefix
    name = (
        "index.duckdb"
        if prefix == ".tracker"
        else f"index-{zlib.crc32(prefix.encode()):08x}.duckdb"
    )
    return git_dir / "tracker" / name


@contextmanager
def fresh_index(workspace: Workspace, at: str | None = None) -> Iterator[Answer]:
    """A synced index for one query (or, with `at`, one built from that commit)."""
    if at is not None:
        commit = workspace.store.resolve(at)
        index = DuckIndex.open(None)
        try:
            _build_from_commit(workspace, index, commit)
            yield Answer(index, "git", [], commit)
        finally:
            index.close()
        return
    answer = _open_synced(workspace)
    try:
        yield answer
    finally:
        answer.index.close()


@contextmanager
def writable_index(workspace: Workspace) -> Iterator[tuple[DuckIndex, Answer]]:
    """The synced index through a connection that may write, and the answer it gives: this
    process's warm one (whose `memo` keeps what was computed from it until it changes),
    else the file's own (IndexLocked when another process holds it)."""
    warm = warm_index(workspace)
    if warm is not None:
        with warm.answering() as live:
            if live is not None and isinstance(live.index, DuckIndex):
                yield live.index, live
                return
    index = DuckIndex.open(index_path(workspace))
    try:
        report = sync(workspace, index)
        yield index, Answer(index, "index", [], report.commit)
    finally:
        index.close()


def answered(workspace: Workspace, at: str | None, compute: Callable[[Answer], T]) -> T:
    """`compute` run on a fresh index. An index found broken only while answering (a
    corrupt block the sync did not touch) is discarded and the answer computed again from
    a rebuilt one, or else from the files: never a hard failure."""
    if at is not None:
        with fresh_index(workspace, at) as answer:
            return compute(answer)
    warm = warm_index(workspace)
    for _attempt in range(2 if warm is not None else 0):
        assert warm is not None
        with warm.answering() as live:
            if live is None:
                break
            try:
                return compute(live)
            except IndexBroken as exc:
                warm.broken(exc)  # dropped: the next answering() rebuilds it
    try:
        with fresh_index(workspace) as answer:
            return compute(answer)
    except IndexBroken as exc:
        note = f"{exc.message}; rebuilt it"
    answer = _open_synced(workspace, [note], discard=True)
    try:
        return compute(answer)
    except IndexBroken as exc:
        answer.index.close()
        answer = _from_files(workspace, [note, f"{exc.message}; answered from the files"])
        return compute(answer)
    finally:
        answer.index.close()


def _open_synced(
    workspace: Workspace, warnings: list[str] | None = None, discard: bool = False
) -> Answer:
    """The index file, synced. Locked beyond a short wait: an answer from the files.
    Unreadable or broken: discarded and rebuilt (it holds nothing the files do not), and if
    even that fails, an answer from the files.

    DuckDB lets one process write a file, or many read it. So an index that is already
    fresh is read through a read-only connection, and any number of queries share it; the
    write connection is taken only when there is something to sync, for as long as that
    sync and its query take."""
    path = index_path(workspace)
    notes = list(warnings or [])
    if discard:
        discard_index(path)
    for attempt in range(2):
        existed = path.exists()
        try:
            if existed and not notes:
                shared = _open_if_fresh(workspace, path)
                if shared is not None:
                    return shared
            index = DuckIndex.open(path)
        except IndexLocked as exc:
            return _from_files(workspace, [*notes, f"{exc.message}; answered from the files"])
        except IndexUnavailable as exc:
            if attempt:
                return _from_files(workspace, [*notes, f"{exc.message}; answered from the files"])
            discard_index(path)
            notes.append(f"{exc.message}; rebuilt it")
            continue
        try:
            report = sync(workspace, index)
        except IndexUnavailable as exc:
            index.close()
            if attempt:
                return _from_files(workspace, [*notes, f"{exc.message}; answered from the files"])
            discard_index(path)
            notes.append(f"{exc.message}; rebuilt it")
            continue
        rebuilt = report.rebuilt or not existed or bool(notes)
        return Answer(index, "rebuilt" if rebuilt else "index", notes, report.commit)
    raise AssertionError("unreachable")


def _open_if_fresh(workspace: Workspace, path: Path) -> Answer | None:
    """The index through a shared read-only connection when nothing changed since its last
    sync; None when it needs a sync (or a look by the writer: unreadable, another schema).
    Raises IndexLocked when a writer holds it beyond the short wait."""
    try:
        index = DuckIndex.open(path, read_only=True)
    except IndexLocked:
        raise
    except IndexUnavailable:
        return None
    try:
        if index.schema_version() == SCHEMA_VERSION:
            plan = _plan(workspace, index)
            if plan.fresh:
                return Answer(index, "index", [], plan.tip)
    except IndexUnavailable:
        pass
    index.close()
    return None


def _from_files(workspace: Workspace, warnings: list[str]) -> Answer:
    """A throwaway in-memory index read straight from the files."""
    index = DuckIndex.open(None)
    try:
        report = sync(workspace, index)
    except BaseException:
        index.close()
        raise
    return Answer(index, "files", warnings, report.commit)


def discard_index(path: Path) -> None:
    for stale in (path, Path(f"{path}.wal")):
        with suppress(OSError):
            stale.unlink(missing_ok=True)


@dataclass
class _Plan:
    """What a sync has to do: found from the index's bookkeeping, git and stat data alone."""

    tip: str | None
    indexed: str | None  # the commit the index reflects (None: none, or rebuilding)
    rebuild: bool
    known: dict[str, dict[str, Any]]  # file -> its row in `files`
    committed: list[BlobChange]  # record files changed between indexed and tip
    head_blobs: dict[str, str | None]  # file to read -> its blob at tip
    to_read: dict[str, FileStat]
    gone: set[str]
    scanned_at: int
    shallow: str

    @property
    def fresh(self) -> bool:
        return not (self.rebuild or self.indexed != self.tip or self.to_read or self.gone)


def _plan(
    workspace: Workspace,
    index: DuckIndex,
    force_rebuild: bool = False,
    state: IndexState | None = None,
    candidates: set[str] | None = None,
) -> _Plan:
    """`candidates`: the only work-tree files that may have changed since the last sync
    (from a change feed); None to scan the whole work tree."""
    store = workspace.store
    meta = state.meta if state is not None else index.meta()
    tip = store.tip().commit
    indexed = meta.get("commit") or None
    rebuild = force_rebuild or meta.get("root") != store.prefix or "commit" not in meta
    if indexed is not None and indexed != tip and not _exists(workspace, indexed):
        rebuild = True  # its commit is gone (gc after a rebase): start over
    shallow = shallow_marker(store)
    if meta.get("shallow", "") != shallow:
        rebuild = True  # history was deepened: versions may be older commits now
    if rebuild:  # every file is read: `_rebuild` lists them, and reads their stat data
        return _Plan(tip, None, True, {}, [], {}, {}, set(), time.time_ns(), shallow)
    known = state.known if state is not None else _known_files(index)

    committed: list[BlobChange] = diff_commits(store, indexed, tip) if indexed != tip else []
    moved = {change.path: change.new for change in committed}

    def head_blob(path: str) -> str | None:
        """The file's blob at tip: changed by the new commits, or as the index knows it."""
        if path in moved:
            return moved[path]
        row = known.get(path)
        return None if row is None else row["head_blob"]

    # A file written again within the clock tick of the last scan keeps its size and
    # mtime: like git's "racily clean" entries, such files are hashed, not trusted. So is
    # every file the change feed names: its events may come from such a write.
    racy_since = int(meta.get("scanned_at") or 0) - RACY_NS
    scanned_at = time.time_ns()
    if candidates is None:
        work_tree = scan_work_tree(workspace.root)
        looked_at: Iterable[str] = work_tree
        suspect: set[str] = set()
    else:
        looked_at = {p for p in candidates if is_record_path(p)} | {c.path for c in committed}
        work_tree = stat_files(workspace.root, looked_at)
        suspect = candidates
    to_read: dict[str, FileStat] = {}
    for path, stat in work_tree.items():
        row = known.get(path)
        if row is None or (row["mtime_ns"], row["size"]) != (stat.mtime_ns, stat.size):
            to_read[path] = stat
        elif row["head_blob"] != head_blob(path):
            to_read[path] = stat  # same content, but its dirty flag changes
        elif (path in suspect or stat.mtime_ns >= racy_since) and _hash_file(
            workspace.root / path
        ) != row["blob"]:
            to_read[path] = stat
    head_blobs: dict[str, str | None] = {}
    for path in to_read:
        if path in moved or path in known:
            head_blobs[path] = head_blob(path)
        else:  # new to the index, unchanged since `indexed` (a deletion undone, say)
            head_blobs[path] = store.blob_id(path, tip)
    # gone: known to the index, no longer in the work tree (of the files looked at)
    gone = {path for path in (known if candidates is None else looked_at) if path in known}
    gone.difference_update(work_tree)
    return _Plan(
        tip, indexed, rebuild, known, committed, head_blobs, to_read, gone, scanned_at, shallow
    )


def sync(
    workspace: Workspace,
    index: DuckIndex,
    force_rebuild: bool = False,
    progress: Progress | None = None,
    state: IndexState | None = None,
    candidates: set[str] | None = None,
) -> SyncReport:
    """Bring the index up to date with HEAD and the work tree; see the module docstring.
    With `state` (a process that keeps the index open), its bookkeeping comes from there
    and is kept up to date; with `candidates`, only those work-tree files are looked at."""
    store = workspace.store
    plan = _plan(workspace, index, force_rebuild, state, candidates)
    report = SyncReport(commit=plan.tip, rebuilt=plan.rebuild)
    if plan.fresh:
        return report  # another process synced it meanwhile, or nothing changed
    tip, indexed, committed = plan.tip, plan.indexed, plan.committed
    meta = {
        "commit": tip or "",
        "root": store.prefix,
        "schema_version": str(SCHEMA_VERSION),
        "scanned_at": str(plan.scanned_at),
        "shallow": plan.shallow,
    }
    if plan.rebuild:
        return _rebuild(workspace, index, plan, meta, report, progress, state)

    batch = read_files(
        workspace.root, _shown_base(workspace), plan.to_read, plan.head_blobs, progress
    )
    batch.removed = set(plan.to_read) | plan.gone
    report.files_read, report.files_removed = len(plan.to_read), len(plan.gone)

    # Versions: from the new commits only when HEAD moved forward; after a reset, rebase or
    # branch switch, also the files changed on the abandoned line since the lines parted.
    if indexed is None:
        found = versions(store, tip)
    elif indexed == tip:
        found = {}
    else:
        found = _moved_versions(workspace, indexed, tip, committed)
    batch.versions_removed = set(found) | {c.path for c in committed if c.new is None}
    report.folders = {path.split("/", 1)[0] for path in batch.removed | batch.versions_removed}
    batch.add(_version_rows(found))
    report.versions_updated = len(found)
    # what the index already knows: files without problems rows, bookkeeping kept as is
    batch.clean = {p for p in batch.removed if (plan.known.get(p) or {}).get("valid") is True}
    if state is not None and candidates is not None:
        meta.pop("scanned_at")  # the feed, not stat data, tells what changed: keep the old
    changed_meta = {k: v for k, v in meta.items() if state is None or state.meta.get(k) != v}
    applied = index.apply(batch, dict(changed_meta))
    report.derived_changed = applied.derived_changed
    report.problems_changed = applied.problems_changed
    report.items_unchanged = applied.items_unchanged
    report.item_files = {
        path
        for path in batch.removed | batch.versions_removed
        if path.split("/", 1)[0] in ITEM_FOLDERS
    }
    if state is not None:
        for path in batch.removed:
            state.known.pop(path, None)
        for row in batch.files:
            state.known[str(row["file"])] = row
        state.meta.update(meta)
    return report


def _rebuild(
    workspace: Workspace,
    index: DuckIndex,
    plan: _Plan,
    meta: dict[str, str],
    report: SyncReport,
    progress: Progress | None,
    state: IndexState | None,
) -> SyncReport:
    """Every file read into an emptied index: the rows load while the workers are still
    parsing, and the history walk for versions runs meanwhile too."""
    store = workspace.store
    index.reset()
    paths = list_work_tree(workspace.root)
    found: dict[str, CommitInfo] = {}
    at_tip: dict[str, str] = {}

    with index.bulk(dict(meta)) as load:

        def meanwhile() -> None:  # git's part, and loading its rows, while the workers parse
            at_tip.update(tree_files(store, plan.tip))
            found.update(versions(store, plan.tip))
            load(Batch(rows=_version_rows(found)))

        def complete(part: Batch) -> None:
            for row in part.files:
                row["head_blob"] = at_tip.get(str(row["file"]))
            load(part)

        batch = read_files(
            workspace.root,
            _shown_base(workspace),
            {path: None for path in paths},
            {},
            progress,
            meanwhile=meanwhile,
            sink=complete,
        )
    report.files_read, report.versions_updated = len(paths), len(found)
    if state is not None:
        state.known = {str(row["file"]): row for row in batch.files}
        state.meta.update(meta)
    return report


def _moved_versions(
    workspace: Workspace, indexed: str, tip: str | None, committed: list[BlobChange]
) -> dict[str, CommitInfo]:
    """Versions that change when HEAD moves from `indexed` to `tip`: every file changed on
    tip's first-parent line since it met the indexed line, and every file changed on the
    indexed line since then (a file that ends equal on both lines may still have another
    last-changing commit: a rebased or cherry-picked change)."""
    store = workspace.store
    if tip is None:
        return {}
    parents = store.repo[tip].peel(pygit2.Commit).parent_ids
    if parents and str(parents[0]) == indexed:
        # one commit on top of the indexed one (the usual case): it changed exactly the
        # files just diffed, so no second walk of its trees is needed
        if not committed:
            return {}
        info = store.commit_info(tip)
        return {change.path: info for change in committed}
    meeting = first_parent_meeting(store, indexed, tip)
    if meeting is None:
        return versions(store, tip)  # unrelated histories
    found = versions(store, tip, stop_at=meeting)
    if meeting != indexed:
        stale = {
            path
            for path in changed_paths(store, indexed, meeting)
            if path not in found and store.blob_id(path, tip) is not None
        }
        if stale:
            found.update(versions(store, meeting, wanted=stale))
    return found


def _shown_base(workspace: Workspace) -> str:
    """What comes before a root-relative path as messages show it (see Workspace.display)."""
    base = workspace.display("")
    return "" if base in ("", ".") else base.rstrip("/") + "/"


def _hash_file(path: Path) -> str | None:
    try:
        return str(pygit2.hash(path.read_bytes()))
    except OSError:
        return None


def _exists(workspace: Workspace, sha: str) -> bool:
    try:
        workspace.store.repo[sha].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return False
    return True


def _known_files(index: DuckIndex) -> dict[str, dict[str, Any]]:
    return {
        row["file"]: row
        for row in index.rows("SELECT file, blob, head_blob, mtime_ns, size, valid FROM files")
    }


def _build_from_commit(workspace: Workspace, index: DuckIndex, commit: str) -> None:
    """An index of a past commit, read from git alone (for --at)."""
    store = workspace.store
    index.reset()
    files = tree_files(store, commit)
    with index.bulk({"commit": commit, "root": store.prefix}) as load:
        load(blob_rows(commit, ((p, b, store.read_blob(b)) for p, b in sorted(files.items()))))
        load(Batch(rows=_version_rows(versions(store, commit, wanted=set(files)))))


def _version_rows(found: dict[str, CommitInfo]) -> Rows:
    """Rows of the versions table: each file's last-changing commit, its author and time."""
    return {
        "versions": [
            {
                "file": path,
                "version": info.sha,
                "author": info.author,
                "changed_at": info.time.isoformat(),
            }
            for path, info in found.items()
        ]
    }
