"""The ``partita`` click group and what every command shares: project options, output.

Start-up is part of the interface: ``partita --help`` and ``--version`` import
click and this module, nothing else of Partita's (no api, no rich). The
commands' modules are imported when a command runs, the terminal consoles
(rich) when first printed to, and ``--help`` lists the commands from the
static table :data:`SHORT_HELP` instead of importing every command.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from partita import __version__

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    #: The terminal consoles (rich), created on first use: see ``__getattr__``.
    stdout: Console
    stderr: Console

__all__ = [
    "COMMANDS",
    "SHORT_HELP",
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


def __getattr__(name: str) -> Any:
    """``stdout`` and ``stderr``: rich consoles, made (and rich imported) on first use."""
    if name not in ("stdout", "stderr"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console(name)


def _console(name: str) -> Console:
    console: Console | None = globals().get(name)
    if console is None:
        from rich.console import Console  # noqa: PLC0415  (rich: ~40 ms, not for --help)

        console = Console(stderr=name == "stderr", soft_wrap=True)
        globals()[name] = console
    return console


def show(renderable: RenderableType) -> None:
    """Print a table or tree at its natural width: never cut, even when piped (80 columns)."""
    from rich.measure import Measurement  # noqa: PLC0415

    stdout = _console("stdout")
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
        from partita.api import load_project  # noqa: PLC0415  (not for --help)

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
    "lineage": "partita.cli.lineage_export:lineage_command",
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
    "daemon": "partita.cli.daemon_commands:daemon_command",
    "ticks": "partita.cli.daemon_commands:ticks_command",
    "schedules": "partita.cli.daemon_commands:schedules_command",
    "ui": "partita.cli.ui_command:ui_command",
}


#: Each command's short help as ``partita --help`` lists it, so that listing
#: imports no command module (they import the api, pandas, networkx...). A unit
#: test keeps it equal to each command's own short help.
SHORT_HELP: dict[str, str] = {
    "daemon": "Run the project's schedules, sensors and eager assets until stopped (SIGTERM).",
    "ticks": "List the daemon's recorded tick and sensor evaluations, newest first.",
    "schedules": "List the schedules with their next ticks in their time zone.",
    "catalog": "Look after the project's catalog (.partita/catalog.db, or a PostgreSQL database).",
    "check": "Run the checks of SELECTION on its published data, without rebuilding anything.",
    "checks": "List the check results of each partition's current state, newest first.",
    "freshness": "Check the freshness policies of SELECTION (default: everything).",
    "graph": "Show the asset graph (optionally a SELECTION such as '+daily_revenue').",
    "history": "List the materializations of an asset (or one partition), newest first.",
    "lineage": "Show the lineage of a partition's latest materialization, with versions and runs.",
    "list": "List assets and sources (optionally a SELECTION such as 'group:sales').",
    "logs": "Print the step logs of a run (optionally of one asset and partition).",
    "materialize": "Build the stale partitions of SELECTION (default: everything) and record them.",
    "partitions": "Add, list and delete the keys of dynamic partitions (kept in the catalog).",
    "plan": "Show which partitions are stale and why, without building anything.",
    "runs": "List the latest runs: kind, status (dead runs show 'crashed'), start, duration, "
    "and outcome (partitions by their last attempt, with retries; a check run's check results).",
    "status": "Every asset's partitions as fresh / stale / missing / failed, on one screen.",
    "validate": "Load the project and validate its asset graph (errors exit with status 1).",
    "verify": "Compare the stored data of SELECTION (default: every asset) with the catalog.",
    "ui": "Serve a web page of the asset graph, partition health, lineage and runs.",
    "wipe": "Delete the stored data of ASSET (every partition, or --partition / --from --to) "
    "and record it, so the next materialize rebuilds those partitions from scratch.",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use.

    ``lazy`` maps a command name to ``"module:attribute"``; ``command_help`` gives
    the line ``--help`` lists for a command not imported yet (a command missing
    from it is imported to get its own).
    """

    def __init__(
        self,
        *args: Any,
        lazy: Mapping[str, str],
        command_help: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)
        self.command_help = dict(command_help or {})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their short help, importing none that has a static one."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            if name in self.command_help and name not in self.commands:
                # shortened as click shortens a help text that has no short_help
                stand_in = click.Command(name, help=self.command_help[name])
                rows.append((name, stand_in.get_short_help_str(limit)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

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
    command_help=SHORT_HELP,
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
@click.version_option(__version__, prog_name="partita")
@click.pass_context
def cli(
    ctx: click.Context, definitions_file: Path | None, definitions_module: str | None, debug: bool
) -> None:
    """Partita: partitioned data assets, exact staleness, lineage."""
    ctx.obj = ProjectOptions(definitions_file, definitions_module)
