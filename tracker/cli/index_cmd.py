"""tracker index status | sync | rebuild"""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option
from tracker.service.index_admin import index_status, index_sync


@click.group()
def index() -> None:
    """The query index (DuckDB, inside the git directory; always safe to delete)."""


def _pairs(data: dict[str, Any]) -> str:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


@index.command("status")
@format_option()
@click.pass_context
@handle_errors
def status(ctx: click.Context, fmt: str) -> None:
    """Where the index is, which commit it reflects, what it holds."""
    emit(index_status(workspace(ctx)), fmt, _pairs)


@index.command("sync")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
@format_option()
@click.pass_context
@handle_errors
def sync_cmd(ctx: click.Context, quiet: bool, fmt: str) -> None:
    """Bring the index up to date now (every query does this by itself)."""
    data = index_sync(workspace(ctx))
    if not quiet:
        emit(data, fmt, _pairs)


@index.command("rebuild")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
@format_option()
@click.pass_context
@handle_errors
def rebuild(ctx: click.Context, quiet: bool, fmt: str) -> None:
    """Delete the index and build it again from the files."""
    data = index_sync(workspace(ctx), rebuild=True)
    if not quiet:
        emit(data, fmt, _pairs)
