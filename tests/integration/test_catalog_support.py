"""Shared builders for the catalog integration tests (through the catalog protocols)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from partita.records import Catalog, Input, Materialization, Run, StepAttempt, StepStatus

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def start_run(catalog: Catalog, run_id: str, when: float = 0.0) -> None:
    catalog.start_run(Run(run_id=run_id, started_at=at(when), host="", pid=os.getpid()))


def build(
    catalog: Catalog,
    run_id: str,
    asset: str,
    partition: str | None,
    version: str,
    inputs: list[tuple[str, str | None]] = (),  # type: ignore[assignment]
    *,
    when: float = 1.0,
    code_version: str = "c1",
    attempt: int = 1,
) -> int:
    """Record one successful step reading the latest version of each input partition."""
    resolved = []
    for up_asset, up_partition in inputs:
        latest = catalog.latest_materialization(up_asset, up_partition)
        assert latest is not None, (up_asset, up_partition)
        resolved.append(
            Input(up_asset, up_partition, latest.data_version, latest.materialization_id)
        )
    step = StepAttempt(
        run_id, asset, partition, attempt, StepStatus.SUCCEEDED, at(when), at(when + 0.5)
    )
    mat = Materialization(
        asset, partition, run_id, version, at(when + 0.5), code_version=code_version
    )
    (mid,) = catalog.record_step_outcome(step, [mat], [resolved])
    return mid
