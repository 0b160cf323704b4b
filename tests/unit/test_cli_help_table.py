"""``partita --help`` lists the commands from a static table: it must match the commands."""

from __future__ import annotations

import click
import pytest

from partita.cli.app import COMMANDS, SHORT_HELP, LazyGroup, cli


def test_the_table_holds_each_commands_own_short_help() -> None:
    ctx = click.Context(cli)
    assert set(SHORT_HELP) == set(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        assert SHORT_HELP[name] == command.get_short_help_str(10_000), name


@pytest.mark.parametrize("width", [50, 80, 120, 200])
def test_help_from_the_table_equals_help_from_the_commands(width: int) -> None:
    from_table = LazyGroup(name="partita", lazy=COMMANDS, command_help=SHORT_HELP)
    imported = LazyGroup(name="partita", lazy=COMMANDS)  # imports each command to list it

    def rendered(group: LazyGroup) -> str:
        ctx = click.Context(group, terminal_width=width, max_content_width=width)
        return group.get_help(ctx)

    text = rendered(from_table)
    assert from_table.commands == {}, "listing the commands imported some"
    assert text == rendered(imported)
    assert "materialize" in text and "Commands:" in text


def test_a_command_missing_from_the_table_is_imported_to_list_it() -> None:
    group = LazyGroup(
        name="partita", lazy={"plan": COMMANDS["plan"]}, command_help={"other": "Not a command."}
    )
    ctx = click.Context(group, terminal_width=100)
    assert "Show which partitions are stale and why" in group.get_help(ctx)
    assert set(group.commands) == {"plan"}
