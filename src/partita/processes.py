"""This host, and whether a process on it is still alive (for the catalog, runner and stores)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["pid_alive", "this_host"]


def this_host() -> str:
    """The name runs record as their host."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host and is not a zombie."""
    if pid <= 0:
        return False
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
