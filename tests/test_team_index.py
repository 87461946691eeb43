"""The team index (PostgreSQL) against a real server: publishing, reading, falling back.

Every read the team index answers must equal what the local index answers for the same
commit; a publish sends what changed and nothing else; two clones publishing at once
leave one clone's state, never a mix; whatever goes wrong with the server, a read is
still answered (from the local index, with a warning saying why).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from tests.conftest import GIT_IDENTITY, PROJECT_ROOT, cli_json, git, new_item, run
from tests.team_support import forget_connections, reset
from tracker.errors import UsageError
from tracker.index import publication
from tracker.index.pg_schema import MIGRATIONS
from tracker.index.postgres_backend import Scope, TeamIndex
from tracker.index.schema import DERIVED, TABLES
from tracker.mcp import tools
from tracker.query.spec import ItemQuery
from tracker.service import reads, team
from tracker.service.indexer import writable_index
from tracker.service.live import LiveIndex
from tracker.service.publish import publish
from tracker.service.workspace import Workspace

EXAMPLE = PROJECT_ROOT / ".tracker-example"
EVERYTHING = "100000"
UNREACHABLE = "host=127.0.0.1 port=1 user=postgres dbname=nothing"
# How each type of the local schema reads in Postgres's information_schema.
PG_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "BOOLEAN": "boolean",
    "TIMESTAMPTZ": "timestamp with time zone",
    "JSON": "json",
    "VARCHAR[]": "ARRAY",
}


# -- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _as_a_new_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No team index named in the environment, none connected to nor failed yet."""
    monkeypatch.delenv(team.DSN_VARIABLE, raising=False)
    forget_connections()
    yield
    forget_connections()


@pytest.fixture
def dsn(pg_dsn: str) -> str:
    """The session's database, with no team index in it yet."""
    reset(pg_dsn)
    return pg_dsn


@pytest.fixture
def example(repo: Path) -> Path:
    """A git repository whose committed .tracker/ is a copy of the example (the current
    directory), its local index built."""
    shutil.copytree(EXAMPLE, repo / ".tracker")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "example tracker")
    assert run(["index", "rebuild", "--quiet"]).exit_code == 0
    return repo


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def publish_to(dsn: str, repo: Path | None = None) -> dict[str, Any]:
    """`tracker index publish` in-process (in `repo`, default the current directory)."""
    return cli_json(*at(repo), "--index-dsn", dsn, "index", "publish")


def at(repo: Path | None) -> list[str]:
    return [] if repo is None else ["-C", str(repo)]


def local(*args: str) -> dict[str, Any]:
    """A read answered by the local index, as fresh as the files."""
    answer = cli_json(*args)
    assert answer.get("data_source", "index") == "index", answer
    return answer


def shared(dsn: str, *args: str) -> dict[str, Any]:
    """A read answered by the team index."""
    answer = cli_json("--index-dsn", dsn, *args)
    assert (answer.get("data_source", "postgres"), answer.get("warnings", [])) == (
        "postgres",
        [],
    ), answer
    return answer


def fallback(dsn: str, *args: str) -> tuple[dict[str, Any], str]:
    """A read through `dsn` that the local index answered instead: (answer, the warning)."""
    answer = cli_json("--index-dsn", dsn, *args)
    assert answer["data_source"] == "index", answer
    assert len(answer["warnings"]) == 1, answer
    return answer, answer["warnings"][0]


def without_source(answer: dict[str, Any]) -> dict[str, Any]:
    dropped = {"data_source", "generated_at"}  # the status report's time is the call's
    return {key: value for key, value in answer.items() if key not in dropped}


def same_answer(dsn: str, *args: str) -> dict[str, Any]:
    """The read answered by the team index equals the local index's, but for where from."""
    mine = local(*args)
    theirs = shared(dsn, *args)
    assert without_source(theirs) == without_source(mine), args
    return theirs


