"""tracker vendor new | set"""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.common import emit_write, set_command, workspace, write_options
from tracker.cli.errors import handle_errors
from tracker.cli.output import emit, format_option, table, warnings_footer
from tracker.service import reads
from tracker.service.vendors import FORMATS, NewVendor, create_vendor, update_vendor


@click.group()
def vendor() -> None:
    """Vendors: their extractor status, formats and test results."""


@vendor.command("new")
@click.argument("name")
@click.option(
    "--status",
    type=click.Choice(["operational", "broken"]),
    default="operational",
    show_default=True,
)
@click.option("--extractor-version", "extractor_version", required=True, metavar="VERSION")
@click.option(
    "--supports",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="A supported input format (repeatable).",
)
@click.option("--passing", type=click.IntRange(0), default=0, help="Tests passing.")
@click.option("--total", type=click.IntRange(0), default=0, help="Tests in total.")
@click.option("--skipped", type=click.IntRange(0), default=0, help="Tests skipped.")
@click.option("--manifest-compliant/--not-manifest-compliant", default=False)
@write_options
@click.pass_context
@handle_errors
def vendor_new(
    ctx: click.Context,
    name: str,
    status: str,
    extractor_version: str,
    formats: tuple[str, ...],
    passing: int,
    total: int,
    skipped: int,
    manifest_compliant: bool,
    actor: str | None,
    if_version: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Add a vendor (its file is vendors/NAME.yaml)."""
    spec = NewVendor(
        name, status, extractor_version, list(formats), passing, total, skipped, manifest_compliant
    )
    emit_write(create_vendor(workspace(ctx, actor), spec), fmt)


vendor.add_command(
    set_command(
        "set",
        "Change a vendor: `status=broken`, `test_results.passing=40`, `format_support.ocr=true`.",
        "NAME",
        update_vendor,
    )
)


@vendor.command("list")
@click.option("--status", type=click.Choice(["operational", "broken"]), default=None)
@click.option("--at", "at", metavar="REV", default=None, help="As of a commit, branch or tag.")
@format_option()
@click.pass_context
@handle_errors
def vendor_list(ctx: click.Context, status: str | None, at: str | None, fmt: str) -> None:
    """Vendors with their status, extractor version, formats and test results."""
    data = reads.vendors(workspace(ctx), status, at)

    def render(result: dict[str, Any]) -> str:
        rows = [
            {
                **v,
                "tests": f"{v['tests_passing']}/{v['tests_total']}",
                "formats": [f for f in FORMATS if v[f]],
            }
            for v in result["vendors"]
        ]
        columns = [
            ("NAME", "name"),
            ("STATUS", "status"),
            ("VERSION", "extractor_version"),
            ("TESTS", "tests"),
            ("FORMATS", "formats"),
        ]
        return table(rows, columns, "no vendors") + warnings_footer(result)

    emit(data, fmt, render)


@vendor.command("show")
@click.argument("name")
@click.option("--at", "at", metavar="REV", default=None, help="As of a commit, branch or tag.")
@format_option()
@click.pass_context
@handle_errors
def vendor_show(ctx: click.Context, name: str, at: str | None, fmt: str) -> None:
    """One vendor (name case-insensitive), with its version."""
    data = reads.vendor(workspace(ctx), name, at)

    def render(result: dict[str, Any]) -> str:
        pairs = [f"{k}: {v}" for k, v in result["vendor"].items()]
        return "\n".join(pairs) + warnings_footer(result)

    emit(data, fmt, render)
