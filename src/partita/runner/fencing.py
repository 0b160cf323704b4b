"""The publish fence: a worker publishes a partition only while its run holds the lease.

A run leases each partition before building it (:mod:`partita.runner.leasing`).
A worker may still outlive that lease: its coordinator was killed and a rerun
took the partition over, or the coordinator could not renew the lease for
longer than its time to live and another run took it. Its output must then
never replace the newer run's. :class:`LeaseFence` is the one check every
executor's workers make (in-process, threads, processes, and a distributed
executor's workers): the store calls it under its lock of the partition,
just before the staged data becomes visible
(:data:`~partita.io.protocol.PublishFence`), so the check and the rename (or
commit) are one step for every other run's fenced publish of that partition.

The check is one primary-key read in the catalog, through a
:class:`~partita.records.LeaseReader` the fence opens in the worker's own
process on first use (from the picklable
:meth:`~partita.records.CatalogReader.lease_reader_factory`) and keeps open.
A refused publish raises :class:`~partita.errors.LeaseLostError`: the store
discards the staged data, and the worker reports the attempt as
:attr:`~partita.runner.messages.Outcome.LEASE_LOST`, which the coordinator
records as a failed attempt and does not retry (the run holding the lease
builds the partition).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from partita.errors import LeaseLostError
from partita.io import PublishFence
from partita.records import LeaseReader, partition_value

__all__ = ["LeaseFence"]


class LeaseFence:
    """Refuses a publish unless the run still holds the partition's lease.

    Args:
        open_reader: opens a lease reader on the run's catalog (picklable, so
            the fence travels to worker processes; each process opens its own).
    """

    def __init__(self, open_reader: Callable[[], LeaseReader]) -> None:
        self.open_reader = open_reader
        self._reader: LeaseReader | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"open_reader": self.open_reader}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["open_reader"])  # type: ignore[misc]

    def _reader_here(self) -> LeaseReader:
        with self._lock:
            if self._reader is None or self._pid != os.getpid():
                self._reader = self.open_reader()
                self._pid = os.getpid()
            return self._reader

    def check(self, run_id: str, asset: str, key: str) -> None:
        """Raise :class:`~partita.errors.LeaseLostError` unless ``run_id`` holds the lease
        of partition ``key`` of ``asset`` (``""`` for an unpartitioned asset)."""
        partition = partition_value(key)
        reason = self._reader_here().lease_held(run_id, (asset, partition))
        if reason is not None:
            where = asset if partition is None else f"{asset} [{partition}]"
            raise LeaseLostError(
                f"{where}: the lease was lost ({reason}), so the publish was discarded",
                hint="the run holding the lease builds this partition; "
                "materialize again if it is still stale",
            )

    def for_publish(self, run_id: str, asset: str, key: str) -> PublishFence:
        """The fence to hand to :meth:`~partita.io.Store.publish` for one partition."""
        return lambda: self.check(run_id, asset, key)

    def close(self) -> None:
        """Close this process's lease reader."""
        with self._lock:
            if self._reader is not None and self._pid == os.getpid():
                self._reader.close()
            self._reader = None
