"""The ``partita`` click group and what every command shares: project options, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console, RenderableType
from rich.measure import Measurement

from partita.api import load_project

__all__ = [
    "COMMANDS",
    "LazyGroup",
    "ProjectOptions",
    "cli",
    "pass_project",
    "print_json",
    "show",
    "stderr",
    "stdout",
]

F = TypeVar("F", bound=Callable[..., Any])

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def show(renderable: RenderableType) -> None:
    """Print a table or tree at its natural width: never cut, even when piped (80 columns)."""
    unbounded = stdout.options.update_width(10_000)
    needed = Measurement.get(stdout, unbounded, renderable).maximum
    if needed <= stdout.width:
        stdout.print(renderable)
        return
    width = stdout.width
    stdout.width = needed
    try:
        stdout.print(renderable)
    finally:
        stdout.width = width


def print_json(data: object) -> None:
    """Print ``data`` as JSON on stdout (no colour, no wrapping: for machines)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@dataclass(frozen=True)
class ProjectOptions:
    """``-f/--file`` and ``-m/--module`` given before the command (``partita -f defs.py plan``)."""

    file: Path | None = None
    module: str | None = None


def pass_project(command: F) -> F:
    """Add ``-f/--file`` and ``-m/--module`` to a command and pass it the loaded project.

    Both options may also be given before the command (they are options of the
    ``partita`` group too): ``partita -f defs.py plan`` = ``partita plan -f defs.py``.
    """

    @click.option(
        "-f",
        "--file",
        "definitions_file",
        type=click.Path(path_type=Path),
        help="Python file holding the project's Definitions (path.py or path.py:name).",
    )
    @click.option(
        "-m",
        "--module",
        "definitions_module",
        help="Module holding the project's Definitions (package.module[:name]).",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any, definitions_file: Path | None, definitions_module: str | None, **kwargs: Any
    ) -> Any:
        before = click.get_current_context().find_object(ProjectOptions) or ProjectOptions()
        if before.file is not None and definitions_file not in (None, before.file):
            raise click.UsageError("-f/--file is given twice with different files")
        if before.module is not None and definitions_module not in (None, before.module):
            raise click.UsageError("-m/--module is given twice with different modules")
        definitions_file = definitions_file or before.file
        definitions_module = definitions_module or before.module
        if definitions_file is not None and definitions_module is not None:
            raise click.UsageError("give -f/--file or -m/--module, not both")
        project = load_project(file=definitions_file, module=definitions_module)
        return command(project, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: Every command, by name: the module and attribute that define it. Commands are
#: imported when they run (click's lazy-loading pattern), so ``partita plan``
#: never imports the runner, the stores or pandas, and start-up stays short.
COMMANDS: dict[str, str] = {
    "validate": "partita.cli.project_commands:validate_command",
    "list": "partita.cli.project_commands:list_command",
    "graph": "partita.cli.project_commands:graph_command",
    "plan": "partita.cli.plan_commands:plan_command",
    "materialize": "partita.cli.run_commands:materialize_command",
    "lineage": "partita.cli.catalog_commands:lineage_command",
    "history": "partita.cli.catalog_commands:history_command",
    "runs": "partita.cli.catalog_commands:runs_command",
    "logs": "partita.cli.catalog_commands:logs_command",
    "partitions": "partita.cli.catalog_commands:partitions_group",
    "catalog": "partita.cli.catalog_file_commands:catalog_group",
    "checks": "partita.cli.check_commands:checks_command",
    "check": "partita.cli.check_commands:check_command",
    "freshness": "partita.cli.freshness_commands:freshness_command",
    "status": "partita.cli.freshness_commands:status_command",
    "wipe": "partita.cli.wipe_command:wipe_command",
    "verify": "partita.cli.verify_command:verify_command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name (sorted)."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module the first time it is asked for."""
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module_name, attribute = self.lazy[cmd_name].split(":")
            command = getattr(import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "-f",
    "--file",
    "definitions_file",
    type=click.Path(path_type=Path),
    help="Python file holding the project's Definitions (also accepted after the command).",
)
@click.option(
    "-m",
    "--module",
    "definitions_module",
    help="Module holding the project's Definitions (also accepted after the command).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="partita", prog_name="partita")
@click.pass_context
def cli(
    ctx: click.Context, definitions_file: Path | None, definitions_module: str | None, debug: bool
) -> None:
    """Partita: partitioned data assets, exact staleness, lineage."""
    ctx.obj = ProjectOptions(definitions_file, definitions_module)
