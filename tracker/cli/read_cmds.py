"""tracker list | tree | ready | blocked | query"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option, table, warnings_footer
from tracker.query.spec import SORTS, ItemQuery
from tracker.service import reads

F = TypeVar("F", bound=Callable[..., Any])
ITEM_COLUMNS = [
    ("ID", "id"),
    ("TYPE", "type"),
    ("P", "priority"),
    ("STATUS", "status"),
    ("TITLE", "title"),
    ("PARENT", "parent"),
]


def at_option(func: F) -> F:
    return click.option(
        "--at", "at", metavar="REV", default=None, help="Answer as of a commit, branch or tag."
    )(func)


def item_table(
    key: str = "items", columns: list[tuple[str, str]] | None = None, empty: str = "no items"
) -> Callable[[dict[str, Any]], str]:
    def render(data: dict[str, Any]) -> str:
        return table(data[key], columns or ITEM_COLUMNS, empty) + warnings_footer(data)

    return render


@click.command("list")
@click.option("--type", "item_type", type=click.Choice(["project", "session", "task", "research"]))
@click.option("--status", type=click.Choice(["active", "completed", "blocked"]))
@click.option("--parent", metavar="ID", help="Direct children of this item.")
@click.option("--root", "roots_only", is_flag=True, help="Only items without a parent.")
@click.option("--under", metavar="ID", help="Every descendant of this item.")
@click.option("--label")
@click.option("--assignee")
@click.option("--priority", type=click.IntRange(1, 5))
@click.option("--branch")
@click.option("--text", help="Case-insensitive text in the title or description.")
@click.option("--include-deleted", is_flag=True, help="Also soft-deleted items.")
@click.option("--archived", is_flag=True, help="Archived items instead of live ones.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.option("--sort", type=click.Choice(sorted(SORTS)), default="priority", show_default=True)
@click.option(
    "--all-repos",
    is_flag=True,
    help="Across every repository published to the team index (Postgres).",
)
@at_option
@format_option()
@click.pass_context
@handle_errors
def list_cmd(
    ctx: click.Context,
    item_type: str | None,
    status: str | None,
    parent: str | None,
    roots_only: bool,
    under: str | None,
    label: str | None,
    assignee: str | None,
    priority: int | None,
    branch: str | None,
    text: str | None,
    include_deleted: bool,
    archived: bool,
    limit: int,
    offset: int,
    sort: str,
    all_repos: bool,
    at: str | None,
    fmt: str,
) -> None:
    """List work items, filtered; JSON carries total_count and has_more for paging.

    With --all-repos the team index answers for every repository and branch
    published to it; each item then names its repository and published_branch.
    """
    query = ItemQuery(
        item_type,
        status,
        parent,
        roots_only,
        under,
        label,
        assignee,
        priority,
        branch,
        text,
        include_deleted,
        archived,
        limit,
        offset,
        sort,
    )
    if all_repos and at is not None:
        raise click.UsageError("--all-repos reads what was published: it takes no --at")
    data = reads.list_items(workspace(ctx), query, at, all_repos)
    emit(data, fmt, _list_table)


def _list_table(data: dict[str, Any]) -> str:
    body = table(data["items"], ITEM_COLUMNS, "no items")
    shown = f"{data['offset'] + 1}-{data['offset'] + len(data['items'])}" if data["items"] else "0"
    return f"{body}\n({shown} of {data['total_count']}){warnings_footer(data)}"


@click.command()
@click.argument("root", required=False, metavar="[ID]")
@click.option("--depth", type=click.IntRange(0, 5), default=None, help="Levels below the top.")
@click.option("--include-deleted", is_flag=True)
@at_option
@format_option()
@click.pass_context
@handle_errors
def tree(
    ctx: click.Context,
    root: str | None,
    depth: int | None,
    include_deleted: bool,
    at: str | None,
    fmt: str,
) -> None:
    """The hierarchy (all of it, or under ID), indented by depth."""
    data = reads.tree(workspace(ctx), root, depth, include_deleted, at)
    emit(data, fmt, _tree_table)


def _tree_table(data: dict[str, Any]) -> str:
    items = data["items"]
    if not items:
        return "no items" + warnings_footer(data)
    top = min(item["depth"] or 0 for item in items)
    lines = [
        f"{'  ' * ((item['depth'] or 0) - top)}{item['id']} [{item['type']}] "
        f"{item['title']} ({item['status']}, p{item['priority']})"
        for item in items
    ]
    return "\n".join(lines) + warnings_footer(data)


@click.command()
@click.option("--limit", type=click.IntRange(1), default=10, show_default=True)
@at_option
@format_option()
@click.pass_context
@handle_errors
def ready(ctx: click.Context, limit: int, at: str | None, fmt: str) -> None:
    """Active items whose dependencies are all completed, best first (priority, then age)."""
    emit(reads.ready(workspace(ctx), limit, at), fmt, item_table(empty="nothing is ready"))


@click.command()
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@at_option
@format_option()
@click.pass_context
@handle_errors
def blocked(ctx: click.Context, limit: int, at: str | None, fmt: str) -> None:
    """Open items waiting on dependencies, with what blocks each."""
    data = reads.blocked(workspace(ctx), limit, at)

    def render(result: dict[str, Any]) -> str:
        rows = [
            {**item, "blockers": [b["id"] for b in item["blocked_by"]]} for item in result["items"]
        ]
        columns = [*ITEM_COLUMNS[:5], ("BLOCKED BY", "blockers")]
        return table(rows, columns, "nothing is blocked") + warnings_footer(result)

    emit(data, fmt, render)


@click.command()
@click.argument("sql_text", metavar="SQL")
@at_option
@format_option()
@click.pass_context
@handle_errors
def query(ctx: click.Context, sql_text: str, at: str | None, fmt: str) -> None:
    """Read-only SQL over the index: views work_items and dependencies, tables vendors,
    deployments, deployment_vendors, deployment_items, enhancements, enhancement_deps."""
    data = reads.run_query(workspace(ctx), sql_text, at)

    def render(result: dict[str, Any]) -> str:
        rows = result["rows"]
        columns = [(key.upper(), key) for key in rows[0]] if rows else []
        return table(rows, columns, "no rows") + warnings_footer(result)

    emit(data, fmt, render)
