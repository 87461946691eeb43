"""YAML writing built for git's line merge: fixed key order, block style, one value per line.

New files are emitted directly. Updates to an existing file rewrite only the
lines of the fields that changed, so the user's comments and the order of the
fields nobody touched survive every write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from tracker.constants import SCHEMA_LINE_PREFIX

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_PLAIN_SAFE = re.compile(r"^[\w(/][\w .,;()/+=@'\-]*$")
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_STR_TAG = "tag:yaml.org,2002:str"
_resolver = yaml.resolver.Resolver()
INDENT = "  "


def dump_record(
    data: Mapping[str, Any], key_order: Sequence[str], schema_ref: str | None = None
) -> str:
    """A whole file for a record given as JSON-like data."""
    lines = [f"{SCHEMA_LINE_PREFIX}{schema_ref}"] if schema_ref else []
    for key in ordered_keys(data, key_order):
        if is_empty(data[key]):
            continue
        lines.extend(render_field(key, data[key], 0))
    return "\n".join(lines) + "\n"


def ordered_keys(data: Mapping[str, Any], key_order: Sequence[str]) -> list[str]:
    known = [key for key in key_order if key in data]
    return known + [key for key in data if key not in key_order]


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (list, dict)) and not value)


def render_field(key: str, value: Any, level: int) -> list[str]:
    pad = INDENT * level
    name = render_scalar(key)
    if isinstance(value, Mapping):
        if not value:
            return [f"{pad}{name}: {{}}"]
        lines = [f"{pad}{name}:"]
        for sub_key, sub_value in value.items():
            lines.extend(render_field(str(sub_key), sub_value, level + 1))
        return lines
    if isinstance(value, (list, tuple)):
        if not value:
            return [f"{pad}{name}: []"]
        return [f"{pad}{name}:", *render_items(value, level + 1)]
    if isinstance(value, str) and "\n" in value and _literal_block_ok(value):
        chomp = "" if value.endswith("\n") and not value.endswith("\n\n") else "-"
        body = value[:-1] if chomp == "" else value
        inner = INDENT * (level + 1)
        return [f"{pad}{name}: |{chomp}"] + [
            f"{inner}{line}" if line else "" for line in body.split("\n")
        ]
    return [f"{pad}{name}: {render_scalar(value)}"]


def render_items(values: Sequence[Any], level: int) -> list[str]:
    pad = INDENT * level
    lines: list[str] = []
    for value in values:
        if isinstance(value, Mapping) and value:
            nested = [
                line
                for key, sub in value.items()
                for line in render_field(str(key), sub, level + 1)
            ]
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        else:
            lines.append(f"{pad}- {render_scalar(value)}")
    return lines


def render_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _render_float(value)
    if isinstance(value, (Mapping, list, tuple)):
        return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    text = str(value)
    if _ISO_TIMESTAMP.match(text) or _plain_is_safe(text):
        return text
    dumped: str = yaml.safe_dump(text, width=10**9, allow_unicode=True, default_style='"')
    return dumped.rstrip("\n").removesuffix("\n...")


def _render_float(value: float) -> str:
    """A float spelled so YAML 1.1 reads it back as a float (1e-05 would read as text)."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = "" if exponent.startswith(("-", "+")) else "+"
        text = f"{mantissa}e{sign}{exponent}"
    return text


def _plain_is_safe(text: str) -> bool:
    if not _PLAIN_SAFE.match(text) or text.endswith(" ") or ": " in text or " #" in text:
        return False
    tag = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == _STR_TAG)


def _literal_block_ok(text: str) -> bool:
    first = text.split("\n", 1)[0]
    if first.startswith((" ", "\t")) or not first:
        return False
    return all(ch == "\n" or (ch.isprintable() and ch != "\t") for ch in text)


