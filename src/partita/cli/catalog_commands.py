"""``partita lineage``, ``history``, ``runs``, ``logs`` and ``partitions``: reading the catalog.

Every command that prints data has ``--json`` (stable field names, documented
in docs/cli.md). The current time is read once per command, here at the edge,
for relative times ("2h ago") and for telling crashed runs from running ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import click
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from partita.api import (
    Direction,
    LineageEdge,
    LineageGraph,
    LineageNode,
    Project,
    add_dynamic_partitions,
    delete_dynamic_partitions,
    history,
    lineage,
    list_dynamic_partitions,
    logs,
    run_summary_json,
    runs,
)
from partita.api.catalog import table_versions
from partita.api.catalog_json import history_json, lineage_json
from partita.api.checks import checks_by_materialization
from partita.cli.app import pass_project, print_json, show, stdout
from partita.cli.check_commands import checks_label
from partita.cli.render import to_dot, to_mermaid
from partita.cli.sql_models import show_column_lineage
from partita.records import CheckRecord, RunSummary

__all__ = []

_STATUS_STYLES = {
    "succeeded": "green",
    "running": "cyan",
    "failed": "red",
    "timed_out": "red",
    "crashed": "bold red",
    "abandoned": "yellow",
    "cancelled": "yellow",
    "skipped": "dim",
    "pending": "dim",
}


# ------------------------------------------------------------------ formatting


def short(text: str, width: int = 8) -> str:
    """The first ``width`` characters of a version or run id."""
    return text[:width]


def data_label(data_version: str) -> str:
    """A short data version, or ``no data`` for a side effect (the function returned None)."""
    return short(data_version) if data_version else "no data"


def relative(moment: datetime, now: datetime) -> str:
    """``moment`` relative to ``now``: ``just now``, ``5m ago``, ``in 2h``."""
    seconds = (now - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 1:
        return "just now"
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")):
        if seconds >= size:
            amount = f"{int(seconds // size)}{unit}"
            return f"in {amount}" if ahead else f"{amount} ago"
    return "just now"  # pragma: no cover - the loop always returns for seconds >= 1


def absolute(moment: datetime) -> str:
    """``moment`` in UTC to the second: ``2025-03-01 06:00:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def when(moment: datetime, now: datetime) -> str:
    """Relative and absolute: ``2h ago (2025-03-01 06:00:00 UTC)``."""
    return f"{relative(moment, now)} ({absolute(moment)})"


def duration(seconds: float | None) -> str:
    """A duration for people: ``850ms``, ``4.2s``, ``3m 04s``, ``1h 02m``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def size(count: int | None) -> str:
    """A byte count for people (``-`` when unknown): ``512 B``, ``1.5 MB``."""
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


def plural(count: int, word: str) -> str:
    """``1 input``, ``2 inputs``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _where(asset: str, partition: str | None) -> str:
    return asset if partition is None else f"{asset} {partition}"


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


# --------------------------------------------------------------------- lineage


def _node_label(
    node: LineageNode, now: datetime, checks: Mapping[int, list[CheckRecord]] | None = None
) -> Text:
    label = Text(node.asset, style="bold")
    if node.partition is not None:
        label.append(f" {node.partition}")
    label.append(f"  {data_label(node.data_version)}", style="cyan")
    label.append(f"  {when(node.created_at, now)}", style="dim")
    label.append(f"  run {node.run_id}", style="dim")
    found = (checks or {}).get(node.materialization_id, [])
    if found:
        label.append("  ").append_text(checks_label(found, now))
    return label


def _edge_mark(label: Text, edge: LineageEdge) -> Text:
    if edge.status == "superseded":
        label.stylize("dim")
        label.append("  superseded (rebuilt since)", style="yellow")
    elif edge.status == "same_output":
        label.append("  rebuilt since, same output (not stale)", style="cyan")
    else:
        label.append("  current", style="green")
    return label


