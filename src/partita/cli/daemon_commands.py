"""``partita daemon`` (run the automation), ``partita ticks`` and ``partita schedules``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from rich.table import Table
from rich.text import Text

from partita.api import Project
from partita.automation import Daemon, LaunchSettings, list_ticks, schedule_infos
from partita.cli.app import pass_project, print_json, show, stdout
from partita.records import TickKind, TickRecord, TickStatus

__all__ = ["daemon_command", "schedules_command", "ticks_command"]

_STYLE = {
    TickStatus.SUCCEEDED: "green",
    TickStatus.FAILED: "bold red",
    TickStatus.ERROR: "bold red",
    TickStatus.SKIPPED: "yellow",
    TickStatus.NOTHING_TO_DO: "",
}


def _short(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _line(record: TickRecord) -> Text:
    text = Text(f"{_short(record.evaluated_at)} {record.kind.value} {record.name}: ")
    text.append(record.status.value, style=_STYLE[record.status])
    if record.run_ids:
        text.append(f" run {', '.join(record.run_ids)}")
    if record.detail:
        text.append(f" ({record.detail})")
    return text


@click.command("daemon")
@click.option(
    "--executor",
    type=click.Choice(["process", "thread", "inprocess", "dask"]),
    default=None,
    help="Where the tasks of the daemon's runs run (default: the definitions' executor, "
    "else process).",
)
@click.option("--max-workers", type=click.IntRange(min=1), help="Tasks at once (default: CPUs).")
@click.option("--once", is_flag=True, help="Evaluate what is due once, then exit.")
@click.option("--quiet", is_flag=True, help="Print nothing for evaluations that found nothing.")
@click.option(
    "--keep-quiet-ticks",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    metavar="DAYS",
    help="Delete evaluations that launched nothing once older than DAYS (hourly; 0: keep all).",
)
@pass_project
def daemon_command(
    project: Project,
    executor: str | None,
    max_workers: int | None,
    once: bool,
    quiet: bool,
    keep_quiet_ticks: float,
) -> None:
    """Run the project's schedules, sensors and eager assets until stopped (SIGTERM).

    One daemon per project: a second one refuses to start and names the
    holder. Every evaluation is recorded (``partita ticks``); SIGTERM or
    Ctrl-C cancels a run in progress cleanly and exits.
    """
    definitions = project.loaded.definitions
    counts = (len(definitions.schedules), len(definitions.sensors), len(definitions.eager))

    def on_tick(record: TickRecord) -> None:
        if quiet and record.status is TickStatus.NOTHING_TO_DO:
            return
        stdout.print(_line(record))

    def on_start() -> None:
        stdout.print(
            f"partita daemon: {counts[0]} schedules, {counts[1]} sensors, {counts[2]} eager "
            f"selections; holding the lock of {project.catalog_name}"
        )

    daemon = Daemon(
        project,
        settings=LaunchSettings(executor=executor, max_workers=max_workers),
        keep_quiet_ticks=timedelta(days=keep_quiet_ticks) if keep_quiet_ticks else None,
        on_tick=on_tick,
        on_start=on_start,
    )
    daemon.run(once=once)
    if daemon.cancel.cancelled:
        stdout.print(f"partita daemon: {daemon.cancel.reason}, stopped")


@click.command("ticks")
@click.option(
    "--kind", type=click.Choice([k.value for k in TickKind]), help="Only this kind of evaluation."
)
@click.option("--name", help="Only the schedule, sensor, eager selection or job with this name.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def ticks_command(
    project: Project, kind: str | None, name: str | None, limit: int, as_json: bool
) -> None:
    """List the daemon's recorded tick and sensor evaluations, newest first."""
    found = list_ticks(
        project, kind=None if kind is None else TickKind(kind), name=name, limit=limit
    )
    if as_json:
        print_json([record.to_json() for record in found])
        return
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in ("evaluated (UTC)", "kind", "name", "tick (UTC)", "status", "runs", "detail"):
        table.add_column(column, no_wrap=column != "detail")
    for record in found:
        table.add_row(
            _short(record.evaluated_at),
            record.kind.value,
            record.name,
            _short(record.tick_at),
            Text(record.status.value, style=_STYLE[record.status]),
            ", ".join(record.run_ids) or "-",
            record.detail,
        )
    show(table)
    if not found:
        stdout.print("no evaluations recorded yet (start `partita daemon`)")


@click.command("schedules")
@click.option("--count", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def schedules_command(project: Project, count: int, as_json: bool) -> None:
    """List the schedules with their next ticks in their time zone."""
    infos = schedule_infos(project, datetime.now(UTC), count=count)
    if as_json:
        print_json([info.to_json() for info in infos])
        return
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in ("name", "cron", "timezone", "selection", "next ticks", "last tick"):
        table.add_column(column, no_wrap=True)
    for info in infos:
        last = "-" if info.last is None else f"{_short(info.last.tick_at)} {info.last.status}"
        table.add_row(
            info.name,
            info.cron,
            info.timezone,
            info.selection or "*",
            ", ".join(tick.strftime("%Y-%m-%d %H:%M %Z") for tick in info.next_ticks),
            last,
        )
    show(table)
    if not infos:
        stdout.print("no schedules (add Definitions(schedules=[Schedule(...)]))")
