"""Comparing the store with the catalog: ``partita verify [SELECTION] [--repair]``.

The catalog says which partitions are built and with which data version; the
store holds the data. Someone may delete or edit a published file (or rows of
a DuckDB table) behind Partita's back, and then the catalog still calls the
partition fresh. :func:`verify` finds, per selected asset:

- ``missing``: recorded as built (a current materialization with data), but
  not in the store;
- ``changed``: stored, but the data version of what is stored now (hashed as
  the runner hashes it when it writes, :mod:`partita.versions.data`) is not the
  recorded one;
- ``unrecorded``: stored, but no current materialization describes it (the
  leftover of a run killed between publishing and recording, or of a
  partition key no longer declared).

Sources are skipped (Partita observes them, it does not store them), and so
are partitions whose latest build stored no data (a side-effect asset). With
``quick=True`` nothing is hashed: only existence is compared, so ``changed``
is never reported.

``repair=True`` marks every ``missing`` and ``changed`` partition stale: it
records, in a run of kind ``verify``, a failed attempt saying what was found,
so the planner plans the partition (reason ``failed``, explained as "stored
data missing/changed, found by ``partita verify``") and the next
``materialize`` rebuilds it; downstream partitions follow only if the rebuilt
data differs from what they read. ``unrecorded`` partitions are left in place
and reported: the planner already sees them as ``missing`` (so a rebuild
overwrites them), deleting data nobody asked to delete is never done, and
``partita wipe`` removes one that is no longer wanted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partita.api.project import Project, ProjectLike, as_project
from partita.api.stored_versions import StoredPartition, hash_stored
from partita.errors import PartitaError, StorageError
from partita.io import PartitionPath
from partita.keys import AssetKey
from partita.partitions import PartitionsDefinition
from partita.records import (
    DRIFT_ERROR_PREFIX,
    UNPARTITIONED,
    Catalog,
    RunStatus,
    StepAttempt,
    StepStatus,
    partition_value,
)
from partita.runner import WorkerRuntime
from partita.runner.options import run_started_here
from partita.selection import select

__all__ = [
    "AssetVerification",
    "Drift",
    "DriftKind",
    "VerifyResult",
    "verify",
]


class DriftKind(StrEnum):
    """How the store and the catalog disagree about one partition."""

    MISSING = "missing"
    CHANGED = "changed"
    UNRECORDED = "unrecorded"


@dataclass(frozen=True)
class Drift:
    """One partition on which the store and the catalog disagree.

    Attributes:
        asset: the asset key.
        partition: the partition key (``None`` for an unpartitioned asset).
        kind: missing, changed or unrecorded.
        recorded_version: the data version the catalog recorded (``None``: unrecorded).
        stored_version: the data version of the stored data now (``None``: missing,
            or not hashed).
        detail: one line saying what was found.
    """

    asset: str
    partition: str | None
    kind: DriftKind
    recorded_version: str | None
    stored_version: str | None
    detail: str

    @property
    def label(self) -> str:
        """``asset [partition]`` (just the asset when unpartitioned)."""
        return self.asset if self.partition is None else f"{self.asset} [{self.partition}]"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": self.asset,
            "partition": self.partition,
            "kind": str(self.kind),
            "recorded_version": self.recorded_version,
            "stored_version": self.stored_version,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AssetVerification:
    """What :func:`verify` found for one asset.

    Attributes:
        asset: the asset key.
        recorded: partitions with a current materialization that stored data.
        stored: partitions the store holds.
        hashed: stored and recorded partitions whose data was re-hashed.
        no_data: recorded partitions whose build stored no data (side effects),
            not looked for in the store.
        drifts: the disagreements, sorted by partition.
        skipped: why the asset was not compared (a source), else ``None``.
    """

    asset: str
    recorded: int = 0
    stored: int = 0
    hashed: int = 0
    no_data: int = 0
    drifts: tuple[Drift, ...] = ()
    skipped: str | None = None

    def count(self, kind: DriftKind) -> int:
        """How many drifts of ``kind``."""
        return sum(1 for d in self.drifts if d.kind == kind)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": self.asset,
            "recorded": self.recorded,
            "stored": self.stored,
            "hashed": self.hashed,
            "no_data": self.no_data,
            "missing": self.count(DriftKind.MISSING),
            "changed": self.count(DriftKind.CHANGED),
            "unrecorded": self.count(DriftKind.UNRECORDED),
            "skipped": self.skipped,
            "drifts": [d.to_json() for d in self.drifts],
        }


@dataclass(frozen=True)
class VerifyResult:
    """What ``partita verify`` found (and, with ``--repair``, marked stale).

    Attributes:
        assets: per selected asset, in topological order.
        quick: only existence was compared (nothing hashed).
        repaired: the drifts marked stale (missing and changed, with ``repair``).
        run_id: the run of kind ``verify`` that recorded the repair (``None``
            when nothing was recorded).
        duration_s: seconds the comparison took.
    """

    assets: tuple[AssetVerification, ...]
    quick: bool = False
    repaired: tuple[Drift, ...] = ()
    run_id: str | None = None
    duration_s: float = 0.0
    drifts: tuple[Drift, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "drifts", tuple(d for a in self.assets for d in a.drifts))

    @property
    def exit_code(self) -> int:
        """0 when store and catalog agree on every selected asset, 1 when drift was found
        (whether or not it was repaired)."""
        return 1 if self.drifts else 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``partita verify --json``, documented in docs/verify.md)."""
        return {
            "ok": not self.drifts,
            "quick": self.quick,
            "missing": sum(a.count(DriftKind.MISSING) for a in self.assets),
            "changed": sum(a.count(DriftKind.CHANGED) for a in self.assets),
            "unrecorded": sum(a.count(DriftKind.UNRECORDED) for a in self.assets),
            "repaired": [d.to_json() for d in self.repaired],
            "run_id": self.run_id,
            "duration_s": round(self.duration_s, 3),
            "assets": [a.to_json() for a in self.assets],
        }


