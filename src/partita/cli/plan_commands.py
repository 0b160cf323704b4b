"""``partita plan``: which partitions are stale, and why.

rich is imported when something is printed for a terminal, not for ``--json``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from partita.api import (
    Project,
    config_values,
    explain_partition,
    partition_request,
    plan_project,
)
from partita.cli import app
from partita.cli.app import pass_project, print_json, show
from partita.cli.sql_models import show_sql_changes, sql_changes_json

if TYPE_CHECKING:
    from rich.tree import Tree

    from partita.planner import FailedObservation, Plan, PlanStep, StepReason, Why

__all__ = ["config_options", "partition_options", "render_plan"]


F = TypeVar("F", bound=Callable[..., Any])


def partition_options(command: F) -> F:
    """``SELECTION``, ``--partition`` and ``--from/--to``, shared by plan and materialize."""
    for option in reversed(
        [
            click.argument("selection", required=False),
            click.option("--partition", "partition", metavar="KEY", help="One partition key."),
            click.option("--from", "start", metavar="KEY", help="First key of a range."),
            click.option("--to", "end", metavar="KEY", help="Last key of a range (inclusive)."),
        ]
    ):
        command = option(command)
    return command


def config_options(command: F) -> F:
    """``--config FILE`` and ``-c KEY=VALUE``, shared by plan, materialize, status and
    freshness."""
    command = click.option(
        "-c", "assignments", multiple=True, metavar="KEY=VALUE", help="Config value."
    )(command)
    return click.option(
        "--config",
        "config_files",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="Run-time config file (.toml or .json).",
    )(command)


def _why(step: PlanStep, reason: StepReason) -> str:
    """One reason of a step; with the partitions it covers when it covers only some of
    the step's and is not about an upstream asset (``missing c (1)``, ``failed b (1)``)."""
    if (
        reason.upstream is not None
        or not step.partitioned
        or len(reason.partitions) == len(step.partitions)
    ):
        return reason.describe()
    text = f"{reason.reason.value} {reason.partitions.to_text(max_runs=3)}"
    return f"{text}: {reason.detail}" if reason.detail else text


def _failed_observation_lines(failures: Sequence[FailedObservation]) -> list[str]:
    """One line per source and error: ``vendor 2026-11-01, 2026-11-02 (2): ConnectionError``."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for failure in failures:
        grouped[(str(failure.asset), failure.error)].append(failure.partition)
    lines = []
    for (asset, error), partitions in grouped.items():
        shown = ", ".join(p for p in partitions[:3] if p)
        if len(partitions) > 3:
            shown += f", ... ({len(partitions)})"
        lines.append(f"observation failed: {asset} {shown}".rstrip() + f": {error}")
    return lines


def render_plan(plan: Plan) -> None:
    """Print a plan: per asset the partitions, counts and reasons; blocked ones; failed
    source observations; a total."""
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    stdout = app.stdout
    for line in _failed_observation_lines(plan.failed_observations):
        stdout.print(Text(line, style="red"))
    if plan.is_empty and not plan.blocked:
        stdout.print("Nothing to do: every selected partition is up to date.")
        return
    if plan.steps:
        table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
        table.add_column("asset", no_wrap=True)
        table.add_column("partitions")
        table.add_column("why")
        for step in plan.steps:
            where = step.partitions.to_text(max_runs=3) if step.partitioned else "unpartitioned"
            why = "\n".join(_why(step, r) for r in step.reasons)
            table.add_row(Text(str(step.asset)), Text(where), Text(why))
        show(table)
    for blocked in plan.blocked:
        stdout.print(Text("blocked: " + blocked.describe(), style="yellow"))
    assets = len(plan.steps)
    stdout.print(
        f"{plan.partition_count} partition{'s' * (plan.partition_count != 1)} of "
        f"{assets} asset{'s' * (assets != 1)} to build"
        + (f", {len(plan.blocked)} blocked" if plan.blocked else "")
    )


def _why_tree(why: Why, tree: Tree | None = None) -> Tree:
    from rich.text import Text  # noqa: PLC0415
    from rich.tree import Tree  # noqa: PLC0415

    label = Text(f"{why.asset} {why.partition}".rstrip(), style="bold")
    label.append(f"  {why.status}", style="dim")
    node = Tree(label) if tree is None else tree.add(label)
    for line in why.reasons:
        node.add(Text(line))
    for cause in why.causes:
        _why_tree(cause, node)
    return node


@click.command("plan")
@partition_options
@click.option("--force", is_flag=True, help="Plan every requested partition as forced.")
@config_options
@click.option(
    "--explain", "explain_target", metavar="ASSET:PARTITION", help="The full chain of why."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def plan_command(
    project: Project,
    selection: str | None,
    partition: str | None,
    start: str | None,
    end: str | None,
    force: bool,
    config_files: tuple[Path, ...],
    assignments: tuple[str, ...],
    explain_target: str | None,
    as_json: bool,
) -> None:
    """Show which partitions are stale and why, without building anything.

    SELECTION: assets to plan, e.g. 'clean_orders', '+daily_revenue', 'group:sales'.
    """
    request = partition_request(partition, start, end)
    planned = plan_project(
        project,
        selection,
        partition_key=request.single if request else None,
        partition_range=request.bounds if request else None,
        force=force,
        config=config_values(config_files, assignments),
    )
    why = explain_partition(project, planned, explain_target) if explain_target else None
    failed = len(planned.plan.failed_observations)
    if failed:
        from rich.text import Text  # noqa: PLC0415

        app.stderr.print(
            Text(
                f"warning: {failed} source partition{'s' * (failed != 1)} could not be observed; "
                f"what reads {'them' if failed != 1 else 'it'} is blocked",
                style="yellow",
            )
        )
    if as_json:
        data = planned.plan.to_json()
        if why is not None:
            data["explain"] = why.to_json()
        data["sql_changes"] = sql_changes_json(project, planned.plan)
        print_json(data)
        return
    render_plan(planned.plan)
    show_sql_changes(project, planned.plan)
    if why is not None:
        show(_why_tree(why))