def lineage_tree(
    graph: LineageGraph, now: datetime, checks: Mapping[int, list[CheckRecord]] | None = None
) -> Tree:
    """The lineage graph as a rich tree from its root (a node met twice is not expanded again).

    ``checks``: per materialization id, its check results (shown as counts).
    """
    nodes = {n.materialization_id: n for n in graph.nodes}
    children: dict[int, list[LineageEdge]] = defaultdict(list)
    for edge in graph.edges:
        if graph.direction == "up":
            children[edge.downstream_id].append(edge)
        elif edge.upstream_id is not None:
            children[edge.upstream_id].append(edge)
    tree = Tree(_node_label(nodes[graph.root], now, checks), guide_style="dim")
    seen = {graph.root}

    def order(edge: LineageEdge) -> tuple[str, str]:
        """Children by asset, then partition (not by the order they were built in)."""
        child_id = edge.upstream_id if graph.direction == "up" else edge.downstream_id
        child = None if child_id is None else nodes.get(child_id)
        if child is None:
            return edge.upstream_asset, edge.upstream_partition or ""
        return child.asset, child.partition or ""

    for edges in children.values():
        edges.sort(key=order)

    def grow(branch: Tree, node_id: int) -> None:
        for edge in children.get(node_id, []):
            child_id = edge.upstream_id if graph.direction == "up" else edge.downstream_id
            child = None if child_id is None else nodes.get(child_id)
            if child is None:  # a source's observed version: no materialization behind it
                label = Text(edge.upstream_asset, style="bold")
                if edge.upstream_partition is not None:
                    label.append(f" {edge.upstream_partition}")
                label.append(f"  {short(edge.upstream_data_version)}", style="cyan")
                label.append("  observed source", style="dim")
                branch.add(_edge_mark(label, edge))
                continue
            label = _edge_mark(_node_label(child, now, checks), edge)
            if child.materialization_id in seen:
                branch.add(label.append("  (shown above)", style="dim"))
                continue
            seen.add(child.materialization_id)
            grow(branch.add(label), child.materialization_id)

    grow(tree, graph.root)
    return tree


def _lineage_diagram(graph: LineageGraph, render: Callable[..., str]) -> str:
    nodes: dict[str, tuple[str, ...]] = {}
    for node in graph.nodes:
        nodes[f"m{node.materialization_id}"] = (
            _where(node.asset, node.partition),
            f"version {short(node.data_version)}",
            f"run {node.run_id} at {absolute(node.created_at)}",
        )
    edges: list[tuple[str, str, str | None]] = []
    for edge in graph.edges:
        if edge.upstream_id is None:
            upstream = f"source_{edge.upstream_asset}_{edge.upstream_partition or ''}"
            nodes.setdefault(
                upstream,
                (
                    _where(edge.upstream_asset, edge.upstream_partition),
                    f"version {short(edge.upstream_data_version)}",
                    "observed source",
                ),
            )
        else:
            upstream = f"m{edge.upstream_id}"
        label = {"superseded": "superseded", "same_output": "same output"}.get(edge.status)
        edges.append((upstream, f"m{edge.downstream_id}", label))
    return render(list(nodes.items()), edges)


@click.command("lineage")
@click.argument("asset")
@click.option("-p", "--partition", help="The partition key (required for a partitioned asset).")
@click.option(
    "--upstream/--downstream",
    "upstream",
    default=True,
    help="What it was built from (default), or what this exact version fed.",
)
@click.option(
    "--depth", type=click.IntRange(min=0), default=10, show_default=True, help="Levels to follow."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--columns", is_flag=True, help="A SQL asset's column-level lineage (per output column)."
)
@pass_project
def lineage_command(
    project: Project,
    asset: str,
    partition: str | None,
    upstream: bool,
    depth: int,
    fmt: str,
    as_json: bool,
    columns: bool,
) -> None:
    """Show the lineage of a partition's latest materialization, with versions and runs."""
    if columns:
        show_column_lineage(project, asset, partition, as_json=as_json or fmt == "json")
        return
    now = datetime.now(UTC)
    direction: Direction = "up" if upstream else "down"
    if as_json or fmt == "json":
        print_json(lineage_json(project, asset, partition, direction=direction, depth=depth))
        return
    graph = lineage(project, asset, partition, direction=direction, depth=depth)
    root = graph.node(graph.root)
    checks = checks_by_materialization(project, [n.materialization_id for n in graph.nodes])
    if fmt in ("mermaid", "dot"):
        click.echo(_lineage_diagram(graph, to_mermaid if fmt == "mermaid" else to_dot))
        return
    question = "built from" if upstream else "fed by this version"
    stdout.print(Text(f"{_where(root.asset, root.partition)}: {question}", style="bold"))
    show(lineage_tree(graph, now, checks))
    superseded = sum(1 for e in graph.edges if e.status == "superseded")
    same = sum(1 for e in graph.edges if e.status == "same_output")
    notes = [f"{plural(len(graph.nodes), 'materialization')}, {plural(len(graph.edges), 'input')}"]
    if superseded:
        notes.append(f"{superseded} superseded (rebuilt since they were read)")
    if same:
        notes.append(f"{same} rebuilt since with the same output (not stale)")
    if graph.max_depth == depth and depth > 0:
        notes.append(f"depth limit {depth} reached (--depth to see further)")
    stdout.print(Text("; ".join(notes), style="dim"))


