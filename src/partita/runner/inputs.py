"""What every upstream partition is *now*, and what a task reads.

:class:`CurrentVersions` starts from the catalog's bulk state (the latest
materialization of every partition, the latest observation of every source
partition) and is updated as tasks of the run succeed. From it the coordinator
derives what a task reads (only materialized upstream partitions), the exact
:class:`~partita.records.Input` rows to record, and the early-cutoff test: do
the inputs a partition would read now have the fingerprints recorded with its
latest materialization? Fingerprints combine the output hashes the catalog
stored (a materialization may keep its predecessor's, see
:attr:`~partita.records.Materialization.output_hash`), never hashes recomputed
from data versions.
"""

from __future__ import annotations

from collections.abc import Sequence

from partita.errors import InputMissingError
from partita.io import PartitionPath, Store
from partita.keys import AssetKey
from partita.records import (
    Input,
    PlannerState,
    combine_hashes,
    partition_hash,
    partition_value,
)
from partita.runner.messages import ReadRequest
from partita.runner.tasks import EdgeRead, Task

__all__ = ["CurrentVersions", "missing_input"]

_Key = tuple[str, str]


def _column(table: object, name: str) -> list[object]:
    values: list[object] = table.column(name).to_pylist()  # type: ignore[attr-defined]
    return values


