"""Three-way merge of one record, field by field, and the text of the merged file.

Git's line merge already succeeds when two branches touch different fields; this
also merges two edits of the same list (set semantics), of different keys of one
nested mapping, and of `updated_at` (the later wins). Only the same field
changed two different ways is a conflict, and only that field gets markers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from tracker.model.times import instant
from tracker.model.yaml_write import is_empty, render_field, render_scalar, update_text


class _Missing:
    """A field one side does not have (also what None, [] and {} mean in a record)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
LATER_WINS = frozenset({"updated_at"})
_SCALARS = (str, int, float, bool, date)  # datetime is a date
MARKER_SIZE = 7


@dataclass(frozen=True)
class FieldConflict:
    """The same field changed two different ways; either side may be MISSING."""

    path: tuple[str, ...]
    ours: Any
    theirs: Any

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class MergeOutcome:
    """The merged record; a conflicted field holds our value (or is absent when we have none)."""

    merged: dict[str, Any]
    conflicts: tuple[FieldConflict, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.conflicts

    @property
    def conflict_names(self) -> list[str]:
        return [conflict.name for conflict in self.conflicts]


def merge_records(
    base: Mapping[str, Any] | None,
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    key_order: Sequence[str] = (),
) -> MergeOutcome:
    """Merge two descendants of `base` (None when the file is new on both sides)."""
    conflicts: list[FieldConflict] = []
    merged = _merge_mapping((), base or {}, ours, theirs, conflicts)
    rank = {key: index for index, key in enumerate(key_order)}
    keys = sorted(merged, key=lambda key: rank.get(key, len(rank)))  # stable: others keep order
    conflicts.sort(key=lambda c: rank.get(c.path[0], len(rank)))
    return MergeOutcome({key: merged[key] for key in keys}, tuple(conflicts))


def _merge_mapping(
    path: tuple[str, ...],
    base: Mapping[str, Any],
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    conflicts: list[FieldConflict],
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in [*ours, *(key for key in theirs if key not in ours)]:
        value = _merge_value(
            (*path, key),
            base.get(key, MISSING),
            ours.get(key, MISSING),
            theirs.get(key, MISSING),
            conflicts,
        )
        if value is not MISSING:
            merged[key] = value
    return merged


def _merge_value(
    path: tuple[str, ...], base: Any, ours: Any, theirs: Any, conflicts: list[FieldConflict]
) -> Any:
    base, ours, theirs = _present(base), _present(ours), _present(theirs)
    if _same(ours, theirs) or _same(base, theirs):
        return ours
    if _same(base, ours):
        return theirs
    if path[-1] in LATER_WINS:
        return _later(ours, theirs)
    if _all_are(dict, base, ours, theirs):
        merged = _merge_mapping(path, _or(base, {}), _or(ours, {}), _or(theirs, {}), conflicts)
        return merged or MISSING
    if _all_are(list, base, ours, theirs) and _scalar_lists(base, ours, theirs):
        return _merge_list(_or(base, []), _or(ours, []), _or(theirs, [])) or MISSING
    conflicts.append(FieldConflict(path, ours, theirs))
    return ours


def _merge_list(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Additions from both sides, removals from either: ours' order, then theirs' new values."""
    base_keys = {_key(value) for value in base}
    removed = (base_keys - {_key(value) for value in ours}) | (
        base_keys - {_key(value) for value in theirs}
    )
    merged: list[Any] = []
    seen: set[tuple[str, Any]] = set()
    for value in [*ours, *theirs]:
        key = _key(value)
        if key not in removed and key not in seen:
            seen.add(key)
            merged.append(value)
    return merged


def _later(ours: Any, theirs: Any) -> Any:
    if ours is MISSING or theirs is MISSING:
        return theirs if ours is MISSING else ours
    ours_at, theirs_at = instant(ours), instant(theirs)
    if ours_at is not None and theirs_at is not None:
        return theirs if theirs_at > ours_at else ours
    return theirs if str(theirs) > str(ours) else ours


def _present(value: Any) -> Any:
    return MISSING if value is MISSING or is_empty(value) else value


def _or(value: Any, default: Any) -> Any:
    return default if value is MISSING else value


def _all_are(kind: type, *values: Any) -> bool:
    """Every value is `kind` or MISSING, and at least one is `kind`."""
    return all(v is MISSING or isinstance(v, kind) for v in values) and any(
        isinstance(v, kind) for v in values
    )


def _scalar_lists(*values: Any) -> bool:
    items = [item for value in values if value is not MISSING for item in value]
    return all(isinstance(item, _SCALARS) for item in items)


def _key(value: Any) -> tuple[str, Any]:
    """Hashable identity of a scalar that keeps True apart from 1."""
    return (type(value).__name__, value)


def _same(left: Any, right: Any) -> bool:
    """Equality as a record means it: empty values are absent, and True is not 1."""
    left, right = _present(left), _present(right)
    if left is MISSING or right is MISSING:
        return left is right
    if isinstance(left, dict) and isinstance(right, dict):
        left_keys = {key for key, value in left.items() if _present(value) is not MISSING}
        right_keys = {key for key, value in right.items() if _present(value) is not MISSING}
        return left_keys == right_keys and all(_same(left[key], right[key]) for key in left_keys)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, bool) or isinstance(right, bool) or type(left) is not type(right):
        return type(left) is type(right) and bool(left == right)
    return bool(left == right)


# ---------------------------------------------------------------------------
# The merged file's text


def render_merged_text(
    ours_text: str,
    ours: Mapping[str, Any],
    outcome: MergeOutcome,
    key_order: Sequence[str] = (),
) -> str:
    """Our file with the merged values applied, so our comments survive.

    A conflicted field is written between git-style markers, our version above
    theirs (a side without the field is empty); a nested conflict marks only the
    nested key. Every other field is clean.
    """
    new = _yaml_ready(outcome.merged)
    tokens = _placeholders(ours_text + repr(outcome.merged), len(outcome.conflicts))
    for conflict, token in zip(outcome.conflicts, tokens, strict=True):
        _put(new, conflict.path, token)  # holds the field's place; swapped for markers below
    text = update_text(ours_text, _yaml_ready(dict(ours)), new, key_order)
    if not outcome.conflicts:
        return text
    lines = text.split("\n")
    for conflict, token in zip(outcome.conflicts, tokens, strict=True):
        index = next(i for i, line in enumerate(lines) if _holds(line, conflict.path[-1], token))
        lines[index : index + 1] = _marked(lines[index], conflict, token)
    return "\n".join(lines)


def _placeholders(text: str, count: int) -> list[str]:
    """Values that occur nowhere in the file or the merged record."""
    tokens: list[str] = []
    counter = 0
    while len(tokens) < count:
        token = f"tracker-merge-conflict-{counter}"
        if token not in text:
            tokens.append(token)
        counter += 1
    return tokens


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        inner = data.get(key)
        if not isinstance(inner, dict):
            inner = data[key] = {}
        data = inner
    data[path[-1]] = value


def _holds(line: str, key: str, token: str) -> bool:
    head = f"{render_scalar(key)}: {token}"
    body = line.lstrip(" ")
    return body == head or body.startswith(head + "  #")


def _marked(line: str, conflict: FieldConflict, token: str) -> list[str]:
    """The placeholder line replaced by both sides of the field, indented as it was."""
    indent = line[: len(line) - len(line.lstrip(" "))]
    comment = line[line.index(token) + len(token) :]  # our inline comment, kept on our side
    key = conflict.path[-1]
    ours = [indent + part for part in _side(key, conflict.ours)]
    if comment and len(ours) == 1:
        ours = [ours[0] + comment]
    theirs = [indent + part for part in _side(key, conflict.theirs)]
    return [
        "<" * MARKER_SIZE + " ours",
        *ours,
        "=" * MARKER_SIZE,
        *theirs,
        ">" * MARKER_SIZE + " theirs",
    ]


def _side(key: str, value: Any) -> list[str]:
    return [] if value is MISSING else render_field(key, _yaml_ready(value), 0)


def _yaml_ready(value: Any) -> Any:
    """Values as the writer spells them: timestamps as ISO 8601 text."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        text = aware.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _yaml_ready(sub) for key, sub in value.items()}
    if isinstance(value, list):
        return [_yaml_ready(item) for item in value]
    return value
