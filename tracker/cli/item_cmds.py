"""tracker new | set | close | reopen | delete | restore | move"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

import click

from tracker.cli.common import emit_write, set_command, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.service.items import (
    NewItem,
    create_item,
    move_item,
    parse_meta,
    set_deleted,
    set_status,
    update_item,
)
from tracker.service.workspace import Workspace
from tracker.service.writer import WriteResult


class ItemAction(Protocol):
    def __call__(self, workspace: Workspace, key_text: str, **options: Any) -> WriteResult: ...


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


set_cmd = set_command(
    "set",
    "Change fields of an item: `status=completed`, `metadata.actual_hours=3`, "
    "`labels+=urgent`, `labels-=later`, `parent=` (empty clears).",
    "ID",
    update_item,
)


def _one_item_command(name: str, help_text: str, action: ItemAction) -> click.Command:
    """A command that takes one item id and the write options, and makes one change."""

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
        result = action(workspace(ctx, actor), item_id, if_version=if_version, force=force)
        emit_write(result, fmt)

    return command


close = _one_item_command(
    "close", "Mark an item completed.", partial(set_status, status="completed")
)
reopen = _one_item_command(
    "reopen", "Mark an item active again.", partial(set_status, status="active")
)
delete = _one_item_command(
    "delete",
    "Soft-delete an item (sets deleted_at; history stays).",
    partial(set_deleted, deleted=True),
)
restore = _one_item_command("restore", "Undo a soft delete.", partial(set_deleted, deleted=False))


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
