"""Observing sources before planning: the partitions a request reads, concurrently.

A source's observe function returns the data version of one partition (or,
with ``@source(batch=True)``, a mapping of versions for many partitions in one
call). Planning observes only the partitions the request reads
(:func:`partita.planner.source_partitions`), runs the calls in a bounded
thread pool (observe functions mostly wait on a database, an API or a file
system), and retries a raising call with the source's
:class:`~partita.policies.RetryPolicy`. A call that still raises is not fatal:
its partitions become :class:`~partita.planner.FailedObservation` values, the
planner blocks what reads them, and everything else plans normally. Results
come back in the graph's order and each source's partition order, however the
threads finished.

Only changed versions are recorded (:func:`record_observations`), plus an
unchanged version of a partition whose last observation failed, so the
catalog shows it observed again.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from partita.api.project import Project
from partita.assets import AssetSpec
from partita.context import AssetContext
from partita.keys import AssetKey
from partita.partitions import UNPARTITIONED, PartitionsDefinition, PartitionSubset, TimeWindowRange
from partita.planner import FailedObservation
from partita.records import Catalog, Observation, partition_column

__all__ = ["OBSERVE_THREADS", "Observed", "observe_sources", "record_observations"]

OBSERVE_THREADS = 8
"""Observe calls at once (threads); observe functions are usually waiting on IO."""


@dataclass(frozen=True)
class Observed:
    """What observing the needed source partitions found.

    Attributes:
        versions: per ``(source key string, partition)`` (``""`` when
            unpartitioned), the data version observed now; partitions that are
            not there yet (``None``) are left out.
        failures: the partitions whose observe call raised after its retries.
        calls: observe calls made (retries included).
    """

    versions: Mapping[tuple[str, str], str]
    failures: tuple[FailedObservation, ...] = ()
    calls: int = 0


@dataclass(frozen=True)
class _Call:
    """One call of an observe function: one partition, or a batch of them."""

    spec: AssetSpec
    keys: tuple[str, ...]
    batch: bool


@dataclass(frozen=True)
class _Result:
    versions: dict[str, str | None]
    calls: int
    error: str = ""
    log: str = ""


def _context(call: _Call, resources: Mapping[str, Any]) -> AssetContext:
    definition = call.spec.partitions or UNPARTITIONED
    first = call.keys[0] if call.keys else ""
    if not first:
        return AssetContext(asset_key=call.spec.key, resources=resources)
    window = None
    if definition.is_time:
        start, end = definition.time_window(first), definition.time_window(call.keys[-1])
        window = TimeWindowRange(start.start, end.end)
    return AssetContext(
        asset_key=call.spec.key,
        partition_key=first,
        partition_keys=call.keys,
        partition=definition.split(first),
        time_window=window,
        resources=resources,
    )


def _versions(call: _Call, result: object) -> dict[str, str | None]:
    """The versions per key from what the observe function returned."""
    if not call.batch:
        return {call.keys[0]: None if result is None else str(result)}
    if not isinstance(result, Mapping):
        raise TypeError(
            f"a batch observe function returns a mapping of partition key to data version, "
            f"got {type(result).__name__}"
        )
    asked = set(call.keys)
    extra = sorted(str(k) for k in result if k not in asked)
    if extra:
        raise ValueError(
            f"returned versions for partitions it was not asked for: {', '.join(extra[:3])}"
            + (", ..." if len(extra) > 3 else "")
            + " (observe the keys in context.partition_keys)"
        )
    return {k: None if result.get(k) is None else str(result[k]) for k in call.keys}


def _observe(call: _Call, resources: Mapping[str, Any], sleep: Callable[[float], None]) -> _Result:
    """Call the observe function, retrying with the source's policy; never raises."""
    spec = call.spec
    observe = spec.fn
    assert observe is not None  # only sources with an observe function are observed
    policy = spec.retry
    attempts = 1 if policy is None else policy.max_attempts
    rng = random.Random()
    error = log = ""
    for attempt in range(1, attempts + 1):
        if attempt > 1 and policy is not None:
            sleep(policy.delay_before(attempt, rng))
        try:
            context = _context(call, resources)
            returned = observe(context) if spec.context_param else observe()
            return _Result(_versions(call, returned), attempt)
        except Exception as exc:
            first_line = (str(exc).splitlines() or [""])[0]
            error = f"{type(exc).__name__}: {first_line}".rstrip(": ")
            tb = exc.__traceback__
            user_frames = tb.tb_next if tb is not None and tb.tb_next is not None else tb
            log = f"observing {spec.key} failed (attempt {attempt} of {attempts})\n"
            log += "".join(traceback.format_exception(type(exc), exc, user_frames))
    return _Result({}, attempts, error, log)


