"""The sender process: builds and sends one run's OpenLineage events.

Started by :class:`~partita.openlineage.sender.ProcessSink` as
``python -m partita.openlineage.sender_child``. It reads frames from its
standard input: first the set-up (settings, namespace, the assets' lineage),
then the run's events (each asset's code before its first step), and hands the
events to an :class:`~partita.openlineage.sink.OpenLineageSink`, which builds
the OpenLineage events and sends them on a thread of its own: to a plain HTTP
target (:func:`~partita.openlineage.plain_http.plain_http_target`) as plain
dicts, without importing the client (nor pyarrow: the run's process hands a
published partition's inputs as tuples); else with the configured client and
its classes. Its standard output carries its reports back: its one
warning line, and its counts once the run's last event is sent (or given up).

It exits when the run's end has been handled, and at once when its input
ends before that (the run's process is gone). It ignores Ctrl-C (the run ends
and tells it so). Once started up, it runs at a lower CPU priority than the run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partita.events import RunFinished
from partita.openlineage.lineage import AssetLineage
from partita.openlineage.plain_http import plain_http_target
from partita.openlineage.sender import frame_event, read_frame, write_frame
from partita.openlineage.sink import OpenLineageSink

if TYPE_CHECKING:
    from partita.openlineage.sink import Emitter

__all__ = ["main"]


class _Reports:
    """Writes reports to the run's process, from any thread."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "wb")
        self._lock = threading.Lock()

    def __call__(self, *report: object) -> None:
        with self._lock:
            try:
                write_frame(self._out, report)
            except OSError:
                os._exit(0)  # the run's process is gone


class _Woken(Exception):  # noqa: N818 - a signal, not an error
    """Raised by the ``SIGUSR1`` handler to end a pause early."""


class _Input:
    """The pipe from the run's process, read in batches: when it has nothing more, the
    sender waits ``pause_s`` before reading it again (a few wake-ups a second rather than
    several a step: most of its CPU went to waking up), until the run's end wakes it
    (``SIGUSR1``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pause_s = 0.0  # no pause until the set-up is read
        self._buffer = bytearray()
        self._pausing = False
        self._hurried = False  # the run ended: no more pauses
        signal.signal(signal.SIGUSR1, self._hurry)

    def _hurry(self, signum: int, frame: object) -> None:
        self._hurried = True
        if self._pausing:
            raise _Woken

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (``b""`` at the end of the pipe), after a pause when the
        pipe had nothing more."""
        if not self._buffer:
            if self.pause_s and not self._hurried:
                try:
                    self._pausing = True
                    if not self._hurried:
                        time.sleep(self.pause_s)
                except _Woken:
                    pass
                finally:
                    self._pausing = False
            self._buffer += os.read(self.fd, 1 << 16)
        chunk = bytes(self._buffer[:size])
        del self._buffer[:size]
        return chunk


def _lower_priority(niceness: int) -> None:
    with contextlib.suppress(OSError):
        os.nice(niceness)


def _client_path(
    setup: dict[str, Any], namespace: str, lineage: dict[str, AssetLineage]
) -> tuple[Emitter | None, Any]:
    """The configured client and the builder of its classes (imported only here)."""
    import attr  # noqa: PLC0415 - the client's path only

    from partita.openlineage.config import configured_client  # noqa: PLC0415
    from partita.openlineage.runs import EventBuilder  # noqa: PLC0415

    # attrs validators check each field of every event the builder makes (two thirds of
    # its time); this process builds only Partita's events, whose shape the spec tests
    # guard, so it turns them off (for this process only)
    attr.validators.set_disabled(True)
    return configured_client(setup["settings"]), EventBuilder(namespace, lineage)


def main() -> None:
    """Serve one run (see the module's text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    report = _Reports()
    os.dup2(2, 1)  # stray prints go to stderr, never into the reports
    logging.getLogger().addHandler(logging.NullHandler())  # the client logs nothing here
    pipe = _Input(sys.stdin.fileno())
    report("ready")  # the run's process may now wake it with SIGUSR1
    read = pipe.read
    setup: dict[str, Any] | None = read_frame(read)
    if setup is None:
        return
    codes: dict[str, str] = {}
    plain: dict[str, AssetLineage] = pickle.loads(setup["lineage"])
    lineage = {
        key: replace(asset, source_code=partial(codes.get, key)) for key, asset in plain.items()
    }
    name = str(setup["name"])
    namespace = str(setup["namespace"])
    builder: Any
    client: Emitter | None
    target = plain_http_target(setup["settings"], os.environ, Path.cwd())
    if target is not None:  # plain dicts posted as JSON: the client is not imported
        from partita.openlineage.plain import PlainEventBuilder  # noqa: PLC0415
        from partita.openlineage.plain_http import PlainHttp  # noqa: PLC0415

        client, builder = PlainHttp(target), PlainEventBuilder(namespace, lineage)
    else:
        try:
            client, builder = _client_path(setup, namespace, lineage)
        except Exception as exc:  # a bad client configuration: said once, the run goes on
            error = f"{type(exc).__name__}: {exc}"
            report(
                "warn",
                f"OpenLineage ({name}): the client's configuration failed ({error}); "
                "the run's events are not sent; the run goes on",
            )
            report("done", 0, 0, error)
            return
    if client is None:
        report("done", 0, 0, None)
        return
    # started up (the client imported) at the run's priority, so a short run's end does
    # not wait for a start-up slowed down; the events at a lower one
    _lower_priority(int(setup["niceness"]))
    pipe.pause_s = float(setup["pause_s"])
    sink = OpenLineageSink(
        client,
        builder,
        name=name,
        drain_s=float(setup["drain_s"]),
        stuck_s=float(setup["stuck_s"]),
        on_warning=partial(report, "warn"),
    )
    while True:
        message = read_frame(read)
        if message is None:
            os._exit(0)  # the run's process is gone: stop now
        if isinstance(message, tuple):
            if message[0] == "code":  # ("code", asset, text)
                codes[message[1]] = message[2]
                continue
            message = frame_event(message)  # ("event", its kind, its values)
        sink(message)
        if isinstance(message, RunFinished):
            report("done", sink.sent, sink.unsent, sink.error)
            os._exit(0)


if __name__ == "__main__":
    main()
    sys.exit(0)
