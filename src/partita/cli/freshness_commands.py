"""``partita freshness`` (policies; exit 1 on a violation) and ``partita status`` (partitions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from partita.api import (
    Project,
    config_values,
    evaluate_freshness_alerts,
    freshness_report,
    parse_at,
    status_report,
)
from partita.cli.app import pass_project, print_json, show, stdout
from partita.cli.plan_commands import config_options
from partita.freshness import (
    AssetFreshness,
    AssetStatus,
    FreshnessReport,
    FreshnessStatus,
    Level,
    StatusReport,
    format_lag,
)

__all__ = ["render_freshness", "render_status"]

_STYLE = {Level.OK: "green", Level.WARN: "yellow", Level.ERROR: "bold red"}


def _short(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _config_notes(assets: Iterable[AssetFreshness | AssetStatus]) -> None:
    """One line per asset with a config note, under the table."""
    for item in assets:
        if item.config_note:
            stdout.print(Text(f"{item.asset}: {item.config_note}", style="dim"))


def render_freshness(report: FreshnessReport) -> None:
    """A table: per asset the status, newest partition, last materialization, lag, why;
    the config notes; a total."""
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in ("asset", "status", "newest", "last materialized", "lag", "next due", "why"):
        table.add_column(column, no_wrap=column not in ("why",))
    for item in report.assets:
        table.add_row(
            Text(str(item.asset)),
            Text(item.status.value, style=_STYLE[item.level]),
            Text(item.newest_partition or "-"),
            Text(_short(item.last_materialization)),
            Text(format_lag(item.lag)),
            Text(_short(item.next_deadline)),
            Text(item.reason if item.policy is None else f"{item.reason} [{item.policy}]"),
        )
    show(table)
    _config_notes(report.assets)
    counts = [f"{report.count(s)} {s.value}" for s in FreshnessStatus if report.count(s)]
    total = len(report.assets)
    line = f"{total} asset{'s' * (total != 1)} at {_short(report.now)} UTC: " + ", ".join(counts)
    stdout.print(Text(line, style="bold red" if report.violated else ""))


def render_status(report: StatusReport) -> None:
    """A table: per asset the partition counts by state and the non-fresh ranges; the
    config notes; totals."""
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in ("asset", "partitions", "fresh", "stale", "missing", "failed", "not fresh"):
        table.add_column(column, no_wrap=column != "not fresh", justify="left")
    for item in report.assets:
        notes = [
            f"{label} {subset.to_text(max_runs=3)}"
            for label, subset in (
                ("failed", item.failed),
                ("missing", item.missing),
                ("stale", item.stale),
            )
            if len(subset) and item.partitioned
        ]
        name = Text(str(item.asset))
        if item.side_effect:
            name.append(" (side effect)", style="dim")
        table.add_row(
            name,
            Text(str(item.partitions)),
            Text(str(item.fresh), style="green" if item.fresh == item.partitions else ""),
            Text(str(len(item.stale)), style="yellow" if len(item.stale) else ""),
            Text(str(len(item.missing)), style="yellow" if len(item.missing) else ""),
            Text(str(len(item.failed)), style="red" if len(item.failed) else ""),
            Text("; ".join(notes)),
        )
    show(table)
    _config_notes(report.assets)
    t = report.totals()
    stdout.print(
        f"{t['assets']} assets, {t['partitions']} partitions: {t['fresh']} fresh, "
        f"{t['stale']} stale, {t['missing']} missing, {t['failed']} failed"
    )


@click.command("freshness")
@click.argument("selection", required=False)
@click.option("--at", "at", metavar="TIMESTAMP", help="Judge at this time (ISO 8601; naive = UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--alert",
    is_flag=True,
    help="Send on_freshness_violation alerts for assets that became violated or "
    "recovered since the last evaluation (for cron).",
)
@config_options
@pass_project
def freshness_command(
    project: Project,
    selection: str | None,
    at: str | None,
    as_json: bool,
    alert: bool,
    config_files: tuple[Path, ...],
    assignments: tuple[str, ...],
) -> int:
    """Check the freshness policies of SELECTION (default: everything).

    Exit status 1 when any error-level policy is violated (late, stale,
    missing, failed); warnings exit 0. With --alert, one alert goes out per
    violation and one when it recovers (the state is kept in the catalog).
    -c/--config judge with the config a run was given, as for plan.
    """
    if alert and at is not None:
        raise click.UsageError("--alert judges now: it cannot be combined with --at")
    report = freshness_report(
        project,
        selection,
        at=None if at is None else parse_at(at),
        config=config_values(config_files, assignments),
    )
    alerts = evaluate_freshness_alerts(project, selection, report=report) if alert else None
    if as_json:
        data = report.to_json()
        if alerts is not None:
            data["alerts"] = {
                "sent": [a.to_json() for a in alerts.alerts],
                "undelivered": [{"target": p.target, "error": p.error} for p in alerts.problems],
            }
        print_json(data)
    else:
        render_freshness(report)
        if alerts is not None:
            stdout.print(alerts.describe())
    return 1 if report.violated else 0


@click.command("status")
@click.argument("selection", required=False)
@click.option("--at", "at", metavar="TIMESTAMP", help="Show the state at this time (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_options
@pass_project
def status_command(
    project: Project,
    selection: str | None,
    at: str | None,
    as_json: bool,
    config_files: tuple[Path, ...],
    assignments: tuple[str, ...],
) -> None:
    """Every asset's partitions as fresh / stale / missing / failed, on one screen."""
    report = status_report(
        project,
        selection,
        at=None if at is None else parse_at(at),
        config=config_values(config_files, assignments),
    )
    if as_json:
        print_json(report.to_json())
    else:
        render_status(report)
