"""The fast YAML path (yaml-rs) means exactly what the slow one (PyYAML, YAML 1.1) means.

`load_fast` may decline any file (None), but when it answers, its data must equal the
slow loader's, type for type; `parse_bytes` must return the same record and the same
problems as `parse_bytes_slow`. Checked on the example tracker, the bad-input corpus, a
generated benchmark repository and random documents full of scalars that YAML 1.1 and
1.2 read differently.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
import yaml_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.model import parse
from tracker.model.kinds import WORK_ITEM, Kind, kind_for_path, record_as_data
from tracker.model.parse import parse_bytes, parse_bytes_slow
from tracker.model.yaml_fast import (
    _NUMBER_12,
    _NUMBER_BOTH,
    _RESOLVER,
    _UTC_SECONDS,
    _plain_tag,
    load_fast,
)
from tracker.model.yaml_read import YamlProblem, _Loader, load_yaml_bytes

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / ".tracker-example"
CORPUS = PROJECT / "tests" / "corpus"


# --------------------------------------------------------------------------- helpers


def same(left: Any, right: Any) -> bool:
    """Equal and of the same types all the way down (True is not 1, 1.0 is not 1)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, float):
        return repr(left) == repr(right)  # nan equals nan, -0.0 differs from 0.0
    if isinstance(left, datetime):
        return bool(left == right and left.utcoffset() == right.utcoffset())
    return bool(left == right)


def slow_data(raw: bytes) -> dict[str, Any] | YamlProblem:
    try:
        return load_yaml_bytes(raw, "f.yaml").data
    except YamlProblem as problem:
        return problem


def assert_fast_agrees(raw: bytes) -> dict[str, Any] | None:
    fast = load_fast(raw)
    if fast is not None:
        slow = slow_data(raw)
        assert not isinstance(slow, YamlProblem), (raw, slow.message, fast)
        assert same(fast, slow), (raw, fast, slow)
    return fast


def assert_parse_agrees(raw: bytes, path: str, kind: Kind) -> None:
    record, problems = parse_bytes(raw, path, kind)
    slow_record, slow_problems = parse_bytes_slow(raw, path, kind)
    assert problems == slow_problems, raw
    if slow_record is None:
        assert record is None, raw
    else:
        assert record is not None, raw
        assert same(record_as_data(record), record_as_data(slow_record)), raw


def tracker_files(root: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*.yaml")):
        yield path.relative_to(root).as_posix(), path


# --------------------------------------------------------------------------- real files


def test_example_tracker_files_agree() -> None:
    files = list(tracker_files(EXAMPLE))
    taken = 0
    for relative, path in files:
        raw = path.read_bytes()
        taken += assert_fast_agrees(raw) is not None
        kind = kind_for_path(relative)
        if kind is not None:
            assert_parse_agrees(raw, relative, kind)
    assert taken >= 0.9 * len(files) > 90


def test_bad_input_corpus_agrees() -> None:
    groups = [CORPUS / "base", *sorted((CORPUS / "cases").iterdir())]
    groups += sorted((CORPUS / "good").iterdir())
    files = [found for group in groups for found in tracker_files(group)]
    assert len(files) > 100
    for relative, path in files:
        raw = path.read_bytes()
        assert_fast_agrees(raw)
        assert_parse_agrees(raw, relative, kind_for_path(relative) or WORK_ITEM)


@pytest.fixture(scope="module")
def generated_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "repo"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.generate",
            "--items",
            "1000",
            "--out",
            str(out),
            "--history",
            "0",
        ],
        cwd=PROJECT,
        check=True,
        capture_output=True,
    )
    return out / ".tracker"