# --------------------------------------------------------------------- history


@click.command("history")
@click.argument("asset")
@click.option("-p", "--partition", help="Only this partition.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def history_command(
    project: Project, asset: str, partition: str | None, limit: int, as_json: bool
) -> None:
    """List the materializations of an asset (or one partition), newest first."""
    if as_json:
        print_json(history_json(project, asset, partition, limit=limit))
        return
    now = datetime.now(UTC)
    mats = history(project, asset, partition, limit=limit)
    key = str(project.graph.resolve(asset))
    checks = checks_by_materialization(
        project, [m.materialization_id for m in mats if m.materialization_id is not None]
    )
    if not mats:
        stdout.print(Text(f"no materializations of {_where(key, partition)} recorded yet"))
        return
    versions = table_versions(project, key, mats)  # a Delta table's version per write
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns: tuple[str, ...] = (
        "when",
        "partition",
        "data version",
        "rows",
        "bytes",
        "code version",
        "run",
    )
    if versions:
        columns = (*columns, "table version")
    for column in (*columns, "checks"):
        table.add_column(
            column, no_wrap=True, justify="right" if column in ("rows", "bytes") else "left"
        )
    for mat in mats:
        version = versions.get(mat.materialization_id or -1) if versions else None
        extra = [Text("-" if version is None else f"v{version}")] if versions else []
        table.add_row(
            Text(when(mat.created_at, now)),
            Text(mat.partition or "-"),
            Text(data_label(mat.data_version), style="cyan"),
            "-" if mat.rows is None else f"{mat.rows:,}",
            size(mat.bytes),
            Text(short(mat.code_version) or "-"),
            Text(mat.run_id),
            *extra,
            checks_label(checks.get(mat.materialization_id or -1, []), now) or Text("-"),
        )
    show(table)
    more = " (--limit to see more)" if len(mats) == limit else ""
    counted = plural(len(mats), "materialization")
    stdout.print(Text(f"{counted} of {_where(key, partition)}, newest first{more}"))


# ------------------------------------------------------------------------ runs


_CHECK_STYLES = {"passed": "green", "failed": "red", "warned": "yellow"}


def _run_outcome(summary: RunSummary) -> Text:
    """``1 failed, 34 succeeded (3 retries)`` (partitions, by their last attempt), or for a
    check run ``4 checks: 3 passed, 1 failed``."""
    text = Text()
    if summary.run.kind == "check":
        counts = dict(summary.check_counts)
        total = sum(counts.values())
        if not total:
            return Text("-")
        text.append(f"{plural(total, 'check')}: ")
        shown = [(name, counts[name]) for name in ("passed", "failed", "warned") if name in counts]
        for i, (name, count) in enumerate(shown):
            text.append(", " if i else "")
            text.append(f"{count} {name}", style=_CHECK_STYLES[name])
        return text
    if not summary.partition_counts:
        return Text("-")
    for i, (status, count) in enumerate(summary.partition_counts):
        text.append(", " if i else "")
        text.append(f"{count} {status}", style=_STATUS_STYLES.get(str(status), ""))
    if summary.retries:
        retries = summary.retries
        text.append(f" ({retries} {'retry' if retries == 1 else 'retries'})")
    return text


