"""Rendering graphs as text, Mermaid and Graphviz dot (pure string functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["short_mapping", "to_dot", "to_mermaid"]


def _mermaid_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(
    nodes: Iterable[tuple[str, Sequence[str]]], edges: Iterable[tuple[str, str, str | None]]
) -> str:
    """A Mermaid flowchart: ``nodes`` are (id, label lines), ``edges`` (from, to, label)."""
    lines = ["flowchart LR"]
    for node_id, node_lines in nodes:
        text = "<br/>".join(_mermaid_text(line) for line in node_lines)
        lines.append(f'    {_mermaid_id(node_id)}["{text}"]')
    for upstream, downstream, label in edges:
        arrow = f'-->|"{_mermaid_text(label)}"|' if label else "-->"
        lines.append(f"    {_mermaid_id(upstream)} {arrow} {_mermaid_id(downstream)}")
    return "\n".join(lines)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(
    nodes: Iterable[tuple[str, Sequence[str]]],
    edges: Iterable[tuple[str, str, str | None]],
    name: str = "partita",
) -> str:
    """A Graphviz digraph: ``nodes`` are (id, label lines), ``edges`` (from, to, label)."""
    lines = [f"digraph {_dot_quote(name)} {{", "    rankdir=LR;", "    node [shape=box];"]
    for node_id, node_lines in nodes:
        text = "\\n".join(_dot_quote(line)[1:-1] for line in node_lines)
        lines.append(f'    {_dot_quote(node_id)} [label="{text}"];')
    for upstream, downstream, label in edges:
        attrs = f" [label={_dot_quote(label)}]" if label else ""
        lines.append(f"    {_dot_quote(upstream)} -> {_dot_quote(downstream)}{attrs};")
    lines.append("}")
    return "\n".join(lines)


def short_mapping(mapping: str) -> str | None:
    """Drop the default identity mapping from edge labels; keep the others."""
    return None if mapping in ("Identity()", "AllPartitions()") else mapping
