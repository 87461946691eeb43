"""tracker show | history"""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.common import workspace
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option
from tracker.errors import NotFound
from tracker.model.kinds import DEPLOYMENT, ENHANCEMENT, VENDOR, WORK_ITEM, Kind
from tracker.service import reads
from tracker.service.history import record_history
from tracker.service.show import show_record
from tracker.service.workspace import Workspace

KIND_NAMES = {
    "item": WORK_ITEM,
    "vendor": VENDOR,
    "deployment": DEPLOYMENT,
    "enhancement": ENHANCEMENT,
}


def guess_kind(text: str) -> list[Kind]:
    upper = text.upper()
    if upper.startswith("DEP-"):
        return [DEPLOYMENT]
    if upper.startswith("ENH-"):
        return [ENHANCEMENT]
    return [WORK_ITEM, VENDOR]


def _first_found(ws: Workspace, kinds: list[Kind], call: Any, text: str) -> dict[str, Any]:
    for kind in kinds:
        try:
            result: dict[str, Any] = call(ws, kind)
            return result
        except NotFound:
            if len(kinds) == 1:
                raise
    raise NotFound(f"no item or vendor matches '{text}'")


kind_option = click.option(
    "--kind",
    type=click.Choice(sorted(KIND_NAMES)),
    default=None,
    help="Record kind (default: guessed from the id).",
)


@click.command()
@click.argument("record_id", metavar="ID")
@kind_option
@click.option(
    "--at", "at", metavar="REV", default=None, help="Answer as of a commit, branch or tag."
)
@format_option()
@click.pass_context
@handle_errors
def show(ctx: click.Context, record_id: str, kind: str | None, at: str | None, fmt: str) -> None:
    """Show a record with its version (the commit that last changed it)."""
    kinds = [KIND_NAMES[kind]] if kind else guess_kind(record_id)
    data = _first_found(workspace(ctx), kinds, lambda ws, k: _show(ws, k, record_id, at), record_id)
    emit(data, fmt, _show_table)


def _show(ws: Workspace, kind: Kind, text: str, at: str | None) -> dict[str, Any]:
    """Items and vendors from the index (with their links); the rest straight from git."""
    if kind is WORK_ITEM:
        return reads.show_item(ws, text, at)
    if kind is VENDOR:
        found = reads.vendor(ws, text, at)
        vendor = found.pop("vendor")
        return {
            "id": vendor["name"],
            "kind": "vendor",
            "version": vendor["version"],
            "changed_by": vendor["changed_by"],
            "changed_at": vendor["changed_at"],
            "dirty": vendor["dirty"],
            "record": vendor,
            **found,
        }
    return show_record(ws, kind, text, at)


def _show_table(data: dict[str, Any]) -> str:
    dirty = " (uncommitted edits)" if data.get("dirty") else ""
    archived = " (archived)" if data.get("archived") else ""
    lines = [
        f"{data['id']}  version {data['version']}{dirty}{archived}",
        f"  changed by {data['changed_by']} at {data['changed_at']}",
    ]
    for ancestor in data.get("ancestors", []):
        lines.append(f"  under {ancestor['id']} {ancestor['type']}: {ancestor['title']}")
    for key, value in data["record"].items():
        lines.append(f"{key}: {value}")
    for title, key in (
        ("descendants", "descendants"),
        ("depends on", "depends_on"),
        ("blocks", "blocks"),
    ):
        if data.get(key):
            lines.append(f"{title}:")
            lines += [
                f"  {'  ' * max(0, (r.get('depth') or 0) - (data.get('depth') or 0) - 1)}"
                f"{r['id']} [{r['status']}] {r['title']}"
                for r in data[key]
            ]
    if data.get("deployments"):
        lines.append("deployments:")
        lines += [f"  {d['id']} PR #{d['pr']} {d['pr_title']}" for d in data["deployments"]]
    lines += [f"warning: {w}" for w in data.get("warnings", [])]
    return "\n".join(lines)


@click.command()
@click.argument("record_id", metavar="ID")
@kind_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Newest N versions only.")
@click.option("--at", "at", metavar="REV", default=None, help="History up to this revision.")
@format_option()
@click.pass_context
@handle_errors
def history(
    ctx: click.Context,
    record_id: str,
    kind: str | None,
    limit: int | None,
    at: str | None,
    fmt: str,
) -> None:
    """Every version of a record, newest first: commit, author, time, field changes."""
    kinds = [KIND_NAMES[kind]] if kind else guess_kind(record_id)
    data = _first_found(
        workspace(ctx), kinds, lambda ws, k: record_history(ws, k, record_id, limit, at), record_id
    )
    emit(data, fmt, _history_table)


def _history_table(data: dict[str, Any]) -> str:
    lines = []
    for version in data["versions"]:
        lines.append(
            f"{version['version'][:12]}  {version['time']}  {version['author']}  {version['event']}"
        )
        for change in version["changes"]:
            lines.append(
                f"    {change['field']}: {_value(change['old'])} -> {_value(change['new'])}"
            )
    return "\n".join(lines) if lines else f"{data['id']}: no committed versions"


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
