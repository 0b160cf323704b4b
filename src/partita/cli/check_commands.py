"""``partita checks`` (recorded results) and ``partita check`` (check published data).

Both print a table for people and, with ``--json``, stable JSON documented in
docs/checks.md. ``partita check`` exits 1 when a blocking check fails, so CI or
cron can alert on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import click
from rich.table import Table
from rich.text import Text

from partita.api.checks import (
    check_json,
    check_published,
    check_results,
    is_removed,
    latest_recheck,
)
from partita.api.project import Project
from partita.cli.app import pass_project, print_json, show, stdout
from partita.records import CheckRecord

__all__ = ["check_command", "checks_command", "checks_label"]


def _counts_text(records: Sequence[CheckRecord], lead: str) -> Text:
    passed = sum(1 for r in records if r.passed)
    failed = [r.check_name for r in records if r.blocking]
    warned = [r.check_name for r in records if not r.passed and not r.blocking]
    text = Text(f"{lead}{passed} passed", style="green" if not failed else "")
    if failed:
        text.append(f", {len(failed)} failed ({', '.join(failed)})", style="red")
    if warned:
        text.append(f", {len(warned)} warned ({', '.join(warned)})", style="yellow")
    return text


def checks_label(records: Sequence[CheckRecord], now: datetime | None = None) -> Text:
    """``checks: 3 passed, 1 failed (unique_id)`` for one materialization (empty: none).

    Counts the results of the attempt that built it; its latest re-check by
    ``partita check`` follows apart: ``; re-checked 3m ago: 1 failed (x)``.
    """
    build = [r for r in records if r.source != "recheck"]
    recheck = latest_recheck(records)
    text = _counts_text(build, "checks: ") if build else Text()
    if recheck:
        ago = _when(recheck[0].created_at, now or datetime.now(UTC))
        text.append("; " if build else "checks: ")
        text.append_text(_counts_text(recheck, f"re-checked {ago}: "))
    return text


def _verdict(record: CheckRecord) -> Text:
    if record.passed:
        return Text("passed", style="green")
    if record.severity == "warn":
        return Text("warned", style="yellow")
    return Text("FAILED", style="bold red")


def _rows(record: CheckRecord) -> str:
    if record.failing_rows is None:
        return "-" if record.total_rows is None else f"- / {record.total_rows:,}"
    return f"{record.failing_rows:,} / {record.total_rows or 0:,}"


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = max(0.0, (now - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def _table(
    records: Sequence[CheckRecord], now: datetime, removed: frozenset[int] = frozenset()
) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = ("asset", "partition", "check", "severity", "result", "failing", "source", "when")
    for column in columns:
        table.add_column(column, no_wrap=column != "check")
    table.add_column("message")
    for record in records:
        check = Text(record.check_name)
        if record.check_id in removed:
            check.append(" (removed)", style="dim")
        table.add_row(
            Text(record.asset, style="bold"),
            record.partition or "-",
            check,
            record.severity,
            _verdict(record),
            _rows(record),
            Text(record.source, style="cyan" if record.source == "recheck" else ""),
            _when(record.created_at, now),
            record.message,
        )
    return table


@click.command("checks")
@click.argument("selection", required=False)
@click.option("-p", "--partition", help="Only this partition.")
@click.option("--failed", "failed_only", is_flag=True, help="Only results that failed.")
@click.option(
    "--all",
    "include_removed",
    is_flag=True,
    help="Also results of checks no longer in the code (marked removed).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="How many to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def checks_command(
    project: Project,
    selection: str | None,
    partition: str | None,
    failed_only: bool,
    include_removed: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List the check results of each partition's current state, newest first.

    That is its latest build attempt's results (source build) and the latest
    re-check of its published data by `partita check` (source recheck).
    """
    records = check_results(
        project,
        selection,
        partition,
        failed_only=failed_only,
        include_removed=include_removed,
        limit=limit,
    )
    removed = frozenset(
        r.check_id for r in records if r.check_id is not None and is_removed(project, r)
    )
    if as_json:
        print_json({"checks": [check_json(r, removed=r.check_id in removed) for r in records]})
        return
    if not records:
        stdout.print(Text("no failed checks" if failed_only else "no check results recorded yet"))
        return
    show(_table(records, datetime.now(UTC), removed))
    failed = sum(1 for r in records if r.blocking)
    warned = sum(1 for r in records if not r.passed and not r.blocking)
    stdout.print(Text(f"{len(records)} results: {failed} failed, {warned} warned", style="dim"))


@click.command("check")
@click.argument("selection")
@click.option("-p", "--partition", help="Only this partition (default: every published one).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def check_command(project: Project, selection: str, partition: str | None, as_json: bool) -> int:
    """Run the checks of SELECTION on its published data, without rebuilding anything.

    Exits 1 when a blocking (severity error) check fails.
    """
    now = datetime.now(UTC)
    result = check_published(project, selection, partition, now=now)
    if as_json:
        print_json(result.to_json())
        return result.exit_code
    if result.run_id is None:
        stdout.print(Text("nothing to check: no published partition of the selection has checks"))
        return 0
    show(_table(result.results, now))
    for item in result.unchecked:
        stdout.print(Text(f"not checked: {item} has no published data", style="yellow"))
    blocking = result.blocking
    line = f"run {result.run_id}: {len(result.results)} results, {len(blocking)} blocking failures"
    stdout.print(Text(line, style="bold red" if blocking else "bold green"))
    return result.exit_code
