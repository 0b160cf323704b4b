"""Judging freshness policies per asset and per partition (pure; ``now`` is passed in).

Time-partitioned assets (and multi-partitioned ones with a time dimension) are
judged on the newest partition that is *due* at ``now`` (see
:mod:`partita.freshness.deadlines`): it must be present, current and not
failed, so backfilling an old partition never makes an asset with a missing
recent partition look fresh. Its lag is ``now`` minus the end of the window of
the newest good partition.

Unpartitioned assets, static or dynamic partitions, and sources read through a
``loaded_at`` column are judged on when they were last refreshed: every
partition must be present and current, and the oldest refresh must be within
``max_lag`` and, with a ``deadline``, at or after the tick before the latest
one (one refresh per cron period, published by the tick that closes it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from partita.freshness.deadlines import (
    due_at,
    last_due_index,
    next_tick,
    previous_tick,
    tick_before,
)
from partita.freshness.report import AssetFreshness, FreshnessReport, FreshnessStatus, format_lag
from partita.freshness.state import NEVER, AssetPartitions, PlannedPartitions, build_states
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore, MultiPartitions, TimePartitions
from partita.partitions.base import require_aware
from partita.policies import Freshness
from partita.records import PlannerState
from partita.selection import select

__all__ = ["evaluate"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _listed(keys: Sequence[str]) -> str:
    return ", ".join(k or "(unpartitioned)" for k in keys)


@dataclass(frozen=True)
class _Verdict:
    status: FreshnessStatus
    reason: str
    lag: timedelta | None
    judged: str | None
    next_deadline: datetime | None


@dataclass(frozen=True)
class _TimeAxis:
    """The time definition of an asset and each partition's time index."""

    definition: TimePartitions
    index: npt.NDArray[np.int64]

    @classmethod
    def of(cls, states: AssetPartitions) -> _TimeAxis | None:
        definition = states.definition
        if isinstance(definition, TimePartitions):
            return cls(definition, np.arange(states.size, dtype=np.int64))
        if isinstance(definition, MultiPartitions) and definition.time_dimension is not None:
            name = definition.time_dimension
            inner = definition.by_name[name]
            assert isinstance(inner, TimePartitions)
            position = definition.dimensions.index(name)
            values = [k.split("|")[position] for k in states.keys]
            cached: dict[str, int] = {}
            index: list[int] = []
            for value in values:
                found = cached.get(value)
                if found is None:
                    found = cached[value] = inner.index_of(value)
                index.append(found)
            return cls(inner, np.asarray(index, dtype=np.int64))
        return None


def _problem(
    states: AssetPartitions, where: npt.NDArray[np.bool_], planned: PlannedPartitions | None
) -> tuple[FreshnessStatus, str] | None:
    """The worst problem among the partitions in ``where``: failed > missing > stale."""
    for status, mask, verb in (
        (FreshnessStatus.FAILED, states.failed_mask, "failed (last attempt)"),
        (FreshnessStatus.MISSING, states.missing_mask, "never materialized"),
        (FreshnessStatus.STALE, states.stale_mask, "stale"),
    ):
        hit = np.flatnonzero(mask & where)
        if hit.size:
            keys = [states.keys[i] for i in hit[:3].tolist()]
            text = _listed(keys)
            if hit.size > 3:
                text = f"{hit.size} partitions ({text}, ...)"
            text = f"{text}: {verb}" if states.definition.dimensions else verb
            if status is FreshnessStatus.STALE and planned is not None:
                why = planned.reasons_for(keys[0])
                if why:
                    text += f" ({'; '.join(why)})"
            return status, text
    return None


