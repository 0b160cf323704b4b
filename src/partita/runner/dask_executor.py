"""The Dask executor: each step's attempt is one task on a Dask cluster.

``partita materialize --executor dask [--dask-address tcp://host:8786]``: with
an address the executor connects to that scheduler; without one it starts a
``distributed.LocalCluster`` of worker processes (one thread each) on
127.0.0.1 for the run and stops it at the end. Tasks call
:func:`partita.runner.dask_worker.run_step`, which loads the project once per
worker process and runs the :class:`~partita.runner.messages.WorkItem`. The
coordinator stays the only writer of the catalog and the only publisher: a
task returns what it staged, as the process executor's workers do.

What the coordinator sees, as with the process executor:

- **A worker that dies mid-step** (killed, out of memory, its machine gone) is
  a failed attempt: the scheduler's ``remove-worker`` event names the tasks
  the worker was running; each is reported ``FAILED`` ("the Dask worker ...
  died"), cancelled on the cluster, and retried by the asset's retry policy.
  A ``KilledWorker`` error (the scheduler's own limit of worker deaths) is
  the same failure. Nothing it staged is published.
- **A timeout** is reported at the deadline and the task cancelled; its
  output, if the step still ends, is discarded instead of returned. A
  thread cannot be stopped, so a worker whose only thread runs the timed-out
  step is restarted through its nanny (``restart_workers``), which stops the
  step as the process executor's kill does; after the cancel, so that the
  scheduler does not hand the task to another worker.
- **Cancellation** (Ctrl-C, ``CancelToken``) cancels every future.

The Dask client is imported here, and this module only when a run uses the
Dask executor (:func:`partita.runner.executors.make_executor`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distributed import Client, Future, LocalCluster
from distributed.scheduler import KilledWorker

from partita.errors import UnreachableError
from partita.executor_config import DaskCluster
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.runner.checking import StagedChecks
from partita.runner.dask_probe import check_scheduler, client_security, unreachable
from partita.runner.dask_worker import DaskProject, run_step
from partita.runner.executor_protocol import Finished, timed_out
from partita.runner.messages import Outcome, WorkItem, WorkResult
from partita.runner.process_executor import ProjectRef, _main_module_hidden
from partita.runner.worker import WorkerRuntime

__all__ = ["DaskExecutor", "connect", "project_fingerprint"]

_QUIET = ("distributed", "tornado")
"""Loggers whose warnings about lost workers and closing connections would
repeat, in the terminal, what the run's events already say."""


def project_fingerprint(ref: ProjectRef, graph: AssetGraph, checks: bytes) -> str:
    """A digest of how to load the project and of its code: workers keep the project they
    loaded under it, and load it again when the code (any asset's code version) changed."""
    digest = hashlib.sha256(pickle.dumps(ref))
    digest.update(checks)
    for key in graph.keys:
        digest.update(f"\0{key}\0{graph.code_version(key)}".encode())
    return digest.hexdigest()[:32]


def connect(cluster: DaskCluster, n_workers: int) -> tuple[Client, LocalCluster | None]:
    """A client of ``cluster``'s scheduler, and the local cluster started for it (when
    ``cluster.address`` is ``None``).

    Raises:
        UnreachableError: the scheduler cannot be reached within the connect timeout, or
            what answers at the address is not a Dask scheduler
            (:func:`~partita.runner.dask_probe.check_scheduler`).
    """
    timeout = cluster.connect_timeout_s
    if cluster.address is None:
        with _main_module_hidden():  # spawned workers must not run the caller's script
            local = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # no dashboard; no port 8787
                silence_logs=logging.ERROR,
            )
        try:
            return Client(local, timeout=timeout), local
        except BaseException:
            local.close()
            raise
    security = client_security(cluster.address)
    check_scheduler(cluster.address, timeout, security)  # the client's handshake has no deadline
    try:
        return Client(cluster.address, timeout=timeout, security=security), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise unreachable(cluster.address, timeout, exc) from None
    except Exception as exc:  # the probe's scheduler answered it, not the client
        raise UnreachableError(
            f"{cluster.address} is not a Dask scheduler: the client's start failed "
            f"({type(exc).__name__}: {exc})",
            hint="check the address and port of `dask scheduler` (default port 8786)",
        ) from None


@dataclass
class _Running:
    handle: int
    item: WorkItem
    future: Future[WorkResult]
    deadline: float | None
    timeout: float | None


