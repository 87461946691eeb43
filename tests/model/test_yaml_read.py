from __future__ import annotations

import pytest

from tracker.model.yaml_read import YamlProblem, load_yaml_bytes, load_yaml_text


def test_lines_of_keys_and_list_elements() -> None:
    loaded = load_yaml_text("a: 1\nb:\n  - x\n  - y\nc:\n  d: 2\n", "f.yaml")
    assert loaded.data == {"a": 1, "b": ["x", "y"], "c": {"d": 2}}
    assert loaded.line_of(("b", 1)) == 4
    assert loaded.line_of(("c", "d")) == 6
    assert loaded.line_of(("c", "missing")) == 5  # a missing field points at its parent
    assert loaded.line_of(("nothing",)) == 1


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: 1\na: 2\n", 2, "duplicate key 'a'"),
        ("a: &x [1]\nb: *x\n", 2, "aliases are not allowed"),
        ("- 1\n- 2\n", 1, "found a list"),
        ("just text\n", 1, "found a single value"),
        ("", 1, "file is empty"),
        ("# only a comment\n", 1, "file is empty"),
        ("a: 1\nb:\n\tc: 2\n", 3, "tab character"),
        ("a: 1\nb: [1, 2\nc: 3\n", 2, "flow sequence opened here is not closed"),
        ("a: 1\n---\nb: 2\n", 2, "more than one YAML document"),
        ("a: 1\nb: 2026-02-31\n", 2, "is not a valid date"),
        ("<<: {a: 1}\n", 1, "merge keys"),
        ("? [1, 2]\n: x\n", 1, "plain names"),
    ],
)
def test_refused_documents(text: str, line: int, fragment: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        load_yaml_text(text, "f.yaml")
    assert caught.value.line == line
    assert fragment in caught.value.message


def test_non_utf8_names_the_line_of_the_bad_byte() -> None:
    with pytest.raises(YamlProblem) as caught:
        load_yaml_bytes(b"a: 1\nb: 2\nc: caf\xe9\n", "f.yaml")
    assert caught.value.line == 3
    assert "UTF-8" in caught.value.message


def test_oversized_file_is_refused_before_parsing() -> None:
    with pytest.raises(YamlProblem) as caught:
        load_yaml_bytes(b"a: " + b"x" * (1024 * 1024) + b"\n", "f.yaml")
    assert "larger than" in caught.value.message


def test_tab_inside_a_quoted_value_is_fine() -> None:
    assert load_yaml_text('a: "x\ty"\n', "f.yaml").data == {"a": "x\ty"}


def test_byte_order_mark_is_ignored() -> None:
    assert load_yaml_bytes("\ufeffa: 1\n".encode(), "f.yaml").data == {"a": 1}
