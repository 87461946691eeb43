"""tracker new | set | close | reopen | delete | restore | move"""

from __future__ import annotations

import click

from tracker.cli.common import emit_write, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.service.assign import parse_assignments
from tracker.service.items import (
    NewItem,
    create_item,
    move_item,
    parse_meta,
    set_deleted,
    set_status,
    update_item,
)

ITEM_TYPES = click.Choice(["project", "session", "task", "research"])


@click.command()
@click.argument("item_type", metavar="TYPE", type=ITEM_TYPES)
@click.argument("title")
@click.option("--parent", default=None, metavar="ID", help="Parent item (any unique id prefix).")
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    metavar="ID",
    help="An item this one depends on (repeatable).",
)
@click.option("--priority", type=click.IntRange(1, 5), default=None, help="1 high ... 5 low.")
@click.option("--label", "labels", multiple=True, help="A label (repeatable).")
@click.option("--assignee", default=None)
@click.option("--branch", default=None)
@click.option("--status", type=click.Choice(["active", "completed", "blocked"]), default=None)
@click.option(
    "--meta",
    "meta",
    multiple=True,
    metavar="KEY=VALUE",
    help="A metadata field (repeatable), e.g. --meta estimated_hours=3.",
)
@click.option("--description", default=None)
@write_options
@click.pass_context
@handle_errors
def new(
    ctx: click.Context,
    item_type: str,
    title: str,
    parent: str | None,
    depends_on: tuple[str, ...],
    priority: int | None,
    labels: tuple[str, ...],
    assignee: str | None,
    branch: str | None,
    status: str | None,
    meta: tuple[str, ...],
    description: str | None,
    actor: str | None,
    if_version: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Create a work item and commit it; prints its id and version."""
    spec = NewItem(
        item_type,
        title,
        parent,
        list(depends_on),
        priority,
        list(labels),
        assignee,
        branch,
        parse_meta(meta),
        description,
        created_by=actor,
        status=status,
    )
    emit_write(create_item(workspace(ctx, actor), spec), fmt)


@click.command("set")
@click.argument("item_id", metavar="ID")
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@write_options
@click.pass_context
@handle_errors
def set_cmd(
    ctx: click.Context,
    item_id: str,
    assignments: tuple[str, ...],
    actor: str | None,
    if_version: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Change fields of an item: `status=completed`, `metadata.actual_hours=3`,
    `labels+=urgent`, `labels-=later`, `parent=` (empty clears)."""
    result = update_item(
        workspace(ctx, actor),
        item_id,
        parse_assignments(assignments),
        if_version=if_version,
        force=force,
    )
    emit_write(result, fmt)


def _status_command(name: str, status: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("item_id", metavar="ID")
    @write_options
    @click.pass_context
    @handle_errors
    def command(
        ctx: click.Context,
        item_id: str,
        actor: str | None,
        if_version: str | None,
        force: bool,
        fmt: str,
    ) -> None:
        result = set_status(
            workspace(ctx, actor), item_id, status, if_version=if_version, force=force
        )
        emit_write(result, fmt)

    return command


close = _status_command("close", "completed", "Mark an item completed.")
reopen = _status_command("reopen", "active", "Mark an item active again.")


def _delete_command(name: str, deleted: bool, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("item_id", metavar="ID")
    @write_options
    @click.pass_context
    @handle_errors
    def command(
        ctx: click.Context,
        item_id: str,
        actor: str | None,
        if_version: str | None,
        force: bool,
        fmt: str,
    ) -> None:
        result = set_deleted(
            workspace(ctx, actor), item_id, deleted, if_version=if_version, force=force
        )
        emit_write(result, fmt)

    return command


delete = _delete_command("delete", True, "Soft-delete an item (sets deleted_at; history stays).")
restore = _delete_command("restore", False, "Undo a soft delete.")


@click.command()
@click.argument("item_id", metavar="ID")
@click.option("--parent", default=None, metavar="ID", help="The new parent.")
@click.option("--root", "to_root", is_flag=True, help="Make the item a root (no parent).")
@write_options
@click.pass_context
@handle_errors
def move(
    ctx: click.Context,
    item_id: str,
    parent: str | None,
    to_root: bool,
    actor: str | None,
    if_version: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Reparent an item (refused if it would create a cycle or exceed depth 5)."""
    if (parent is None) == (not to_root):
        raise click.UsageError("give exactly one of --parent ID or --root")
    result = move_item(workspace(ctx, actor), item_id, parent, if_version=if_version, force=force)
    emit_write(result, fmt)