class CurrentVersions:
    """The current ``(materialization id, data version)`` of upstream partitions.

    ``unobserved`` names sources without an observe function: every partition of
    theirs that was never observed counts as present with data version ``""``,
    as the planner counts it (so it is read, and recorded as an input).
    ``planned_from`` is the state the run's plan was made from (loaded a little
    earlier than ``state``, before planning); ``None``: ``state``.
    """

    def __init__(
        self,
        state: PlannerState,
        unobserved: frozenset[str] = frozenset(),
        *,
        planned_from: PlannerState | None = None,
    ) -> None:
        self._unobserved = unobserved
        self._now: dict[_Key, tuple[int | None, str]] = {}
        self._hash: dict[_Key, int] = {}
        self._latest_at_start: dict[_Key, int] = {}
        for asset, part, data_version, output_hash in zip(
            _column(state.observations, "asset"),
            _column(state.observations, "partition"),
            _column(state.observations, "data_version"),
            _column(state.observations, "output_hash"),
            strict=True,
        ):
            self._now[(str(asset), str(part))] = (None, str(data_version))
            self._hash[(str(asset), str(part))] = int(str(output_hash))
        for asset, part, mid, data_version, output_hash in zip(
            _column(state.latest, "asset"),
            _column(state.latest, "partition"),
            _column(state.latest, "materialization_id"),
            _column(state.latest, "data_version"),
            _column(state.latest, "output_hash"),
            strict=True,
        ):
            key = (str(asset), str(part))
            self._now[key] = (int(str(mid)), str(data_version))
            self._hash[key] = int(str(output_hash))
            self._latest_at_start[key] = int(str(mid))
        self._latest_when_planned = self._latest_at_start
        if planned_from is not None:
            self._latest_when_planned = {
                (str(asset), str(part)): int(str(mid))
                for asset, part, mid in zip(
                    _column(planned_from.latest, "asset"),
                    _column(planned_from.latest, "partition"),
                    _column(planned_from.latest, "materialization_id"),
                    strict=True,
                )
            }
        self._edges: dict[tuple[int, str], tuple[int, int]] = {}
        for mid, upstream, n_inputs, fingerprint in zip(
            _column(state.edges, "materialization_id"),
            _column(state.edges, "upstream_asset"),
            _column(state.edges, "n_inputs"),
            _column(state.edges, "fingerprint"),
            strict=True,
        ):
            self._edges[(int(str(mid)), str(upstream))] = (
                int(str(n_inputs)),
                int(str(fingerprint)),
            )

    def get(self, asset: str, key: str) -> tuple[int | None, str] | None:
        """The current ``(materialization id, data version)`` of a partition, if any."""
        found = self._now.get((asset, key))
        if found is None and asset in self._unobserved:
            return (None, "")
        return found

    def latest_at_start(self, asset: str, key: str) -> int | None:
        """The partition's latest materialization id when the run started."""
        return self._latest_at_start.get((asset, key))

    def latest_when_planned(self, asset: str, key: str) -> int | None:
        """The partition's latest materialization id in the state the plan was made from
        (a build after it, even before the run started, was not seen by the plan)."""
        return self._latest_when_planned.get((asset, key))

    def output_hash(self, asset: str, key: str) -> int | None:
        """The current output hash of a partition (what readers' fingerprints combine),
        if it is present."""
        found = self.get(asset, key)
        if found is None:
            return None
        stored = self._hash.get((asset, key))
        return partition_hash(asset, partition_value(key), found[1]) if stored is None else stored

    def previous(self, task: Task) -> dict[str, tuple[str, int]]:
        """Per key of the task built before: its current ``(data version, output hash)``
        (what a rebuild may keep, see :func:`~partita.runner.recording.kept_output_hash`)."""
        asset = str(task.asset)
        found: dict[str, tuple[str, int]] = {}
        for key in task.keys:
            now = self._now.get((asset, key))
            if now is not None and now[0] is not None:
                found[key] = (now[1], self._hash[(asset, key)])
        return found

    def set(
        self,
        asset: str,
        key: str,
        materialization_id: int | None,
        data_version: str,
        output_hash: int | None = None,
    ) -> None:
        """A partition was (re)built (``output_hash``: the one recorded; ``None``: its own)."""
        self._now[(asset, key)] = (materialization_id, data_version)
        if output_hash is None:
            output_hash = partition_hash(asset, partition_value(key), data_version)
        self._hash[(asset, key)] = output_hash

    def reads(self, task: Task) -> tuple[ReadRequest, ...]:
        """What the task's worker loads: materialized upstream partitions, per edge, with
        their current data versions, and the ones built with no data (a side effect:
        its function returned ``None``)."""
        out: list[ReadRequest] = []
        for edge in task.merged_reads():
            upstream = str(edge.upstream)
            found = {k: self.get(upstream, k) for k in edge.keys}
            present = [(k, v) for k, v in found.items() if v is not None]
            keys = tuple(k for k, _ in present)
            versions = tuple(v[1] for _, v in present)
            no_data = tuple(k for k, v in present if v[0] is not None and not v[1])
            out.append(ReadRequest(edge.param, upstream, keys, no_data=no_data, versions=versions))
        return tuple(out)

    def inputs(self, task: Task) -> list[list[Input]]:
        """Per key of the task, the inputs it reads now (one row per upstream partition)."""
        result: list[list[Input]] = []
        for per_key in task.reads:
            seen: dict[_Key, Input] = {}
            for edge in per_key:
                upstream = str(edge.upstream)
                for key in edge.keys:
                    found = self.get(upstream, key)
                    if found is None or (upstream, key) in seen:
                        continue
                    seen[(upstream, key)] = Input(
                        upstream_asset=upstream,
                        upstream_partition=partition_value(key),
                        upstream_data_version=found[1],
                        upstream_materialization_id=found[0],
                        upstream_output_hash=self.output_hash(upstream, key),
                    )
            result.append(list(seen.values()))
        return result

    def unchanged(self, task: Task) -> bool:
        """Early cutoff: every key's inputs have the fingerprints recorded with its latest
        materialization (per upstream asset: the count and the combined hash)."""
        asset = str(task.asset)
        for key, per_key in zip(task.keys, task.reads, strict=True):
            mid = self._latest_at_start.get((asset, key))
            if mid is None:
                return False
            for upstream, keys in _by_upstream(per_key):
                hashes = [self.output_hash(upstream, k) for k in keys]
                present = [h for h in hashes if h is not None]
                fingerprint = combine_hashes(present)
                if self._edges.get((mid, upstream), (0, 0)) != (len(present), fingerprint):
                    return False
        return True


def _by_upstream(reads: Sequence[EdgeRead]) -> list[tuple[str, list[str]]]:
    grouped: dict[AssetKey, dict[str, None]] = {}
    for edge in reads:
        keys = grouped.setdefault(edge.upstream, {})
        for key in edge.keys:
            keys[key] = None
    return [(str(up), list(keys)) for up, keys in grouped.items()]


def missing_input(
    store: Store,
    upstream: AssetKey,
    keys: Sequence[str],
    paths: Sequence[PartitionPath],
    param: str,
) -> InputMissingError | None:
    """After a failed read of ``keys`` (stored at ``paths``) of ``upstream``: the error
    naming the upstream partitions the store lacks, or ``None`` if it has them all
    (the read failed for another reason). The coordinator asks only for partitions
    the catalog records as built, so a missing one was lost behind Partita's back."""
    stored = set(store.list_partitions(upstream))
    lost = tuple(k for k, p in zip(keys, paths, strict=True) if p not in stored)
    return InputMissingError(str(upstream), lost, param) if lost else None
