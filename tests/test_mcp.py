"""`tracker mcp` driven by the MCP SDK's own client: the server runs as a subprocess
(`python -m tracker mcp -C REPO`) and every call goes over stdio (once, streamable HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import GIT_IDENTITY, git, run, run_process

TOOLS = {
    "create_work_item",
    "update_work_item",
    "query_work_item",
    "list_work_items",
    "ready_work",
    "add_dependency",
    "remove_dependency",
    "item_history",
    "record_deployment",
    "query_vendor_status",
    "list_vendors",
    "create_vendor",
    "update_vendor_status",
    "get_project_configuration",
    "update_project_configuration",
    "generate_status",
    "query_archived_work_items",
}
PROJECT_META = {"description": "The product", "target_quarter": "2026-Q3"}


def _server_env() -> dict[str, str]:
    return {**GIT_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "HOME": os.environ["HOME"]}


@contextlib.asynccontextmanager
async def connected(repo: Path) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "tracker", "mcp", "-C", str(repo)], env=_server_env()
    )
    async with Client(params, read_timeout_seconds=60) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    assert not result.is_error, text
    return (
        text
        if tool == "generate_status" and arguments.get("format") != "json"
        else json.loads(text)
    )


async def fail(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    text: str = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error, text
    assert "Traceback" not in text
    return text


def serve(repo: Path, scenario: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with connected(repo) as client:
            await scenario(client)

    asyncio.run(main())


async def hierarchy(client: Client) -> tuple[str, str, str]:
    project = await call(
        client, "create_work_item", item_type="project", title="Product", metadata=PROJECT_META
    )
    session = await call(
        client, "create_work_item", item_type="session", title="Sprint", parent_id=project["id"]
    )
    task = await call(
        client,
        "create_work_item",
        item_type="task",
        title="Parse PDFs",
        parent_id=session["id"],
        priority=1,
        metadata={"estimated_hours": 3},
        created_by="claude-code",
    )
    return project["id"], session["id"], task["id"]


def test_lists_every_tool_with_a_description(tracker_repo: Path) -> None:
    async def scenario(client: Client) -> None:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) >= TOOLS
        for tool in tools.values():
            assert tool.description and len(tool.description) > 40, tool.name
        assert tools["query_work_item"].annotations.read_only_hint  # type: ignore[union-attr]
        assert not tools["update_work_item"].annotations.read_only_hint  # type: ignore[union-attr]
        schema = tools["update_work_item"].input_schema
        assert set(schema["required"]) == {"id", "version"}

    serve(tracker_repo, scenario)


def test_hierarchy_query_and_pagination(tracker_repo: Path) -> None:
    async def scenario(client: Client) -> None:
        project, session, task = await hierarchy(client)
        shown = await call(client, "query_work_item", id=task)
        assert [a["id"] for a in shown["ancestors"]] == [project, session]
        assert shown["depth"] == 2
        assert shown["record"]["created_by"] == "claude-code"
        assert shown["record"]["metadata"] == {"estimated_hours": 3}
        assert re.fullmatch(r"[0-9a-f]{40}", shown["version"])
        top = await call(client, "query_work_item", id=project[:7])  # a prefix will do
        assert [(d["id"], d["depth"]) for d in top["descendants"]] == [(session, 1), (task, 2)]
        bare = await call(
            client,
            "query_work_item",
            id=project,
            include_children=False,
            include_dependencies=False,
        )
        assert "descendants" not in bare and "depends_on" not in bare

        for number in range(4):
            await call(client, "create_work_item", item_type="task", title=f"Extra {number}")
        first = await call(client, "list_work_items", item_type="task", limit=3)
        assert (first["total_count"], first["has_more"], len(first["items"])) == (5, True, 3)
        assert first["items"][0]["id"] == task  # priority 1 first
        rest = await call(client, "list_work_items", item_type="task", limit=3, offset=3)
        assert (len(rest["items"]), rest["has_more"]) == (2, False)
        seen = {i["id"] for i in first["items"]} | {i["id"] for i in rest["items"]}
        assert len(seen) == 5
        under = await call(client, "list_work_items", under=project)
        assert {i["id"] for i in under["items"]} == {session, task}
        children = await call(client, "list_work_items", parent_id=session)
        assert [i["id"] for i in children["items"]] == [task]
        assert "data_source" not in children and "warnings" not in children  # compact
        assert "file" not in children["items"][0]

    serve(tracker_repo, scenario)


def test_ready_dependencies_history_and_versioned_update(tracker_repo: Path) -> None:
    async def scenario(client: Client) -> None:
        first = await call(client, "create_work_item", item_type="task", title="First")
        second = await call(client, "create_work_item", item_type="task", title="Second")
        linked = await call(client, "add_dependency", id=second["id"], depends_on=first["id"])
        assert linked["record"]["depends_on"] == [first["id"]]
        ready = await call(client, "ready_work")
        assert [i["id"] for i in ready["items"]] == [first["id"]]
        shown = await call(client, "query_work_item", id=first["id"])
        assert [b["id"] for b in shown["blocks"]] == [second["id"]]

        done = await call(
            client,
            "update_work_item",
            id=first["id"],
            version=first["version"],
            status="completed",
            title="First, done",
            metadata={"actual_hours": 2.5},
            updated_by="agent-7",
        )
        assert done["version"] != first["version"]
        assert {c["field"] for c in done["changes"]} == {
            "status",
            "title",
            "metadata.actual_hours",
        }
        ready = await call(client, "ready_work")
        assert [i["id"] for i in ready["items"]] == [second["id"]]

        history = await call(client, "item_history", id=first["id"])
        versions = history["versions"]
        assert [v["event"] for v in versions] == ["changed", "created"]
        assert versions[0]["version"] == done["version"]
        assert versions[0]["author"] == "agent-7"
        assert {c["field"] for c in versions[0]["changes"]} >= {"status", "title"}

        unlinked = await call(
            client,
            "remove_dependency",
            id=second["id"],
            depends_on=first["id"],
            version=linked["version"],
        )
        assert unlinked["record"]["depends_on"] == []
        stale = await fail(
            client,
            "add_dependency",
            id=second["id"],
            depends_on=first["id"],
            version=linked["version"],
        )
        assert stale.startswith("conflict:")
        deleted = await call(
            client,
            "update_work_item",
            id=second["id"],
            version=unlinked["version"],
            deleted_at="now",
        )
        listed = await call(client, "list_work_items")
        assert second["id"] not in {i["id"] for i in listed["items"]}
        listed = await call(client, "list_work_items", include_deleted=True)
        assert second["id"] in {i["id"] for i in listed["items"]}
        restored = await call(
            client, "update_work_item", id=second["id"], version=deleted["version"], deleted_at=""
        )
        assert "deleted_at" not in restored["record"]

    serve(tracker_repo, scenario)


def test_same_version_from_two_clients_exactly_one_wins(tracker_repo: Path) -> None:
    async def scenario() -> None:
        async with connected(tracker_repo) as one, connected(tracker_repo) as two:
            task = await call(one, "create_work_item", item_type="task", title="Contested")
            seen = await call(two, "query_work_item", id=task["id"])
            assert seen["version"] == task["version"]
            results = await asyncio.gather(
                one.call_tool(
                    "update_work_item",
                    {"id": task["id"], "version": task["version"], "priority": 1},
                ),
                two.call_tool(
                    "update_work_item",
                    {"id": task["id"], "version": seen["version"], "status": "blocked"},
                ),
            )
            errors = [r for r in results if r.is_error]
            wins = [r for r in results if not r.is_error]
            assert len(errors) == 1 and len(wins) == 1
            winner = json.loads(wins[0].content[0].text)  # type: ignore[union-attr]
            text = errors[0].content[0].text  # type: ignore[union-attr]
            assert text.startswith("conflict:")
            assert f"expected version {task['version']}" in text
            assert f"current version {winner['version']}" in text
            assert "changed by Test Author" in text
            final = await call(two, "query_work_item", id=task["id"])
            assert final["version"] == winner["version"]

    asyncio.run(scenario())


def test_errors_start_with_their_kind(tracker_repo: Path) -> None:
    async def scenario(client: Client) -> None:
        task = await call(client, "create_work_item", item_type="task", title="T")
        too_high = await fail(client, "create_work_item", item_type="task", title="T", priority=9)
        assert re.match(r"validation: \.tracker/items/TRK-\w+\.yaml: priority: ", too_high)
        project = await fail(client, "create_work_item", item_type="project", title="No meta")
        assert project.startswith("validation:") and "metadata" in project
        bad_type = await fail(client, "create_work_item", item_type="epic", title="T")
        assert bad_type.startswith("validation: arguments of create_work_item:\nitem_type:")
        missing = await fail(client, "update_work_item", id=task["id"])
        assert missing.startswith("validation:") and "version" in missing
        assert (await fail(client, "query_work_item", id="TRK-ffffff")).startswith("not_found:")
        assert (await fail(client, "query_vendor_status", name="nobody")).startswith("not_found:")
        nowhere = await fail(client, "update_work_item", id="TRK-ffffff", version="HEAD", title="x")
        assert nowhere.startswith("not_found:")
        nothing = await fail(client, "update_work_item", id=task["id"], version=task["version"])
        assert nothing.startswith("usage:")
        assert (await fail(client, "list_work_items", limit=0)).startswith("usage:")
        assert (await fail(client, "delete_everything")) == "not_found: no tool 'delete_everything'"

        # a file committed broken (no hook) names its line
        path = tracker_repo / task["path"]
        text = path.read_text("utf-8").replace("status: active", "status: done")
        path.write_text(text, "utf-8")
        git(tracker_repo, "commit", "-qam", "broken by hand")
        line = text.splitlines().index("status: done") + 1
        broken = await fail(
            client, "update_work_item", id=task["id"], version="HEAD", title="Fixed?"
        )
        assert broken.startswith(f"validation: .tracker/items/{task['id']}.yaml:{line}: status: ")

    serve(tracker_repo, scenario)


def test_deployment_vendors_and_status_report(tracker_repo: Path) -> None:
    async def scenario(client: Client) -> None:
        vendor = await call(
            client,
            "create_vendor",
            name="acme",
            extractor_version="1.2.0",
            formats=["pdf", "csv"],
            passing=8,
            total=10,
            skipped=1,
        )
        shown = await call(client, "query_vendor_status", name="ACME")
        assert shown["version"] == vendor["version"]
        assert shown["format_support"] == {"excel": False, "csv": True, "pdf": True, "ocr": False}
        assert shown["test_results"] == {"passing": 8, "total": 10, "skipped": 1}
        clash = await fail(client, "create_vendor", name="Acme", extractor_version="1")
        assert clash.startswith("conflict:")

        updated = await call(
            client,
            "update_vendor_status",
            name="acme",
            version=vendor["version"],
            status="broken",
            metadata={"test_results": {"passing": 9}, "format_support": {"ocr": True}},
            updated_by="ci-bot",
        )
        assert updated["record"]["test_results"] == {"passing": 9, "total": 10, "skipped": 1}
        assert updated["record"]["format_support"]["ocr"] is True
        assert updated["record"]["updated_by"] == "ci-bot"
        too_many = await fail(
            client,
            "update_vendor_status",
            name="acme",
            version=updated["version"],
            metadata={"test_results": {"passing": 11}},
        )
        assert too_many.startswith("validation:") and "test_results" in too_many
        stale = await fail(
            client,
            "update_vendor_status",
            name="acme",
            version=vendor["version"],
            status="operational",
        )
        assert stale.startswith("conflict:") and updated["version"] in stale
        await call(client, "create_vendor", name="globex", extractor_version="0.1")
        broken = await call(client, "list_vendors", status="broken")
        assert [v["name"] for v in broken["vendors"]] == ["acme"]
        assert (await call(client, "list_vendors"))["total_count"] == 2

        task = await call(client, "create_work_item", item_type="task", title="Ship it")
        deployed = await call(
            client,
            "record_deployment",
            pr_number=42,
            pr_title="Faster PDFs",
            vendor_names=["acme"],
            work_item_ids=[task["id"]],
            test_summary={"unit": 120, "integration": 14},
            constitutional_compliance=True,
            created_by="deploy-bot",
        )
        assert deployed["id"].startswith("DEP-")
        record = deployed["record"]
        assert record["commit"] == git(tracker_repo, "rev-parse", "HEAD~1").strip()
        assert (record["pr"], record["vendors"], record["work_items"]) == (
            42,
            ["acme"],
            [task["id"]],
        )
        shipped = await call(client, "query_work_item", id=task["id"])
        assert [d["id"] for d in shipped["deployments"]] == [deployed["id"]]
        no_compliance = await fail(client, "record_deployment", pr_number=1, pr_title="x")
        assert (
            no_compliance.startswith("validation:") and "constitutional_compliance" in no_compliance
        )

        report = await call(client, "generate_status")
        assert report.startswith("# Project Status")
        assert "acme" in report and "Faster PDFs" in report
        data = await call(client, "generate_status", format="json")
        assert data["vendors"]["total"] == 2

    serve(tracker_repo, scenario)


def test_project_configuration(tracker_repo: Path) -> None:
    async def scenario(client: Client) -> None:
        config = await call(client, "get_project_configuration")
        assert config["project"]["active_context_type"] == "feature"
        assert config["git"] == {
            "branch": "main",
            "head": git(tracker_repo, "rev-parse", "HEAD").strip(),
            "detached": False,
        }
        assert config["index"]["healthy"] is True and config["index"]["checked_at"]
        assert config["version"] == git(tracker_repo, "rev-parse", "HEAD").strip()
        session = await call(
            client,
            "create_work_item",
            item_type="session",
            title="Now",
            metadata={"token_budget": 5000},
        )
        changed = await call(
            client,
            "update_project_configuration",
            version=config["version"],
            active_context_type="research",
            current_session=session["id"][:8],
            default_token_budget=50_000,
        )
        assert changed["record"]["project"] == {
            "active_context_type": "research",
            "current_session": session["id"],
            "default_token_budget": 50_000,
        }
        again = await call(client, "get_project_configuration")
        assert again["version"] == changed["version"]
        assert again["project"]["current_session"] == session["id"]
        stale = await fail(
            client, "update_project_configuration", version=config["version"], archive_after_days=30
        )
        assert stale.startswith("conflict:")
        bad = await fail(client, "update_project_configuration", default_token_budget=5)
        assert bad.startswith("validation:") and "default_token_budget" in bad
        cleared = await call(client, "update_project_configuration", current_session="")
        assert "current_session" not in cleared["record"]["project"]
        new_session = await call(client, "create_work_item", item_type="session", title="Next")
        assert new_session["record"]["metadata"]["token_budget"] == 50_000

    serve(tracker_repo, scenario)


def test_archived_items_are_queried_apart(tracker_repo: Path) -> None:
    async def scenario(client: Client) -> None:
        old = await call(client, "create_work_item", item_type="task", title="Long done")
        await call(client, "create_work_item", item_type="task", title="Still live")
        await call(
            client, "update_work_item", id=old["id"], version=old["version"], status="completed"
        )
        path = tracker_repo / old["path"]
        text = re.sub(r"(?m)^created_at: .*$", "created_at: 2020-01-02T03:04:05Z", path.read_text())
        path.write_text(text, "utf-8")
        git(tracker_repo, "commit", "-qam", "an old item")
        result = run(["archive"])
        assert result.exit_code == 0, result.output
        archived = await call(client, "query_archived_work_items")
        assert [i["id"] for i in archived["items"]] == [old["id"]]
        assert archived["total_count"] == 1 and archived["items"][0]["archived"] is True
        live = await call(client, "list_work_items")
        assert old["id"] not in {i["id"] for i in live["items"]}
        assert (await call(client, "query_archived_work_items", status="active"))["items"] == []

    serve(tracker_repo, scenario)


def test_cli_commands_are_answered_by_the_server_meanwhile(tracker_repo: Path) -> None:
    """The server holds the index file; the CLI is forwarded to it instead of waiting."""

    async def scenario(client: Client) -> None:
        task = await call(client, "create_work_item", item_type="task", title="Seen by the CLI")
        await call(client, "list_work_items")  # the index is open and warm by now
        started = time.monotonic()
        done = run_process(["list", "--format", "json"], cwd=tracker_repo)
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert [i["id"] for i in json.loads(done.stdout)["items"]] == [task["id"]]
        assert elapsed < 2.5, f"{elapsed:.1f} s: the CLI waited for the index lock"

    serve(tracker_repo, scenario)


def test_stdout_carries_only_protocol_messages(tracker_repo: Path) -> None:
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": "create_work_item",
                "arguments": {"item_type": "task", "title": "x"},
            },
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "query_work_item", "arguments": {"id": "TRK-ffffff"}},
        },
    ]
    server = subprocess.Popen(
        [sys.executable, "-m", "tracker", "mcp", "-C", str(tracker_repo)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **_server_env()},
    )
    assert server.stdin is not None and server.stdout is not None
    answers = {}
    try:
        for request in requests:
            server.stdin.write(json.dumps(request) + "\n")
            server.stdin.flush()
            if "id" in request:  # every line is a JSON message, the answer to this request
                answer = json.loads(server.stdout.readline())
                answers[answer["id"]] = answer
        server.stdin.close()
        assert server.stdout.read() == ""
    finally:
        server.wait(timeout=30)
    assert set(answers) == {1, 2, 3}
    assert not answers[2]["result"].get("isError")
    assert answers[3]["result"]["isError"] is True


def test_an_unexpected_failure_is_one_line_and_logged(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process (the failure is planted): the agent reads the type and message only."""
    from tracker.mcp import server as mcp_server

    def ready_work(ws: object, limit: int = 10) -> dict[str, Any]:
        """Planted: fails like a bug would, to see what the agent gets."""
        raise KeyError("planted")

    monkeypatch.setattr(mcp_server, "READ_TOOLS", (ready_work,))
    built = mcp_server.build_server(tracker_repo / ".tracker")

    async def scenario() -> None:
        async with Client(built) as client:
            result = await client.call_tool("ready_work", {})
            assert result.is_error
            assert result.content[0].text == "internal: KeyError: 'planted'"  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_streamable_http(tracker_repo: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracker",
            "mcp",
            "-C",
            str(tracker_repo),
            "--http",
            "--port",
            str(port),
        ],
        env={**os.environ, **_server_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the HTTP server did not start"
            time.sleep(0.1)

        async def scenario() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                assert names >= TOOLS
                made = await call(client, "create_work_item", item_type="task", title="Over HTTP")
                shown = await call(client, "query_work_item", id=made["id"])
                assert shown["version"] == made["version"]

        asyncio.run(scenario())
    finally:
        server.terminate()
        server.wait(timeout=30)