class DaskExecutor:
    """Steps as tasks on a Dask cluster.

    Args:
        ref: how workers load the project.
        graph: the project's graph (its code versions make the project's fingerprint;
            its stores discard what an abandoned attempt staged).
        cluster: the scheduler to use, or ``None`` address for a local cluster.
        max_workers: steps at once (default: the cluster's threads).
        staged_checks: run on each staged partition (a module-level function).
        data_path: the default store's folder.
    """

    def __init__(
        self,
        ref: ProjectRef,
        graph: AssetGraph,
        cluster: DaskCluster,
        *,
        max_workers: int | None,
        staged_checks: StagedChecks | None,
        data_path: str,
    ) -> None:
        self.cluster = cluster
        self._levels = {name: logging.getLogger(name).level for name in _QUIET}
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            self.client, self._local = connect(cluster, max_workers or 1)
        except BaseException:
            self._restore_logging()
            raise
        if max_workers is None:
            threads = sum(self.client.nthreads().values())
            max_workers = max(1, threads)
        self.max_workers = max(1, max_workers)
        checks = pickle.dumps(staged_checks)
        self.project = DaskProject(project_fingerprint(ref, graph, checks), ref, checks)
        self._runtime = WorkerRuntime.for_data_path(graph, data_path)
        self._done: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._running: dict[str, _Running] = {}
        self._abandoned: dict[str, tuple[Future[WorkResult], str]] = {}  # key: (future, asset)
        self._closed = False
        self.client.subscribe_topic("all", self._on_cluster_event)

    # -- callbacks (Dask's threads) -------------------------------------------------

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        message = event[1]
        if isinstance(message, dict) and message.get("action") == "remove-worker":
            keys = set(message.get("processing-tasks") or ())
            self._done.put(("lost", (str(message.get("worker", "?")), keys)))

    def _on_done(self, future: Future[WorkResult]) -> None:
        self._done.put(("done", future.key))

    # -- the Executor protocol ----------------------------------------------------------

    @property
    def free_slots(self) -> int:
        """Steps it may still start (the cluster queues what its threads cannot run yet)."""
        return self.max_workers - len(self._running)

    def submit(self, handle: int, item: WorkItem, timeout: float | None) -> None:
        """Submit ``item`` as a task (a key unique to the run, the handle and the attempt)."""
        key = f"partita-{item.run_id}-{handle}-{item.asset}-{item.attempt}"
        future = self.client.submit(run_step, self.project, item, key=key, pure=False, retries=0)
        deadline = None if timeout is None else time.monotonic() + timeout
        self._running[key] = _Running(handle, item, future, deadline, timeout)
        future.add_done_callback(self._on_done)

    def poll(self, timeout: float) -> list[Finished]:
        """Collect ended tasks, tasks whose worker died, and tasks over their deadline."""
        now = time.monotonic()
        deadlines = [r.deadline for r in self._running.values() if r.deadline is not None]
        wait = max(0.0, min([timeout, *(d - now for d in deadlines)]))
        events: list[tuple[str, Any]] = []
        with contextlib.suppress(queue.Empty):
            events.append(self._done.get(timeout=wait) if wait > 0 else self._done.get_nowait())
        while True:
            try:
                events.append(self._done.get_nowait())
            except queue.Empty:
                break
        finished: list[Finished] = []
        ended: list[_Running] = []
        for kind, payload in events:
            if kind == "lost":
                worker, keys = payload
                for key in sorted(keys):
                    running = self._running.get(key)
                    if running is not None:
                        finished.append(Finished(running.handle, _worker_died(worker)))
                        self._abandon(key)
            else:
                found = self._ended(payload)
                if found is not None:
                    ended.append(found)
        finished.extend(self._results(ended))
        now = time.monotonic()
        for key, running in list(self._running.items()):
            if running.deadline is not None and now >= running.deadline:
                finished.append(Finished(running.handle, timed_out(running.timeout or 0.0)))
                self._stop_timed_out(key)
        return finished

    def _ended(self, key: str) -> _Running | None:
        """The attempt whose task ended, unless it was reported already (then a late
        result's staging is discarded)."""
        abandoned = self._abandoned.pop(key, None)
        if abandoned is not None:
            self._discard_staged(*abandoned)
            return None
        return self._running.pop(key, None)

    def _results(self, ended: list[_Running]) -> list[Finished]:
        """The results of ended tasks: those that finished fetched in one round trip."""
        done = [r for r in ended if r.future.status == "finished"]
        fetched: dict[int, WorkResult] = {}
        if len(done) > 1:
            with contextlib.suppress(Exception):
                values = self.client.gather([r.future for r in done], errors="raise")
                for running, value in zip(done, values, strict=True):
                    if isinstance(value, WorkResult):
                        fetched[running.handle] = value
        return [Finished(r.handle, fetched.get(r.handle) or _result_of(r.future)) for r in ended]

    def _abandon(self, key: str) -> None:
        """Forget a task already reported: cancel it, discard its staging if it ends."""
        running = self._running.pop(key)
        if running.future.done():
            self._discard_staged(running.future, running.item.asset)
            return
        self._abandoned[key] = (running.future, running.item.asset)
        with contextlib.suppress(Exception):
            running.future.cancel(reason="partita abandoned the attempt")

    def _discard_staged(self, future: Future[WorkResult], asset: str) -> None:
        """Discard what an attempt reported failed (or timed out) staged after all."""
        if future.status != "finished":
            return
        with contextlib.suppress(Exception):
            result = future.result(timeout=5)
            if isinstance(result, WorkResult):
                store = self._runtime.store_of(AssetKey(asset))
                for _, staged in result.staged:
                    if staged is not None:
                        store.discard(staged)

    def _stop_timed_out(self, key: str) -> None:
        """Cancel a task over its deadline; when the step holds its worker's only thread,
        the scheduler restarts that worker (a thread cannot be stopped; a process can).

        The cancel comes first (the client waits for the scheduler to forget the task):
        a worker restarted while the scheduler still had the task would have it handed
        to another worker, where the timed-out step would start again."""
        address = None
        with contextlib.suppress(Exception):
            address = self.client.run_on_scheduler(_one_thread_worker_running(key))
        self._abandon(key)
        if address is not None:
            with contextlib.suppress(Exception):
                self.client.run_on_scheduler(_restart_worker(str(address), key))

    def stop_all(self) -> list[int]:
        """Cancel every running task (what they staged is never published)."""
        handles = [r.handle for r in self._running.values()]
        futures = [r.future for r in self._running.values()]
        self._running.clear()
        if futures:
            with contextlib.suppress(Exception):
                self.client.cancel(futures, reason="the run was cancelled")
        return handles

    def close(self) -> None:
        """Disconnect; stop the local cluster if this executor started one."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.client.unsubscribe_topic("all")
        with contextlib.suppress(Exception):
            self.client.close(timeout=10)
        if self._local is not None:
            with contextlib.suppress(Exception):
                self._local.close(timeout=10)
        self._restore_logging()

    def _restore_logging(self) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


def _one_thread_worker_running(key: str) -> Callable[[Any], str | None]:
    """A function for the scheduler: the address of the worker running ``key`` when that
    worker has one thread, else ``None``. Made here, a closure, so that it travels by
    value: the scheduler needs no partita."""

    def find(dask_scheduler: Any) -> str | None:
        task = dask_scheduler.tasks.get(key)
        worker = None if task is None else task.processing_on
        if worker is None or worker.nthreads != 1:
            return None
        return str(worker.address)

    return find


def _restart_worker(address: str, key: str) -> Callable[[Any], None]:
    """A function for the scheduler: restart the worker at ``address`` through its nanny,
    in the background (a closure, as :func:`_one_thread_worker_running`)."""

    def restart(dask_scheduler: Any) -> None:
        import asyncio  # noqa: PLC0415  (runs on the scheduler, in its event loop)

        pending = asyncio.ensure_future(
            dask_scheduler.restart_workers(
                [address],
                timeout=30,
                wait_for_workers=False,
                on_error="return",
                stimulus_id=f"partita-timeout-{key}",
            )
        )
        kept = dask_scheduler.__dict__.setdefault("_partita_restarts", set())
        kept.add(pending)  # a reference until it is done
        pending.add_done_callback(kept.discard)

    return restart


def _worker_died(worker: str) -> WorkResult:
    text = f"the Dask worker {worker} died (or left the cluster) while it held the step"
    return WorkResult(outcome=Outcome.FAILED, error=text, logs=text + "\n")


def _result_of(future: Future[WorkResult]) -> WorkResult:
    """The attempt's result, or the failure of the task that should have made it."""
    try:
        result = future.result(timeout=60)
    except KilledWorker as exc:
        text = f"the Dask worker running the step died: {exc}"
        return WorkResult(outcome=Outcome.FAILED, error=text, logs=text + "\n")
    except Exception as exc:
        text = f"the Dask task failed: {type(exc).__name__}: {exc}"
        return WorkResult(outcome=Outcome.FAILED, error=text, logs=text + "\n")
    if not isinstance(result, WorkResult):
        text = f"the Dask task returned {type(result).__name__}, not a step's result"
        return WorkResult(outcome=Outcome.FAILED, error=text, logs=text + "\n")
    return result
