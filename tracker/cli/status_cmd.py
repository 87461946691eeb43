"""tracker status"""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import error, format_option, to_json
from tracker.cli.read_cmds import at_option
from tracker.service.status import status_data
from tracker.service.status_render import render_status


@click.command("status")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the report to this file instead of printing it.",
)
@at_option
@format_option(default="markdown", choices=("markdown", "json"))
@click.pass_context
@handle_errors
def status(ctx: click.Context, out: Path | None, at: str | None, fmt: str) -> None:
    """The project status report: vendors, active work items, recent deployments, pending
    enhancements, archived items and a Mermaid graph of open dependencies. The Markdown
    comes from a Jinja2 template; a file of the same name in the tracker's templates/
    folder (templates/status.md.j2) replaces the built-in one."""
    ws = workspace(ctx)
    data = status_data(ws, at)
    if fmt == "json":
        text = to_json(data) + "\n"
    else:
        text = render_status(ws, data, fmt)
        text += "" if text.endswith("\n") else "\n"  # an override may end without one
        for warning in data["warnings"]:  # on stderr: the report may be going to a file
            error(f"warning: {warning}")
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    error(f"wrote the status report to {out}")
