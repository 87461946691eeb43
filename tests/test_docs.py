"""Every command has help text and a README entry with an example."""

from __future__ import annotations

import re

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
