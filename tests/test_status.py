"""`tracker status` (issue 5): the Markdown report and its JSON form, from a real repository.

What each section must hold is worked out here from the YAML files themselves (read with
`yaml.safe_load`), never from the tracker's own code.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, git, run
from tests.conftest import cli_json as cli
from tests.conftest import new_item as new
from tracker.service import status_render
from tracker.service.status import _indent
from tracker.service.status_render import mermaid_label

EXAMPLE = PROJECT_ROOT / ".tracker-example"
SECTIONS = [
    "# Project Status",
    "## Vendors",
    "## Work Items",
    "## Deployments",
    "## Future Enhancements",
    "## Archive",
    "## Open Dependencies",
]
ODD_TITLE = 'Parse "quoted" <b>bold</b> & #1 | `code`'


# -- helpers -------------------------------------------------------------------------------


def report(*args: str) -> str:
    result = run(["status", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def section(text: str, heading: str) -> str:
    """The text under `## heading`, up to the next `## ` heading."""
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


ITEM_LINE = re.compile(r"^( *)- ([A-Z]+-[0-9a-f]+) (.*)$", re.MULTILINE)


def item_lines(text: str) -> list[tuple[int, str, str]]:
    """(indent level, id, rest of the line) of each work item line of the report."""
    found = ITEM_LINE.findall(section(text, "## Work Items"))
    return [(len(spaces) // 2, key, rest) for spaces, key, rest in found]


def mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """The node labels and the edges of the report's Mermaid graph."""
    block = re.search(r"```mermaid\ngraph TD\n(.*?)```", text, re.DOTALL)
    if block is None:
        return {}, set()
    nodes: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    for line in block.group(1).splitlines():
        if match := re.fullmatch(r'  (\S+)\["([^"]*)"\]', line):
            nodes[match.group(1)] = match.group(2)
        else:
            match = re.fullmatch(r"  (\S+) --> (\S+)", line)
            assert match, line
            edges.add((match.group(1), match.group(2)))
    return nodes, edges


def records(root: Path, folder: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted((root / folder).rglob("*.yaml"))]


def open_edges(root: Path) -> set[tuple[str, str]]:
    """From the files: dependencies of live, unarchived, unfinished items on a target that
    is missing, or neither completed nor deleted."""
    live = records(root, "items")
    everything = {item["id"]: item for item in live + records(root, "archive/items")}
    edges = set()
    for item in live:
        if item["status"] == "completed" or item.get("deleted_at"):
            continue
        for target in item.get("depends_on", []):
            found = everything.get(target)
            if found is None or (found["status"] != "completed" and not found.get("deleted_at")):
                edges.add((item["id"], target))
    return edges


def archive(repo: Path, item_id: str) -> None:
    """Move an item into the archive in one commit, as `tracker archive` does."""
    (repo / ".tracker" / "archive" / "items").mkdir(parents=True, exist_ok=True)
    git(repo, "mv", f".tracker/items/{item_id}.yaml", f".tracker/archive/items/{item_id}.yaml")
    git(repo, "commit", "-q", "-m", f"archive {item_id}")


# -- a small tracker with one of everything --------------------------------------------------