def _calls(project: Project, needed: Mapping[AssetKey, PartitionSubset]) -> list[_Call]:
    calls: list[_Call] = []
    for key, subset in needed.items():
        spec = project.graph.spec(key)
        keys = tuple(subset)
        if not keys:
            continue
        definition: PartitionsDefinition = spec.partitions or UNPARTITIONED
        if spec.batch and definition.dimensions:
            calls.append(_Call(spec, keys, batch=True))
        else:
            calls.extend(_Call(spec, (k,), batch=False) for k in keys)
    return calls


def observe_sources(
    project: Project,
    needed: Mapping[AssetKey, PartitionSubset],
    *,
    max_workers: int = OBSERVE_THREADS,
    sleep: Callable[[float], None] = time.sleep,
) -> Observed:
    """Observe ``needed`` (per source, the partitions to observe), ``max_workers`` calls
    at once; a raising call (after the source's retries) becomes failures, not an error.

    Args:
        project: the loaded project (its graph and resources).
        needed: per observed source, the partitions a plan reads.
        max_workers: observe calls at once.
        sleep: waits between retries (tests pass a recorder).
    """
    calls = _calls(project, needed)
    resources = project.loaded.definitions.resources
    if len(calls) <= 1 or max_workers <= 1:
        results = [_observe(c, resources, sleep) for c in calls]
    else:
        with ThreadPoolExecutor(
            max_workers=min(max_workers, len(calls)), thread_name_prefix="partita-observe"
        ) as pool:
            results = list(pool.map(lambda c: _observe(c, resources, sleep), calls))
    versions: dict[tuple[str, str], str] = {}
    failures: list[FailedObservation] = []
    for call, result in zip(calls, results, strict=True):
        if result.error:
            failures.extend(
                FailedObservation(call.spec.key, k, result.error, result.calls, result.log)
                for k in call.keys
            )
            continue
        for k, version in result.versions.items():
            if version is not None:
                versions[(str(call.spec.key), k)] = version
    return Observed(versions, tuple(failures), sum(r.calls for r in results))


def record_observations(catalog: Catalog, observed: Observed, now: datetime) -> int:
    """Record the versions that changed (and those of partitions whose last observation
    failed) at ``now``; return how many were recorded."""
    if not observed.versions:
        return 0
    sources = sorted({asset for asset, _ in observed.versions})
    before = catalog.planner_state(sources)
    known = {
        (a, p): v
        for a, p, v in zip(
            before.observations["asset"].to_pylist(),
            before.observations["partition"].to_pylist(),
            before.observations["data_version"].to_pylist(),
            strict=True,
        )
    }
    failed = set(
        zip(before.failed["asset"].to_pylist(), before.failed["partition"].to_pylist(), strict=True)
    )
    recorded = 0
    for (asset, partition), version in observed.versions.items():
        stored = (asset, partition_column(partition or None))
        if known.get(stored) != version or stored in failed:
            catalog.record_observation(
                Observation(asset, partition or None, version, observed_at=now)
            )
            recorded += 1
    return recorded
