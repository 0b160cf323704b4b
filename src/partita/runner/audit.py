"""Write-audit-publish: running an asset's checks on its staged (or published) data.

The worker stages a partition, calls the audit hook with an
:class:`AuditRequest` (the staged Parquet file, the asset's checks, the step
context and a way to read related assets), and publishes only when no
``error``-severity result failed. The default hook, :func:`asset_checks`,
runs the built-in checks in one DuckDB statement
(:func:`partita.audit.evaluate`) and each custom ``@check`` function
(:func:`partita.audit.run_custom`) on the same data, and turns the outcomes
into catalog :class:`~partita.records.CheckRecord` values.

The same functions check data that is already published (``partita check``
and the checks of sources): :func:`published_data` finds it in its store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from partita.assets import AssetSpec
from partita.audit import CheckData, CheckOutcome, Related, evaluate, run_custom
from partita.checks import AnyCheck, CheckDefinition, CheckSpec
from partita.context import AssetContext
from partita.io.parquet import DATA_FILE, ParquetStore
from partita.io.paths import PartitionPath, partition_dir
from partita.io.protocol import Store
from partita.keys import AssetKey
from partita.records import CheckRecord

__all__ = [
    "AuditHook",
    "AuditRequest",
    "asset_checks",
    "check_record",
    "failure_text",
    "published_data",
    "related_reader",
    "run_checks",
]


@dataclass(frozen=True)
class AuditRequest:
    """What a check run needs: the data, the checks, and where they run.

    Attributes:
        data: the staged Parquet file (or an Arrow table of published data).
        spec: the asset (or source) checked.
        checks: its built-in and custom checks (``AssetGraph.checks_of``).
        partition: the partition key (``None`` when unpartitioned).
        context: the step's context, handed to custom checks that take one.
        related: for ``relationship`` checks: an asset name to its published data.
    """

    data: CheckData
    spec: AssetSpec
    checks: tuple[AnyCheck, ...]
    partition: str | None
    context: AssetContext | None = None
    related: Related | None = None


AuditHook = Callable[[AuditRequest], Sequence[CheckRecord]]
"""``audit(request) -> check results`` run on staged data before publishing; a
failed ``error``-severity result blocks publication. It must be a module-level
function (it is sent to worker processes)."""


def run_checks(
    checks: Sequence[AnyCheck],
    data: CheckData,
    *,
    partition: str | None,
    context: AssetContext | None = None,
    related: Related | None = None,
) -> list[CheckOutcome]:
    """Run built-in checks (one DuckDB statement) and custom ones on ``data``, in order.

    A table is shared by every check; a Parquet path is read where it lies
    (built-ins scan it out of core; each custom check loads it as its
    parameter's annotation asks).
    """
    builtins = [c for c in checks if isinstance(c, CheckSpec)]
    found = iter(evaluate(builtins, data, partition=partition, related=related) if builtins else [])
    outcomes: list[CheckOutcome] = []
    for item in checks:
        if isinstance(item, CheckDefinition):
            outcomes.append(run_custom(item, data, context, partition=partition))
        else:
            outcomes.append(next(found))
    return outcomes


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


def asset_checks(request: AuditRequest) -> list[CheckRecord]:
    """The default audit hook: every check of the asset on its staged partition."""
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


def published_data(store: Store, asset: AssetKey, partition: PartitionPath) -> CheckData | None:
    """The published data of one partition, as checks read it; ``None`` when there is none.

    A :class:`~partita.io.parquet.ParquetStore` partition is its Parquet file,
    read in place; any other store's partition is read through the store as an
    Arrow table.
    """
    if isinstance(store, ParquetStore):
        file = partition_dir(store.root, asset, partition) / DATA_FILE
        return str(file) if file.is_file() else None
    if partition not in store.list_partitions(asset):
        return None
    table: pa.Table = store.read(asset, [partition], as_type=pa.Table)
    return table


def related_reader(
    resolve: Callable[[str], AssetKey], store_of: Callable[[AssetKey], Store]
) -> Related:
    """``related(name)``: every published partition of an asset, as one Arrow table.

    A relationship compares against all published partitions of the other
    asset (not only the ones a partition mapping would pick), so a key that
    exists anywhere in it passes. ``None`` when nothing is published.
    """

    def related(name: str) -> pa.Table | str | None:
        key = resolve(name)
        store = store_of(key)
        partitions = store.list_partitions(key)
        if not partitions:
            return None
        if partitions == [()] and isinstance(store, ParquetStore):
            return published_data(store, key, ())
        table: pa.Table = store.read(key, partitions, as_type=pa.Table)
        return table

    return related