def scopes(dsn: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as connection:
        return connection.execute(
            "SELECT r.name, r.identity, s.branch, s.commit FROM tracker.scopes s "
            "JOIN tracker.repositories r ON r.id = s.repository ORDER BY r.name, s.branch"
        ).fetchall()


def everything(*prefix: str) -> list[dict[str, Any]]:
    """Every live item, in the default order (a list answer's items)."""
    items: list[dict[str, Any]] = cli_json(*prefix, "list", "--limit", EVERYTHING)["items"]
    return items


def retitle(repo: Path, item_id: str, title: str) -> None:
    """Change an item's title by hand (not committed)."""
    path = repo / ".tracker" / "items" / f"{item_id}.yaml"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    path.write_text(
        "".join(f"title: {title}\n" if line.startswith("title:") else line for line in lines),
        "utf-8",
    )


def environment(dsn: str | None = None) -> dict[str, str]:
    env = {**os.environ, **GIT_IDENTITY, "TRACKER_NO_SERVER": "1"}
    if dsn is not None:
        env[team.DSN_VARIABLE] = dsn
    return env


# -- every read, from either index -----------------------------------------------------------


def test_every_read_answers_the_same_from_the_team_index(example: Path, dsn: str) -> None:
    report = publish_to(dsn)
    assert (report["published"], report["full"], report["commit"]) == (True, True, head(example))
    files = local("query", "SELECT count(*) AS n FROM files")["rows"][0]["n"]
    assert report["files_sent"] == files

    items = everything()
    parents = {item["parent"] for item in items if item["parent"]}
    depending = {row["item"] for row in local("query", "SELECT item FROM dependencies")["rows"]}
    deployed = {row["item"] for row in local("query", "SELECT item FROM deployment_items")["rows"]}
    linked = [
        item["id"]
        for item in items
        if item["parent"] and item["id"] in parents & depending & deployed
    ]
    assert linked, "the example has an item with a parent, children, dependencies, deployments"
    rich = linked[0]
    root = next(item["id"] for item in items if item["id"] in parents and not item["parent"])
    stuck = local("blocked")["items"]
    archived = local("list", "--archived", "--limit", EVERYTHING)["items"]
    vendor = local("vendor", "list")["vendors"][-1]["name"]
    deployment = local("deploy", "list")["deployments"][0]["id"]
    assert stuck and archived

    shown = same_answer(dsn, "show", rich)
    for part in ("ancestors", "descendants", "depends_on", "deployments"):
        assert shown[part], (rich, part)
    for key in (root, stuck[0]["id"], stuck[0]["blocked_by"][0]["id"], archived[0]["id"]):
        assert same_answer(dsn, "show", key)["id"] == key
    every_id = [item["id"] for item in items + archived]
    prefix = next(
        rich[:n] for n in range(1, len(rich)) if sum(k.startswith(rich[:n]) for k in every_id) == 1
    )
    assert same_answer(dsn, "show", prefix)["id"] == rich  # a unique prefix

    whole = same_answer(dsn, "list", "--limit", EVERYTHING)
    assert whole["total_count"] == len(items) > 10
    for args in (
        ["list", "--limit", "7", "--offset", "5"],
        ["list", "--status", "active", "--sort", "title", "--limit", "3", "--offset", "2"],
        ["list", "--under", root, "--sort", "tree", "--limit", EVERYTHING],
        ["list", "--parent", root, "--sort", "-created"],
        ["list", "--text", shown["record"]["title"].split()[0].lower()],
        ["list", "--archived", "--include-deleted", "--sort", "updated"],
        ["tree"],
        ["tree", root, "--depth", "1"],
        ["ready", "--limit", "5"],
        ["blocked"],
        ["dep", "tree", rich],
        ["vendor", "list"],
        ["vendor", "show", vendor.upper()],
        ["deploy", "list"],
        ["show", deployment],
        ["enhancement", "list"],
        ["config", "get"],
        ["status"],
        ["query", "SELECT count(*) AS n FROM work_items WHERE status = 'active'"],
        ["query", "SELECT id, labels, metadata, depth, path FROM work_items ORDER BY id"],
    ):
        same_answer(dsn, *args)


# -- publishing what changed -----------------------------------------------------------------


def test_a_publish_sends_the_files_that_changed_and_nothing_else(example: Path, dsn: str) -> None:
    assert publish_to(dsn)["full"] is True
    again = publish_to(dsn)
    assert (again["files_sent"], again["rows_sent"], again["full"]) == (0, 0, False)

    items = everything()
    key = items[len(items) // 2]["id"]
    assert run(["set", key, "title=Renamed for the team", "priority=5"]).exit_code == 0
    sent = publish_to(dsn)
    assert (sent["files_sent"], sent["full"], sent["commit"]) == (1, False, head(example))
    shown = same_answer(dsn, "show", key)
    assert (shown["record"]["title"], shown["record"]["priority"]) == ("Renamed for the team", 5)
    same_answer(dsn, "list", "--limit", EVERYTHING)

    nothing = publish_to(dsn)
    assert (nothing["files_sent"], nothing["rows_sent"], nothing["full"]) == (0, 0, False)

    # a dependency completed: what waited on it is ready (derived rows: open_deps)
    live = {item["id"] for item in items}
    stuck = local("blocked")["items"]
    blocker = next(b["id"] for row in stuck for b in row["blocked_by"] if b["id"] in live)
    assert run(["set", blocker, "status=completed"]).exit_code == 0
    sent = publish_to(dsn)
    assert (sent["files_sent"], sent["full"]) == (1, False)
    assert same_answer(dsn, "blocked") != {"items": stuck}
    for args in (["ready", "--limit", EVERYTHING], ["show", blocker], ["status"]):
        same_answer(dsn, *args)

    # an item with children deleted: gone, and its descendants placed anew (hierarchy)
    parent = next(
        item for item in everything() if item["parent"] and any(
            child["parent"] == item["id"] for child in items)
    )  # fmt: skip
    git(example, "rm", "-q", f".tracker/{parent['file']}")
    git(example, "commit", "-q", "-m", f"drop {parent['id']}")
    sent = publish_to(dsn)
    assert (sent["files_sent"], sent["full"]) == (1, False)
    listed = same_answer(dsn, "list", "--limit", EVERYTHING)
    assert parent["id"] not in [item["id"] for item in listed["items"]]
    assert len(listed["items"]) == len(items) - 1
    gone = run(["--index-dsn", dsn, "show", parent["id"], "--format", "json"])
    assert gone.exit_code == run(["show", parent["id"], "--format", "json"]).exit_code != 0
    assert shared(dsn, "status")  # answered by the team index: it holds this commit
    for args in (["tree"], ["blocked"], ["list", "--root", "--limit", EVERYTHING]):
        same_answer(dsn, *args)


def test_reads_answer_locally_until_this_commit_is_published(example: Path, dsn: str) -> None:
    publish_to(dsn)
    key = everything()[0]["id"]
    assert run(["set", key, "title=Not yet published"]).exit_code == 0
    answer, warning = fallback(dsn, "show", key)
    assert answer["record"]["title"] == "Not yet published"  # this clone's own state
    assert "tracker index publish" in warning and head(example)[:12] in warning, warning

    publish_to(dsn)
    assert shared(dsn, "show", key)["record"]["title"] == "Not yet published"

    retitle(example, key, "Edited, not committed")
    refused = run(["--index-dsn", dsn, "index", "publish"])
    assert refused.exit_code == 1, refused.output
    assert f"items/{key}.yaml" in refused.output and "uncommitted" in refused.output
    answer, warning = fallback(dsn, "show", key)
    assert answer["record"]["title"] == "Edited, not committed"
    assert "uncommitted" in warning, warning
    assert scopes(dsn)[0]["commit"] == head(example)  # the refused publish wrote nothing

    # a file deleted and not committed: the same
    git(example, "checkout", "-q", "--", ".tracker")
    assert shared(dsn, "show", key)["record"]["title"] == "Not yet published"
    removed = everything()[-1]["file"]
    (example / ".tracker" / removed).unlink()
    refused = run(["--index-dsn", dsn, "index", "publish"])
    assert refused.exit_code == 1 and removed in refused.output, refused.output
    answer, warning = fallback(dsn, "list", "--limit", EVERYTHING)
    assert removed not in [item["file"] for item in answer["items"]]
    assert "uncommitted" in warning, warning


# -- two clones ------------------------------------------------------------------------------


def clone(source: Path, target: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", str(source), str(target)], check=True, capture_output=True
    )
    return target


def commit_retitle(repo: Path, item_id: str, title: str) -> str:
    retitle(repo, item_id, title)
    git(repo, "commit", "-q", "-am", f"retitle {item_id}")
    return head(repo)


def publish_at_once(dsn: str, *repos: Path) -> list[dict[str, Any]]:
    """`tracker index publish` in each repository, as processes started together."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", "index", "publish", "--format", "json"],
            cwd=repo,
            env=environment(dsn),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for repo in repos
    ]
    reports = []
    for process in started:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, out + err
        reports.append(json.loads(out))
    return reports


STATE = (["list", "--limit", EVERYTHING], ["blocked"], ["tree"], ["status"])


def team_state(dsn: str, repo: Path) -> list[dict[str, Any]]:
    """What the team index answers in `repo` (which must be at the commit it holds): every
    item in full, and the derived answers."""
    return [without_source(shared(dsn, *at(repo), *args)) for args in STATE]


def local_state(repo: Path) -> list[dict[str, Any]]:
    return [without_source(local(*at(repo), *args)) for args in STATE]


def test_two_clones_publishing_at_once_leave_one_clone_s_state(
    example: Path, dsn: str, tmp_path: Path
) -> None:
    other = clone(example, tmp_path / "other")
    keys = [item["id"] for item in everything()]

    # the same commit, at once: both publish it, the same state
    reports = publish_at_once(dsn, example, other)
    assert [(r["published"], r["commit"]) for r in reports] == [(True, head(example))] * 2
    assert [s["commit"] for s in scopes(dsn)] == [head(example)]
    assert team_state(dsn, other) == local_state(other)
    assert team_state(dsn, example) == local_state(example)

    # different commits of one branch, neither holding the other's: one of them, whole
    mine = commit_retitle(example, keys[0], "Mine")
    theirs = commit_retitle(other, keys[1], "Theirs")
    for _ in range(2):
        reports = publish_at_once(dsn, example, other)
        assert [(r["published"], r["commit"]) for r in reports] == [(True, mine), (True, theirs)]
        (held,) = scopes(dsn)
        assert held["commit"] in (mine, theirs)
        winner, loser = (example, other) if held["commit"] == mine else (other, example)
        assert team_state(dsn, winner) == local_state(winner)
        warning = fallback(dsn, *at(loser), "list")[1]  # not its state: answered locally
        assert "tracker index publish" in warning

    # one clone ahead of the other, which has fetched its commits but not merged them:
    # whichever publishes first, the newer stays
    git(other, "fetch", "-q", str(example), "main")
    git(other, "merge", "-q", "--no-edit", "FETCH_HEAD")
    newer = commit_retitle(other, keys[2], "Newer")
    git(example, "fetch", "-q", str(other), "main")
    older_report, newer_report = publish_at_once(dsn, example, other)
    assert (newer_report["published"], newer_report["commit"]) == (True, newer)
    if older_report["published"]:  # it went first
        assert older_report["commit"] == mine
    else:
        assert older_report["commit"] == newer and "newer" in older_report["reason"]
    assert scopes(dsn)[0]["commit"] == newer
    assert team_state(dsn, other) == local_state(other)
    skipped = publish_to(dsn, example)
    assert (skipped["published"], skipped["commit"]) == (False, newer)
    assert "newer" in skipped["reason"]
    assert [s["commit"] for s in scopes(dsn)] == [newer]


def test_a_stale_baseline_is_replaced_by_what_the_team_index_holds(
    example: Path, dsn: str, tmp_path: Path
) -> None:
    keys = [item["id"] for item in everything()]
    assert publish_to(dsn, example)["full"] is True
    commit_retitle(example, keys[0], "First")
    assert publish_to(dsn, example)["full"] is False  # its own baseline: incremental

    other = clone(example, tmp_path / "other")
    commit_retitle(other, keys[1], "From the other clone")
    assert publish_to(dsn, other)["full"] is True  # its first publish

    git(example, "fetch", "-q", str(other), "main")
    git(example, "merge", "-q", "--ff-only", "FETCH_HEAD")
    commit_retitle(example, keys[2], "Third")
    report = publish_to(dsn, example)
    # the team index was written by the other clone since: compared whole, and only the
    # file that differs from what it holds is sent
    assert (report["full"], report["files_sent"], report["published"]) == (True, 1, True)
    assert team_state(dsn, example) == local_state(example)
    for key in keys[:3]:
        same_answer(dsn, *at(example), "show", key)
    assert publish_to(dsn, example)["full"] is False  # its baseline is the team index's again

    # a rebuilt local index has no baseline: compared whole, nothing to send
    assert run([*at(example), "index", "rebuild", "--quiet"]).exit_code == 0
    report = publish_to(dsn, example)
    assert (report["full"], report["files_sent"], report["published"]) == (True, 0, True)


def test_a_detached_head_publishes_as_the_branch_named(example: Path, dsn: str) -> None:
    git(example, "checkout", "-q", "--detach")
    refused = run(["--index-dsn", dsn, "index", "publish"])
    assert refused.exit_code == 1 and "--branch" in refused.output, refused.output
    report = cli_json("--index-dsn", dsn, "index", "publish", "--branch", "release")
    assert (report["branch"], report["commit"]) == ("release", head(example))
    assert [(s["branch"], s["commit"]) for s in scopes(dsn)] == [("release", head(example))]
    same_answer(dsn, "list", "--limit", EVERYTHING)  # whichever branch holds this commit
    git(example, "checkout", "-q", "main")
    warning = fallback(dsn, "list")[1]  # main itself is not published
    assert "branch main" in warning and "tracker index publish" in warning, warning


# -- falling back ----------------------------------------------------------------------------


def test_an_unreachable_team_index_falls_back_to_the_local_index(example: Path) -> None:
    first = run(["--index-dsn", UNREACHABLE, "list", "--format", "json"])
    assert first.exit_code == 0, first.output
    answer = json.loads(first.stdout)
    assert answer["data_source"] == "index"
    assert "unreachable" in answer["warnings"][0] and "port=1" in answer["warnings"][0]
    assert answer["items"] == local("list")["items"]
    # not tried again at once: the next read does not wait for the connect timeout
    again, warning = fallback(UNREACHABLE, "tree")
    assert "moments ago" in warning, warning
    assert again["items"] == local("tree")["items"]
    refused = run(["--index-dsn", UNREACHABLE, "index", "publish"])
    assert refused.exit_code == 1 and "unreachable" in refused.output, refused.output


def test_a_connection_the_server_ends_falls_back_and_the_next_publish_catches_up(
    example: Path, dsn: str
) -> None:
    ws = Workspace.open(example, index_dsn=dsn)
    publish(ws)
    everything_query = ItemQuery(limit=int(EVERYTHING))
    assert reads.list_items(ws, everything_query)["data_source"] == "postgres"

    def end_the_cached_connection() -> None:
        pid = team._connections[dsn].connection.info.backend_pid
        with psycopg.connect(dsn, autocommit=True) as admin:
            ended = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()
            assert ended == (True,)

    end_the_cached_connection()
    answer = reads.list_items(ws, everything_query)
    assert answer["data_source"] == "index"
    assert "answered from the local index" in answer["warnings"][0], answer["warnings"]
    assert "failed" in answer["warnings"][0] or "terminat" in answer["warnings"][0]
    assert reads.list_items(ws, everything_query)["data_source"] == "postgres"  # reconnected

    # ended again, then a commit: the publish after it (a new connection) catches up
    key = answer["items"][0]["id"]
    end_the_cached_connection()
    assert run(["set", key, "title=After the outage"]).exit_code == 0
    report = publish(ws)
    assert (report["published"], report["commit"]) == (True, head(example))
    shown = reads.show_item(ws, key)
    assert (shown["data_source"], shown["record"]["title"]) == ("postgres", "After the outage")
    assert (
        reads.list_items(ws, everything_query)["items"]
        == local("list", "--limit", EVERYTHING)["items"]
    )


def test_a_schema_of_a_newer_version_is_refused(example: Path, dsn: str) -> None:
    publish_to(dsn)
    forget_connections()
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("INSERT INTO tracker.migrations (name) VALUES ('9999_from_the_future')")
    answer, warning = fallback(dsn, "list")
    assert "schema" in warning and "9999_from_the_future" in warning, warning
    assert answer["items"] == local("list")["items"]
    refused = run(["--index-dsn", dsn, "index", "publish"])
    assert refused.exit_code == 1 and "9999_from_the_future" in refused.output, refused.output


def test_a_reader_that_may_not_read_the_team_index_falls_back(example: Path, dsn: str) -> None:
    """A role with no rights: nothing there yet (a reader never creates the schema), then
    no grant, then one."""
    role = f"tracker_test_reader_{os.getpid()}"
    reader = make_conninfo(dsn, user=role)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN")
        try:
            answer, warning = fallback(reader, "list")
            assert "holds nothing yet" in warning and "publish" in warning, warning
            assert answer["items"] == local("list")["items"]

            publish_to(dsn)
            forget_connections()  # no longer "unreachable moments ago"
            warning = fallback(reader, "list")[1]
            assert "permission denied" in warning, warning

            admin.execute(f"GRANT USAGE ON SCHEMA tracker TO {role}")
            admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA tracker TO {role}")
            forget_connections()
            same_answer(reader, "list", "--limit", EVERYTHING)
            refused = run(["--index-dsn", reader, "index", "publish"])
            assert refused.exit_code == 1 and "permission denied" in refused.output
        finally:
            forget_connections()
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


# -- the schema ------------------------------------------------------------------------------


def test_migrations_apply_once_in_order_and_match_the_local_schema(dsn: str) -> None:
    from tracker.index.postgres_backend import TeamIndex

    def applied() -> list[tuple[str, Any]]:
        with psycopg.connect(dsn) as connection:
            rows = connection.execute(
                "SELECT name, applied_at FROM tracker.migrations ORDER BY applied_at, name"
            ).fetchall()
        return [(name, at) for name, at in rows]

    names = [name for name, _ in MIGRATIONS]
    assert names == sorted(names) and len(set(names)) == len(names)
    TeamIndex.connect(dsn, migrate=True).close()
    first = applied()
    assert [name for name, _ in first] == names
    TeamIndex.connect(dsn, migrate=True).close()
    TeamIndex.connect(dsn).close()
    assert applied() == first  # nothing applied again

    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT table_name, column_name, data_type, collation_name FROM "
            "information_schema.columns WHERE table_schema = 'tracker' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
    found: dict[str, list[tuple[str, str, str | None]]] = {}
    for table, column, kind, collation in rows:
        found.setdefault(table, []).append((column, kind, collation))
    local_tables = {**TABLES, **DERIVED}
    assert set(found) == {*local_tables, "migrations", "repositories", "scopes"}
    for table, columns in local_tables.items():
        expected = [("scope", "integer", None)] + [
            (column, PG_TYPES[kind], "C" if kind.startswith("VARCHAR") else None)
            for column, kind in columns
        ]
        assert found[table] == expected, table


# -- across repositories ---------------------------------------------------------------------


def test_all_repos_lists_every_published_repository(
    example: Path, dsn: str, tmp_path: Path
) -> None:
    second = tmp_path / "second"
    second.mkdir()
    git(second, "init", "-q", "-b", "main")
    assert run([*at(second), "init"]).exit_code == 0
    git(second, "add", "-A")
    git(second, "commit", "-q", "-m", "init tracker")
    for n in range(4):
        cli_json(*at(second), "new", "task", f"second repository task {n}")
    publish_to(dsn, example)
    publish_to(dsn, second)
    # the expected listing: each repository's own, in order of repository name
    own = {example.name: everything(*at(example)), second.name: everything(*at(second))}
    assert sorted(scope["name"] for scope in scopes(dsn)) == sorted(own)
    expected = [
        {**item, "repository": name, "published_branch": "main"}
        for name in sorted(own)
        for item in own[name]
    ]
    total = len(expected)
    every = ["--index-dsn", dsn, "list", "--all-repos"]
    whole = cli_json(*every, "--limit", EVERYTHING)
    assert (whole["items"], whole["total_count"], whole["has_more"]) == (expected, total, False)
    assert (whole["data_source"], whole["warnings"]) == ("postgres", [])
    boundary = len(own[sorted(own)[0]])
    for limit, offset in ((3, boundary - 2), (1, boundary - 1), (2, boundary), (5, 0)):
        page = cli_json(*every, "--limit", str(limit), "--offset", str(offset))
        assert page["items"] == expected[offset : offset + limit], (limit, offset)
        assert (page["total_count"], page["has_more"]) == (total, offset + limit < total)
    beyond = cli_json(*every, "--offset", str(total))
    assert (beyond["items"], beyond["total_count"], beyond["has_more"]) == ([], total, False)
    # a filter applies in every repository; an item named is looked for in each
    active = cli_json(*every, "--status", "active", "--limit", EVERYTHING)
    assert active["items"] == [item for item in expected if item["status"] == "active"]
    parent = next(item["parent"] for item in own[example.name] if item["parent"])
    children = cli_json(*every, "--parent", parent, "--limit", EVERYTHING)
    assert children["items"] == [
        item for item in expected if item["parent"] == parent and item["repository"] == example.name
    ]
    assert children["total_count"] == len(children["items"]) > 0

    # the MCP tool: the same listing
    ws = Workspace.open(example, index_dsn=dsn)
    listed = tools.list_work_items(ws, all_repos=True, limit=4, offset=boundary - 2)
    where = ("id", "repository", "published_branch")
    assert [tuple(item[key] for key in where) for item in listed["items"]] == [
        tuple(item[key] for key in where) for item in expected[boundary - 2 : boundary + 2]
    ]
    assert listed["total_count"] == total


def test_all_repos_without_a_team_index_is_a_usage_error(example: Path) -> None:
    refused = run(["list", "--all-repos"])
    assert refused.exit_code == 1, refused.output
    assert "--all-repos" in refused.output and "team index" in refused.output


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored",
    ["host=db.example.com dbname=tracker password=hunter2", "postgresql://me:hunter2@db/tracker"],
)
def test_a_password_in_the_committed_dsn_is_refused(tracker_repo: Path, stored: str) -> None:
    config = tracker_repo / ".tracker" / "tracker.yaml"
    text = config.read_text("utf-8").replace(
        "  backend: duckdb", f"  backend: postgres\n  dsn: '{stored}'"
    )
    assert "backend: postgres" in text
    config.write_text(text, "utf-8")
    line = text.splitlines().index(f"  dsn: '{stored}'") + 1
    result = run(["validate"])
    assert result.exit_code == 1, result.output
    assert f"tracker.yaml:{line}" in result.output and "index.dsn" in result.output
    assert "hunter2" not in result.output


# -- tracker watch --publish -----------------------------------------------------------------


class Watch:
    """A running `tracker watch --publish` whose log is read line by line."""

    def __init__(self, repo: Path, dsn: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tracker", "watch", "--publish"],
            cwd=repo,
            env={k: v for k, v in environment(dsn).items() if k != "TRACKER_NO_SERVER"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s; log: {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def test_watch_publishes_each_new_commit(example: Path, dsn: str) -> None:
    key = everything()[0]["id"]
    watch = Watch(example, dsn)
    try:
        watch.wait_for("watching", 20.0)
        deadline = time.monotonic() + 20.0
        while not scopes_or_none(dsn) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [s["commit"] for s in scopes_or_none(dsn)] == [head(example)], watch.seen
        moved = commit_retitle(example, key, "Published by the watcher")
        deadline = time.monotonic() + 20.0
        while scopes_or_none(dsn)[0]["commit"] != moved and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scopes_or_none(dsn)[0]["commit"] == moved, watch.seen
        watch.wait_for(f"published {moved[:12]}", 5.0)
    finally:
        watch.stop()
    assert shared(dsn, "show", key)["record"]["title"] == "Published by the watcher"


def scopes_or_none(dsn: str) -> list[dict[str, Any]]:
    """The published scopes; none while the schema is not there yet."""
    try:
        return scopes(dsn)
    except psycopg.errors.UndefinedTable:
        return []


def test_what_a_team_answer_keeps_lasts_only_as_long_as_its_publish(
    example: Path, dsn: str
) -> None:
    """Vendor answers from a scope are kept between reads (a published commit never
    changes), and dropped the moment a new publish replaces the scope's rows."""
    publish_to(dsn)
    name = local("vendor", "list")["vendors"][0]["name"]
    before = same_answer(dsn, "vendor", "show", name)["vendor"]
    assert shared(dsn, "vendor", "show", name)["vendor"] == before  # from what was kept
    assert len(team._memos) == 1
    status = "broken" if before["status"] != "broken" else "operational"
    assert run(["vendor", "set", name, f"status={status}"]).exit_code == 0
    assert publish_to(dsn)["files_sent"] == 1
    after = same_answer(dsn, "vendor", "show", name)["vendor"]
    assert (after["status"], after["version"]) == (status, head(example))


# -- one answer, one published state, no transaction left open -------------------------------


def kept_connection(dsn: str) -> psycopg.Connection[Any]:
    """The connection this process keeps to the team index."""
    return team._connections[dsn].connection


def prepared_statements(dsn: str) -> set[str]:
    rows = kept_connection(dsn).execute("SELECT name FROM pg_prepared_statements").fetchall()
    return {row["name"] for row in rows}


def test_a_publish_between_finding_the_scope_and_reading_it_is_never_mixed_in(
    example: Path, dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer finds its scope with one statement and begins its snapshot with its first
    query, which checks that the scope still holds the publish found. A publish landing in
    between makes the answer start again inside one snapshot: it never reads the new rows
    as this commit's (here the clone's commit is no longer held: the local index answers)."""
    other = clone(example, tmp_path / "other")
    key = everything()[0]["id"]
    publish_to(dsn)
    theirs = commit_retitle(other, key, "Published meanwhile")
    find = TeamIndex._scope_at
    lookups: list[bool] = []

    def publish_meanwhile(
        index: TeamIndex, identity: str, commit: str, branch: str | None, snapshot_first: bool
    ) -> Scope | None:
        found = find(index, identity, commit, branch, snapshot_first)
        lookups.append(snapshot_first)
        if len(lookups) == 1:
            assert found is not None  # this clone's commit, published
            publish_at_once(dsn, other)
        return found

    monkeypatch.setattr(TeamIndex, "_scope_at", publish_meanwhile)
    answer, warning = fallback(dsn, "show", key)
    assert lookups == [False, True]
    assert answer["record"]["title"] != "Published meanwhile"
    assert answer["record"] == local("show", key)["record"]
    assert f"holds {theirs[:12]}" in warning, warning
    assert kept_connection(dsn).info.transaction_status == TransactionStatus.IDLE


def test_no_answer_leaves_a_transaction_open(example: Path, dsn: str) -> None:
    """An idle transaction would hold back vacuum on the server: every answer ends its
    snapshot, whether it queried, answered from what it kept, or failed."""
    publish_to(dsn)
    name = local("vendor", "list")["vendors"][0]["name"]
    key = everything()[0]["id"]
    reads_ = (
        ["vendor", "show", name],  # queries the vendors
        ["vendor", "show", name],  # from what the first kept
        ["show", key],
        ["query", "SELECT count(*) AS n FROM work_items"],
    )
    for args in reads_:
        shared(dsn, *args)
        assert kept_connection(dsn).info.transaction_status == TransactionStatus.IDLE, args
    assert run(["--index-dsn", dsn, "show", "no-such-item"]).exit_code != 0
    assert kept_connection(dsn).info.transaction_status == TransactionStatus.IDLE


def test_the_scope_lookup_outlives_psycopg_dropping_prepared_statements(
    example: Path, dsn: str
) -> None:
    """The scope lookup is prepared once per connection; psycopg deallocates every prepared
    statement after a ROLLBACK (a user query's, rolled back to its savepoint), and the
    next answer prepares it again instead of falling back."""
    publish_to(dsn)
    name = local("vendor", "list")["vendors"][0]["name"]
    shared(dsn, "vendor", "show", name)
    assert "tracker_scope_at" in prepared_statements(dsn)
    shared(dsn, "query", "SELECT count(*) AS n FROM work_items")
    assert "tracker_scope_at" not in prepared_statements(dsn)
    shared(dsn, "vendor", "show", name)
    assert "tracker_scope_at" in prepared_statements(dsn)

    # found inside a snapshot begun first (an answer's second try): the failed lookup
    # aborts that transaction, so it is begun again once the lookup is prepared
    count = "SELECT count(*) AS n FROM work_items"
    items = local("query", count)["rows"][0]["n"]
    kept_connection(dsn).execute("DEALLOCATE ALL")
    index = team._connections[dsn]
    identity = team.repository(Workspace.open(example), head(example)).identity
    with index.reading(identity, head(example), "main", snapshot_first=True) as scope:
        assert scope is not None and scope.commit == head(example)
        assert index.connection.info.transaction_status == TransactionStatus.INTRANS
        assert index.rows(count)[0]["n"] == items
    assert index.connection.info.transaction_status == TransactionStatus.IDLE


def test_the_branch_is_read_again_after_a_checkout(example: Path) -> None:
    """Kept between answers, and read again once HEAD changes."""
    workspace = Workspace.open(example)
    assert team.current_branch(workspace) == "main"
    assert team.current_branch(workspace) == "main"
    git(example, "checkout", "-q", "-b", "topic")
    assert team.current_branch(workspace) == "topic"
    git(example, "checkout", "-q", "--detach")
    assert team.current_branch(workspace) is None
    git(example, "checkout", "-q", "main")
    assert team.current_branch(workspace) == "main"


# -- the change log: publishing what the syncs since the last publish logged ----------------


def team_rows(dsn: str, branch: str = "main") -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the scope published as `branch` (the test's only repository), by table."""
    with psycopg.connect(dsn) as connection:
        found = connection.execute(
            "SELECT id FROM tracker.scopes WHERE branch = %s", [branch]
        ).fetchone()
        assert found is not None, f"nothing published as {branch}"
        return {
            table: connection.execute(
                f"SELECT {', '.join(name for name, _ in columns)} FROM tracker.{table} "
                "WHERE scope = %s",
                [found[0]],
            ).fetchall()
            for table, columns in {**TABLES, **DERIVED}.items()
        }


def index_rows(repo: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the local index (synced first), by table."""
    with writable_index(Workspace.open(repo)) as (index, _):
        return {
            table: index.connection.execute(
                f"SELECT {', '.join(name for name, _ in columns)} FROM {table}"
            ).fetchall()
            for table, columns in {**TABLES, **DERIVED}.items()
        }


def comparable(rows: dict[str, list[tuple[Any, ...]]], decode: bool) -> dict[str, list[str]]:
    """Rows as sortable text: JSON parsed (`decode`: it comes as text), times in UTC; left
    out, the versions of files that are gone (the history keeps them, the team may not) and
    a file's mtime (this clone's stat data: a file only touched is not sent again)."""
    present = {row[0] for row in rows["files"]}
    shown: dict[str, list[str]] = {}
    for table, table_rows in rows.items():
        columns = {**TABLES, **DERIVED}[table]
        texts = []
        for row in table_rows:
            if table == "versions" and row[0] not in present:
                continue
            values = []
            for value, (name, kind) in zip(row, columns, strict=True):
                if name == "mtime_ns":
                    continue
                if kind == "JSON" and value is not None:
                    value = json.dumps(json.loads(value) if decode else value, sort_keys=True)
                elif kind == "TIMESTAMPTZ" and value is not None:
                    value = value.astimezone(UTC).isoformat()
                values.append(value)
            texts.append(repr(values))
        shown[table] = sorted(texts)
    return shown


def assert_team_holds_this_clone(dsn: str, repo: Path, branch: str = "main") -> None:
    """The team index holds exactly the local index's rows, and answers every read as it."""
    assert comparable(team_rows(dsn, branch), False) == comparable(index_rows(repo), True)
    if team.current_branch(Workspace.open(repo)) == branch:
        assert team_state(dsn, repo) == local_state(repo)


def tracker_files_between(repo: Path, old: str, new: str) -> set[str]:
    listed = git(repo, "diff", "--name-only", old, new, "--", ".tracker")
    return {line.removeprefix(".tracker/") for line in listed.split()}


def edit_title(repo: Path, item_file: str, title: str) -> None:
    path = repo / ".tracker" / item_file
    text = path.read_text("utf-8")
    path.write_text(
        "".join(
            f"title: {title}\n" if line.startswith("title:") else line
            for line in text.splitlines(keepends=True)
        ),
        "utf-8",
    )


def test_a_warm_publish_sends_exactly_what_changed_since_the_last_one(
    example: Path, dsn: str
) -> None:
    ws = Workspace.open(example, index_dsn=dsn)
    live = LiveIndex.start(ws)
    try:
        assert publish(ws)["full"] is True
        assert_team_holds_this_clone(dsn, example)
        items = everything()
        files = [item["file"] for item in items]

        def published(expected: set[str], old: str) -> None:
            report = publish(ws)
            assert (report["full"], report["published"], report["commit"]) == (
                False, True, head(example)
            )  # fmt: skip
            assert expected == tracker_files_between(example, old, head(example))
            assert report["files_sent"] == len(expected), report
            assert_team_holds_this_clone(dsn, example)
            with writable_index(ws) as (index, _):  # the log starts again from nothing
                log = publication.read_log(index)
            assert (log.files, log.keys) == ([], {table: set() for table in DERIVED})

        # edits, committed by hand: two files; one of them edited twice, synced in between
        old = head(example)
        edit_title(example, files[0], "First edit")
        live.refresh()
        edit_title(example, files[0], "Second edit")
        edit_title(example, files[1], "Another edit")
        git(example, "commit", "-q", "-am", "two edits")
        published({files[0], files[1]}, old)

        # a file rewritten as it was (synced again, logged) and a commit that changes
        # nothing tracked: nothing to send
        old = head(example)
        path = example / ".tracker" / files[2]
        path.write_text(path.read_text("utf-8"), "utf-8")
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
        (example / "notes.txt").write_text("not the tracker's\n", "utf-8")
        git(example, "add", "notes.txt")
        git(example, "commit", "-q", "-m", "notes")
        live.refresh()
        published(set(), old)

        # through the tracker's own writes: a completed dependency (open counts), a new
        # parent (paths below it), a new item
        old = head(example)
        stuck = local("blocked")["items"]
        live_ids = {item["id"] for item in items}
        blocker = next(b["id"] for row in stuck for b in row["blocked_by"] if b["id"] in live_ids)
        assert run(["set", blocker, "status=completed"]).exit_code == 0
        parent = next(item for item in items if item["parent"])
        root = next(
            item["id"]
            for item in items
            if not item["parent"] and item["id"] not in (parent["id"], parent["parent"])
        )
        assert run(["set", parent["id"], f"parent={root}"]).exit_code == 0
        created = new_item("task", "Logged and published")
        expected = {f"items/{blocker}.yaml", parent["file"], f"items/{created}.yaml"}
        published(expected, old)

        # a deletion, committed
        old = head(example)
        git(example, "rm", "-q", f".tracker/{files[3]}")
        git(example, "commit", "-q", "-m", "one deleted")
        published({files[3]}, old)
        assert publish(ws)["files_sent"] == 0
    finally:
        live.close()


def test_a_failed_publish_leaves_the_log_for_the_next_one(
    example: Path, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracker.errors import TrackerError
    from tracker.index.backend import TeamIndexUnavailable
    from tracker.index.postgres_backend import Publication

    ws = Workspace.open(example, index_dsn=dsn)
    publish(ws)
    first = head(example)
    files = [item["file"] for item in everything()]
    commit_retitle(example, Path(files[0]).stem, "Before the outage")

    # unreachable: nothing was sent, nothing recorded
    with pytest.raises(TrackerError, match="unreachable"):
        publish(ws, UNREACHABLE)
    # reached, then lost before the publish committed: rolled back there, not recorded here
    commit_retitle(example, Path(files[1]).stem, "During the outage")

    def lost(self: Publication, commit: str, token: str, by: str | None) -> None:
        raise TeamIndexUnavailable("team index lost mid-publish")

    with monkeypatch.context() as patched:
        patched.setattr(Publication, "finish", lost)
        with pytest.raises(TeamIndexUnavailable):
            publish(ws)
    assert scopes(dsn)[0]["commit"] == first

    report = publish(ws)
    assert (report["full"], report["files_sent"]) == (False, 2)
    assert_team_holds_this_clone(dsn, example)


def test_a_rebuilt_index_and_a_long_log_compare_everything(
    example: Path, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_to(dsn)
    files = [item["file"] for item in everything()]

    # more files changed than the log keeps: it says "everything", compared with this
    # clone's own copy (not a full publish), still exactly the changed files sent
    with monkeypatch.context() as patched:
        patched.setattr("tracker.index.duckdb_backend.LOG_LIMIT", 2)
        patched.setattr("tracker.index.derived.LOG_LIMIT", 2)
        for file in files[:3]:
            edit_title(example, file, f"Changed {file}")
        git(example, "commit", "-q", "-am", "three edits")
        report = publish_to(dsn)
        assert (report["full"], report["files_sent"]) == (False, 3)
        assert_team_holds_this_clone(dsn, example)

    # a rebuild forgets the baseline: compared whole with the team index
    commit_retitle(example, Path(files[4]).stem, "Before the rebuild")
    assert run(["index", "rebuild", "--quiet"]).exit_code == 0
    report = publish_to(dsn)
    assert (report["full"], report["files_sent"]) == (True, 1)
    assert_team_holds_this_clone(dsn, example)
    commit_retitle(example, Path(files[5]).stem, "After the rebuild")
    report = publish_to(dsn)
    assert (report["full"], report["files_sent"]) == (False, 1)
    assert_team_holds_this_clone(dsn, example)


def test_a_branch_switch_publishes_the_difference_and_uncommitted_state_is_refused(
    example: Path, dsn: str
) -> None:
    ws = Workspace.open(example, index_dsn=dsn)
    live = LiveIndex.start(ws)
    try:
        files = [item["file"] for item in everything()]
        publish(ws, branch="main")
        base = head(example)
        git(example, "checkout", "-q", "-b", "feature")
        edit_title(example, files[0], "On the feature branch")
        git(example, "rm", "-q", f".tracker/{files[1]}")
        git(example, "commit", "-q", "-am", "feature work")
        feature = head(example)
        git(example, "checkout", "-q", "main")
        edit_title(example, files[2], "On main")
        git(example, "commit", "-q", "-am", "main work")
        main = head(example)

        # each tip published in turn as one branch: the files that differ between them
        for tip, old in ((feature, main), (main, feature), (feature, main)):
            git(example, "checkout", "-q", "feature" if tip == feature else "main")
            held = scopes(dsn)[0]["commit"]
            report = publish(ws, branch="main")
            expected = tracker_files_between(example, held, tip)
            assert (report["full"], report["files_sent"], report["commit"]) == (
                False, len(expected), tip
            ), (report, expected, old)  # fmt: skip
            assert_team_holds_this_clone(dsn, example)
        assert base != feature

        # HEAD moved back over a commit (`reset --soft`): the work tree holds what HEAD
        # does not, an edit and a deletion, found among the logged files
        git(example, "reset", "-q", "--soft", "HEAD~1")
        with pytest.raises(UsageError, match="uncommitted") as refused:
            publish(ws, branch="main")
        assert files[0] in str(refused.value) and files[1] in str(refused.value)
        git(example, "commit", "-q", "-m", "feature work again")
        report = publish(ws, branch="main")
        # the edited file's version is the new commit; the deleted one was gone already
        assert (report["full"], report["files_sent"]) == (False, 1)
        assert_team_holds_this_clone(dsn, example)
    finally:
        live.close()
