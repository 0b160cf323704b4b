"""The coordinator: runs a Plan's tasks on an executor and records everything.

Only the coordinator writes the catalog. It starts the run, expands the plan
into tasks (:mod:`partita.runner.tasks`), keeps their live state
(:mod:`partita.runner.state`), holds a catalog lease on every partition before
building it (another live run building the same partition is waited for, up to
a bound), applies the early cutoff, sends work items to the executor, records
each outcome in one transaction, retries with the asset's
:class:`~partita.policies.RetryPolicy`, heartbeats and renews its leases, and
on Ctrl-C / SIGTERM stops: no new task starts, running ones are killed
(nothing half-published), the run is recorded ``cancelled``.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import version
from types import FrameType
from typing import Any, Protocol

from partita.catalog.runs import this_host
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore
from partita.planner.plan import Plan
from partita.records import (
    CatalogReader,
    CatalogWriter,
    Materialization,
    Run,
    RunStatus,
    StepAttempt,
    StepStatus,
    partition_value,
)
from partita.runner.audit import AuditHook, asset_checks
from partita.runner.executors import Executor, ProjectRef, make_executor
from partita.runner.inputs import CurrentVersions
from partita.runner.messages import Outcome, WorkItem, WorkResult
from partita.runner.progress import NullProgress, ProgressSink
from partita.runner.state import TaskBoard, TaskState
from partita.runner.summary import RunResult, TaskOutcome
from partita.runner.tasks import Task, TaskGraph, expand_plan
from partita.runner.worker import WorkerRuntime

__all__ = ["CancelToken", "RunCatalog", "RunOptions", "run_plan"]


class RunCatalog(CatalogReader, CatalogWriter, Protocol):
    """A catalog the runner can read and write."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CancelToken:
    """Set to ask a run to stop (what Ctrl-C and SIGTERM do)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the run to stop."""
        self.reason = self.reason or reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether a stop was asked for."""
        return self._event.is_set()


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan.

    Attributes:
        executor: ``process`` (default), ``thread`` or ``inprocess``.
        max_workers: parallel tasks (default: the number of CPUs).
        audit: checks run on staged data before publishing (default: the asset's
            built-in and custom checks; ``None``: none). Checks of sources run
            in the coordinator, once per source partition per run, unless ``None``.
        lease_wait_s: how long a task waits for another run's lease before it is skipped.
        lease_ttl_s: how long a lease lives without renewal.
        heartbeat_s: seconds between heartbeats (and lease renewals).
        handle_signals: turn SIGINT / SIGTERM into a cancellation (main thread only).
        selection, partitions, config_text: what the user asked for, recorded on the run.
        configs: per asset key string, its validated config as JSON.
    """

    executor: str = "process"
    max_workers: int | None = None
    audit: AuditHook | None = asset_checks
    lease_wait_s: float = 300.0
    lease_ttl_s: float = 60.0
    heartbeat_s: float = 5.0
    handle_signals: bool = True
    selection: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()
    config_text: str = "{}"
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Attempt:
    task: int
    attempt: int
    started_at: datetime
    inputs: list[list[Any]]


@dataclass
class _LeaseWait:
    since: float
    holder: str
    next_check: float


