"""``partita lineage export --openlineage FILE [SELECTION]``, beside ``partita lineage ASSET``.

``partita lineage`` stays the command that shows a partition's lineage; a
first argument ``export`` runs :data:`export_command` instead (an asset named
``export`` is still shown with ``partita lineage -- export``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from partita.api import Project, export_openlineage
from partita.cli.app import pass_project, stdout
from partita.cli.catalog_commands import lineage_command as show_command

__all__ = ["LineageCommand", "export_command", "lineage_command"]


@click.command("export")
@click.option(
    "--openlineage",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write OpenLineage run events to this file, one JSON line each.",
)
@click.argument("selection", required=False)
@pass_project
def export_command(project: Project, target: Path, selection: str | None) -> None:
    """Replay the catalog's history of SELECTION (default: every asset) as OpenLineage
    events, oldest run first, so a lineage server can load it after the fact.

    SELECTION: assets to export, e.g. 'daily_revenue', '+daily_revenue', 'group:sales'.
    """
    count = export_openlineage(project, target, selection)
    stdout.print(Text(f"wrote {count} OpenLineage events to {target}"))


class LineageCommand(click.Command):
    """``partita lineage``: ``show``'s arguments and options, or ``export ...``."""

    def __init__(self, show: click.Command, export: click.Command) -> None:
        super().__init__(
            name=show.name,
            params=show.params,
            callback=show.callback,
            help=show.help,
            short_help=show.short_help,
            epilog=(
                "To replay the catalog's history as OpenLineage events: "
                "partita lineage export --openlineage FILE [SELECTION]"
            ),
            context_settings=show.context_settings,
        )
        self.export = export

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """``export`` first: the export command's context (its ``invoke`` then runs)."""
        if args and args[0] == "export":
            name = f"{info_name or self.name} export"
            return self.export.make_context(name, args[1:], parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


lineage_command = LineageCommand(show_command, export_command)
"""``partita lineage``, as registered in :data:`partita.cli.app.COMMANDS`."""
