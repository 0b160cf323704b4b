"""The run's heartbeat: a thread that says the run is alive and renews its leases.

Every ``heartbeat_s`` seconds :class:`HeartbeatThread` records the run's
heartbeat and extends every lease the run holds by ``lease_ttl_s``. It runs
beside the coordinator's loop, not inside it, so a long task never lets the
run's leases expire, whatever the executor: the in-process executor runs a
task inside the coordinator's own loop, and a busy loop (recording many
outcomes) may not come back to it for a while either.

The thread shares the coordinator's catalog object, which must be safe to use
from several threads of a process (the SQLite catalog serializes its one
connection with a lock; a write waits for another process's write up to its
busy timeout). A failed beat (a locked or full catalog) is retried at the next
beat, never raised into the run: should the leases expire meanwhile, the
publish fence (:mod:`partita.runner.fencing`) keeps another run's build safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from partita.errors import PartitaError
from partita.records import CatalogWriter

__all__ = ["HeartbeatThread"]


class HeartbeatThread:
    """Beats for run ``run_id`` every ``every_s`` seconds until :meth:`stop`.

    Args:
        catalog: where to record (shared with the coordinator; thread-safe).
        run_id: the run.
        every_s: seconds between beats.
        ttl_s: each beat extends the run's leases to now + ``ttl_s``.
        clock: the current time (the coordinator's clock).
    """

    def __init__(
        self,
        catalog: CatalogWriter,
        run_id: str,
        *,
        every_s: float,
        ttl_s: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.catalog = catalog
        self.run_id = run_id
        self.every_s = max(0.01, every_s)
        self.ttl_s = ttl_s
        self.clock = clock
        self.beats = 0
        self.last_error: str | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"partita-heartbeat-{run_id}", daemon=True
        )

    def start(self) -> HeartbeatThread:
        """Start beating (the first beat comes after ``every_s``); returns itself."""
        self._thread.start()
        return self

    def beat(self) -> None:
        """Record one heartbeat and renew the run's leases now."""
        now = self.clock()
        self.catalog.heartbeat(self.run_id, now=now)
        self.catalog.renew_leases(self.run_id, now=now, ttl_s=self.ttl_s)
        self.beats += 1

    def _main(self) -> None:
        while not self._stopped.wait(self.every_s):
            try:
                self.beat()
            except PartitaError as exc:  # retried at the next beat
                self.last_error = str(exc)

    def stop(self) -> None:
        """Stop beating and wait for a beat in progress to end (idempotent)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
