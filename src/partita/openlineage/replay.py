"""The catalog's history as OpenLineage events (``partita lineage export --openlineage``).

Each run of kind ``materialize`` is replayed as the live events would have
been: START and a terminal event of the Partita run, and per partition of a
selected asset a START (when its first attempt started) and a terminal event
(its last attempt: COMPLETE with what was written, read and checked, FAIL with
the error, ABORT when cancelled or left running by a run that died). Run ids
are the ones the live events carry (:class:`~partita.openlineage.runs.ParentRun`),
so loading a replay into a lineage server that got the live events adds nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

from openlineage.client.event_v2 import RunEvent

from partita.errors import PartitaError
from partita.openlineage.facets import CheckResult
from partita.openlineage.runs import EventBuilder, ParentRun, Written
from partita.records import UNPARTITIONED, CatalogReader, Input, Materialization, StepAttempt

__all__ = ["replay"]

_ALL = 1 << 62
"""A limit that is no limit."""

_ENDED_BADLY = {"failed": "fail", "timed_out": "fail", "abandoned": "fail"}


def _inputs(catalog: CatalogReader, ids: Sequence[int]) -> dict[int, tuple[Input, ...]]:
    found: dict[int, list[Input]] = defaultdict(list)
    if not ids:
        return {}
    table = catalog.inputs_of(list(ids)).to_pylist()
    for row in table:
        partition = row["upstream_partition"]
        found[int(row["materialization_id"])].append(
            Input(
                upstream_asset=row["upstream_asset"],
                upstream_partition=None if partition in (None, UNPARTITIONED) else partition,
                upstream_data_version=row["upstream_data_version"] or "",
                upstream_materialization_id=row["upstream_materialization_id"],
            )
        )
    return {mid: tuple(items) for mid, items in found.items()}


def _keys(
    builder: EventBuilder, attempt: StepAttempt, built: Sequence[str | None]
) -> list[str | None]:
    """The partitions of one step: its key, or each key of a batch's range."""
    label = attempt.partition
    if label is None or ".." not in label:
        return [label]
    definition = builder.asset(attempt.asset).partitions
    if definition is not None:
        try:
            return list(definition.parse_range(label))
        except (PartitaError, ValueError, TypeError):
            pass
    return list(built) or [label]


def _checks(catalog: CatalogReader, ids: Sequence[int]) -> dict[int, list[CheckResult]]:
    if not ids:
        return {}
    return {
        mid: [
            CheckResult(
                name=r.check_name,
                passed=r.passed,
                severity=r.severity,
                message=r.message,
                failing_rows=r.failing_rows,
                total_rows=r.total_rows,
            )
            for r in records
            if r.source == "build"
        ]
        for mid, records in catalog.checks_of_materializations(list(ids)).items()
    }


def replay(
    catalog: CatalogReader,
    builder: EventBuilder,
    assets: Sequence[str],
    *,
    now: datetime,
    max_runs: int = 1_000_000,
) -> Iterator[RunEvent]:
    """The OpenLineage events of the catalog's runs of ``assets``, oldest run first.

    Runs that built none of ``assets`` are left out, and so are runs still running.
    """
    wanted = set(assets)
    by_run: dict[str, dict[str, list[Materialization]]] = defaultdict(lambda: defaultdict(list))
    for asset in assets:
        for mat in catalog.history(asset, limit=_ALL):
            by_run[mat.run_id][asset].append(mat)
    summaries = catalog.runs(now=now, limit=max_runs)
    for summary in sorted(summaries, key=lambda s: s.run.started_at):
        run = summary.run
        if run.kind != "materialize" or str(run.status) == "running":
            continue
        attempts = [a for a in catalog.attempts(run.run_id) if a.asset in wanted]
        if not attempts:
            continue
        yield from _replay_run(catalog, builder, run.run_id, run.started_at, attempts, by_run)
        parent = ParentRun(run.run_id, run.started_at)
        yield builder.run_finished(
            parent,
            run.finished_at or run.heartbeat_at or run.started_at,
            str(run.status),
            run.error,
        )


def _replay_run(
    catalog: CatalogReader,
    builder: EventBuilder,
    run_id: str,
    started_at: datetime,
    attempts: Sequence[StepAttempt],
    by_run: dict[str, dict[str, list[Materialization]]],
) -> Iterator[RunEvent]:
    parent = ParentRun(run_id, started_at)
    yield builder.run_started(parent, started_at)
    steps: dict[tuple[str, str | None], list[StepAttempt]] = defaultdict(list)
    for attempt in attempts:
        steps[(attempt.asset, attempt.partition)].append(attempt)
    mats = [m for per_asset in by_run.get(run_id, {}).values() for m in per_asset]
    ids = [m.materialization_id for m in mats if m.materialization_id is not None]
    inputs = _inputs(catalog, ids)
    checks = _checks(catalog, ids)
    written = {(m.asset, m.partition): m for m in mats}
    for (asset, _label), tries in steps.items():
        first, last = tries[0], tries[-1]
        if last.status == "skipped":
            continue
        built = [m.partition for m in by_run.get(run_id, {}).get(asset, [])]
        for key in _keys(builder, last, built):
            yield builder.step_started(parent, asset, key, first.started_at)
            ended = last.finished_at or last.started_at
            if last.status == "succeeded":
                mat = written.get((asset, key))
                mid = None if mat is None else mat.materialization_id
                done = (
                    None
                    if mat is None
                    else Written(
                        data_version=mat.data_version,
                        rows=mat.rows,
                        bytes=mat.bytes,
                        schema=mat.schema,
                        inputs=inputs.get(mid, ()) if mid is not None else (),
                    )
                )
                yield builder.step_completed(
                    parent, asset, key, ended, done, checks.get(mid, []) if mid else []
                )
            elif str(last.status) in _ENDED_BADLY:
                yield builder.step_failed(parent, asset, key, ended, last.error or str(last.status))
            else:
                yield builder.step_aborted(parent, asset, key, ended)
