"""tracker dep add | rm"""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.common import emit_write, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option, warnings_footer
from tracker.service import reads
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


@dep.command("tree")
@click.argument("item_id", metavar="ID")
@click.option("--at", "at", metavar="REV", default=None, help="As of a commit, branch or tag.")
@format_option()
@click.pass_context
@handle_errors
def dep_tree(ctx: click.Context, item_id: str, at: str | None, fmt: str) -> None:
    """What ID depends on, transitively."""
    data = reads.dependency_tree(workspace(ctx), item_id, at)
    emit(data, fmt, _render_tree)


def _render_tree(data: dict[str, Any]) -> str:
    lines: list[str] = []

    def walk(node: dict[str, Any], level: int) -> None:
        mark = " (see above)" if node.get("repeated") else ""
        lines.append(f"{'  ' * level}{node['id']} [{node['status']}] {node['title'] or ''}{mark}")
        for child in node.get("depends_on", []):
            walk(child, level + 1)

    walk(data["tree"], 0)
    return "\n".join(lines) + warnings_footer(data)
