"""``partita plan --explain ASSET:PARTITION``: the full chain of why one partition is stale.

Pure: it reads the plan, the graph, the state snapshot and, through
``inputs_of`` and ``code_components_of``, the recorded inputs and code
components of the few materializations it explains. A changed code version is
explained component by component ("helper `normalize` in transforms.py
changed") when the catalog holds the components of the recorded version. A
partition that is not planned although an input of it is rebuilt for a
non-breaking SQL change says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import UNPARTITIONED, DynamicPartitionsStore
from partita.planner.plan import Plan, Reason, StepReason
from partita.records import DRIFT_ERROR_PREFIX, PlannerState, partition_column
from partita.versions import describe_code_changes

__all__ = ["Why", "explain", "split_target"]

InputsOf = Callable[[Sequence[int]], pa.Table]
CodeComponentsOf = Callable[[str], Mapping[str, str] | None]
MAX_CAUSES = 5


@dataclass(frozen=True)
class Why:
    """Why one partition is (or is not) in the plan, with the upstream causes."""

    asset: str
    partition: str
    status: str
    reasons: tuple[str, ...]
    causes: tuple[Why, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": self.asset,
            "partition": self.partition,
            "status": self.status,
            "reasons": list(self.reasons),
            "causes": [c.to_json() for c in self.causes],
        }


def split_target(text: str) -> tuple[str, str]:
    """``sales/orders:2025-01-01`` -> (``sales/orders``, ``2025-01-01``); no ``:``: ``""``."""
    asset, _, partition = text.partition(":")
    return asset, partition


def _latest_row(state: PlannerState, asset: str, partition: str) -> dict[str, Any] | None:
    table = state.latest
    mask = pc.and_(pc.equal(table["asset"], asset), pc.equal(table["partition"], partition))
    rows = table.filter(mask).to_pylist()
    return rows[0] if rows else None


class _Explainer:
    def __init__(
        self,
        graph: AssetGraph,
        plan: Plan,
        state: PlannerState,
        inputs_of: InputsOf,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
        code_components_of: CodeComponentsOf | None,
    ) -> None:
        self.graph, self.plan, self.state = graph, plan, state
        self.inputs_of, self.now, self.dynamic = inputs_of, now, dynamic
        self.code_components_of = code_components_of

    def why(self, key: AssetKey, partition: str, depth: int) -> Why:
        step = self.plan.step(key)
        name = str(key)
        if step is None or partition not in step.partitions:
            blocked = [b for b in self.plan.blocked if b.asset == key and partition in b.partitions]
            if blocked:
                return Why(name, partition, "blocked", tuple(b.describe() for b in blocked))
            status = "up to date" if _latest_row(self.state, name, partition) else "not planned"
            return Why(name, partition, status, tuple(self._spared_by(key, partition)))
        lines: list[str] = []
        causes: list[Why] = []
        for reason in step.reasons_for(partition):
            lines.extend(self._lines(key, partition, reason))
            if reason.reason is Reason.CODE_CHANGED and step.keeps_output(partition):
                summary = self._summary(key, partition)
                lines.append(
                    f"non-breaking SQL change ({summary}): rebuilt alone; it keeps its "
                    "output hash, so what reads it is not rebuilt"
                )
            if reason.reason is Reason.UPSTREAM_STALE and reason.upstream is not None and depth:
                for upstream_partition in self._planned_inputs(key, partition, reason):
                    causes.append(self.why(reason.upstream, upstream_partition, depth - 1))
        return Why(name, partition, "planned", tuple(lines), tuple(causes))

    def _summary(self, key: AssetKey, partition: str) -> str:
        """What the non-breaking change of ``key`` since ``partition``'s build is."""
        row = _latest_row(self.state, str(key), partition)
        found = (
            None if row is None else self.plan.non_breaking_change(key, str(row["code_version"]))
        )
        return found or "adds columns"

    def _spared_by(self, key: AssetKey, partition: str) -> list[str]:
        """Why a partition is not rebuilt although inputs of it are: they are rebuilt
        for a non-breaking SQL change only."""
        lines: list[str] = []
        for upstream in dict.fromkeys(e.upstream for e in self.graph.upstream_edges(key)):
            step = self.plan.step(upstream)
            if step is None or step.non_breaking is None:
                continue
            spared = [p for p in self._mapped(key, partition, upstream) if step.keeps_output(p)]
            if not spared:
                continue
            shown = ", ".join(spared[:MAX_CAUSES]) + (", ..." if len(spared) > MAX_CAUSES else "")
            where = f"{upstream} {shown}".rstrip()
            summary = self._summary(upstream, spared[0])
            lines.append(f"upstream {where} changed non-breakingly ({summary}); not rebuilt")
        return lines

    def _mapped(self, key: AssetKey, partition: str, upstream: AssetKey) -> list[str]:
        definition = self.graph.spec(key).partitions or UNPARTITIONED
        up_def = self.graph.spec(upstream).partitions or UNPARTITIONED
        found: list[str] = []
        for edge in self.graph.upstream_edges(key):
            if edge.upstream == upstream:
                mapped = edge.mapping.upstream(
                    definition.subset([partition]),
                    definition,
                    up_def,
                    self.now,
                    dynamic=self.dynamic,
                )
                found.extend(k for k in mapped if k not in found)
        return found

    def _planned_inputs(self, key: AssetKey, partition: str, reason: StepReason) -> list[str]:
        assert reason.upstream is not None
        upstream_step = self.plan.step(reason.upstream)
        if upstream_step is None:
            return []
        mapped = self._mapped(key, partition, reason.upstream)
        return [p for p in mapped if p in upstream_step.partitions][:MAX_CAUSES]

    def _lines(self, key: AssetKey, partition: str, reason: StepReason) -> list[str]:
        kind = reason.reason
        if kind is Reason.MISSING:
            return ["missing: never materialized"]
        if kind is Reason.FORCED:
            return ["forced: --force was given"]
        if kind is Reason.CONFIG_CHANGED:
            return ["config_changed: the run-time config differs from the one recorded"]
        if kind is Reason.CODE_CHANGED:
            changes = self._code_changes(key, partition)
            if changes:
                return [f"code_changed: {change}" for change in changes]
            return [f"code_changed: {reason.detail}" if reason.detail else "code_changed"]
        if kind is Reason.FAILED:
            failed = self.state.failed.filter(
                pc.and_(
                    pc.equal(self.state.failed["asset"], str(key)),
                    pc.equal(self.state.failed["partition"], partition),
                )
            ).to_pylist()
            error = failed[0]["error"] if failed else ""
            if error.startswith(DRIFT_ERROR_PREFIX):  # marked stale by `partita verify --repair`
                return [f"failed: {error}"]
            return [f"failed: the last attempt failed{': ' + error if error else ''}"]
        if kind is Reason.UPSTREAM_STALE:
            return [f"upstream_stale: {reason.upstream} is rebuilt first in this run"]
        return self._changed_inputs(key, partition, reason)

    def _code_changes(self, key: AssetKey, partition: str) -> list[str]:
        """Which components changed since the partition was built (empty: unknown)."""
        row = _latest_row(self.state, str(key), partition)
        if row is None or self.code_components_of is None:
            return []
        recorded = self.code_components_of(str(row["code_version"]))
        current = dict(self.graph.code_components(key).components)
        if not recorded or not current:
            return []
        return describe_code_changes(recorded, current)

    def _changed_inputs(self, key: AssetKey, partition: str, reason: StepReason) -> list[str]:
        assert reason.upstream is not None
        upstream = str(reason.upstream)
        row = _latest_row(self.state, str(key), partition)
        recorded: dict[str, str] = {}
        if row is not None:
            inputs = self.inputs_of([int(row["materialization_id"])]).to_pylist()
            recorded = {
                partition_column(i["upstream_partition"]): i["upstream_data_version"]
                for i in inputs
                if i["upstream_asset"] == upstream
            }
        lines = [f"upstream_changed: {upstream} changed since this partition was built"]
        for up_partition in self._mapped(key, partition, reason.upstream):
            current = _latest_row(self.state, upstream, up_partition)
            observed = self._observed(upstream, up_partition)
            now_version = observed or (current["data_version"] if current else None)
            before = recorded.pop(up_partition, None)
            label = f"{upstream} {up_partition}".rstrip()
            if before is None and now_version is not None:
                lines.append(f"  {label}: new input (version {now_version[:12]})")
            elif before is not None and now_version is None:
                lines.append(f"  {label}: gone (was version {before[:12]})")
            elif before != now_version and before is not None and now_version is not None:
                lines.append(f"  {label}: data version {before[:12]} -> {now_version[:12]}")
        for up_partition, before in recorded.items():
            lines.append(f"  {upstream} {up_partition}: no longer read (was {before[:12]})")
        return lines

    def _observed(self, asset: str, partition: str) -> str | None:
        table = self.state.observations
        rows = table.filter(
            pc.and_(pc.equal(table["asset"], asset), pc.equal(table["partition"], partition))
        ).to_pylist()
        return str(rows[0]["data_version"]) if rows else None


def explain(
    graph: AssetGraph,
    plan: Plan,
    state: PlannerState,
    asset: AssetKey,
    partition: str,
    inputs_of: InputsOf,
    *,
    dynamic: DynamicPartitionsStore | None = None,
    depth: int = 10,
    code_components_of: CodeComponentsOf | None = None,
) -> Why:
    """The chain of why ``asset``'s ``partition`` is in ``plan`` (``""`` when unpartitioned).

    ``code_components_of(code_version)`` returns the components recorded with
    a code version (``None`` when none were); without it, or without them, a
    code change is explained by its versions alone.
    """
    explainer = _Explainer(graph, plan, state, inputs_of, plan.now, dynamic, code_components_of)
    return explainer.why(asset, partition, depth)
