"""This process and host: the host name, whether a process is alive, temporary folders
removed when this process exits (for the catalog, runner, stores and api)."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
from pathlib import Path

__all__ = ["pid_alive", "remove_at_exit", "this_host"]


def this_host() -> str:
    """The name runs record as their host."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    if pid == os.getpid():  # the asker itself (a coordinator's own fence): no syscalls
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in {"Z", "X"}


_FOLDERS_TO_REMOVE: list[Path] = []


def _remove_folders() -> None:
    for folder in _FOLDERS_TO_REMOVE:
        shutil.rmtree(folder, ignore_errors=True)


def remove_at_exit(folder: Path) -> None:
    """Remove ``folder`` (a temporary one this process made) when the process exits."""
    if not _FOLDERS_TO_REMOVE:
        atexit.register(_remove_folders)
    _FOLDERS_TO_REMOVE.append(folder)
