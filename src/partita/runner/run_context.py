"""What the parts of one run's coordinator share.

The coordinator (:mod:`partita.runner.coordinator`) runs the loop; starting
tasks (:mod:`partita.runner.starting`) and finishing attempts
(:mod:`partita.runner.finishing`) are its two halves. All three work on one
:class:`RunContext`: the run's tasks and their live states, the attempts in
flight, the recorder, the leases and the versions the tasks read. It is
mutable, and used from the coordinator's thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from partita.graph import AssetGraph
from partita.records import LeaseItem, partition_value
from partita.runner.executor_protocol import Executor
from partita.runner.inputs import CurrentVersions
from partita.runner.leasing import RunLeases
from partita.runner.options import RunCatalog, RunOptions
from partita.runner.partition_columns import WrittenColumns
from partita.runner.recording import Attempt, RunRecorder
from partita.runner.state import TaskBoard
from partita.runner.tasks import Task, TaskGraph

__all__ = ["RunContext"]


class RunContext:
    """The state a run's coordinator, starter and finisher share.

    Attributes:
        run_id: the run.
        graph: the project's asset graph.
        catalog: the run's catalog.
        executor: where attempts run.
        options: the run's options.
        clock: the current time.
        tasks: the run's tasks.
        board: each task's live state.
        recorder: records rows and publishes events.
        leases: the partition leases the run holds.
        written: the dimension columns upstream assets wrote themselves.
        versions: what each partition's latest materialization is now (set when
            the run starts, once it holds its leases).
        running: the attempts in flight, by executor handle.
        warnings: the failed non-blocking checks of each succeeded task.
    """

    versions: CurrentVersions

    def __init__(
        self,
        *,
        run_id: str,
        graph: AssetGraph,
        catalog: RunCatalog,
        executor: Executor,
        options: RunOptions,
        clock: Callable[[], datetime],
        tasks: TaskGraph,
        board: TaskBoard,
        recorder: RunRecorder,
        leases: RunLeases,
    ) -> None:
        self.run_id = run_id
        self.graph = graph
        self.catalog = catalog
        self.executor = executor
        self.options = options
        self.clock = clock
        self.tasks = tasks
        self.board = board
        self.recorder = recorder
        self.leases = leases
        self.written = WrittenColumns(catalog)
        self.running: dict[int, Attempt] = {}
        self.warnings: dict[int, tuple[str, ...]] = {}

    def items(self, task: Task) -> list[LeaseItem]:
        """The lease items of ``task``'s partitions."""
        return [(str(task.asset), partition_value(k)) for k in task.keys]

    def record_skip(self, index: int, reason: str) -> None:
        """Record task ``index`` as skipped (already so on the board); release its leases."""
        task = self.tasks.tasks[index]
        self.leases.release(self.items(task))
        now = self.clock()
        self.recorder.skipped(task, self.board.runs[index].attempts + 1, reason, now)

    def skip(self, index: int, reason: str, *, outputs_current: bool) -> None:
        """Skip task ``index`` (see :meth:`~partita.runner.state.TaskBoard.skip`) and
        record it, with the dependents skipped because of it."""
        self.record_skip(index, reason)
        for dep in self.board.skip(index, reason, outputs_current=outputs_current):
            self.record_skip(dep, self.board.runs[dep].reason)

    def waiting(self, index: int, holder: str, pool: str | None = None) -> None:
        """Record that task ``index`` waits for ``holder`` (a run holding a lease, or
        the holders of ``pool``'s slots)."""
        attempt = self.board.runs[index].attempts + 1
        self.recorder.waiting(self.tasks.tasks[index], attempt, holder, self.clock(), pool)
