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
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}


class _Loader(_BaseLoader):
    """The safe loader with its implicit-tag lookup memoised: keys and many values repeat
    across thousands of files, and the lookup is a Python regex loop per scalar."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or not isinstance(value, str):
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        key = (value, tuple(implicit))
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(_RESOLVED) < 200_000 and len(value) < 200:
                _RESOLVED[key] = tag
        return tag


Loc = tuple[str | int, ...]
MAX_NESTING = 20  # records are at most three levels deep; anything deeper is junk


class YamlProblem(Exception):
    """A file that is not a well-formed, single YAML mapping."""

    def __init__(self, path: str, line: int, message: str, field: str = "") -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message
        self.field = field


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
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        loader.dispose()
        raise _syntax_problem(exc, text, path) from exc
    except yaml.reader.ReaderError as exc:
        loader.dispose()
        line = text.count("\n", 0, exc.position) + 1
        raise YamlProblem(
            path,
            line,
            f"control character 0x{exc.character:02x} is not allowed"
            " (quote it with an escape such as \\x07)",
        ) from exc
    except yaml.YAMLError as exc:
        loader.dispose()
        message = str(exc).splitlines()[0]
        raise YamlProblem(path, 1, f"malformed YAML: {message}") from exc
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


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, path: str) -> YamlProblem:
    """Blame the line a user would fix: where an unclosed bracket or quote opened."""
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and context.startswith(
        ("while parsing a flow", "while scanning a quoted", "while scanning a double-quoted")
    ):
        mark = exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    line = max(1, min(line, text.count("\n") + (0 if text.endswith("\n") else 1)))
    reason = problem or context or "malformed YAML"
    if "expected a single document" in reason or "but found another document" in reason:
        reason = "more than one YAML document in the file"
    elif context.startswith("while parsing a flow"):
        reason = f"{reason} ({context.removeprefix('while parsing ')} opened here is not closed)"
    elif context.startswith("while scanning a quoted"):
        reason = "quoted text opened here is not closed"
    elif "tab character" in reason:
        return YamlProblem(path, line, "tab character in indentation (YAML allows spaces only)")
    elif "cannot start any token" in reason and exc.problem_mark is not None:
        offending = text[exc.problem_mark.index : exc.problem_mark.index + 1]
        if offending == "\t":
            return YamlProblem(path, line, "tab character in indentation (YAML allows spaces only)")
    return YamlProblem(path, line, f"malformed YAML: {reason}")


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
        self.seen.add(id(node))  # an alias is the same node object a second time
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, loc)
        line = node.start_mark.line + 1
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
                key = self._scalar(key_node, loc)
                if not isinstance(key, str):
                    key = str(key_node.value)
                if key in result:
                    raise YamlProblem(self.path, key_line, f"duplicate key '{key}'")
                self.lines[(*loc, key)] = key_line
                result[key] = self.build(value_node, (*loc, key), depth + 1, at_line=key_line)
            return result
        raise YamlProblem(self.path, line, "unsupported YAML node")  # pragma: no cover

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        if node.tag == _STR_TAG:  # most values: skip PyYAML's constructor dispatch
            return node.value
        try:
            return self.loader.construct_object(node, deep=False)
        except yaml.constructor.ConstructorError as exc:
            message = f"cannot read value: {exc.problem}"
            raise YamlProblem(self.path, node.start_mark.line + 1, message, _field(loc)) from exc
        except ValueError as exc:  # e.g. an impossible date such as 2026-02-31
            message = f"{node.value!r} is not a valid date: {exc}"
            raise YamlProblem(self.path, node.start_mark.line + 1, message, _field(loc)) from exc


def _field(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)
