"""`FIELD=VALUE` assignments as typed on the command line, applied to a record's data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import yaml

from tracker.errors import UsageError

_ASSIGNMENT = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>\+=|-=|=)(?P<value>.*)$", re.DOTALL
)
# Fields whose values stay exactly as typed (so `title=2026` or `branch=yes` stay text).
TEXT_FIELDS = {
    "title",
    "branch",
    "commit",
    "assignee",
    "created_by",
    "updated_by",
    "description",
    "blocked_reason",
    "findings_summary",
    "extractor_version",
    "pr_title",
    "target_quarter",
    "parent",
    "name",
    "current_session",
    "id_prefix",
    "dsn",
}
LIST_FIELDS = {
    "depends_on",
    "labels",
    "vendors",
    "work_items",
    "constitutional_principles",
    "research_questions",
    "references",
    "requires_constitutional_principles",
}


@dataclass(frozen=True)
class Assignment:
    path: tuple[str, ...]
    op: str  # "=", "+=", "-="
    text: str
    # A value that arrived typed (JSON from an MCP client) is stored as given: parsing its
    # text again could turn the string "2026" into a number or split a list on commas.
    value: Any = dataclass_field(default=None, compare=False)
    typed: bool = False

    @classmethod
    def of(cls, path: tuple[str, ...], value: Any, op: str = "=") -> Assignment:
        """An assignment of an already typed value (`text` is only for messages)."""
        if value is None:
            text = ""  # as `field=` clears it on the command line
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
        return cls(path, op, text, value, typed=True)

    @property
    def field(self) -> str:
        return ".".join(self.path)

    def parsed(self) -> Any:
        return self.value if self.typed else typed_value(self.path[-1], self.text)


def parse_assignments(texts: list[str] | tuple[str, ...]) -> list[Assignment]:
    parsed = []
    for text in texts:
        match = _ASSIGNMENT.match(text)
        if match is None:
            raise UsageError(f"'{text}' is not FIELD=VALUE (or FIELD+=VALUE / FIELD-=VALUE)")
        path = tuple(match["field"].split("."))
        parsed.append(Assignment(path, match["op"], match["value"].strip()))
    return parsed


def typed_value(name: str, text: str) -> Any:
    """The value a user meant: text for text fields, YAML scalars (1, true, 2.5) otherwise."""
    if text == "":
        return None
    if name in TEXT_FIELDS:
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, (dict, list)) and name not in LIST_FIELDS:
        return text
    return value


def apply_assignments(data: dict[str, Any], assignments: list[Assignment]) -> dict[str, Any]:
    result = _deep_copy(data)
    for assignment in assignments:
        *parents, name = assignment.path
        target = result
        for part in parents:
            child = target.get(part)
            if child is None:
                child = target[part] = {}
            if not isinstance(child, dict):
                raise UsageError(f"{assignment.field}: '{part}' is not a mapping")
            target = child
        if assignment.op == "=":
            if assignment.typed:
                target[name] = assignment.value
            elif name in LIST_FIELDS:
                items = [t.strip() for t in assignment.text.split(",") if t.strip()]
                target[name] = [typed_value(name, t) for t in items]
            else:
                target[name] = typed_value(name, assignment.text)
            continue
        current = target.get(name) or []
        if not isinstance(current, list):
            raise UsageError(f"{assignment.field} is not a list: use = instead of {assignment.op}")
        value = assignment.parsed()
        if assignment.op == "+=":
            target[name] = current if value in current else [*current, value]
        else:
            if value not in current:
                raise UsageError(f"{assignment.field} does not contain {assignment.text!r}")
            target[name] = [v for v in current if v != value]
    return result


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _deep_copy(value)
        if isinstance(value, dict)
        else list(value)
        if isinstance(value, list)
        else value
        for key, value in data.items()
    }
