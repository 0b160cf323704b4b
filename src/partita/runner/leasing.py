"""Leasing a run's partitions, and waiting for partitions another live run is building.

A run leases every partition it may build in one transaction when it starts
(:class:`RunLeases`); the leases of a finished step are released in the
committer's next batch transaction (:mod:`partita.runner.commit`), the rest when
the run ends. When
another live run holds the lease, the task waits (:class:`LeaseWaits`): it is
looked at again every half second or so and skipped once it waited longer than
:attr:`~partita.runner.RunOptions.lease_wait_s`.

Once a task holds its leases, :func:`built_meanwhile` tells whether another
run built every partition of the task after this run planned (with or without
waiting for it: the other run may have finished before this one got there, or
even before this run started, between its planning and its start), from the
same code, config and inputs the task would use now. Then there is
nothing left to build, and a side effect (a notification) is not repeated; a
run planned (or forced) after that build does build again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from partita.records import (
    CatalogReader,
    CatalogWriter,
    LeaseItem,
    Materialization,
    partition_value,
)
from partita.runner.inputs import CurrentVersions
from partita.runner.tasks import Task

__all__ = ["LeaseWait", "LeaseWaits", "RunLeases", "built_meanwhile", "quiet_tasks"]


class RunLeases:
    """The leases a run holds, as far as it knows (the publish fence checks them again).

    Args:
        catalog: where leases are taken and released.
        run_id: the run.
        ttl_s: how long a lease lasts unless renewed (the heartbeat renews them).
        release_later: releases items in the next batch transaction.
    """

    def __init__(
        self,
        catalog: CatalogWriter,
        run_id: str,
        ttl_s: float,
        release_later: Callable[[list[LeaseItem]], None],
    ) -> None:
        self.catalog = catalog
        self.run_id = run_id
        self.ttl_s = ttl_s
        self.release_later = release_later
        self.held: set[LeaseItem] = set()

    def holds(self, items: list[LeaseItem]) -> bool:
        """Whether the run holds every one of ``items``."""
        return all(item in self.held for item in items)

    def acquire(self, groups: list[list[LeaseItem]], now: datetime) -> None:
        """Lease the items of ``groups`` in one transaction; a group gets all of its
        items or none (a part acquired is released at once, so two runs never wait
        for each other's halves)."""
        items = [item for group in groups for item in group]
        if not items:
            return
        acquired = set(self.catalog.acquire_leases(self.run_id, items, now=now, ttl_s=self.ttl_s))
        partial: list[LeaseItem] = []
        for group in groups:
            if all(item in acquired for item in group):
                self.held.update(group)
            else:
                partial.extend(item for item in group if item in acquired)
        if partial:
            self.catalog.release_leases(self.run_id, partial)

    def release(self, items: list[LeaseItem]) -> None:
        """Release those of ``items`` the run holds, in the next batch transaction."""
        mine = [item for item in items if item in self.held]
        if mine:
            self.held.difference_update(mine)
            self.release_later(mine)

    def released(self, items: list[LeaseItem]) -> None:
        """``items`` were released by a batch transaction (a step's success)."""
        self.held.difference_update(items)


@dataclass
class LeaseWait:
    """One task waiting for leases (times from :func:`time.monotonic`).

    Attributes:
        since: when the wait began.
        holder: the run that held the lease when last looked at.
        next_check: when to look at the leases again.
    """

    since: float
    holder: str
    next_check: float


class LeaseWaits:
    """The tasks of a run waiting for leases held by other runs, by task index.

    ``on_wait(index, holder)`` is called when task ``index`` starts waiting for run ``holder``.
    """

    def __init__(self, wait_s: float, on_wait: Callable[[int, str], None]) -> None:
        self.wait_s = wait_s
        self.on_wait = on_wait
        self.waits: dict[int, LeaseWait] = {}

    def pending(self, index: int, now_m: float) -> bool:
        """Whether task ``index`` waits and it is not yet time to look again."""
        wait = self.waits.get(index)
        return wait is not None and wait.next_check > now_m

    def stop(self, index: int) -> str | None:
        """Task ``index`` got its leases: forget its wait; the run it waited for, if any."""
        wait = self.waits.pop(index, None)
        return None if wait is None else wait.holder

    def keep_waiting(self, index: int, task: Task, holder: str, now_m: float) -> bool:
        """Task ``index`` found its partitions leased by ``holder``: wait, or give up.

        Returns ``False`` (and forgets the wait) once the task waited
        ``wait_s`` seconds or more; else sets when to look again.
        """
        wait = self.waits.get(index)
        if wait is None:
            wait = LeaseWait(since=now_m, holder=holder, next_check=now_m)
            self.waits[index] = wait
            self.on_wait(index, holder)
        wait.holder = holder
        if now_m - wait.since >= self.wait_s:
            del self.waits[index]
            return False
        wait.next_check = now_m + min(0.5, self.wait_s / 4 or 0.5)
        return True


def built_meanwhile(
    catalog: CatalogReader, versions: CurrentVersions, task: Task, run_id: str
) -> str | None:
    """Whether another run built every partition of ``task`` after run ``run_id`` planned.

    Each partition's latest materialization must be newer than the one the run's
    plan saw, made by another run with the task's code version and config
    hash, from exactly the inputs the task would read now (upstream partitions
    and data versions). Returns that run's id (the last one, when several
    built the partitions), and updates ``versions`` to what it built; ``None``
    when the task must be built.
    """
    asset = str(task.asset)
    newer: list[tuple[str, Materialization]] = []
    for key in task.keys:
        latest = catalog.latest_materialization(asset, partition_value(key))
        if (
            latest is None
            or latest.materialization_id is None
            or latest.materialization_id == versions.latest_when_planned(asset, key)
            or latest.run_id == run_id
            or latest.code_version != task.code_version
            or latest.config_hash != task.config_hash
        ):
            return None
        newer.append((key, latest))
    recorded = _inputs_by_materialization(
        catalog, [m.materialization_id for _, m in newer if m.materialization_id is not None]
    )
    for (_, mat), now_read in zip(newer, versions.inputs(task), strict=True):
        wanted = {
            (i.upstream_asset, i.upstream_partition or "", i.upstream_data_version)
            for i in now_read
        }
        if recorded.get(mat.materialization_id or 0, set()) != wanted:
            return None
    for key, mat in newer:
        versions.set(asset, key, mat.materialization_id, mat.data_version, mat.output_hash)
    return newer[-1][1].run_id


def quiet_tasks(versions: CurrentVersions, tasks: Sequence[Task], leases: RunLeases) -> set[int]:
    """The tasks no other run can have built since this run planned: the run holds
    their leases (taken when it started, before ``versions`` was read) and no
    partition of theirs has a newer materialization in ``versions`` than in the
    plan's state. :func:`built_meanwhile` need not ask the catalog about them.
    """
    quiet: set[int] = set()
    for index, task in enumerate(tasks):
        asset = str(task.asset)
        if leases.holds([(asset, partition_value(k)) for k in task.keys]) and all(
            versions.latest_at_start(asset, k) == versions.latest_when_planned(asset, k)
            for k in task.keys
        ):
            quiet.add(index)
    return quiet


def _inputs_by_materialization(
    catalog: CatalogReader, ids: list[int]
) -> dict[int, set[tuple[str, str, str]]]:
    table = catalog.inputs_of(ids)
    found: dict[int, set[tuple[str, str, str]]] = {mid: set() for mid in ids}
    for mid, upstream, partition, data_version in zip(
        table.column("materialization_id").to_pylist(),
        table.column("upstream_asset").to_pylist(),
        table.column("upstream_partition").to_pylist(),
        table.column("upstream_data_version").to_pylist(),
        strict=True,
    ):
        found.setdefault(int(mid), set()).add((str(upstream), partition or "", str(data_version)))
    return found
