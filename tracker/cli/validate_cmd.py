"""tracker validate [PATH...]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option
from tracker.errors import ExitCode, Problem
from tracker.service.validate import validate_paths


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--staged",
    is_flag=True,
    help="Check the content staged in git's index (what the next commit holds).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes (default: one per core).",
)
@format_option(choices=("table", "json"))
@click.pass_context
@handle_errors
def validate(
    ctx: click.Context, paths: tuple[Path, ...], staged: bool, jobs: int | None, fmt: str
) -> None:
    """Check tracker files: each file's schema, then the rules that span files.

    With no PATH, the whole tracker root. A PATH may be a tracker root, or files
    inside one: their schema is checked and the cross-file rules of their whole
    tracker. Every problem is printed as `path:line: field: message`; the exit
    code is 1 when there is any.
    """
    reports = validate_paths(list(paths), ctx.obj["root_name"], staged=staged, jobs=jobs)
    problems = [problem for report in reports for problem in report.problems]
    data = {
        "ok": not problems,
        "files_checked": sum(report.files_checked for report in reports),
        "problems": [problem.to_dict() for problem in problems],
    }
    emit(data, fmt, _table)
    if problems:
        raise SystemExit(ExitCode.INVALID)


def _table(data: dict[str, Any]) -> str:
    lines = [str(Problem(**problem)) for problem in data["problems"]]
    count = len(lines)
    found = f"{count} problem{'s' if count != 1 else ''}" if count else "no problems"
    return "\n".join([*lines, f"{data['files_checked']} files checked, {found}"])
