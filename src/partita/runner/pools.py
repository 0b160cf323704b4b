"""Concurrency pools: a step of a pooled asset runs only while it holds one of the pool's slots.

``@asset(pool="shop_api")`` with ``Definitions(pools={"shop_api": 2})``: across
every run of the project (two ``partita materialize`` at once, a daemon and a
person) and whatever the executor, at most two steps of the pool's assets run
at once. The slots live in the catalog, taken by the coordinator just before it
sends a step to its executor and released as soon as the step's attempt ends
(a retry takes a slot again); they are renewed with the run's leases by its
heartbeat, so the slots of a killed run stop counting when its process is gone
or its slots expire (see :meth:`~partita.records.CatalogWriter.acquire_pool_slot`).

A step that finds every slot taken waits: a
:class:`~partita.events.StepWaiting` event names the pool and the steps
holding it, and the coordinator asks again every ``recheck_s`` seconds, for as
long as it takes (a slot is never held longer than a step runs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from partita.graph import AssetGraph
from partita.records import LeaseItem
from partita.runner.options import RunCatalog
from partita.runner.tasks import Task

__all__ = ["PoolSlots"]


class PoolSlots:
    """The pool slots of one run's steps, by task index.

    Args:
        catalog: where slots are taken and released.
        run_id: the run.
        graph: the asset graph (each asset's ``pool``; its definitions' ``pools``).
        ttl_s: how long a slot lasts unless renewed (the run's lease TTL).
        on_wait: called as ``on_wait(index, holders, pool)`` when task ``index``
            starts waiting for a slot of ``pool``, ``holders`` saying who holds it.
        recheck_s: how often a waiting task asks again.
    """

    def __init__(
        self,
        catalog: RunCatalog,
        run_id: str,
        graph: AssetGraph,
        ttl_s: float,
        on_wait: Callable[[int, str, str], None],
        *,
        recheck_s: float = 0.2,
    ) -> None:
        self.catalog = catalog
        self.run_id = run_id
        self.graph = graph
        self.pools = graph.definitions.pools
        self.ttl_s = ttl_s
        self.on_wait = on_wait
        self.recheck_s = recheck_s
        self.held: dict[int, tuple[str, LeaseItem]] = {}
        self.waiting: dict[int, str] = {}
        self.next_check: dict[int, float] = {}
        self.full_until: dict[str, float] = {}
        self.holders: dict[str, str] = {}
        self.used = False

    def pending(self, index: int, now_m: float) -> bool:
        """Whether task ``index`` waits for a slot and it is not yet time to ask again."""
        return self.next_check.get(index, 0.0) > now_m

    def take(self, index: int, task: Task, now: datetime, now_m: float) -> bool:
        """Take a slot for task ``index`` if its asset is pooled; ``False``: wait.

        Once the pool was found full, the run's other tasks of that pool wait
        without asking the catalog until ``recheck_s`` passed or one of the
        run's own steps of the pool gave its slot back.
        """
        pool = self.graph.spec(task.asset).pool
        if pool is None or index in self.held:
            return True
        size = self.pools[pool]
        if self.full_until.get(pool, 0.0) <= now_m:
            item: LeaseItem = (str(task.asset), task.label)
            if self.catalog.acquire_pool_slot(
                self.run_id, pool, size, item, now=now, ttl_s=self.ttl_s
            ):
                self.held[index] = (pool, item)
                self.used = True
                self.next_check.pop(index, None)
                self.waiting.pop(index, None)
                return True
            self.full_until[pool] = now_m + self.recheck_s
            self.holders[pool] = self._holders(pool, size, now)
        if index not in self.waiting:
            self.waiting[index] = pool
            self.on_wait(index, self.holders[pool], pool)
        self.next_check[index] = self.full_until[pool]
        return False

    def _holders(self, pool: str, size: int, now: datetime) -> str:
        holders = self.catalog.pool_holders(pool, now=now)
        steps = ", ".join(
            f"{asset}[{part}] (run {run})" if part else f"{asset} (run {run})"
            for run, asset, part in holders[:size]
        )
        return f"{size} slot{'s' * (size != 1)}, held by " + (steps or "steps that just ended")

    def release(self, index: int) -> None:
        """Task ``index``'s attempt ended: give its slot back, if it holds one; the
        run's tasks waiting for that pool ask again at once."""
        found = self.held.pop(index, None)
        if found is None:
            return
        pool, item = found
        self.catalog.release_pool_slots(self.run_id, [item])
        self.full_until.pop(pool, None)
        for waiting, its_pool in self.waiting.items():
            if its_pool == pool:
                self.next_check.pop(waiting, None)

    def release_all(self) -> None:
        """The run ends: give every slot back."""
        if self.used:
            self.held.clear()
            self.catalog.release_pool_slots(self.run_id)
