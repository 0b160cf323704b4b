"""DuckDBStore's publish session: one connection for a batch of publishes.

Real DuckDB files in tmp_path, real threads and a real subprocess reader.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from partita.io import DuckDBStore, PublishSessionStore


def _frame(day: str) -> pd.DataFrame:
    return pd.DataFrame({"amount": [1, 2, 3], "day": [day] * 3})


def _publish(store: DuckDBStore, day: str) -> None:
    store.publish(store.stage("sales/orders", (("day", day),), _frame(day)))


def test_publishes_in_a_session_share_one_connection_and_each_is_committed(
    tmp_path: Path,
) -> None:
    store = DuckDBStore(tmp_path / "wh.duckdb")
    assert isinstance(store, PublishSessionStore)
    _publish(store, "2025-01-01")  # creates the table outside a session
    with store.publishing():
        session = store._session
        assert session is not None
        _publish(store, "2025-01-02")
        _publish(store, "2025-01-03")
        assert store._session is session  # the same connection throughout
        # a read by the session's thread uses it (no wait on its own lock)
        read = store.read("sales/orders", [(("day", "2025-01-02"),)])
        assert list(read["amount"]) == [1, 2, 3]
        # a store pickled meanwhile (to a worker) carries no session
        copy = pickle.loads(pickle.dumps(store))
        assert copy == store and copy._session is None
    assert store._session is None
    assert store.list_partitions("sales/orders") == [(("day", f"2025-01-0{n}"),) for n in (1, 2, 3)]


def test_another_process_reads_once_the_session_ends(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "wh.duckdb")
    _publish(store, "2025-01-01")
    script = (
        "import sys, time\n"
        "from partita.io import DuckDBStore\n"
        "started = time.monotonic()\n"
        "rows = DuckDBStore(sys.argv[1]).read('sales/orders', [(('day', '2025-01-02'),)])\n"
        "print(len(rows), round(time.monotonic() - started, 2))\n"
    )
    with store.publishing():
        _publish(store, "2025-01-02")
        reader = subprocess.Popen(
            [sys.executable, "-c", script, str(store.path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)  # the reader waits on the database's lock meanwhile
        assert reader.poll() is None
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert out.split()[0] == "3"  # it sees the publish committed in the session


def test_a_second_session_from_another_thread_waits_its_turn(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "wh.duckdb")
    _publish(store, "2025-01-01")
    done: list[str] = []

    def other() -> None:
        with store.publishing():  # inside the first session: changes nothing
            _publish(store, "2025-01-09")  # waits for the lock, then publishes alone
        done.append("other")

    with store.publishing():
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.5)
        assert not done  # blocked on the database's lock while this session is open
        _publish(store, "2025-01-02")
    thread.join(timeout=60)
    assert done == ["other"]
    assert (("day", "2025-01-09"),) in store.list_partitions("sales/orders")
