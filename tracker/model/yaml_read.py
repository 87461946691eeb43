"""Safe YAML reading that remembers where every value came from.

libyaml's C parser composes the node graph; we build plain Python values from
it ourselves so that duplicate keys, anchors/aliases and non-mapping documents
become errors with a line number instead of surprises, and so that every
field's line is known when a later validation step complains about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from tracker.constants import MAX_FILE_BYTES

try:  # libyaml is the fast path; the pure-Python parser is only a fallback.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Loc = tuple[str | int, ...]
MAX_NESTING = 20  # records are at most three levels deep; anything deeper is junk


class YamlProblem(Exception):
    """A file that is not a well-formed, single YAML mapping."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass
class LoadedYaml:
    """A parsed YAML mapping plus the line (1-based) of every key and list element."""

    path: str
    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int:
        """Line of the deepest known part of `loc` (a missing field points at its parent)."""
        parts = tuple(loc)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return 1


def load_yaml_file(path: str, display_path: str | None = None) -> LoadedYaml:
    shown = display_path or path
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlProblem(shown, 0, f"cannot read file: {exc.strerror}") from exc
    return load_yaml_bytes(raw, shown)


def load_yaml_bytes(raw: bytes, path: str) -> LoadedYaml:
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblem(path, 1, f"file is larger than the {MAX_FILE_BYTES // 1024} KiB limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlProblem(path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})") from exc
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: str) -> LoadedYaml:
    if text.startswith("\ufeff"):
        text = text[1:]
    _refuse_tab_indentation(text, path)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or exc.context or "malformed YAML"
        if "expected a single document" in reason or "but found another document" in reason:
            reason = "more than one YAML document in the file"
        raise YamlProblem(path, line, f"malformed YAML: {reason}") from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(path, 1, f"malformed YAML: {exc}") from exc
    try:
        return _build_document(root, loader, path)
    finally:
        loader.dispose()


def _build_document(root: yaml.Node | None, loader: Any, path: str) -> LoadedYaml:
    if root is None:
        raise YamlProblem(path, 1, "file is empty: expected a mapping of fields")
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise YamlProblem(
            path, root.start_mark.line + 1, f"expected a mapping of fields, found {kind}"
        )
    builder = _Builder(path, loader)
    data = builder.build(root, (), 0)
    assert isinstance(data, dict)
    return LoadedYaml(path=path, data=data, lines=builder.lines)


def _refuse_tab_indentation(text: str, path: str) -> None:
    if "\t" not in text:
        return
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent and stripped and not stripped.startswith("#"):
            raise YamlProblem(
                path, number, "tab character in indentation (YAML allows spaces only)"
            )


class _Builder:
    """Turns composed nodes into Python values, refusing what records never need."""

    def __init__(self, path: str, loader: Any) -> None:
        self.path = path
        self.loader = loader
        self.lines: dict[Loc, int] = {}
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, loc: Loc, depth: int, at_line: int = 0) -> Any:
        line = at_line or node.start_mark.line + 1
        if id(node) in self.seen:
            # The composer hands back the very same node for an alias.
            raise YamlProblem(
                self.path, line, "anchors and aliases are not allowed in tracker files"
            )
        if depth > MAX_NESTING:
            raise YamlProblem(self.path, line, f"nested deeper than {MAX_NESTING} levels")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        line = node.start_mark.line + 1
        self.seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.lines[(*loc, index)] = child.start_mark.line + 1
                # an alias's node carries its anchor's position, so blame the list instead
                items.append(self.build(child, (*loc, index), depth + 1, at_line=line))
            return items
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlProblem(self.path, key_line, "mapping keys must be plain names")
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(self.path, key_line, "merge keys (<<) are not allowed")
                key = self._scalar(key_node)
                if not isinstance(key, str):
                    key = str(key_node.value)
                if key in result:
                    raise YamlProblem(self.path, key_line, f"duplicate key '{key}'")
                self.lines[(*loc, key)] = key_line
                result[key] = self.build(value_node, (*loc, key), depth + 1, at_line=key_line)
            return result
        raise YamlProblem(self.path, line, "unsupported YAML node")  # pragma: no cover

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node, deep=False)
        except yaml.constructor.ConstructorError as exc:
            line = node.start_mark.line + 1
            raise YamlProblem(self.path, line, f"cannot read value: {exc.problem}") from exc
        except ValueError as exc:  # e.g. an impossible date such as 2026-02-31
            raise YamlProblem(self.path, node.start_mark.line + 1, f"invalid value: {exc}") from exc
