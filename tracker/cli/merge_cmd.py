"""tracker merge-driver BASE OURS THEIRS [PATH]"""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.errors import handle_errors
from tracker.cli.output import error
from tracker.service.merge import merge_driver as run_merge_driver


@click.command("merge-driver")
@click.argument("base", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("ours", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("theirs", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("path", required=False)
@handle_errors
def merge_driver(base: Path, ours: Path, theirs: Path, path: str | None) -> None:
    """Merge one tracker file field by field; git runs this as `%O %A %B %P`.

    BASE is the common ancestor (may be missing or empty), OURS the current
    version, which receives the result, THEIRS the other branch's version, PATH
    the file's path in the repository. Fields changed on one side only, list
    additions and removals from both sides, and different keys of a nested
    mapping all merge; `updated_at` takes the later time. A field changed two
    different ways is written between conflict markers and the exit code is 1.
    A file that is not a YAML mapping is merged line by line by `git merge-file`.
    Set up by `tracker init --merge-driver`.
    """
    shown = path or str(ours)
    result = run_merge_driver(base, ours, theirs, shown)
    if result.reason:
        error(f"tracker merge: {result.reason}; merged line by line")
    if result.conflicts:
        error(f"tracker merge: conflict in {shown} fields: {', '.join(result.conflicts)}")
    if result.exit_code:
        raise SystemExit(result.exit_code)
