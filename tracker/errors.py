"""One error root; every error carries the sentence a user reads and a fixed exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ExitCode:
    OK = 0
    INVALID = 1  # usage or validation
    NOT_FOUND = 2
    CONFLICT = 3
    BUG = 70


class TrackerError(Exception):
    """Base of every error the user is meant to read."""

    kind = "error"
    exit_code = ExitCode.INVALID

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.kind, "message": self.message}


@dataclass(frozen=True, order=True)
class Problem:
    """One validation finding, printed as `path:line: field: message`."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "field": self.field, "message": self.message}


class ValidationFailed(TrackerError):
    kind = "validation"
    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.kind, "problems": [p.to_dict() for p in self.problems]}


class UsageError(TrackerError):
    kind = "usage"
    exit_code = ExitCode.INVALID


class NotFound(TrackerError):
    kind = "not_found"
    exit_code = ExitCode.NOT_FOUND


class AmbiguousId(TrackerError):
    kind = "ambiguous"
    exit_code = ExitCode.INVALID

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        self.candidates = candidates
        shown = ", ".join(candidates[:10]) + (" ..." if len(candidates) > 10 else "")
        super().__init__(f"'{prefix}' is ambiguous: matches {shown}")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "candidates": self.candidates}


@dataclass
class ConflictInfo:
    record_id: str
    expected: str
    current: str
    changed_by: str = ""
    changed_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Conflict(TrackerError):
    kind = "conflict"
    exit_code = ExitCode.CONFLICT
