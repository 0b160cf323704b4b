"""Reading the lineage catalog of a project, and its dynamic partitions.

Thin functions behind ``partita lineage`` / ``history`` / ``runs`` / ``logs``
/ ``partitions``: asset names are resolved through the project's graph (unknown
names get close suggestions), partition keys are checked by the asset's
partitions definition, and the catalog's own frozen values are returned.

Read-only functions never create the catalog: a project that has not run yet
has no ``.partita/catalog.db``, and reading it gives an empty answer (or, for
lineage and logs, a clear "never materialized" / "no such run" error).
``now`` is read here, at the edge, when the caller does not pass it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from partita.api.project import Project, dynamic_partitions_definitions
from partita.errors import CatalogError, DefinitionError, PartitionKeyError, StorageError
from partita.keys import AssetKey
from partita.partitions import DynamicPartitions
from partita.records import (
    Direction,
    LineageEdge,
    LineageGraph,
    LineageNode,
    Materialization,
    Run,
    RunSummary,
    StepAttempt,
)

__all__ = [
    "Direction",
    "DynamicPartitionsUpdate",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "RunLogs",
    "add_dynamic_partitions",
    "attempt_json",
    "delete_dynamic_partitions",
    "history",
    "lineage",
    "list_dynamic_partitions",
    "logs",
    "materialization_json",
    "run_json",
    "run_summary_json",
    "runs",
    "table_versions",
]


def _where(asset: str, partition: str | None) -> str:
    return asset if partition is None else f"{asset} {partition}"


def _resolve(
    project: Project, asset: str | AssetKey, partition: str | None
) -> tuple[str, str | None]:
    """The asset's key as the catalog stores it, and the partition key in canonical form."""
    key, canonical = project.resolve_partition(asset, partition)
    return str(key), canonical


def lineage(
    project: Project,
    asset: str | AssetKey,
    partition: str | None = None,
    direction: Direction = "up",
    depth: int = 10,
) -> LineageGraph:
    """The lineage of the latest materialization of one partition of ``asset``.

    ``direction="up"`` answers "what exactly was this built from?", ``"down"``
    "what did this exact version feed?", to ``depth`` levels. Raises
    :class:`~partita.errors.CatalogError` when the partition has never been
    materialized, and :class:`~partita.errors.PartitionKeyError` when a
    partitioned asset is asked without a partition key.
    """
    if direction not in ("up", "down"):
        raise CatalogError(f"lineage direction must be 'up' or 'down', not {direction!r}")
    if depth < 0:
        raise CatalogError(f"lineage depth must be 0 or more, not {depth}")
    name, key = _resolve(project, asset, partition)
    definition = project.graph.spec(name).partitions
    if key is None and definition is not None:
        raise PartitionKeyError(
            f"{name} is partitioned ({definition.describe()}); lineage is per partition",
            hint=f"name a partition (--partition KEY), for example {definition.example_key()!r}",
        )
    with project.existing_catalog() as catalog:
        root = None if catalog is None else catalog.latest_materialization(name, key)
        if catalog is None or root is None or root.materialization_id is None:
            raise CatalogError(
                f"{_where(name, key)} has never been materialized",
                hint=f"`partita history {name}` lists what the catalog holds",
            )
        return catalog.lineage(root.materialization_id, direction=direction, depth=depth)


def history(
    project: Project, asset: str | AssetKey, partition: str | None = None, limit: int = 20
) -> tuple[Materialization, ...]:
    """Materializations of ``asset`` (one partition, or all of them), newest first.

    Empty when nothing was recorded, including when the catalog does not exist yet.
    """
    if limit < 1:
        raise CatalogError(f"the history limit must be 1 or more, not {limit}")
    name, key = _resolve(project, asset, partition)
    with project.existing_catalog() as catalog:
        if catalog is None:
            return ()
        return tuple(catalog.history(name, key, limit=limit))


