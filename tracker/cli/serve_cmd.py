"""tracker serve: keep the CLI warm for one repository and run forwarded commands."""

from __future__ import annotations

import contextlib
import os

import click

from tracker.cli.rendezvous import find_git_dir
from tracker.cli.server import (
    ALREADY_RUNNING,
    Stop,
    serve_forever,
    single_instance,
    stop_on_signals,
)


@click.command()
@click.option(
    "--idle-timeout",
    type=click.FloatRange(1),
    default=900.0,
    show_default=True,
    help="Exit after this many seconds without a request.",
)
def serve(idle_timeout: float) -> None:
    """Serve this repository's tracker commands over a local socket.

    While it runs, every `tracker` command in the repository is answered by
    this process, so it skips Python's start-up and imports (~0.4 s). It is
    optional: without it every command works the same, only slower. One runs
    per repository (`tracker watch` serves too); it exits when idle, when the
    repository disappears, or on Ctrl-C or SIGTERM.
    """
    git_dir = find_git_dir(os.getcwd())
    if git_dir is None:
        raise click.ClickException("not inside a git repository")
    with single_instance(git_dir) as path:
        if path is None:
            click.echo(ALREADY_RUNNING, err=True)
            return
        from tracker.service.indexer import warm_indexes, warm_on_demand
        from tracker.service.live import LiveIndex

        warm_on_demand(LiveIndex.start)  # each tracker root queried keeps its index open
        try:
            with stop_on_signals(), contextlib.suppress(Stop, KeyboardInterrupt):
                serve_forever(
                    path,
                    git_dir,
                    idle_timeout,
                    on_listening=lambda: click.echo(
                        f"tracker server for {git_dir} on {path}", err=True
                    ),
                )
        finally:
            warm_on_demand(None)
            for warm in warm_indexes():
                warm.close()
