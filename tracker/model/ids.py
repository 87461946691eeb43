"""Record ids: random, short, collision-free across branches without coordination."""

from __future__ import annotations

import math
import secrets
from collections.abc import Collection, Iterable

from tracker.constants import MIN_ID_HEX
from tracker.errors import AmbiguousId, NotFound

# Ids are random, so two branches can only collide by chance. The length grows
# with the tracker so that the chance a new id hits any existing one stays
# below one in ten thousand; a local clash is simply drawn again.
_COLLISION_ODDS = 10_000


def id_length(existing_count: int) -> int:
    needed = math.log(max(existing_count, 1) * _COLLISION_ODDS, 16)
    return max(MIN_ID_HEX, math.ceil(needed))


def new_id(prefix: str, existing: Collection[str]) -> str:
    length = id_length(len(existing))
    while True:
        candidate = f"{prefix}-{secrets.token_hex(8)[:length]}"
        if candidate not in existing:
            return candidate


def resolve_id(text: str, known: Iterable[str], what: str = "item") -> str:
    """The one known id that `text` starts (case-insensitively), with or without its prefix."""
    wanted = text.strip().lower()
    if not wanted:
        raise NotFound(f"no {what} id given")
    matches = []
    for candidate in known:
        lowered = candidate.lower()
        if lowered == wanted:
            return candidate
        short = lowered.split("-", 1)[-1]
        if lowered.startswith(wanted) or short.startswith(wanted):
            matches.append(candidate)
    if not matches:
        raise NotFound(f"no {what} matches '{text}'")
    if len(matches) > 1:
        raise AmbiguousId(text, sorted(matches))
    return matches[0]
