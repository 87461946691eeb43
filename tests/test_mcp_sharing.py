"""Several `tracker mcp` servers on one repository, as agents start them: the first owns the
index, the others forward their reads to it, and one takes over when the owner goes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.conftest import git
from tests.test_mcp import _server_env, call, fail
from tracker.cli.rendezvous import find_git_dir, socket_path

SERVER = [sys.executable, "-m", "tracker", "mcp"]
FORWARDS = "reads go to it"
TOOK_OVER = "this one owns it"


@contextlib.asynccontextmanager
async def server(directory: Path, log: TextIO) -> AsyncIterator[Client]:
    """A stdio server for `directory`, as an agent starts it; its stderr goes to `log`."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tracker", "mcp", "-C", str(directory)],
        env=_server_env(),
    )
    async with Client(stdio_client(params, errlog=log), read_timeout_seconds=60) as client:
        yield client


def logged(log: TextIO) -> str:
    log.flush()
    return Path(log.name).read_text("utf-8")


def the_socket(repo: Path) -> Path:
    git_dir = find_git_dir(str(repo))
    assert git_dir is not None
    return Path(socket_path(git_dir))


def assert_left_clean(repo: Path, logs: list[TextIO]) -> None:
    """The servers are gone: no socket left behind, no traceback in their logs (closed)."""
    assert not the_socket(repo).exists(), "a server left its socket behind"
    for log in logs:
        assert "Traceback" not in logged(log)
        log.close()


def test_servers_share_one_index_and_see_each_others_writes(
    tracker_repo: Path, tmp_path: Path
) -> None:
    """The second and third servers forward their reads (the third from another directory:
    the owner answers as if started there), writes of each are seen by all at once."""
    (tracker_repo / "sub").mkdir()
    logs = [open(tmp_path / f"server{i}.log", "w+", encoding="utf-8") for i in range(3)]  # noqa: SIM115

    async def scenario() -> None:
        async with server(tracker_repo, logs[0]) as one:
            first = await call(one, "create_work_item", item_type="task", title="By one")
            await call(one, "query_work_item", id=first["id"])  # the index is open by now
            async with (
                server(tracker_repo, logs[1]) as two,
                server(tracker_repo / "sub", logs[2]) as three,
            ):
                started = time.monotonic()
                seen = await call(two, "query_work_item", id=first["id"])
                assert time.monotonic() - started < 2.5, "the read waited for the index file"
                assert seen["version"] == first["version"]
                assert seen["path"] == f".tracker/items/{first['id']}.yaml"
                elsewhere = await call(three, "query_work_item", id=first["id"])
                assert elsewhere["path"] == f"{tracker_repo}/.tracker/items/{first['id']}.yaml"

                second = await call(two, "create_work_item", item_type="task", title="By two")
                listed = await call(one, "list_work_items")
                assert {i["id"] for i in listed["items"]} == {first["id"], second["id"]}
                changed = await call(
                    three, "update_work_item", id=first["id"], version=first["version"], priority=1
                )
                for client in (one, two, three):
                    shown = await call(client, "query_work_item", id=first["id"])
                    assert (shown["version"], shown["record"]["priority"]) == (
                        changed["version"],
                        1,
                    )
                ready = await call(two, "ready_work")
                assert [i["id"] for i in ready["items"]] == [first["id"], second["id"]]

                # errors keep their kinds on the way back
                missing = await fail(two, "query_work_item", id="TRK-ffffff")
                assert missing.startswith("not_found:")
                assert (await fail(three, "list_work_items", limit=0)).startswith("usage:")
                stale = await fail(
                    two, "update_work_item", id=first["id"], version=first["version"], title="x"
                )
                assert stale.startswith("conflict:")

    asyncio.run(scenario())
    assert FORWARDS not in logged(logs[0])
    assert FORWARDS in logged(logs[1]) and FORWARDS in logged(logs[2])
    assert_left_clean(tracker_repo, logs)


