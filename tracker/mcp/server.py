"""The MCP server: tracker's tools for agents, over stdio or streamable HTTP. The only
importer of the MCP SDK.

Every tool is a function of tracker.mcp.tools, registered under its own name with its
docstring as the description agents read. Calls run one at a time under one lock (they
share the warm index and the repository). Errors reach the agent as text that starts
with a kind it can branch on: `validation:`, `not_found:`, `conflict:`, `usage:`,
`ambiguous:`, ... and `internal:` for a bug, whose traceback goes to stderr only.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import ValidationError

from tracker import __version__
from tracker.errors import TrackerError, ValidationFailed
from tracker.mcp.tools import READ_TOOLS, WRITE_TOOLS
from tracker.service.workspace import Workspace
from tracker.service.writer import VersionConflict

log = logging.getLogger("tracker.mcp")

INSTRUCTIONS = """\
tracker: this repository's work items (project > session > task/research, depth <= 5),
vendors, deployments and project configuration, stored as YAML files committed to git.
Every record has a `version` (the commit that last changed it); updates take the version
you last saw and are refused with `conflict:` if someone changed the record since: read
it again and retry. Errors start with their kind: validation:, not_found:, conflict:,
usage:, ambiguous:, internal:. Start with ready_work or list_work_items."""


class KindError(ToolError):
    """A tool's error whose text starts with its kind."""


class TrackerServer(MCPServer[Any]):
    """MCPServer whose errors start with their kind: the SDK puts "Error executing tool
    NAME: " before a tool's own message, and words rejected arguments its own way."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, KindError):
                raise KindError(str(exc.__cause__)) from None
            if isinstance(exc.__cause__, ValidationError):
                raise KindError(_arguments_text(name, exc.__cause__)) from None
            if name not in {tool.name for tool in await self.list_tools()}:
                raise KindError(f"not_found: no tool '{name}'") from None
            raise


def build_server(root: Path, lock: threading.RLock) -> MCPServer[Any]:
    """The server for the tracker at `root`; every call holds `lock` while it runs."""
    server = TrackerServer(
        "tracker", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    for tool in READ_TOOLS:
        _register(server, tool, root, lock, read_only=True)
    for tool in WRITE_TOOLS:
        _register(server, tool, root, lock, read_only=False)
    return server


def run(server: MCPServer[Any], http: bool, host: str, port: int) -> None:
    if http:
        server.run("streamable-http", host=host, port=port)
    else:
        server.run("stdio")


def _register(
    server: MCPServer[Any],
    tool: Callable[..., Any],
    root: Path,
    lock: threading.RLock,
    read_only: bool,
) -> None:
    """Register `tool` without its first parameter (the workspace, made per call)."""
    signature = inspect.signature(tool, eval_str=True)
    parameters = list(signature.parameters.values())[1:]

    @functools.wraps(tool)
    def call(**arguments: Any) -> str:
        with lock:
            try:
                result = tool(Workspace(root), **arguments)
            except TrackerError as exc:
                raise KindError(error_text(exc)) from None
            except Exception as exc:  # a bug: the agent gets one line, stderr the traceback
                log.exception("tool %s failed", tool.__name__)
                raise KindError(f"internal: {type(exc).__name__}: {exc}") from None
        if isinstance(result, str):
            return result
        return json.dumps(result, separators=(",", ":"), ensure_ascii=False, default=str)

    del call.__wrapped__  # the SDK reads the signature below, not the tool's own
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=str
    )
    call.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": str}
    server.add_tool(
        call,
        name=tool.__name__,
        description=inspect.getdoc(tool),
        annotations=ToolAnnotations(
            read_only_hint=read_only,
            destructive_hint=False,  # writes are commits: history keeps every version
            idempotent_hint=read_only,
            open_world_hint=False,
        ),
        structured_output=False,
    )


def error_text(exc: TrackerError) -> str:
    """The kind first, then what happened and, for a conflict, what to do next."""
    if isinstance(exc, ValidationFailed):
        return "validation: " + "\n".join(str(problem) for problem in exc.problems)
    if isinstance(exc, VersionConflict):
        return (
            f"conflict: {exc.key} changed since the version you gave: expected version "
            f"{exc.expected}, current version {exc.current} (changed by {exc.changed_by} at "
            f"{exc.changed_at}); nothing was written. Read it again and retry with the "
            "current version."
        )
    return f"{exc.kind}: {exc.message}"


def _arguments_text(tool: str, error: ValidationError) -> str:
    lines = [
        f"{'.'.join(str(part) for part in problem['loc']) or tool}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    ]
    return f"validation: arguments of {tool}:\n" + "\n".join(lines)
