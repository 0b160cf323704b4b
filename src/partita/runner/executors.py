"""Executors: where a task's attempt runs.

- :class:`~partita.runner.process_executor.ProcessExecutor` (the default for a
  project loaded from a file or module): worker processes, each loading the
  project once; a task over its timeout is really stopped.
- :class:`ThreadExecutor`: a pool of threads in the coordinator's process. A
  thread cannot be killed: a timed-out or cancelled attempt is reported at once
  and its output is discarded instead of published when it finishes.
- :class:`InProcessExecutor`: one task at a time in the coordinator's thread
  (for debugging); timeouts are not enforced.
- :class:`~partita.runner.dask_executor.DaskExecutor`: each attempt a task on a
  Dask cluster (imported only when chosen: the Dask client is an optional
  dependency, ``partita[dask]``).

Workers stage and check; the coordinator publishes what they staged
(:mod:`partita.runner.commit`). All share one small interface
(:class:`~partita.runner.executor_protocol.Executor`): ``submit`` a work item
under a handle, ``poll`` for finished ones, ``stop_all``, ``close``;
:func:`make_executor` makes one of an :class:`ExecutorKind`.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from partita.errors import PartitaError
from partita.executor_config import DaskCluster
from partita.graph import AssetGraph
from partita.runner.checking import StagedChecks
from partita.runner.executor_protocol import Executor, Finished, timed_out
from partita.runner.messages import WorkItem, WorkResult
from partita.runner.process_executor import ProcessExecutor, ProjectRef
from partita.runner.worker import WorkerRuntime

__all__ = ["ExecutorKind", "InProcessExecutor", "ThreadExecutor", "make_executor"]


# ------------------------------------------------------------------ in-process


class InProcessExecutor:
    """Runs one item at a time in the calling thread (timeouts are not enforced)."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime
        self._pending: list[tuple[int, WorkItem]] = []

    @property
    def free_slots(self) -> int:
        """One when idle."""
        return 0 if self._pending else 1

    def submit(self, handle: int, item: WorkItem, timeout: float | None) -> None:
        """Queue ``item``; it runs inside the next :meth:`poll`."""
        self._pending.append((handle, item))

    def poll(self, timeout: float) -> list[Finished]:
        """Run the queued item now."""
        if not self._pending:
            if timeout > 0:
                time.sleep(timeout)
            return []
        handle, item = self._pending.pop(0)
        return [Finished(handle, self.runtime.run(item))]

    def stop_all(self) -> list[int]:
        """Forget queued items (nothing runs in the background)."""
        handles = [h for h, _ in self._pending]
        self._pending.clear()
        return handles

    def close(self) -> None:
        """Nothing to release."""


# --------------------------------------------------------------------- threads


@dataclass
class _ThreadJob:
    handle: int
    item: WorkItem
    cancel: threading.Event
    deadline: float | None
    timeout: float | None


