"""SQL assets in the CLI: ``partita lineage ASSET --columns``, and the kind of each SQL
change ``partita plan`` shows."""

from __future__ import annotations

from partita.api import Project
from partita.api.sql_models import SqlChange, column_lineage, sql_changes
from partita.cli import app
from partita.cli.app import print_json, show
from partita.planner import Plan

__all__ = ["show_column_lineage", "show_sql_changes", "sql_changes_json"]


def show_column_lineage(
    project: Project, asset: str, partition: str | None, *, as_json: bool
) -> None:
    """Print, per output column, the upstream asset columns it derives from."""
    from rich.table import Table  # noqa: PLC0415 - `plan --json` imports this module: no rich
    from rich.text import Text  # noqa: PLC0415

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
    app.stdout.print(Text(f"{where}: columns ({view.dialect}; {origin})", style="bold"))
    table = Table(box=None, show_header=True, pad_edge=False)
    table.add_column("column")
    table.add_column("derives from")
    for item in view.columns:
        sources = ", ".join(f"{a}.{c}" for a, c in item["sources"])
        if not item["resolved"]:
            sources = (sources + ", " if sources else "") + "? (unresolved)"
        table.add_row(str(item["column"]), sources or "(no upstream column)")
    show(table)


def sql_changes_json(project: Project, plan: Plan) -> dict[str, dict[str, str]]:
    """Per changed SQL asset ``{"kind", "summary"}`` (the ``sql_changes`` of ``plan --json``)."""
    return {
        asset: {"kind": change.kind, "summary": change.summary}
        for asset, change in sql_changes(project, plan).items()
    }


def show_sql_changes(project: Project, plan: Plan) -> None:
    """One line per changed SQL asset: breaking (downstream rebuilds) or not."""
    from rich.text import Text  # noqa: PLC0415

    changes: dict[str, SqlChange] = sql_changes(project, plan)
    for asset, change in changes.items():
        effect = (
            "what reads it must rebuild"
            if change.breaking
            else "only it is rebuilt, not what reads it for this change"
        )
        app.stdout.print(
            Text(
                f"{asset}: {change.kind} SQL change ({change.summary}); {effect}",
                style="yellow" if change.breaking else "green",
            )
        )
