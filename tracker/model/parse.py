"""From a loaded YAML mapping to a validated record, with `path:line: field: message` problems."""

from __future__ import annotations

import posixpath
from typing import Any

from pydantic import BaseModel, ValidationError

from tracker.errors import Problem
from tracker.model.kinds import Kind
from tracker.model.work_item import ListItemError
from tracker.model.yaml_fast import load_fast
from tracker.model.yaml_read import LoadedYaml, YamlProblem, load_yaml_bytes

_TAGS = {"project", "session", "task", "research"}


def parse_bytes(raw: bytes, path: str, kind: Kind) -> tuple[BaseModel | None, list[Problem]]:
    """A record and its problems; a clean file takes the fast path, anything else the slow one."""
    data = load_fast(raw)
    if data is not None:
        record = _clean_record(data, path, kind)
        if record is not None:
            return record, []
    return parse_bytes_slow(raw, path, kind)


def parse_bytes_slow(raw: bytes, path: str, kind: Kind) -> tuple[BaseModel | None, list[Problem]]:
    """The reference path: every problem with its line (also what the fast path must match)."""
    try:
        loaded = load_yaml_bytes(raw, path)
    except YamlProblem as exc:
        return None, [Problem(exc.path, exc.line, exc.field, exc.message)]
    return parse_loaded(loaded, kind)


def parse_loaded(loaded: LoadedYaml, kind: Kind) -> tuple[BaseModel | None, list[Problem]]:
    try:
        record = kind.adapter.validate_python(loaded.data)
    except ValidationError as exc:
        return None, _problems_from(exc, loaded)
    problems = _file_name_problems(record, loaded, kind)
    return record, problems


def _clean_record(data: dict[str, Any], path: str, kind: Kind) -> BaseModel | None:
    """The record if `data` is valid with no problem at all; otherwise None (lines unknown)."""
    try:
        record: BaseModel = kind.adapter.validate_python(data)
    except ValidationError:
        return None
    if _file_name_problems(record, LoadedYaml(path, data), kind):
        return None
    return record


def _file_name_problems(record: BaseModel, loaded: LoadedYaml, kind: Kind) -> list[Problem]:
    if kind.key_field is None:
        return []
    key = getattr(record, kind.key_field)
    stem = posixpath.basename(loaded.path).removesuffix(".yaml")
    problems = []
    if stem != key:
        problems.append(
            Problem(
                loaded.path,
                loaded.line_of((kind.key_field,)),
                kind.key_field,
                f"{key!r} does not match the file name {stem!r}",
            )
        )
    if kind.id_prefix and not key.startswith(kind.id_prefix + "-"):
        problems.append(
            Problem(
                loaded.path,
                loaded.line_of((kind.key_field,)),
                kind.key_field,
                f"{key!r} must start with {kind.id_prefix + '-'!r}",
            )
        )
    return problems


def _problems_from(exc: ValidationError, loaded: LoadedYaml) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if loc and loc[0] in _TAGS and loaded.data.get("type") == loc[0]:
            loc = loc[1:]  # drop the discriminated union's branch name
        if error["type"].startswith("union_tag"):
            loc = ("type",)
        failure = (error.get("ctx") or {}).get("error")
        if isinstance(failure, ListItemError):
            loc = (*loc, failure.index)
        field = ".".join(str(part) for part in loc)
        problems.append(Problem(loaded.path, loaded.line_of(loc), field, describe_error(error)))
    return problems


def describe_error(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "enum":
        return f"{value!r} is not one of {ctx.get('expected', '')}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = ctx.get("expected_tags", "")
        if kind == "union_tag_not_found":
            return f"required field is missing (one of {ITEM_TYPES})"
        return f"{ctx.get('tag')!r} is not one of {expected}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not match the expected format {ctx.get('pattern')}"
    if kind in _BOUNDS:
        return f"{value!r} {_BOUNDS[kind]} {next(iter(ctx.values()), '')}"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters ({len(str(value))})"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else str(error["msg"])
    if kind == "string_type" and not isinstance(value, (dict, list)) and value is not None:
        return f"expected text, got {_shown(value)}; quote it to keep it as text"
    if kind in ("model_type", "dict_type"):
        return f"expected a mapping of fields, got {_shown(value)}"
    if kind == "finite_number":
        return f"{_shown(value)} is not a finite number"
    if kind == "int_type" and isinstance(value, bool):
        return f"expected a whole number, got {_shown(value)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{message} (got {_shown(value)})"
    return message


def _shown(value: Any) -> str:
    """A value as the user wrote it in YAML, not as Python spells it."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


ITEM_TYPES = "'project', 'session', 'task', 'research'"


_BOUNDS = {
    "greater_than_equal": "is below the minimum",
    "greater_than": "must be greater than",
    "less_than_equal": "is above the maximum",
    "less_than": "must be less than",
}
