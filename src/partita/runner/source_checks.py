"""The checks of the sources a run reads, run in the coordinator.

Sources are not built, so nothing stages their data for the staged checks; the
coordinator runs their checks on the published data instead, once per source
partition per run, before the first task reading it starts. A blocking failure
skips the readers; results are recorded and published as events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from partita.events import CheckEvaluated, EventBus
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.records import CatalogWriter, partition_value
from partita.runner.tasks import Task
from partita.runner.worker import WorkerRuntime

__all__ = ["SourceChecks"]


class SourceChecks:
    """Runs and remembers the checks of source partitions for one run.

    Without a ``checker`` (the run has no staged checks) no check runs.
    """

    def __init__(
        self,
        graph: AssetGraph,
        catalog: CatalogWriter,
        checker: WorkerRuntime | None,
        bus: EventBus,
        clock: Callable[[], datetime],
        run_id: str,
    ) -> None:
        self.graph = graph
        self.catalog = catalog
        self.checker = checker
        self.bus = bus
        self.clock = clock
        self.run_id = run_id
        self.results: dict[tuple[str, str], bool] = {}

    def failed(self, task: Task) -> str | None:
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
                passed = self.results.get((upstream, key))
                if passed is None:
                    passed = self._check(spec.key, key)
                    self.results[(upstream, key)] = passed
                if not passed:
                    return upstream if key == "" else f"{upstream}[{key}]"
        return None

    def _check(self, key: AssetKey, partition_key: str) -> bool:
        assert self.checker is not None
        partition = partition_value(partition_key)
        records, found = self.checker.check_published(
            key, partition, now=self.clock(), run_id=self.run_id
        )
        if not found:  # nothing to check: the read itself reports missing data
            return True
        now = self.clock()
        self.catalog.record_checks(
            [replace(r, run_id=self.run_id, created_at=now) for r in records]
        )
        for record in records:
            event = CheckEvaluated.of(record, run_id=self.run_id, at=now, attempt=0, source=True)
            self.bus.publish(event)
        return not any(r.blocking for r in records)
