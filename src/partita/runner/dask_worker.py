"""The worker side of the Dask executor: one step as one Dask task.

:func:`run_step` is the function each task calls on a Dask worker. The
project is loaded once per worker process and kept
(:class:`WorkerRuntime` under the :attr:`DaskProject.fingerprint`: the
project's origin and the code version of every asset), so a worker serving
several runs of one project loads it once and loads it again when its code
changed. Like a worker of the process executor, a task stages and checks but
never publishes nor writes the catalog: the coordinator's committer publishes
what it staged (:mod:`partita.runner.commit`).

A task the coordinator gave up on (timed out, the run cancelled, its worker
reported dead) is cancelled on the scheduler; the step's thread cannot be
stopped, but when the step ends its staged output is discarded instead of
returned (the worker's task state says ``cancelled``).

This module is imported on the workers (and by the executor) only when a run
uses the Dask executor.
"""

from __future__ import annotations

import pickle
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from distributed import get_worker

from partita.runner.checking import StagedChecks
from partita.runner.messages import Outcome, WorkItem, WorkResult
from partita.runner.process_executor import ProjectRef
from partita.runner.worker import WorkerRuntime

__all__ = ["DaskProject", "run_step"]

_KEPT = 4
"""Per worker process, the projects (fingerprints) kept loaded."""


@dataclass(frozen=True)
class DaskProject:
    """What a task needs to load the project: sent with every task (a few hundred
    bytes for a project loaded from files), loaded once per worker.

    Attributes:
        fingerprint: the project's origin, folders and code versions, hashed: a
            worker reuses the project it loaded under the same fingerprint.
        ref: how to load it (:class:`~partita.runner.process_executor.ProjectRef`).
        checks: the staged-data checks, pickled (unpickled once the project's
            modules are importable).
    """

    fingerprint: str
    ref: ProjectRef
    checks: bytes


@dataclass
class _Loaded:
    runtime: WorkerRuntime | None
    error: str


_loaded: OrderedDict[tuple[str, bool], _Loaded] = OrderedDict()
_lock = threading.Lock()


def _load(project: DaskProject, capture: bool) -> _Loaded:
    """The project's runtime in this worker process, loaded on first use."""
    key = (project.fingerprint, capture)
    with _lock:  # a worker with several threads loads a project once
        found = _loaded.get(key)
        if found is not None:
            _loaded.move_to_end(key)
            return found
        try:
            graph = project.ref.load_graph()
            staged_checks: StagedChecks | None = pickle.loads(project.checks)
            runtime = WorkerRuntime.for_data_path(
                graph, project.ref.data_path, staged_checks=staged_checks, capture_output=capture
            )
            found = _Loaded(runtime, "")
        except Exception as exc:
            found = _Loaded(None, "".join(traceback.format_exception(exc)))
        _loaded[key] = found
        while len(_loaded) > _KEPT:
            _loaded.popitem(last=False)
        return found


def _cancelled_check() -> tuple[Callable[[], bool], bool]:
    """Whether this task was cancelled on the scheduler, and whether the worker runs one
    task at a time (then ``print`` output is captured into the step's log)."""
    worker = get_worker()
    key = worker.get_current_task()
    state = worker.state

    def cancelled() -> bool:
        task = state.tasks.get(key)
        return task is None or task.state in ("cancelled", "released", "forgotten")

    return cancelled, state.nthreads == 1


def run_step(project: DaskProject, item: WorkItem) -> WorkResult:
    """Run one attempt on this Dask worker; always a result, never an exception."""
    cancelled, one_thread = _cancelled_check()
    loaded = _load(project, one_thread)
    if loaded.runtime is None:
        lines = loaded.error.strip().splitlines()
        return WorkResult(
            outcome=Outcome.FAILED,
            error=f"the Dask worker could not load the project: {lines[-1] if lines else '?'}",
            logs=loaded.error,
        )
    return loaded.runtime.run(item, cancelled)
