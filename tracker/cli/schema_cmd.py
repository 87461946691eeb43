"""tracker schema export [DIR]"""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.errors import handle_errors
from tracker.service.schema_export import export_schemas


@click.group()
def schema() -> None:
    """JSON Schemas of the tracker's file kinds (for editors and other tools)."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default="schema")
@handle_errors
def export(directory: Path) -> None:
    """Write one JSON Schema per file kind into DIRECTORY (default ./schema)."""
    for path in export_schemas(directory):
        click.echo(path.as_posix())
