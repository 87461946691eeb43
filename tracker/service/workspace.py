"""The tracker a command works on: its root, settings and repository, opened lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tracker.constants import CONFIG_FILE
from tracker.errors import Problem, ValidationFailed
from tracker.model.config import ItemLayout, TrackerConfig
from tracker.model.kinds import CONFIG, Kind
from tracker.model.parse import parse_bytes
from tracker.store.git_repo import GitStore
from tracker.store.tree import find_tracker_root


@dataclass
class Workspace:
    root: Path
    actor: str | None = None
    index_dsn: str | None = None  # a team index named on the command line (--index-dsn)
    _config: TrackerConfig | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        start: Path | None = None,
        root_name: str | None = None,
        actor: str | None = None,
        index_dsn: str | None = None,
    ) -> Workspace:
        return cls(find_tracker_root(start or Path.cwd(), root_name), actor, index_dsn)

    @cached_property
    def store(self) -> GitStore:
        return GitStore(self.root)

    @property
    def config(self) -> TrackerConfig:
        if self._config is None:
            self._config = self.load_config(self.read_working(CONFIG_FILE))
        return self._config

    def load_config(self, raw: bytes | None) -> TrackerConfig:
        if raw is None:
            return TrackerConfig()
        record, problems = parse_bytes(raw, self.display(CONFIG_FILE), CONFIG)
        if record is None or problems:
            raise ValidationFailed(
                problems or [Problem(self.display(CONFIG_FILE), 1, "", "invalid")]
            )
        assert isinstance(record, TrackerConfig)
        return record

    def read_working(self, relative: str) -> bytes | None:
        try:
            return (self.root / relative).read_bytes()
        except FileNotFoundError:
            return None

    def display(self, relative: str) -> str:
        """A root-relative path as shown in messages: relative to the repository or cwd."""
        path = self.root / relative
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()

    def record_path(self, kind: Kind, key: str) -> str:
        """Where a new record of `kind` goes, following the configured item layout."""
        if kind.folder.endswith("items") and self.config.item_layout == ItemLayout.FANOUT:
            return f"{kind.folder}/{fanout_bucket(key)}/{key}.yaml"
        return f"{kind.folder}/{key}.yaml"


def fanout_bucket(key: str) -> str:
    return key.split("-", 1)[-1][:2]


def candidate_paths(kind: Kind, key: str) -> tuple[str, str]:
    """A record's file in either layout: flat first, then fanned out."""
    return f"{kind.folder}/{key}.yaml", f"{kind.folder}/{fanout_bucket(key)}/{key}.yaml"
