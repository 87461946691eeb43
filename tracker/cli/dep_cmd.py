"""tracker dep add | rm"""

from __future__ import annotations

import click

from tracker.cli.common import emit_write, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.service.items import change_dependency


@click.group()
def dep() -> None:
    """Dependencies between work items."""


def _dep_command(name: str, add: bool, help_text: str) -> click.Command:
    @dep.command(name, help=help_text)
    @click.argument("item_id", metavar="ID")
    @click.option("--on", "target", required=True, metavar="OTHER", help="The other item.")
    @write_options
    @click.pass_context
    @handle_errors
    def command(
        ctx: click.Context,
        item_id: str,
        target: str,
        actor: str | None,
        if_version: str | None,
        force: bool,
        fmt: str,
    ) -> None:
        result = change_dependency(
            workspace(ctx, actor), item_id, target, add, if_version=if_version, force=force
        )
        emit_write(result, fmt)

    return command


add = _dep_command("add", True, "Make ID depend on OTHER (refused if it would form a cycle).")
rm = _dep_command("rm", False, "Remove the dependency of ID on OTHER.")
