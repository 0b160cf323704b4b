"""A ``--dask-address`` where something accepts the connection but is not a Dask scheduler.

Real servers on free 127.0.0.1 ports, started by each test: a socket server that
accepts and never answers, one that answers HTTP to whatever it receives, and
Python's ``http.server`` (which waits for a request line that Dask's handshake
never completes: the field trial's ``python -m http.server``). Each run fails
within the project's ``DaskCluster(connect_timeout_s=...)`` with one error naming
the address as "not a Dask scheduler", exit status 2, nothing recorded. (A Dask
worker's address: ``test_dask_executor.py``, on its cluster.)
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita import DaskCluster, api
from partita.errors import UnreachableError
from partita.runner.dask_executor import connect
from tests.conftest import run_cli, write_project

TIMEOUT_S = 1.0
"""The project's connect timeout: short, so that the tests are."""

PROJECT = f"""
import pandas as pd

from partita import DailyPartitions, DaskCluster, Definitions, asset

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")


@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({{"day": [context.partition_key]}})


defs = Definitions(assets=[raw], executor=DaskCluster(connect_timeout_s={TIMEOUT_S}))
"""

HTTP_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@contextmanager
def _socket_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on a free 127.0.0.1 port; ``answer`` handles each connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # accept() wakes up to see the test is over
    over = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not over.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            accepted.append(conn)
            answer(conn)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        over.set()
        server.join(5)
        listener.close()
        for conn in accepted:
            conn.close()


def _never_answer(conn: socket.socket) -> None:
    """Keep the connection open and say nothing."""


def _answer_http(conn: socket.socket) -> None:
    """Read what the client sends, answer ``400 Bad Request`` and close."""
    conn.settimeout(5)
    try:
        conn.recv(65536)
        conn.sendall(HTTP_ANSWER)
    finally:
        conn.close()


@contextmanager
def _http_server() -> Iterator[int]:
    """Python's own ``http.server`` on a free 127.0.0.1 port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        (_never_answer, f"did not answer in Dask's protocol within {TIMEOUT_S:g} s"),
        (_answer_http, "answered, but not in Dask's protocol"),
    ],
    ids=["silent", "http-answer"],
)
def test_a_server_that_is_not_a_dask_scheduler_fails_the_run_within_the_timeout(
    tmp_path: Path, answer: Callable[[socket.socket], None], what: str
) -> None:
    folder = write_project(tmp_path / "project", PROJECT)
    with _socket_server(answer) as port:
        address = f"tcp://127.0.0.1:{port}"
        started = time.monotonic()
        done = run_cli(["materialize", "--dask-address", address], folder)
        elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert f"error: {address} is not a Dask scheduler: it " in done.stderr, done.stderr
    assert what in done.stderr, done.stderr
    assert "hint: give the address `dask scheduler` prints" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert elapsed < TIMEOUT_S + 15, elapsed  # the CLI's start-up, then at most the timeout
    project = api.load_project(cwd=folder)
    with project.open_catalog() as catalog:
        assert catalog.runs(now=datetime.now(UTC)) == []  # nothing ran, nothing recorded


def test_pythons_http_server_is_named_at_the_connect_timeout() -> None:
    with _http_server() as port:
        address = f"tcp://127.0.0.1:{port}"
        started = time.monotonic()
        with pytest.raises(UnreachableError) as raised:
            connect(DaskCluster(address, connect_timeout_s=TIMEOUT_S), 1)
        elapsed = time.monotonic() - started
    assert str(raised.value).startswith(
        f"{address} is not a Dask scheduler: it accepted the connection but did not answer"
    )
    assert raised.value.exit_status == 2
    assert TIMEOUT_S <= elapsed < TIMEOUT_S + 2, elapsed