def test_generated_files_take_the_fast_path_and_agree(
    generated_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_calls: list[str] = []

    def counted_slow(raw: bytes, path: str, kind: Kind) -> Any:
        slow_calls.append(path)
        return parse_bytes_slow(raw, path, kind)

    records = 0
    for relative, path in tracker_files(generated_root):
        kind = kind_for_path(relative)
        if kind is None or relative == "tracker.yaml":  # the records, as the writer writes them
            continue
        raw = path.read_bytes()
        assert assert_fast_agrees(raw) is not None, relative
        with monkeypatch.context() as patched:
            patched.setattr(parse, "parse_bytes_slow", counted_slow)
            record, problems = parse.parse_bytes(raw, relative, kind)
        assert record is not None and problems == [], relative
        slow_record, slow_problems = parse_bytes_slow(raw, relative, kind)
        assert slow_problems == [] and slow_record is not None
        assert same(record_as_data(record), record_as_data(slow_record)), relative
        records += 1
    assert records >= 1000
    assert slow_calls == []


# --------------------------------------------------------------------------- chosen cases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: x\n", {"a": 1, "b": "x"}),
        ("at: 2024-01-01T10:00:00Z\n", {"at": datetime.fromisoformat("2024-01-01T10:00:00Z")}),
        ("on: 2024-01-01\n", None),  # the key is a boolean in YAML 1.1
        ("at: 2024-01-01\n", {"at": date(2024, 1, 1)}),
        ("at: 2024-01-01 10:00:00\n", {"at": datetime(2024, 1, 1, 10)}),
        ("a: yes\nb: 1:30\n", {"a": True, "b": 90}),
        ("a: '2024-01-01'\nb: x\n", {"a": "2024-01-01", "b": "x"}),  # quoted: text
        ('a: "yes"\nb: "yes"\n', {"a": "yes", "b": "yes"}),
        ('a: "yes"\nb: yes\n', None),  # one quoted, one plain
        ("a: |-\n  2024-01-01\n", None),
        ("a: |\n  - 2024-01-01\nb: 2024-01-01\n", {"a": "- 2024-01-01\n", "b": date(2024, 1, 1)}),
        ('a: "2024-01-01"\nb: |\n  x 2024-01-01\n', None),
        ("a: 2024-01-01 # 2024-01-01\n", None),
        ("a: '2024-01-01' # '2024-01-01'\n", None),
        ('a: "2024-01-01\n  10:00:00"\nb: |\n  x: 2024-01-01 10:00:00\n', None),
        ("a: 2024-01-01\n  10:00:00\n", None),  # plain over two lines: resolved, not proven
        ('a: "2024-01-0\\x31"\nb: |\n  c: 2024-01-01\n', None),
        ('a: "1\\x30"\nb: 10\n', None),  # an escape hides "10" from the count
        ("a: 012\n", None),
        ("a: 0o12\n", None),
        ("a: 1e3\n", None),
        ("a: -.5\n", None),
        ("a: 0x1f\nb: 1_000\nc: .inf\nd: 1.5\n", {"a": 31, "b": 1000, "c": math.inf, "d": 1.5}),
        ("a: &x 1\nb: *x\n", None),
        ("a: *x\n", None),
        ("a: &x 1\n", None),
        (
            "a: |\n  * item, **bold**, `code`, @name\nb: x `y` *z\n",
            {"a": "* item, **bold**, `code`, @name\n", "b": "x `y` *z"},
        ),
        ("a: `x\n", None),
        ("a: @x\n", None),
        ("a: !!str 1\n", None),
        ("a: x\n%YAML 1.1\n", None),
        (
            "commit: 0ba11b6b5342977e1c2626b1fe17ed022b01c413\n",
            {"commit": "0ba11b6b5342977e1c2626b1fe17ed022b01c413"},
        ),
        ("<<: {a: 1}\n", None),
        ("<<:\n  a: 1\n", None),
        ("a: <<\n", None),
        ("a: =\n", None),
        ("a: 1\na: 2\n", None),
        ("a:\n\tb: 1\n", None),
        ("a: 1", None),  # no final line break
        ("a: |\n", None),  # an empty block scalar at the end reads differently
        ("\ufeffa: 1\n", None),
        ("a: 1\r\n", None),
        ("a: 1\n---\nb: 2\n", None),
        ("- a\n", None),
        ("a: [1, 2]\n", None),
        ("a: []\nb: {}\n", {"a": [], "b": {}}),
        ('a: "\\ud83d\\ude00"\n', None),  # libyaml refuses escaped surrogates, yaml-rs joins them
        ('a: "\\U0001F600\\x41\\_"\n', {"a": "\U0001f600A\xa0"}),
        ("k" * 1024 + ": 1\n", {"k" * 1024: 1}),
        ("k" * 1025 + ": 1\n", None),  # longer than an implicit key may be
        ("a: b\xa0\n\xa0c: d\n", {"a": "b\xa0", "\xa0c": "d"}),
        ("a:\n  " + "- " * 200_000 + "x\n", None),  # yaml-rs would crash on this depth
        ("a:\n" + " " * 200 + "b\n", None),
        ("a: R&D\nb: x*y\n", {"a": "R&D", "b": "x*y"}),
        ("a: 2026-02-31\n", None),
        ("'1': a\n1: b\n", None),
    ],
)
def test_chosen_documents(text: str, expected: dict[str, Any] | None) -> None:
    fast = assert_fast_agrees(text.encode())
    if expected is None:
        assert fast is None
    else:
        assert fast is not None and same(fast, expected)


