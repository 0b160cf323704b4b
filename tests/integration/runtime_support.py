"""Running a :class:`~partita.runner.worker.WorkerRuntime` outside a coordinator in tests.

A worker stages and checks; the coordinator's committer publishes
(:mod:`partita.runner.commit`). Tests that drive a runtime or an executor
directly publish what it staged with :func:`published`, as the committer would
(without its lease fence and group fsyncs).
"""

from __future__ import annotations

from dataclasses import replace

from partita.io import Store, WriteResult
from partita.runner.messages import Outcome, WorkResult

__all__ = ["published"]


def published(store: Store, result: WorkResult) -> WorkResult:
    """``result`` with its staged writes published to ``store`` (a success only)."""
    if result.outcome is not Outcome.SUCCEEDED:
        return result
    writes: list[tuple[str, WriteResult | None]] = []
    for key, staged in result.staged:
        writes.append((key, None if staged is None else store.publish(staged)))
    return replace(result, writes=tuple(writes), staged=())
