"""Starting tasks: the queue of ready tasks, what is checked before one starts, the dispatch.

Tasks that became ready join the front of the queue (a partition's
downstream runs right after it, on the worker just freed, which holds its
output in memory: :mod:`partita.runner.output_cache`). As many as the executor
has free slots are taken from the front; the rest of the queue is not looked
at, so a start costs the same with 5 or 50,000 tasks waiting. Before a task
starts:

- a task rechecked at run time whose inputs did not change is skipped
  (early cutoff), and one whose upstream source failed its check too;
- it must hold its partitions' leases (taken for the whole run when it
  starts; a partition another live run holds is waited for, up to a bound,
  :class:`~partita.runner.leasing.LeaseWaits`);
- another run may have built it since this run planned: it is then skipped
  (:func:`~partita.runner.leasing.built_meanwhile`, asked only for tasks not
  known quiet);
- a pooled asset takes a slot of its concurrency pool
  (:mod:`partita.runner.pools`).

A task that must wait (a retry's delay, a lease, a pool slot) goes back to
the queue.
"""

from __future__ import annotations

import time
from collections import deque

from partita.runner.leasing import LeaseWaits, built_meanwhile
from partita.runner.messages import WorkItem
from partita.runner.pools import PoolSlots
from partita.runner.recording import Attempt
from partita.runner.run_context import RunContext
from partita.runner.source_checks import SourceChecks
from partita.runner.state import TaskState

__all__ = ["TaskStarter"]

IDLE_WAIT_S = 0.1
"""The longest the coordinator waits for the executor before it looks at the queue again."""


class TaskStarter:
    """Starts the run's ready tasks on its executor.

    Args:
        ctx: the run's shared state.
        sources: the checks of the source assets the tasks read.
        lease_waits: the tasks waiting for another run's leases.
        pools: the run's concurrency pool slots.
    """

    def __init__(
        self, ctx: RunContext, sources: SourceChecks, lease_waits: LeaseWaits, pools: PoolSlots
    ) -> None:
        self.ctx = ctx
        self.sources = sources
        self.lease_waits = lease_waits
        self.pools = pools
        self.queue: deque[int] = deque()
        self.delayed: set[int] = set()  # retries waiting for their delay
        self.quiet: set[int] = set()  # tasks no other run can have built
        self.next_handle = 0

    def retry_later(self, index: int) -> None:
        """Task ``index`` is ready again after its retry delay (on the board)."""
        self.queue.append(index)
        self.delayed.add(index)

    def wait_s(self) -> float:
        """How long the coordinator may wait for the executor: until the first retry
        delay ends, at most :data:`IDLE_WAIT_S` (only retries are looked at)."""
        now_m = time.monotonic()
        wait = IDLE_WAIT_S
        for index in list(self.delayed):
            run = self.ctx.board.runs[index]
            if run.state is TaskState.READY and run.not_before > now_m:
                wait = min(wait, run.not_before - now_m)
            else:
                self.delayed.discard(index)
        return wait

    def start_some(self) -> None:
        """Start ready tasks while the executor has free slots (see the module's text)."""
        ctx = self.ctx
        queue = self.queue
        queue.extendleft(reversed(ctx.board.take_ready()))
        free = ctx.executor.free_slots
        if free <= 0 or not queue:
            return
        now_m = time.monotonic()
        chosen: list[int] = []
        keep: list[int] = []
        while queue and len(chosen) < free:  # the rest waits, unscanned
            index = queue.popleft()
            state = ctx.board.runs[index]
            if state.state is not TaskState.READY:
                continue
            if (
                state.not_before > now_m
                or self.lease_waits.pending(index, now_m)
                or self.pools.pending(index, now_m)
            ):
                keep.append(index)
                continue
            task = ctx.tasks.tasks[index]
            if task.recheck and state.attempts == 0 and ctx.versions.unchanged(task):
                ctx.skip(index, "inputs unchanged", outputs_current=True)
                continue
            failed_source = self.sources.failed(task) if state.attempts == 0 else None
            if failed_source is not None:
                ctx.skip(index, f"upstream check failed: {failed_source}", outputs_current=False)
                continue
            chosen.append(index)
        queue.extendleft(reversed(keep))
        if chosen:
            self._take_leases_and_start(chosen, now_m)

    def _take_leases_and_start(self, chosen: list[int], now_m: float) -> None:
        ctx = self.ctx
        leases = ctx.leases
        mine = {index: ctx.items(ctx.tasks.tasks[index]) for index in chosen}
        leases.acquire([g for g in mine.values() if not leases.holds(g)], ctx.clock())
        for index in chosen:
            task = ctx.tasks.tasks[index]
            if not leases.holds(mine[index]):
                self._wait_for_lease(index, mine[index], now_m)
                continue
            self.lease_waits.stop(index)
            builder = None
            if index not in self.quiet:  # another run may have built it: ask
                builder = built_meanwhile(ctx.catalog, ctx.versions, task, ctx.run_id)
            if builder is not None:
                leases.release(mine[index])
                ctx.skip(index, f"built by run {builder}", outputs_current=True)
            elif self.pools.take(index, task, ctx.clock(), now_m):
                self._dispatch(index)
            else:
                self.quiet.add(index)  # it holds its leases: nobody else builds it
                self.queue.append(index)

    def _wait_for_lease(
        self, index: int, items: list[tuple[str, str | None]], now_m: float
    ) -> None:
        ctx = self.ctx
        holders = ctx.catalog.lease_holders(items, now=ctx.clock())
        holder = next(iter(holders.values()), "another run")
        task = ctx.tasks.tasks[index]
        if not self.lease_waits.keep_waiting(index, task, holder, now_m):
            ctx.skip(index, f"being built by run {holder}", outputs_current=False)
            return
        self.queue.append(index)

    def _dispatch(self, index: int) -> None:
        ctx = self.ctx
        task = ctx.tasks.tasks[index]
        ctx.board.start(index)
        attempt = ctx.board.runs[index].attempts
        started = ctx.clock()
        ctx.recorder.started(task, attempt, started)
        asset = str(task.asset)
        item = WorkItem(
            run_id=ctx.run_id,
            asset=asset,
            keys=task.keys,
            attempt=attempt,
            reads=ctx.written.reads(ctx.graph, ctx.versions.reads(task)),
            config_json=ctx.options.configs.get(asset),
            code_version=task.code_version,
        )
        handle = self.next_handle
        self.next_handle += 1
        ctx.running[handle] = Attempt(
            index, attempt, started, ctx.versions.inputs(task), ctx.versions.previous(task)
        )
        ctx.executor.submit(handle, item, ctx.graph.spec(task.asset).timeout)