def test_a_same_version_race_between_three_servers_has_one_winner(
    tracker_repo: Path, tmp_path: Path
) -> None:
    with open(tmp_path / "servers.log", "w+", encoding="utf-8") as log:

        async def scenario() -> None:
            async with (
                server(tracker_repo, log) as one,
                server(tracker_repo, log) as two,
                server(tracker_repo, log) as three,
            ):
                clients = (one, two, three)
                task = await call(one, "create_work_item", item_type="task", title="Contested")
                for race in range(3):
                    version = (await call(clients[race], "query_work_item", id=task["id"]))[
                        "version"
                    ]
                    results = await asyncio.gather(
                        *(
                            client.call_tool(
                                "update_work_item",
                                {"id": task["id"], "version": version, "title": f"{race} by {i}"},
                            )
                            for i, client in enumerate(clients)
                        )
                    )
                    wins = [json.loads(r.content[0].text) for r in results if not r.is_error]  # type: ignore[union-attr]
                    lost = [r.content[0].text for r in results if r.is_error]  # type: ignore[union-attr]
                    assert len(wins) == 1, lost
                    assert len(lost) == 2 and all(t.startswith("conflict:") for t in lost), lost
                    for client in clients:  # every server sees the winner at once
                        shown = await call(client, "query_work_item", id=task["id"])
                        assert shown["version"] == wins[0]["version"]
                        assert shown["record"]["title"] == wins[0]["record"]["title"]

        asyncio.run(scenario())
        assert logged(log).count(FORWARDS) == 2


class RawServer:
    """A stdio server driven line by line, so that the test knows its process (to end it
    in the middle of the others' work)."""

    def __init__(self, directory: Path, log: TextIO) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tracker", "mcp", "-C", str(directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, **_server_env()},
        )
        self._ids = 0
        self._request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        )
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, tool: str, **arguments: Any) -> Any:
        result = self._request("tools/call", {"name": tool, "arguments": arguments})["result"]
        text = result["content"][0]["text"]
        assert not result.get("isError"), text
        return json.loads(text)

    def exit(self) -> None:
        """As when the agent quits: end of input, the server cleans up and exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._ids += 1
        self._send({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        assert self.process.stdout is not None
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        assert answer["id"] == self._ids, answer
        return answer

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()


def test_when_the_owner_exits_another_server_takes_over(tracker_repo: Path, tmp_path: Path) -> None:
    logs = [open(tmp_path / f"server{i}.log", "w+", encoding="utf-8") for i in range(3)]  # noqa: SIM115
    owner = RawServer(tracker_repo, logs[0])

    async def scenario() -> None:
        try:
            task = owner.call("create_work_item", item_type="task", title="Kept")
            owner.call("ready_work")  # the index is open by now
            async with server(tracker_repo, logs[1]) as two:
                forwarded = await call(two, "query_work_item", id=task["id"])
                assert forwarded["record"]["title"] == "Kept"
                owner.exit()
                shown = await call(two, "query_work_item", id=task["id"])  # not an error
                assert shown["version"] == task["version"]
                changed = await call(
                    two, "update_work_item", id=task["id"], version=task["version"], priority=1
                )
                async with server(tracker_repo, logs[2]) as three:  # forwards to two now
                    shown = await call(three, "query_work_item", id=task["id"])
                    assert shown["version"] == changed["version"]
        finally:
            if owner.process.poll() is None:
                owner.kill()

    asyncio.run(scenario())
    assert TOOK_OVER in logged(logs[1])
    assert FORWARDS in logged(logs[2])
    assert_left_clean(tracker_repo, logs)


def test_when_the_owner_dies_the_call_in_flight_is_answered(
    tracker_repo: Path, tmp_path: Path
) -> None:
    """Killed, the owner removes nothing: its socket stays behind, its locks go with it."""
    logs = [open(tmp_path / f"server{i}.log", "w+", encoding="utf-8") for i in range(2)]  # noqa: SIM115
    owner = RawServer(tracker_repo, logs[0])

    async def scenario() -> None:
        try:
            task = owner.call("create_work_item", item_type="task", title="Kept")
            owner.call("ready_work")
            async with server(tracker_repo, logs[1]) as two:
                await call(two, "ready_work")
                owner.kill()
                assert the_socket(tracker_repo).exists()
                git(tracker_repo, "status")  # the repository is fine
                listed = await call(two, "list_work_items")
                assert [i["id"] for i in listed["items"]] == [task["id"]]
        finally:
            if owner.process.poll() is None:
                owner.kill()

    asyncio.run(scenario())
    assert TOOK_OVER in logged(logs[1])
    assert not the_socket(tracker_repo).exists()
    for log in logs:
        log.close()


def test_a_server_forwards_to_tracker_watch(tracker_repo: Path, tmp_path: Path) -> None:
    """`tracker watch` holds the index: the MCP server's reads go to it, answered as if
    run in the server's own directory and environment."""
    from tests.test_watch import Watch

    watcher = Watch(tracker_repo)
    try:
        watcher.wait_for("serving commands", 20.0)
        with open(tmp_path / "server.log", "w+", encoding="utf-8") as log:

            async def scenario() -> None:
                async with server(tracker_repo / "sub", log) as client:
                    made = await call(client, "create_work_item", item_type="task", title="W")
                    shown = await call(client, "query_work_item", id=made["id"])
                    assert shown["version"] == made["version"]
                    assert shown["path"] == f"{tracker_repo}/.tracker/items/{made['id']}.yaml"

            (tracker_repo / "sub").mkdir()
            asyncio.run(scenario())
            assert FORWARDS in logged(log)
    finally:
        watcher.stop()