def _judge_time(
    policy: Freshness | None,
    states: AssetPartitions,
    axis: _TimeAxis,
    planned: PlannedPartitions | None,
    now: datetime,
) -> tuple[_Verdict, str | None]:
    definition, index = axis.definition, axis.index
    if states.size == 0:
        verdict = _Verdict(
            FreshnessStatus.NO_POLICY if policy is None else FreshnessStatus.FRESH,
            "no partition exists yet",
            None,
            None,
            None if policy is None else due_at(policy, definition, 0),
        )
        return verdict, None
    newest = int(index.max())
    newest_key = definition.key_at(newest)
    per_time = np.bincount(index, minlength=newest + 1)
    bad_per_time = np.bincount(index[~states.fresh_mask], minlength=newest + 1)
    good = np.flatnonzero((per_time > 0) & (bad_per_time == 0))
    good_index = int(good[-1]) if good.size else None
    lag = None if good_index is None else now - definition.period_start(good_index + 1)
    if policy is None:
        text = "no freshness policy"
        if good_index is not None:
            text += f"; newest good partition {definition.key_at(good_index)}"
        return _Verdict(FreshnessStatus.NO_POLICY, text, lag, None, None), newest_key
    due_index = min(last_due_index(policy, definition, now), newest)
    next_index = max(due_index, -1) + 1
    # a closed range (``end=``) has no partition after its last: nothing more is due
    ended = definition.end_count is not None and next_index >= definition.end_count
    next_deadline = None if ended else due_at(policy, definition, next_index)
    then = "it is the last of the range"
    if next_deadline is not None:
        then = f"the next is due by {_when(next_deadline)}"
    judged = definition.key_at(due_index) if due_index >= 0 else None
    if due_index >= 0:
        found = _problem(states, index == due_index, planned)
        if found is not None:
            status, text = found
            due = due_at(policy, definition, due_index)
            reason = f"{text}; {judged} was due by {_when(due)}"
            return _Verdict(status, reason, lag, judged, next_deadline), newest_key
    max_lag, warn_lag = policy.max_lag_delta, policy.warn_lag_delta
    if lag is None:
        reason = "no partition is due yet"
        return _Verdict(FreshnessStatus.FRESH, reason, lag, judged, next_deadline), newest_key
    good_key = definition.key_at(int(good_index)) if good_index is not None else ""
    if max_lag is not None and lag > max_lag:
        reason = (
            f"the newest partition {good_key} ended {format_lag(lag)} ago, more than "
            f"max lag {policy.max_lag}, and "
            + ("it is the last of the range" if ended else "no newer partition exists")
        )
        return _Verdict(FreshnessStatus.LATE, reason, lag, judged, next_deadline), newest_key
    if warn_lag is not None and lag > warn_lag:
        reason = (
            f"the newest good partition {good_key} ended {format_lag(lag)} ago "
            f"(warn after {policy.warn_lag}); {then}"
        )
        return _Verdict(FreshnessStatus.WARN, reason, lag, judged, next_deadline), newest_key
    reason = f"newest good partition {good_key}; {then}"
    return _Verdict(FreshnessStatus.FRESH, reason, lag, judged, next_deadline), newest_key


def _refresh_verdict(policy: Freshness, refreshed: datetime, now: datetime, what: str) -> _Verdict:
    """Judge one refresh time against ``max_lag`` / ``deadline`` / ``warn_lag``."""
    lag = now - refreshed
    deadlines: list[datetime] = []
    max_lag, warn_lag = policy.max_lag_delta, policy.warn_lag_delta
    if max_lag is not None:
        deadlines.append(refreshed + max_lag)
    if policy.deadline is not None:
        deadlines.append(next_tick(policy.deadline, policy.timezone, now))
    next_deadline = min(deadlines)
    if max_lag is not None and lag > max_lag:
        reason = f"{what} {format_lag(lag)} ago, more than max lag {policy.max_lag}"
        return _Verdict(FreshnessStatus.LATE, reason, lag, None, next_deadline)
    if policy.deadline is not None:
        tick = previous_tick(policy.deadline, policy.timezone, now)
        period_start = tick_before(policy.deadline, policy.timezone, tick)
        if refreshed < period_start:
            reason = (
                f"{what} at {_when(refreshed)}: no refresh between {_when(period_start)} "
                f"and the deadline {_when(tick)}"
            )
            return _Verdict(FreshnessStatus.LATE, reason, lag, None, next_deadline)
    if warn_lag is not None and lag > warn_lag:
        reason = f"{what} {format_lag(lag)} ago (warn after {policy.warn_lag})"
        return _Verdict(FreshnessStatus.WARN, reason, lag, None, next_deadline)
    reason = f"{what} {format_lag(lag)} ago; next due by {_when(next_deadline)}"
    return _Verdict(FreshnessStatus.FRESH, reason, lag, None, next_deadline)


