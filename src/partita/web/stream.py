"""The live run page's server-sent events.

Three kinds of message: ``step`` carries one event of the run's event bus
(:func:`~partita.web.live.event_json`, only for runs started by this page),
``snapshot`` the run as the catalog holds it (``partita logs RUN --json``, sent
first and then every :data:`POLL_S` seconds), and ``end`` the run's final status,
after which the stream closes. A run started elsewhere is followed through its
snapshots alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

from partita.web.live import RunFeed

__all__ = ["POLL_S", "run_events"]

POLL_S = 1.0
"""How often the run is re-read from the catalog."""


def _message(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"


async def run_events(
    first: dict[str, Any], read: Callable[[], dict[str, Any]], feed: RunFeed | None
) -> AsyncIterator[str]:
    """The messages of one run's stream.

    Args:
        first: the run's snapshot now.
        read: reads a new snapshot (blocking: it is run on a worker thread).
        feed: the run's event feed, when this page started it.
    """
    yield _message("snapshot", first)
    if first["run"]["status"] != "running" and (feed is None or feed.finished):
        yield _message("end", {"status": first["run"]["status"]})
        return
    seen = 0
    finished = False
    last_read = time.monotonic()
    while True:
        if feed is not None and not finished:
            events, finished = await anyio.to_thread.run_sync(feed.wait, seen, POLL_S)
            seen += len(events)
            for event in events:
                yield _message("step", event)
        else:
            await anyio.sleep(POLL_S)
        if time.monotonic() - last_read >= POLL_S or finished:
            last_read = time.monotonic()
            snapshot = await anyio.to_thread.run_sync(read)
            yield _message("snapshot", snapshot)
            if snapshot["run"]["status"] != "running":
                yield _message("end", {"status": snapshot["run"]["status"]})
                return
