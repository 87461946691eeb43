from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.model.kinds import WORK_ITEM
from tracker.model.merge import MISSING, merge_records, render_merged_text
from tracker.model.yaml_read import load_yaml_text

BASE: dict[str, Any] = {
    "id": "TRK-7f3a9c",
    "type": "task",
    "title": "Parse the statements",
    "status": "active",
    "priority": 3,
    "depends_on": ["TRK-111111"],
    "labels": ["csv", "parser"],
    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
    "metadata": {"estimated_hours": 2},
}


def edit(**changes: Any) -> dict[str, Any]:
    """BASE with fields changed; a value of MISSING removes the field."""
    record = {**BASE, **changes}
    return {key: value for key, value in record.items() if value is not MISSING}


# (name, ours, theirs, expected merged changes from BASE, expected conflicts)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], list[str]]] = [
    ("nothing changed", edit(), edit(), {}, []),
    ("ours only", edit(status="completed"), edit(), {"status": "completed"}, []),
    ("theirs only", edit(), edit(priority=1), {"priority": 1}, []),
    (
        "different fields",
        edit(status="completed"),
        edit(priority=1),
        {"status": "completed", "priority": 1},
        [],
    ),
    ("same change", edit(title="New"), edit(title="New"), {"title": "New"}, []),
    ("different change", edit(title="A"), edit(title="B"), {"title": "A"}, ["title"]),
    (
        "two conflicts in key order",
        edit(title="A", status="blocked"),
        edit(status="completed", title="B"),
        {"title": "A", "status": "blocked"},
        ["title", "status"],
    ),
    (
        "list additions from both sides",
        edit(depends_on=["TRK-111111", "TRK-222222"]),
        edit(depends_on=["TRK-111111", "TRK-333333"]),
        {"depends_on": ["TRK-111111", "TRK-222222", "TRK-333333"]},
        [],
    ),
    (
        "list removal honoured",
        edit(labels=["csv"]),
        edit(labels=["csv", "parser", "urgent"]),
        {"labels": ["csv", "urgent"]},
        [],
    ),
    (
        "list removed on both, added on one",
        edit(labels=["parser"]),
        edit(labels=["parser", "new"]),
        {"labels": ["parser", "new"]},
        [],
    ),
    (
        "list emptied (field dropped) while the other adds",
        edit(labels=MISSING),
        edit(labels=["csv", "parser", "urgent"]),
        {"labels": ["urgent"]},
        [],
    ),
    (
        "list emptied on both sides",
        edit(labels=["csv"]),
        edit(labels=["parser"]),
        {"labels": MISSING},
        [],
    ),
    (
        "updated_at: the later wins (theirs)",
        edit(updated_at=datetime(2026, 2, 1, tzinfo=UTC)),
        edit(updated_at=datetime(2026, 3, 1, tzinfo=UTC)),
        {"updated_at": datetime(2026, 3, 1, tzinfo=UTC)},
        [],
    ),
    (
        "updated_at: the later wins (ours), strings and datetimes mixed",
        edit(updated_at="2026-04-01T00:00:00Z"),
        edit(updated_at=datetime(2026, 3, 1, tzinfo=UTC)),
        {"updated_at": "2026-04-01T00:00:00Z"},
        [],
    ),
    (
        "deleted on one side, unchanged on the other",
        edit(),
        edit(priority=MISSING),
        {"priority": MISSING},
        [],
    ),
    (
        "deleted on one side, changed on the other",
        edit(priority=MISSING),
        edit(priority=1),
        {"priority": MISSING},
        ["priority"],
    ),
    ("added on one side", edit(assignee="ana"), edit(), {"assignee": "ana"}, []),
    (
        "added differently on both sides",
        edit(assignee="ana"),
        edit(assignee="bo"),
        {"assignee": "ana"},
        ["assignee"],
    ),
    (
        "nested: different keys merge",
        edit(metadata={"estimated_hours": 3}),
        edit(metadata={"estimated_hours": 2, "actual_hours": 1}),
        {"metadata": {"estimated_hours": 3, "actual_hours": 1}},
        [],
    ),
    (
        "nested: same key, different values",
        edit(metadata={"estimated_hours": 3}),
        edit(metadata={"estimated_hours": 4}),
        {"metadata": {"estimated_hours": 3}},
        ["metadata.estimated_hours"],
    ),
    (
        "null is the same as absent",
        edit(parent=None),
        edit(),
        {},
        [],
    ),
    ("true is not 1", edit(pr=True), edit(pr=1), {"pr": True}, ["pr"]),
]


