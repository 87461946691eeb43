"""Finding a tracker root and listing its record files in the working tree."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from tracker.constants import CONFIG_FILE, DEFAULT_ROOT
from tracker.errors import NotFound
from tracker.model.kinds import RECORD_KINDS

RECORD_FOLDERS = tuple(sorted({kind.folder for kind in RECORD_KINDS}))
_RECORD_PREFIXES = tuple(folder + "/" for folder in RECORD_FOLDERS)


def find_tracker_root(start: Path, root_name: str | None = None) -> Path:
    """The tracker root for `start`: itself, an ancestor with tracker.yaml, or <repo>/.tracker."""
    name = root_name or os.environ.get("TRACKER_ROOT") or DEFAULT_ROOT
    start = start.resolve()
    if (start / CONFIG_FILE).is_file():
        return start
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() and folder.name == name:
            return folder
        candidate = folder / name
        if (candidate / CONFIG_FILE).is_file():
            return candidate
        if (folder / ".git").exists():
            break
    raise NotFound(
        f"no tracker found: no {name}/{CONFIG_FILE} in {start} or above "
        "(run `tracker init` to create one)"
    )


def is_record_path(relative: str) -> bool:
    """Whether a path inside the root belongs to the tracker (schema/ and templates/ do not)."""
    if relative == CONFIG_FILE:
        return True
    name = relative.rsplit("/", 1)[-1]
    return not name.startswith(".") and relative.startswith(_RECORD_PREFIXES)


def is_record_folder(relative: str) -> bool:
    """Whether every file (but dotfiles) in this folder below the root is a record file."""
    return (relative + "/").startswith(_RECORD_PREFIXES)


def iter_record_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(path relative to root, absolute path) of tracker.yaml and each file in a record folder."""
    config = root / CONFIG_FILE
    if config.is_file():
        yield CONFIG_FILE, config
    for folder in RECORD_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for directory, subdirs, files in os.walk(base):
            subdirs.sort()
            for name in sorted(files):
                if name.startswith("."):
                    continue
                absolute = Path(directory) / name
                yield absolute.relative_to(root).as_posix(), absolute
