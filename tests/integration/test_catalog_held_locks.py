"""Opening a catalog a second time in one process keeps the first connection's locks.

Closing any descriptor of a file drops every POSIX lock the process holds on it,
SQLite's included. The header check of each open used to read the file with
``open()``/``close()``: a long-lived process (the daemon) that opened the catalog
again lost its connection's locks, another process closing its own connection
then believed it was the last, checkpointed and removed the WAL, and the
daemon's next read failed with ``disk I/O error`` (SQLITE_IOERR_SHORT_READ).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from partita.catalog.sqlite import SQLiteCatalog

_OTHER_PROCESS = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT COUNT(*) FROM runs").fetchone()
conn.close()
"""


def test_a_second_open_in_one_process_keeps_the_first_connections_locks(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    first = SQLiteCatalog(path)
    try:
        first.dynamic_partitions.add("files", ["a"])  # the WAL now has frames
        wal = path.with_name(path.name + "-wal")
        assert wal.is_file()
        SQLiteCatalog(path).close()  # open and close again in this process
        subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(path)], check=True)
        # the other process saw this one's connection: it did not remove the WAL
        assert wal.is_file()
        assert first.dynamic_partitions.get("files") == ["a"]
    finally:
        first.close()