def table_versions(
    project: Project, asset: str | AssetKey, materializations: Sequence[Materialization]
) -> dict[int, int]:
    """The table version (Delta Lake) each of ``materializations`` published, by
    materialization id; empty when the asset's store keeps no versions.

    A materialization is matched with the newest commit of its partition and data
    version made before it was recorded (the catalog records a write after its
    commit) that no newer materialization took.
    """
    from partita.io import ParquetStore, VersionedStore, partition_label  # noqa: PLC0415
    from partita.runner import partition_path, resolve_store  # noqa: PLC0415

    key = project.graph.resolve(asset)
    spec = project.graph.spec(key)
    try:
        store = resolve_store(spec, project.loaded.definitions, ParquetStore(project.data_path))
        if not isinstance(store, VersionedStore):
            return {}
        commits = store.table_versions(key)
    except (DefinitionError, StorageError):
        return {}  # the catalog's history is shown without the table's versions
    taken: set[int] = set()
    found: dict[int, int] = {}
    for mat in sorted(materializations, key=lambda m: m.created_at, reverse=True):
        if mat.materialization_id is None or mat.data_version is None:
            continue
        label = partition_label(partition_path(spec, mat.partition or ""))
        for commit in commits:
            if (
                commit.version not in taken
                and commit.partition == label
                and commit.data_version == mat.data_version
                and commit.committed_at <= mat.created_at + _CLOCK_SLACK
            ):
                taken.add(commit.version)
                found[mat.materialization_id] = commit.version
                break
    return found


_CLOCK_SLACK = timedelta(seconds=2)
"""How far a commit's time (the storage's clock) may be after the catalog's record."""


def runs(
    project: Project, limit: int = 20, *, now: datetime | None = None
) -> tuple[RunSummary, ...]:
    """The latest runs, newest first, with durations, partition, attempt and check counts.

    A run whose process is gone shows as ``crashed`` (and is recorded so).
    Empty when the catalog does not exist yet.
    """
    if limit < 1:
        raise CatalogError(f"the runs limit must be 1 or more, not {limit}")
    moment = datetime.now(UTC) if now is None else now
    with project.existing_catalog() as catalog:
        if catalog is None:
            return ()
        return tuple(catalog.runs(now=moment, limit=limit))


@dataclass(frozen=True, slots=True)
class RunLogs:
    """A run and the step attempts asked for, each with its log text."""

    run: Run
    attempts: tuple[StepAttempt, ...]

    def text(self) -> str:
        """The logs as text, each attempt under a ``=== asset [partition] attempt N`` line."""
        parts = []
        for att in self.attempts:
            where = att.asset if att.partition is None else f"{att.asset} [{att.partition}]"
            parts.append(f"=== {where} attempt {att.attempt}: {att.status}\n{att.logs}")
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        """``{"run": run_json(...), "steps": [attempt_json(...), ...]}``."""
        return {"run": run_json(self.run), "steps": [attempt_json(a) for a in self.attempts]}


def logs(
    project: Project,
    run_id: str,
    asset: str | AssetKey | None = None,
    partition: str | None = None,
    *,
    now: datetime | None = None,
) -> RunLogs:
    """The step attempts of a run with their logs (optionally of one asset / partition).

    ``partition`` is put in canonical form when the asset's definition accepts
    it; otherwise it is matched as written (a batched step's range name).
    Raises :class:`~partita.errors.CatalogError` for an unknown run, or when no
    step matches the asset / partition asked for.
    """
    if partition is not None and asset is None:
        raise CatalogError("a partition needs its asset", hint="give the asset too")
    name: str | None = None
    key = partition
    if asset is not None:
        resolved = project.graph.resolve(asset)
        name = str(resolved)
        definition = project.graph.spec(resolved).partitions
        if partition is not None and definition is not None:
            try:
                key = definition.validate(partition)
            except PartitionKeyError:
                key = partition
    moment = datetime.now(UTC) if now is None else now
    with project.existing_catalog() as catalog:
        run = None if catalog is None else catalog.get_run(run_id, now=moment)
        if catalog is None or run is None:
            raise CatalogError(
                f"no run {run_id!r} in the catalog", hint="`partita runs` lists the latest runs"
            )
        attempts = tuple(catalog.attempts(run_id, asset=name, partition=key))
        if name is not None and not attempts:
            steps = sorted({_where(a.asset, a.partition) for a in catalog.attempts(run_id)})
            shown = ", ".join(steps[:5]) + (", ..." if len(steps) > 5 else "")
            raise CatalogError(
                f"run {run_id!r} has no step for {_where(name, key)}",
                hint=f"its steps: {shown}" if steps else "this run recorded no steps",
            )
    return RunLogs(run=run, attempts=attempts)


# ---------------------------------------------------------------- dynamic partitions


def _definition(project: Project, name: str) -> DynamicPartitions:
    known = dynamic_partitions_definitions(project)
    if name in known:
        return known[name]
    names = ", ".join(repr(n) for n in known)
    raise PartitionKeyError(
        f"the project has no DynamicPartitions named {name!r}",
        hint=f"its dynamic partitions: {names}"
        if known
        else "declare one with DynamicPartitions(name) on an asset's partitions=",
    )


