"""The index a long-running server (the MCP server) keeps warm for its one tracker root.

DuckDB lets one process hold the index file. The first server to start takes it; a
second one (agents each start their own MCP server) would otherwise answer every read
from the files after waiting out the lock, seconds per query. So a server that finds
the file taken keeps a private copy of the index in memory instead: built once at start
(about as long as a cold `tracker index rebuild`), then kept fresh by the same change
feed, so its reads cost what the owner's do.
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
            f"another process (tracker watch, serve or another MCP server) holds the index "
            f"({exc.message}); this server keeps a private copy in memory"
        )
        return ServerIndex(private, False, note)
    warm_on_demand(LiveIndex.start)  # any other root this process is asked about, too
    return ServerIndex(live, True, "")
