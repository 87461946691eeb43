"""Times as records hold them: UTC instants. No pydantic here, so that the index can
compare times without importing the models."""

from __future__ import annotations

from datetime import UTC, date, datetime


def to_aware_datetime(value: object) -> object:
    """YAML gives naive datetimes or plain dates; records store UTC instants."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def instant(value: object) -> datetime | None:
    """A time as records hold it (a datetime, a date, or ISO 8601 text; UTC when it names
    no zone) as an aware datetime; None for anything else."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    aware = to_aware_datetime(value)
    return aware if isinstance(aware, datetime) else None