@click.command("runs")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def runs_command(project: Project, limit: int, as_json: bool) -> None:
    """List the latest runs: kind, status (dead runs show 'crashed'), start, duration, and
    outcome (partitions by their last attempt, with retries; a check run's check results)."""
    now = datetime.now(UTC)
    summaries = runs(project, limit=limit, now=now)
    if as_json:
        print_json({"runs": [run_summary_json(s) for s in summaries]})
        return
    if not summaries:
        stdout.print(Text("no runs recorded yet"))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("run", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("duration", no_wrap=True, justify="right")
    table.add_column("outcome")
    for summary in summaries:
        run = summary.run
        table.add_row(
            Text(run.run_id),
            Text(run.kind),
            _status(str(run.status)),
            Text(when(run.started_at, now)),
            # a crashed run's end is when it was found dead, not when it died
            "-" if run.status == "crashed" else duration(summary.duration_s),
            _run_outcome(summary),
        )
    show(table)
    more = " (--limit to see more)" if len(summaries) == limit else ""
    stdout.print(Text(f"{plural(len(summaries), 'run')}, newest first{more}"))


# ------------------------------------------------------------------------ logs


@click.command("logs")
@click.argument("run_id", metavar="RUN")
@click.option("-a", "--asset", help="Only the steps of this asset.")
@click.option("-p", "--partition", help="Only this partition (with --asset).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def logs_command(
    project: Project, run_id: str, asset: str | None, partition: str | None, as_json: bool
) -> None:
    """Print the step logs of a run (optionally of one asset and partition)."""
    if partition is not None and asset is None:
        raise click.UsageError("--partition needs --asset")
    result = logs(project, run_id, asset, partition, now=datetime.now(UTC))
    if as_json:
        print_json(result.to_json())
        return
    if not result.attempts:
        stdout.print(Text(f"run {run_id} ({result.run.status}) recorded no steps"))
        return
    click.echo(result.text().rstrip("\n"))


# ------------------------------------------------------------------ partitions


@click.group("partitions")
def partitions_group() -> None:
    """Add, list and delete the keys of dynamic partitions (kept in the catalog)."""


@partitions_group.command("add")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def partitions_add(project: Project, name: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Add KEYS to the dynamic partitions NAME (keys already there are kept once)."""
    update = add_dynamic_partitions(project, name, keys)
    if as_json:
        print_json(
            {
                "name": name,
                "added": list(update.changed),
                "already_present": list(update.unchanged),
                "keys": list(update.keys),
            }
        )
        return
    line = f"added {len(update.changed)} key(s) to {name}"
    if update.unchanged:
        line += f"; already there: {', '.join(update.unchanged)}"
    stdout.print(Text(f"{line} ({len(update.keys)} keys in all)"))


@partitions_group.command("list")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def partitions_list(project: Project, name: str, as_json: bool) -> None:
    """List the keys of the dynamic partitions NAME, in the order they were added."""
    keys = list_dynamic_partitions(project, name)
    if as_json:
        print_json({"name": name, "keys": list(keys)})
        return
    if not keys:
        stdout.print(Text(f"{name} has no keys yet (partita partitions add {name} KEY...)"))
        return
    for key in keys:
        click.echo(key)


@partitions_group.command("delete")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def partitions_delete(project: Project, name: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Delete KEYS from the dynamic partitions NAME (their history stays in the catalog)."""
    update = delete_dynamic_partitions(project, name, keys)
    if as_json:
        print_json(
            {
                "name": name,
                "deleted": list(update.changed),
                "absent": list(update.unchanged),
                "keys": list(update.keys),
            }
        )
        return
    line = f"deleted {len(update.changed)} key(s) from {name}"
    if update.unchanged:
        line += f"; not there: {', '.join(update.unchanged)}"
    stdout.print(Text(f"{line} ({len(update.keys)} keys left)"))
