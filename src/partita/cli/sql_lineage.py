"""Printing a SQL asset's column-level lineage (``partita lineage ASSET --columns``)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from partita.api import Project
from partita.api.sql_lineage import column_lineage
from partita.cli.app import print_json, show, stdout

__all__ = ["show_column_lineage"]


def show_column_lineage(
    project: Project, asset: str, partition: str | None, *, as_json: bool
) -> None:
    """Print, per output column, the upstream asset columns it derives from."""
    view = column_lineage(project, asset, partition)
    if as_json:
        print_json(view.to_dict())
        return
    where = view.asset if view.partition is None else f"{view.asset} {view.partition}"
    origin = (
        f"recorded with materialization {view.materialization_id}"
        if view.materialization_id is not None
        else "from the definition (not built yet)"
    )
    stdout.print(Text(f"{where}: columns ({view.dialect}; {origin})", style="bold"))
    table = Table(box=None, show_header=True, pad_edge=False)
    table.add_column("column")
    table.add_column("derives from")
    for item in view.columns:
        sources = ", ".join(f"{a}.{c}" for a, c in item["sources"])
        if not item["resolved"]:
            sources = (sources + ", " if sources else "") + "? (unresolved)"
        table.add_row(str(item["column"]), sources or "(no upstream column)")
    show(table)
