"""tracker init"""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option
from tracker.constants import DEFAULT_ID_PREFIX
from tracker.service.init import init_tracker


@click.command()
@click.option(
    "--prefix",
    "id_prefix",
    default=DEFAULT_ID_PREFIX,
    show_default=True,
    help="Prefix of new work-item ids.",
)
@click.option(
    "--hook",
    is_flag=True,
    help="Also install a git pre-commit hook that runs `tracker validate --staged`.",
)
@format_option(choices=("table", "json"))
@click.pass_context
@handle_errors
def init(ctx: click.Context, id_prefix: str, hook: bool, fmt: str) -> None:
    """Create the tracker folder (.tracker/) in the current directory.

    Existing files, including an existing git hook, are never overwritten:
    they are reported as kept.
    """
    steps = init_tracker(Path.cwd(), ctx.obj["root_name"], id_prefix=id_prefix, hook=hook)
    data = [
        {
            "path": str(
                step.path.relative_to(Path.cwd())
                if step.path.is_relative_to(Path.cwd())
                else step.path
            ),
            "action": step.action,
        }
        for step in steps
    ]
    emit(data, fmt, lambda rows: "\n".join(f"{r['action']:8} {r['path']}" for r in rows))
