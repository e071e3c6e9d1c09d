"""docs/commands.md is generated from the commands' --help and must not drift.

Regenerate with ``EVIDENCE_UPDATE_GOLDEN=1 python -m pytest tests/test_docs.py``.
"""

from __future__ import annotations

import os

import click
from click.testing import CliRunner
from conftest import ROOT

from evidence.cli import cli

COMMANDS_DOC = ROOT / "docs" / "commands.md"
HEADER = """# Command reference

Generated from `evidence --help` by `tests/test_docs.py`; do not edit by hand.
Regenerate with `EVIDENCE_UPDATE_GOLDEN=1 python -m pytest tests/test_docs.py`.
"""


def help_text(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="evidence", terminal_width=88)
    assert result.exit_code == 0, result.output
    return result.output


def command_reference() -> str:
    parts = [HEADER, "## evidence\n", "```\n" + help_text() + "```\n"]
    for name in sorted(cli.commands):
        parts += [f"## evidence {name}\n", "```\n" + help_text(name) + "```\n"]
    return "\n".join(parts)


def test_command_reference_is_up_to_date():
    expected = command_reference()
    if os.environ.get("EVIDENCE_UPDATE_GOLDEN"):
        COMMANDS_DOC.write_text(expected)
    assert COMMANDS_DOC.read_text() == expected, "docs/commands.md is stale: regenerate it (see module docstring)"


def test_every_command_has_help():
    for name, command in cli.commands.items():
        assert isinstance(command, click.Command)
        assert command.help and len(command.help.split()) >= 5, f"evidence {name} needs a real --help"
