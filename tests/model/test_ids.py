from __future__ import annotations

import pytest

from tracker.errors import AmbiguousId, NotFound
from tracker.model.fields import ID_RE
from tracker.model.ids import id_length, new_id, resolve_id

KNOWN = ["TRK-7f3a9c", "TRK-7f3b00", "TRK-a00001"]


def test_new_ids_match_the_id_pattern_and_avoid_existing() -> None:
    existing: set[str] = set()
    for _ in range(2000):
        fresh = new_id("TRK", existing)
        assert ID_RE.match(fresh)
        assert fresh not in existing
        existing.add(fresh)


def test_id_length_grows_with_the_tracker() -> None:
    assert id_length(0) == 6
    assert id_length(100_000) > id_length(1_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TRK-7f3a9c", "TRK-7f3a9c"),
        ("trk-7f3a", "TRK-7f3a9c"),
        ("7f3b", "TRK-7f3b00"),
        ("a", "TRK-a00001"),
    ],
)
def test_unique_prefix_resolves(text: str, expected: str) -> None:
    assert resolve_id(text, KNOWN) == expected


def test_ambiguous_prefix_lists_the_candidates() -> None:
    with pytest.raises(AmbiguousId) as caught:
        resolve_id("7f3", KNOWN)
    assert caught.value.candidates == ["TRK-7f3a9c", "TRK-7f3b00"]
    assert "TRK-7f3a9c, TRK-7f3b00" in caught.value.message


def test_unknown_prefix_is_not_found() -> None:
    with pytest.raises(NotFound):
        resolve_id("zzz", KNOWN)
