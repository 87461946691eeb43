"""tracker mcp: the MCP server for agents, over stdio (default) or streamable HTTP."""

from __future__ import annotations

import ipaddress
import os
import signal
from pathlib import Path

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import error
from tracker.cli.server import Stop, stop_on_signals


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
    check versions like the CLI. The first server of a repository keeps its index open
    and warm; servers started after it send their reads to it (and take over when it
    exits). Only protocol messages go to stdout, the log goes to stderr.
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
    from tracker.cli.mcp_sharing import IndexSharing

    where = f"http://{host}:{port}/mcp" if http else "stdio"
    error(f"tracker mcp: serving {ws.display('.')} over {where}")
    sharing = IndexSharing(ws)
    signals: list[int] = []
    try:
        # SIGTERM or SIGINT as an exception (the HTTP server, stopping on one, raises it
        # again once shut down), so that the socket and the index are let go of first;
        # one that comes before the event loop runs waits for it
        with stop_on_signals(shut=True) as gate:
            sharing.start()
            run(build_server(ws.root, sharing.answer), http, host, port, gate.opened)
    except* Stop as stopped:
        signals = [s.args[0] for s in stopped.exceptions if isinstance(s, Stop) and s.args]
    finally:
        sharing.close()
    if signals:  # then end of it as before: over stdio a thread still waits on stdin
        signal.signal(signals[0], signal.SIG_DFL)
        signal.raise_signal(signals[0])


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
