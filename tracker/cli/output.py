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


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], empty: str = "") -> str:
    """Aligned text columns: (header, key) pairs; lists are joined, None is blank."""
    if not rows:
        return empty
    cells = [[_cell(row.get(key)) for _, key in columns] for row in rows]
    widths = [
        max(len(header), *(len(line[i]) for line in cells)) for i, (header, _) in enumerate(columns)
    ]
    lines = ["  ".join(h.ljust(w) for (h, _), w in zip(columns, widths, strict=True)).rstrip()]
    for line in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def warnings_footer(data: dict[str, Any]) -> str:
    lines = [f"warning: {w}" for w in data.get("warnings", [])]
    return ("\n" + "\n".join(lines)) if lines else ""
