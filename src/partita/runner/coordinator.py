"""The coordinator: runs a Plan's tasks on an executor and records everything.

Only the coordinator writes the catalog. It starts the run, expands the plan
into tasks (:mod:`partita.runner.tasks`), keeps their live state
(:mod:`partita.runner.state`), leases every partition of the run in one
transaction when it starts (a partition another live run is building is
waited for, up to a bound), applies the early cutoff, sends work items to the
executor, hands what they staged to its committer (:mod:`partita.runner.commit`:
published and recorded in batches, one transaction each, with the leases of
finished steps released in it), then publishes each outcome as an event
(:mod:`partita.events`) to the run's subscribers, retries with the asset's
:class:`~partita.policies.RetryPolicy`, and on Ctrl-C / SIGTERM stops: no
new task starts, running ones are killed (nothing half-published), the run is
recorded ``cancelled``.

Its parts live beside it: rows and events (:mod:`~partita.runner.recording`),
leases (:mod:`~partita.runner.leasing`), concurrency pool slots, taken just
before a pooled step is dispatched (:mod:`~partita.runner.pools`), the heartbeat
(:mod:`~partita.runner.heartbeat`), source checks (:mod:`~partita.runner.source_checks`),
options (:mod:`~partita.runner.options`), signals (:mod:`~partita.runner.cancelling`).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version

from partita.events import EventBus, Subscriber
from partita.graph import AssetGraph
from partita.partitions import DynamicPartitionsStore
from partita.planner.plan import Plan
from partita.processes import this_host
from partita.records import (
    PlannerState,
    Run,
    RunStatus,
    StepStatus,
    partition_value,
)
from partita.runner.cancelling import CancelToken, cancel_on_signals
from partita.runner.commit import Committed, Committer, FinishedStep
from partita.runner.executor_protocol import Executor
from partita.runner.executors import ExecutorKind, make_executor
from partita.runner.failed_observations import record_failed_observations
from partita.runner.fencing import LeaseFence
from partita.runner.heartbeat import HeartbeatThread
from partita.runner.inputs import CurrentVersions
from partita.runner.leasing import LeaseWaits, RunLeases, built_meanwhile, quiet_tasks
from partita.runner.messages import Outcome, WorkItem, WorkResult
from partita.runner.options import RunCatalog, RunOptions, new_run_id
from partita.runner.partition_columns import WrittenColumns
from partita.runner.pools import PoolSlots
from partita.runner.process_executor import ProjectRef
from partita.runner.recording import Attempt, Retry, RunRecorder
from partita.runner.source_checks import SourceChecks
from partita.runner.state import TaskBoard, TaskState
from partita.runner.summary import RunOutcome, RunResult, TaskOutcome
from partita.runner.tasks import Task, TaskGraph, expand_plan
from partita.runner.worker import WorkerRuntime

__all__ = ["CancelToken", "RunCatalog", "RunOptions", "run_plan"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Coordinator:
    def __init__(
        self,
        plan: Plan,
        graph: AssetGraph,
        catalog: RunCatalog,
        executor: Executor,
        options: RunOptions,
        bus: EventBus,
        clock: Callable[[], datetime],
        cancel: CancelToken,
        dynamic: DynamicPartitionsStore | None,
        runtime: WorkerRuntime,
        fence: LeaseFence,
        planned_from: PlannerState | None = None,
    ) -> None:
        self.plan = plan
        self.warnings: dict[int, tuple[str, ...]] = {}
        self.graph = graph
        self.catalog = catalog
        self.executor = executor
        self.options = options
        self.bus = bus
        self.clock = clock
        self.cancel = cancel
        self.tasks: TaskGraph = expand_plan(plan, graph, dynamic=dynamic)
        self.board = TaskBoard(self.tasks)
        self.rng = random.Random()
        self.run_id = new_run_id(clock())
        self.recorder = RunRecorder(catalog, self.run_id, bus)
        checker = runtime if options.staged_checks is not None else None
        self.sources = SourceChecks(graph, catalog, checker, bus, clock, self.run_id)
        self.committer = Committer(catalog, self.recorder, runtime.store_of, fence)
        self.leases = RunLeases(catalog, self.run_id, options.lease_ttl_s, self.recorder.release)
        self.queue: list[int] = []
        self.lease_waits = LeaseWaits(options.lease_wait_s, self._waiting)
        self.pools = PoolSlots(catalog, self.run_id, graph, options.lease_ttl_s, self._waiting)
        self.running: dict[int, Attempt] = {}
        self.next_handle = 0
        needed = {str(s.asset) for s in plan.steps}
        for step in plan.steps:
            needed.update(str(e.upstream) for e in graph.upstream_edges(step.asset))
        unobserved = frozenset(
            name for name in needed if graph.spec(name).is_source and graph.spec(name).fn is None
        )
        # read in run(), once the run holds its leases: then no other run builds them
        self._versions_of = (sorted(needed), unobserved, planned_from)
        self.versions: CurrentVersions
        self.quiet: set[int] = set()
        self.written = WrittenColumns(catalog)

    # -- helpers ---------------------------------------------------------------

    def _items(self, task: Task) -> list[tuple[str, str | None]]:
        return [(str(task.asset), partition_value(k)) for k in task.keys]

    def _record_skip(self, index: int, reason: str) -> None:
        task = self.tasks.tasks[index]
        self.leases.release(self._items(task))
        now = self.clock()
        self.recorder.skipped(task, self.board.runs[index].attempts + 1, reason, now)

    def _skip(self, index: int, reason: str, *, outputs_current: bool) -> None:
        self._record_skip(index, reason)
        dependents = self.board.skip(index, reason, outputs_current=outputs_current)
        for dep in dependents:
            self._record_skip(dep, self.board.runs[dep].reason)

    def _waiting(self, index: int, holder: str, pool: str | None = None) -> None:
        attempt = self.board.runs[index].attempts + 1
        self.recorder.waiting(self.tasks.tasks[index], attempt, holder, self.clock(), pool)

    # -- starting tasks --------------------------------------------------------

    def _start_some(self) -> None:
        # newly ready tasks first: a partition's downstream runs right after it, on the
        # worker just freed, which holds its output in memory (runner/output_cache.py)
        self.queue[:0] = self.board.take_ready()
        free = self.executor.free_slots
        if free <= 0 or not self.queue:
            return
        now_m = time.monotonic()
        chosen: list[int] = []
        keep: list[int] = []
        for index in self.queue:
            run = self.board.runs[index]
            if run.state is not TaskState.READY:
                continue
            if (
                len(chosen) >= free
                or run.not_before > now_m
                or self.lease_waits.pending(index, now_m)
                or self.pools.pending(index, now_m)
            ):
                keep.append(index)
                continue
            task = self.tasks.tasks[index]
            if task.recheck and run.attempts == 0 and self.versions.unchanged(task):
                self._skip(index, "inputs unchanged", outputs_current=True)
                continue
            failed_source = self.sources.failed(task) if run.attempts == 0 else None
            if failed_source is not None:
                self._skip(index, f"upstream check failed: {failed_source}", outputs_current=False)
                continue
            chosen.append(index)
        self.queue = keep
        if not chosen:
            return
        mine = {index: self._items(self.tasks.tasks[index]) for index in chosen}
        self.leases.acquire([g for g in mine.values() if not self.leases.holds(g)], self.clock())
        for index in chosen:
            task = self.tasks.tasks[index]
            if self.leases.holds(mine[index]):
                self.lease_waits.stop(index)
                builder = None
                if index not in self.quiet:  # another run may have built it: ask
                    builder = built_meanwhile(self.catalog, self.versions, task, self.run_id)
                if builder is not None:
                    self.leases.release(mine[index])
                    self._skip(index, f"built by run {builder}", outputs_current=True)
                elif self.pools.take(index, task, self.clock(), now_m):
                    self._dispatch(index)
                else:
                    self.quiet.add(index)  # it holds its leases: nobody else builds it
                    self.queue.append(index)
            else:
                self._wait_for_lease(index, mine[index], now_m)

    def _wait_for_lease(
        self, index: int, items: list[tuple[str, str | None]], now_m: float
    ) -> None:
        holders = self.catalog.lease_holders(items, now=self.clock())
        holder = next(iter(holders.values()), "another run")
        task = self.tasks.tasks[index]
        if not self.lease_waits.keep_waiting(index, task, holder, now_m):
            self._skip(index, f"being built by run {holder}", outputs_current=False)
            return
        self.queue.append(index)

    def _dispatch(self, index: int) -> None:
        task = self.tasks.tasks[index]
        spec = self.graph.spec(task.asset)
        self.board.start(index)
        attempt = self.board.runs[index].attempts
        started = self.clock()
        self.recorder.started(task, attempt, started)
        item = WorkItem(
            run_id=self.run_id,
            asset=str(task.asset),
            keys=task.keys,
            attempt=attempt,
            reads=self.written.reads(self.graph, self.versions.reads(task)),
            config_json=self.options.configs.get(str(task.asset)),
        )
        handle = self.next_handle
        self.next_handle += 1
        self.running[handle] = Attempt(
            index, attempt, started, self.versions.inputs(task), self.versions.previous(task)
        )
        self.executor.submit(handle, item, spec.timeout)

    # -- finishing tasks -------------------------------------------------------

    def _finish(self, handle: int, result: WorkResult) -> None:
        attempt = self.running.pop(handle)
        index = attempt.task
        self.pools.release(index)
        task = self.tasks.tasks[index]
        finished = self.clock()
        if result.outcome is Outcome.SUCCEEDED:
            upstream = tuple(str(e.upstream) for e in self.graph.upstream_edges(task.asset))
            warned = [c for c in result.checks if not c.passed]
            if warned:
                self.warnings[index] = tuple(f"{c.check_name}: {c.message}" for c in warned)
            self.committer.submit(FinishedStep(index, task, attempt, result, finished, upstream))
            return
        self._failed(attempt, result, finished)

    def _apply(self, batches: list[Committed]) -> None:
        """Publish the events of committed batches; their successes become final."""
        for batch in batches:
            for event in batch.events:
                self.bus.publish(event)
            for step, result, record, ids in batch.succeeded:
                asset = str(step.task.asset)
                self.leases.released(step.items())
                written = self.recorder.succeeded(
                    step.task, step.attempt, result, record, ids, self.warnings.get(step.index, ())
                )
                for key, mid, data_version, output_hash in written:
                    self.versions.set(asset, key, mid, data_version, output_hash)
                self.written.forget(asset)
                self.board.succeed(step.index, result.duration_s)
            for step, result in batch.failed:
                self._failed(step.attempt, result, step.finished)

    def _failed(self, attempt: Attempt, result: WorkResult, finished: datetime) -> None:
        index = attempt.task
        task = self.tasks.tasks[index]
        timed_out = result.outcome is Outcome.TIMED_OUT
        if result.outcome is Outcome.CANCELLED:
            status = StepStatus.CANCELLED
        else:
            status = StepStatus.TIMED_OUT if timed_out else StepStatus.FAILED
        error = (result.error or str(status)).splitlines()[0]
        policy = self.graph.spec(task.asset).retry
        if (
            result.outcome in (Outcome.FAILED, Outcome.TIMED_OUT)
            and result.retryable
            and policy is not None
            and attempt.attempt < policy.max_attempts
            and not self.cancel.cancelled
        ):
            delay = policy.delay_before(attempt.attempt + 1, self.rng)
            retry = Retry(delay_s=delay, max_attempts=policy.max_attempts)
            self.recorder.failed(task, attempt, status, result, finished, retry)
            self.board.retry(index, time.monotonic() + delay, error)
            self.queue.append(index)
            return
        self.recorder.failed(task, attempt, status, result, finished, None)
        self.board.runs[index].duration_s = result.duration_s
        skipped = self.board.fail(index, error, timed_out=timed_out)
        self.leases.release(self._items(task))
        for dep in skipped:
            self._record_skip(dep, self.board.runs[dep].reason)

    # -- the loop --------------------------------------------------------------

    def run(self) -> RunResult:
        started = self.clock()
        self.recorder.run_started(
            Run(
                run_id=self.run_id,
                started_at=started,
                heartbeat_at=started,
                selection=self.options.selection,
                partitions=self.options.partitions,
                config=self.options.config_text,
                host=this_host(),
                pid=os.getpid(),
                partita_version=version("partita"),
            ),
            len(self.tasks),
        )
        status = RunStatus.FAILED
        error: str | None = None
        unobserved: tuple[TaskOutcome, ...] = ()
        self.leases.acquire([self._items(t) for t in self.tasks.tasks], started)
        needed, sources, planned_from = self._versions_of
        state = self.catalog.planner_state(needed)
        self.versions = CurrentVersions(state, sources, planned_from=planned_from)
        self.quiet = quiet_tasks(self.versions, self.tasks.tasks, self.leases)
        self.committer.start()
        heartbeat = HeartbeatThread(
            self.catalog,
            self.run_id,
            every_s=self.options.heartbeat_s,
            ttl_s=self.options.lease_ttl_s,
            clock=self.clock,
        ).start()
        try:
            unobserved = record_failed_observations(
                self.catalog,
                self.run_id,
                self.plan.failed_observations,
                self.plan.now,
                self.bus,
            )
            self._loop()
            if self.cancel.cancelled:
                status = RunStatus.CANCELLED
                error = self.cancel.reason
            elif any(r.state is not TaskState.SUCCEEDED and not r.skip_ok for r in self.board.runs):
                status = RunStatus.FAILED
                error = "some tasks failed"
            elif unobserved:
                status = RunStatus.FAILED
                error = "some source observations failed"
            else:
                status = RunStatus.SUCCEEDED
        except KeyboardInterrupt:
            self.cancel.cancel("interrupted")
            self._stop("interrupted")
            status, error = RunStatus.CANCELLED, "interrupted"
        except BaseException as exc:
            self._stop(f"the coordinator failed: {exc}")
            status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            heartbeat.stop()
            self.executor.close()
            failure = self.committer.close()
            self._apply(self.committer.completed())
            finished = self.clock()
            self.catalog.release_leases(self.run_id)
            self.pools.release_all()
            if failure is not None and status is not RunStatus.FAILED:
                status, error = RunStatus.FAILED, f"{type(failure).__name__}: {failure}"
            self.recorder.run_finished(status, started, finished, error)
        if failure is not None:
            raise failure
        delivery = self.bus.close()
        return RunResult(
            run_id=self.run_id,
            status=RunOutcome(status),
            outcomes=unobserved
            + tuple(
                TaskOutcome.of(t, r, self.warnings.get(i, ()))
                for i, (t, r) in enumerate(zip(self.tasks.tasks, self.board.runs, strict=True))
            ),
            started_at=started,
            finished_at=finished,
            blocked=tuple(b.describe() for b in self.plan.blocked),
            event_warnings=delivery.warnings,
        )

    def _stop(self, reason: str) -> None:
        committed, dropped = self.committer.settle()
        self._apply(committed)
        handles = self.executor.stop_all()
        now = self.clock()
        stopped = {step.index: step.attempt for step in dropped}
        for handle in handles:
            attempt = self.running.pop(handle, None)
            if attempt is not None:
                stopped[attempt.task] = attempt
        started = {i for i, run in enumerate(self.board.runs) if run.state is TaskState.RUNNING}
        for index in self.board.cancel_unfinished(reason):
            attempts = self.board.runs[index].attempts
            number = attempts if index in started else attempts + 1
            self.recorder.cancelled(
                self.tasks.tasks[index], number, reason, now, stopped.get(index)
            )

    def _loop(self) -> None:
        while not self.board.done:
            if self.cancel.cancelled:
                self.recorder.cancelling(self.cancel.reason, self.clock())
                self._stop(self.cancel.reason)
                return
            self.committer.raise_error()
            self._apply(self.committer.completed())
            if self.board.done:
                return
            self._start_some()
            now_m = time.monotonic()
            waits = [0.1]
            for index in self.queue:
                run = self.board.runs[index]
                if run.not_before > now_m:
                    waits.append(run.not_before - now_m)
            timeout = 0.0 if self.board.done else max(0.0, min(waits))
            for done in self.committer.poll(self.executor, timeout):
                self._finish(done.handle, done.result)


def run_plan(
    plan: Plan,
    graph: AssetGraph,
    catalog: RunCatalog,
    *,
    data_path: str | os.PathLike[str],
    project: ProjectRef | None = None,
    options: RunOptions | None = None,
    subscribers: Sequence[Subscriber] = (),
    clock: Callable[[], datetime] = _utcnow,
    cancel: CancelToken | None = None,
    dynamic: DynamicPartitionsStore | None = None,
    planned_from: PlannerState | None = None,
) -> RunResult:
    """Execute ``plan`` and record it in ``catalog``; return what happened.

    Args:
        plan: what to build (an empty plan without failed observations runs nothing
            and records no run).
        graph: the project's asset graph.
        catalog: the lineage catalog (only the coordinator writes it).
        data_path: the default store's folder (assets without a store).
        project: how worker processes load the project (needed by ``process``).
        options: executor, workers, staged-data checks, lease and heartbeat settings.
        subscribers: who gets the run's events (:mod:`partita.events`); a slow
            or failing subscriber never slows or fails the run.
        clock: the current time (recorded times come from it).
        cancel: a token another thread may set to stop the run.
        dynamic: the keys of dynamic partitions definitions.
        planned_from: the catalog state ``plan`` was made from: a partition another
            run built after it (even before this run started) is taken as built,
            not built again (see :func:`~partita.runner.leasing.built_meanwhile`);
            ``None``: the state when the run starts.
    """
    opts = options or RunOptions()
    if plan.is_empty and not plan.failed_observations:
        now = clock()
        return RunResult(
            run_id=None,
            status=RunOutcome.NOTHING_TO_DO,
            started_at=now,
            finished_at=now,
            blocked=tuple(b.describe() for b in plan.blocked),
        )
    token = cancel or CancelToken()
    workers = opts.max_workers or os.cpu_count() or 1
    fence = LeaseFence(catalog.lease_reader_factory())
    executor = make_executor(
        opts.executor,
        graph=graph,
        data_path=data_path,
        ref=project,
        max_workers=workers,
        staged_checks=opts.staged_checks,
        dask=opts.dask,
    )
    runtime = WorkerRuntime.for_data_path(graph, data_path)
    bus = EventBus(subscribers, flush_timeout_s=opts.events_flush_s)
    try:
        coordinator = _Coordinator(
            plan,
            graph,
            catalog,
            executor,
            opts,
            bus,
            clock,
            token,
            dynamic,
            runtime,
            fence,
            planned_from,
        )
        interrupt = ExecutorKind.parse(opts.executor) is ExecutorKind.INPROCESS
        if opts.handle_signals:
            with cancel_on_signals(token, interrupt=interrupt):
                return coordinator.run()
        return coordinator.run()
    finally:
        bus.close()  # when the run raised; else already closed, for its report
        fence.close()