def _key_of(definition: PartitionsDefinition | None, path: PartitionPath) -> str:
    """The catalog's partition key of a stored partition (``""`` when unpartitioned)."""
    if definition is None or not path:
        return UNPARTITIONED
    try:
        return definition.join(dict(path))
    except PartitaError:  # a stored key the definition no longer accepts
        return "|".join(value for _, value in path)


def _compare_asset(
    project: Project, catalog: Catalog, key: AssetKey, latest: pa.Table, *, quick: bool
) -> AssetVerification:
    spec = project.graph.spec(key)
    if spec.is_source:
        return AssetVerification(str(key), skipped="source: observed, not stored by Partita")
    definition = spec.partitions if spec.partitions and spec.partitions.dimensions else None
    store = WorkerRuntime.for_data_path(project.graph, project.data_path).store_of(key)
    rows = latest.filter(pc.equal(latest["asset"], str(key)))
    recorded = dict(
        zip(
            (str(p) for p in rows["partition"].to_pylist()),
            (str(v) for v in rows["data_version"].to_pylist()),
            strict=True,
        )
    )
    stored = {_key_of(definition, path): path for path in store.list_partitions(key)}
    with_data = {p: v for p, v in recorded.items() if v}
    drifts: list[Drift] = []
    to_hash: list[StoredPartition] = []
    for part, version in sorted(with_data.items()):
        value = partition_value(part)
        path = stored.get(part)
        if path is None:
            detail = f"recorded as built (data version {version[:12]}) but not in the store"
            drifts.append(Drift(str(key), value, DriftKind.MISSING, version, None, detail))
        elif not quick:
            found = catalog.latest_materialization(str(key), value)
            schema = None if found is None else found.schema
            count = 0 if found is None or found.rows is None else found.rows
            to_hash.append(StoredPartition(part, version, path, schema, count))
    for item, result in zip(to_hash, hash_stored(store, key, to_hash), strict=True):
        value = partition_value(item.partition)
        if isinstance(result, StorageError):
            detail = f"stored but unreadable: {result.message}"
            drifts.append(Drift(str(key), value, DriftKind.CHANGED, item.version, None, detail))
            continue
        now_version, why = result
        if now_version != item.version:
            detail = f"the store holds data version {now_version[:12] or '?'}"
            detail += f", recorded {item.version[:12]}" + (f" ({why})" if why else "")
            drifts.append(
                Drift(
                    str(key),
                    value,
                    DriftKind.CHANGED,
                    item.version,
                    now_version or None,
                    detail,
                )
            )
    for part in stored.keys() - with_data.keys():
        detail = "stored, but no current materialization records it"
        drifts.append(
            Drift(str(key), partition_value(part), DriftKind.UNRECORDED, None, None, detail)
        )
    drifts.sort(key=lambda d: (d.partition or "", d.kind))
    return AssetVerification(
        asset=str(key),
        recorded=len(with_data),
        stored=len(stored),
        hashed=len(to_hash),
        no_data=len(recorded) - len(with_data),
        drifts=tuple(drifts),
    )


