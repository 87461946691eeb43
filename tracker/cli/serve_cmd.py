"""tracker serve: keep the CLI warm for one repository and run forwarded commands."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import click

from tracker import __version__
from tracker.cli.launcher import PROTOCOL, receive_message, send_message
from tracker.cli.rendezvous import find_git_dir, socket_path


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
    per repository; it exits when idle or when the repository disappears.
    """
    git_dir = find_git_dir(os.getcwd())
    if git_dir is None:
        raise click.ClickException("not inside a git repository")
    path = socket_path(git_dir)
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path + ".lock", "a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            click.echo("a tracker server already runs for this repository", err=True)
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(64)
        listener.settimeout(1.0)
        click.echo(f"tracker server for {git_dir} on {path}", err=True)
        try:
            _serve_forever(listener, git_dir, idle_timeout)
        except KeyboardInterrupt:
            pass
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def _serve_forever(listener: socket.socket, git_dir: str, idle_timeout: float) -> None:
    last = time.monotonic()
    while time.monotonic() - last < idle_timeout and os.path.isdir(git_dir):
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        with connection:
            connection.settimeout(None)
            request = receive_message(connection)
            if request is not None:
                send_message(connection, handle(request))
        last = time.monotonic()


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Run one forwarded command as if it had been started in the client's directory."""
    if (request.get("protocol"), request.get("version"), request.get("python")) != (
        PROTOCOL,
        __version__,
        sys.hexversion,
    ):
        return {"declined": True}
    from tracker.cli.main import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    saved_cwd = os.getcwd()
    saved_env = {k: v for k, v in os.environ.items() if k.startswith(("TRACKER_", "GIT_"))}
    code = 0
    try:
        os.chdir(request["cwd"])
        for key in saved_env:
            del os.environ[key]
        os.environ.update(request.get("env", {}))
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                cli.main(args=request["argv"], prog_name="tracker", standalone_mode=True)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OSError as exc:
        stderr.write(f"error: {exc}\n")
        code = 1
    finally:
        for key in [k for k in os.environ if k.startswith(("TRACKER_", "GIT_"))]:
            del os.environ[key]
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return {"stdout": stdout.getvalue(), "stderr": stderr.getvalue(), "code": code}
