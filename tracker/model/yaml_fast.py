"""A fast YAML reader for the common case, trusted only where it provably agrees with yaml_read.

`load_fast` parses with yaml-rs (a YAML 1.2 parser in Rust, about six times quicker
than composing nodes with PyYAML) and returns the mapping only when the slow loader
(`yaml_read`, PyYAML's YAML 1.1 resolver) would have produced exactly the same data;
otherwise it returns None and the caller takes the slow path, which also owns every
error message and line number. Being wrong here means a file silently changes meaning,
so every rule below errs towards None:

- refused on sight: files over the size limit, not UTF-8, not ending in a newline (an
  unterminated block scalar reads differently), tabs, CR, control characters, odd line
  breaks (NEL, U+2028/9), a BOM, escaped surrogates, lines indented by 128 columns or
  more (counting `- `, `? ` and `: `, so nesting stays shallow), document markers,
  directives, anchors (so no alias can resolve), tags, flow collections other than an
  empty [] or {}, and numbers that YAML 1.1 and 1.2 spell differently (012, 0o12, 1e3,
  -.5, _1, .NaN, ...);
- after parsing: a non-mapping document, non-text or resolvable keys, nesting beyond the
  slow loader's limit, and text values that are empty or only line breaks;
- a text value that YAML 1.1 would resolve to something else if it was written plain
  (timestamps above all, also yes/no/on/off, 1:30, =, <<) is converted the way PyYAML
  converts it when `_spelling` can prove from the raw text that every such value was
  written plain, kept as text when it proves they were all quoted; anything else (block
  scalars, a mix, escapes) sends the file to the slow path.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import yaml
import yaml_rs

from tracker.constants import MAX_FILE_BYTES
from tracker.model.yaml_read import MAX_NESTING

_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_CONVERTED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    _TIMESTAMP,
}
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG_CACHE: dict[str, str] = {}
# PyYAML only tries its implicit tags on scalars starting with one of these characters.
_RESOLVED_FIRST = frozenset(_RESOLVER.yaml_implicit_resolvers)
assert None not in _RESOLVED_FIRST, "a resolver for any first character: revise _walk"
_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")

# Every plain spelling yaml-rs reads as an int or a float (a superset: it is only a filter).
_NUMBER_12 = re.compile(
    rb"[-+]?(?:\.[iI][nN][fF]|\.[nN][aA][nN]|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
    rb"|(?:[0-9_]*[0-9][0-9_]*(?:\.[0-9_]*)?|[0-9_]*\.[0-9_]*[0-9][0-9_]*)(?:[eE][-+]?[0-9_]*)?)"
)
# The spellings PyYAML reads as the same int or float (checked by tests/test_fast_parse.py).
_NUMBER_BOTH = re.compile(
    rb"[-+]?(?:0|[1-9][0-9_]*|0x[0-9a-fA-F_]*[0-9a-fA-F][0-9a-fA-F_]*|0b[01_]*[01][01_]*"
    rb"|[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.(?:inf|Inf|INF))"
    rb"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|\.(?:nan|NaN|NAN)"
)
# Runs of the characters a number is spelled with, where a plain scalar can start (outside
# flow collections, which are refused): after a space or a line break, searched in
# b" " + the text with line breaks made spaces (a literal first character scans quicker).
_NUMBER_RUN = re.compile(rb" ([-+.0-9_][0-9a-fA-FiInNoOxX_.+-]*)(?![\w.+-])")
_LINE_BREAK_TO_SPACE = bytes.maketrans(b"\n", b" ")
_NUMBER_RUN_OK: dict[bytes, bool] = {}

# Tab, CR, C0 controls and DEL; the UTF-8 bytes of anything else pass.
_PLAIN_BYTES = bytes([0x0A, *range(0x20, 0x7F), *range(0x80, 0x100)])
_ODD_CHARACTERS = re.compile(r"[\x80-\x9f\u2028\u2029\ufeff\ufffe\uffff]")  # C1, breaks, BOM
# libyaml refuses a surrogate pair written as two escapes, yaml-rs joins them.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_DOCUMENT_MARKER = re.compile(rb"^(?:---|\.\.\.)", re.MULTILINE)
# Block nesting needs indentation or `- `, `? `, `: ` before a node on its line, so capping
# that prefix caps the depth (flow collections are refused): yaml-rs crashes on 100,000
# levels, where libyaml stops at 1,000 with an error the slow path reports.
_DEEP_PREFIX = 128
_DEEP_LINE = re.compile(rb"\n[ ?:-]{%d}" % _DEEP_PREFIX)
_INDICATOR_BYTES = b"&!%[]{}"
_OTHER_BYTES = bytes(byte for byte in range(256) if byte not in _INDICATOR_BYTES)
# An anchor, tag or directive, or a flow collection other than an empty [] or {} ending its
# line, where a token could start (not right after a word). Aliases need no check: without
# an anchor both parsers refuse them; nor do @ and `, which start no token in either.
_INDICATOR = re.compile(
    r"[&!%](?<![\w.].)|[\]}](?<![\w.\[{].)|\[(?<![\w.].)(?!\]\n)|\{(?<![\w.].)(?!\}\n)"
)
_KEY = r"[A-Za-z_][A-Za-z0-9_.-]*"
# What may precede a plain value on its line: sequence dashes and/or one simple key.
_PLAIN_PREFIX = re.compile(rf" *(?:(?:- +)+(?:{_KEY}: +)?|{_KEY}: +)")
_PLAIN_SUFFIX = re.compile(r" *(?: #.*)?")
_PREFIX_OK: dict[str, bool] = {}
_PLAIN = "plain"
_QUOTED = "quoted"


def load_fast(raw: bytes) -> dict[str, Any] | None:
    """The file's mapping, or None unless the slow loader would return exactly this data."""
    if len(raw) > MAX_FILE_BYTES or not raw.endswith(b"\n"):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _refused(raw, text):
        return None
    try:
        data = yaml_rs.loads(text, parse_datetime=False)
    except Exception:  # whatever yaml-rs dislikes, the slow loader explains with a line
        return None
    if type(data) is not dict:
        return None
    texts: list[str] = []
    resolvable: list[tuple[Any, Any, str]] = []
    if not _walk(data, 0, texts, resolvable):
        return None
    if resolvable and not _convert(text, texts, resolvable):
        return None
    return data


