"""`tracker archive`: move old work items to archive/items, all in one commit.

An item goes when it was created before the cutoff and is finished (completed or
soft-deleted), or open with --include-open. An item stays when it is open, is the
current session, or has a descendant that stays: a kept item never loses its parent
from the default views. Archived items still count as existing (and as completed
when they are) for the parents and dependencies of the items that stay.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.constants import CONFIG_FILE, SCHEMA_LINE_PREFIX
from tracker.errors import Problem, UsageError, ValidationFailed
from tracker.model.kinds import ARCHIVED_ITEM, WORK_ITEM, schema_ref
from tracker.model.parse import parse_bytes
from tracker.model.work_item import AnyWorkItem
from tracker.service.records import TreeReader
from tracker.service.workspace import Workspace, candidate_paths
from tracker.service.writer import ChangeSet, write_changes

AGE = re.compile(r"(\d+)([dw])")
AGE_UNITS = {"d": 1, "w": 7}


@dataclass
class Move:
    id: str
    type: str
    status: str
    created_at: str
    title: str
    why: str  # completed, deleted, or open (with --include-open)
    source: str  # root-relative paths
    target: str


@dataclass
class Kept:
    id: str
    status: str
    created_at: str
    title: str
    reason: str


@dataclass
class ArchivePlan:
    cutoff: datetime
    moves: list[Move] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)  # old enough, but staying
    newer: int = 0  # live items created after the cutoff

    @property
    def message(self) -> str:
        count = len(self.moves)
        subject = (
            f"tracker: archive {count} item{'' if count == 1 else 's'} "
            f"created before {self.cutoff.date().isoformat()}"
        )
        return subject + "\n\n" + "\n".join(move.id for move in self.moves) + "\n"


def parse_age(text: str) -> int:
    """Days in an age such as `365d` or `52w`."""
    match = AGE.fullmatch(text.strip().lower())
    if match is None or int(match[1]) < 1:
        raise UsageError(f"--older-than {text!r}: give a number of days or weeks, e.g. 365d or 52w")
    return int(match[1]) * AGE_UNITS[match[2]]


def archive_items(
    workspace: Workspace,
    older_than: str | None = None,
    *,
    include_open: bool = False,
    dry_run: bool = False,
    force: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Archive (or with dry_run, list) the items created before the cutoff; see the module."""
    days = parse_age(older_than) if older_than else workspace.config.archive_after_days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    version: str | None = None
    if dry_run:
        plan = plan_archive(
            TreeReader(workspace, workspace.store.tip().commit), cutoff, include_open
        )
    else:
        plans: list[ArchivePlan] = []

        def prepare(reader: TreeReader) -> ChangeSet:
            plans.append(plan_archive(reader, cutoff, include_open))
            return _change_set(reader, plans[-1])

        version = write_changes(workspace, prepare, force=force)
        plan = plans[-1]
    return {
        "dry_run": dry_run,
        "older_than_days": days,
        "cutoff": cutoff.isoformat(),
        "count": len(plan.moves),
        "archived": [_shown(workspace, move) for move in plan.moves],
        "kept": [asdict(kept) for kept in plan.kept],
        "newer_count": plan.newer,
        "version": version,
        "message": plan.message.splitlines()[0] if plan.moves else "nothing to archive",
    }


def plan_archive(reader: TreeReader, cutoff: datetime, include_open: bool) -> ArchivePlan:
    """What moves and what stays, decided on the commit `reader` reads."""
    items, paths = _live_items(reader)
    plan = ArchivePlan(cutoff)
    session = _current_session(reader)
    staying: dict[str, str] = {}  # old items that stay -> why
    young: set[str] = set()
    for key, item in items.items():
        if item.created_at >= cutoff:
            young.add(key)
        elif key == session:
            staying[key] = f"the current session in {CONFIG_FILE}"
        elif _is_open(item) and not include_open:
            staying[key] = f"open ({item.status})"
        elif any(
            reader.store.blob_id(p, reader.commit) for p in candidate_paths(ARCHIVED_ITEM, key)
        ):
            staying[key] = "already in the archive too (a duplicate id: run tracker validate)"
    _keep_ancestors(items, young, staying)
    plan.newer = len(young)
    for key in sorted(items):
        item = items[key]
        if key in young:
            continue
        if key in staying:
            plan.kept.append(
                Kept(key, item.status, _iso(item.created_at), item.title, staying[key])
            )
            continue
        why = "deleted" if item.deleted_at is not None else str(item.status)
        if _is_open(item):
            why = f"open ({item.status}), --include-open"
        target = reader.workspace.record_path(ARCHIVED_ITEM, key)
        plan.moves.append(
            Move(
                key,
                item.type,
                item.status,
                _iso(item.created_at),
                item.title,
                why,
                paths[key],
                target,
            )
        )
    return plan


def _live_items(reader: TreeReader) -> tuple[dict[str, AnyWorkItem], dict[str, str]]:
    """The items under items/ at the reader's commit, and their paths; every problem at once."""
    store, workspace = reader.store, reader.workspace
    items: dict[str, AnyWorkItem] = {}
    paths: dict[str, str] = {}
    problems: list[Problem] = []
    for path in store.list_files(WORK_ITEM.folder, reader.commit):
        if not path.endswith(".yaml"):
            continue
        raw = store.read(path, reader.commit)
        assert raw is not None
        record, found = parse_bytes(raw, workspace.display(path), WORK_ITEM)
        if record is None or found:
            problems.extend(found)
            continue
        item: Any = record
        items[item.id] = item
        paths[item.id] = path
    if problems:
        raise ValidationFailed(problems)  # an item that cannot be read cannot be judged
    return items, paths


def _current_session(reader: TreeReader) -> str | None:
    raw = reader.store.read(CONFIG_FILE, reader.commit)
    if raw is None:
        return None
    return reader.workspace.load_config(raw).project.current_session


def _is_open(item: AnyWorkItem) -> bool:
    return item.deleted_at is None and item.status != "completed"


def _keep_ancestors(
    items: dict[str, AnyWorkItem], young: set[str], staying: dict[str, str]
) -> None:
    """Every ancestor of an item that stays stays too, naming the descendant that keeps it."""
    settled: set[str] = set()  # items whose ancestors are all known to stay
    for origin in sorted(young | set(staying)):
        current = origin
        while current not in settled:
            settled.add(current)
            parent = items[current].parent
            if parent is None or parent not in items:
                break  # a root, or a parent already archived
            if parent not in young and parent not in staying:
                staying[parent] = f"has a descendant that stays ({origin})"
            current = parent


def _change_set(reader: TreeReader, plan: ArchivePlan) -> ChangeSet:
    files: dict[str, bytes | None] = {}
    for move in plan.moves:
        raw = reader.store.read(move.source, reader.commit)
        assert raw is not None
        files[move.source] = None
        files[move.target] = _with_schema_line(raw, schema_ref(move.target, ARCHIVED_ITEM))
    return ChangeSet(files, plan.message, {move.target: move.source for move in plan.moves})


def _with_schema_line(raw: bytes, ref: str) -> bytes:
    """The file with its `$schema=` comment pointing at the schema from its new folder."""
    prefix = SCHEMA_LINE_PREFIX.encode()
    if not raw.startswith(prefix):
        return raw
    _, newline, rest = raw.partition(b"\n")
    return prefix + ref.encode() + newline + rest


def _shown(workspace: Workspace, move: Move) -> dict[str, Any]:
    data = asdict(move)
    data["source"] = workspace.display(move.source)
    data["target"] = workspace.display(move.target)
    return data


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
