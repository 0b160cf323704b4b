"""The asset graph: resolving dependencies, validating, ordering.

:class:`AssetGraph` is built once from :class:`~partita.definitions.Definitions`
and never changes. Building it resolves every parameter and ``deps=`` entry to
an asset, picks each edge's partition mapping, and rejects, with a message that
says what to do: duplicate keys, unknown assets (with close names), cycles
(with their path), parameters that match no asset, sources read without a
store, and partitions that cannot be connected without an explicit mapping.
Edges point the way data flows: from an upstream asset to the assets that read it.
"""

from __future__ import annotations

import difflib
import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from partita.assets import AssetDep, AssetSpec
from partita.checks import AnyCheck, CheckSpec, declared_columns, undeclared_columns
from partita.definitions import Definitions
from partita.errors import CycleError, DefinitionError, UnknownAssetError
from partita.keys import AssetKey
from partita.mappings import PartitionMapping, default_mapping
from partita.versions import PARTITION_COLUMNS, CodeVersion

__all__ = ["AssetGraph", "Edge"]


@dataclass(frozen=True, slots=True)
class Edge:
    """A resolved dependency: ``downstream`` reads ``upstream`` through ``mapping``.

    ``param`` is the parameter receiving the data, ``None`` for order-only deps.
    """

    upstream: AssetKey
    downstream: AssetKey
    param: str | None
    mapping: PartitionMapping


