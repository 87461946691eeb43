"""The one seam all command output goes through."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import click

FORMATS = ("table", "json", "yaml")


F = TypeVar("F", bound=Callable[..., Any])


def format_option(default: str = "table", choices: tuple[str, ...] = FORMATS) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )


def _json_default(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def emit(data: Any, fmt: str, table: Callable[[Any], str] | None = None) -> None:
    """Print `data` as json, yaml, or through `table` for humans."""
    if fmt == "json":
        click.echo(to_json(data))
    elif fmt == "yaml":
        import yaml  # only the yaml format pays for the dumper

        click.echo(yaml.safe_dump(json.loads(to_json(data)), sort_keys=False, allow_unicode=True))
    else:
        click.echo(table(data) if table else to_json(data))


def error(message: str) -> None:
    click.echo(message, err=True)


def is_terminal() -> bool:
    return sys.stderr.isatty()
