"""`tracker merge-driver`: git's custom merge driver for tracker files, field by field."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tracker.errors import TrackerError
from tracker.model.kinds import kind_for_path
from tracker.model.merge import merge_records, render_merged_text
from tracker.model.yaml_read import LoadedYaml, YamlProblem, load_yaml_bytes
from tracker.store.merge_file import line_merge

RECORD_SUFFIXES = (".yaml", ".yml")


@dataclass
class DriverResult:
    exit_code: int  # what git expects: 0 clean, non-zero conflicted
    conflicts: list[str] = field(default_factory=list)  # conflicted fields (field merge)
    line_merged: bool = False  # fell back to git's line merge
    reason: str = ""  # why the field merge was not possible, when that is news


def merge_driver(base: Path, ours: Path, theirs: Path, display: str) -> DriverResult:
    """Merge `theirs` into `ours` (the file git reads back) given their common `base`.

    `base` may be missing or empty (the file is new on both sides). Anything
    that is not a YAML mapping on every side is left to git's line merge.
    """
    if not display.endswith(RECORD_SUFFIXES):
        return DriverResult(_line_merge(ours, base, theirs), line_merged=True)
    try:
        base_raw, ours_raw, theirs_raw = _read(base), ours.read_bytes(), theirs.read_bytes()
    except OSError as exc:
        raise TrackerError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    try:
        text, conflicts = _field_merge(display, base_raw, ours_raw, theirs_raw)
    except YamlProblem as exc:
        return DriverResult(_line_merge(ours, base, theirs), line_merged=True, reason=str(exc))
    except Exception as exc:  # a bug here must never cost the user the other side's edits
        reason = f"{display}: cannot merge field by field ({type(exc).__name__}: {exc})"
        return DriverResult(_line_merge(ours, base, theirs), line_merged=True, reason=reason)
    try:
        ours.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        raise TrackerError(f"cannot write {ours}: {exc.strerror}") from exc
    return DriverResult(1 if conflicts else 0, conflicts=conflicts)


def _field_merge(
    display: str, base_raw: bytes, ours_raw: bytes, theirs_raw: bytes
) -> tuple[str, list[str]]:
    """The merged text and its conflicted fields; YamlProblem when a side is not a mapping."""
    base = load_yaml_bytes(base_raw, f"{display} (base)") if base_raw.strip() else None
    ours = load_yaml_bytes(ours_raw, f"{display} (ours)")
    theirs = load_yaml_bytes(theirs_raw, f"{display} (theirs)")
    key_order = _key_order(display, ours, theirs)
    outcome = merge_records(base.data if base else None, ours.data, theirs.data, key_order)
    text = render_merged_text(ours_raw.decode("utf-8"), ours.data, outcome, key_order)
    return text, outcome.conflict_names


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _key_order(display: str, ours: LoadedYaml, theirs: LoadedYaml) -> tuple[str, ...]:
    """The kind's key order, found from the path's tail whatever the root's name."""
    parts = PurePosixPath(display.replace(os.sep, "/")).parts
    for start in range(len(parts)):
        kind = kind_for_path("/".join(parts[start:]))
        if kind is not None:
            return kind.key_order
    return tuple(dict.fromkeys([*ours.data, *theirs.data]))  # unknown kind: the files' own order


def _line_merge(ours: Path, base: Path, theirs: Path) -> int:
    if base.is_file():
        return line_merge(ours, base, theirs)
    with tempfile.TemporaryDirectory(prefix="tracker-merge-") as folder:
        empty = Path(folder) / "base"
        empty.write_bytes(b"")
        return line_merge(ours, empty, theirs)
