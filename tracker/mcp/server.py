"""The MCP server: tracker's tools for agents, over stdio or streamable HTTP. The only
importer of the MCP SDK.

Every tool is a function of tracker.mcp.tools, registered under its own name with its
docstring as the description agents read. Where a call runs is the caller's choice
(`answer`: here, or at the server that owns the index, see tracker.cli.mcp_sharing).
Errors reach the agent as text that starts with a kind it can branch on (see
tracker.mcp.calls).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import ValidationError

from tracker import __version__
from tracker.mcp.calls import Outcome, run_tool
from tracker.mcp.tools import READ_TOOLS, WRITE_TOOLS

log = logging.getLogger("tracker.mcp")

# (tool, arguments checked against its signature) -> its outcome
Answer = Callable[[Callable[..., Any], dict[str, Any]], Outcome]

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


def build_server(root: Path, answer: Answer | None = None) -> MCPServer[Any]:
    """The server for the tracker at `root`; `answer` runs each call (default: here)."""
    server = TrackerServer(
        "tracker", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    run = answer or functools.partial(_run_here, root)
    for tool in READ_TOOLS:
        _register(server, tool, run, read_only=True)
    for tool in WRITE_TOOLS:
        _register(server, tool, run, read_only=False)
    return server


def run(
    server: MCPServer[Any],
    http: bool,
    host: str,
    port: int,
    running: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
) -> None:
    """Serve until the client leaves; `running()` is held while the event loop runs."""

    async def serve() -> None:
        with running():
            if http:
                # Plain JSON answers, not an SSE stream per call: the tools send nothing
                # before their result, and a stream costs a few tenths of a millisecond.
                await server.run_streamable_http_async(host=host, port=port, json_response=True)
            else:
                await server.run_stdio_async()

    anyio.run(serve)


def _register(
    server: MCPServer[Any], tool: Callable[..., Any], answer: Answer, read_only: bool
) -> None:
    """Register `tool` without its first parameter (the workspace, made per call)."""
    signature = inspect.signature(tool, eval_str=True)
    parameters = list(signature.parameters.values())[1:]

    @functools.wraps(tool)
    def call(**arguments: Any) -> str:
        outcome = answer(tool, arguments)
        if not outcome.ok:
            raise KindError(outcome.text)
        return outcome.text

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


def _run_here(root: Path, tool: Callable[..., Any], arguments: dict[str, Any]) -> Outcome:
    return run_tool(tool, root, arguments)


def _arguments_text(tool: str, error: ValidationError) -> str:
    lines = [
        f"{'.'.join(str(part) for part in problem['loc']) or tool}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    ]
    return f"validation: arguments of {tool}:\n" + "\n".join(lines)
