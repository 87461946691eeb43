"""Options and helpers shared by the write commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import click

from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option
from tracker.service.assign import Assignment, parse_assignments
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
    return Workspace.open(
        root_name=ctx.obj["root_name"], actor=actor, index_dsn=ctx.obj.get("index_dsn")
    )


def emit_write(result: WriteResult, fmt: str) -> None:
    emit(result.to_dict(), fmt, _write_table)


def _write_table(data: dict[str, Any]) -> str:
    line = f"{data['id']} {data['version']}"
    return f"{line}\n{data['message']}"


class UpdateAction(Protocol):
    def __call__(
        self,
        workspace: Workspace,
        key_text: str,
        assignments: list[Assignment],
        *,
        if_version: str | None,
        force: bool,
    ) -> WriteResult: ...


def set_command(name: str, help_text: str, metavar: str, action: UpdateAction) -> click.Command:
    """`... set KEY FIELD=VALUE...`: the same shape for items, vendors and enhancements."""

    @click.command(name, help=help_text)
    @click.argument("key", metavar=metavar)
    @click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
    @write_options
    @click.pass_context
    @handle_errors
    def command(
        ctx: click.Context,
        key: str,
        assignments: tuple[str, ...],
        actor: str | None,
        if_version: str | None,
        force: bool,
        fmt: str,
    ) -> None:
        result = action(
            workspace(ctx, actor),
            key,
            parse_assignments(assignments),
            if_version=if_version,
            force=force,
        )
        emit_write(result, fmt)

    return command