@pytest.fixture
def project(tracker_repo: Path) -> dict[str, str]:
    ids: dict[str, str] = {}
    ids["project"] = new(
        "project", "Platform", "--priority", "1", "--meta", "description=The platform"
    )
    ids["session"] = new(
        "session", "Session one", "--parent", ids["project"], "--priority", "2",
        "--meta", "token_budget=5000", "--meta", "prompts_count=0",
    )  # fmt: skip
    ids["research"] = new("research", ODD_TITLE, "--priority", "3")
    ids["done"] = new("task", "Finished task", "--parent", ids["session"], "--status", "completed")
    ids["task"] = new(
        "task", "Top task", "--parent", ids["session"], "--priority", "1",
        "--branch", "feat/top", "--depends-on", ids["research"],
    )  # fmt: skip
    ids["subtask"] = new(
        "task", "Sub task", "--parent", ids["task"], "--priority", "1", "--status", "blocked",
        "--depends-on", ids["task"], "--depends-on", ids["done"],
    )  # fmt: skip
    ids["gone"] = new("task", "Deleted task", "--parent", ids["session"], "--priority", "2")
    cli("delete", ids["gone"])
    ids["old"] = new("task", "Old task", "--priority", "2", "--depends-on", ids["research"])
    archive(tracker_repo, ids["old"])

    cli("vendor", "new", "acme", "--extractor-version", "1.0", "--supports", "pdf",
        "--supports", "ocr", "--passing", "40", "--total", "42", "--skipped", "1")  # fmt: skip
    cli("vendor", "new", "bolt", "--extractor-version", "2.0", "--status", "broken")
    cli("vendor", "new", "cask", "--extractor-version", "3.0", "--supports", "csv")

    for day in range(1, 13):  # 12 deployments: the report shows the last 10
        cli("deploy", "record", "--pr", str(100 + day), "--title", f"Release {day}",
            "--at", f"2026-01-{day:02d}T10:00:00Z", "--vendor", "acme", "--vendor", "cask",
            "--tests", "unit=10", "--tests", f"golden={day}",
            *(["--not-compliant"] if day == 12 else []))  # fmt: skip

    for title, priority, quarter, status in [
        ("Later idea", "2", "2026-Q3", "planned"),
        ("Next idea", "1", "2026-Q4", "approved"),
        ("Shipped idea", "1", "2026-Q1", "completed"),
        ("First idea", "1", "2026-Q2", "implementing"),
    ]:
        cli("enhancement", "new", title, "--priority", priority, "--quarter", quarter,
            "--status", status)  # fmt: skip
    return ids


# -- the report --------------------------------------------------------------------------------


def test_every_section_in_order(project: dict[str, str]) -> None:
    text = report()
    places = [text.find(f"{heading}\n") for heading in SECTIONS]
    assert all(place >= 0 for place in places), places
    assert places == sorted(places)
    head = git(Path.cwd(), "rev-parse", "HEAD").strip()
    assert f"on branch `main` at commit `{head[:12]}`" in text.splitlines()[2]


