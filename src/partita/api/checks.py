"""Check results, and checking published data without rebuilding it.

- :func:`check_results` is ``partita checks``: the results of every partition's
  current state (its latest build attempt's, and re-checks of its published
  data, each marked by ``source``), newest first, optionally only failed ones;
  results of checks no longer in the code are left out unless asked for.
- :func:`check_published` is ``partita check``: it runs the checks of the
  selected assets against their *published* partitions (useful after adding a
  check), records the results in a run of kind ``check`` and builds nothing.
- :func:`checks_by_materialization` feeds ``partita lineage`` / ``history``;
  :func:`checks_summary` counts a materialization's own (build) results and its
  latest re-check apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.compute as pc

from partita.api.project import Project
from partita.errors import PartitionKeyError
from partita.keys import AssetKey
from partita.records import UNPARTITIONED, CheckRecord, RunStatus
from partita.runner import WorkerRuntime
from partita.runner.options import run_started_here
from partita.selection import select

__all__ = [
    "CheckRun",
    "check_json",
    "check_published",
    "check_results",
    "checks_by_materialization",
    "checks_summary",
    "is_removed",
    "latest_recheck",
]


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def check_json(record: CheckRecord, *, removed: bool = False) -> dict[str, Any]:
    """One check result as JSON (``partita checks --json``; stable field names).

    ``source`` is ``build`` or ``recheck``; ``removed`` says the check is no
    longer defined in the code.
    """
    return {
        "asset": record.asset,
        "partition": record.partition,
        "check": record.check_name,
        "kind": record.kind,
        "severity": record.severity,
        "passed": record.passed,
        "failing_rows": record.failing_rows,
        "total_rows": record.total_rows,
        "failing_fraction": record.failing_fraction,
        "message": record.message,
        "sample": json.loads(record.sample),
        "metadata": json.loads(record.metadata),
        "source": record.source,
        "removed": removed,
        "run_id": record.run_id,
        "attempt": record.attempt,
        "materialization_id": record.materialization_id,
        "created_at": None if record.created_at is None else record.created_at.isoformat(),
    }


def latest_recheck(records: Sequence[CheckRecord]) -> list[CheckRecord]:
    """The results of the latest re-check run among ``records`` read from a catalog.

    The latest is the run of the re-check result recorded last (empty: none).
    """
    rechecks = [r for r in records if r.source == "recheck"]
    if not rechecks:
        return []
    newest = max(rechecks, key=lambda r: r.check_id or 0)
    return [r for r in rechecks if r.run_id == newest.run_id]


def _counts(records: Sequence[CheckRecord]) -> dict[str, Any]:
    return {
        "passed": sum(1 for r in records if r.passed),
        "failed": [r.check_name for r in records if r.blocking],
        "warned": [r.check_name for r in records if not r.passed and not r.blocking],
    }


def checks_summary(records: Sequence[CheckRecord]) -> dict[str, Any]:
    """One materialization's check results, its build's and its latest re-check's apart.

    ``{"passed": n, "failed": [names], "warned": [names], "rechecked": null}``
    counts the results of the attempt that built it; ``rechecked`` is ``{"run_id",
    "at", "passed", "failed", "warned"}`` of its latest ``partita check``, if any.
    """
    summary = _counts([r for r in records if r.source != "recheck"])
    recheck = latest_recheck(records)
    summary["rechecked"] = (
        {
            "run_id": recheck[0].run_id,
            "at": None if recheck[0].created_at is None else recheck[0].created_at.isoformat(),
            **_counts(recheck),
        }
        if recheck
        else None
    )
    return summary


def is_removed(project: Project, record: CheckRecord) -> bool:
    """Whether ``record``'s check (or its asset) is no longer defined in the code."""
    key = AssetKey.parse(record.asset)
    if key not in project.graph:
        return True
    return record.check_name not in {c.name for c in project.graph.checks_of(key)}


def _assets(project: Project, selection: str | None) -> list[str]:
    return [str(k) for k in select(project.graph, selection)] if selection else []


def check_results(
    project: Project,
    selection: str | None = None,
    partition: str | None = None,
    *,
    failed_only: bool = False,
    include_removed: bool = False,
    limit: int = 1000,
) -> tuple[CheckRecord, ...]:
    """The check results of each selected partition's current state, newest first.

    Per partition: the results of its latest build attempt (the attempt that
    built its published data, or a later one that failed, e.g. on a blocking
    check), and the latest re-check of its published data by ``partita
    check`` (``source == "recheck"``), see docs/checks.md. ``failed_only``
    keeps failed results (warnings included). Results of checks that are no
    longer defined are left out unless ``include_removed``
    (:func:`is_removed` tells them apart). Empty when the catalog does not
    exist yet.
    """
    assets = _assets(project, selection) if selection else None
    if partition is not None and assets is not None and len(assets) == 1:
        _, partition = project.resolve_partition(assets[0], partition)
    with project.existing_catalog() as catalog:
        if catalog is None:
            return ()
        found = catalog.current_check_results(assets=assets, partition=partition)
    kept = [
        r
        for r in found
        if (include_removed or not is_removed(project, r)) and not (failed_only and r.passed)
    ]
    return tuple(kept[:limit])