def nested(depth: int) -> bytes:
    lines = [f"{'  ' * level}k{level}:" for level in range(depth)]
    return ("\n".join(lines) + " x\n").encode()


@pytest.mark.parametrize("depth", [19, 20, 21, 22])
def test_nesting_limit_matches(depth: int) -> None:
    assert_fast_agrees(nested(depth))
    assert (load_fast(nested(depth)) is None) == isinstance(slow_data(nested(depth)), YamlProblem)


def test_fast_path_uses_the_slow_loaders_resolver() -> None:
    assert _Loader.yaml_implicit_resolvers is yaml.resolver.Resolver.yaml_implicit_resolvers


# --------------------------------------------------------------------------- random documents

NUMBER_CHARS = "0123456789_.+-eExXoObBaAfFiInN"


@given(st.text(NUMBER_CHARS, min_size=1, max_size=9))
@settings(max_examples=1000, deadline=None)
def test_number_spellings(token: str) -> None:
    """yaml-rs reads a number only where _NUMBER_12 says; where _NUMBER_BOTH says, PyYAML too."""
    text = f"a: {token}\n"
    try:
        fast = yaml_rs.loads(text, parse_datetime=False)
    except yaml_rs.YAMLDecodeError:
        return
    assert isinstance(fast, dict)
    value = fast["a"]
    if type(value) in (int, float):
        assert _NUMBER_12.fullmatch(token.encode()), token
    if _NUMBER_BOTH.fullmatch(token.encode()):
        slow = slow_data(text.encode())
        assert not isinstance(slow, YamlProblem)
        assert same(value, slow["a"]), (token, value, slow["a"])
    assert_fast_agrees(text.encode())


@given(st.from_regex(_UTC_SECONDS, fullmatch=True))
def test_utc_shortcut_matches_the_resolver(value: str) -> None:
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    assert tag == "tag:yaml.org,2002:timestamp"
    assert_fast_agrees(f"a: {value}\n".encode())


@given(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=5, max_size=12).map(
        lambda rest: rest.strip()
    ),
    st.sampled_from(list("yYnNtTfFoOaZ")),
)
@settings(max_examples=500)
def test_letter_shortcut_matches_the_resolver(rest: str, first: str) -> None:
    """A scalar of more than five characters starting with a letter is text to PyYAML's
    resolver too (`_plain_tag` skips the resolver for it)."""
    value = first + rest
    for candidate in (value, *(f"{word}{rest[:1]}" for word in ("False", "FALSE", "Null "))):
        if len(candidate) > 5:
            tag = _RESOLVER.resolve(yaml.ScalarNode, candidate, (True, False))  # type: ignore[no-untyped-call]
            assert tag == "tag:yaml.org,2002:str", candidate
            assert _plain_tag(candidate) == tag
    for word in ("FALSE", "False", "false", "NULL", "Yes", "off"):  # five letters at most
        assert _plain_tag(word) == _RESOLVER.resolve(yaml.ScalarNode, word, (True, False))  # type: ignore[no-untyped-call]
        assert _plain_tag(word) != "tag:yaml.org,2002:str"


def words(text: str) -> list[str]:
    return text.split()