def _error_text(drift: Drift) -> str:
    what = "missing" if drift.kind is DriftKind.MISSING else "changed"
    return f"{DRIFT_ERROR_PREFIX}{what}, found by `partita verify`: {drift.detail}"


def _repair(
    catalog: Catalog, drifts: Sequence[Drift], selection: str | None, now: datetime
) -> str | None:
    """Record a failed attempt for each drift in a run of kind ``verify``; its id."""
    if not drifts:
        return None
    holders = catalog.lease_holders([(d.asset, d.partition) for d in drifts], now=now)
    if holders:
        (asset, busy), run_id = next(iter(holders.items()))
        label = asset if busy is None else f"{asset} [{busy}]"
        raise PartitaError(
            f"{label} is being built by run {run_id}: nothing repaired",
            hint="wait for that run to finish (partita runs), then verify again",
        )
    run = run_started_here(now, "verify", () if selection is None else (selection,))
    run_id = run.run_id
    catalog.start_run(run)
    status = RunStatus.FAILED
    try:
        for drift in drifts:
            attempt = StepAttempt(
                run_id=run_id,
                asset=drift.asset,
                partition=drift.partition,
                attempt=1,
                status=StepStatus.FAILED,
                started_at=now,
                finished_at=now,
                error=_error_text(drift),
            )
            catalog.record_step_outcome(attempt)
        status = RunStatus.SUCCEEDED
    finally:
        catalog.finish_run(run_id, status, now=now)
    return run_id


def verify(
    project: ProjectLike,
    selection: str | Sequence[str] | None = None,
    *,
    repair: bool = False,
    quick: bool = False,
    home: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
) -> VerifyResult:
    """Compare the stored partitions of the selected assets with the catalog.

    ::

        result = partita.api.verify(project)                      # every asset
        result = partita.api.verify(project, "marts/*", repair=True)
        if result.drifts: ...

    Args:
        project: a loaded project, or definitions built in memory.
        selection: an asset selection (as for ``partita plan``); ``None``: every asset.
        repair: mark ``missing`` and ``changed`` partitions stale, so the next
            materialize rebuilds them (``unrecorded`` ones are only reported).
        quick: compare existence only; do not hash stored data (no ``changed``).
        home: where the catalog and default data live (as for :func:`materialize`).
        now: the time recorded for a repair (default: now, UTC).

    Raises:
        SelectionError: the selection matches nothing.
        PartitaError: with ``repair``, a run is building a drifted partition now.
    """
    started = time.perf_counter()
    moment = now or datetime.now(UTC)
    chosen: Project = as_project(project, home)
    keys = select(chosen.graph, selection)
    with chosen.open_catalog() as catalog:
        latest = catalog.planner_state([str(k) for k in keys]).latest
        assets = tuple(_compare_asset(chosen, catalog, k, latest, quick=quick) for k in keys)
        fixable = tuple(d for a in assets for d in a.drifts if d.kind is not DriftKind.UNRECORDED)
        run_id = None
        if repair:
            label = selection if isinstance(selection, str | None) else ",".join(selection)
            run_id = _repair(catalog, fixable, label, moment)
    return VerifyResult(
        assets=assets,
        quick=quick,
        repaired=fixable if repair else (),
        run_id=run_id,
        duration_s=time.perf_counter() - started,
    )