def test_vendors_counts_and_rows(project: dict[str, str]) -> None:
    vendors = section(report(), "## Vendors")
    assert "3 vendors: 2 operational, 1 broken (66.7% operational)." in vendors
    assert "| acme | operational | 1.0 | 40/42 | 1 | pdf, ocr |" in vendors
    assert "| bolt | broken | 2.0 | 0/0 | 0 |  |" in vendors
    rows = [line.split(" | ")[0] for line in vendors.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["| acme", "| bolt", "| cask"]  # after the header, by name


def test_work_items_grouped_by_type_and_priority_indented_by_depth(
    project: dict[str, str],
) -> None:
    text = report()
    items = section(text, "## Work Items")
    headings = re.findall(r"^#{3,4} .*$", items, re.MULTILINE)
    assert headings == [
        "### Projects (1)",
        "#### Priority 1 (1)",
        "### Sessions (1)",
        "#### Priority 2 (1)",
        "### Tasks (2)",
        "#### Priority 1 (2)",
        "### Research (1)",
        "#### Priority 3 (1)",
    ]
    assert "5 open of 6 work items: 4 active, 1 blocked." in items
    lines = item_lines(text)
    assert [(level, key) for level, key, _ in lines] == [
        (0, project["project"]),
        (0, project["session"]),
        (0, project["task"]),
        (1, project["subtask"]),  # depth 3 under a depth-2 item of its group
        (0, project["research"]),
    ]
    rest = {key: text for _, key, text in lines}
    assert rest[project["task"]] == f"Top task · branch `feat/top` · parent {project['session']}"
    assert rest[project["subtask"]] == f"Sub task **(blocked)** · parent {project['task']}"
    assert rest[project["project"]] == "Platform"
    # completed, deleted and archived items are not active work
    for gone in ("done", "gone", "old"):
        assert project[gone] not in items


def test_last_ten_deployments_newest_first(project: dict[str, str]) -> None:
    rows = [
        line.split(" | ")
        for line in section(report(), "## Deployments").splitlines()
        if line.startswith("| 2026-")
    ]
    assert [row[0] for row in rows] == [f"| 2026-01-{day:02d}" for day in range(12, 2, -1)]
    newest = rows[0]
    assert newest[1:3] == ["#112", "Release 12"]
    assert re.fullmatch(r"`[0-9a-f]{7}`", newest[3])
    assert newest[4:] == ["22 (unit 10, golden 12)", "no", "acme, cask |"]
    assert rows[1][5] == "yes"


def test_pending_enhancements_by_priority_then_quarter(project: dict[str, str]) -> None:
    enhancements = section(report(), "## Future Enhancements")
    assert "3 pending." in enhancements
    rows = [
        line.split(" | ")[:4] for line in enhancements.splitlines() if line[:3] in ("| 1", "| 2")
    ]
    assert rows == [
        ["| 1", "2026-Q2", "First idea", "implementing"],
        ["| 1", "2026-Q4", "Next idea", "approved"],
        ["| 2", "2026-Q3", "Later idea", "planned"],
    ]


def test_archived_items_are_counted(project: dict[str, str]) -> None:
    assert "1 archived work item (" in section(report(), "## Archive")
    data = cli("status")
    assert data["archived_items"] == 1
    archive(Path.cwd(), new("task", "Another old task"))
    assert "2 archived work items (" in section(report(), "## Archive")


def test_mermaid_graph_has_exactly_the_open_edges(project: dict[str, str]) -> None:
    text = report()
    nodes, edges = mermaid(section(text, "## Open Dependencies"))
    # subtask -> done is closed (completed); old -> research is archived
    assert edges == {(project["subtask"], project["task"]), (project["task"], project["research"])}
    assert edges == open_edges(Path.cwd() / ".tracker")
    assert set(nodes) == {project["subtask"], project["task"], project["research"]}
    assert nodes[project["research"]] == (
        "Parse #quot;quoted#quot; #lt;b#gt;bold#lt;/b#gt; #amp; #35;1 | #96;code#96;"
    )
    # closing the last open target closes its edges
    cli("close", project["research"])
    assert mermaid(report())[1] == {(project["subtask"], project["task"])}
    cli("close", project["task"])
    assert "No open dependencies." in section(report(), "## Open Dependencies")


def test_json_carries_the_same_data(project: dict[str, str]) -> None:
    text = report()
    data = cli("status")
    assert data["data_source"] in ("index", "rebuilt", "files")
    assert data["warnings"] == []
    assert data["git"]["branch"] == "main"
    assert (data["vendors"]["total"], data["vendors"]["broken"]) == (3, 1)
    assert data["vendors"]["percent_operational"] == 66.7
    shown = [
        (item["indent"], item["id"])
        for group in data["work_items"]["types"]
        for level in group["priorities"]
        for item in level["work_items"]
    ]
    assert shown == [(level, key) for level, key, _ in item_lines(text)]
    assert [d["pr"] for d in data["deployments"]] == list(range(112, 102, -1))
    assert [e["title"] for e in data["enhancements"]] == ["First idea", "Next idea", "Later idea"]
    graph = data["dependency_graph"]
    assert {(edge["from"], edge["to"]) for edge in graph["edges"]} == mermaid(text)[1]
    assert graph["total_edges"] == len(graph["edges"]) == 2
    titles = {node["id"]: node["title"] for node in graph["nodes"]}
    assert titles[project["research"]] == ODD_TITLE


def test_at_an_earlier_commit(project: dict[str, str]) -> None:
    before = git(Path.cwd(), "rev-parse", "HEAD").strip()
    cli("vendor", "new", "dyne", "--extractor-version", "1.0", "--status", "broken")
    assert "4 vendors: 2 operational, 2 broken" in report()
    earlier = report("--at", before)
    assert "3 vendors: 2 operational, 1 broken" in earlier
    assert f"as of `{before}` at commit `{before[:12]}`" in earlier


def test_out_writes_the_file(project: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "STATUS.md"
    result = run(["status", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert str(target) in result.stderr
    assert target.read_text().startswith("# Project Status\n")
    json_target = tmp_path / "status.json"
    assert run(["status", "--format", "json", "--out", str(json_target)]).exit_code == 0
    assert json.loads(json_target.read_text())["archived_items"] == 1


def test_a_template_in_the_tracker_overrides_the_shipped_one(project: dict[str, str]) -> None:
    templates = Path.cwd() / ".tracker" / "templates"
    templates.mkdir()
    override = templates / "status.md.j2"
    override.write_text(
        "# Our status\n{{ vendors.total }} vendors, {{ archived_items }} archived\n"
        "{% for group in work_items.types %}{{ group.type }} {% endfor %}\n"
    )
    assert report() == "# Our status\n3 vendors, 1 archived\nproject session task research \n"
    override.write_text("{{ vendors.totl }}\n{% for %}")
    result = run(["status"])
    assert result.exit_code == 1
    assert "status.md.j2:2:" in result.stderr
    override.write_text("line one\n{{ vendors.totl }}\n")
    result = run(["status"])
    assert result.exit_code == 1
    assert result.stderr.startswith("template: .tracker/templates/status.md.j2:2: ")
    assert "totl" in result.stderr
    override.write_text("{{ vendors.total + 'x' }}\n")  # not Jinja2's error, still the file's
    result = run(["status"])
    assert result.exit_code == 1
    assert result.stderr.startswith("template: .tracker/templates/status.md.j2:1: ")
    override.unlink()
    assert report().startswith("# Project Status\n")


def test_without_jinja2_json_still_works(
    tracker_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # `import jinja2` fails
    monkeypatch.setattr(status_render, "_environments", {})
    result = run(["status"])
    assert result.exit_code == 1
    assert "pip install 'tracker[report]'" in result.stderr
    assert cli("status")["archived_items"] == 0


def test_an_empty_tracker(tracker_repo: Path) -> None:
    text = report()
    for heading in SECTIONS:
        assert f"{heading}\n" in text
    for empty in (
        "No vendors.",
        "No active work items.",
        "No deployments yet.",
        "No pending enhancements.",
        "0 archived work items",
        "No open dependencies.",
    ):
        assert empty in text


# -- the example tracker -----------------------------------------------------------------------


def test_the_example_tracker(repo: Path) -> None:
    shutil.copytree(EXAMPLE, repo / ".tracker")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "example")
    text = report()
    assert "45 vendors: 30 operational, 15 broken (66.7% operational)." in text
    assert len([line for line in section(text, "## Deployments").splitlines()
                if re.match(r"\| \d{4}-", line)]) == 10  # fmt: skip
    assert "7 pending." in section(text, "## Future Enhancements")
    assert "2 archived work items" in section(text, "## Archive")
    assert mermaid(text)[1] == open_edges(repo / ".tracker")

    root = repo / ".tracker"
    active = {
        item["id"]
        for item in records(root, "items")
        if item["status"] != "completed" and not item.get("deleted_at")
    }
    lines = item_lines(text)
    assert {key for _, key, _ in lines} == active
    # every list item nests validly in Markdown: at most two levels below the one before
    previous = -1
    for level, _, _ in lines:
        assert level <= previous + 2
        previous = level


def test_indent_never_jumps_more_than_markdown_nests() -> None:
    rows = [{"depth": depth} for depth in (4, 2, 5, 5, 3, None)]
    _indent(rows)
    assert [row["indent"] for row in rows] == [1, 0, 2, 3, 1, 0]


def test_mermaid_labels() -> None:
    assert mermaid_label('a "b"\nc') == "a #quot;b#quot; c"
    assert mermaid_label("#quot;") == "#35;quot;"  # not read as an entity
    long = mermaid_label("x" * 100)
    assert len(long) == 60 and long.endswith("…")
