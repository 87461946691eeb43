"""Turns every failure into a sentence and a fixed exit code; never a traceback."""

from __future__ import annotations

import functools
import os
import tempfile
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tracker.cli.output import error, to_json
from tracker.errors import ExitCode, TrackerError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Wrap a click callback: TrackerError -> message + exit code; anything else -> logged bug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TrackerError as exc:
            if kwargs.get("fmt") == "json":
                click.echo(to_json(exc.to_dict()))
            else:
                # validation problems already read `path:line: field: message`
                shown = exc.message if exc.kind == "validation" else f"{exc.kind}: {exc.message}"
                error(shown)
            raise SystemExit(exc.exit_code) from None
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # the one place that catches everything: a bug
            log = _write_crash_log()
            error(f"unexpected error: {type(exc).__name__}: {exc}\n(details in {log})")
            raise SystemExit(ExitCode.BUG) from None

    return wrapper  # type: ignore[return-value]


def _write_crash_log() -> str:
    fd, path = tempfile.mkstemp(prefix="tracker-crash-", suffix=".log")
    with os.fdopen(fd, "w") as handle:
        handle.write(traceback.format_exc())
    return path