def test_a_kept_answer_goes_when_the_files_change(tracker_repo: Path, tmp_path: Path) -> None:
    """Reads asked again between two changes are answered from what the owner kept; an
    edit made outside tracker, then its commit, are seen at once all the same."""
    with open(tmp_path / "server.log", "w+", encoding="utf-8") as log:

        async def scenario() -> None:
            async with server(tracker_repo, log) as one, server(tracker_repo, log) as two:
                task = await call(one, "create_work_item", item_type="task", title="Before")
                for client in (one, two, one, two):
                    shown = await call(client, "query_work_item", id=task["id"])
                    assert shown["record"]["title"] == "Before" and not shown.get("dirty")
                path = tracker_repo / task["path"]
                path.write_text(path.read_text("utf-8").replace("Before", "After"), "utf-8")
                for client in (two, one):
                    shown = await call(client, "query_work_item", id=task["id"])
                    assert (shown["record"]["title"], shown["dirty"]) == ("After", True)
                git(tracker_repo, "commit", "-qam", "by hand")
                for client in (one, two):
                    shown = await call(client, "query_work_item", id=task["id"])
                    assert shown["version"] != task["version"] and not shown.get("dirty")

        asyncio.run(scenario())


def test_sigterm_lets_go_of_the_socket(tracker_repo: Path, tmp_path: Path) -> None:
    """Over stdio (a thread still waits on its input) and over HTTP, SIGTERM stops the
    owner at once, its socket removed, and it dies of the signal as before."""
    with open(tmp_path / "server.log", "w+", encoding="utf-8") as log:
        owner = RawServer(tracker_repo, log)
        try:
            owner.call("ready_work")
            assert the_socket(tracker_repo).exists()
            owner.process.send_signal(signal.SIGTERM)
            assert owner.process.wait(timeout=10) == -signal.SIGTERM
        finally:
            if owner.process.poll() is None:
                owner.kill()
        assert not the_socket(tracker_repo).exists()

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        http = subprocess.Popen(
            [*SERVER, "-C", str(tracker_repo), "--http", "--port", str(port)],
            env={**os.environ, **_server_env()},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 30
            while not the_socket(tracker_repo).exists():
                assert http.poll() is None and time.monotonic() < deadline, logged(log)
                time.sleep(0.05)
            http.send_signal(signal.SIGTERM)
            assert http.wait(timeout=10) == -signal.SIGTERM
        finally:
            if http.poll() is None:
                http.kill()
        assert not the_socket(tracker_repo).exists()
        assert "Traceback" not in logged(log)