def new_run_id(now: datetime) -> str:
    """``20250301T120000-3fa2c1``: sortable by start time, unique."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class _Coordinator:
    def __init__(
        self,
        plan: Plan,
        graph: AssetGraph,
        catalog: RunCatalog,
        executor: Executor,
        options: RunOptions,
        progress: ProgressSink,
        clock: Callable[[], datetime],
        cancel: CancelToken,
        dynamic: DynamicPartitionsStore | None,
        checker: WorkerRuntime | None = None,
    ) -> None:
        self.plan = plan
        self.checker = checker
        self.source_checks: dict[tuple[str, str], bool] = {}
        self.warnings: dict[int, tuple[str, ...]] = {}
        self.graph = graph
        self.catalog = catalog
        self.executor = executor
        self.options = options
        self.progress = progress
        self.clock = clock
        self.cancel = cancel
        self.tasks: TaskGraph = expand_plan(plan, graph, dynamic=dynamic)
        self.board = TaskBoard(self.tasks)
        self.rng = random.Random()
        self.run_id = new_run_id(clock())
        self.queue: list[int] = []
        self.lease_waits: dict[int, _LeaseWait] = {}
        self.running: dict[int, _Attempt] = {}
        self.to_release: list[tuple[str, str | None]] = []
        self.next_handle = 0
        needed = {str(s.asset) for s in plan.steps}
        for step in plan.steps:
            needed.update(str(e.upstream) for e in graph.upstream_edges(step.asset))
        unobserved = frozenset(
            name for name in needed if graph.spec(name).is_source and graph.spec(name).fn is None
        )
        self.versions = CurrentVersions(catalog.planner_state(sorted(needed)), unobserved)

    # -- helpers ---------------------------------------------------------------

    def _items(self, task: Task) -> list[tuple[str, str | None]]:
        return [(str(task.asset), partition_value(k)) for k in task.keys]

    def _outcome(self, index: int) -> TaskOutcome:
        task = self.tasks.tasks[index]
        run = self.board.runs[index]
        return TaskOutcome(
            asset=str(task.asset),
            partition=task.label,
            status=str(run.state),
            attempts=run.attempts,
            reason=run.reason,
            error=run.error,
            duration_s=run.duration_s,
            partitions=task.keys if task.partitioned else (),
            warnings=self.warnings.get(index, ()),
        )

    def _report(self, indexes: list[int]) -> None:
        for index in indexes:
            self.progress.finished(self._outcome(index))

    def _record_skip(self, index: int, reason: str) -> None:
        task = self.tasks.tasks[index]
        now = self.clock()
        self.catalog.record_step_outcome(
            StepAttempt(
                run_id=self.run_id,
                asset=str(task.asset),
                partition=task.label,
                attempt=self.board.runs[index].attempts + 1,
                status=StepStatus.SKIPPED,
                started_at=now,
                finished_at=now,
                logs=f"skipped: {reason}\n",
            )
        )

    def _skip(self, index: int, reason: str, *, outputs_current: bool) -> None:
        self._record_skip(index, reason)
        dependents = self.board.skip(index, reason, outputs_current=outputs_current)
        for dep in dependents:
            self._record_skip(dep, self.board.runs[dep].reason)
        self._report([index, *dependents])

    # -- starting tasks --------------------------------------------------------

    def _start_some(self) -> None:
        self.queue.extend(self.board.take_ready())
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
            wait = self.lease_waits.get(index)
            if (
                len(chosen) >= free
                or run.not_before > now_m
                or (wait is not None and wait.next_check > now_m)
            ):
                keep.append(index)
                continue
            task = self.tasks.tasks[index]
            if task.recheck and run.attempts == 0 and self.versions.unchanged(task):
                self._skip(index, "inputs unchanged", outputs_current=True)
                continue
            failed_source = self._failed_source_check(task) if run.attempts == 0 else None
            if failed_source is not None:
                self._skip(index, f"upstream check failed: {failed_source}", outputs_current=False)
                continue
            chosen.append(index)
        self.queue = keep
        if not chosen:
            return
        items = [item for index in chosen for item in self._items(self.tasks.tasks[index])]
        acquired = set(
            self.catalog.acquire_leases(
                self.run_id, items, now=self.clock(), ttl_s=self.options.lease_ttl_s
            )
        )
        for index in chosen:
            task = self.tasks.tasks[index]
            mine = self._items(task)
            if all(item in acquired for item in mine):
                waited = self.lease_waits.pop(index, None)
                if waited is not None and self._built_meanwhile(index, waited.holder):
                    continue
                self._dispatch(index)
            else:
                partial = [item for item in mine if item in acquired]
                if partial:
                    self.catalog.release_leases(self.run_id, partial)
                self._wait_for_lease(index, mine, now_m)

    def _failed_source_check(self, task: Task) -> str | None:
        """Run the checks of the sources ``task`` reads (once per source partition per run).

        Returns the first source partition whose blocking check failed, or ``None``.
        """
        if self.checker is None:
            return None
        for edge in task.merged_reads():
            spec = self.graph.spec(edge.upstream)
            if not spec.is_source or spec.store is None or not self.graph.checks_of(spec.key):
                continue
            upstream = str(edge.upstream)
            for key in edge.keys:
                passed = self.source_checks.get((upstream, key))
                if passed is None:
                    passed = self._check_source(spec.key, key)
                    self.source_checks[(upstream, key)] = passed
                if not passed:
                    return upstream if key == "" else f"{upstream}[{key}]"
        return None

    def _check_source(self, key: AssetKey, partition_key: str) -> bool:
        assert self.checker is not None
        partition = partition_value(partition_key)
        records, found = self.checker.check_published(key, partition, run_id=self.run_id)
        if not found:  # nothing to check: the read itself reports missing data
            return True
        now = self.clock()
        self.catalog.record_checks(
            [replace(r, run_id=self.run_id, created_at=now) for r in records]
        )
        failed = [r for r in records if r.blocking]
        warned = [r for r in records if not r.passed and not r.blocking]
        where = str(key) if partition is None else f"{key}[{partition}]"
        for record in failed + warned:
            label = "check failed" if record.blocking else "check warning"
            self.progress.note(f"{label} on source {where}: {record.check_name}: {record.message}")
        return not failed

    def _wait_for_lease(
        self, index: int, items: list[tuple[str, str | None]], now_m: float
    ) -> None:
        holders = self.catalog.lease_holders(items, now=self.clock())
        holder = next(iter(holders.values()), "another run")
        task = self.tasks.tasks[index]
        wait = self.lease_waits.get(index)
        if wait is None:
            wait = _LeaseWait(since=now_m, holder=holder, next_check=now_m)
            self.lease_waits[index] = wait
            self.progress.note(f"waiting: {task.describe()} is being built by run {holder}")
        wait.holder = holder
        if now_m - wait.since >= self.options.lease_wait_s:
            del self.lease_waits[index]
            self._skip(index, f"being built by run {holder}", outputs_current=False)
            return
        wait.next_check = now_m + min(0.5, self.options.lease_wait_s / 4 or 0.5)
        self.queue.append(index)

    def _built_meanwhile(self, index: int, holder: str) -> bool:
        """After waiting for another run: skip if it built every partition of the task."""
        task = self.tasks.tasks[index]
        asset = str(task.asset)
        newer: list[tuple[str, Materialization]] = []
        for key in task.keys:
            latest = self.catalog.latest_materialization(asset, partition_value(key))
            before = self.versions.latest_at_start(asset, key)
            if latest is None or latest.materialization_id == before:
                return False
            newer.append((key, latest))
        for key, mat in newer:
            self.versions.set(asset, key, mat.materialization_id, mat.data_version)
        self.to_release.extend(self._items(task))
        self._skip(index, f"built by run {holder}", outputs_current=True)
        return True

    def _dispatch(self, index: int) -> None:
        task = self.tasks.tasks[index]
        spec = self.graph.spec(task.asset)
        self.board.start(index)
        attempt = self.board.runs[index].attempts
        started = self.clock()
        self.catalog.record_attempt_start(
            StepAttempt(
                run_id=self.run_id,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt,
                status=StepStatus.RUNNING,
                started_at=started,
            )
        )
        item = WorkItem(
            run_id=self.run_id,
            asset=str(task.asset),
            keys=task.keys,
            attempt=attempt,
            reads=self.versions.reads(task),
            config_json=self.options.configs.get(str(task.asset)),
        )
        handle = self.next_handle
        self.next_handle += 1
        self.running[handle] = _Attempt(index, attempt, started, self.versions.inputs(task))
        self.executor.submit(handle, item, spec.timeout)

    # -- finishing tasks -------------------------------------------------------

    def _finish(self, handle: int, result: WorkResult) -> None:
        attempt = self.running.pop(handle)
        index = attempt.task
        task = self.tasks.tasks[index]
        asset = str(task.asset)
        finished = self.clock()
        if result.outcome is Outcome.SUCCEEDED:
            mats = [
                Materialization(
                    asset=asset,
                    partition=partition_value(key) if task.partitioned else None,
                    run_id=self.run_id,
                    data_version="" if write is None else write.data_version,
                    created_at=finished,
                    code_version=task.code_version,
                    config_hash=task.config_hash,
                    rows=None if write is None else write.rows,
                    bytes=None if write is None else write.bytes,
                    schema=None if write is None else write.schema,
                    location=None if write is None else write.location,
                )
                for key, write in result.writes
            ]
            ids = self.catalog.record_step_outcome(
                self._attempt_record(task, attempt, StepStatus.SUCCEEDED, result, finished),
                mats,
                attempt.inputs,
                result.checks,
                upstream_assets=[str(e.upstream) for e in self.graph.upstream_edges(task.asset)],
            )
            for (key, _), mid, mat in zip(result.writes, ids, mats, strict=True):
                self.versions.set(asset, key, mid, mat.data_version)
            warned = [c for c in result.checks if not c.passed]
            if warned:
                self.warnings[index] = tuple(f"{c.check_name}: {c.message}" for c in warned)
            self.board.succeed(index, result.duration_s)
            self.to_release.extend(self._items(task))
            self._report([index])
            return
        timed_out = result.outcome is Outcome.TIMED_OUT
        if result.outcome is Outcome.CANCELLED:
            status = StepStatus.CANCELLED
        else:
            status = StepStatus.TIMED_OUT if timed_out else StepStatus.FAILED
        self.catalog.record_step_outcome(
            self._attempt_record(task, attempt, status, result, finished), checks=result.checks
        )
        error = (result.error or str(status)).splitlines()[0]
        policy = self.graph.spec(task.asset).retry
        if (
            result.outcome in (Outcome.FAILED, Outcome.TIMED_OUT)
            and policy is not None
            and attempt.attempt < policy.max_attempts
            and not self.cancel.cancelled
        ):
            delay = policy.delay_before(attempt.attempt + 1, self.rng)
            self.board.retry(index, time.monotonic() + delay, error)
            self.queue.append(index)
            self.progress.note(
                f"retrying {task.describe()} in {delay:.1f}s "
                f"(attempt {attempt.attempt + 1} of {policy.max_attempts}): {error}"
            )
            return
        self.board.runs[index].duration_s = result.duration_s
        if len(task.keys) > 1:
            # a batch records its attempts under its range label; the planner tracks
            # failures per partition, so each partition of a failed batch gets its row
            batch_row = self._attempt_record(task, attempt, status, result, finished)
            for key in task.keys:
                self.catalog.record_attempt_start(
                    replace(batch_row, partition=partition_value(key), logs="")
                )
        skipped = self.board.fail(index, error, timed_out=timed_out)
        self.to_release.extend(self._items(task))
        for dep in skipped:
            self._record_skip(dep, self.board.runs[dep].reason)
        self._report([index, *skipped])

    def _attempt_record(
        self,
        task: Task,
        attempt: _Attempt,
        status: StepStatus,
        result: WorkResult,
        finished: datetime,
    ) -> StepAttempt:
        return StepAttempt(
            run_id=self.run_id,
            asset=str(task.asset),
            partition=task.label,
            attempt=attempt.attempt,
            status=status,
            started_at=attempt.started_at,
            finished_at=finished,
            error=result.error,
            logs=result.logs,
        )

    # -- the loop --------------------------------------------------------------

    def run(self) -> RunResult:
        started = self.clock()
        self.catalog.start_run(
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
            )
        )
        self.progress.started(self.run_id, len(self.tasks))
        status = RunStatus.FAILED
        error: str | None = None
        try:
            self._loop()
            if self.cancel.cancelled:
                status = RunStatus.CANCELLED
                error = self.cancel.reason
            elif any(r.state is not TaskState.SUCCEEDED and not r.skip_ok for r in self.board.runs):
                status = RunStatus.FAILED
                error = "some tasks failed"
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
            self.executor.close()
            finished = self.clock()
            self.catalog.release_leases(self.run_id)
            self.catalog.finish_run(self.run_id, status, now=finished, error=error)
            self.progress.close()
        return RunResult(
            run_id=self.run_id,
            status=str(status),
            outcomes=tuple(self._outcome(i) for i in range(len(self.tasks))),
            started_at=started,
            finished_at=finished,
            blocked=tuple(b.describe() for b in self.plan.blocked),
        )

    def _stop(self, reason: str) -> None:
        handles = self.executor.stop_all()
        now = self.clock()
        for handle in handles:
            attempt = self.running.pop(handle, None)
            if attempt is None:
                continue
            task = self.tasks.tasks[attempt.task]
            self.catalog.record_step_outcome(
                StepAttempt(
                    run_id=self.run_id,
                    asset=str(task.asset),
                    partition=task.label,
                    attempt=attempt.attempt,
                    status=StepStatus.CANCELLED,
                    started_at=attempt.started_at,
                    finished_at=now,
                    error=reason,
                    logs=f"cancelled: {reason}\n",
                )
            )
        cancelled = self.board.cancel_unfinished(reason)
        self._report(cancelled)

    def _loop(self) -> None:
        next_beat = time.monotonic() + self.options.heartbeat_s
        while not self.board.done:
            if self.cancel.cancelled:
                self.progress.note(f"cancelling run {self.run_id}: {self.cancel.reason}")
                self._stop(self.cancel.reason)
                return
            self._start_some()
            now_m = time.monotonic()
            waits = [next_beat - now_m, 0.1]
            for index in self.queue:
                run = self.board.runs[index]
                if run.not_before > now_m:
                    waits.append(run.not_before - now_m)
            timeout = 0.0 if self.board.done else max(0.0, min(waits))
            for done in self.executor.poll(timeout):
                self._finish(done.handle, done.result)
            if self.to_release:
                self.catalog.release_leases(self.run_id, self.to_release)
                self.to_release = []
            if time.monotonic() >= next_beat:
                now = self.clock()
                self.catalog.heartbeat(self.run_id, now=now)
                self.catalog.renew_leases(self.run_id, now=now, ttl_s=self.options.lease_ttl_s)
                next_beat = time.monotonic() + self.options.heartbeat_s


@contextmanager
def _signals(cancel: CancelToken, *, interrupt: bool) -> Iterator[None]:
    """Turn SIGTERM (and SIGINT) into a cancellation while the run lasts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.cancel("interrupted" if signum == signal.SIGINT else "terminated")
        if interrupt and signum == signal.SIGINT:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_plan(
    plan: Plan,
    graph: AssetGraph,
    catalog: RunCatalog,
    *,
    data_path: str | os.PathLike[str],
    project: ProjectRef | None = None,
    options: RunOptions | None = None,
    progress: ProgressSink | None = None,
    clock: Callable[[], datetime] = _utcnow,
    cancel: CancelToken | None = None,
    dynamic: DynamicPartitionsStore | None = None,
) -> RunResult:
    """Execute ``plan`` and record it in ``catalog``; return what happened.

    Args:
        plan: what to build (an empty plan runs nothing and records no run).
        graph: the project's asset graph.
        catalog: the lineage catalog (only the coordinator writes it).
        data_path: the default store's folder (assets without a store).
        project: how worker processes load the project (needed by ``process``).
        options: executor, workers, audit hook, lease and heartbeat settings.
        progress: where progress goes (default: nowhere).
        clock: the current time (recorded times come from it).
        cancel: a token another thread may set to stop the run.
        dynamic: the keys of dynamic partitions definitions.
    """
    opts = options or RunOptions()
    if plan.is_empty:
        now = clock()
        return RunResult(
            run_id=None,
            status="nothing_to_do",
            started_at=now,
            finished_at=now,
            blocked=tuple(b.describe() for b in plan.blocked),
        )
    token = cancel or CancelToken()
    workers = opts.max_workers or os.cpu_count() or 1
    executor = make_executor(
        opts.executor,
        graph=graph,
        data_path=data_path,
        ref=project,
        max_workers=workers,
        audit=opts.audit,
    )
    checker = None if opts.audit is None else WorkerRuntime.for_data_path(graph, data_path)
    coordinator = _Coordinator(
        plan,
        graph,
        catalog,
        executor,
        opts,
        progress or NullProgress(),
        clock,
        token,
        dynamic,
        checker,
    )
    interrupt = opts.executor == "inprocess"
    if opts.handle_signals:
        with _signals(token, interrupt=interrupt):
            return coordinator.run()
    return coordinator.run()
