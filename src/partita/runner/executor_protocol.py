"""What every executor offers the coordinator: :class:`Executor` and :class:`Finished`.

An executor runs work items somewhere (in this thread, in threads, in worker
processes) and reports when each attempt ends; the coordinator only calls
:meth:`Executor.submit`, :meth:`Executor.poll`, :meth:`Executor.stop_all` and
:meth:`Executor.close`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from partita.runner.messages import Outcome, WorkItem, WorkResult

__all__ = ["Executor", "Finished", "timed_out"]


@dataclass(frozen=True, slots=True)
class Finished:
    """An attempt that ended, under the handle it was submitted with."""

    handle: int
    result: WorkResult


class Executor(Protocol):
    """Runs work items and reports when they end."""

    @property
    def free_slots(self) -> int:
        """How many more items it can take now."""
        ...

    def submit(self, handle: int, item: WorkItem, timeout: float | None) -> None:
        """Start ``item``; its end is reported by :meth:`poll` under ``handle``."""
        ...

    def poll(self, timeout: float) -> list[Finished]:
        """Wait up to ``timeout`` seconds for attempts to end; return the ended ones."""
        ...

    def stop_all(self) -> list[int]:
        """Stop every running attempt (nothing they staged is published); their handles."""
        ...

    def close(self) -> None:
        """Release workers."""
        ...


def timed_out(timeout: float) -> WorkResult:
    """The result of an attempt stopped after ``timeout`` seconds."""
    return WorkResult(
        outcome=Outcome.TIMED_OUT,
        error=f"timed out after {timeout:g} s",
        logs=f"timed out after {timeout:g} s: the attempt was stopped\n",
        duration_s=timeout,
    )
