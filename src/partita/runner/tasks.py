"""Expanding a :class:`~partita.planner.plan.Plan` into tasks and their dependencies.

One task per (asset, partition) of each step; a ``batch=True`` asset gets one
task per contiguous range of its step's partitions. A task depends on the tasks
that build the upstream partitions it reads (the edge's mapping applied to the
task's partitions, intersected with what the plan builds upstream). The result
is a frozen :class:`TaskGraph`; the runner keeps the mutable state elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore
from partita.planner.plan import Plan, PlanStep

__all__ = ["EdgeRead", "Task", "TaskGraph", "expand_plan"]


@dataclass(frozen=True, slots=True)
class EdgeRead:
    """The upstream partitions one partition reads through one edge.

    ``param`` is ``None`` for an order-only dependency; ``keys`` are every
    mapped upstream partition (``""`` for an unpartitioned upstream).
    """

    upstream: AssetKey
    param: str | None
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work: one call of an asset's function.

    Attributes:
        index: position in :attr:`TaskGraph.tasks`.
        asset: the asset built.
        keys: the partition keys built (``("",)`` when unpartitioned; a
            contiguous range for a batched asset).
        partitioned: whether the asset is partitioned.
        reads: per key (aligned with ``keys``), what it reads through each edge.
        upstream_tasks: indexes of the tasks that must succeed first.
        recheck: every key is re-checked before it runs (early cutoff, see
            :meth:`~partita.planner.plan.PlanStep.rechecked`).
        code_version: the code version to record.
        config_hash: the config hash to record.
        code_components: the code version's components as JSON, to record
            with it (``""``: none, e.g. an explicit version).
        sql_model: a SQL asset's model as JSON, to record with it (``""``: not SQL).
        keeps_output: the keys rebuilt only for a non-breaking SQL change: their
            materializations keep the previous output hash
            (:attr:`~partita.planner.plan.PlanStep.non_breaking`).
    """

    index: int
    asset: AssetKey
    keys: tuple[str, ...]
    partitioned: bool
    reads: tuple[tuple[EdgeRead, ...], ...]
    upstream_tasks: tuple[int, ...]
    recheck: bool
    code_version: str
    config_hash: str
    code_components: str = ""
    sql_model: str = ""
    keeps_output: frozenset[str] = frozenset()

    @property
    def label(self) -> str | None:
        """The partition as recorded: ``None`` unpartitioned, a key, or ``first..last``."""
        if not self.partitioned:
            return None
        if len(self.keys) == 1:
            return self.keys[0]
        return f"{self.keys[0]}..{self.keys[-1]}"

    def describe(self) -> str:
        """``asset`` or ``asset[partition]`` for messages."""
        label = self.label
        return str(self.asset) if label is None else f"{self.asset}[{label}]"

    def merged_reads(self) -> list[EdgeRead]:
        """One read per edge over all keys (a batch reads the union), keys in order."""
        if len(self.reads) == 1:
            return list(self.reads[0])
        merged: list[EdgeRead] = []
        for position, first in enumerate(self.reads[0]):
            seen: dict[str, None] = {}
            for per_key in self.reads:
                for key in per_key[position].keys:
                    seen[key] = None
            merged.append(EdgeRead(first.upstream, first.param, tuple(seen)))
        return merged


@dataclass(frozen=True)
class TaskGraph:
    """The tasks of a plan and, per task, the tasks that depend on it."""

    tasks: tuple[Task, ...]
    dependents: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.tasks)


def _batches(step: PlanStep) -> list[tuple[str, ...]]:
    keys = step.keys()
    starts = {first for first, _ in step.partitions.ranges()}
    groups: list[list[str]] = []
    for key in keys:
        if key in starts or not groups:
            groups.append([])
        groups[-1].append(key)
    return [tuple(g) for g in groups]


def expand_plan(
    plan: Plan,
    graph: AssetGraph,
    *,
    dynamic: DynamicPartitionsStore | None = None,
) -> TaskGraph:
    """The tasks of ``plan`` with their dependencies (mappings evaluated at ``plan.now``)."""
    now: datetime = plan.now
    order = {key: i for i, key in enumerate(graph.keys)}
    steps = sorted(plan.steps, key=lambda s: order[s.asset])
    owner: dict[tuple[AssetKey, str], int] = {}
    tasks: list[Task] = []
    for step in steps:
        spec = graph.spec(step.asset)
        code = graph.code_components(step.asset)
        components = code.components_json() if code.version == step.code_version else ""
        current = spec.sql_model is not None and code.version == step.code_version
        sql_model = spec.sql_model.record_json() if current and spec.sql_model else ""
        edges = graph.upstream_edges(step.asset)
        groups = _batches(step) if spec.batch else [(k,) for k in step.partitions]
        for group in groups:
            per_key: list[tuple[EdgeRead, ...]] = []
            upstream: set[int] = set()
            for key in group:
                one = step.definition.subset([key])
                reads: list[EdgeRead] = []
                for edge in edges:
                    up_def = graph.spec(edge.upstream).partitions
                    mapped = edge.mapping.upstream(
                        one, spec.partitions, up_def, now, dynamic=dynamic
                    )
                    up_keys = tuple(mapped)
                    reads.append(EdgeRead(edge.upstream, edge.param, up_keys))
                    for up_key in up_keys:
                        found = owner.get((edge.upstream, up_key))
                        if found is not None:
                            upstream.add(found)
                per_key.append(tuple(reads))
            index = len(tasks)
            tasks.append(
                Task(
                    index=index,
                    asset=step.asset,
                    keys=group,
                    partitioned=step.partitioned,
                    reads=tuple(per_key),
                    upstream_tasks=tuple(sorted(upstream)),
                    recheck=all(step.rechecked(k) for k in group),
                    code_version=step.code_version,
                    config_hash=step.config_hash,
                    code_components=components,
                    sql_model=sql_model,
                    keeps_output=frozenset(k for k in group if step.keeps_output(k)),
                )
            )
            for key in group:
                owner[(step.asset, key)] = index
    dependents: list[list[int]] = [[] for _ in tasks]
    for task in tasks:
        for up in task.upstream_tasks:
            dependents[up].append(task.index)
    return TaskGraph(tasks=tuple(tasks), dependents=tuple(tuple(d) for d in dependents))
