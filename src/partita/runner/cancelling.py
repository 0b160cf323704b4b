"""Stopping a run: the :class:`CancelToken`, and signals turned into cancellation."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["CancelToken", "cancel_on_signals"]


class CancelToken:
    """Set to ask a run to stop (what Ctrl-C and SIGTERM do)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the run to stop."""
        self.reason = self.reason or reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether a stop was asked for."""
        return self._event.is_set()


@contextmanager
def cancel_on_signals(cancel: CancelToken, *, interrupt: bool) -> Iterator[None]:
    """Turn SIGTERM (and SIGINT) into a cancellation while the run lasts.

    Only in the main thread (elsewhere signal handlers cannot be set). With
    ``interrupt``, SIGINT also raises :class:`KeyboardInterrupt` (to stop work
    running in the coordinator's own thread).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.cancel("interrupted" if signum == signal.SIGINT else "terminated")
        if interrupt and signum == signal.SIGINT:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
