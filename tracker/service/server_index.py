"""The index a long-running server (the MCP server) keeps warm for its one tracker root.

DuckDB lets one process hold the index file. The MCP servers of a repository agree on
one of them to hold it (tracker.cli.mcp_sharing: the others send it their reads), but a
process outside that agreement may hold the file (a tracker command running meanwhile,
a server of another tracker version). A server that finds it taken keeps a private copy
of the index in memory instead: built once at start (about as long as a cold `tracker
index rebuild`), then kept fresh by the same change feed, so its reads cost what the
owner's do, rather than waiting out the lock and reading every file, seconds per query.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.index.duckdb_backend import IndexLocked
from tracker.service.indexer import warm_on_demand
from tracker.service.live import LiveIndex
from tracker.service.workspace import Workspace


@dataclass
class ServerIndex:
    live: LiveIndex
    shared: bool  # True: this process owns the index file; False: a private copy
    note: str  # why not shared, for the server's log

    def close(self) -> None:
        warm_on_demand(None)
        self.live.close()


def keep_index_warm(workspace: Workspace) -> ServerIndex:
    """Open the root's warm index and route this process's reads through it: the shared
    file when free, else a private in-memory copy. The first read syncs it (`refresh`
    to do that ahead)."""
    try:
        live = LiveIndex.start(workspace)
    except IndexLocked as exc:
        private = LiveIndex.start(workspace, in_memory=True)
        note = (
            f"another process holds the index file ({exc.message}); this server keeps a "
            "private copy in memory"
        )
        return ServerIndex(private, False, note)
    warm_on_demand(LiveIndex.start)  # any other root this process is asked about, too
    return ServerIndex(live, True, "")


def writes_landed(workspace: Workspace) -> None:
    """Wait until no tracker write of the repository is mid-commit (a moment: writers hold
    their lock from reading the tip to committing). A read that waits sees the commit,
    instead of the file written but not committed yet, which the index would take in as
    an uncommitted edit and take in again once committed: two syncs, and `dirty` shown."""
    with workspace.store.write_lock():
        pass