# Scalars the fast path should accept (plain or quoted, some converted as YAML 1.1 reads them)
BENIGN = [
    *words("yes no on off y n Y N true True TRUE false FALSE Yes NO Off"),
    *words("~ null Null NULL nUll 0x1f 1_000 1:30 1:30.5 190:20:30 -1 +1 0 1.5 .5 1. -2.5"),
    *words(".inf -.Inf +.INF .nan 1.0e+3 2024-01-01 2024-1-1 2026-02-31 2024-01-01T10:00:00Z"),
    *words("2024-01-01t10:00:00.5+01:00 2024-01-01T10:00:00-05:30 TRK-aaaa01 task feat/x"),
    *words("a#b a:b x.y -x ?x :x x,y = << < - ? x! x& x*"),
    "2024-01-01 10:00:00",
    "2024-01-01  10:00:00 -5",
    "a b",
    "a: b",
    "a #b",
    "- x",
    "? x",
    "é",
    "日本語",
    "😀",
    "line\nbreak",
    "two\n\nlines",
    "trailing ",
    " leading",
    "",
    "1,000",
    "it's",
    'say "hi"',
    "back\\slash",
    "R&D",
]
# Scalars and characters the fast path must refuse (or that YAML 1.1 and 1.2 read apart)
HOSTILE = [
    *words("012 0o12 0X1F 0b101 _1 00 -0 .iNf +.nan 1e3 1.0e3 1.e+3 -.5 +.5 1e+3 0x_ 0b_"),
    *words("# | > , [ ] { } & * ! % @ ` ' \" \\ @x *x &x !x %x `x [x] {x}"),
    "x\ty",
    "x\x07y",
    "x\x85y",
    "x\u2028y",
    "\ufeffx",
    "x\ry",
    "**bold**",
    "a, b",
]
TRICKY = BENIGN + HOSTILE
BENIGN_KEYS = [
    *words("id type title status priority labels metadata description created_at a b x.y -k"),
    *words("é a_b '2024-01-01' \"yes\""),
    "a b",
    "? c",
]
KEYS = [*BENIGN_KEYS, *words("yes on 1 012 1.5 ~ null << = 2024-01-01 [a]"), "{a: b}"]


ESCAPES = [
    *words(r"\x41 \x85 \u00e9 \uFEFF \u2028 \U0001F600 \U00110000 \_ \N \L \P \/ \0 \e"),
    *words(r"\t \\ \" \ud83d\ude00 \udc00 \ud800 \x4 \q"),
    "\\ ",
    "\\\n  ",
    "\n  ",
    "\n\n  ",
]


def single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def double_quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\t", "\\t") + '"'


def benign_text() -> st.SearchStrategy[str]:
    return st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=6)


@st.composite
def scalars(draw: st.DrawFn, hostile: bool) -> str:
    """A scalar written inline: plain, quoted, or a block scalar (then starting a line)."""
    atoms = TRICKY if hostile else BENIGN
    text = draw(st.sampled_from(atoms) | (st.text(max_size=6) if hostile else benign_text()))
    style = draw(st.sampled_from(["plain", "plain", "single", "double", "escaped", "block"]))
    if style == "escaped":
        inner = st.sampled_from(atoms).map(lambda atom: double_quoted(atom)[1:-1])
        return '"' + "".join(draw(st.lists(st.sampled_from(ESCAPES) | inner, max_size=4))) + '"'
    if style == "single":
        return single_quoted(text)
    if style == "double":
        return double_quoted(text)
    if style == "block":
        header = draw(st.sampled_from(["|", "|-", "|+", ">", ">-", "|2"]))
        body = [draw(st.sampled_from(atoms)) for _ in range(draw(st.integers(0, 3)))]
        return header + "".join(f"\n  {line}" if line else "\n" for line in body)
    return text


def indent(block: str, pad: str) -> str:
    return "\n".join(pad + line if line else line for line in block.split("\n"))


@st.composite
def values(draw: st.DrawFn, depth: int, hostile: bool) -> str:
    """A value as it follows `key:` (a leading line break for nested blocks)."""
    choices = ["scalar", "scalar", "scalar", "empty"] + (["flow"] if hostile else [])
    if depth < 3:
        choices += ["mapping", "sequence"]
    choice = draw(st.sampled_from(choices))
    if choice == "scalar":
        comment = draw(st.sampled_from(["", "", " # note", "  #x"]))
        scalar = draw(scalars(hostile))
        return " " + scalar.replace("\n", "\n  ") + ("" if "\n" in scalar else comment)
    if choice == "empty":
        return draw(st.sampled_from(["", " []", " {}", " ~", " null"]))
    if choice == "flow":
        items = ", ".join(draw(st.lists(st.sampled_from(TRICKY), max_size=3)))
        return draw(st.sampled_from([f" [{items}]", f" {{a: {items or 'x'}}}"]))
    if choice == "mapping":
        return "\n" + indent(draw(mappings(hostile, depth + 1)), "  ")
    entries = draw(st.lists(values(depth + 1, hostile), min_size=1, max_size=3))
    lines = []
    for entry in entries:
        if entry.startswith("\n"):  # a nested block: a mapping in a list, or a list of lists
            lines.append("-" + indent(entry, "  "))
        else:
            lines.append("-" + entry)
    return "\n" + indent("\n".join(lines), draw(st.sampled_from(["  ", ""])))


