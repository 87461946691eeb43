"""tracker mcp: the MCP server for agents, over stdio (default) or streamable HTTP."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import threading
import traceback
from pathlib import Path

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import error
from tracker.cli.rendezvous import find_git_dir
from tracker.cli.server import serve_forever, single_instance
from tracker.service.server_index import ServerIndex, keep_index_warm
from tracker.service.workspace import Workspace


@click.command()
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The repository to serve (as `tracker -C PATH`; MCP clients pass it after `mcp`).",
)
@click.option("--http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on with --http (the server has no authentication: keep it local).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on with --http.",
)
@click.pass_context
@handle_errors
def mcp(ctx: click.Context, directory: Path | None, http: bool, host: str, port: int) -> None:
    """Serve this repository's tracker to agents over MCP (Model Context Protocol).

    An MCP client starts it (stdio, the default) or connects to it (`--http`, streamable
    HTTP on http://HOST:PORT/mcp). Tools create, update and query work items, vendors,
    deployments, the project configuration and the status report; writes commit and
    check versions like the CLI. One process serves one repository and keeps its index
    open and warm; only protocol messages go to stdout, the log goes to stderr.
    """
    try:
        from tracker.mcp.server import build_server, run
    except ImportError as exc:
        raise click.ClickException(
            f"tracker mcp needs the MCP SDK ({exc}): pip install 'tracker[mcp]'"
        ) from None
    if directory is not None:
        os.chdir(directory)
    ws = workspace(ctx)
    if http and not _is_loopback(host):
        error(f"warning: serving on {host}: anyone who can reach it can change this tracker")
    lock = threading.RLock()  # tool calls, the warm-up and forwarded commands take turns
    where = f"http://{host}:{port}/mcp" if http else "stdio"
    error(f"tracker mcp: serving {ws.display('.')} over {where}")
    with contextlib.ExitStack() as stack:
        started = _warm_up(ws, lock, stack)
        try:
            run(build_server(ws.root, lock), http, host, port)
        finally:
            with lock:
                if started:
                    started[0].close()


def _warm_up(
    ws: Workspace, lock: threading.RLock, stack: contextlib.ExitStack
) -> list[ServerIndex]:
    """Open and sync the index in the background (the client's handshake need not wait; the
    first tool call does, on the lock); the list holds it once open."""
    started: list[ServerIndex] = []

    def warm() -> None:
        with lock:
            try:
                index = keep_index_warm(ws)
                started.append(index)
                if not index.shared:
                    error(f"tracker mcp: {index.note}")
                index.live.refresh()
                if index.shared:
                    _serve_commands(ws, lock, stack)
            except Exception:  # reads still work without a warm index, only slower
                error(f"tracker mcp: could not keep the index warm:\n{traceback.format_exc()}")

    threading.Thread(target=warm, name="tracker-warm-up", daemon=True).start()
    return started


def _serve_commands(ws: Workspace, lock: threading.RLock, stack: contextlib.ExitStack) -> None:
    """Answer the repository's `tracker` commands from this process's warm index, as
    `tracker serve` would, when no serve or watch runs: the index file is this process's
    now, so a command run on its own would wait for it, then read every file."""
    git_dir = find_git_dir(os.fspath(ws.root))
    if git_dir is None:
        return
    path = stack.enter_context(single_instance(git_dir))
    if path is None:
        return
    stack.callback(_remove, path)
    threading.Thread(
        target=serve_forever,
        args=(path, git_dir, None),
        kwargs={"guard": lock},
        name="tracker-command-server",
        daemon=True,
    ).start()


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
