"""``partita verify [SELECTION]``: does the store still hold what the catalog recorded?"""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from partita.api import AssetVerification, DriftKind, Project, VerifyResult, verify
from partita.cli.app import pass_project, print_json, show, stdout

__all__ = ["verify_command"]

_STYLES = {
    DriftKind.MISSING: "bold red",
    DriftKind.CHANGED: "bold red",
    DriftKind.UNRECORDED: "yellow",
}


def _counts(asset: AssetVerification) -> list[tuple[DriftKind, int]]:
    return [(kind, asset.count(kind)) for kind in DriftKind]


def _summary(result: VerifyResult) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("asset", "recorded", "stored", "hashed", "missing", "changed", "unrecorded"):
        table.add_column(column, justify="left" if column == "asset" else "right")
    table.add_column("note")
    for asset in result.assets:
        note = asset.skipped or ""
        if asset.no_data:
            note = f"{asset.no_data} side-effect partition(s) store no data"
        table.add_row(
            Text(asset.asset, style="bold"),
            *(str(n) for n in (asset.recorded, asset.stored)),
            "-" if result.quick or asset.skipped else str(asset.hashed),
            *(Text(str(n), style=_STYLES[k] if n else "dim") for k, n in _counts(asset)),
            Text(note, style="dim"),
        )
    return table


def _drifts(asset: AssetVerification, repaired: bool) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    table.title = Text(asset.asset, style="bold")
    for column in ("partition", "drift", "recorded", "stored", "what was found"):
        table.add_column(column, no_wrap=column != "what was found")
    table.add_column("next")
    for drift in asset.drifts:
        if drift.kind is DriftKind.UNRECORDED:
            after = "left in place; rebuilt by the next materialize if still declared"
        else:
            after = "marked stale" if repaired else "--repair marks it stale"
        table.add_row(
            drift.partition or "-",
            Text(str(drift.kind), style=_STYLES[drift.kind]),
            (drift.recorded_version or "-")[:12],
            (drift.stored_version or "-")[:12],
            drift.detail,
            Text(after, style="dim"),
        )
    return table


@click.command("verify")
@click.argument("selection", required=False)
@click.option(
    "--repair",
    is_flag=True,
    help="Mark missing and changed partitions stale, so the next materialize rebuilds them.",
)
@click.option(
    "--quick", is_flag=True, help="Only check that recorded partitions exist; do not hash data."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def verify_command(
    project: Project, selection: str | None, repair: bool, quick: bool, as_json: bool
) -> int:
    """Compare the stored data of SELECTION (default: every asset) with the catalog.

    Reports partitions recorded as built but missing from the store, stored
    data whose data version is no longer the recorded one (re-hashed as the
    runner hashes it; --quick skips this), and stored partitions no current
    materialization records. Exits 0 when store and catalog agree, 1 when drift
    was found (with or without --repair).

    --repair marks missing and changed partitions stale (plan shows them
    `failed: stored data missing, found by partita verify`) so the next
    materialize rebuilds them; unrecorded partitions are left in place.
    """
    result = verify(project, selection, repair=repair, quick=quick)
    if as_json:
        print_json(result.to_json())
        return result.exit_code
    show(_summary(result))
    for asset in result.assets:
        if asset.drifts:
            stdout.print()
            show(_drifts(asset, repaired=bool(result.repaired)))
    stdout.print()
    total = sum(a.stored for a in result.assets)
    how = "existence only" if quick else "data versions re-hashed"
    timing = (
        f"{len(result.assets)} asset(s), {total} stored partition(s) in {result.duration_s:.1f}s"
    )
    if not result.drifts:
        stdout.print(Text(f"store and catalog agree ({how}): {timing}", style="bold green"))
        return 0
    counts = ", ".join(f"{sum(a.count(kind) for a in result.assets)} {kind}" for kind in DriftKind)
    stdout.print(Text(f"drift found ({how}): {counts}; {timing}", style="bold red"))
    if result.repaired:
        stdout.print(
            Text(
                f"marked {len(result.repaired)} partition(s) stale (run {result.run_id}): "
                "`partita materialize` rebuilds them",
            )
        )
    elif any(d.kind is not DriftKind.UNRECORDED for d in result.drifts):
        stdout.print(
            Text("`partita verify --repair` marks them stale so materialize rebuilds them")
        )
    return result.exit_code