def update_text(
    old_text: str,
    old_data: Mapping[str, Any],
    new_data: Mapping[str, Any],
    key_order: Sequence[str],
) -> str:
    """Rewrite only the fields whose value changed between old_data and new_data.

    old_data/new_data are the normalised records (as `dump_record` takes them);
    old_text is the file on disk, comments and all. Nested mappings (metadata,
    project, ...) are updated field by field too, so comments inside them stay.
    """
    lines = old_text.split("\n")
    trailing_newline = old_text.endswith("\n")
    if trailing_newline:
        lines = lines[:-1]
    loader = _Loader(old_text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        return dump_record(new_data, key_order)
    output = _rewrite_mapping(lines, root, old_data, new_data, key_order, 0, len(lines) - 1)
    text = "\n".join(output)
    return text + "\n" if trailing_newline or not text.endswith("\n") else text


def _rewrite_mapping(
    lines: list[str],
    node: yaml.MappingNode,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    key_order: Sequence[str],
    region_start: int,
    region_end: int,
) -> list[str]:
    spans = _spans(node, region_end)
    nested: dict[str, yaml.MappingNode] = {}
    replacements: dict[str, list[str]] = {}
    indent = " " * (node.value[0][0].start_mark.column if node.value else 0)
    for key in [*old, *(k for k in new if k not in old)]:
        old_value, new_value = old.get(key), new.get(key)
        if old_value == new_value or (is_empty(old_value) and is_empty(new_value)):
            continue
        value_node = spans[key][2] if key in spans else None
        if (
            isinstance(old_value, Mapping)
            and isinstance(new_value, Mapping)
            and new_value
            and isinstance(value_node, yaml.MappingNode)
            and value_node.value
            and value_node.flow_style is not True
        ):
            nested[key] = value_node
        elif is_empty(new_value):
            replacements[key] = []
        else:
            replacements[key] = [indent + line for line in render_field(key, new_value, 0)]

    output: list[str] = []
    cursor = region_start
    for key, (start, end, _node) in spans.items():
        output.extend(lines[cursor:start])
        if key in nested:
            output.append(lines[start])
            output.extend(
                _rewrite_mapping(lines, nested[key], old[key], new[key], (), start + 1, end)
            )
        elif key in replacements:
            new_lines = replacements.pop(key)
            if new_lines and start == end and len(new_lines) == 1:
                new_lines = [new_lines[0] + _inline_comment(lines[start])]
            output.extend(new_lines)
        else:
            output.extend(lines[start : end + 1])
        cursor = end + 1
    tail = lines[cursor : region_end + 1]
    added = {key: lines_ for key, lines_ in replacements.items() if key not in spans and lines_}
    if region_start == 0:  # the document itself: new fields go in canonical order
        output.extend(tail)
        for key, new_lines in added.items():
            _insert_in_order(output, key, new_lines, key_order)
        return output
    for new_lines in added.values():  # a nested mapping: new fields go after its last field
        output.extend(new_lines)
    output.extend(tail)
    return output


def _spans(node: yaml.MappingNode, last_line: int) -> dict[str, tuple[int, int, yaml.Node]]:
    """For each key: the first and last line (0-based) of the key and its value."""
    spans: dict[str, tuple[int, int, yaml.Node]] = {}
    for key_node, value_node in node.value:
        start = key_node.start_mark.line
        mark = value_node.end_mark
        end = mark.line if mark.column > 0 else mark.line - 1
        spans[str(key_node.value)] = (start, max(start, min(end, last_line)), value_node)
    return spans


def _inline_comment(line: str) -> str:
    """The `  # note` after a one-line field's value, kept when the value is rewritten."""
    position = _comment_start(line)
    return "  " + line[position:].strip() if position >= 0 else ""


def _comment_start(line: str) -> int:
    quote = ""
    for index, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (index == 0 or line[index - 1] in " :[,"):
            quote = ch
        elif ch == "#" and index > 0 and line[index - 1] in " \t":
            return index
    return -1


def _insert_in_order(
    output: list[str],
    key: str,
    new_lines: list[str],
    key_order: Sequence[str],
) -> None:
    """Place a new field after the closest field that precedes it in the canonical order."""
    earlier = list(key_order[: key_order.index(key)]) if key in key_order else list(key_order)
    position = None
    for index, line in enumerate(output):
        name = line.split(":", 1)[0]
        if line[:1] not in (" ", "-", "#", "") and name in earlier:
            position = index + 1
            while position < len(output) and output[position][:1] in (" ", "-"):
                position += 1
    if position is None:
        position = 1 if output and output[0].startswith(SCHEMA_LINE_PREFIX) else 0
    output[position:position] = new_lines
