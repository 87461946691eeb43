"""Every command has help text and a README entry with an example."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import click
import pytest

from tests.conftest import PROJECT_ROOT
from tracker.cli.main import COMMANDS, cli

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _all_commands() -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(cli)
    for name in sorted(COMMANDS):
        command = cli.get_command(context, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            for sub in sorted(command.commands):
                found.append((f"{name} {sub}", command.commands[sub]))
    return found


@pytest.mark.parametrize(("name", "command"), _all_commands(), ids=lambda v: str(v))
def test_command_has_help_and_a_readme_entry(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"`tracker {name}` has no help text"
    top = name.split()[0]
    section = rf"^### tracker ([\w-]+, )*{re.escape(top)}\b"
    assert re.search(section, README, re.MULTILINE), f"README has no section for `tracker {top}`"
    if top != "merge-driver":  # git runs it; the README explains how instead
        assert re.search(rf"^tracker {re.escape(name)}\b", README, re.MULTILINE), (
            f"README has no example of `tracker {name}`"
        )


def _mcp_tools() -> list[Callable[..., Any]]:
    from tracker.mcp.tools import READ_TOOLS, WRITE_TOOLS

    return [*READ_TOOLS, *WRITE_TOOLS]


@pytest.mark.parametrize("tool", _mcp_tools(), ids=lambda tool: tool.__name__)
def test_every_mcp_tool_is_in_the_readme_with_its_parameters_and_an_example(
    tool: Callable[..., Any],
) -> None:
    name = tool.__name__
    header = re.search(rf"`{name}\(([^)`]*)\)`", README)
    assert header is not None, f"README has no `{name}(...)` entry"
    listed = [part.strip() for part in header.group(1).split(",") if part.strip()]
    documented = [part.split("=")[0].rstrip("?") for part in listed]
    parameters = list(inspect.signature(tool).parameters)[1:]  # the workspace is not one
    assert documented == parameters, f"README's `{name}` lists {documented}, not {parameters}"
    following = README[header.end() :]
    # up to the next tool's entry, heading or paragraph title
    end = re.search(r"^(`\w+\(|#|\*\*)", following, re.MULTILINE)
    example = following[: end.start() if end else None]
    assert "```json" in example and "→" in example, f"README shows no example call of `{name}`"
