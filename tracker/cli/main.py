"""The `tracker` command group. Subcommands load lazily so a query pays only for what it uses."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import click

from tracker import __version__

# command name -> "module:attribute"; loaded only when that command runs
COMMANDS = {
    "init": "tracker.cli.init_cmd:init",
    "validate": "tracker.cli.validate_cmd:validate",
    "schema": "tracker.cli.schema_cmd:schema",
    "new": "tracker.cli.item_cmds:new",
    "set": "tracker.cli.item_cmds:set_cmd",
    "close": "tracker.cli.item_cmds:close",
    "reopen": "tracker.cli.item_cmds:reopen",
    "delete": "tracker.cli.item_cmds:delete",
    "restore": "tracker.cli.item_cmds:restore",
    "move": "tracker.cli.item_cmds:move",
    "dep": "tracker.cli.dep_cmd:dep",
    "vendor": "tracker.cli.vendor_cmd:vendor",
    "deploy": "tracker.cli.deploy_cmd:deploy",
    "enhancement": "tracker.cli.enhancement_cmd:enhancement",
    "config": "tracker.cli.config_cmd:config",
    "show": "tracker.cli.show_cmds:show",
    "history": "tracker.cli.show_cmds:history",
    "merge-driver": "tracker.cli.merge_cmd:merge_driver",
    "serve": "tracker.cli.serve_cmd:serve",
    "watch": "tracker.cli.watch_cmd:watch",
    "list": "tracker.cli.read_cmds:list_cmd",
    "tree": "tracker.cli.read_cmds:tree",
    "ready": "tracker.cli.read_cmds:ready",
    "blocked": "tracker.cli.read_cmds:blocked",
    "query": "tracker.cli.read_cmds:query",
    "status": "tracker.cli.status_cmd:status",
    "index": "tracker.cli.index_cmd:index",
    "archive": "tracker.cli.archive_cmd:archive",
    "mcp": "tracker.cli.mcp_cmd:mcp",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracker")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run as if started in this directory.",
)
@click.option(
    "--root",
    "root_name",
    default=None,
    envvar="TRACKER_ROOT",
    help="Name of the tracker folder (default .tracker).",
)
@click.option(
    "--index-dsn",
    "index_dsn",
    metavar="DSN",
    default=None,
    help="Answer from this team index (Postgres) and publish to it "
    "(default: $TRACKER_INDEX_DSN, then index.dsn in tracker.yaml).",
)
@click.pass_context
def cli(
    ctx: click.Context, directory: Path | None, root_name: str | None, index_dsn: str | None
) -> None:
    """tracker: work items, vendors and deployments as YAML files in your git repository."""
    if directory is not None:
        os.chdir(directory)
    ctx.obj = {"root_name": root_name, "index_dsn": index_dsn}


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="tracker")
