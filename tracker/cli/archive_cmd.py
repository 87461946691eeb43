"""tracker archive"""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option, table
from tracker.service.archive import archive_items

MOVED_COLUMNS = [
    ("ID", "id"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("CREATED", "created_at"),
    ("WHY", "why"),
    ("TITLE", "title"),
]


@click.command()
@click.option(
    "--older-than",
    "older_than",
    metavar="AGE",
    default=None,
    help="Archive items created longer ago than this: days or weeks, e.g. 365d, 52w "
    "(default: archive_after_days in tracker.yaml).",
)
@click.option("--dry-run", is_flag=True, help="List what would move and what stays; write nothing.")
@click.option(
    "--include-open",
    is_flag=True,
    help="Archive old active and blocked items too (they are kept by default).",
)
@click.option(
    "--as",
    "actor",
    metavar="NAME",
    default=None,
    help="Author of the commit (default: $TRACKER_ACTOR, then git config).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Move files with uncommitted local edits; the edits follow them, uncommitted.",
)
@format_option()
@click.pass_context
@handle_errors
def archive(
    ctx: click.Context,
    older_than: str | None,
    dry_run: bool,
    include_open: bool,
    actor: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Move old finished work items to archive/items in one commit; prints the ids and SHA."""
    data = archive_items(
        workspace(ctx, actor),
        older_than,
        include_open=include_open,
        dry_run=dry_run,
        force=force,
    )
    emit(data, fmt, _archive_table)


def _archive_table(data: dict[str, Any]) -> str:
    cutoff = data["cutoff"][:10]
    lines = []
    if data["archived"]:
        lines.append(table(data["archived"], MOVED_COLUMNS))
    if data["dry_run"]:
        lines.append(
            f"would archive {data['count']} item(s) created before {cutoff} "
            "(dry run: nothing written)"
        )
    elif data["version"]:
        lines.append(f"{data['version']}\n{data['message']}")
    else:
        lines.append(f"nothing to archive: no finished item was created before {cutoff}")
    if data["kept"]:
        lines.append(f"kept ({len(data['kept'])} created before {cutoff}, staying):")
        lines += [f"  {kept['id']}  {kept['reason']}" for kept in data["kept"]]
    return "\n".join(lines)
