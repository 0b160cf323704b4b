"""The process executor: a pool of worker processes, each loading the project once.

Workers are started with ``multiprocessing`` (forkserver where available, else
spawn) and import the project once at start-up from a :class:`ProjectRef`: its
definitions file or module, or, for definitions built in memory, the
definitions themselves, pickled. Tasks go to a worker as small
:class:`~partita.runner.messages.WorkItem` messages over a pipe. A task over its
timeout is really stopped: the worker is killed and replaced.

**Workers die with their coordinator.** A worker started by the forkserver is
the forkserver's child, not the coordinator's, so neither a parent-death
signal (``PR_SET_PDEATHSIG`` fires on the death of the *parent*) nor the
coordinator's process group reliably reaches it, and a worker orphaned by a
``kill -9`` of the coordinator would finish its step and publish. Instead each
worker gets the read end of a pipe whose only write end the coordinator holds
and never writes: when the coordinator dies, for whatever reason, the kernel
closes that end and the pipe reads end-of-file. A watcher thread in the worker
waits on it and ends the worker at once with ``os._exit`` (no cleanup, no
publish); a step inside ``time.sleep`` or a long computation is stopped too,
since the watcher needs no cooperation from the main thread. As a second
guard (a ``fork`` context, where children inherit the write end), the watcher
also checks every half second that the coordinator's pid is alive. Processes
the user's step starts itself are not covered. A worker never publishes (the
coordinator publishes what it staged, fenced by the run's lease:
:mod:`partita.runner.commit`), so a worker that slips through the half second
between the coordinator's death and its own cannot overwrite any partition.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from partita.definitions import Definitions, load_origin
from partita.errors import PartitaError
from partita.graph import AssetGraph
from partita.processes import pid_alive
from partita.runner.checking import StagedChecks
from partita.runner.executor_protocol import Finished, timed_out
from partita.runner.messages import Outcome, WorkItem, WorkResult
from partita.runner.worker import WorkerRuntime

__all__ = ["ORPHANED_EXIT_CODE", "ProcessExecutor", "ProjectRef", "default_context"]

ORPHANED_EXIT_CODE = 75
"""The exit code of a worker that ended because its coordinator was gone."""

_WATCH_S = 0.5
"""How often a worker's watcher checks the coordinator's pid (the pipe wakes it at once)."""


@dataclass(frozen=True)
class ProjectRef:
    """How a worker process loads the project: where its definitions come from.

    Attributes:
        origin: the definitions file (``.py``) or module name; ``""`` for
            definitions built in memory, which travel pickled in ``definitions``.
        root: the folder the project's modules are imported from
            (:attr:`~partita.definitions.LoadedProject.code_root`).
        data_path: the default store's folder.
        sys_path: the coordinator's ``sys.path``, so the same installed modules import
            (the project's own modules never need it, see :mod:`partita.project_imports`).
        definitions: pickled :class:`~partita.definitions.Definitions` built in
            memory (their functions travel by reference: each is imported from
            its module in the worker), or ``None``.
    """

    origin: str
    root: str
    data_path: str
    sys_path: tuple[str, ...] = ()
    definitions: bytes | None = None

    @classmethod
    def in_memory(
        cls, definitions: Definitions, data_path: str, sys_path: tuple[str, ...] = ()
    ) -> ProjectRef:
        """A reference to definitions built in memory, pickled for the workers.

        Raises:
            PartitaError: the definitions cannot be pickled (a function defined
                inside another function, a lambda, a notebook's ``__main__``).
        """
        try:
            pickled = pickle.dumps(definitions)
            if any(getattr(s.fn, "__module__", None) == "__main__" for s in definitions.all_specs):
                raise pickle.PicklingError("functions defined in __main__ cannot be imported")
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise PartitaError(
                f"definitions built in memory cannot be sent to worker processes: {exc}",
                hint="declare assets at module level of an importable module, or use "
                "executor='inprocess' or 'thread'",
            ) from exc
        return cls(origin="", root="", data_path=data_path, sys_path=sys_path, definitions=pickled)

    def load_graph(self) -> AssetGraph:
        """Import the definitions and build the graph."""
        for entry in reversed(self.sys_path):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        if self.definitions is not None:
            definitions: Definitions = pickle.loads(self.definitions)
            return AssetGraph(definitions)
        return AssetGraph(load_origin(self.origin, Path(self.root)).definitions)


def _exit_with_coordinator(alive: Connection, coordinator: int) -> None:
    """The watcher thread of a worker: end the process as soon as the coordinator is gone.

    ``alive`` is the read end of a pipe only the coordinator can write to, and
    never does: it becomes readable (end-of-file) when the coordinator's end
    is closed, by its death or by :meth:`ProcessExecutor.close`.
    """
    while True:
        try:
            if alive.poll(_WATCH_S):
                break
        except (EOFError, OSError):
            break
        if not pid_alive(coordinator):
            break
    os._exit(ORPHANED_EXIT_CODE)


def _process_main(
    conn: Connection,
    ref: ProjectRef,
    pickled_checks: bytes,
    alive: Connection,
    coordinator: int,
) -> None:
    """A worker process: load the project once, then run items until told to stop.

    A watcher thread ends the process when the coordinator (pid ``coordinator``)
    is gone (see the module's docstring). The staged-data checks arrive pickled
    and are unpickled once the project is loaded, so a function from the
    project's own modules resolves by reference to them.
    """
    threading.Thread(
        target=_exit_with_coordinator,
        args=(alive, coordinator),
        name="partita-coordinator-watch",
        daemon=True,
    ).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runtime: WorkerRuntime | None = None
    load_error = ""
    try:
        graph = ref.load_graph()
        staged_checks: StagedChecks | None = pickle.loads(pickled_checks)
        runtime = WorkerRuntime.for_data_path(
            graph, ref.data_path, staged_checks=staged_checks, capture_output=True
        )
    except Exception as exc:
        load_error = "".join(traceback.format_exception(exc))
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        if runtime is None:
            first = load_error.strip().splitlines()[-1] if load_error else "unknown error"
            result = WorkResult(
                outcome=Outcome.FAILED,
                error=f"the worker could not load the project: {first}",
                logs=load_error,
            )
        else:
            result = runtime.run(item)
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a worker without re-running the caller's ``__main__`` in it.

    multiprocessing re-imports the main script (or module) in a spawned or
    forkserver child; workers load the project from its :class:`ProjectRef`
    instead, so a script calling ``materialize()`` without an
    ``if __name__ == "__main__"`` guard does not run again in every worker.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    names = ("__file__", "__spec__")
    saved = {name: main.__dict__[name] for name in names if name in main.__dict__}
    for name in saved:
        if name == "__spec__":
            main.__spec__ = None
        else:
            delattr(main, name)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


_Output = tuple[str, str, str]
"""``(asset, partition key, data version)`` of a partition a worker staged."""

_OUTPUTS_TRACKED = 4096
"""Per worker, the latest outputs remembered for :meth:`ProcessExecutor.submit`'s choice."""


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    alive: Connection  # the write end of the worker's watch pipe: never written, closed last
    handle: int | None = None
    deadline: float | None = None
    timeout: float | None = None
    asset: str = ""
    outputs: OrderedDict[_Output, None] = field(default_factory=OrderedDict)

    def built(self, result: WorkResult) -> None:
        """Remember what the worker's last task staged (its cache may hold the tables)."""
        if result.outcome is not Outcome.SUCCEEDED:
            return
        for key, staged in result.staged:  # published by the coordinator's committer
            if staged is not None:
                self.outputs[(self.asset, key, staged.result.data_version)] = None
        while len(self.outputs) > _OUTPUTS_TRACKED:
            self.outputs.popitem(last=False)

    def holds(self, wanted: set[_Output]) -> int:
        """How many of ``wanted`` this worker built (so may hand over from memory)."""
        return sum(1 for output in wanted if output in self.outputs)


def _inputs_of(item: WorkItem) -> set[_Output]:
    return {
        (read.upstream, key, version)
        for read in item.reads
        if read.param is not None
        for key, version in zip(read.keys, read.versions, strict=False)
    }


WORKER_PRELOAD = ("partita.runner.worker",)
"""What the forkserver imports once for every worker it forks: the worker's own
module (with pyarrow and pandas, which the stores use), not DuckDB or sqlglot
(imported by the worker that runs a built-in check or reads a DuckDB store) nor
the coordinator's modules. The project's modules are imported by each worker."""


def default_context() -> BaseContext:
    """forkserver where the platform has it, else spawn; the worker module preloaded."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(WORKER_PRELOAD))
        return ctx
    return multiprocessing.get_context("spawn")


def start_early() -> None:
    """Start the forkserver now, so its imports run while the caller plans.

    The forkserver imports :data:`WORKER_PRELOAD` (0.5-1 s) once; workers are
    forked from it with those modules loaded. Started here, before the catalog
    is read and the plan is made, its start-up overlaps the caller's work
    instead of following it; the executor later finds it running. It does
    nothing where there is no forkserver (spawn), or when one already runs.
    """
    if default_context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver  # noqa: PLC0415  (only where it exists)

    with _main_module_hidden():  # the forkserver must not run the caller's script
        forkserver.ensure_running()


class ProcessExecutor:
    """A pool of worker processes, each with the project preloaded.

    Args:
        ref: how workers load the project.
        max_workers: processes at most (started on demand).
        staged_checks: run on each staged partition (a module-level function).
        context: a ``multiprocessing`` context (default: :func:`default_context`).
    """

    def __init__(
        self,
        ref: ProjectRef,
        max_workers: int,
        *,
        staged_checks: StagedChecks | None = None,
        context: BaseContext | None = None,
    ) -> None:
        self.ref = ref
        self.max_workers = max(1, max_workers)
        self.staged_checks = staged_checks
        self._pickled_checks = pickle.dumps(staged_checks)
        self._ctx = context or default_context()
        self._workers: list[_Worker] = []
        self._busy = 0

    @property
    def free_slots(self) -> int:
        """Workers (started or not) not busy."""
        return self.max_workers - self._busy

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        watched, alive = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=_process_main,
            args=(child, self.ref, self._pickled_checks, watched, os.getpid()),
            daemon=True,
            name="partita-worker",
        )
        with _main_module_hidden():
            process.start()
        child.close()
        watched.close()
        worker = _Worker(process, parent, alive)
        self._workers.append(worker)
        return worker

    def warm_up(self, count: int) -> None:
        """Start up to ``count`` workers now (they load the project in parallel)."""
        while len(self._workers) < min(count, self.max_workers):
            self._start_worker()

    def _choose(self, item: WorkItem) -> _Worker | None:
        """The idle worker that built most of ``item``'s inputs (its cache may hold them),
        else the first idle one; ``None`` when none is idle. A busy worker is never
        waited for."""
        idle = [w for w in self._workers if w.handle is None]
        if len(idle) <= 1:
            return idle[0] if idle else None
        wanted = _inputs_of(item)
        if not wanted:
            return idle[0]
        return max(idle, key=lambda w: w.holds(wanted))  # the first of the best

    def submit(self, handle: int, item: WorkItem, timeout: float | None) -> None:
        """Send ``item`` to an idle worker (starting one if needed): the one whose
        earlier tasks built its inputs, when there is a choice."""
        worker = self._choose(item)
        if worker is None:
            worker = self._start_worker()
        worker.asset = item.asset
        worker.handle = handle
        worker.timeout = timeout
        worker.deadline = None if timeout is None else time.monotonic() + timeout
        self._busy += 1
        # if the worker died, poll() reports it through its sentinel
        with contextlib.suppress(BrokenPipeError, OSError):
            worker.conn.send(item)

    def _retire(self, worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        worker.alive.close()
        self._workers.remove(worker)

    def _free(self, worker: _Worker) -> int:
        handle = worker.handle
        assert handle is not None
        worker.handle = worker.deadline = worker.timeout = None
        self._busy -= 1
        return handle

    def poll(self, timeout: float) -> list[Finished]:
        """Wait for results, worker deaths and deadlines; kill workers over their timeout."""
        busy = [w for w in self._workers if w.handle is not None]
        if not busy:
            if timeout > 0:
                time.sleep(timeout)
            return []
        now = time.monotonic()
        deadlines = [w.deadline - now for w in busy if w.deadline is not None]
        wait = max(0.0, min([timeout, *deadlines]))
        waitables: list[object] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = set(multiprocessing.connection.wait(waitables, wait))  # type: ignore[arg-type]
        finished: list[Finished] = []
        for worker in busy:
            if worker.conn in ready:
                try:
                    result = worker.conn.recv()
                except (EOFError, OSError):
                    result = None
                if isinstance(result, WorkResult):
                    worker.built(result)
                    finished.append(Finished(self._free(worker), result))
                    continue
                ready.add(worker.process.sentinel)
            if worker.process.sentinel in ready:
                worker.process.join(timeout=1)
                code = worker.process.exitcode
                finished.append(
                    Finished(
                        self._free(worker),
                        WorkResult(
                            outcome=Outcome.FAILED,
                            error=f"the worker process died (exit code {code})",
                            logs=f"the worker process died (exit code {code})\n",
                        ),
                    )
                )
                self._retire(worker)
        now = time.monotonic()
        for worker in busy:
            if worker.handle is not None and worker.deadline is not None and now >= worker.deadline:
                limit = worker.timeout or 0.0
                finished.append(Finished(self._free(worker), timed_out(limit)))
                self._retire(worker)
        return finished

    def stop_all(self) -> list[int]:
        """Kill every busy worker (their staged data is never published)."""
        handles: list[int] = []
        for worker in [w for w in self._workers if w.handle is not None]:
            handles.append(self._free(worker))
            self._retire(worker)
        return handles

    def close(self) -> None:
        """Ask idle workers to exit, then make sure every worker is gone."""
        for worker in self._workers:
            with contextlib.suppress(Exception):
                worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in list(self._workers):
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
            worker.alive.close()
        self._workers.clear()
        self._busy = 0