class AssetGraph:
    """A validated, immutable graph of assets and sources."""

    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self._specs: dict[AssetKey, AssetSpec] = {}
        self._code_versions: dict[AssetKey, CodeVersion] = {}
        for spec in definitions.all_specs:
            if spec.key in self._specs:
                other = self._specs[spec.key]
                raise DefinitionError(
                    f"duplicate asset key {spec.key}: declared by {_origin(other)} "
                    f"and by {_origin(spec)}",
                    hint="give one of them another name, key= or key_prefix=",
                )
            self._specs[spec.key] = spec
        self._by_name: dict[str, list[AssetKey]] = defaultdict(list)
        for key in self._specs:
            self._by_name[key.name].append(key)
        # the full key's text -> its spec: the runner asks per step, by text or key
        self._by_text: dict[str, AssetSpec] = {str(k): s for k, s in self._specs.items()}
        self._upstream: dict[AssetKey, tuple[Edge, ...]] = {}
        self._downstream: dict[AssetKey, list[Edge]] = {k: [] for k in self._specs}
        # upstream -> downstream, each pair once (insertion-ordered like a DiGraph's)
        self._successors: dict[AssetKey, dict[AssetKey, None]] = {k: {} for k in self._specs}
        self._checks = self._resolve_checks()
        self._related: dict[tuple[AssetKey, str], Edge] = {}
        for spec in self._specs.values():
            declared = tuple(self._resolve(spec, dep) for dep in spec.deps)
            related = self._relationship_edges(spec, declared)
            # sources are never built: what their checks read does not order or stale them
            edges = declared if spec.is_source else declared + related
            self._upstream[spec.key] = edges
            for edge in edges:
                self._downstream[edge.upstream].append(edge)
                self._successors[edge.upstream][edge.downstream] = None
        order = _lexicographic_order(self._successors)
        if len(order) < len(self._specs):
            self._report_cycle()
        self._order = order

    # -- building ---------------------------------------------------------------

    def _resolve(self, spec: AssetSpec, dep: AssetDep, *, context: str = "") -> Edge:
        where = f"asset {spec.key}" + (f" ({context})" if context else "")
        if dep.key is not None:
            upstream = self._lookup(dep.key, context=f"a dependency of {spec.key}")
        else:
            assert dep.param is not None
            upstream = self._resolve_param(spec, dep.param)
        up_spec = self._specs[upstream]
        if up_spec.is_source and dep.param is not None and up_spec.store is None:
            raise DefinitionError(
                f"{where}: parameter {dep.param!r} reads source {upstream}, which has no store",
                hint=f"give the source a store=, or declare deps=[{str(upstream)!r}] "
                "and read the data yourself",
            )
        if dep.mapping is not None:
            mapping = dep.mapping
            try:
                mapping.check(spec.partitions, up_spec.partitions)
            except DefinitionError as exc:
                raise DefinitionError(
                    f"{where} reads {upstream} with {mapping!r}: {exc.message}", hint=exc.hint
                ) from None
        else:
            try:
                mapping = default_mapping(spec.partitions, up_spec.partitions)
            except DefinitionError as exc:
                raise DefinitionError(
                    f"{where} reads {upstream}: {exc.message}",
                    hint=exc.hint
                    or f"pass ins={{{dep.param or 'name'!r}: In({str(upstream)!r}, "
                    "mapping=...)}} with a partition mapping",
                ) from None
        return Edge(upstream=upstream, downstream=spec.key, param=dep.param, mapping=mapping)

    def _relationship_edges(self, spec: AssetSpec, declared: tuple[Edge, ...]) -> tuple[Edge, ...]:
        """The edges that ``relationship`` checks of ``spec`` read through.

        A check whose target the asset already reads uses that edge (its first);
        otherwise the check adds an order-only edge with the check's mapping or
        the default one. A check on the asset itself reads no other asset.
        """
        added: list[Edge] = []
        for item in self._checks[spec.key]:
            if not isinstance(item, CheckSpec) or item.kind != "relationship":
                continue
            target = self.resolve(str(item.param("to_asset")))
            if target == spec.key:
                continue
            known = [e for e in (*declared, *added) if e.upstream == target]
            if item.mapping is None and known:
                edge = known[0]
            else:
                dep = AssetDep(param=None, key=target, mapping=item.mapping)
                edge = self._resolve(spec, dep, context=f"check {item.name!r}")
                if not any(e == edge for e in (*declared, *added)):
                    added.append(edge)
            self._related[(spec.key, item.name)] = edge
        return tuple(added)

    def _resolve_param(self, spec: AssetSpec, param: str) -> AssetKey:
        candidates: list[AssetKey] = []
        for text in (param, param.replace("__", "/")):
            try:
                key = AssetKey(text)
            except DefinitionError:
                continue
            if key in self._specs:
                return key
        candidates = self._by_name.get(param, [])
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            same_prefix = [c for c in candidates if c.prefix == spec.key.prefix]
            if len(same_prefix) == 1:
                return same_prefix[0]
            raise DefinitionError(
                f"asset {spec.key}: parameter {param!r} matches several assets: "
                + ", ".join(str(c) for c in sorted(candidates)),
                hint=f"say which one with ins={{{param!r}: In('<key>')}}",
            )
        raise UnknownAssetError(
            param,
            self._suggest(param),
            context=f"parameter {param!r} of {spec.key} matches no asset",
            hint=f"name the parameter after an asset, or map it with ins={{{param!r}: In(...)}}",
        )

    def _suggest(self, name: str) -> list[str]:
        names = [str(k) for k in self._specs] + list(self._by_name)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        suggestions: list[str] = []
        for item in close:
            full = [str(k) for k in self._by_name.get(item, [])] or [item]
            for key in full:
                if key not in suggestions:
                    suggestions.append(key)
        return suggestions[:3]

    def _lookup(self, key: AssetKey, *, context: str = "") -> AssetKey:
        if key in self._specs:
            return key
        raise UnknownAssetError(str(key), self._suggest(str(key)), context=context)

    def _resolve_checks(self) -> dict[AssetKey, tuple[AnyCheck, ...]]:
        """Every asset's checks (its own, then ``Definitions(checks=)``), validated."""
        found: dict[AssetKey, list[AnyCheck]] = {k: list(s.checks) for k, s in self._specs.items()}
        for definition in self.definitions.checks:
            target = self._lookup(definition.asset, context=f"check {definition.name!r} is on it")
            listed = found[target]
            if any(c is definition for c in listed):
                continue
            if any(c.name == definition.name for c in listed):
                raise DefinitionError(
                    f"asset {target}: two checks are named {definition.name!r}",
                    hint="give one of them another name with @check(name=...)",
                )
            listed.append(definition)
        for key, checks in found.items():
            columns = declared_columns(checks)
            for item in checks:
                if not isinstance(item, CheckSpec):
                    continue
                if item.kind == "relationship":
                    other = str(item.param("to_asset"))
                    try:
                        self.resolve(other)
                    except UnknownAssetError as exc:
                        raise UnknownAssetError(
                            other,
                            exc.suggestions,
                            context=f"check {item.name!r} of {key} refers to it",
                        ) from None
                if columns is not None:
                    missing = undeclared_columns(item, columns)
                    if missing:
                        raise DefinitionError(
                            f"asset {key}: check {item.name!r} reads column "
                            f"{', '.join(repr(m) for m in missing)}, which the asset's schema "
                            f"check does not declare (columns: {', '.join(columns)})",
                            hint="fix the column name, or add the column to schema({...})",
                        )
        return {key: tuple(checks) for key, checks in found.items()}

    def _report_cycle(self) -> None:
        """Raise :class:`CycleError` naming one cycle (networkx finds it: errors only)."""
        import networkx as nx  # noqa: PLC0415  (0.15-0.25 s of imports: only for this error)

        graph = nx.DiGraph()
        graph.add_nodes_from(self._specs)
        graph.add_edges_from((u, v) for u, vs in self._successors.items() for v in vs)
        cycle_edges = nx.find_cycle(graph)
        path = [str(u) for u, _ in cycle_edges]
        path.append(path[0])
        checks = [
            f"check {name!r} of {down} reads {edge.upstream}"
            for (down, name), edge in sorted(self._related.items(), key=str)
            if (edge.upstream, down) in {(u, v) for u, v in cycle_edges}
            and not any(d.key == edge.upstream for d in self._specs[down].deps)
        ]
        hint = "arrows point from an asset to the assets that read it; remove one of these "
        hint += "dependencies"
        if checks:
            hint += " (a relationship check makes its asset read the other one: " + "; ".join(
                checks
            )
            hint += ")"
        raise CycleError(path, hint=hint)

    # -- reading ------------------------------------------------------------------

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def keys(self) -> tuple[AssetKey, ...]:
        """Every asset and source key, in a deterministic topological order."""
        return self._order

    @property
    def edges(self) -> tuple[Edge, ...]:
        """Every resolved edge."""
        return tuple(e for k in self._order for e in self._upstream[k])

    def spec(self, key: AssetKey | str) -> AssetSpec:
        """The declaration of ``key`` (a key, or a name that resolves uniquely)."""
        found = self._by_text.get(key) if isinstance(key, str) else self._specs.get(key)
        return found if found is not None else self._specs[self.resolve(key)]

    def specs(self) -> tuple[AssetSpec, ...]:
        """Every declaration in topological order."""
        return tuple(self._specs[k] for k in self._order)

    def resolve(self, name: AssetKey | str) -> AssetKey:
        """Resolve a key or a unique asset name; unknown names get close suggestions."""
        if isinstance(name, AssetKey):
            return self._lookup(name)
        try:
            key = AssetKey(name)
        except DefinitionError:
            raise UnknownAssetError(name, self._suggest(name)) from None
        if key in self._specs:
            return key
        matches = self._by_name.get(name, [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise UnknownAssetError(
                name,
                [str(m) for m in sorted(matches)],
                context="the name is ambiguous",
                hint="use the full key",
            )
        raise UnknownAssetError(name, self._suggest(name))

    def checks_of(self, key: AssetKey | str) -> tuple[AnyCheck, ...]:
        """The checks of an asset or source: its own, then those of ``Definitions(checks=)``."""
        return self._checks[self.resolve(key)]

    def relationship_edge(self, key: AssetKey | str, check_name: str) -> Edge | None:
        """The edge a ``relationship`` check of ``key`` reads its other asset through
        (``None`` when it refers to ``key`` itself).

        For an asset the edge is one of its upstream edges; for a source (never
        built) it is not part of the graph but maps partitions the same way.
        """
        return self._related.get((self.resolve(key), check_name))

    def upstream_edges(self, key: AssetKey) -> tuple[Edge, ...]:
        """The edges into ``key`` (what it reads), in declaration order."""
        return self._upstream[key]

    def downstream_edges(self, key: AssetKey) -> tuple[Edge, ...]:
        """The edges out of ``key`` (what reads it)."""
        return tuple(self._downstream[key])

    def ancestors(self, key: AssetKey) -> set[AssetKey]:
        """Every asset ``key`` depends on, transitively."""
        predecessors: dict[AssetKey, list[AssetKey]] = defaultdict(list)
        for upstream, downstream in self._successors.items():
            for down in downstream:
                predecessors[down].append(upstream)
        return _reachable(key, predecessors)

    def descendants(self, key: AssetKey) -> set[AssetKey]:
        """Every asset that depends on ``key``, transitively."""
        return _reachable(key, self._successors)

    def generations(self, keys: Iterable[AssetKey] | None = None) -> list[list[AssetKey]]:
        """Topological generations: each list only depends on earlier lists."""
        nodes = set(self._specs) if keys is None else set(keys)
        indegree = dict.fromkeys(nodes, 0)
        for node in nodes:
            for down in self._successors[node]:
                if down in indegree:
                    indegree[down] += 1
        layer = [n for n, d in indegree.items() if d == 0]
        out: list[list[AssetKey]] = []
        while layer:
            out.append(sorted(layer, key=str))
            following: list[AssetKey] = []
            for node in layer:
                for down in self._successors[node]:
                    if down in indegree:
                        indegree[down] -= 1
                        if indegree[down] == 0:
                            following.append(down)
            layer = following
        return out

    def order(self, keys: Iterable[AssetKey]) -> tuple[AssetKey, ...]:
        """``keys`` in topological order."""
        wanted = set(keys)
        return tuple(k for k in self._order if k in wanted)

    def groups(self) -> dict[str, list[AssetKey]]:
        """Asset keys by group."""
        out: dict[str, list[AssetKey]] = defaultdict(list)
        for key in self._order:
            out[self._specs[key].group].append(key)
        return dict(out)

    def code_version(self, key: AssetKey) -> str:
        """The asset's code version: explicit, or a hash of the code its function runs."""
        return self.code_components(key).version

    def code_components(self, key: AssetKey) -> CodeVersion:
        """The asset's code version with the digest of each piece of code it covers
        (computed once per asset, when first asked: a worker hashes only what it runs)."""
        found = self._code_versions.get(key)
        if found is None:
            found = self._code_versions[key] = self._code_version_of(self._specs[key])
        return found

    @staticmethod
    def _code_version_of(spec: AssetSpec) -> CodeVersion:
        if spec.code_version is not None:
            return CodeVersion.explicit(spec.code_version)
        if spec.fn is None:
            return CodeVersion.explicit("")
        found = CodeVersion.of(spec.fn)
        asked = sorted(str(d.param) for d in spec.deps if d.partition_columns)
        if asked:  # they change what the function receives
            parts = {**dict(found.components), PARTITION_COLUMNS: ",".join(asked)}
            found = CodeVersion.combine(parts)
        return found


def _lexicographic_order(
    successors: dict[AssetKey, dict[AssetKey, None]],
) -> tuple[AssetKey, ...]:
    """Kahn's topological order, always taking the smallest ready key by ``str``.

    The order is unique for a graph (the same as networkx's
    ``lexicographical_topological_sort(key=str)``). Nodes on or behind a cycle are
    left out, so a result shorter than the graph means a cycle.
    """
    indegree = dict.fromkeys(successors, 0)
    for downstream in successors.values():
        for down in downstream:
            indegree[down] += 1
    ready = [(str(k), i, k) for i, (k, d) in enumerate(indegree.items()) if d == 0]
    heapq.heapify(ready)
    rank = {k: i for i, k in enumerate(successors)}
    order: list[AssetKey] = []
    while ready:
        _, _, key = heapq.heappop(ready)
        order.append(key)
        for down in successors[key]:
            indegree[down] -= 1
            if indegree[down] == 0:
                heapq.heappush(ready, (str(down), rank[down], down))
    return tuple(order)


def _reachable(
    start: AssetKey,
    neighbours: dict[AssetKey, dict[AssetKey, None]] | dict[AssetKey, list[AssetKey]],
) -> set[AssetKey]:
    """Every node reachable from ``start`` through ``neighbours`` (``start`` excluded)."""
    seen: set[AssetKey] = set()
    stack = [start]
    while stack:
        for nxt in neighbours.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    seen.discard(start)
    return seen


def _origin(spec: AssetSpec) -> str:
    fn = spec.fn
    if fn is None:
        return f"{spec.kind} {spec.key}"
    code = getattr(fn, "__code__", None)
    if code is None:
        return getattr(fn, "__qualname__", repr(fn))
    return f"{fn.__qualname__} ({code.co_filename}:{code.co_firstlineno})"