def _refused(raw: bytes, text: str) -> bool:
    if raw.translate(None, _PLAIN_BYTES):
        return True
    if not raw.isascii() and _ODD_CHARACTERS.search(text):
        return True
    if b"\\" in raw and _SURROGATE_ESCAPE.search(raw):
        return True
    if (b"---" in raw or b"..." in raw) and _DOCUMENT_MARKER.search(raw):
        return True
    if _DEEP_LINE.search(raw) or len(raw[:_DEEP_PREFIX].lstrip(b" ?:-")) == 0:
        return True
    if raw.translate(None, _OTHER_BYTES) and _INDICATOR.search(text):
        return True
    spaced = b" " + raw.translate(_LINE_BREAK_TO_SPACE)
    return not all(map(_number_run_ok, _NUMBER_RUN.findall(spaced)))


def _number_run_ok(run: bytes) -> bool:
    """False for a number YAML 1.2 reads and YAML 1.1 reads differently (or as text)."""
    ok = _NUMBER_RUN_OK.get(run)
    if ok is None:
        ok = not _NUMBER_12.fullmatch(run) or _NUMBER_BOTH.fullmatch(run) is not None
        if len(_NUMBER_RUN_OK) < 100_000:
            _NUMBER_RUN_OK[run] = ok
    return ok


def _walk(
    node: dict[Any, Any] | list[Any],
    depth: int,
    texts: list[str],
    resolvable: list[tuple[Any, Any, str]],
) -> bool:
    """Check every key and value below `node` (at `depth`, the root being 0).

    Collects every key and text value into `texts` (for `_spelling`) and the text
    values YAML 1.1 may read as something else into `resolvable` as (container, key, text).
    """
    if node and depth >= MAX_NESTING:  # the slow loader refuses a value below that
        return False
    is_mapping = type(node) is dict
    pairs = node.items() if is_mapping else enumerate(node)  # type: ignore[union-attr]
    keep = texts.append
    for key, value in pairs:
        if is_mapping:
            if type(key) is not str or (key[:1] in _RESOLVED_FIRST and _plain_tag(key) != _STR):
                return False
            keep(key)
        kind = type(value)
        if kind is str:
            # Empty or only line breaks: empty block scalars at the end of a file differ.
            if not value or (value[0] == "\n" and not value.strip("\n")):
                return False
            keep(value)
            # A value ending in a line break was never plain, so it was never resolved.
            if value[0] in _RESOLVED_FIRST and value[-1] != "\n" and _plain_tag(value) != _STR:
                resolvable.append((node, key, value))
        elif kind is dict or kind is list:
            if not _walk(value, depth + 1, texts, resolvable):
                return False
        elif not (kind is int or kind is float or kind is bool or value is None):
            return False
    return True


