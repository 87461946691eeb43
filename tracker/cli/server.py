"""The repository's command server, shared by `tracker serve` and `tracker watch`.

One runs per repository (a flock on `<socket>.lock`). It answers the commands
the `tracker` launcher forwards, one at a time, in this process. It leaves its
loop when idle, when the repository's git directory disappears, or on SIGINT or
SIGTERM, and always removes its socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType
from typing import Any

from tracker import __version__
from tracker.cli.launcher import PROTOCOL, receive_message, send_message
from tracker.cli.rendezvous import socket_path

ALREADY_RUNNING = "a tracker server (serve or watch) already runs for this repository"


class Stop(BaseException):
    """SIGINT or SIGTERM: leave the server loop. A BaseException, so that no command's
    error handling (nor click's own Ctrl-C handling) swallows it."""


@contextlib.contextmanager
def single_instance(git_dir: str) -> Iterator[str | None]:
    """Hold the repository's server lock while the block runs: yields the socket path, or
    None when another server holds the lock."""
    path = socket_path(git_dir)
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path + ".lock", "a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield path


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `Stop` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    stopping = False

    def raise_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:  # a second Ctrl-C must not interrupt the clean-up of the first
            stopping = True
            raise Stop

    previous = {sig: signal.signal(sig, raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_forever(
    path: str,
    git_dir: str,
    idle_timeout: float | None,
    guard: AbstractContextManager[Any] | None = None,
    last_activity: Callable[[], float] | None = None,
    on_listening: Callable[[], None] | None = None,
) -> None:
    """Listen on `path` and answer requests until idle, the git directory is gone, or `Stop`.

    `guard` is held while a command runs (`tracker watch` serialises its syncs with it);
    `last_activity` reports other work that counts against the idle timeout.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(64)
        listener.settimeout(1.0)
        if on_listening is not None:
            on_listening()
        last = time.monotonic()
        while os.path.isdir(git_dir):
            if idle_timeout is not None:
                since = max(last, last_activity()) if last_activity else last
                if time.monotonic() - since >= idle_timeout:
                    break
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(None)
                request = receive_message(connection)
                if request is not None:
                    with guard or contextlib.nullcontext():
                        answer = handle(request)
                    send_message(connection, answer)
            last = time.monotonic()
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


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
