"""The write path: read at the tip, check the version, change, validate, commit with a CAS.

A record write commits exactly one record change on the current branch. The
writer's version check compares the record's blob at the version the caller
saw with its blob at the tip, so it costs two tree lookups, not a history walk.
A change of several files (`write_changes`, e.g. archiving) gets the same
guarantees: the writer lock, the CAS redone on a moved tip, no local edits
overwritten unless forced, the working tree and git's index kept in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from tracker.constants import CONFIG_FILE
from tracker.errors import Conflict, Problem, ValidationFailed
from tracker.model.kinds import ARCHIVED_ITEM, CONFIG, WORK_ITEM, Kind, record_as_data, schema_ref
from tracker.model.parse import describe_error
from tracker.model.yaml_write import dump_record, update_text
from tracker.service.integrity import check_record
from tracker.service.records import TreeReader
from tracker.service.workspace import Workspace
from tracker.store.git_repo import Tip, TipMoved

MAX_ATTEMPTS = 20  # tip races with outside git commands; tracker writers queue on a lock

Mutation = Callable[[dict[str, Any] | None, TreeReader], dict[str, Any]]


@dataclass
class ChangeSet:
    """Files changed together in one commit, chosen by reading one tip."""

    files: dict[str, bytes | None]  # root-relative path -> new content; None deletes
    message: str
    # new path -> old path of a moved file: with --force, uncommitted edits of the old
    # file follow it to the new one, still uncommitted
    moves: dict[str, str] = field(default_factory=dict)


Prepare = Callable[[TreeReader], ChangeSet]


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field} {_short(self.old)} -> {_short(self.new)}"


@dataclass
class WriteResult:
    id: str
    kind: str
    version: str
    path: str
    message: str
    changes: list[FieldChange] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "version": self.version,
            "path": self.path,
            "message": self.message,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
            "record": self.record,
        }


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_record(
    workspace: Workspace,
    kind: Kind,
    key: str,
    mutate: Mutation,
    *,
    create: bool = False,
    if_version: str | None = None,
    force: bool = False,
    summary: str | None = None,
) -> WriteResult:
    """Apply `mutate` to the record `key` of `kind` and commit it; see the module docstring."""
    store = workspace.store
    with store.write_lock():
        for _ in range(MAX_ATTEMPTS):
            tip = store.tip()
            try:
                return _attempt(
                    workspace, tip, kind, key, mutate, create, if_version, force, summary
                )
            except TipMoved:
                continue  # someone committed outside tracker meanwhile: redo on the new tip
    raise Conflict(f"{key}: the branch kept moving during the write; nothing was written")


def write_changes(workspace: Workspace, prepare: Prepare, *, force: bool = False) -> str | None:
    """Commit the change `prepare` builds from the tip, as one commit; its SHA, or None
    when the change is empty. `prepare` runs again on the new tip if the branch moves."""
    store = workspace.store
    with store.write_lock():
        for _ in range(MAX_ATTEMPTS):
            tip = store.tip()
            try:
                return _commit_changes(workspace, tip, prepare, force)
            except TipMoved:
                continue
    raise Conflict("the branch kept moving during the write; nothing was written")


def _commit_changes(workspace: Workspace, tip: Tip, prepare: Prepare, force: bool) -> str | None:
    store = workspace.store
    staged_probe = store.probe_staged(CONFIG_FILE, tip.commit)
    try:
        change = prepare(TreeReader(workspace, tip.commit))
    finally:
        staged = staged_probe.staged_paths()
    if not change.files:
        return None
    dirty = [
        path
        for path in sorted(change.files)
        if store.repo_path(path) in staged
        or store.working_blob_id(path) != store.blob_id(path, tip.commit)
    ]
    if dirty and not force:
        shown = ", ".join(workspace.display(path) for path in dirty[:5])
        more = f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""
        raise Conflict(
            f"uncommitted local edits in {shown}{more}: commit or discard them, "
            "or pass --force to keep them (uncommitted) on top of this change"
        )
    carried = {
        new: workspace.read_working(old) for new, old in change.moves.items() if old in dirty
    }
    signature = store.default_signature(workspace.actor)
    version = store.commit(tip, change.files, change.message, signature)
    store.sync_worktree(change.files, version)
    for path, content in carried.items():
        store.write_working(path, content)
    store.remember_staged(version, staged - {store.repo_path(path) for path in change.files})
    return version


def _attempt(
    workspace: Workspace,
    tip: Tip,
    kind: Kind,
    key: str,
    mutate: Mutation,
    create: bool,
    if_version: str | None,
    force: bool,
    summary: str | None,
) -> WriteResult:
    store = workspace.store
    reader = TreeReader(workspace, tip.commit)
    path = "tracker.yaml" if kind is CONFIG else reader.locate(kind, key)
    if create:
        if path is not None:
            raise Conflict(f"{key} already exists ({workspace.display(path)})")
        path = workspace.record_path(kind, key)
    elif path is None or (kind is CONFIG and store.blob_id(path, tip.commit) is None):
        from tracker.errors import NotFound, UsageError

        archived = reader.locate(ARCHIVED_ITEM, key) if kind is WORK_ITEM else None
        if archived is not None:
            raise UsageError(
                f"{key} is archived ({workspace.display(archived)}): archived items are "
                "read-only; move its file back into items/ (and commit) to change it"
            )
        raise NotFound(f"no {kind.name.replace('-', ' ')} '{key}' at {tip.commit or 'HEAD'}")

    committed_blob = store.blob_id(path, tip.commit)
    if if_version:
        _check_version(workspace, tip, path, key, if_version, committed_blob)
    # git reads its index in a separate process while this one prepares the change.
    staged_probe = store.probe_staged(path, tip.commit)
    try:
        base = _base_content(workspace, path, key, committed_blob, force)
    except BaseException:
        staged_probe.staged_paths()
        raise

    before = _normalised(workspace, path, kind, base) if base is not None else None
    after_data = mutate(None if before is None else dict(before), reader)
    record = _validated(workspace, path, kind, after_data)
    after = record_as_data(record)
    problems = check_record(reader, path, record, before)
    if problems:
        raise ValidationFailed(problems)
    changes = diff_fields(before or {}, after)
    if staged_probe.differs() and not force:
        raise _dirty(workspace, key, path)
    if before is not None and not changes:
        version = _current_version(workspace, path, tip)
        return WriteResult(key, kind.name, version, path, "nothing to change", [], after)

    if base is None:
        text = dump_record(after, kind.key_order, schema_ref(path, kind))
    else:
        text = update_text(base.decode("utf-8"), before or {}, after, kind.key_order)
    message = summary or commit_message(key, kind, before, changes)
    content = text.encode("utf-8")
    signature = store.default_signature(workspace.actor)
    # The file first, the branch after: a reader in between sees the new content under the
    # old version (dirty), so a write based on that read is refused as a conflict. The
    # other order would pair the new version with the old content, and a write based on
    # that would pass the version check and silently undo this one.
    store.write_working(path, content)
    try:
        version = store.commit(tip, {path: content}, message, signature)
    except BaseException:
        store.write_working(path, base)  # as it was: committed, or with --force, edited
        raise
    store.sync_worktree({path: content}, version)
    # Other files staged before stay staged; the one written is now in step with HEAD.
    store.remember_staged(version, staged_probe.staged_paths() - {store.repo_path(path)})
    return WriteResult(key, kind.name, version, path, message, changes, after)


def _check_version(
    workspace: Workspace, tip: Tip, path: str, key: str, if_version: str, blob: str | None
) -> None:
    store = workspace.store
    try:
        expected = store.resolve(if_version)
        then = store.blob_id(path, expected)
    except Exception:  # an unknown version is as good as a stale one
        expected, then = if_version, "unknown"
    if then == blob:
        return
    current = store.last_change(path, tip.commit)
    raise VersionConflict(
        key,
        expected,
        current.sha if current else "none",
        current.author if current else "",
        current.time.isoformat() if current else "",
    )


class VersionConflict(Conflict):
    def __init__(self, key: str, expected: str, current: str, author: str, when: str) -> None:
        self.key, self.expected, self.current = key, expected, current
        self.changed_by, self.changed_at = author, when
        super().__init__(f"{key} changed since {expected}: now {current} by {author} at {when}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "conflict",
            "id": self.key,
            "expected_version": self.expected,
            "current_version": self.current,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at,
            "message": self.message,
        }


def _base_content(
    workspace: Workspace, path: str, key: str, committed_blob: str | None, force: bool
) -> bytes | None:
    """The content the change applies to: the committed file, or with --force the edited one."""
    store = workspace.store
    dirty = store.working_blob_id(path) != committed_blob
    if dirty and not force:
        raise _dirty(workspace, key, path)
    if dirty:
        return workspace.read_working(path)
    return None if committed_blob is None else store.read_blob(committed_blob)


def _dirty(workspace: Workspace, key: str, path: str) -> Conflict:
    return Conflict(
        f"{key} has uncommitted local edits in {workspace.display(path)}: commit or discard "
        "them, or pass --force to apply this change on top of them"
    )


def _normalised(workspace: Workspace, path: str, kind: Kind, raw: bytes) -> dict[str, Any]:
    from tracker.model.parse import parse_bytes

    record, problems = parse_bytes(raw, workspace.display(path), kind)
    if record is None or problems:
        raise ValidationFailed(problems)
    return record_as_data(record)


def _validated(workspace: Workspace, path: str, kind: Kind, data: dict[str, Any]) -> BaseModel:
    try:
        record: BaseModel = kind.adapter.validate_python(data)
    except ValidationError as exc:
        shown = workspace.display(path)
        problems = []
        for error in exc.errors(include_url=False):
            loc = [part for part in error["loc"] if part not in (data.get("type"),)]
            if error["type"].startswith("union_tag"):
                loc = ["type"]
            problems.append(Problem(shown, 0, ".".join(map(str, loc)), describe_error(error)))
        raise ValidationFailed(problems) from None
    return record


def _current_version(workspace: Workspace, path: str, tip: Tip) -> str:
    info = workspace.store.last_change(path, tip.commit)
    return info.sha if info else ""


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """Field-level changes, nested mappings flattened to dotted names."""
    changes: list[FieldChange] = []
    for name in list(before) + [k for k in after if k not in before]:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for sub in diff_fields(old, new):
                changes.append(FieldChange(f"{name}.{sub.field}", sub.old, sub.new))
        elif name != "updated_at":
            changes.append(FieldChange(name, old, new))
    return changes


def commit_message(key: str, kind: Kind, before: Any, changes: list[FieldChange]) -> str:
    if before is None:
        return f"tracker: new {kind.name.replace('-', ' ')} {key}"
    return f"tracker: {key} " + ", ".join(str(change) for change in changes)


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