def _convert(text: str, texts: list[str], resolvable: list[tuple[Any, Any, str]]) -> bool:
    """Give resolvable values PyYAML's meaning, if each was written plain (or quoted) throughout."""
    if "\\" in text:  # escapes would let a value hide from _spelling
        return False
    every_text = "\0".join(texts)
    converted: dict[str, Any] = {}
    for container, key, value in resolvable:
        if value not in converted:
            spelling = _spelling(value, text, every_text)
            tag = _plain_tag(value)
            if spelling == _QUOTED:
                converted[value] = value
            elif spelling != _PLAIN or tag not in _CONVERTED_TAGS:
                return False
            else:
                try:
                    converted[value] = _construct(tag, value)
                except ValueError:  # e.g. 2026-02-31: the slow loader reports it
                    return False
        container[key] = converted[value]
    return True


def _construct(tag: str, value: str) -> Any:
    """What PyYAML's safe constructor makes of a plain scalar resolved to `tag`."""
    if tag == _TIMESTAMP and _UTC_SECONDS.fullmatch(value):  # the writer's own form, quicker
        return datetime.fromisoformat(value)  # Z reads as UTC, as PyYAML reads it
    return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))


def _plain_tag(value: str) -> str:
    """The tag PyYAML's resolver gives `value` written as a plain scalar."""
    if len(value) > 5 and value[0].isalpha():
        # a scalar starting with a letter resolves only to a bool or a null (yes, False,
        # NULL, ...: five letters at most); titles and descriptions skip the resolver
        return _STR
    tag = _TAG_CACHE.get(value)
    if tag is None and _UTC_SECONDS.fullmatch(value):  # no point caching these
        return _TIMESTAMP
    if tag is None:
        tag = str(_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)))  # type: ignore[no-untyped-call]
        if len(_TAG_CACHE) < 100_000 and len(value) < 200:
            _TAG_CACHE[value] = tag
    return tag


def _spelling(value: str, text: str, every_text: str) -> str | None:
    """_PLAIN or _QUOTED if every value equal to `value` was written so in `text`, else None.

    Every occurrence of `value` in the raw text must sit either on a line of the form
    `[- ...][key: ]value[  # comment]` (plain), or all of them between quotes with no `#`
    before them on their line (quoted, not in a comment); and there must be exactly as many
    occurrences as the parsed document holds, as whole values or inside other keys and
    values. A value hidden by escapes (refused by the caller) or by line folding, or
    written as the only line of a block scalar (not plain-shaped: no key or dash before
    it), leaves a parsed occurrence without its own occurrence in the text, so the counts
    differ.
    """
    if "\n" in value:
        return None
    spelling = None
    found = 0
    start = text.find(value)
    while start >= 0:
        end = start + len(value)
        line_start = text.rfind("\n", 0, start) + 1
        if start > line_start and text[start - 1] in "'\"" and text[end] == text[start - 1]:
            if spelling == _PLAIN or "#" in text[line_start:start]:
                return None
            spelling = _QUOTED
        else:
            line_end = text.find("\n", end)  # the text ends with a line break
            if spelling == _QUOTED or not (
                (end == line_end or _PLAIN_SUFFIX.fullmatch(text, end, line_end))
                and _plain_prefix(text[line_start:start])
            ):
                return None
            spelling = _PLAIN
        found += 1
        start = text.find(value, start + 1)
    return spelling if found == _occurrences(every_text, value) else None


def _plain_prefix(prefix: str) -> bool:
    ok = _PREFIX_OK.get(prefix)
    if ok is None:
        ok = _PLAIN_PREFIX.fullmatch(prefix) is not None
        if len(_PREFIX_OK) < 10_000:
            _PREFIX_OK[prefix] = ok
    return ok


def _occurrences(text: str, part: str) -> int:
    """How often `part` occurs in `text`, overlapping occurrences included."""
    if part.find(part[-1]) == len(part) - 1:  # its last character is unique: no overlap
        return text.count(part)
    count = 0
    start = text.find(part)
    while start >= 0:
        count += 1
        start = text.find(part, start + 1)
    return count
