"""Whether a recorded coordinator is known to be gone from its process id.

SQLite's catalog lives on one machine, so a run (or daemon) recorded with
this host's name and a pid that no longer exists is dead at once. A shared
catalog (PostgreSQL) serves several machines whose host names may repeat and
whose pids mean nothing elsewhere: it passes ``by_pid=False`` and relies on
heartbeat age and lease expiry alone.
"""

from __future__ import annotations

from partita.processes import pid_alive, this_host

__all__ = ["gone_by_pid"]


def gone_by_pid(host: object, pid: object, *, by_pid: bool) -> bool:
    """``True`` when ``by_pid`` and the process ``pid`` recorded on this host is gone."""
    return by_pid and str(host) == this_host() and not pid_alive(int(str(pid)))
