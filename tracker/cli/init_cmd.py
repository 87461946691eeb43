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
@click.option(
    "--merge-driver",
    is_flag=True,
    help="Also let git merge tracker files field by field (.gitattributes + git config).",
)
@format_option(choices=("table", "json"))
@click.pass_context
@handle_errors
def init(ctx: click.Context, id_prefix: str, hook: bool, merge_driver: bool, fmt: str) -> None:
    """Create the tracker folder (.tracker/) in the current directory.

    Existing files, including an existing git hook, are never overwritten:
    they are reported as kept. --merge-driver appends one line to the
    repository's .gitattributes (when missing) and sets merge.tracker.* in the
    repository's git config, so that `git merge` runs `tracker merge-driver`.
    """
    steps = init_tracker(
        Path.cwd(), ctx.obj["root_name"], id_prefix=id_prefix, hook=hook, merge_driver=merge_driver
    )
    data = [
        {
            "path": str(
                step.path.relative_to(Path.cwd())
                if step.path.is_relative_to(Path.cwd())
                else step.path
            ),
            "action": step.action,
            **({"detail": step.detail} if step.detail else {}),
        }
        for step in steps
    ]
    emit(data, fmt, _table)


def _table(rows: list[dict[str, str]]) -> str:
    return "\n".join(
        f"{row['action']:8} {row['path']}" + (f" ({row['detail']})" if "detail" in row else "")
        for row in rows
    )
