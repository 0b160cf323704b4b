"""Runs started from the page, and their events for the live run page.

:class:`RunFeed` is an event-bus subscriber (:mod:`partita.events`) that keeps a
run's events in order for any number of readers; :class:`Launcher` starts
``materialize`` on a thread with a feed subscribed and hands back the run id as
soon as the run is recorded (its :class:`~partita.events.RunStarted`). Runs
started elsewhere (``partita materialize`` in a terminal) have no feed here:
their page follows the catalog instead.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any

from partita.api import CancelToken, Project, materialize
from partita.errors import PartitaError
from partita.events import Event, RunFinished, RunStarted

__all__ = ["Launched", "Launcher", "RunFeed", "event_json"]

FEEDS_KEPT = 20
"""Finished runs whose events stay readable in memory."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return str(value)


def event_json(event: Event) -> dict[str, Any]:
    """``{"type": "StepStarted", "run_id", "at", ...the event's fields}``."""
    data: dict[str, Any] = {"type": type(event).__name__}
    for f in fields(event):
        data[f.name] = _plain(getattr(event, f.name))
    return data


class RunFeed:
    """One run's events as they come (a subscriber), readable from any thread."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self.run_id: str | None = None
        self.finished = False

    def __call__(self, event: Event, /) -> None:
        """Keep ``event`` (called on the bus's delivery thread)."""
        with self._changed:
            if isinstance(event, RunStarted):
                self.run_id = event.run_id
            self._events.append(event_json(event))
            if isinstance(event, RunFinished):
                self.finished = True
            self._changed.notify_all()

    def close(self) -> None:
        """No more events will come (the run ended, or never started)."""
        with self._changed:
            self.finished = True
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> tuple[list[dict[str, Any]], bool]:
        """The events after the first ``seen`` (waiting up to ``timeout`` s for one), and
        whether the feed is finished."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._events) > seen or self.finished, timeout)
            return list(self._events[seen:]), self.finished

    def wait_started(self, timeout: float) -> str | None:
        """The run id once the run is recorded (``None``: it ended without starting)."""
        with self._changed:
            self._changed.wait_for(lambda: self.run_id is not None or self.finished, timeout)
            return self.run_id


@dataclass(frozen=True)
class Launched:
    """What starting a run gave: its id, or why nothing runs."""

    run_id: str | None
    message: str = ""


class Launcher:
    """Starts runs of one project on threads and keeps their feeds."""

    def __init__(self, project: Project, executor: str | None = None) -> None:
        self.project = project
        self.executor = executor
        self._feeds: dict[str, RunFeed] = {}
        self._running: dict[threading.Thread, CancelToken] = {}
        self._lock = threading.Lock()

    def feed(self, run_id: str) -> RunFeed | None:
        """The feed of a run started here (``None``: started elsewhere, or long ago)."""
        with self._lock:
            return self._feeds.get(run_id)

    def start(
        self,
        selection: str | None,
        partition: str | None = None,
        partition_range: tuple[str, str] | None = None,
        *,
        start_timeout_s: float = 120.0,
    ) -> Launched:
        """Materialize ``selection`` on a new thread; return once the run is recorded.

        Raises:
            PartitaError: the run could not start (the planner's or runner's error).
        """
        feed = RunFeed()
        outcome: dict[str, Any] = {}
        cancel = CancelToken()

        def target() -> None:
            try:
                materialize(
                    self.project,
                    selection,
                    partition_key=partition,
                    partition_range=partition_range,
                    executor=self.executor,
                    subscribers=(feed,),
                    cancel=cancel,
                    handle_signals=False,
                )
            except PartitaError as exc:
                outcome["error"] = exc
            except Exception as exc:  # reported to the page; the server goes on
                outcome["error"] = PartitaError(f"{type(exc).__name__}: {exc}")
            finally:
                feed.close()
                with self._lock:
                    self._running.pop(threading.current_thread(), None)

        thread = threading.Thread(target=target, name="partita-ui-run", daemon=True)
        with self._lock:
            self._running[thread] = cancel
        thread.start()
        run_id = feed.wait_started(start_timeout_s)
        if run_id is None:
            thread.join(timeout=start_timeout_s)
            error = outcome.get("error")
            if isinstance(error, PartitaError):
                raise error
            return Launched(None, "Nothing to do: every selected partition is up to date.")
        with self._lock:
            self._feeds[run_id] = feed
            while len(self._feeds) > FEEDS_KEPT:
                oldest = next(iter(self._feeds))
                if not self._feeds[oldest].finished:
                    break
                del self._feeds[oldest]
        return Launched(run_id)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Cancel the runs started here that are still going, and wait for them to end
        (the server is stopping: their steps end as ``cancelled``, as on Ctrl-C)."""
        with self._lock:
            running = dict(self._running)
        for cancel in running.values():
            cancel.cancel("partita ui is stopping")
        deadline = time.monotonic() + timeout_s
        for thread in running:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
