"""Options and helpers shared by the write commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from tracker.cli.output import emit, format_option
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult

F = TypeVar("F", bound=Callable[..., Any])


def write_options(func: F) -> F:
    """--as, --if-version, --force and --format, in that order on every write command."""
    func = format_option(choices=("table", "json", "yaml"))(func)
    func = click.option(
        "--force",
        is_flag=True,
        help="Apply the change on top of uncommitted local edits of the file.",
    )(func)
    func = click.option(
        "--if-version",
        "if_version",
        metavar="SHA",
        default=None,
        help="Refuse (exit 3) unless the record is still at this version.",
    )(func)
    func = click.option(
        "--as",
        "actor",
        metavar="NAME",
        default=None,
        help="Author of the commit (default: $TRACKER_ACTOR, then git config).",
    )(func)
    return func


def workspace(ctx: click.Context, actor: str | None = None) -> Workspace:
    return Workspace.open(root_name=ctx.obj["root_name"], actor=actor)


def emit_write(result: WriteResult, fmt: str) -> None:
    emit(result.to_dict(), fmt, _write_table)


def _write_table(data: dict[str, Any]) -> str:
    line = f"{data['id']} {data['version']}"
    return f"{line}\n{data['message']}"
