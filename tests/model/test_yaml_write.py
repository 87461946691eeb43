from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.model.kinds import WORK_ITEM
from tracker.model.yaml_read import load_yaml_text
from tracker.model.yaml_write import dump_record, update_text

ITEM: dict[str, Any] = {
    "id": "TRK-7f3a9c",
    "type": "task",
    "title": "Parse the statements",
    "status": "active",
    "priority": 2,
    "depends_on": ["TRK-111111", "TRK-222222"],
    "created_at": "2026-11-26T10:00:00Z",
    "metadata": {"estimated_hours": 1.5},
}


def test_dump_is_block_style_in_canonical_order_one_value_per_line() -> None:
    shuffled = dict(reversed(list(ITEM.items())))
    text = dump_record(shuffled, WORK_ITEM.key_order, "../schema/work-item.schema.json")
    assert text.splitlines() == [
        "# yaml-language-server: $schema=../schema/work-item.schema.json",
        "id: TRK-7f3a9c",
        "type: task",
        "title: Parse the statements",
        "status: active",
        "priority: 2",
        "depends_on:",
        "  - TRK-111111",
        "  - TRK-222222",
        "created_at: 2026-11-26T10:00:00Z",
        "metadata:",
        "  estimated_hours: 1.5",
    ]


def test_empty_values_are_left_out() -> None:
    text = dump_record({**ITEM, "labels": [], "branch": None}, WORK_ITEM.key_order)
    assert "labels" not in text and "branch" not in text


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_title_round_trips(title: str) -> None:
    text = dump_record({**ITEM, "title": title}, WORK_ITEM.key_order)
    assert load_yaml_text(text, "f.yaml").data["title"] == title


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200))
def test_any_description_round_trips(description: str) -> None:
    text = dump_record({**ITEM, "description": description}, WORK_ITEM.key_order)
    assert load_yaml_text(text, "f.yaml").data["description"] == description


def test_multiline_description_uses_a_literal_block() -> None:
    text = dump_record({**ITEM, "description": "first\nsecond: x #y\n"}, WORK_ITEM.key_order)
    assert "description: |\n  first\n  second: x #y\n" in text


def test_update_keeps_comments_and_untouched_order() -> None:
    original = (
        "# my notes about this item\n"
        "title: Parse the statements\n"
        "id: TRK-7f3a9c\n"
        "type: task\n"
        "priority: 2  # agreed with Ana\n"
        "status: active\n"
        "# the two parsers come first\n"
        "depends_on:\n"
        "  - TRK-111111\n"
        "  - TRK-222222\n"
        "created_at: 2026-11-26T10:00:00Z\n"
    )
    old = {k: v for k, v in ITEM.items() if k != "metadata"}
    new = {**old, "priority": 1, "status": "completed", "depends_on": ["TRK-111111"]}
    new["labels"] = ["parser"]
    updated = update_text(original, old, new, WORK_ITEM.key_order)
    assert updated == (
        "# my notes about this item\n"
        "title: Parse the statements\n"
        "id: TRK-7f3a9c\n"
        "type: task\n"
        "priority: 1  # agreed with Ana\n"
        "status: completed\n"
        "# the two parsers come first\n"
        "depends_on:\n"
        "  - TRK-111111\n"
        "labels:\n"
        "  - parser\n"
        "created_at: 2026-11-26T10:00:00Z\n"
    )


def test_update_removes_a_cleared_field_only() -> None:
    original = dump_record({**ITEM, "branch": "feat/x"}, WORK_ITEM.key_order)
    updated = update_text(original, {**ITEM, "branch": "feat/x"}, ITEM, WORK_ITEM.key_order)
    assert updated == dump_record(ITEM, WORK_ITEM.key_order)


def test_update_with_no_change_is_byte_identical() -> None:
    original = "id: TRK-7f3a9c   # odd spacing kept\ntype: task\n\n\ntitle: x\n"
    data = {"id": "TRK-7f3a9c", "type": "task", "title": "x"}
    assert update_text(original, data, dict(data), WORK_ITEM.key_order) == original


def test_update_of_a_nested_field_keeps_comments_inside_the_mapping() -> None:
    original = (
        "id_prefix: TRK\n"
        "project:\n"
        "    # what we are busy with\n"
        "    active_context_type: feature  # for now\n"
        "    # tokens per session\n"
        "    default_token_budget: 200000\n"
        "# the index\n"
        "index:\n"
        "    backend: duckdb\n"
    )
    old = {
        "id_prefix": "TRK",
        "project": {"active_context_type": "feature", "default_token_budget": 200000},
        "index": {"backend": "duckdb"},
    }
    new = {
        **old,
        "project": {
            "active_context_type": "research",
            "default_token_budget": 200000,
            "current_session": "TRK-7f3a9c",
        },
    }
    assert update_text(original, old, new, ("id_prefix", "project", "index")) == (
        "id_prefix: TRK\n"
        "project:\n"
        "    # what we are busy with\n"
        "    active_context_type: research  # for now\n"
        "    # tokens per session\n"
        "    default_token_budget: 200000\n"
        "    current_session: TRK-7f3a9c\n"
        "# the index\n"
        "index:\n"
        "    backend: duckdb\n"
    )