class ThreadExecutor:
    """A pool of daemon threads sharing one :class:`WorkerRuntime`."""

    def __init__(self, runtime: WorkerRuntime, max_workers: int) -> None:
        self.runtime = runtime
        self.max_workers = max(1, max_workers)
        self._jobs: queue.SimpleQueue[_ThreadJob | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[tuple[int, WorkResult]] = queue.SimpleQueue()
        self._inflight: dict[int, _ThreadJob] = {}
        self._threads = 0
        self._lost = 0  # threads still busy with an abandoned attempt

    @property
    def free_slots(self) -> int:
        """Threads not busy with a live attempt."""
        return self.max_workers - len(self._inflight)

    def _thread_main(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            result = self.runtime.run(job.item, job.cancel.is_set)
            self._results.put((job.handle, result))

    def submit(self, handle: int, item: WorkItem, timeout: float | None) -> None:
        """Hand ``item`` to a free thread."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = _ThreadJob(handle, item, threading.Event(), deadline, timeout)
        self._inflight[handle] = job
        while self._threads < self.max_workers + self._lost:
            threading.Thread(target=self._thread_main, daemon=True, name="partita-task").start()
            self._threads += 1
        self._jobs.put(job)

    def poll(self, timeout: float) -> list[Finished]:
        """Collect ended attempts; report timed-out ones (their output is discarded)."""
        finished: list[Finished] = []
        now = time.monotonic()
        deadlines = [j.deadline for j in self._inflight.values() if j.deadline is not None]
        wait = max(0.0, min([timeout, *(d - now for d in deadlines)]))
        try:
            first: tuple[int, WorkResult] | None = self._results.get(timeout=wait)
        except queue.Empty:
            first = None
        pending = [first] if first is not None else []
        while True:
            try:
                pending.append(self._results.get_nowait())
            except queue.Empty:
                break
        for handle, result in pending:
            job = self._inflight.pop(handle, None)
            if job is None:  # timed out or stopped earlier: its thread is free again
                self._lost -= 1
                continue
            finished.append(Finished(handle, result))
        now = time.monotonic()
        for handle, job in list(self._inflight.items()):
            if job.deadline is not None and now >= job.deadline and job.timeout is not None:
                job.cancel.set()
                del self._inflight[handle]
                self._lost += 1
                finished.append(Finished(handle, timed_out(job.timeout)))
        return finished

    def stop_all(self) -> list[int]:
        """Tell running attempts to discard their output; their threads are abandoned."""
        handles = list(self._inflight)
        for job in self._inflight.values():
            job.cancel.set()
        self._lost += len(handles)
        self._inflight.clear()
        return handles

    def close(self) -> None:
        """Let idle threads end."""
        for _ in range(self._threads):
            self._jobs.put(None)
        self._threads = 0


class ExecutorKind(StrEnum):
    """Where tasks run: worker processes (timeouts really stop a step), threads, the
    calling thread, or a Dask cluster."""

    PROCESS = "process"
    THREAD = "thread"
    INPROCESS = "inprocess"
    DASK = "dask"

    @classmethod
    def parse(cls, value: ExecutorKind | str) -> ExecutorKind:
        """``value`` as a kind; an unknown name is an error listing the known ones."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(repr(k.value) for k in cls)
            raise PartitaError(f"unknown executor {value!r}", hint=f"use {known}") from None


def make_executor(
    kind: ExecutorKind | str,
    *,
    graph: AssetGraph,
    data_path: str | os.PathLike[str],
    ref: ProjectRef | None,
    max_workers: int,
    staged_checks: StagedChecks | None,
    dask: DaskCluster | None = None,
) -> Executor:
    """An executor of ``kind`` (``dask``: on ``dask``'s cluster, default a local one)."""
    kind = ExecutorKind.parse(kind)
    if kind in (ExecutorKind.PROCESS, ExecutorKind.DASK) and ref is None:
        raise PartitaError(
            f"the {kind} executor needs the project's origin (a definitions file or module)",
            hint="use executor='thread' or 'inprocess' for graphs built in memory",
        )
    if kind is ExecutorKind.PROCESS:
        assert ref is not None
        return ProcessExecutor(ref, max_workers, staged_checks=staged_checks)
    if kind is ExecutorKind.DASK:
        assert ref is not None
        cluster = dask or DaskCluster()
        return _dask_executor(ref, graph, cluster, max_workers, staged_checks, data_path)
    runtime = WorkerRuntime.for_data_path(graph, data_path, staged_checks=staged_checks)
    if kind is ExecutorKind.THREAD:
        return ThreadExecutor(runtime, max_workers)
    return InProcessExecutor(runtime)


def _dask_executor(
    ref: ProjectRef,
    graph: AssetGraph,
    cluster: DaskCluster,
    max_workers: int,
    staged_checks: StagedChecks | None,
    data_path: str | os.PathLike[str],
) -> Executor:
    """The Dask executor, imported now: only a run that uses it needs the Dask client."""
    try:
        from partita.runner.dask_executor import DaskExecutor  # noqa: PLC0415
    except ImportError as exc:
        raise PartitaError(
            f"the dask executor needs the Dask client: {exc}",
            hint="install it with: pip install 'partita[dask]'",
        ) from None
    # an existing cluster runs as many steps at once as it has threads, unless told
    workers = cluster.n_workers or (max_workers if cluster.address is None else None)
    return DaskExecutor(
        ref,
        graph,
        cluster,
        max_workers=workers,
        staged_checks=staged_checks,
        data_path=str(data_path),
    )
