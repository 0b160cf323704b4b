"""The planner: ``(graph, catalog state, request, now) -> Plan``. Pure; no IO.

For every selected asset, in dependency order, the partitions the request
targets are compared with the catalog's state with array operations:

- ``missing``: no successful materialization;
- ``code_changed`` / ``config_changed``: recorded code version / config hash differ;
- ``failed``: the last attempt failed after the last success;
- ``upstream_changed``: per upstream asset, the fingerprint of the input
  partitions as they are now (the sum of their output hashes, over exactly
  the partitions the mapping reads that exist) differs from the one recorded
  when the partition was built — a changed version, a gained or lost input;
- ``upstream_stale``: an upstream partition it reads is planned in this run
  (not one planned only for a non-breaking SQL change: that rebuild keeps its
  output hash, see :class:`~partita.planner.plan.NonBreakingChange`);
- ``forced``: the user asked.

Partitions whose inputs are missing and not planned, or are source partitions
whose observation failed, are ``blocked``; through ``AllPartitions(
allow_missing=True)`` only when none of the mapped inputs is there. Cost grows
with the number of assets and edges (one vectorized pass each), not with a
Python loop over partitions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from partita.graph import AssetGraph, Edge
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore, PartitionsDefinition
from partita.planner.edges import EdgeRows, edge_rows, merge_rows
from partita.planner.plan import (
    Blocked,
    FailedObservation,
    NonBreakingChange,
    PartitionRequest,
    Plan,
    PlanRequest,
    PlanStep,
    Reason,
    StepReason,
)
from partita.planner.requested import assets_needed, requested_partitions, targets
from partita.planner.space import AssetSpace, Mask
from partita.planner.state_view import StateView, build_state_view
from partita.records import PlannerState

__all__ = ["plan"]


def _range_mask(
    key: AssetKey,
    space: AssetSpace,
    request: PartitionRequest | None,
    others: Sequence[PartitionsDefinition],
    now: datetime,
    dynamic: DynamicPartitionsStore | None,
) -> Mask:
    """The partitions of ``space`` that a key / range request covers."""
    requested = requested_partitions(space.definition, request, others, now, dynamic, asset=key)
    if requested is None:
        return np.ones(space.size, dtype=np.bool_)
    return space.index.mask_of(requested)


def _changed_upstream_partitions(
    rows: EdgeRows, down: AssetSpace, up: AssetSpace, changed: Mask, *, missing_allowed: bool
) -> Mask:
    """Upstream partitions behind ``changed``: per changed partition, those built after it
    (or gone, unless missing ones are allowed); all it maps to when none is newer (e.g.
    its window's membership changed), so no partition is explained by another's cause."""
    down_idx, up_idx = rows.pairs()
    involved = changed[down_idx]
    down_idx, up_idx = down_idx[involved], up_idx[involved]
    newer = up.materialization_id[up_idx] > down.materialization_id[down_idx]
    if missing_allowed:
        newer &= up.materialized[up_idx]
    else:
        newer |= ~up.materialized[up_idx]
    has_newer = np.zeros(down.size, dtype=np.bool_)
    has_newer[down_idx[newer]] = True
    picked = up_idx[newer | ~has_newer[down_idx]]
    mask = np.zeros(up.size, dtype=np.bool_)
    mask[picked] = True
    return mask


def _or(mask: Mask | None, other: Mask) -> Mask:
    """``mask | other`` (a new array), where ``None`` stands for no partition."""
    return other.copy() if mask is None else mask | other


@dataclass(frozen=True)
class _Unobserved:
    """The partitions of one source whose observation failed, and each one's error."""

    mask: Mask
    errors: dict[int, str]

    def detail(self, hit: Mask) -> str:
        """``whose observation failed: <error>`` for the failed partitions in ``hit``."""
        found = list(dict.fromkeys(self.errors[i] for i in np.flatnonzero(hit).tolist()))
        more = f" (and {len(found) - 1} other errors)" if len(found) > 1 else ""
        return f"whose observation failed: {found[0] if found else 'unknown error'}{more}"


def _unobserved(
    view: StateView, failures: Sequence[FailedObservation]
) -> dict[AssetKey, _Unobserved]:
    found: dict[AssetKey, _Unobserved] = {}
    for failure in failures:
        space = view.spaces.get(failure.asset)
        position = None if space is None else space.position(failure.partition)
        if space is None or position is None:
            continue
        entry = found.get(failure.asset)
        if entry is None:
            entry = found[failure.asset] = _Unobserved(np.zeros(space.size, dtype=np.bool_), {})
        entry.mask[position] = True
        entry.errors[position] = failure.error
    return found


class _Planner:
    def __init__(
        self,
        graph: AssetGraph,
        view: StateView,
        request: PlanRequest,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
        failures: Sequence[FailedObservation] = (),
        non_breaking: Sequence[NonBreakingChange] = (),
    ) -> None:
        self.graph, self.view, self.request = graph, view, request
        self.now, self.dynamic = now, dynamic
        self.unobserved = _unobserved(view, failures)
        self.planned: dict[AssetKey, Mask] = {}
        # what readers see as planned: not the partitions rebuilt only for a
        # non-breaking change (they keep their output hash)
        self.propagating: dict[AssetKey, Mask] = {}
        self.summaries: dict[AssetKey, list[str]] = {}
        for change in non_breaking:
            found = self.summaries.setdefault(change.asset, [])
            if change.summary not in found:
                found.append(change.summary)
        self.steps: list[PlanStep] = []
        self.blocked: list[Blocked] = []
        self._rows: dict[tuple[object, ...], EdgeRows] = {}
        self._by_edge: dict[int, EdgeRows] = {}  # the graph keeps its edges alive
        # per asset, asked once for all its readers (masks are not changed once set)
        self._planned_any: dict[AssetKey, bool] = {}
        self._all_built: dict[AssetKey, bool] = {}

    def _any(self, key: AssetKey, planned: Mask) -> bool:
        """Whether any partition of ``key`` is planned."""
        found = self._planned_any.get(key)
        if found is None:
            found = self._planned_any[key] = bool(planned.any())
        return found

    def _complete(self, key: AssetKey, space: AssetSpace) -> bool:
        """Whether every partition of ``key`` is materialized."""
        found = self._all_built.get(key)
        if found is None:
            found = self._all_built[key] = bool(space.materialized.all())
        return found

    def rows(self, edge: Edge) -> EdgeRows:
        by_edge = self._by_edge.get(id(edge))
        if by_edge is not None:
            return by_edge
        down = self.view.spaces[edge.downstream]
        up = self.view.spaces[edge.upstream]
        # the view shares one index per partitions definition: its identity stands for
        # the definition and its keys at ``now`` (hashing a definition costs more)
        cache_key = (edge.mapping, id(down.index), id(up.index))
        found = self._rows.get(cache_key)
        if found is None:
            found = edge_rows(edge.mapping, down, up, self.now, self.dynamic)
            self._rows[cache_key] = found
        self._by_edge[id(edge)] = found
        return found

    def plan_asset(self, key: AssetKey, target: Mask) -> None:
        space = self.view.spaces[key]
        built = space.materialized
        # Of the targets, the built ones (None when nothing is built: no reason
        # that compares with a recorded build can apply).
        built_target = target & built if built.any() else None
        reasons: list[tuple[Reason, Mask, AssetKey | None, Mask | None, str]] = []

        def add(
            reason: Reason,
            mask: Mask,
            upstream: AssetKey | None = None,
            upstream_mask: Mask | None = None,
            detail: str = "",
        ) -> None:
            if mask.any():
                reasons.append((reason, mask, upstream, upstream_mask, detail))

        if self.request.force:
            add(Reason.FORCED, target)
        add(Reason.MISSING, target if built_target is None else target & ~built)
        if built_target is not None:
            code_ok = self.view.code_ok.get(key)
            if code_ok is not None:
                code_changed = built_target & ~code_ok
                add(
                    Reason.CODE_CHANGED,
                    code_changed,
                    detail=self._code_detail(key, space, code_changed),
                )
            config_ok = self.view.config_ok.get(key)
            if config_ok is not None:
                add(Reason.CONFIG_CHANGED, built_target & ~config_ok)
        if space.failed.any():
            add(Reason.FAILED, target & space.failed)
        missing_input, missing_from = self._inputs(key, space, target, built_target, add)
        if not reasons:
            self.planned[key] = self.propagating[key] = np.zeros(space.size, dtype=np.bool_)
            return
        wanted = reasons[0][1]
        for _, mask, *_ in reasons[1:]:
            wanted = wanted | mask
        chosen = wanted
        if missing_input is not None:
            blocked = wanted & missing_input
            if blocked.any():
                chosen = wanted & ~blocked
                self._block(key, space, blocked, missing_from)
        self.planned[key] = chosen
        spared = self._spared(key, reasons, chosen)
        self.propagating[key] = chosen if spared is None else chosen & ~spared
        if chosen is not wanted and not chosen.any():
            return
        index = space.index
        step_reasons = []
        for reason, mask, upstream, upstream_mask, detail in reasons:
            applies = mask if chosen is wanted else mask & chosen
            if applies is not mask and not applies.any():
                continue
            step_reasons.append(
                StepReason(
                    reason=reason,
                    partitions=index.subset_of(applies),
                    upstream=upstream,
                    upstream_partitions=None
                    if upstream_mask is None or upstream is None
                    else self.view.spaces[upstream].index.subset_of(upstream_mask),
                    detail=detail,
                )
            )
        self.steps.append(
            PlanStep(
                asset=key,
                partitions=index.subset_of(chosen),
                reasons=tuple(step_reasons),
                code_version=self.graph.code_version(key),
                config_hash=self.request.config_hashes.get(str(key), ""),
                non_breaking=None if spared is None else index.subset_of(spared),
            )
        )

    def _spared(
        self,
        key: AssetKey,
        reasons: list[tuple[Reason, Mask, AssetKey | None, Mask | None, str]],
        chosen: Mask,
    ) -> Mask | None:
        """The chosen partitions whose only reason is a non-breaking code change (None:
        none)."""
        from_versions = self.view.non_breaking.get(key)
        code = next((m for r, m, *_ in reasons if r is Reason.CODE_CHANGED), None)
        if from_versions is None or code is None:
            return None
        spared = chosen & from_versions & code
        for reason, mask, *_ in reasons:
            if reason is not Reason.CODE_CHANGED:
                spared &= ~mask
        return spared if spared.any() else None

    def _block(
        self,
        key: AssetKey,
        space: AssetSpace,
        blocked: Mask,
        missing_from: list[tuple[AssetKey, Mask, Mask, bool]],
    ) -> None:
        """Record the ``blocked`` partitions of ``key``, per upstream asset they lack."""
        for upstream, lacking, absent, unobserved in missing_from:
            mask = blocked & lacking
            if mask.any():
                hit = self._absent_inputs(key, upstream, mask, absent)
                self.blocked.append(
                    Blocked(
                        asset=key,
                        partitions=space.index.subset_of(mask),
                        upstream=upstream,
                        upstream_partitions=self.view.spaces[upstream].index.subset_of(hit),
                        detail=self.unobserved[upstream].detail(hit) if unobserved else "",
                    )
                )

    def _inputs(
        self,
        key: AssetKey,
        space: AssetSpace,
        target: Mask,
        built_target: Mask | None,
        add: Callable[..., None],
    ) -> tuple[Mask | None, list[tuple[AssetKey, Mask, Mask, bool]]]:
        """Add the upstream reasons; return which partitions lack inputs (None: none do),
        and from where (with ``True`` for inputs that are source partitions whose
        observation failed)."""
        missing_input: Mask | None = None
        missing_from: list[tuple[AssetKey, Mask, Mask, bool]] = []
        by_upstream: dict[AssetKey, list[Edge]] = defaultdict(list)
        for edge in self.graph.upstream_edges(key):
            by_upstream[edge.upstream].append(edge)
        for upstream, edges in by_upstream.items():
            up = self.view.spaces[upstream]
            rows = merge_rows([self.rows(e) for e in edges], up.size)
            if built_target is not None:
                # identity rows: each partition's fingerprint is its input's hash (no copy)
                expected = up.output_hash if rows.identity else rows.row_sum_u64(up.output_hash)
                recorded = self.view.edges.get((key, str(upstream)))
                differs = expected != 0 if recorded is None else expected != recorded.fingerprint
                changed = built_target & differs
                if changed.any():
                    add(
                        Reason.UPSTREAM_CHANGED,
                        changed,
                        upstream,
                        _changed_upstream_partitions(
                            rows,
                            space,
                            up,
                            changed,
                            missing_allowed=all(e.mapping.reads_what_exists for e in edges),
                        ),
                    )
            planned_up = self.planned.get(upstream)
            available = up.materialized
            if planned_up is not None and self._any(upstream, planned_up):
                propagating = self.propagating[upstream]
                stale = target & rows.downstream_of(propagating)
                if stale.any():
                    reads_planned = propagating & rows.upstream_of(stale, up.size)
                    add(Reason.UPSTREAM_STALE, stale, upstream, reads_planned)
                available = available | planned_up
            unobserved = self.unobserved.get(upstream)
            if unobserved is not None:
                reads_failed = rows.downstream_of(unobserved.mask)
                if reads_failed.any():
                    missing_input = _or(missing_input, reads_failed)
                    missing_from.append((upstream, reads_failed, unobserved.mask, True))
                available = available | unobserved.mask  # failed, not missing
            if self._complete(upstream, up) if available is up.materialized else available.all():
                continue  # every mapped input is there (or planned)
            lacking = self._lacking(edges, rows, up.size, available)
            if lacking.any():
                missing_input = _or(missing_input, lacking)
                missing_from.append((upstream, lacking, ~available, False))
        return missing_input, missing_from

    def _lacking(self, edges: list[Edge], rows: EdgeRows, n_up: int, available: Mask) -> Mask:
        """Downstream partitions that cannot be built for want of these edges' inputs:
        through an edge that waits for all its inputs, any mapped partition not
        ``available``; through one that reads what exists
        (``AllPartitions(allow_missing=True)``), all of them (when it maps any)."""
        relaxed = [e for e in edges if e.mapping.reads_what_exists]
        if not relaxed:
            return rows.lacking(available)
        strict = [e for e in edges if not e.mapping.reads_what_exists]
        some = merge_rows([self.rows(e) for e in relaxed], n_up)
        lacking: Mask = (some.counts() > 0) & (some.row_count(available) == 0)
        if strict:
            every = merge_rows([self.rows(e) for e in strict], n_up)
            lacking |= every.lacking(available)
        return lacking

    def _absent_inputs(
        self, key: AssetKey, upstream: AssetKey, blocked: Mask, absent: Mask
    ) -> Mask:
        merged = merge_rows(
            [self.rows(e) for e in self.graph.upstream_edges(key) if e.upstream == upstream],
            self.view.spaces[upstream].size,
        )
        down_idx, up_idx = merged.pairs()
        hit = blocked[down_idx] & absent[up_idx]
        mask = np.zeros(self.view.spaces[upstream].size, dtype=np.bool_)
        mask[up_idx[hit]] = True
        return mask

    def _code_detail(self, key: AssetKey, space: AssetSpace, changed: Mask) -> str:
        if not changed.any() or not space.stale_code_versions:
            return ""
        recorded = space.stale_code_versions
        before = ", ".join(recorded[:3]) + (", ..." if len(recorded) > 3 else "")
        detail = f"code version {before} -> {self.graph.code_version(key)}"
        summaries = self.summaries.get(key)
        from_versions = self.view.non_breaking.get(key)
        if summaries and from_versions is not None:
            count = int((changed & from_versions).sum())
            some = "" if count == int(changed.sum()) else f" for {count} of them"
            if count:
                detail += f"; non-breaking{some}: {'; '.join(summaries)}"
        return detail


def plan(
    graph: AssetGraph,
    state: PlannerState,
    request: PlanRequest,
    now: datetime,
    *,
    dynamic: DynamicPartitionsStore | None = None,
    failed_observations: Sequence[FailedObservation] = (),
    non_breaking: Sequence[NonBreakingChange] = (),
) -> Plan:
    """Compute which partitions of the selected assets are stale, and why.

    Args:
        graph: the validated asset graph.
        state: the catalog's bulk state of at least :func:`assets_needed` assets
            (a snapshot; the planner never reads the catalog itself).
        request: selection, partitions, force, config hashes.
        now: the time partitions are enumerated at (timezone-aware).
        dynamic: the store of dynamic partition keys, when the project has any.
        failed_observations: source partitions whose observe function raised:
            their version now is unknown, so the partitions that read them and
            would be planned are blocked instead (and the plan lists them).
        non_breaking: the non-breaking changes of SQL assets since recorded code
            versions (the api classifies them, see :mod:`partita.sql.changes`): a
            partition built with such a version and stale only for its code is
            rebuilt, but what reads it is not planned for it (its new
            materialization keeps the previous output hash).

    Raises:
        PartitionKeyError: the requested partition or range is not valid for a
            selected asset's definition (the message names it).
        PartitionNotYetError: a requested time partition does not exist yet at
            ``now`` (its window is not complete); the message says when it will.
    """
    chosen = targets(graph, request.selection)
    needed = assets_needed(graph, request.selection)
    versions: dict[AssetKey, frozenset[str]] = {}
    for change in non_breaking:
        versions[change.asset] = versions.get(change.asset, frozenset()) | {change.code_version}
    view = build_state_view(
        graph,
        state,
        needed,
        now,
        request.config_hashes,
        dynamic,
        non_breaking=versions,
        config_not_compared=request.config_not_compared,
    )
    definitions = [view.spaces[k].definition for k in chosen]
    planner = _Planner(graph, view, request, now, dynamic, failed_observations, non_breaking)
    for key in chosen:
        space = view.spaces[key]
        target = _range_mask(key, space, request.partitions, definitions, now, dynamic)
        planner.plan_asset(key, target)
    return Plan(
        now=now,
        request=request,
        steps=tuple(planner.steps),
        blocked=tuple(planner.blocked),
        failed_observations=tuple(failed_observations),
        non_breaking_changes=tuple(non_breaking),
    )
