"""``partita materialize``: plan, then build the stale partitions."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text

from partita.api import (
    Project,
    RunResult,
    config_values,
    materialize,
    partition_request,
)
from partita.cli.app import pass_project, print_json, stdout
from partita.cli.plan_commands import config_options, partition_options
from partita.cli.progress import progress_for

__all__ = ["render_result"]


def render_result(result: RunResult) -> None:
    """Print the end-of-run summary (failures in red with the ``partita logs`` command)."""
    for line in result.summary_lines():
        style = None
        if line.startswith(("failed", "  ")) and result.failed:
            style = "red" if line.startswith("failed") else None
        elif line.startswith("skipped") or line.startswith("blocked"):
            style = "yellow"
        stdout.print(Text(line, style=style or ""))


@click.command("materialize")
@partition_options
@click.option("--force", is_flag=True, help="Rebuild the requested partitions even if fresh.")
@config_options
@click.option(
    "--executor",
    type=click.Choice(["process", "thread", "inprocess", "dask"]),
    default=None,
    help="Where tasks run (default: the definitions' executor, else process).",
)
@click.option("--max-workers", type=click.IntRange(min=1), help="Tasks at once (default: CPUs).")
@click.option(
    "--dask-address",
    metavar="ADDRESS",
    help="Run on this Dask scheduler (tcp://host:8786); --executor dask without it "
    "starts a local cluster.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run result as JSON.")
@click.option(
    "--openlineage-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the run's OpenLineage events to this file, one JSON line each.",
)
@pass_project
def materialize_command(
    project: Project,
    selection: str | None,
    partition: str | None,
    start: str | None,
    end: str | None,
    force: bool,
    config_files: tuple[Path, ...],
    assignments: tuple[str, ...],
    executor: str | None,
    max_workers: int | None,
    dask_address: str | None,
    as_json: bool,
    openlineage_file: Path | None,
) -> int:
    """Build the stale partitions of SELECTION (default: everything) and record them.

    SELECTION: assets to build, e.g. 'clean_orders', '+daily_revenue', 'group:sales'.
    A range (--from/--to) is a backfill; exit status 1 if anything failed.
    """
    request = partition_request(partition, start, end)
    result = materialize(
        project,
        selection,
        partition_key=request.single if request else None,
        partition_range=request.bounds if request else None,
        force=force,
        config=config_values(config_files, assignments),
        executor=executor,
        max_workers=max_workers,
        dask_address=dask_address,
        subscribers=() if as_json else (progress_for(sys.stderr),),
        openlineage_file=openlineage_file,
    )
    if as_json:
        print_json(result.to_json())
    else:
        render_result(result)
    return result.exit_code
