"""The `tracker` executable: hand the command to the repository's server when one runs.

Starting Python and importing click, pydantic and pygit2 costs ~0.4 s per
command; a running `tracker serve` (or `tracker watch`) has paid that once.
This module imports only builtin modules (no json, whose regexes cost ~10 ms,
and the bare _socket rather than socket.py, which pulls in enum), forwards
argv, the working directory and the TRACKER_/GIT_ environment to the server's
socket, and prints its answer. Without a server the command runs here,
exactly the same. MCP servers forward their reads over the same socket (a request
with `tool` instead of `argv`).
"""

from __future__ import annotations

import _socket
import marshal
import os
import sys

# Commands that must run in this process: they serve, watch, or talk to a terminal.
LOCAL_ONLY = {"serve", "watch", "mcp", "merge-driver", "--help", "-h", "--version"}
PROTOCOL = 2  # 2: requests may carry a tool call (an older server declines them all)


def forwarded_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(("TRACKER_", "GIT_"))}


def send_message(connection: _socket.socket, payload: dict[str, object]) -> None:
    # marshal: builtin and fast; both ends are the same tracker version on the same Python.
    body = marshal.dumps(payload)
    connection.sendall(len(body).to_bytes(4, "big") + body)


def receive_message(connection: _socket.socket) -> dict[str, object] | None:
    header = _read_exactly(connection, 4)
    if header is None:
        return None
    body = _read_exactly(connection, int.from_bytes(header, "big"))
    if body is None:
        return None
    message = marshal.loads(body)
    return message if isinstance(message, dict) else None


def _read_exactly(connection: _socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks.extend(chunk)
    return bytes(chunks)


def _directory(argv: list[str]) -> str:
    if len(argv) >= 2 and argv[0] == "-C":
        return os.path.join(os.getcwd(), argv[1])
    return os.getcwd()


def request_message(**fields: object) -> dict[str, object]:
    """A request to the server: who asks (this tracker on this Python), from which
    directory and environment, and `fields` (`argv`, or `tool`, `arguments` and `root`)."""
    from tracker import __version__

    return {
        "protocol": PROTOCOL,
        "version": __version__,
        "python": sys.hexversion,
        "cwd": os.getcwd(),
        "env": forwarded_environment(),
        **fields,
    }


def exchange(path: str, message: dict[str, object]) -> dict[str, object] | None:
    """Send one request to the server listening at `path` and wait for its answer; None
    when none answered (nothing listens there, or it went away meanwhile). ValueError
    when `message` holds what marshal cannot carry."""
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        connection.connect(path)
        send_message(connection, message)
        return receive_message(connection)
    except OSError:
        return None
    finally:
        connection.close()


def try_server(argv: list[str]) -> int | None:
    """The exit code of the command run by the server, or None when no server took it."""
    if os.environ.get("TRACKER_NO_SERVER") or LOCAL_ONLY.intersection(argv[:3]) or not argv:
        return None
    from tracker.cli.rendezvous import find_git_dir, socket_path

    git_dir = find_git_dir(_directory(argv))
    if git_dir is None:
        return None
    path = socket_path(git_dir)
    if not os.path.exists(path):
        return None
    answer = exchange(path, request_message(argv=argv))  # None: a stale socket, run here
    if answer is None or answer.get("declined"):
        return None
    sys.stdout.write(str(answer.get("stdout", "")))
    sys.stderr.write(str(answer.get("stderr", "")))
    sys.stdout.flush()
    code = answer.get("code", 0)
    return code if isinstance(code, int) else 1


def main() -> None:
    argv = sys.argv[1:]
    code = try_server(argv)
    if code is not None:
        raise SystemExit(code)
    from tracker.cli.main import main as run_here

    run_here(argv)
