"""One tool call, run here: a tool function, a workspace and JSON arguments in, the text an
agent reads out. No MCP SDK: a command server (`tracker serve`, `watch`, or the MCP server
that owns the index) runs the calls other MCP servers forward to it with this too.

Errors become text that starts with a kind the agent can branch on: `validation:`,
`not_found:`, `conflict:`, `usage:`, `ambiguous:`, ... and `internal:` for a bug, whose
traceback goes to this process's stderr only.

Where this process keeps the index warm, the answers of reads that come from the index
alone are kept with it (its memo) until the index next changes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.errors import TrackerError, ValidationFailed
from tracker.mcp.tools import (
    READ_TOOLS,
    WRITE_TOOLS,
    list_vendors,
    list_work_items,
    query_archived_work_items,
    query_vendor_status,
    query_work_item,
    ready_work,
)
from tracker.service.indexer import warm_index
from tracker.service.workspace import Workspace
from tracker.service.writer import VersionConflict

log = logging.getLogger("tracker.mcp")

TOOLS: dict[str, Callable[..., Any]] = {tool.__name__: tool for tool in READ_TOOLS + WRITE_TOOLS}
KEPT = frozenset(
    tool.__name__
    for tool in (
        query_work_item,
        list_work_items,
        query_archived_work_items,
        ready_work,
        query_vendor_status,
        list_vendors,
    )
)
KEPT_MAX = 1000  # entries of the warm index's memo: past it, answers are not kept
_KEPT = object()  # the memo's keys of kept answers start with it


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str  # the result as compact JSON (or the report's text), or the error's text
    # the answer says where it came from or what degraded it (once: not to be kept)
    noted: bool = False


def run_tool(tool: Callable[..., Any], root: Path, arguments: Mapping[str, Any]) -> Outcome:
    ws = Workspace(root)
    warm = warm_index(ws) if _kept(tool.__name__, arguments) else None
    if warm is None:
        return _run(tool, ws, arguments)
    # Agents working together ask the same thing between two commits (the item they are
    # all about to change): the warm index keeps the answer's text until it changes.
    with warm.answering() as answer:
        if answer is None or answer.cache is None:
            return _run(tool, ws, arguments)
        key = (
            _KEPT,
            tool.__name__,
            os.getcwd(),
            json.dumps(arguments, sort_keys=True, default=str),
        )
        kept = answer.cache.get(key)
        if isinstance(kept, Outcome):
            return kept
        outcome = _run(tool, ws, arguments)
        if outcome.ok and not outcome.noted and len(answer.cache) < KEPT_MAX:
            answer.cache[key] = outcome
        return outcome


def _kept(name: str, arguments: Mapping[str, Any]) -> bool:
    """Whether the answer comes from the local index alone (not the clock, not git's
    history, not the team index), so that it holds while the index does."""
    return name in KEPT and not arguments.get("all_repos")


def _run(tool: Callable[..., Any], ws: Workspace, arguments: Mapping[str, Any]) -> Outcome:
    try:
        result = tool(ws, **arguments)
    except TrackerError as exc:
        return Outcome(False, error_text(exc))
    except Exception as exc:  # a bug: the agent gets one line, stderr the traceback
        log.exception("tool %s failed", tool.__name__)
        return Outcome(False, f"internal: {type(exc).__name__}: {exc}")
    if isinstance(result, str):
        return Outcome(True, result)
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False, default=str)
    return Outcome(True, text, "warnings" in result or "data_source" in result)


def run_named(name: str, root: Path, arguments: Mapping[str, Any]) -> Outcome:
    """A call forwarded by name (its arguments checked by the server that took it)."""
    tool = TOOLS.get(name)
    if tool is None:
        return Outcome(False, f"not_found: no tool '{name}'")
    return run_tool(tool, root, arguments)


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
