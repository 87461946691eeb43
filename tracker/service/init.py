"""`tracker init`: a new tracker root, and on request the git hook; never overwrites anything."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tracker.constants import CONFIG_FILE, DEFAULT_ID_PREFIX, DEFAULT_ROOT, SCHEMA_DIR
from tracker.errors import UsageError
from tracker.model.kinds import CONFIG, RECORD_KINDS, schema_ref
from tracker.service.schema_export import render_schemas
from tracker.store.git_config import set_local
from tracker.store.staged import git_path, repository_top

CONFIG_TEMPLATE = """\
# yaml-language-server: $schema={schema}
# Settings of this tracker and the project configuration.
# Edit freely and commit; `tracker validate` (and the pre-commit hook) checks it.

# Version of the tracker file format; `tracker migrate` upgrades older trackers.
format_version: 1
# Prefix of new work-item ids, e.g. {prefix}-7f3a9c.
id_prefix: {prefix}
# `tracker archive` moves items created more than this many days ago to archive/.
archive_after_days: 365

# The project configuration (one per tracker).
project:
  # What the project is busy with: feature | maintenance | research
  active_context_type: feature
  # The session item being worked on now (a session item's id):
  # current_session: {prefix}-7f3a9c
  # Token budget of new sessions (1,000 to 1,000,000).
  default_token_budget: 200000

# The index that answers queries: duckdb (embedded, the default) or postgres (shared).
index:
  backend: duckdb
"""

HOOK_SCRIPT = """\
#!/bin/sh
# Installed by `tracker init --hook`: refuse commits whose tracker files are invalid.
if command -v tracker >/dev/null 2>&1; then
  exec tracker validate --staged
fi
exec "{python}" -m tracker validate --staged
"""


MERGE_DRIVER = "tracker"  # the name in .gitattributes (merge=tracker) and in git config
MERGE_DRIVER_NAME = "tracker field-level merge"


@dataclass
class InitStep:
    path: Path
    action: str  # "created", "kept" (it existed and was left alone) or "updated"
    detail: str = ""  # what inside the file, e.g. a git config key


def init_tracker(
    directory: Path,
    root_name: str | None = None,
    id_prefix: str = DEFAULT_ID_PREFIX,
    hook: bool = False,
    merge_driver: bool = False,
) -> list[InitStep]:
    root = directory / (root_name or DEFAULT_ROOT)
    steps: list[InitStep] = []
    config_text = CONFIG_TEMPLATE.format(schema=schema_ref(CONFIG_FILE, CONFIG), prefix=id_prefix)
    steps.append(_create(root / CONFIG_FILE, config_text))
    for folder in sorted({kind.folder for kind in RECORD_KINDS}):
        steps.append(_create(root / folder / ".gitkeep", ""))
    for name, text in render_schemas().items():
        steps.append(_create(root / SCHEMA_DIR / name, text))
    if hook:
        hook_path = git_path(directory, "hooks/pre-commit")
        step = _create(hook_path, HOOK_SCRIPT.format(python=sys.executable))
        if step.action == "created":
            hook_path.chmod(0o755)
        steps.append(step)
    if merge_driver:
        steps.extend(install_merge_driver(directory, root))
    return steps


def install_merge_driver(directory: Path, root: Path) -> list[InitStep]:
    """Route the tracker's files through `tracker merge-driver` when git merges them."""
    top = repository_top(directory)
    try:
        folder = root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError as exc:
        raise UsageError(f"{root} is outside the git repository {top}") from exc
    line = f"{_everything_under(folder)} merge={MERGE_DRIVER}"
    steps = [_add_line(top / ".gitattributes", line)]
    config = git_path(directory, "config")
    settings = {"name": MERGE_DRIVER_NAME, "driver": driver_command()}
    for name, value in settings.items():
        key = f"merge.{MERGE_DRIVER}.{name}"
        steps.append(InitStep(config, set_local(directory, key, value), key))
    return steps


def driver_command() -> str:
    """The command git runs; the interpreter's absolute path works without tracker on PATH."""
    if not sys.executable:
        return "tracker merge-driver %O %A %B %P"
    quoted = "'" + sys.executable.replace("'", "'\\''") + "'"  # git runs it through sh
    return f"{quoted} -m tracker merge-driver %O %A %B %P"


def _everything_under(folder: str) -> str:
    """The .gitattributes pattern `<folder>/**`, C-quoted when the folder holds a space."""
    escaped = "".join("\\" + ch if ch in "*?[\\" else ch for ch in folder) + "/**"
    if any(ch in escaped for ch in ' \t"'):
        return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def _add_line(path: Path, line: str) -> InitStep:
    """Append `line` unless the file already has it; other lines are never touched."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if text is not None and line.split() in (existing.split() for existing in text.splitlines()):
        return InitStep(path, "kept")
    addition = ("\n" if text and not text.endswith("\n") else "") + line + "\n"
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(addition)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
    return InitStep(path, "created" if text is None else "updated")


def _create(path: Path, text: str) -> InitStep:
    if path.exists():
        return InitStep(path, "kept")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:  # "x": never clobber a racing writer
            handle.write(text)
    except FileExistsError:
        return InitStep(path, "kept")
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from exc
    return InitStep(path, "created")