def _judge_whole(
    policy: Freshness | None,
    states: AssetPartitions,
    planned: PlannedPartitions | None,
    now: datetime,
) -> _Verdict:
    if states.size == 0:
        status = FreshnessStatus.NO_POLICY if policy is None else FreshnessStatus.FRESH
        return _Verdict(status, "no partition exists yet", None, None, None)
    refreshed = states.refreshed_us
    known = refreshed[refreshed != NEVER]
    oldest = _moment(int(known.min())) if known.size == states.size else None
    lag = None if oldest is None else now - oldest
    if policy is None:
        return _Verdict(FreshnessStatus.NO_POLICY, "no freshness policy", lag, None, None)
    found = _problem(states, np.ones(states.size, dtype=np.bool_), planned)
    if found is not None:
        return _Verdict(found[0], found[1], lag, None, None)
    if oldest is None:
        reason = "never observed: nothing to judge freshness by"
        hint = " (give the source an observe function or Freshness(loaded_at=...))"
        return _Verdict(FreshnessStatus.MISSING, reason + hint, None, None, None)
    what = "refreshed" if states.size == 1 else "oldest partition refreshed"
    return _refresh_verdict(policy, oldest, now, what)


def _judge_loaded_at(policy: Freshness, loaded_at: datetime | None, now: datetime) -> _Verdict:
    if loaded_at is None:
        reason = f"no value in column {policy.loaded_at!r}: the data has no rows"
        return _Verdict(FreshnessStatus.MISSING, reason, None, None, None)
    return _refresh_verdict(policy, loaded_at, now, f"newest {policy.loaded_at}")


def evaluate(
    graph: AssetGraph,
    state: PlannerState,
    planned: Mapping[AssetKey, PlannedPartitions],
    now: datetime,
    selection: str | None = None,
    *,
    loaded_at: Mapping[AssetKey, datetime | None] | None = None,
    dynamic: DynamicPartitionsStore | None = None,
    config_notes: Mapping[AssetKey, str] | None = None,
) -> FreshnessReport:
    """Judge the freshness policy of every selected asset and source at ``now``.

    Args:
        graph: the asset graph.
        state: the catalog's bulk state of (at least) the selected assets.
        planned: per asset, the partitions the plan of ``now`` builds (or
            blocks), with its reasons; stale = planned for a reason other than
            missing or failed.
        now: the time of judgement (timezone-aware).
        selection: an asset selection (``None``: every asset and source).
        loaded_at: for policies with ``loaded_at=``: the newest value of that
            column in the asset's data (``None`` when it has no rows).
        dynamic: the store of dynamic partition keys.
        config_notes: per asset, a note on the config it was judged with.
    """
    require_aware(now)
    now = now.astimezone(UTC)
    chosen = select(graph, selection)
    states = build_states(graph, state, chosen, planned, now, dynamic)
    values = loaded_at or {}
    results: list[AssetFreshness] = []
    for key in chosen:
        spec = graph.spec(key)
        policy = spec.freshness
        part = states[key]
        newest: str | None = None
        known = part.refreshed_us[part.refreshed_us != NEVER]
        last = _moment(int(known.max())) if known.size else None
        axis = _TimeAxis.of(part)
        if policy is not None and policy.loaded_at is not None:
            value = values.get(key)
            verdict = _judge_loaded_at(policy, value, now)
            last = value
            if axis is not None and part.size:
                newest = axis.definition.key_at(int(axis.index.max()))
        elif axis is not None:
            verdict, newest = _judge_time(policy, part, axis, planned.get(key), now)
        else:
            verdict = _judge_whole(policy, part, planned.get(key), now)
            if part.definition.dimensions and part.size:
                newest = part.keys[-1]
        results.append(
            AssetFreshness(
                asset=key,
                kind=spec.kind,
                status=verdict.status,
                policy=None if policy is None else policy.describe(),
                newest_partition=newest,
                judged_partition=verdict.judged,
                last_materialization=last,
                lag=verdict.lag,
                next_deadline=verdict.next_deadline,
                reason=verdict.reason,
                config_note=(config_notes or {}).get(key),
            )
        )
    return FreshnessReport(now=now, assets=tuple(results))
