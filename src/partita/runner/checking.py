"""Checking a partition in the worker: staged data before publishing, published data on request.

Write-audit-publish: the worker stages a partition, reads the staged rows back
through its store (:func:`staged_data`), calls the run's
:data:`StagedChecks` function with a :class:`CheckRequest`, and publishes only
when no ``error``-severity result failed. The default, :func:`run_asset_checks`,
runs every check of the asset (:func:`partita.checks.evaluate.run_checks`) and
turns the outcomes into catalog :class:`~partita.records.CheckRecord` values.

Everything here reads data through the :class:`~partita.io.protocol.Store`
protocol only: the staged rows with ``read_staged`` (or the staged write's
declared local Parquet file), published rows with ``read``. A ``relationship``
check reads exactly the partitions of the other asset that its edge maps the
checked partition to (:meth:`partita.graph.AssetGraph.relationship_edge`): the
task's reads when building, the mapping evaluated at ``now`` when checking
published data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from partita.assets import AssetSpec
from partita.checks import AnyCheck, CheckSpec
from partita.checks.data import CheckData
from partita.checks.evaluate import run_checks
from partita.checks.outcome import CheckOutcome
from partita.context import AssetContext
from partita.errors import PartitaError, StorageError
from partita.graph import AssetGraph
from partita.io.paths import PartitionPath
from partita.io.protocol import StagedWrite, Store
from partita.keys import AssetKey
from partita.partitions import UNPARTITIONED
from partita.records import CheckRecord

if TYPE_CHECKING:
    from partita.checks.builtin_eval import Related

__all__ = [
    "CheckRequest",
    "StagedChecks",
    "check_record",
    "failure_text",
    "partition_path",
    "published_data",
    "related_keys",
    "related_reader",
    "run_asset_checks",
    "staged_data",
]


@dataclass(frozen=True)
class CheckRequest:
    """What a check run needs: the data, the checks, and where they run.

    Attributes:
        data: the partition's rows (a local Parquet file read in place, or an Arrow table).
        spec: the asset (or source) checked.
        checks: its built-in and custom checks (``AssetGraph.checks_of``).
        partition: the partition key (``None`` when unpartitioned).
        context: the step's context, handed to custom checks that take one.
        related: for ``relationship`` checks: an asset name to the rows it is checked against.
    """

    data: CheckData
    spec: AssetSpec
    checks: tuple[AnyCheck, ...]
    partition: str | None
    context: AssetContext | None = None
    related: Related | None = None


StagedChecks = Callable[[CheckRequest], Sequence[CheckRecord]]
"""``checks(request) -> results``: runs on each staged partition before it is
published; a failed ``error``-severity result blocks publication. It must be a
module-level function (it is sent to worker processes)."""


def partition_path(spec: AssetSpec, key: str) -> PartitionPath:
    """The store's form of a partition key (``()`` when unpartitioned)."""
    if spec.partitions is None or not spec.partitions.dimensions:
        return ()
    return tuple(spec.partitions.split(key).items())


def check_record(outcome: CheckOutcome, asset: str, *, partition: str | None = None) -> CheckRecord:
    """The catalog record of one outcome (sample rows and metadata as JSON text)."""
    return CheckRecord(
        asset=asset,
        partition=outcome.partition if partition is None else partition,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=str(outcome.severity),
        message=outcome.message,
        kind=outcome.kind,
        failing_rows=outcome.failing_rows,
        total_rows=outcome.total_rows,
        failing_fraction=outcome.failing_fraction,
        sample=json.dumps([dict(row) for row in outcome.sample], allow_nan=False),
        metadata=json.dumps(dict(outcome.metadata), allow_nan=False, default=str),
    )


def run_asset_checks(request: CheckRequest) -> list[CheckRecord]:
    """The default :data:`StagedChecks`: every check of the asset on its staged partition."""
    if not request.checks:
        return []
    outcomes = run_checks(
        request.checks,
        request.data,
        partition=request.partition,
        context=request.context,
        related=request.related,
    )
    return [check_record(o, str(request.spec.key)) for o in outcomes]


def failure_text(records: Sequence[CheckRecord]) -> str:
    """``check_failed: name (3 of 10 rows fail), other: message`` for blocking failures."""
    parts = []
    for record in records:
        if record.failing_rows is not None and record.total_rows is not None:
            detail = f"{record.failing_rows} of {record.total_rows} rows fail"
        else:
            detail = record.message
        parts.append(f"{record.check_name} ({detail})" if detail else record.check_name)
    return "check_failed: " + "; ".join(parts)


def staged_data(store: Store, staged: StagedWrite) -> CheckData:
    """The staged rows as checks read them.

    A store that declares a local Parquet file for the staged write
    (``staged.local_parquet``) has it scanned in place, out of core; any other
    store's staged rows are read with ``store.read_staged`` as one Arrow table.
    """
    if staged.local_parquet is not None:
        return staged.local_parquet
    table: pa.Table = store.read_staged(staged, as_type=pa.Table)
    return table


def published_data(store: Store, asset: AssetKey, partition: PartitionPath) -> CheckData | None:
    """The published rows of one partition (read through the store, with its dimension
    columns as a read adds them); ``None`` when the partition is not published."""
    try:
        table: pa.Table = store.read(asset, [partition], as_type=pa.Table)
    except StorageError:
        if partition in store.list_partitions(asset):
            raise  # published but unreadable: say why
        return None
    return table


def related_keys(
    graph: AssetGraph,
    key: AssetKey,
    partition: str | None,
    now: datetime,
    published: Callable[[AssetKey], Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    """For each asset that ``relationship`` checks of ``key`` read: the partitions one
    partition is checked against, evaluated at ``now`` (when no task computed them).

    ``published(asset)`` lists the asset's published partition keys: only those
    are read. A mapping that cannot be evaluated here (dynamic partitions need
    the catalog) falls back to every published partition.
    """
    spec = graph.spec(key)
    found: dict[str, tuple[str, ...]] = {}
    for item in graph.checks_of(key):
        if not isinstance(item, CheckSpec) or item.kind != "relationship":
            continue
        edge = graph.relationship_edge(key, item.name)
        if edge is None or str(edge.upstream) in found:
            continue
        stored = list(published(edge.upstream))
        up_def = graph.spec(edge.upstream).partitions
        try:
            definition = spec.partitions or UNPARTITIONED
            one = definition.subset([partition or ""])
            wanted = set(edge.mapping.upstream(one, definition, up_def, now))
            found[str(edge.upstream)] = tuple(k for k in stored if k in wanted)
        except PartitaError:
            found[str(edge.upstream)] = tuple(stored)
    return found


def related_reader(
    graph: AssetGraph,
    key: AssetKey,
    store_of: Callable[[AssetKey], Store],
    reads: Mapping[str, tuple[str, ...]],
    own: CheckData,
) -> Related:
    """``related(name)`` for the ``relationship`` checks of ``key``: the rows of the
    partitions of ``name`` in ``reads`` (read through its store), ``own`` when
    ``name`` is ``key`` itself, ``None`` when nothing of it is published."""

    def related(name: str) -> pa.Table | str | None:
        target = graph.resolve(name)
        if target == key:
            return own if isinstance(own, pa.Table | str) else None
        keys = reads.get(str(target), ())
        if not keys:
            return None
        up_spec = graph.spec(target)
        paths = [partition_path(up_spec, k) for k in keys]
        table: pa.Table = store_of(target).read(target, paths, as_type=pa.Table)
        return table

    return related