def checks_by_materialization(
    project: Project, materialization_ids: Sequence[int]
) -> dict[int, list[CheckRecord]]:
    """The check results recorded with each materialization (for lineage and history)."""
    with project.existing_catalog() as catalog:
        if catalog is None:
            return {}
        return catalog.checks_of_materializations(materialization_ids)


@dataclass(frozen=True)
class CheckRun:
    """What ``partita check`` did.

    Attributes:
        run_id: the run of kind ``check`` that recorded the results (``None``
            when there was nothing to check).
        results: one per check per partition checked.
        unchecked: ``asset [partition]`` of selected partitions with no published data.
    """

    run_id: str | None
    results: tuple[CheckRecord, ...]
    unchecked: tuple[str, ...] = ()

    @property
    def blocking(self) -> list[CheckRecord]:
        """The failed ``error`` checks."""
        return [r for r in self.results if r.blocking]

    @property
    def exit_code(self) -> int:
        """1 when a blocking check failed, else 0."""
        return 1 if self.blocking else 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``partita check --json``)."""
        return {
            "run_id": self.run_id,
            "passed": sum(1 for r in self.results if r.passed),
            "failed": len(self.blocking),
            "warned": sum(1 for r in self.results if not r.passed and not r.blocking),
            "unchecked": list(self.unchecked),
            "results": [check_json(r) for r in self.results],
        }


def check_published(
    project: Project,
    selection: str,
    partition: str | None = None,
    *,
    now: datetime | None = None,
) -> CheckRun:
    """Run the checks of ``selection`` on its published partitions; build nothing.

    Every materialized partition of each selected asset (the catalog's latest
    materializations; for a source, its observed partitions) is checked, or
    only ``partition``. Results are recorded in a run of kind ``check``, linked
    to the materialization they checked.

    Raises:
        SelectionError: the selection matches nothing.
        PartitionKeyError: ``partition`` is not valid for a selected asset.
    """
    started, clock = _now(now), time.monotonic()
    keys = [k for k in select(project.graph, selection) if project.graph.checks_of(k)]
    targets: list[tuple[AssetKey, str | None]] = []
    with project.open_catalog() as catalog:
        state = catalog.planner_state([str(k) for k in keys])
        for key in keys:
            definition = project.graph.spec(key).partitions
            if partition is not None:
                if definition is None:
                    raise PartitionKeyError(
                        f"{key} is not partitioned, so it has no partition {partition!r}",
                        hint="leave out --partition, or select partitioned assets only",
                    )
                targets.append((key, definition.validate(partition)))
                continue
            found: set[str] = set()
            for table in (state.latest, state.observations):
                rows = table.filter(pc.equal(table["asset"], str(key)))["partition"].to_pylist()
                found.update(str(p) for p in rows)
            if definition is None:
                targets.append((key, None))
            else:
                targets.extend((key, p) for p in sorted(found) if p != UNPARTITIONED)
        if not targets:
            return CheckRun(run_id=None, results=())
        run = run_started_here(
            started, "check", (selection,), () if partition is None else (partition,)
        )
        run_id = run.run_id
        catalog.start_run(run)
        runtime = WorkerRuntime.for_data_path(project.graph, project.data_path)
        results: list[CheckRecord] = []
        unchecked: list[str] = []
        status = RunStatus.FAILED
        error: str | None = "the check run failed"
        try:
            for key, part in targets:
                records, has_data = runtime.check_published(key, part, now=started, run_id=run_id)
                if not has_data:
                    unchecked.append(str(key) if part is None else f"{key} [{part}]")
                    continue
                latest = catalog.latest_materialization(str(key), part)
                mid = None if latest is None else latest.materialization_id
                stamp = _now(now)
                results.extend(
                    replace(
                        r, run_id=run_id, created_at=stamp, materialization_id=mid, source="recheck"
                    )
                    for r in records
                )
            catalog.record_checks(results)
            failed = [r for r in results if r.blocking]
            status = RunStatus.FAILED if failed else RunStatus.SUCCEEDED
            error = f"{len(failed)} blocking checks failed" if failed else None
        finally:
            ended = started + timedelta(seconds=time.monotonic() - clock)  # a real duration
            catalog.finish_run(run_id, status, now=ended, error=error)
        return CheckRun(run_id=run_id, results=tuple(results), unchecked=tuple(unchecked))
