"""A real PostgreSQL server for the catalog tests, started by the test suite itself.

One server per pytest-xdist worker (:func:`postgres_server`, session-scoped):
``initdb`` and ``pg_ctl`` from the system's binaries (``/usr/lib/postgresql/*/bin``,
or on ``PATH``), the data folder and the socket folder in a temporary folder, a
free TCP port on 127.0.0.1 picked at run time, password authentication over TCP
(so a wrong password can be tested). PostgreSQL refuses to run as root: as root
(CI), the server runs as the ``postgres`` user through ``runuser``.

Each test gets a fresh database (:meth:`PostgresServer.new_database`, a
``CREATE DATABASE ... TEMPLATE`` of one migrated once). Missing binaries fail
the tests loudly: ``make test`` installs them (scripts/test-system-deps.sh),
so nothing is skipped. Registered for every test by ``pytest_plugins`` in
``tests/conftest.py``; the server starts only for tests that ask for it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from partita.catalog.postgres.migrations import migrate

__all__ = ["PostgresServer", "pg_bin", "postgres_server", "start_postgres"]

PASSWORD = "partita-test-secret"
"""The superuser's password of the test server (only ever on 127.0.0.1)."""

_COUNTER = itertools.count()
_TEMPLATE = "partita_template"


def pg_bin(name: str) -> str:
    """The path of one PostgreSQL server binary (the newest version installed)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed: run scripts/test-system-deps.sh "
            "(make test does) or apt-get install postgresql"
        )
    return on_path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> list[str]:
    """The command prefix that runs the server binaries (``postgres`` when we are root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PostgresServer:
    """A running test server: its folder, port and superuser credentials."""

    root: Path
    port: int
    user: str = "postgres"
    password: str = PASSWORD
    _template_ready: bool = False

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A ``postgresql://`` URL of one database on this server."""
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create a fresh catalog database (its tables made, no rows of history) and
        return its URL: a copy of a template migrated once per server, which is much
        faster than migrating every database."""
        name = f"t_{os.getpid()}_{next(_COUNTER)}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            if not self._template_ready:
                conn.execute(f'CREATE DATABASE "{_TEMPLATE}"'.encode())
                with psycopg.connect(self.url(_TEMPLATE), autocommit=True) as template:
                    migrate(template)
                self._template_ready = True
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}"'.encode())
        return self.url(name)

    def stop(self) -> None:
        """Stop the server fast and delete its folder."""
        subprocess.run(
            [
                *_as_server_user(),
                pg_bin("pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(*, fsync: bool = False) -> PostgresServer:
    """Initialise and start a private server on a free port of 127.0.0.1."""
    root = Path(tempfile.mkdtemp(prefix="partita-pg-"))
    run_as = _as_server_user()
    (root / "socket").mkdir()
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        shutil.chown(root, "postgres")
        shutil.chown(root / "socket", "postgres")
        shutil.chown(pwfile, "postgres")
    subprocess.run(
        [
            *run_as,
            pg_bin("initdb"),
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        capture_output=True,
        check=True,
    )
    pwfile.unlink()
    for attempt in range(3):
        port = _free_port()
        options = (
            f"-p {port} -k {root / 'socket'} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if fsync else 'off'} -c synchronous_commit={'on' if fsync else 'off'} "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB"
        )
        done = subprocess.run(
            [
                *run_as,
                pg_bin("pg_ctl"),
                "-D",
                str(root / "data"),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            return PostgresServer(root=root, port=port)
        if attempt == 2:
            log = (root / "server.log").read_text(errors="replace")[-2000:]
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr!r}\n{log}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for this pytest worker, stopped at the end of the session."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database for one test."""
    return postgres_server.new_database()