@st.composite
def mappings(draw: st.DrawFn, hostile: bool, depth: int = 0) -> str:
    lines = []
    keys = st.sampled_from(KEYS if hostile else BENIGN_KEYS)
    for key in draw(st.lists(keys, min_size=1, max_size=5, unique=not hostile)):
        if draw(st.integers(0, 9)) == 0:
            lines.append("# a comment: 2024-01-01 yes" + (" 012 &x" if hostile else ""))
        lines.append(f"{key}:{draw(values(depth, hostile))}")
    return "\n".join(lines)


HOSTILE_OK = True
MUTATIONS = [
    lambda text: text.rstrip("\n"),
    lambda text: text.replace("\n", "\r\n"),
    lambda text: "\ufeff" + text,
    lambda text: text.replace("  ", "\t", 1),
    lambda text: text + "---\nb: 1\n",
    lambda text: "--- \n" + text,
    lambda text: text + "...\n",
    lambda text: text.replace(": ", ": &a ", 1) + "z: *a\n",
    lambda text: text.replace(": ", ": !!str ", 1),
    lambda text: text + text.split("\n")[0] + "\n",
    lambda text: text + "\n\n",
]


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    hostile = draw(st.booleans()) if HOSTILE_OK else False
    text = draw(mappings(hostile)) + "\n"
    if hostile and draw(st.booleans()):
        text = draw(st.sampled_from(MUTATIONS))(text)
    return bytes(text, "utf-8")


@given(documents())
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_loader_agrees_on_random_documents(raw: bytes) -> None:
    assert_fast_agrees(raw)


ITEM_LINES = {
    "id": "TRK-aaaa01",
    "type": "task",
    "title": "Write the parser",
    "status": "active",
    "priority": "2",
    "parent": "TRK-bbbb01",
    "pr": "12",
    "labels": "\n  - parser\n  - yaml",
    "created_at": "2026-01-07T09:00:00Z",
    "updated_at": "2026-01-08T10:30:00Z",
    "description": "|\n  Some text.\n  More: text.",
    "metadata": "\n  estimated_hours: 4\n  actual_hours: 5.5",
}
FIELD_ATOMS = {
    "title": TRICKY,
    "status": ["active", "completed", "yes", "'active'", "Active", "null"],
    "priority": words("1 2 5 01 0x2 2.0 true '3' 1_0 +2 0o3 3e0 ~ 6"),
    "pr": words("1 12 012 0x1f 1_000 1e3 0 -1 12.0 yes"),
    "created_at": [
        "2026-01-07T09:00:00Z",
        "2026-01-07",
        "2026-01-07 09:00:00",
        "2026-01-07T09:00:00.5+01:00",
        "2026-02-31T09:00:00Z",
        "2026-01-07T24:00:00Z",
        "2026-1-7T9:00:00Z",
        "yesterday",
    ],
    "labels": ["x", "yes", "012", "1:30", "2024-01-01", "a b", "UPPER", "x"],
    "estimated_hours": words("4 4.0 .5 -.5 1e1 1.0e+1 .inf .nan 0o7 1_0 1:30 yes 1000.5 -1"),
}


@st.composite
def item_files(draw: st.DrawFn) -> bytes:
    fields = dict(ITEM_LINES)
    for name in draw(st.sets(st.sampled_from(sorted(FIELD_ATOMS)), max_size=3)):
        atom = draw(st.sampled_from(FIELD_ATOMS[name]))
        style = draw(st.sampled_from(["plain", "plain", "plain", "single", "double"]))
        spelled = {"single": single_quoted, "double": double_quoted}.get(style, str)(atom)
        if name == "labels":
            fields["labels"] = f"\n  - {spelled}\n  - other"
        elif name == "estimated_hours":
            fields["metadata"] = f"\n  estimated_hours: {spelled}"
        else:
            fields[name] = spelled
    for name in draw(st.sets(st.sampled_from(sorted(fields)), max_size=2)):
        del fields[name]
    lines = [
        f"{name}:{'' if value.startswith(chr(10)) else ' '}{value}"
        for name, value in fields.items()
    ]
    return bytes("\n".join(lines) + "\n", "utf-8")


@given(item_files())
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parse_bytes_agrees_on_random_items(raw: bytes) -> None:
    assert_fast_agrees(raw)
    assert_parse_agrees(raw, "items/TRK-aaaa01.yaml", WORK_ITEM)
