"""tracker enhancement new | set"""

from __future__ import annotations

import click

from tracker.cli.common import emit_write, set_command, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option, table, warnings_footer
from tracker.query.spec import EnhancementQuery
from tracker.service import reads
from tracker.service.enhancements import NewEnhancement, create_enhancement, update_enhancement

STATUSES = click.Choice(["planned", "approved", "implementing", "completed"])


@click.group()
def enhancement() -> None:
    """Future enhancements: planned work with a priority and a target quarter."""


@enhancement.command("new")
@click.argument("title")
@click.option("--priority", type=click.IntRange(1, 5), default=3, show_default=True)
@click.option("--status", type=STATUSES, default="planned", show_default=True)
@click.option("--quarter", "target_quarter", default=None, metavar="YYYY-Qn")
@click.option(
    "--principle",
    "principles",
    multiple=True,
    help="A constitutional principle it requires (repeatable).",
)
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    metavar="ID",
    help="A work item it depends on (repeatable).",
)
@click.option("--description", default=None)
@write_options
@click.pass_context
@handle_errors
def enhancement_new(
    ctx: click.Context,
    title: str,
    priority: int,
    status: str,
    target_quarter: str | None,
    principles: tuple[str, ...],
    depends_on: tuple[str, ...],
    description: str | None,
    actor: str | None,
    if_version: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Add a future enhancement."""
    spec = NewEnhancement(
        title, description, priority, status, target_quarter, list(principles), list(depends_on)
    )
    emit_write(create_enhancement(workspace(ctx, actor), spec), fmt)


enhancement.add_command(
    set_command(
        "set",
        "Change an enhancement: `status=approved`, `target_quarter=2027-Q2`.",
        "ID",
        update_enhancement,
    )
)


@enhancement.command("list")
@click.option("--priority", type=click.IntRange(1, 5), default=None)
@click.option("--status", type=STATUSES, default=None)
@click.option("--quarter", default=None, metavar="YYYY-Qn")
@click.option("--at", "at", metavar="REV", default=None, help="As of a commit, branch or tag.")
@format_option()
@click.pass_context
@handle_errors
def enhancement_list(
    ctx: click.Context,
    priority: int | None,
    status: str | None,
    quarter: str | None,
    at: str | None,
    fmt: str,
) -> None:
    """Future enhancements by priority and quarter."""
    data = reads.enhancements(workspace(ctx), EnhancementQuery(priority, status, quarter), at)
    columns = [
        ("ID", "id"),
        ("P", "priority"),
        ("STATUS", "status"),
        ("QUARTER", "target_quarter"),
        ("TITLE", "title"),
    ]
    emit(
        data,
        fmt,
        lambda r: table(r["enhancements"], columns, "no enhancements") + warnings_footer(r),
    )
