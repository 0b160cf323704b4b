"""``partita wipe ASSET``: delete an asset's stored data so it is rebuilt from scratch."""

from __future__ import annotations

import sys

import click
from rich.text import Text

from partita.api import Project, WipeResult, partition_request, wipe
from partita.cli.app import pass_project, print_json, stdout

__all__ = ["wipe_command"]

_SHOWN = 10
"""Partition keys listed before the rest are counted."""


def _what(result: WipeResult) -> str:
    keys = [key for key in result.partitions if key is not None]
    if not result.partitions:
        return f"{result.asset}: no stored partitions"
    if not keys:
        return f"{result.asset} (unpartitioned)"
    listed = ", ".join(keys[:_SHOWN])
    if len(keys) > _SHOWN:
        listed += f", ... ({len(keys) - _SHOWN} more)"
    return f"{len(keys)} partition(s) of {result.asset}: {listed}"


@click.command("wipe")
@click.argument("asset")
@click.option("--partition", "partition", metavar="KEY", help="Wipe only this partition.")
@click.option("--from", "start", metavar="KEY", help="First key of a range to wipe.")
@click.option("--to", "end", metavar="KEY", help="Last key of a range to wipe (inclusive).")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only show what would be wiped.")
@click.option("--json", "as_json", is_flag=True, help="Print what was wiped as JSON.")
@pass_project
def wipe_command(
    project: Project,
    asset: str,
    partition: str | None,
    start: str | None,
    end: str | None,
    assume_yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Delete the stored data of ASSET (every partition, or --partition / --from --to)
    and record it, so the next materialize rebuilds those partitions from scratch.

    Wiping the whole asset also drops its column types (a DuckDB table, a Parquet
    folder): the way out of a refused schema change. Asks for confirmation on a
    terminal; without one (a script, CI) it needs --yes.
    """
    request = partition_request(partition, start, end)
    key = request.single if request else None
    bounds = request.bounds if request else None
    planned = wipe(project, asset, partition_key=key, partition_range=bounds, dry_run=True)
    if dry_run:
        if as_json:
            print_json(planned.to_json())
        else:
            stdout.print(Text(f"would wipe {_what(planned)}"))
        return 0
    if not planned.partitions and not planned.whole_asset:
        if as_json:
            print_json(planned.to_json())
        else:
            stdout.print(Text(f"nothing to wipe: {_what(planned)} in that range"))
        return 0
    if not assume_yes and planned.partitions:
        if not sys.stdin.isatty():
            raise click.UsageError(
                f"this would delete the data of {_what(planned)}; "
                "pass --yes to confirm when not on a terminal"
            )
        if not click.confirm(f"Delete the stored data of {_what(planned)}?", default=False):
            stdout.print(Text("nothing wiped"))
            return 1
    done = wipe(project, asset, partition_key=key, partition_range=bounds)
    if as_json:
        print_json(done.to_json())
        return 0
    stdout.print(Text(f"wiped {_what(done)}"))
    if done.partitions:
        stdout.print(
            Text(f"they are missing now: `partita materialize {done.asset}` rebuilds them")
        )
    return 0
