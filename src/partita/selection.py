"""Asset selection expressions, as typed on the command line.

=================  ==========================================================
``clean_orders``   one asset, by key (``sales/clean_orders``) or unique name
``+name``          the asset and everything upstream of it
``name+``          the asset and everything downstream of it
``+name+``         both directions
``group:sales``    every asset of a group
``tag:tier=gold``  every asset with that tag value (``tag:pii`` for any value)
``sales/*``        shell-style wildcards over keys
``*``              everything
``a,b``            a comma is a union
=================  ==========================================================
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from partita.errors import SelectionError
from partita.graph import AssetGraph
from partita.keys import AssetKey

__all__ = ["select"]


def _term(graph: AssetGraph, term: str) -> set[AssetKey]:
    if term == "*":
        return set(graph.keys)
    if term.startswith("group:"):
        group = term[len("group:") :]
        found = {k for k in graph.keys if graph.spec(k).group == group}
        if not found:
            known = ", ".join(sorted(graph.groups())) or "none"
            raise SelectionError(f"no asset in group {group!r} (groups: {known})")
        return found
    if term.startswith("tag:"):
        name, has_value, value = term[len("tag:") :].partition("=")
        found = {
            k
            for k in graph.keys
            if name in graph.spec(k).tags and (not has_value or graph.spec(k).tags[name] == value)
        }
        if not found:
            raise SelectionError(
                f"no asset has tag {term[len('tag:') :]!r}",
                hint="`partita list --json` shows each asset's tags",
            )
        return found
    up = term.startswith("+")
    down = term.endswith("+") and len(term) > 1
    name = term.strip("+")
    if not name:
        raise SelectionError(f"empty asset name in selection term {term!r}")
    if any(ch in name for ch in "*?["):
        roots = {k for k in graph.keys if fnmatch.fnmatchcase(str(k), name)}
        if not roots:
            raise SelectionError(
                f"no asset key matches {name!r}", hint="`partita list` shows every asset"
            )
    else:
        roots = {graph.resolve(name)}
    found = set(roots)
    for root in roots:
        if up:
            found |= graph.ancestors(root)
        if down:
            found |= graph.descendants(root)
    return found


def select(graph: AssetGraph, selection: str | Sequence[str] | None) -> tuple[AssetKey, ...]:
    """The assets named by ``selection``, in topological order (``None``: everything).

    Raises:
        SelectionError: a term matches nothing or is malformed.
        UnknownAssetError: a name is unknown (with close suggestions).
    """
    if selection is None:
        return graph.keys
    terms = [selection] if isinstance(selection, str) else list(selection)
    parts = [t.strip() for text in terms for t in text.split(",")]
    if not any(parts):
        raise SelectionError("the selection is empty", hint="use '*' for every asset")
    chosen: set[AssetKey] = set()
    for part in parts:
        if not part:
            raise SelectionError(f"empty term in selection {','.join(terms)!r}")
        chosen |= _term(graph, part)
    return graph.order(chosen)
