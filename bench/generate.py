"""Synthetic tracker repositories for benchmarks: deterministic for a seed, cached by parameters.

    python -m bench.generate --items 10000 [--out DIR] [--seed 1] [--history 20] [--fanout]

The repository holds a `.tracker/` root laid out by `tracker init` (tracker.yaml,
schemas, record folders) and filled with:

- N work items in 5-level hierarchies: project > session > task > subtask >
  sub-subtask (depths 0-4), about 1% of the items being projects;
- dependencies: about 30% of the items depend on 1-3 others, always on items
  earlier in a random order (so there is never a cycle), mostly within their
  own project;
- vendors (45 up to 10,000 items, scaled beyond), deployments (N/100) linked
  to vendors and items, enhancements (N/200) depending on items;
- tracker.yaml with `project.current_session` set to a session item.

Every record is validated by the tool's own models and written by the tool's
own writer (`dump_record(record_as_data(...), key_order, schema_ref(...))`),
so the files are byte for byte what `tracker` itself would write. Git history:
one commit with everything, then K commits that each change the status or
priority of a few items, with pinned authors and dates (the same seed gives the
same commit ids).

Without --out the repository goes to bench/out/<parameters>/ and is reused when
it is already there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import CACHE_DIR
from tracker.constants import CONFIG_FILE, DEFAULT_ROOT
from tracker.model.ids import id_length
from tracker.model.kinds import (
    DEPLOYMENT,
    ENHANCEMENT,
    VENDOR,
    WORK_ITEM,
    Kind,
    record_as_data,
    schema_ref,
)
from tracker.model.yaml_write import dump_record
from tracker.service.init import init_tracker

# Bump when the generated content changes, so cached repositories are rebuilt.
GENERATOR_VERSION = 3
MARKER = "bench-generated.json"  # inside .git/, so it is never part of the tracker
PREFIX = "TRK"
MIN_ITEMS = 10

# Share of the items at each depth: project, session, task, subtask, sub-subtask.
DEPTH_SHARES = (0.01, 0.04, 0.15, 0.30)  # the rest (about half) at depth 4
DEPENDENCY_SHARE = 0.30
SAME_PROJECT_DEPENDENCY = 0.8
BASE_VENDORS = 45

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
COMMITTER = ("Bench Generator", "bench@example.com")
AUTHORS = (
    ("Alice Moreau", "alice@example.com"),
    ("Bob Okafor", "bob@example.com"),
    ("Claude Code", "claude-code@example.com"),
    ("Dana Lee", "dana@example.com"),
)

VERBS = (
    "Implement", "Refactor", "Document", "Test", "Fix", "Migrate", "Profile", "Design",
    "Review", "Harden", "Simplify", "Extract", "Index", "Validate", "Cache", "Parallelise",
)  # fmt: skip
NOUNS = (
    "invoice parser", "vendor registry", "deployment log", "schema export", "status report",
    "dependency graph", "hierarchy query", "token budget", "session summary", "OCR pipeline",
    "CSV importer", "PDF extractor", "merge driver", "pre-commit hook", "index rebuild",
    "search endpoint", "audit trail", "retry policy", "config loader", "label filter",
)  # fmt: skip
QUALIFIERS = (
    "for large trackers", "behind a flag", "in the CLI", "for the MCP server", "end to end",
    "without regressions", "with line numbers", "for Postgres", "for DuckDB", "on Windows",
    "for agents", "with tests", "under load", "incrementally", "for the nightly build",
)  # fmt: skip
SENTENCES = (
    "The current behaviour is correct but slow once a tracker grows past a few thousand items.",
    "Keep the file format stable: existing repositories must validate without changes.",
    "Agents call this on every turn, so the common path must not touch the network.",
    "Errors name the file, the field and the line, as everywhere else in the tool.",
    "Measure before and after on the 10k benchmark repository and record the numbers.",
    "The index is derived data: deleting it and rebuilding it must give the same answers.",
    "Two branches editing different fields of the same record must merge cleanly in git.",
    "Document the new option in the README and in the command's --help text.",
    "Add a regression test with a small fixture; the large case belongs in the benchmarks.",
    "Vendors that report a broken extractor are skipped, not fatal, with a warning.",
    "Watch out for Windows paths and for files saved with a byte-order mark.",
    "Dependencies are checked for cycles across the whole tree, not just the changed file.",
)  # fmt: skip
LABELS = (
    "backend", "frontend", "cli", "mcp", "index", "git", "perf", "docs", "tests", "security",
    "ux", "refactor", "bug", "feature", "chore", "postgres", "duckdb", "yaml", "schema", "ci",
    "windows", "agents", "reports", "vendors", "deployments", "good-first-issue",
)  # fmt: skip
PEOPLE = ("alice", "bob", "claude-code", "dana", "cursor-agent", "erin", "farid", "grace")
CLIENTS = ("claude-code", "cursor", "cli", "mcp", "alice", "bob")
PRINCIPLES = (
    "Files are the source of truth",
    "Every write checks the version",
    "Derived data is never stored",
    "Errors name file, field and line",
    "Agents and humans use the same commands",
)  # fmt: skip
VENDOR_WORDS = (
    "acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "vandelay", "wonka",
    "tyrell", "cyberdyne", "soylent", "oscorp", "aperture", "monarch",
)  # fmt: skip
VENDOR_KINDS = ("invoices", "statements", "receipts", "orders")
TEST_CATEGORIES = ("unit", "integration", "e2e", "contract")


@dataclass(frozen=True)
class GenParams:
    items: int
    seed: int = 1
    history: int = 20
    fanout: bool = False

    @property
    def key(self) -> str:
        """The cache folder name: every parameter plus the generator version."""
        fanout = "-fanout" if self.fanout else ""
        return f"items{self.items}-seed{self.seed}-hist{self.history}{fanout}-v{GENERATOR_VERSION}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "generator_version": GENERATOR_VERSION}


@dataclass
class Record:
    rel: str  # path relative to the tracker root
    kind: Kind
    data: dict[str, Any]  # normalised exactly as the tool writes it (record_as_data)

    def render(self) -> str:
        return dump_record(self.data, self.kind.key_order, schema_ref(self.rel, self.kind))


@dataclass
class Edit:
    """One later commit: the records it rewrites (already changed) and who made it."""

    message: str
    author: tuple[str, str]
    when: datetime
    records: list[Record]


@dataclass
class Dataset:
    records: list[Record]
    current_session: str
    edits: list[Edit]
    stats: dict[str, Any] = field(default_factory=dict)


def normalise(kind: Kind, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate with the tool's model and return the data the tool would write."""
    return record_as_data(kind.adapter.validate_python(raw))


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Builder:
    def __init__(self, params: GenParams) -> None:
        if params.items < MIN_ITEMS:
            raise ValueError(f"--items must be at least {MIN_ITEMS}")
        self.params = params
        self.rng = random.Random(params.seed)
        self.used_ids: set[str] = set()

    # -- small pieces -------------------------------------------------------------------------
    def new_id(self, prefix: str, hex_digits: int) -> str:
        while True:
            candidate = f"{prefix}-{self.rng.getrandbits(4 * hex_digits):0{hex_digits}x}"
            if candidate not in self.used_ids:
                self.used_ids.add(candidate)
                return candidate

    def sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def title(self) -> str:
        rng = self.rng
        return f"{rng.choice(VERBS)} the {rng.choice(NOUNS)} {rng.choice(QUALIFIERS)}"

    def paragraph(self, lines: int) -> str:
        return "\n".join(self.rng.choice(SENTENCES) for _ in range(lines)) + "\n"

    def slug(self, text: str) -> str:
        return "-".join(text.lower().split()[:4])

    def item_path(self, item_id: str) -> str:
        if self.params.fanout:
            return f"items/{item_id.split('-', 1)[1][:2]}/{item_id}.yaml"
        return f"items/{item_id}.yaml"

    # -- work items ---------------------------------------------------------------------------
    def depth_counts(self) -> list[int]:
        total = self.params.items
        counts = [max(1, round(total * share)) for share in DEPTH_SHARES]
        counts.append(total - sum(counts))
        return counts

    def items(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Raw work items (not yet validated) in creation order, and each one's project id."""
        rng = self.rng
        hex_digits = id_length(self.params.items)
        raw: list[dict[str, Any]] = []
        project_of: list[str] = []
        levels: list[list[int]] = []  # indexes into raw, per depth
        created = EPOCH
        spacing = max(1, int(365 * 24 * 3600 / self.params.items))
        for depth, count in enumerate(self.depth_counts()):
            level: list[int] = []
            for _ in range(count):
                created += timedelta(seconds=rng.randint(1, 2 * spacing))
                item_id = self.new_id(PREFIX, hex_digits)
                parent_index = rng.choice(levels[depth - 1]) if depth else None
                item = self.item(item_id, depth, created)
                if parent_index is not None:
                    item["parent"] = raw[parent_index]["id"]
                    project_of.append(project_of[parent_index])
                else:
                    project_of.append(item_id)
                level.append(len(raw))
                raw.append(item)
            levels.append(level)
        self.add_dependencies(raw, project_of)
        return raw, project_of

    def item(self, item_id: str, depth: int, created: datetime) -> dict[str, Any]:
        rng = self.rng
        if depth == 0:
            item_type = "project"
        elif depth == 1:
            item_type = "session"
        else:
            item_type = "research" if rng.random() < 0.12 else "task"
        title = self.title()
        status = rng.choices(("active", "completed", "blocked"), (50, 40, 10))[0]
        item: dict[str, Any] = {
            "id": item_id,
            "type": item_type,
            "title": title,
            "status": status,
            "priority": rng.choices((1, 2, 3, 4, 5), (5, 20, 45, 20, 10))[0],
        }
        if rng.random() < 0.6:
            item["branch"] = f"feature/{item_id.lower()}-{self.slug(title)}"
        if status == "completed" or rng.random() < 0.2:
            item["commit"] = self.sha()
            if rng.random() < 0.7:
                item["pr"] = rng.randint(1, 20_000)
        if rng.random() < 0.75:
            item["assignee"] = rng.choice(PEOPLE)
        item["labels"] = rng.sample(LABELS, rng.randint(1, 4))
        item["created_at"] = timestamp(created)
        if status != "active" or rng.random() < 0.3:
            item["updated_at"] = timestamp(created + timedelta(hours=rng.randint(1, 2000)))
        item["created_by"] = rng.choice(CLIENTS)
        item["description"] = self.paragraph(rng.randint(4, 8))
        item["metadata"] = self.metadata(item_type, status)
        return item

    def metadata(self, item_type: str, status: str) -> dict[str, Any]:
        rng = self.rng
        if item_type == "project":
            return {
                "description": self.paragraph(2).strip(),
                "target_quarter": f"{rng.randint(2025, 2027)}-Q{rng.randint(1, 4)}",
                "constitutional_principles": rng.sample(PRINCIPLES, rng.randint(1, 3)),
            }
        if item_type == "session":
            return {
                "token_budget": rng.choice((50_000, 100_000, 200_000, 500_000)),
                "prompts_count": rng.randint(0, 400),
                "yaml_frontmatter": {
                    "schema_version": 1,
                    "model": rng.choice(("claude-opus", "claude-sonnet")),
                    "context": rng.choice(("feature", "maintenance", "research")),
                },
            }
        if item_type == "research":
            return {
                "research_questions": [
                    f"Does the {rng.choice(NOUNS)} scale to 100k items?",
                    f"What does the {rng.choice(NOUNS)} cost per call?",
                ],
                "findings_summary": rng.choice(SENTENCES),
                "references": [f"https://example.com/notes/{rng.randint(1, 9999)}"],
            }
        metadata: dict[str, Any] = {"estimated_hours": rng.randint(1, 80) / 2}
        if status == "completed":
            metadata["actual_hours"] = rng.randint(1, 120) / 2
        if status == "blocked":
            metadata["blocked_reason"] = f"Waiting for the {rng.choice(NOUNS)}"
        return metadata

    def add_dependencies(self, raw: list[dict[str, Any]], project_of: list[str]) -> None:
        """~30% of the items depend on 1-3 items seen earlier in a random order: never a cycle."""
        rng = self.rng
        order = list(range(len(raw)))
        rng.shuffle(order)
        seen: list[int] = []
        seen_in_project: dict[str, list[int]] = {}
        for index in order:
            project = project_of[index]
            local = seen_in_project.setdefault(project, [])
            if seen and rng.random() < DEPENDENCY_SHARE:
                targets: list[str] = []
                for _ in range(rng.randint(1, 3)):
                    pool = local if local and rng.random() < SAME_PROJECT_DEPENDENCY else seen
                    target = raw[rng.choice(pool)]["id"]
                    if target not in targets and target != raw[index].get("parent"):
                        targets.append(target)
                if targets:
                    raw[index]["depends_on"] = targets
            seen.append(index)
            local.append(index)

    # -- other kinds --------------------------------------------------------------------------
    def vendors(self) -> list[dict[str, Any]]:
        rng = self.rng
        count = BASE_VENDORS * max(1, self.params.items // 10_000)
        names: list[str] = []
        combos = [f"{word}-{kind}" for word in VENDOR_WORDS for kind in VENDOR_KINDS]
        while len(names) < count:
            batch = rng.sample(combos, min(len(combos), count - len(names)))
            suffix = f"-{len(names) // len(combos) + 1}" if names else ""
            names.extend(name + suffix for name in batch)
        vendors = []
        for name in names:
            total = rng.randint(0, 400)
            skipped = rng.randint(0, total // 10)
            created = EPOCH + timedelta(days=rng.randint(0, 300))
            vendors.append(
                {
                    "name": name,
                    "status": "broken" if rng.random() < 0.12 else "operational",
                    "extractor_version": f"{rng.randint(1, 4)}.{rng.randint(0, 12)}.0",
                    "format_support": {
                        "excel": rng.random() < 0.6,
                        "csv": rng.random() < 0.8,
                        "pdf": rng.random() < 0.7,
                        "ocr": rng.random() < 0.3,
                    },
                    "test_results": {
                        "passing": rng.randint(0, total - skipped),
                        "total": total,
                        "skipped": skipped,
                    },
                    "manifest_compliant": rng.random() < 0.8,
                    "created_at": timestamp(created),
                    "updated_at": timestamp(created + timedelta(days=rng.randint(0, 60))),
                    "created_by": rng.choice(CLIENTS),
                    "updated_by": rng.choice(CLIENTS),
                }
            )
        return vendors

    def deployments(self, item_ids: list[str], vendor_names: list[str]) -> list[dict[str, Any]]:
        rng = self.rng
        deployments = []
        deployed = EPOCH
        for _ in range(max(1, self.params.items // 100)):
            deployed += timedelta(hours=rng.randint(1, 72))
            summary = {name: rng.randint(0, 3000) for name in rng.sample(TEST_CATEGORIES, 3)}
            deployments.append(
                {
                    "id": self.new_id("DEP", 8),
                    "deployed_at": timestamp(deployed),
                    "commit": self.sha(),
                    "branch": "main",
                    "pr": rng.randint(1, 20_000),
                    "pr_title": self.title(),
                    "test_summary": summary,
                    "constitutional_compliance": rng.random() < 0.9,
                    "vendors": rng.sample(vendor_names, rng.randint(1, 3)),
                    "work_items": rng.sample(item_ids, rng.randint(1, 6)),
                    "created_by": rng.choice(CLIENTS),
                }
            )
        return deployments

    def enhancements(self, item_ids: list[str]) -> list[dict[str, Any]]:
        rng = self.rng
        enhancements = []
        for _ in range(max(1, self.params.items // 200)):
            enhancement: dict[str, Any] = {
                "id": self.new_id("ENH", 8),
                "title": self.title(),
                "description": self.paragraph(rng.randint(1, 3)),
                "priority": rng.randint(1, 5),
                "status": rng.choice(("planned", "approved", "implementing", "completed")),
                "target_quarter": f"{rng.randint(2025, 2027)}-Q{rng.randint(1, 4)}",
                "requires_constitutional_principles": rng.sample(PRINCIPLES, rng.randint(0, 2)),
                "created_at": timestamp(EPOCH + timedelta(days=rng.randint(0, 365))),
                "created_by": rng.choice(CLIENTS),
            }
            if rng.random() < 0.7:
                enhancement["depends_on"] = rng.sample(item_ids, rng.randint(1, 3))
            enhancements.append(enhancement)
        return enhancements

    # -- history ------------------------------------------------------------------------------
    def edits(self, items: list[Record]) -> list[Edit]:
        rng = self.rng
        edits = []
        when = EPOCH + timedelta(days=400)
        for number in range(1, self.params.history + 1):
            when += timedelta(hours=rng.randint(1, 48), minutes=rng.randint(0, 59))
            changed: dict[str, Record] = {}
            notes = []
            for record in rng.sample(items, min(len(items), rng.randint(1, 5))):
                raw = dict(record.data)
                if rng.random() < 0.6:
                    choices = [s for s in ("active", "completed", "blocked") if s != raw["status"]]
                    raw["status"] = rng.choice(choices)
                    notes.append(f"{raw['id']} status {raw['status']}")
                else:
                    raw["priority"] = rng.choice([p for p in range(1, 6) if p != raw["priority"]])
                    notes.append(f"{raw['id']} priority {raw['priority']}")
                raw["updated_at"] = timestamp(when)
                record.data = normalise(WORK_ITEM, raw)
                changed[record.rel] = record
            message = f"Update {len(changed)} item(s) (edit {number})\n\n" + "\n".join(notes)
            author = rng.choice(AUTHORS)
            snapshot = [Record(r.rel, r.kind, r.data) for r in changed.values()]
            edits.append(Edit(message, author, when, snapshot))
        return edits

    def build(self) -> Dataset:
        raw_items, project_of = self.items()
        item_ids = [item["id"] for item in raw_items]
        items = [
            Record(self.item_path(i["id"]), WORK_ITEM, normalise(WORK_ITEM, i)) for i in raw_items
        ]
        vendors = [
            Record(f"vendors/{v['name']}.yaml", VENDOR, normalise(VENDOR, v))
            for v in self.vendors()
        ]
        vendor_names = [record.data["name"] for record in vendors]
        deployments = [
            Record(f"deployments/{d['id']}.yaml", DEPLOYMENT, normalise(DEPLOYMENT, d))
            for d in self.deployments(item_ids, vendor_names)
        ]
        enhancements = [
            Record(f"enhancements/{e['id']}.yaml", ENHANCEMENT, normalise(ENHANCEMENT, e))
            for e in self.enhancements(item_ids)
        ]
        sessions = [i["id"] for i in raw_items if i["type"] == "session"]
        current_session = self.rng.choice(sessions)
        # Snapshot the initial state before the history edits change the item records.
        initial = [Record(r.rel, r.kind, r.data) for r in items]
        edits = self.edits(items)
        depths = self.depth_counts()
        stats = {
            "items": len(items),
            "items_per_depth": depths,
            "projects": len(set(project_of)),
            "items_with_dependencies": sum(1 for i in raw_items if i.get("depends_on")),
            "dependencies": sum(len(i.get("depends_on", ())) for i in raw_items),
            "vendors": len(vendors),
            "deployments": len(deployments),
            "enhancements": len(enhancements),
        }
        return Dataset(
            initial + vendors + deployments + enhancements, current_session, edits, stats
        )


def build_dataset(params: GenParams) -> Dataset:
    """The whole repository content in memory: records as first committed, then the edits."""
    return _Builder(params).build()


# -- writing the repository ----------------------------------------------------------------------


def git_env(author: tuple[str, str] = COMMITTER, when: datetime = EPOCH) -> dict[str, str]:
    """An environment that pins identity and dates and ignores the user's git configuration."""
    stamp = f"@{int(when.timestamp())} +0000"
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME=author[0],
        GIT_AUTHOR_EMAIL=author[1],
        GIT_AUTHOR_DATE=stamp,
        GIT_COMMITTER_NAME=COMMITTER[0],
        GIT_COMMITTER_EMAIL=COMMITTER[1],
        GIT_COMMITTER_DATE=stamp,
    )
    return env


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env or git_env(), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def _write(path: Path, text: str) -> int:
    data = text.encode("utf-8")
    with open(path, "wb") as handle:
        handle.write(data)
    return len(data)


def write_repo(params: GenParams, repo: Path) -> dict[str, Any]:
    """Create the repository at `repo` (which must not exist); returns what was generated."""
    started = time.perf_counter()
    dataset = build_dataset(params)
    built = time.perf_counter()

    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for key, value in (("gc.auto", "0"), ("commit.gpgSign", "false"), ("core.autocrlf", "false")):
        git(repo, "config", key, value)
    root = repo / DEFAULT_ROOT
    init_tracker(repo, id_prefix=PREFIX)
    config = root / CONFIG_FILE
    config_text = config.read_text(encoding="utf-8")
    placeholder = f"  # current_session: {PREFIX}-7f3a9c\n"
    if placeholder not in config_text:
        raise RuntimeError("tracker.yaml template changed: cannot set current_session")
    config.write_text(
        config_text.replace(placeholder, f"  current_session: {dataset.current_session}\n"),
        encoding="utf-8",
    )
    folders = {str(Path(record.rel).parent) for record in dataset.records}
    for folder in sorted(folders):
        (root / folder).mkdir(parents=True, exist_ok=True)
    total_bytes = sum(_write(root / record.rel, record.render()) for record in dataset.records)
    written = time.perf_counter()

    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Synthetic tracker: {params.items} items")
    for edit in dataset.edits:
        for record in edit.records:
            _write(root / record.rel, record.render())
        git(repo, "commit", "-q", "-a", "-m", edit.message, env=git_env(edit.author, edit.when))
    committed = time.perf_counter()

    item_bytes = sum((root / r.rel).stat().st_size for r in dataset.records if r.kind is WORK_ITEM)
    info: dict[str, Any] = {
        "params": params.as_dict(),
        "stats": {
            **dataset.stats,
            "record_files": len(dataset.records),
            "record_bytes": total_bytes,
            "average_item_bytes": round(item_bytes / dataset.stats["items"]),
            "commits": 1 + len(dataset.edits),
            "head": git(repo, "rev-parse", "HEAD").strip(),
        },
        "seconds": {
            "build": round(built - started, 2),
            "write": round(written - built, 2),
            "git": round(committed - written, 2),
        },
    }
    (repo / ".git" / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def read_marker(repo: Path) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = json.loads((repo / ".git" / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info


def ensure_repo(
    params: GenParams, out: Path | None = None, force: bool = False, quiet: bool = False
) -> Path:
    """The repository for `params`: reused when already generated, else generated now.

    Without `out` it lives in the cache, bench/out/<params.key>/. A folder that
    exists but was not generated with the same parameters is only replaced if
    it was made by this generator (and then only with `force` for an explicit --out).
    """
    target = (out or CACHE_DIR / params.key).resolve()
    marker = read_marker(target)
    if marker is not None and marker.get("params") == params.as_dict() and not force:
        if not quiet:
            print(f"reusing {target}", file=sys.stderr)
        return target
    if target.exists():
        generated_here = marker is not None
        if not generated_here or (out is not None and not force):
            raise SystemExit(
                f"{target} exists and holds something else; "
                + ("pass --force to replace it" if generated_here else "choose another --out")
            )
        shutil.rmtree(target)
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    if temporary.exists():
        shutil.rmtree(temporary)
    if not quiet:
        print(f"generating {params} into {target} ...", file=sys.stderr)
    try:
        info = write_repo(params, temporary)
        temporary.rename(target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    if not quiet:
        seconds = info["seconds"]
        print(
            f"generated {info['stats']['record_files']} record files "
            f"(~{info['stats']['average_item_bytes']} bytes per item) in "
            f"{sum(seconds.values()):.1f} s {seconds}",
            file=sys.stderr,
        )
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--items", type=int, required=True, help="number of work items")
    parser.add_argument("--out", type=Path, help="repository folder (default: the bench/out cache)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--history", type=int, default=20, help="commits after the first")
    parser.add_argument("--fanout", action="store_true", help="items/<2 hex>/<id>.yaml")
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    args = parser.parse_args(argv)
    if args.items < MIN_ITEMS:
        parser.error(f"--items must be at least {MIN_ITEMS}")
    if args.history < 0:
        parser.error("--history must not be negative")
    params = GenParams(args.items, args.seed, args.history, args.fanout)
    repo = ensure_repo(params, args.out, force=args.force)
    print(repo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
