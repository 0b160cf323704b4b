"""Which executor a project's runs use: :class:`DaskCluster` and :func:`checked_executor`.

``Definitions(executor=...)`` takes an executor's name (``"process"``,
``"thread"``, ``"inprocess"``, ``"dask"``) or a :class:`DaskCluster` saying
which Dask scheduler to use; ``partita materialize --executor`` and
``materialize(executor=...)`` override it. This module imports nothing of Dask:
the Dask client is imported only when a run uses it
(:mod:`partita.runner.dask_executor`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from partita.errors import DefinitionError

__all__ = ["EXECUTOR_NAMES", "DEFAULT_CONNECT_TIMEOUT_S", "DaskCluster", "checked_executor"]

EXECUTOR_NAMES = ("process", "thread", "inprocess", "dask")
"""The executors' names (:class:`~partita.runner.executors.ExecutorKind`'s values)."""

DEFAULT_CONNECT_TIMEOUT_S = 10.0
"""How long connecting to a Dask scheduler may take before the run fails."""


@dataclass(frozen=True)
class DaskCluster:
    """Run each step as a task on a Dask cluster (``executor="dask"``).

    ::

        defs = Definitions(assets=[...], executor=DaskCluster("tcp://scheduler:8786"))

    Args:
        address: the scheduler's address (``tcp://host:8786``); ``None`` starts a
            ``distributed.LocalCluster`` of worker processes on 127.0.0.1 for the run.
        n_workers: steps at once; for a local cluster also its number of worker
            processes (default: ``--max-workers``, else the CPUs; with an address,
            the cluster's threads).
        connect_timeout_s: how long reaching the scheduler may take.
    """

    address: str | None = None
    n_workers: int | None = None
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.address is not None and (not isinstance(self.address, str) or not self.address):
            raise DefinitionError(
                f"DaskCluster(address={self.address!r}) is not an address",
                hint="give the scheduler's address, e.g. 'tcp://127.0.0.1:8786', or None "
                "for a local cluster",
            )
        if self.n_workers is not None and (
            isinstance(self.n_workers, bool)
            or not isinstance(self.n_workers, int)
            or self.n_workers < 1
        ):
            raise DefinitionError(f"DaskCluster(n_workers={self.n_workers!r}) must be at least 1")
        timeout = self.connect_timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise DefinitionError(
                f"DaskCluster(connect_timeout_s={timeout!r}) must be a positive number of seconds"
            )
        if not math.isfinite(timeout):
            raise DefinitionError("DaskCluster(connect_timeout_s=...) must be finite")


def checked_executor(value: object, where: str) -> str | DaskCluster | None:
    """``value`` as an executor choice: ``None``, a known name or a :class:`DaskCluster`.

    Raises:
        DefinitionError: anything else (naming ``where`` it was given).
    """
    if value is None or isinstance(value, DaskCluster):
        return value
    if isinstance(value, str) and value in EXECUTOR_NAMES:
        return value
    known = ", ".join(repr(name) for name in EXECUTOR_NAMES)
    raise DefinitionError(
        f"{where}: unknown executor {value!r}",
        hint=f"use {known} or DaskCluster('tcp://host:8786')",
    )
