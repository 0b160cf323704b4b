"""The coordinator: runs a Plan's tasks on an executor and records everything.

Only the coordinator writes the catalog. It starts the run, expands the plan
into tasks (:mod:`partita.runner.tasks`), keeps their live state
(:mod:`partita.runner.state`), leases every partition of the run in one
transaction when it starts (a partition another live run is building is
waited for, up to a bound), and loops until every task is finished: it
starts ready tasks (:mod:`partita.runner.starting`: early cutoff, leases,
pools, the dispatch to the executor), takes the attempts that ended and the
batches its committer published and recorded (:mod:`partita.runner.finishing`;
:mod:`partita.runner.commit`: one transaction a batch, with the leases of
finished steps released in it), publishes each outcome as an event
(:mod:`partita.events`) to the run's subscribers, retries with the asset's
:class:`~partita.policies.RetryPolicy`, and on Ctrl-C / SIGTERM stops: no
new task starts, running ones are killed (nothing half-published), the run is
recorded ``cancelled``.

When the executor has nothing to report and the committer thread is idle,
the coordinator commits the finished steps itself (no hand-off to the thread
and back: what a chain of steps waits for); while the thread commits a
batch, it waits for that batch.

Its parts live beside it: the state they share (:mod:`~partita.runner.run_context`),
rows and events (:mod:`~partita.runner.recording`), leases
(:mod:`~partita.runner.leasing`), concurrency pool slots, taken just before a
pooled step is dispatched (:mod:`~partita.runner.pools`), the heartbeat
(:mod:`~partita.runner.heartbeat`), source checks (:mod:`~partita.runner.source_checks`),
options (:mod:`~partita.runner.options`), signals (:mod:`~partita.runner.cancelling`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version

from partita.events import EventBus, Subscriber
from partita.graph import AssetGraph
from partita.partitions import DynamicPartitionsStore
from partita.planner.plan import Plan
from partita.processes import this_host
from partita.records import PlannerState, Run, RunStatus
from partita.runner.cancelling import CancelToken, cancel_on_signals
from partita.runner.commit import Committer
from partita.runner.executor_protocol import Executor
from partita.runner.executors import ExecutorKind, make_executor
from partita.runner.failed_observations import record_failed_observations
from partita.runner.fencing import LeaseFence
from partita.runner.finishing import AttemptFinisher
from partita.runner.heartbeat import HeartbeatThread
from partita.runner.inputs import CurrentVersions
from partita.runner.leasing import LeaseWaits, RunLeases, quiet_tasks
from partita.runner.options import RunCatalog, RunOptions, new_run_id
from partita.runner.pools import PoolSlots
from partita.runner.process_executor import ProjectRef
from partita.runner.recording import RunRecorder
from partita.runner.run_context import RunContext
from partita.runner.source_checks import SourceChecks
from partita.runner.starting import TaskStarter
from partita.runner.state import TaskBoard, TaskState
from partita.runner.summary import RunOutcome, RunResult, TaskOutcome
from partita.runner.tasks import TaskGraph, expand_plan
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
        self.catalog = catalog
        self.executor = executor
        self.options = options
        self.bus = bus
        self.clock = clock
        self.cancel = cancel
        self.run_id = new_run_id(clock())
        self.tasks: TaskGraph = expand_plan(plan, graph, dynamic=dynamic)
        self.board = TaskBoard(self.tasks)
        self.recorder = RunRecorder(catalog, self.run_id, bus)
        self.leases = RunLeases(catalog, self.run_id, options.lease_ttl_s, self.recorder.release)
        self.ctx = RunContext(
            run_id=self.run_id,
            graph=graph,
            catalog=catalog,
            executor=executor,
            options=options,
            clock=clock,
            tasks=self.tasks,
            board=self.board,
            recorder=self.recorder,
            leases=self.leases,
        )
        checker = runtime if options.staged_checks is not None else None
        sources = SourceChecks(graph, catalog, checker, bus, clock, self.run_id)
        self.committer = Committer(catalog, self.recorder, runtime.store_of, fence)
        self.pools = PoolSlots(catalog, self.run_id, graph, options.lease_ttl_s, self.ctx.waiting)
        lease_waits = LeaseWaits(options.lease_wait_s, self.ctx.waiting)
        self.starter = TaskStarter(self.ctx, sources, lease_waits, self.pools)
        self.finisher = AttemptFinisher(
            self.ctx, self.committer, bus, self.pools, cancel, self.starter.retry_later
        )
        needed = {str(s.asset) for s in plan.steps}
        for step in plan.steps:
            needed.update(str(e.upstream) for e in graph.upstream_edges(step.asset))
        unobserved = frozenset(
            name for name in needed if graph.spec(name).is_source and graph.spec(name).fn is None
        )
        # read in run(), once the run holds its leases: then no other run builds them
        self._versions_of = (sorted(needed), unobserved, planned_from)

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
        self._lease_and_read_versions(started)
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
            self.finisher.apply(self.committer.completed())
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
                TaskOutcome.of(t, r, self.ctx.warnings.get(i, ()))
                for i, (t, r) in enumerate(zip(self.tasks.tasks, self.board.runs, strict=True))
            ),
            started_at=started,
            finished_at=finished,
            blocked=tuple(b.describe() for b in self.plan.blocked),
            event_warnings=delivery.warnings,
        )

    def _lease_and_read_versions(self, now: datetime) -> None:
        """Lease every partition of the run, then read what the tasks' inputs are now
        (no other run builds them meanwhile)."""
        self.leases.acquire([self.ctx.items(t) for t in self.tasks.tasks], now)
        needed, sources, planned_from = self._versions_of
        state = self.catalog.planner_state(needed)
        versions = CurrentVersions(state, sources, planned_from=planned_from)
        self.ctx.versions = versions
        self.starter.quiet = quiet_tasks(versions, self.tasks.tasks, self.leases)

    def _stop(self, reason: str) -> None:
        committed, dropped = self.committer.settle()
        self.finisher.apply(committed)
        handles = self.executor.stop_all()
        now = self.clock()
        stopped = {step.index: step.attempt for step in dropped}
        for handle in handles:
            attempt = self.ctx.running.pop(handle, None)
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
            self.finisher.apply(self.committer.completed())
            if self.board.done:
                return
            self.starter.start_some()
            timeout = 0.0 if self.board.done else self.starter.wait_s()
            for done in self.committer.poll(self.executor, timeout):
                self.finisher.finish(done.handle, done.result)


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
