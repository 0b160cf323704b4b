"""An independent oracle for the minimality property test.

:class:`Oracle` knows nothing of the planner: it keeps, per (asset, partition),
the value it holds now and what its last successful build read, and says which
partitions must run for a request: missing, failed last time, forced, code
changed, or the values of the inputs it reads differ from those it last read;
never a partition an input of which was never built (blocked; through
``AllPartitions(allow_missing=True)``, only when none of them was: it reads
the ones that were), failed in this run, or was stopped in this run by a
failure upstream of it.

Which upstream partitions a partition reads is computed by hand from the
menu's descriptions (:class:`tests.minimality_support.Kind`): time keys as
UTC period starts compared by overlap, static and dynamic keys by equality,
multi keys split into their dimensions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.minimality_support import (
    INITIAL_DYNAMIC_KEYS,
    PARTS,
    AssetDraw,
    Edge,
    Key,
    Kind,
    Scenario,
    period_start,
)

__all__ = ["Built", "Oracle", "digest", "upstream_keys"]


def digest(effective: int, key: str, reads: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The value an asset writes (the same function is rendered into ``defs.py``)."""
    text = json.dumps([effective, key, [[name, list(values)] for name, values in reads]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def one_dim_reads(
    mapping: str,
    down: Kind,
    up: Kind,
    key: str,
    up_keys: Sequence[str],
    table: dict[str, tuple[str, ...]],
) -> tuple[str, ...]:
    """The keys of ``up_keys`` that ``key`` reads through a one-dimensional mapping."""
    if mapping in ("all", "all_existing"):
        return tuple(up_keys)
    if mapping == "last":
        return tuple(up_keys[-1:])
    if mapping == "identity":
        return tuple(k for k in up_keys if k == key)
    if mapping in ("window", "overlap"):
        assert down.period is not None and up.period is not None
        start = period_start(key)
        low = start - down.period if mapping == "window" else start
        high = start + down.period
        return tuple(
            k for k in up_keys if period_start(k) < high and period_start(k) + up.period > low
        )
    assert mapping == "static_map", mapping
    return tuple(k for k in up_keys if k in table.get(key, ()))


def _by_dimension(kind: Kind, key: str, name: str) -> dict[str, tuple[Kind, str]]:
    """``{dimension: (its definition, its key)}``; a one-dimensional side plays ``name``."""
    if kind.dims:
        values = key.split("|")
        return {dim: (PARTS[part], v) for (dim, part), v in zip(kind.dims, values, strict=True)}
    return {name: (kind, key)}


def dimension_reads(
    name: str, inner: str, down: Kind, up: Kind, key: str, up_keys: Sequence[str]
) -> tuple[str, ...]:
    """``Dimension(name, inner)``: ``name`` through ``inner``; a dimension on both sides
    by equal keys; one only upstream, every key; one only downstream, ignored."""
    down_parts = _by_dimension(down, key, name)
    up_parts = [_by_dimension(up, k, name) for k in up_keys]
    mapped = tuple(dict.fromkeys(parts[name][1] for parts in up_parts))
    read: list[str] = []
    for up_key, parts in zip(up_keys, up_parts, strict=True):
        matches = True
        for dim, (up_kind, value) in parts.items():
            if dim == name:
                down_kind, down_value = down_parts[name]
                reads = one_dim_reads(inner, down_kind, up_kind, down_value, mapped, {})
                matches = value in reads
            elif dim in down_parts:
                matches = value == down_parts[dim][1]
            if not matches:
                break
        if matches:
            read.append(up_key)
    return tuple(read)


def upstream_keys(
    down: AssetDraw, edge: Edge, up: AssetDraw, key: str, dynamic: Sequence[str]
) -> tuple[str, ...]:
    """Which partitions of ``up`` partition ``key`` of ``down`` reads (computed by hand)."""
    up_keys = up.keys(dynamic)
    if up.definition == "none":
        return ("",)
    if edge.mapping.startswith("dim:"):
        _, name, inner = edge.mapping.split(":")
        return dimension_reads(name, inner, down.kind, up.kind, key, up_keys)
    return one_dim_reads(edge.mapping, down.kind, up.kind, key, up_keys, dict(edge.table))


Reads = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass
class Built:
    """What the last successful build of a partition saw."""

    code_version: str
    reads: Reads


@dataclass
class Oracle:
    """An independent model of what must run: values, last builds, failures."""

    scenario: Scenario
    code: dict[str, tuple[int, int]]
    salt: dict[str, int] = field(default_factory=dict)
    fail: set[Key] = field(default_factory=set)
    value: dict[Key, str] = field(default_factory=dict)
    built: dict[Key, Built] = field(default_factory=dict)
    failed_last: set[Key] = field(default_factory=set)
    dynamic: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.scenario.dynamic:
            self.dynamic = sorted(INITIAL_DYNAMIC_KEYS)

    def keys(self, name: str) -> tuple[str, ...]:
        """The partition keys of asset ``name`` now."""
        return self.scenario.asset(name).keys(self.dynamic)

    def control(self) -> dict[str, object]:
        """The content of ``control.json``."""
        return {
            "salt": {k: str(v) for k, v in self.salt.items()},
            "fail": sorted([list(k) for k in self.fail]),
        }

    def code_version(self, name: str) -> str:
        """The asset's current ``code_version=``."""
        tag, effective = self.code[name]
        return f"{name}-t{tag}-e{effective}"

    def apply(self, change: tuple[object, ...]) -> None:
        """Apply a change to the knobs (not to the built state)."""
        kind = change[0]
        if kind == "data":
            root, key = str(change[1]), change[2]
            keys = self.keys(root) if key is None else (str(key),)
            for k in keys:
                self.salt[f"{root}/{k}"] = int(str(change[3]))
        elif kind == "code":
            self.code[str(change[1])] = (int(str(change[2])), int(str(change[3])))
        elif kind == "fail":
            self.fail.add((str(change[1]), str(change[2])))
        elif kind == "heal":
            self.fail.clear()
        elif kind == "add_key":
            self.dynamic = sorted({*self.dynamic, str(change[1])})
        elif kind == "delete_key":
            self.dynamic = [k for k in self.dynamic if k != change[1]]

    def targets(self, request: tuple[object, ...]) -> set[Key]:
        """The (asset, partition) a request covers."""
        kind = request[0]
        if kind == "all":
            return {(a.name, k) for a in self.scenario.assets for k in self.keys(a.name)}
        name = str(request[1])
        if kind == "upstream":
            chosen = {name}
            for a in reversed(self.scenario.assets):
                if a.name in chosen:
                    chosen.update(e.upstream for e in a.edges)
            return {(n, k) for n in chosen for k in self.keys(n)}
        key = request[2]
        keys = self.keys(name) if key is None else (str(key),)
        return {(name, k) for k in keys}

    def run(self, request: tuple[object, ...]) -> set[Key]:
        """Which partitions the request must execute; updates the model as the run would."""
        targets = self.targets(request)
        forced = request[0] == "force"
        executed: set[Key] = set()
        stopped: set[Key] = set()
        for a in self.scenario.assets:
            for key in self.keys(a.name):
                if (a.name, key) not in targets:
                    continue
                if self._reads_stopped(a, key, stopped):
                    # an input failed in this run, or was skipped because of a failure
                    # upstream of it: the runner stops every task that depends on it
                    stopped.add((a.name, key))
                    continue
                reads = self._reads(a, key)
                if reads is None:
                    continue  # blocked: an input was never built
                last = self.built.get((a.name, key))
                needed = (
                    forced
                    or last is None
                    or (a.name, key) in self.failed_last
                    or last.code_version != self.code_version(a.name)
                    or last.reads != reads
                )
                if not needed:
                    continue
                executed.add((a.name, key))
                if (a.name, key) in self.fail:
                    stopped.add((a.name, key))
                    self.failed_last.add((a.name, key))
                    continue
                self.failed_last.discard((a.name, key))
                self.built[(a.name, key)] = Built(self.code_version(a.name), reads)
                values = [(name, [v for _, v in pairs]) for name, pairs in reads]
                self.value[(a.name, key)] = digest(
                    self.code[a.name][1], key, [(n, sorted(vs)) for n, vs in values]
                )
        return executed

    def _upstream(self, a: AssetDraw, edge: Edge, key: str) -> tuple[str, ...]:
        return upstream_keys(a, edge, self.scenario.asset(edge.upstream), key, self.dynamic)

    def _reads_stopped(self, a: AssetDraw, key: str, stopped: set[Key]) -> bool:
        return any(
            (edge.upstream, up_key) in stopped
            for edge in a.edges
            for up_key in self._upstream(a, edge, key)
        )

    def _reads(self, a: AssetDraw, key: str) -> Reads | None:
        if not a.edges:
            return (("src", (("", str(self.salt.get(f"{a.name}/{key}", 0))),)),)
        reads: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        for edge in a.edges:
            pairs: list[tuple[str, str]] = []
            mapped = self._upstream(a, edge, key)
            for up_key in mapped:
                found = self.value.get((edge.upstream, up_key))
                if found is None:
                    if edge.mapping == "all_existing":
                        continue  # reads what exists
                    return None
                pairs.append((up_key, found))
            if mapped and not pairs:
                return None  # blocked: not one of its inputs was ever built
            reads.append((edge.upstream, tuple(pairs)))
        return tuple(reads)
