"""The repository's command server, shared by `tracker serve`, `tracker watch` and the
MCP server that owns the index.

One runs per repository (a flock on `<socket>.lock`). It answers the commands
the `tracker` launcher forwards, and the tool calls other MCP servers forward, one at a
time, in this process. It leaves its loop when idle, when the repository's git
directory disappears, when told to stop, or on SIGINT or SIGTERM, and always removes
its socket.
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
from tracker.cli.launcher import PROTOCOL, forwarded_environment, receive_message, send_message
from tracker.cli.rendezvous import socket_path

ALREADY_RUNNING = "a tracker server (serve or watch) already runs for this repository"


class Stop(BaseException):
    """SIGINT or SIGTERM (its number the first argument): leave the server loop. A
    BaseException, so that no command's error handling (nor click's own Ctrl-C
    handling) swallows it."""


class ServerLock:
    """The repository's server lock, held until `release` (or until this process ends:
    the kernel drops a flock with its holder)."""

    def __init__(self, path: str, handle: io.BufferedRandom) -> None:
        self.path = path  # the socket the holder listens on
        self._handle = handle

    @classmethod
    def take(cls, git_dir: str) -> ServerLock | None:
        """The lock, or None when another server holds it."""
        path = socket_path(git_dir)
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = open(path + ".lock", "a+b")  # noqa: SIM115 (held past this function)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return cls(path, handle)

    def release(self) -> None:
        self._handle.close()


@contextlib.contextmanager
def single_instance(git_dir: str) -> Iterator[str | None]:
    """Hold the repository's server lock while the block runs: yields the socket path, or
    None when another server holds the lock."""
    lock = ServerLock.take(git_dir)
    if lock is None:
        yield None
        return
    try:
        yield lock.path
    finally:
        lock.release()


class SignalGate:
    """Whether a stop signal raises `Stop` now or waits: while shut, one that arrives is
    kept and raised when the gate opens (or the block ends)."""

    def __init__(self, shut: bool) -> None:
        self.shut = shut
        self.pending: int | None = None

    @contextlib.contextmanager
    def opened(self) -> Iterator[None]:
        """Raise `Stop` for a kept signal, then for any signal while the block runs."""
        self.shut = False
        try:
            self.raise_pending()
            yield
        finally:
            self.shut = True

    def raise_pending(self) -> None:
        signum, self.pending = self.pending, None
        if signum is not None:
            raise Stop(signum)


@contextlib.contextmanager
def stop_on_signals(shut: bool = False) -> Iterator[SignalGate]:
    """Turn SIGINT and SIGTERM into `Stop` while the block runs (main thread only).

    With `shut`, a signal waits until the block opens the gate it is given: a `Stop`
    raised at any bytecode could cut through an asyncio event loop being built, which
    leaves a half-made loop whose finaliser prints a traceback.
    """
    gate = SignalGate(shut)
    if threading.current_thread() is not threading.main_thread():
        yield gate
        return

    stopping = False

    def raise_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:  # a second Ctrl-C must not interrupt the clean-up of the first
            return
        stopping = True
        if gate.shut:
            gate.pending = signum
        else:
            raise Stop(signum)

    previous = {sig: signal.signal(sig, raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield gate
        gate.raise_pending()  # arrived after the gate shut again: stop all the same
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
    tool_turn: Callable[[str], AbstractContextManager[Any]] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Listen on `path` and answer requests until idle, the git directory is gone, `stop`
    is set (then `wake` the loop), or `Stop`.

    `guard` is held while a command runs (`tracker watch` serialises its syncs with it);
    `tool_turn(name)`, if given, instead of it while a tool call forwarded from this
    process's own directory and environment runs (nothing process-wide is swapped for
    it); `last_activity` reports other work that counts against the idle timeout.
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
        while os.path.isdir(git_dir) and not (stop is not None and stop.is_set()):
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
                    answer = respond(request, guard or contextlib.nullcontext(), tool_turn)
                    with contextlib.suppress(OSError):  # the client went away: its loss
                        send_message(connection, answer)
            last = time.monotonic()
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def wake(path: str) -> None:
    """Make the server listening at `path` look at its `stop` event now, not in a second."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.connect(path)


def respond(
    request: dict[str, Any],
    guard: AbstractContextManager[Any],
    tool_turn: Callable[[str], AbstractContextManager[Any]] | None = None,
) -> dict[str, Any]:
    """The answer to one request: a forwarded command's output, a tool call's outcome, or
    `declined` for a client of another tracker or Python."""
    if (request.get("protocol"), request.get("version"), request.get("python")) != (
        PROTOCOL,
        __version__,
        sys.hexversion,
    ):
        return {"declined": True}
    if "tool" not in request:
        with guard:
            return handle(request)
    if tool_turn is not None and _same_context(request):
        with tool_turn(str(request["tool"])):
            return _run_tool(request)
    try:
        with guard, _as_client(request):
            return _run_tool(request)
    except OSError as exc:  # the client's directory is gone
        return {"ok": False, "text": f"internal: {type(exc).__name__}: {exc}"}


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Run one forwarded command as if it had been started in the client's directory."""
    from tracker.cli.main import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    try:
        with (
            _as_client(request),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                cli.main(args=request["argv"], prog_name="tracker", standalone_mode=True)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OSError as exc:
        stderr.write(f"error: {exc}\n")
        code = 1
    return {"stdout": stdout.getvalue(), "stderr": stderr.getvalue(), "code": code}


def _run_tool(request: dict[str, Any]) -> dict[str, Any]:
    from tracker.mcp.calls import run_named

    arguments = request.get("arguments")
    outcome = run_named(
        str(request["tool"]),
        Path(str(request["root"])),
        arguments if isinstance(arguments, dict) else {},
    )
    return {"ok": outcome.ok, "text": outcome.text}


def _same_context(request: dict[str, Any]) -> bool:
    return request.get("cwd") == os.getcwd() and request.get("env") == forwarded_environment()


@contextlib.contextmanager
def _as_client(request: dict[str, Any]) -> Iterator[None]:
    """The client's working directory and TRACKER_/GIT_ environment while the block runs
    (process-wide: the caller makes sure nothing else runs meanwhile)."""
    saved_cwd = os.getcwd()
    saved_env = {k: v for k, v in os.environ.items() if k.startswith(("TRACKER_", "GIT_"))}
    try:
        os.chdir(request["cwd"])
        for key in saved_env:
            del os.environ[key]
        os.environ.update(request.get("env", {}))
        yield
    finally:
        for key in [k for k in os.environ if k.startswith(("TRACKER_", "GIT_"))]:
            del os.environ[key]
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
