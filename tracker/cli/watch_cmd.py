"""tracker watch: keep the index warm as files and refs change, and serve commands meanwhile."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.rendezvous import find_git_dir
from tracker.cli.server import (
    ALREADY_RUNNING,
    Stop,
    serve_forever,
    single_instance,
    stop_on_signals,
)

if TYPE_CHECKING:
    from tracker.service.watch import SyncResult


@click.command()
@click.option(
    "--idle-timeout",
    type=click.FloatRange(1),
    default=None,
    help="Exit after this many seconds without a request or a change (default: never).",
)
@click.option("--quiet", "-q", is_flag=True, help="Log nothing (errors still show).")
@click.option(
    "--publish",
    "publish",
    is_flag=True,
    help="Publish to the team index (Postgres) whenever HEAD moves.",
)
@click.pass_context
@handle_errors
def watch(ctx: click.Context, idle_timeout: float | None, quiet: bool, publish: bool) -> None:
    """Keep the index fresh as the tracker folder and git's refs change.

    Watches the tracker folder and the repository's HEAD, refs and index; a
    change syncs the index within about 100 ms and logs one line to stderr
    (files read and removed, versions updated, commit, milliseconds). While it
    runs it is also the repository's command server, like `tracker serve`:
    every `tracker` command in the repository is answered by this process
    from the warm index. One runs per repository; it runs until Ctrl-C or
    SIGTERM, `--idle-timeout`, or until the repository disappears.

    With --publish it also publishes to the team index after each sync that
    finds HEAD moved (see `tracker index publish`); a publish that fails is
    logged and tried again after the next sync.
    """
    try:
        from tracker.service.watch import Watcher
    except ImportError as exc:
        raise click.ClickException(
            f"tracker watch needs watchdog ({exc}): pip install 'tracker[watch]'"
        ) from None
    git_dir = find_git_dir(os.getcwd())
    if git_dir is None:
        raise click.ClickException("not inside a git repository")
    log = sys.stderr  # commands run meanwhile redirect sys.stderr; the log must not follow

    def note(line: str) -> None:
        if not quiet:
            click.echo(f"{_now()} {line}", file=log)

    def on_sync(result: SyncResult) -> None:
        if result.error is not None:
            click.echo(f"{_now()} sync failed: {result.error}", file=log)
        else:
            note(_describe(result))

    with single_instance(git_dir) as path:
        if path is None:
            click.echo(ALREADY_RUNNING, err=True)
            return
        with stop_on_signals():
            ws = workspace(ctx)
            after_sync = None
            if publish:
                from tracker.service.publish import Republisher

                republish = Republisher(ws)

                def after_sync() -> None:
                    line = republish()
                    if line is not None:
                        note(line)

            watcher = Watcher(ws, on_sync, after_sync)
            try:
                watcher.start()
                serve_forever(
                    path,
                    git_dir,
                    idle_timeout,
                    guard=watcher.lock,
                    last_activity=lambda: watcher.last_sync,
                    on_listening=lambda: note(
                        "watching "
                        + ", ".join(str(p) for p in watcher.watched())
                        + f"; serving commands on {path}"
                    ),
                )
            except (Stop, KeyboardInterrupt):
                pass
            finally:
                watcher.stop()
            note("stopped")


def _describe(result: SyncResult) -> str:
    commit = result.commit[:12] if result.commit else "none"
    rebuilt = "rebuilt, " if result.rebuilt else ""
    return (
        f"synced in {result.milliseconds:.0f} ms: {rebuilt}read {result.files_read}, "
        f"removed {result.files_removed}, versions {result.versions_updated}, commit {commit}"
    )


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S.%f")[:-3]
