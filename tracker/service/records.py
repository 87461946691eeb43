"""Reading records from one commit of the repository, lazily and with a per-call cache."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tracker.errors import NotFound, ValidationFailed
from tracker.model.ids import resolve_id
from tracker.model.kinds import ARCHIVED_ITEM, DEPLOYMENT, ENHANCEMENT, VENDOR, WORK_ITEM, Kind
from tracker.model.parse import parse_bytes
from tracker.model.work_item import AnyWorkItem
from tracker.service.workspace import Workspace, candidate_paths

KINDS_BY_NAME = {
    "item": WORK_ITEM,
    "vendor": VENDOR,
    "deployment": DEPLOYMENT,
    "enhancement": ENHANCEMENT,
}
WHAT = {
    WORK_ITEM: "item",
    ARCHIVED_ITEM: "item",
    VENDOR: "vendor",
    DEPLOYMENT: "deployment",
    ENHANCEMENT: "enhancement",
}


class TreeReader:
    """The records of one commit (None: an empty repository)."""

    def __init__(self, workspace: Workspace, commit: str | None) -> None:
        self.workspace = workspace
        self.store = workspace.store
        self.commit = commit
        self._records: dict[tuple[str, str], tuple[str, BaseModel] | None] = {}
        self._keys: dict[str, list[str]] = {}

    def locate(self, kind: Kind, key: str) -> str | None:
        """The root-relative path of a record's file at this commit, if it exists."""
        for path in candidate_paths(kind, key):
            if self.store.blob_id(path, self.commit) is not None:
                return path
        return None

    def get(self, kind: Kind, key: str) -> tuple[str, BaseModel] | None:
        """(path, record) or None. A file that does not validate is an error naming it."""
        cache_key = (kind.folder, key)
        if cache_key not in self._records:
            path = self.locate(kind, key)
            found: tuple[str, BaseModel] | None = None
            if path is not None:
                raw = self.store.read(path, self.commit)
                assert raw is not None
                record, problems = parse_bytes(raw, self.workspace.display(path), kind)
                if record is None or problems:
                    raise ValidationFailed(problems)
                found = (path, record)
            self._records[cache_key] = found
        return self._records[cache_key]

    def item(self, key: str) -> AnyWorkItem | None:
        """A work item, live or archived."""
        for kind in (WORK_ITEM, ARCHIVED_ITEM):
            found = self.get(kind, key)
            if found is not None:
                record: Any = found[1]
                return record  # type: ignore[no-any-return]
        return None

    def locate_item(self, key: str) -> str | None:
        return self.locate(WORK_ITEM, key) or self.locate(ARCHIVED_ITEM, key)

    def keys(self, kind: Kind) -> list[str]:
        if kind.folder not in self._keys:
            files = self.store.list_files(kind.folder, self.commit)
            self._keys[kind.folder] = [
                path.rsplit("/", 1)[-1].removesuffix(".yaml")
                for path in files
                if path.endswith(".yaml")
            ]
        return self._keys[kind.folder]

    def resolve(self, kind: Kind, text: str) -> str:
        """The full key for what the user typed: an exact key or any unique prefix."""
        if self.locate(kind, text) is not None:
            return text
        if kind is WORK_ITEM and self.locate(ARCHIVED_ITEM, text) is not None:
            return text
        known = list(self.keys(kind))
        if kind is WORK_ITEM:
            known += self.keys(ARCHIVED_ITEM)
        if kind is VENDOR:
            lowered = {name.lower(): name for name in known}
            if text.lower() in lowered:
                return lowered[text.lower()]
        try:
            return resolve_id(text, known, WHAT[kind])
        except NotFound:
            raise NotFound(f"no {WHAT[kind]} matches '{text}'") from None

    def children(self, key: str) -> list[AnyWorkItem]:
        """Items whose parent is `key` (a scan: only moves of whole subtrees need it)."""
        found: list[AnyWorkItem] = []
        for kind in (WORK_ITEM, ARCHIVED_ITEM):
            for child_key in self.keys(kind):
                child = self.item(child_key)
                if child is not None and child.parent == key:
                    found.append(child)
        return found
