"""The ``partita`` click group and what every command shares: project options, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console, RenderableType
from rich.measure import Measurement

from partita.api import load_project

__all__ = ["cli", "pass_project", "print_json", "show", "stderr", "stdout"]

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


def pass_project(command: F) -> F:
    """Add ``-f/--file`` and ``-m/--module`` to a command and pass it the loaded project."""

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
        if definitions_file is not None and definitions_module is not None:
            raise click.UsageError("give -f/--file or -m/--module, not both")
        project = load_project(file=definitions_file, module=definitions_module)
        return command(project, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(version("partita"), prog_name="partita")
def cli(debug: bool) -> None:
    """Partita: partitioned data assets, exact staleness, lineage."""
