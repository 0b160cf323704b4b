"""``partita list``, ``partita graph`` and ``partita validate``."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from partita.api import Project, graph_view, list_assets
from partita.cli.app import pass_project, print_json, show, stdout
from partita.cli.render import short_mapping, to_dot, to_mermaid

__all__ = []


@click.command("list")
@click.argument("selection", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def list_command(project: Project, selection: str | None, as_json: bool) -> None:
    """List assets and sources (optionally a SELECTION such as 'group:sales')."""
    infos = list_assets(project, selection)
    if as_json:
        print_json({"assets": [i.to_json() for i in infos]})
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("asset", "kind", "group", "partitions", "upstream"):
        table.add_column(column, no_wrap=True)
    table.add_column("description", no_wrap=True, max_width=60, overflow="ellipsis")
    for info in infos:
        table.add_row(
            Text(info.key),
            info.kind,
            info.group,
            Text(info.partitions or "-"),
            Text(", ".join(info.upstream) or "-"),
            Text((info.description.splitlines() or [""])[0]),
        )
    show(table)
    kinds = [i.kind for i in infos]
    assets, sources = kinds.count("asset"), kinds.count("source")
    stdout.print(f"{assets} asset{'s' * (assets != 1)}, {sources} source{'s' * (sources != 1)}")


@click.command("graph")
@click.argument("selection", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_project
def graph_command(project: Project, selection: str | None, fmt: str, as_json: bool) -> None:
    """Show the asset graph (optionally a SELECTION such as '+daily_revenue')."""
    view = graph_view(project, selection)
    if as_json or fmt == "json":
        print_json(view.to_json())
        return
    nodes = [(n.key, (n.key, n.partitions or "unpartitioned")) for n in view.nodes]
    edges = [(u, d, short_mapping(m)) for u, d, m in view.edges]
    if fmt == "mermaid":
        click.echo(to_mermaid(nodes, edges))
        return
    if fmt == "dot":
        click.echo(to_dot(nodes, edges))
        return
    readers: dict[str, list[tuple[str, str | None]]] = {n.key: [] for n in view.nodes}
    has_upstream = {d for _, d, _ in view.edges}
    for upstream, downstream, mapping in edges:
        readers[upstream].append((downstream, mapping))
    root = Tree(Text("assets (upstream -> readers)"), guide_style="dim")

    def grow(tree: Tree, key: str, seen: frozenset[str]) -> None:
        for child, mapping in readers[key]:
            label = Text(child)
            if mapping:
                label.append(f"  [{mapping}]", style="dim")
            if child in seen:
                continue
            grow(tree.add(label), child, seen | {child})

    for node in view.nodes:
        if node.key not in has_upstream:
            label = Text(node.key, style="bold")
            label.append(f"  {node.partitions or 'unpartitioned'}", style="dim")
            grow(root.add(label), node.key, frozenset({node.key}))
    show(root)


@click.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def validate_command(project: Project, as_json: bool) -> None:
    """Load the project and validate its asset graph (errors exit with status 1)."""
    infos = list_assets(project)
    edges = sum(len(i.upstream) for i in infos)
    summary = {
        "ok": True,
        "definitions": project.loaded.origin,
        "home": str(project.home),
        "assets": sum(1 for i in infos if i.kind == "asset"),
        "sources": sum(1 for i in infos if i.kind == "source"),
        "edges": edges,
    }
    if as_json:
        print_json(summary)
        return
    stdout.print(
        Text(
            f"ok: {summary['assets']} assets, {summary['sources']} sources, {edges} dependencies "
            f"({project.loaded.origin})"
        )
    )