@pytest.mark.parametrize(
    ("ours", "theirs", "changes", "conflicts"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_merge_records(
    ours: dict[str, Any], theirs: dict[str, Any], changes: dict[str, Any], conflicts: list[str]
) -> None:
    outcome = merge_records(BASE, ours, theirs, WORK_ITEM.key_order)
    assert outcome.merged == edit(**changes)
    assert outcome.conflict_names == conflicts
    assert outcome.clean is (not conflicts)


def test_merge_is_symmetric_when_clean() -> None:
    ours = edit(status="completed", labels=["csv", "parser", "a"])
    theirs = edit(priority=1, labels=["parser", "b"])
    forward = merge_records(BASE, ours, theirs).merged
    backward = merge_records(BASE, theirs, ours).merged
    assert forward == backward | {"labels": forward["labels"]}
    assert sorted(forward["labels"]) == sorted(backward["labels"]) == ["a", "b", "parser"]


def test_without_a_base_both_additions_are_kept_and_differences_conflict() -> None:
    ours = {"id": "TRK-1", "labels": ["a"], "title": "A", "status": "active"}
    theirs = {"id": "TRK-1", "labels": ["b"], "title": "B", "priority": 2}
    outcome = merge_records(None, ours, theirs, WORK_ITEM.key_order)
    assert outcome.merged == {
        "id": "TRK-1", "title": "A", "status": "active", "priority": 2, "labels": ["a", "b"],
    }  # fmt: skip
    assert outcome.conflict_names == ["title"]


def test_merged_keys_follow_the_key_order() -> None:
    outcome = merge_records(BASE, edit(), edit(branch="feat/x"), WORK_ITEM.key_order)
    assert list(outcome.merged) == [k for k in WORK_ITEM.key_order if k in outcome.merged]


# --- the merged file's text

OURS_TEXT = """\
# yaml-language-server: $schema=../../schema/work-item.schema.json
id: TRK-7f3a9c
type: task
# what the task is about
title: Parse the statements  # working title
status: active
priority: 3
labels:
  - csv
  - parser
created_at: 2026-01-01T00:00:00Z
updated_at: 2026-01-01T00:00:00Z
metadata:
  # our estimate
  estimated_hours: 2
"""


def merged_text(theirs_changes: dict[str, Any]) -> tuple[str, list[str]]:
    ours = load_yaml_text(OURS_TEXT, "ours.yaml").data
    theirs = {**ours, **theirs_changes}
    theirs = {key: value for key, value in theirs.items() if value is not MISSING}
    base = {**ours, "title": "Base", "metadata": {"estimated_hours": 1}}
    outcome = merge_records(base, ours, theirs, WORK_ITEM.key_order)
    return render_merged_text(OURS_TEXT, ours, outcome, WORK_ITEM.key_order), outcome.conflict_names


def test_clean_merge_keeps_our_comments_and_rewrites_only_changed_fields() -> None:
    text, conflicts = merged_text(
        {"status": "completed", "labels": ["csv", "parser", "urgent"],
         "updated_at": datetime(2026, 5, 1, 12, 30, tzinfo=UTC), "branch": "feat/x"}
    )  # fmt: skip
    assert conflicts == []
    assert text == OURS_TEXT.replace("status: active", "status: completed").replace(
        "  - parser\n", "  - parser\n  - urgent\n"
    ).replace("updated_at: 2026-01-01T00:00:00Z", "updated_at: 2026-05-01T12:30:00Z").replace(
        "priority: 3\n", "priority: 3\nbranch: feat/x\n"
    )


def test_conflicting_field_gets_markers_around_it_only() -> None:
    text, conflicts = merged_text({"title": "Their title", "priority": 1})
    assert conflicts == ["title"]
    assert (
        "# what the task is about\n"
        "<<<<<<< ours\n"
        "title: Parse the statements  # working title\n"
        "=======\n"
        "title: Their title\n"
        ">>>>>>> theirs\n"
        "status: active\n"
        "priority: 1\n"
    ) in text
    assert text.count("<<<<<<<") == 1


def test_field_missing_on_one_side_shows_an_empty_side() -> None:
    ours = load_yaml_text(OURS_TEXT, "ours.yaml").data
    base = {**ours, "assignee": "ana"}
    theirs = {**ours, "assignee": "bo"}
    outcome = merge_records(base, ours, theirs, WORK_ITEM.key_order)  # ours removed it
    text = render_merged_text(OURS_TEXT, ours, outcome, WORK_ITEM.key_order)
    assert "priority: 3\n<<<<<<< ours\n=======\nassignee: bo\n>>>>>>> theirs\nlabels:\n" in text


def test_multi_line_fields_conflict_as_a_block() -> None:
    ours = load_yaml_text(OURS_TEXT, "ours.yaml").data
    base = {**ours, "description": "one"}
    ours_changed = {**ours, "description": "two\nlines\n"}
    theirs = {**ours, "description": "three"}
    outcome = merge_records(base, ours_changed, theirs, WORK_ITEM.key_order)
    text = render_merged_text(OURS_TEXT, ours, outcome, WORK_ITEM.key_order)
    assert "<<<<<<< ours\ndescription: |\n  two\n  lines\n=======\ndescription: three\n" in text


def test_nested_conflict_marks_the_nested_key_and_keeps_nested_comments() -> None:
    text, conflicts = merged_text({"metadata": {"estimated_hours": 5, "actual_hours": 1}})
    assert conflicts == ["metadata.estimated_hours"]
    assert text.endswith(
        "metadata:\n"
        "  # our estimate\n"
        "<<<<<<< ours\n"
        "  estimated_hours: 2\n"
        "=======\n"
        "  estimated_hours: 5\n"
        ">>>>>>> theirs\n"
        "  actual_hours: 1\n"
    )


def test_resolving_the_markers_gives_a_readable_file() -> None:
    text, _ = merged_text({"title": "Their title"})
    lines = text.split("\n")
    start, middle = lines.index("<<<<<<< ours"), lines.index("=======")
    end = lines.index(">>>>>>> theirs")
    resolved = "\n".join(lines[:start] + lines[middle + 1 : end] + lines[end + 1 :])
    assert load_yaml_text(resolved, "f.yaml").data["title"] == "Their title"