def _unique(keys: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(keys))


@dataclass(frozen=True, slots=True)
class DynamicPartitionsUpdate:
    """The outcome of adding or deleting dynamic partition keys.

    ``changed``: the keys actually added (or deleted); ``unchanged``: the
    keys that were already there (or were not there); ``keys``: every key of
    the definition afterwards, in the order they were added.
    """

    name: str
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    keys: tuple[str, ...]


def list_dynamic_partitions(project: Project, name: str) -> tuple[str, ...]:
    """The keys of the project's dynamic partitions definition ``name``, in the order added."""
    _definition(project, name)
    with project.existing_catalog() as catalog:
        return () if catalog is None else tuple(catalog.dynamic_partitions.get(name))


def add_dynamic_partitions(
    project: Project, name: str, keys: Sequence[str]
) -> DynamicPartitionsUpdate:
    """Validate ``keys`` and add them to ``name`` in the catalog (created when missing)."""
    definition = _definition(project, name)
    checked = _unique([definition.validate(k) for k in keys])
    with project.open_catalog() as catalog:
        store = catalog.dynamic_partitions
        added = set(store.add(name, checked))
        after = tuple(store.get(name))
    return DynamicPartitionsUpdate(
        name=name,
        changed=tuple(k for k in checked if k in added),
        unchanged=tuple(k for k in checked if k not in added),
        keys=after,
    )


def delete_dynamic_partitions(
    project: Project, name: str, keys: Sequence[str]
) -> DynamicPartitionsUpdate:
    """Delete ``keys`` of ``name`` from the catalog (keys not there are reported, not an error).

    A key that is stored is always deleted, even one the definition rejects
    (stored by an earlier version that did not check keys); a key that is
    not stored must be valid, so a typo is reported as such. Materializations
    of deleted partitions stay in the catalog's history.
    """
    definition = _definition(project, name)
    with project.existing_catalog() as catalog:
        before = set() if catalog is None else set(catalog.dynamic_partitions.get(name))
        checked = _unique([k if k in before else definition.validate(k) for k in keys])
        if catalog is None:
            return DynamicPartitionsUpdate(name=name, changed=(), unchanged=tuple(checked), keys=())
        store = catalog.dynamic_partitions
        store.delete(name, checked)
        after = tuple(store.get(name))
    return DynamicPartitionsUpdate(
        name=name,
        changed=tuple(k for k in checked if k in before),
        unchanged=tuple(k for k in checked if k not in before),
        keys=after,
    )


# ------------------------------------------------------------------------- JSON


def materialization_json(mat: Materialization) -> dict[str, Any]:
    """One materialization as JSON (``partita history --json``; stable field names)."""
    return {
        "materialization_id": mat.materialization_id,
        "asset": mat.asset,
        "partition": mat.partition,
        "data_version": mat.data_version,
        "has_data": mat.has_data,
        "code_version": mat.code_version,
        "config_hash": mat.config_hash,
        "rows": mat.rows,
        "bytes": mat.bytes,
        "location": mat.location,
        "run_id": mat.run_id,
        "created_at": mat.created_at.isoformat(),
    }


def run_json(run: Run) -> dict[str, Any]:
    """One run as JSON (stable field names, times in ISO 8601)."""
    return {
        "run_id": run.run_id,
        "status": str(run.status),
        "started_at": run.started_at.isoformat(),
        "finished_at": None if run.finished_at is None else run.finished_at.isoformat(),
        "selection": list(run.selection),
        "partitions": list(run.partitions),
        "host": run.host,
        "pid": run.pid,
        "error": run.error,
        "kind": run.kind,
    }


def run_summary_json(summary: RunSummary) -> dict[str, Any]:
    """A run of ``partita runs --json``: :func:`run_json`, its duration, partitions by
    their last attempt, retries, step attempts by status and check results."""
    return {
        **run_json(summary.run),
        "duration_s": summary.duration_s,
        "partition_counts": {str(status): count for status, count in summary.partition_counts},
        "retries": summary.retries,
        "steps": {str(status): count for status, count in summary.step_counts},
        "checks": dict(summary.check_counts),
    }


def attempt_json(att: StepAttempt) -> dict[str, Any]:
    """One step attempt with its log text as JSON (``partita logs --json``)."""
    return {
        "asset": att.asset,
        "partition": att.partition,
        "attempt": att.attempt,
        "status": str(att.status),
        "started_at": att.started_at.isoformat(),
        "finished_at": None if att.finished_at is None else att.finished_at.isoformat(),
        "error": att.error,
        "logs": att.logs,
    }
