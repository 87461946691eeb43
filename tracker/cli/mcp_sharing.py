"""How the MCP servers of one repository share its index.

Agents each start their own `tracker mcp`, and DuckDB lets one process hold the index
file. The first server takes the repository's server lock (the one `tracker serve` and
`tracker watch` hold), owns the index and listens on the repository's socket: for the
CLI's commands, and for the reads of the other MCP servers. A server that finds the lock
taken forwards its reads there (tool name and arguments; back comes the text the owner's
tools produce, errors with their kinds), to whichever server holds it, so that each
commit is synced into one index once, not once per server, and every server's reads see
every server's writes at once. Writes run where they are asked: they need git, not the
index, and git's write lock and the version check decide every race across processes.

When the owner goes away (its lock is free), the first server to notice takes the lock
in the middle of the call that noticed, and answers it as the new owner; the others
forward to it. A server that cannot forward (the holder declines, being another version
of tracker, or never listens) keeps a private copy of the index instead.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

from tracker.cli.launcher import exchange, request_message
from tracker.cli.output import error
from tracker.cli.rendezvous import find_git_dir, socket_path
from tracker.cli.server import ServerLock, serve_forever, wake
from tracker.mcp.calls import Outcome, run_tool
from tracker.mcp.tools import READ_TOOLS
from tracker.service.server_index import ServerIndex, keep_index_warm, writes_landed
from tracker.service.workspace import Workspace

OWNER_WAIT = 30.0  # seconds to wait for the lock's holder to listen (it may be syncing)
RETRY_PAUSE = 0.02
STOP_WAIT = 10.0  # seconds to wait for a forwarded command to finish at shutdown
READS = frozenset(tool.__name__ for tool in READ_TOOLS)


class Turns:
    """Who runs when in one server process. Reads take turns on the index, writes on the
    repository, so a read does not wait for a commit (one process's writes queue here
    rather than on git's lock). Held whole (`with turns:`), for a forwarded command that
    swaps the process's directory, environment and output, nothing else runs."""

    def __init__(self) -> None:
        self.reads = threading.RLock()
        self.writes = threading.RLock()

    def tool(self, name: str) -> threading.RLock:
        return self.reads if name in READS else self.writes

    def __enter__(self) -> None:
        self.reads.acquire()
        self.writes.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.writes.release()
        self.reads.release()


class IndexSharing:
    """Where this server's tool calls run: reads here (on the index it owns, or on a
    private copy) or at the owner's socket; writes always here."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.turns = Turns()
        self._git_dir = find_git_dir(os.fspath(workspace.root))
        self._owner: str | None = None  # the socket reads go to while another server owns
        self._lock: ServerLock | None = None
        self._index: ServerIndex | None = None
        self._serving: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        """Settle this server's part in the background: the client's handshake need not
        wait, its first read does (on the reads turn)."""
        threading.Thread(target=self._settle, name="tracker-warm-up", daemon=True).start()

    def answer(self, tool: Callable[..., Any], arguments: dict[str, Any]) -> Outcome:
        name = tool.__name__
        if name in READS:
            writes_landed(self.workspace)
        with self.turns.tool(name):
            if self._owner is not None and name in READS:
                forwarded = self._forward(self._owner, name, arguments)
                if forwarded is not None:
                    return forwarded
            return run_tool(tool, self.workspace.root, arguments)

    def close(self) -> None:
        """Stop listening (the socket removed), close the index, free the lock: in this
        order, so that whoever takes the lock next finds the index file free."""
        if self._serving is not None and self._lock is not None:
            self._stop.set()
            wake(self._lock.path)
            self._serving.join(STOP_WAIT)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._lock.path)  # if a command held the loop: the lock is ours
        with self.turns.reads:
            if self._index is not None:
                self._index.close()
                self._index = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    # -- internals --------------------------------------------------------------------------

    def _settle(self) -> None:
        with self.turns.reads:
            lock = self._take_lock()
            if lock is False:
                assert self._git_dir is not None
                self._owner = socket_path(self._git_dir)
                error("tracker mcp: another server holds this repository's index: reads go to it")
                return
            self._own(lock)

    def _take_lock(self) -> ServerLock | Literal[False] | None:
        """The repository's server lock; False when another server holds it, None when
        there is none to take (no git directory, or no folder for its socket)."""
        if self._git_dir is None:
            return None
        try:
            lock = ServerLock.take(self._git_dir)
        except OSError as exc:
            error(f"tracker mcp: cannot share the index with other servers: {exc}")
            return None
        return False if lock is None else lock

    def _forward(self, path: str, name: str, arguments: dict[str, Any]) -> Outcome | None:
        """The owner's answer, or None once this server must answer itself (it took the
        lock of an owner gone, or cannot forward): then it owns the index or a copy."""
        request = request_message(
            tool=name, arguments=arguments, root=os.fspath(self.workspace.root)
        )
        deadline = time.monotonic() + OWNER_WAIT
        while True:
            try:
                answer = exchange(path, request)
            except ValueError:  # arguments marshal cannot carry (none should): run here
                return None
            if answer is not None and not answer.get("declined"):
                return Outcome(answer.get("ok") is True, str(answer.get("text", "")))
            lock = None if answer is not None else self._take_lock()
            if lock is False and time.monotonic() < deadline:
                time.sleep(RETRY_PAUSE)  # the holder is starting, or stopping
                continue
            self._owner = None
            if lock is None or lock is False:
                why = "declines" if answer is not None else "does not answer"
                error(f"tracker mcp: the server holding this repository's index {why}")
                lock = None
            else:
                error("tracker mcp: the server that held the index is gone: this one owns it")
            self._own(lock)
            return None

    def _own(self, lock: ServerLock | None) -> None:
        """Listen first (the lock is this server's: the others wait for it and find it at
        once), then open and sync the index; the reads turn is held throughout."""
        self._lock = lock
        if lock is not None:
            assert self._git_dir is not None
            self._serving = threading.Thread(
                target=serve_forever,
                args=(lock.path, self._git_dir, None),
                kwargs={"guard": self.turns, "tool_turn": self.turns.tool, "stop": self._stop},
                name="tracker-command-server",
                daemon=True,  # close() stops it; an exit without close() need not wait
            )
            self._serving.start()
        try:
            self._index = keep_index_warm(self.workspace)
            if not self._index.shared:
                error(f"tracker mcp: {self._index.note}")
            self._index.live.refresh()
        except Exception:  # reads still work without a warm index, only slower
            error(f"tracker mcp: could not keep the index warm:\n{traceback.format_exc()}")
