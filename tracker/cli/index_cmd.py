"""tracker index status | sync | rebuild"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option, is_terminal
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
@click.option("--quiet", "-q", is_flag=True, help="Print nothing, no progress bar.")
@format_option()
@click.pass_context
@handle_errors
def sync_cmd(ctx: click.Context, quiet: bool, fmt: str) -> None:
    """Bring the index up to date now (every query does this by itself)."""
    with _progress_bar(quiet) as progress:
        data = index_sync(workspace(ctx), progress=progress)
    if not quiet:
        emit(data, fmt, _pairs)


@index.command("rebuild")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing, no progress bar.")
@format_option()
@click.pass_context
@handle_errors
def rebuild(ctx: click.Context, quiet: bool, fmt: str) -> None:
    """Build the index again from the files."""
    with _progress_bar(quiet) as progress:
        data = index_sync(workspace(ctx), rebuild=True, progress=progress)
    if not quiet:
        emit(data, fmt, _pairs)


PROGRESS_FROM = 500  # files: below this the work is over before a bar is worth drawing


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A bar on stderr while files are read; none when quiet or not a terminal."""
    if quiet or not is_terminal():
        yield None
        return
    bars: list[Any] = []

    def advance(done: int, total: int) -> None:
        if total < PROGRESS_FROM:
            return
        if not bars:
            bars.append(click.progressbar(length=total, label="reading files", file=sys.stderr))
            bars[0].__enter__()
        bars[0].update(done - bars[0].pos)

    try:
        yield advance
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


@index.command("publish")
@click.option("--to", "dsn", metavar="DSN", default=None, help="The team index (Postgres DSN).")
@click.option(
    "--branch",
    metavar="NAME",
    default=None,
    help="Publish as this branch (default: the current one; needed on a detached HEAD).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
@format_option()
@click.pass_context
@handle_errors
def publish(ctx: click.Context, dsn: str | None, branch: str | None, quiet: bool, fmt: str) -> None:
    """Push HEAD's tracker state to the team index (Postgres).

    Only the records whose file changed since the last publish are sent, in one
    transaction; publishing again with nothing changed sends nothing. Uncommitted
    tracker changes are refused (a team index holds commits only). The DSN
    defaults to --index-dsn, $TRACKER_INDEX_DSN, then index.dsn in tracker.yaml.
    """
    from tracker.service.publish import publish as publish_to

    data = publish_to(workspace(ctx), dsn, branch)
    if not quiet:
        emit(data, fmt, _pairs)
