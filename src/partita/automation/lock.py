"""One daemon per project: a lock in the catalog, kept alive by a heartbeat thread.

:class:`DaemonLock` takes the catalog's daemon lock (see
:class:`~partita.records.AutomationRecords`) or raises
:class:`DaemonRunningError` naming the holder (host, pid, since). While held, a
thread renews it every third of its time to live; if the lock is lost (taken
over after this process stalled longer than the time to live) the thread
calls ``on_lost`` so the daemon stops instead of running beside another.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from partita.errors import CatalogError, PartitaError
from partita.processes import this_host
from partita.records import AutomationRecords, DaemonHolder

__all__ = ["DaemonLock", "DaemonRunningError"]


class DaemonRunningError(PartitaError):
    """Another daemon holds this project's lock."""


class DaemonLock:
    """The project's daemon lock, held from ``__enter__`` to ``__exit__``.

    Args:
        records: the catalog's automation records.
        clock: the daemon's clock (``since`` and heartbeats).
        ttl_s: a holder silent this long (or whose process is gone, same host)
            is taken over.
        on_lost: called (from the heartbeat thread) when the lock is lost.
    """

    def __init__(
        self,
        records: AutomationRecords,
        clock: Callable[[], datetime],
        *,
        ttl_s: float = 60.0,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        self.records = records
        self.clock = clock
        self.ttl_s = ttl_s
        self.on_lost = on_lost
        now = clock()
        self.holder = DaemonHolder(
            token=secrets.token_hex(8),
            host=this_host(),
            pid=os.getpid(),
            since=now,
            heartbeat_at=now,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> DaemonLock:
        current = self.records.acquire_daemon_lock(self.holder, now=self.clock(), ttl_s=self.ttl_s)
        if current is not None:
            raise DaemonRunningError(
                f"another daemon runs for this project: {current.describe()}",
                hint=f"stop it first (kill {current.pid} on {current.host}); "
                "a daemon that died is taken over once its process is gone",
            )
        self._thread = threading.Thread(
            target=self._beat, name="partita-daemon-heartbeat", daemon=True
        )
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                held = self.records.renew_daemon_lock(self.holder.token, now=self.clock())
            except CatalogError:
                continue  # a busy catalog: try again at the next beat
            if not held:
                self.on_lost()
                return

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.records.release_daemon_lock(self.holder.token)
