"""tracker config get | set"""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.common import emit_write, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option
from tracker.service.assign import parse_assignments
from tracker.service.config import get_config, set_config


@click.group()
def config() -> None:
    """The project configuration in tracker.yaml."""


@config.command("get")
@format_option()
@click.pass_context
@handle_errors
def config_get(ctx: click.Context, fmt: str) -> None:
    """Show the stored settings and the live git state."""
    emit(get_config(workspace(ctx)), fmt, _table)


def _table(data: dict[str, Any], prefix: str = "") -> str:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(_table(value, f"{prefix}{key}."))
        else:
            lines.append(f"{prefix}{key} = {value if value is not None else ''}")
    return "\n".join(lines)


@config.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@write_options
@click.pass_context
@handle_errors
def config_set(
    ctx: click.Context,
    assignments: tuple[str, ...],
    actor: str | None,
    if_version: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Change settings, e.g. `project.current_session=TRK-7f3a`."""
    result = set_config(
        workspace(ctx, actor), parse_assignments(assignments), if_version=if_version, force=force
    )
    emit_write(result, fmt)
