"""Finding the processes of one ``partita`` run in ``/proc`` (Linux), and ending them.

A run's processes are the ones whose environment holds
``PARTITA_CHAOS_RUN=<marker>`` (see :mod:`tests.chaos.project`): the
coordinator, the forkserver and every worker inherit it, and keep it after
they are re-parented to pid 1, so an orphan is found whoever its parent is.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from tests.chaos.project import MARKER_VARIABLE

__all__ = ["MarkedProcess", "kill_marked", "marked_processes"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class MarkedProcess:
    """A live process of a marked run.

    Attributes:
        pid: its id.
        ppid: its parent's id (1, or a subreaper's, for an orphan).
        command: its command line, shortened.
    """

    pid: int
    ppid: int
    command: str

    def describe(self) -> str:
        """``pid 123 (parent 1): python -c from multiprocessing.forkserver ...``."""
        return f"pid {self.pid} (parent {self.ppid}): {self.command}"


def _status(pid: int) -> tuple[str, int] | None:
    """The state letter and parent pid of ``pid``, or ``None`` if it is gone."""
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _has_marker(pid: int, marker: str) -> bool:
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER_VARIABLE}={marker}".encode() in environ.split(b"\0")


def _command(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return text if len(text) <= 120 else text[:117] + "..."


def marked_processes(marker: str) -> list[MarkedProcess]:
    """The live (not zombie) processes of the run marked ``marker``, by pid."""
    found: list[MarkedProcess] = []
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        if not _has_marker(pid, marker):
            continue
        status = _status(pid)
        if status is None or status[0] in {"Z", "X"}:
            continue
        found.append(MarkedProcess(pid=pid, ppid=status[1], command=_command(pid)))
    return sorted(found, key=lambda p: p.pid)


def kill_marked(marker: str) -> list[MarkedProcess]:
    """SIGKILL every live process of the run marked ``marker``; the ones killed."""
    killed = marked_processes(marker)
    for process in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    return killed
