"""Evaluating sensors: file arrival, source observation, custom functions.

An evaluation returns its record, its new cursor and the files it handled;
the daemon writes the three in one transaction *after* the runs it launched
finish. A daemon killed before that evaluates the same files again on
restart: adding dynamic partition keys is idempotent, and the run plans only
partitions that are still stale, so no file is missed and none is built twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from partita.api import Project, RunResult
from partita.automation.launching import failure_text, tick_status
from partita.errors import PartitaError
from partita.partitions import check_dynamic_key
from partita.records import AutomationRecords, TickKind, TickRecord, TickStatus
from partita.sensors import (
    AnySensor,
    CustomSensor,
    FileSensor,
    RunRequest,
    SensorContext,
    SensorResult,
    SourceSensor,
)

__all__ = ["SensorEvaluation", "evaluate_sensor", "file_keys", "list_files"]

Launch = Callable[[RunRequest, datetime], RunResult]


@dataclass(frozen=True)
class SensorEvaluation:
    """What one sensor evaluation records: the record, the cursor, the handled files."""

    record: TickRecord
    cursor: str | None = None
    files: tuple[str, ...] = ()


def list_files(sensor: FileSensor, root: Path) -> list[str]:
    """The names of the files under the sensor's folder or prefix that match, sorted.

    A relative folder is relative to ``root`` (the project folder); a URI
    (``s3://...``) is listed through :mod:`pyarrow.fs`.

    Raises:
        PartitaError: the folder or prefix cannot be listed.
    """
    from pyarrow import fs  # noqa: PLC0415  (pyarrow.fs: only for file sensors)

    location = sensor.path
    try:
        if "://" in location:
            filesystem, base = fs.FileSystem.from_uri(location)
        else:
            filesystem, base = fs.LocalFileSystem(), str((root / location).resolve())
        found = filesystem.get_file_info(fs.FileSelector(base, allow_not_found=True))
    except (OSError, ValueError) as exc:
        raise PartitaError(
            f"sensor {sensor.name!r}: cannot list {location}: {exc}",
            hint="check the path (relative paths start at the project folder)",
        ) from exc
    return sorted(
        info.base_name
        for info in found
        if info.type == fs.FileType.File and sensor.matches(info.base_name)
    )


def _run_all(
    requests: Sequence[RunRequest], now: datetime, launch: Launch
) -> tuple[TickStatus, tuple[str, ...], str]:
    """Launch each request; the worst status, the run ids and what failed."""
    if not requests:
        return TickStatus.NOTHING_TO_DO, (), ""
    statuses: list[TickStatus] = []
    run_ids: list[str] = []
    failures: list[str] = []
    for request in requests:
        result = launch(request, now)
        statuses.append(tick_status(result))
        if result.run_id is not None:
            run_ids.append(result.run_id)
        if failure_text(result):
            failures.append(failure_text(result))
    for worst in (TickStatus.FAILED, TickStatus.SUCCEEDED):
        if worst in statuses:
            return worst, tuple(run_ids), "; ".join(failures)
    return TickStatus.NOTHING_TO_DO, tuple(run_ids), ""


def _joined(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _record(
    sensor: AnySensor,
    now: datetime,
    status: TickStatus,
    run_ids: tuple[str, ...] = (),
    covered: tuple[str, ...] = (),
    detail: str = "",
) -> TickRecord:
    return TickRecord(
        kind=TickKind.SENSOR,
        name=sensor.name,
        tick_at=now,
        evaluated_at=now,
        status=status,
        run_ids=run_ids,
        covered=covered,
        detail=detail,
    )


def _file_sensor(
    sensor: FileSensor, project: Project, records: AutomationRecords, now: datetime, launch: Launch
) -> SensorEvaluation:
    names = list_files(sensor, project.loaded.root)
    handled = records.handled_files(sensor.name, names)
    new = tuple(name for name in names if name not in handled)
    if not new:
        return SensorEvaluation(_record(sensor, now, TickStatus.NOTHING_TO_DO))
    if sensor.partitions is None:
        request = RunRequest(sensor.selection)
        detail = f"{len(new)} new files"
    else:
        keyed, rejected = file_keys(sensor, new)
        rejections = "; ".join(f"skipped {name!r}: {why}" for name, why in rejected.items())
        if not keyed:
            # nothing to build; the rejected files are handled (reported once, not retried)
            record = _record(sensor, now, TickStatus.ERROR, (), new, rejections)
            return SensorEvaluation(record, files=new)
        keys = list(dict.fromkeys(keyed.values()))
        with project.open_catalog() as catalog:
            added = catalog.dynamic_partitions.add(sensor.partitions, keys)
        if len(keys) == 1:
            request = RunRequest(sensor.selection, partition_key=keys[0])
        else:
            request = RunRequest(sensor.selection, partition_range=(keys[0], keys[-1]))
        detail = _joined(
            f"{len(keyed)} new files; {len(added)} keys added to {sensor.partitions}", rejections
        )
    status, run_ids, failed = _run_all([request], now, launch)
    record = _record(sensor, now, status, run_ids, new, _joined(detail, failed))
    return SensorEvaluation(record, files=new)


def file_keys(sensor: FileSensor, names: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The dynamic partition key of each file name, and why the others have none.

    A name whose key the sensor's ``key`` function cannot make, or that
    ``DynamicPartitions(sensor.partitions)`` rejects (spaces, brackets...), is
    left out with its reason (one line), so one badly named file never blocks the rest.
    """
    assert sensor.partitions is not None
    keyed: dict[str, str] = {}
    rejected: dict[str, str] = {}
    for name in names:
        try:
            keyed[name] = check_dynamic_key(sensor.partitions, sensor.partition_key(name))
        except PartitaError as exc:
            rejected[name] = exc.message
        except Exception as exc:  # the project's key function raised
            rejected[name] = f"key({name!r}) raised {type(exc).__name__}: {exc}"
    return keyed, rejected


def _source_sensor(sensor: SourceSensor, now: datetime, launch: Launch) -> SensorEvaluation:
    status, run_ids, failed = _run_all([RunRequest(sensor.selection)], now, launch)
    return SensorEvaluation(_record(sensor, now, status, run_ids, detail=failed))


def _custom_sensor(
    sensor: CustomSensor,
    project: Project,
    records: AutomationRecords,
    now: datetime,
    launch: Launch,
) -> SensorEvaluation:
    cursor = records.cursor(TickKind.SENSOR, sensor.name)
    result: SensorResult = sensor.evaluate(SensorContext(name=sensor.name, now=now, cursor=cursor))
    if result.dynamic_partitions:
        with project.open_catalog() as catalog:
            for name, keys in result.dynamic_partitions.items():
                catalog.dynamic_partitions.add(name, keys)
    status, run_ids, failed = _run_all(result.run_requests, now, launch)
    detail = f"{len(result.run_requests)} run requests" if result.run_requests else ""
    return SensorEvaluation(
        _record(sensor, now, status, run_ids, detail=_joined(detail, failed)),
        cursor=result.cursor,
    )


def evaluate_sensor(
    sensor: AnySensor, project: Project, records: AutomationRecords, now: datetime, launch: Launch
) -> SensorEvaluation:
    """Evaluate ``sensor`` at ``now`` and launch the runs it asks for.

    Raises whatever the sensor raises (the daemon records it as an ``error``).
    """
    if isinstance(sensor, FileSensor):
        return _file_sensor(sensor, project, records, now, launch)
    if isinstance(sensor, SourceSensor):
        return _source_sensor(sensor, now, launch)
    return _custom_sensor(sensor, project, records, now, launch)
