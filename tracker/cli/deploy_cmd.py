"""tracker deploy record"""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.common import emit_write, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option, table, warnings_footer
from tracker.errors import UsageError
from tracker.query.spec import DeploymentQuery
from tracker.service import reads
from tracker.service.deployments import NewDeployment, record_deployment


@click.group()
def deploy() -> None:
    """Deployment events: what shipped, with which vendors and work items."""


def parse_counts(pairs: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pair in pairs:
        kind, sep, value = pair.partition("=")
        if not sep or not kind or not value.strip().isdigit():
            raise UsageError(f"--tests {pair!r}: expected KIND=COUNT, e.g. unit=120")
        counts[kind.strip()] = int(value)
    return counts


@deploy.command("record")
@click.option("--pr", type=click.IntRange(1), required=True, help="Pull request number.")
@click.option("--title", "pr_title", required=True, help="Pull request title.")
@click.option("--commit", default=None, metavar="REV", help="Deployed commit (default HEAD).")
@click.option("--branch", default=None, help="Deployed branch (default: the current branch).")
@click.option(
    "--at",
    "deployed_at",
    default=None,
    metavar="TIME",
    help="When it was deployed (ISO 8601; default now).",
)
@click.option("--vendor", "vendors", multiple=True, metavar="NAME", help="Repeatable.")
@click.option("--item", "items", multiple=True, metavar="ID", help="Repeatable.")
@click.option(
    "--tests",
    "tests",
    multiple=True,
    metavar="KIND=COUNT",
    help="Test counts by category (repeatable), e.g. --tests unit=120.",
)
@click.option(
    "--compliant/--not-compliant",
    default=True,
    show_default=True,
    help="Constitutional compliance.",
)
@write_options
@click.pass_context
@handle_errors
def record(
    ctx: click.Context,
    pr: int,
    pr_title: str,
    commit: str | None,
    branch: str | None,
    deployed_at: str | None,
    vendors: tuple[str, ...],
    items: tuple[str, ...],
    tests: tuple[str, ...],
    compliant: bool,
    actor: str | None,
    if_version: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Record a deployment and commit it."""
    spec = NewDeployment(
        pr,
        pr_title,
        commit,
        branch,
        deployed_at,
        list(vendors),
        list(items),
        parse_counts(tests),
        compliant,
        created_by=actor,
    )
    emit_write(record_deployment(workspace(ctx, actor), spec), fmt)


@deploy.command("list")
@click.option("--vendor", default=None, metavar="NAME")
@click.option("--item", default=None, metavar="ID")
@click.option("--since", default=None, metavar="DATE", help="ISO date or time.")
@click.option("--limit", type=click.IntRange(1), default=10, show_default=True)
@click.option("--at", "at", metavar="REV", default=None, help="As of a commit, branch or tag.")
@format_option()
@click.pass_context
@handle_errors
def deploy_list(
    ctx: click.Context,
    vendor: str | None,
    item: str | None,
    since: str | None,
    limit: int,
    at: str | None,
    fmt: str,
) -> None:
    """Deployments, newest first."""
    query = DeploymentQuery(vendor, item, since, limit)
    data = reads.deployments(workspace(ctx), query, at)

    def render(result: dict[str, Any]) -> str:
        rows = [
            {**d, "date": str(d["deployed_at"])[:10], "commit": (d["commit"] or "")[:8]}
            for d in result["deployments"]
        ]
        columns = [
            ("ID", "id"),
            ("DATE", "date"),
            ("PR", "pr"),
            ("TITLE", "pr_title"),
            ("COMMIT", "commit"),
            ("COMPLIANT", "constitutional_compliance"),
            ("VENDORS", "vendors"),
        ]
        return table(rows, columns, "no deployments") + warnings_footer(result)

    emit(data, fmt, render)
