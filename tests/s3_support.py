"""A real S3 API on loopback for the tests: moto's server, one per test process.

``moto[server]`` runs in its own environment (``.venv-s3`` beside the project,
made by ``make s3-test-server`` with ``constraints-s3.txt``; ``make test``
makes it): moto needs botocore, which refuses the ``python-dateutil`` that
the project pins, and the tests only talk HTTP to it. ``PARTITA_MOTO_SERVER``
may name another ``moto_server`` executable. The server is started on first
use on 127.0.0.1 on a free port (each pytest-xdist worker has its own) and
stopped when the process exits; it dies with the process that started it.

Clients get the endpoint and fake credentials from :func:`client_env` (set in
``os.environ`` by :func:`shared_server`, for in-process stores, and passed to
subprocesses), never from a developer's real AWS configuration.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["S3Server", "client_env", "moto_server_command", "new_bucket", "shared_server"]

ROOT = Path(__file__).resolve().parent.parent
FAKE_KEY_ID = "partita-test-key"
FAKE_SECRET = "partita-test-secret-never-printed"


def moto_server_command() -> list[str]:
    """The ``moto_server`` to run: ``PARTITA_MOTO_SERVER``, ``.venv-s3``, else ``PATH``.

    Raises:
        RuntimeError: none is installed (the tests fail; they are not skipped).
    """
    named = os.environ.get("PARTITA_MOTO_SERVER")
    candidates = [named] if named else []
    candidates += [str(ROOT / ".venv-s3" / "bin" / "moto_server"), shutil.which("moto_server")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return [candidate]
    raise RuntimeError(
        "no moto_server for the S3 tests: run `make s3-test-server` (it makes .venv-s3 "
        "with the versions of constraints-s3.txt), or set PARTITA_MOTO_SERVER"
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class S3Server:
    """A running moto server."""

    process: subprocess.Popen[bytes]
    endpoint: str

    @classmethod
    def start(cls, timeout: float = 30.0, env: dict[str, str] | None = None) -> S3Server:
        """Start one on a free port and wait until it answers (``env``: extra variables
        for the server, e.g. ``INITIAL_NO_AUTH_ACTION_COUNT=0`` to check credentials)."""
        for _ in range(5):
            port = _free_port()
            process = subprocess.Popen(
                [*moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads run it
            )
            endpoint = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    with urllib.request.urlopen(endpoint + "/", timeout=1):
                        return cls(process, endpoint)
                except urllib.error.HTTPError:  # it answers (refusing an unsigned request)
                    return cls(process, endpoint)
                except (urllib.error.URLError, OSError):
                    time.sleep(0.05)
            process.kill()  # the port was taken meanwhile, or it did not start: again
            process.wait()
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        """Stop the server."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def create_bucket(self, name: str) -> None:
        """Create a bucket (moto accepts unsigned requests)."""
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


_SERVER: S3Server | None = None
_GUARD = threading.Lock()


def client_env(endpoint: str) -> dict[str, str]:
    """The environment a client of the test server needs (fake credentials)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_REGION": "us-east-1",
        # never a developer's real profile
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_CONFIG_FILE": os.devnull,
    }


def shared_server() -> S3Server:
    """This process's server (started on first use, stopped at exit), with the client
    environment set in ``os.environ``."""
    global _SERVER  # noqa: PLW0603 - one server per test process
    with _GUARD:
        if _SERVER is None or _SERVER.process.poll() is not None:
            _SERVER = S3Server.start()
            atexit.register(_SERVER.stop)
        os.environ.update(client_env(_SERVER.endpoint))
        return _SERVER


def new_bucket(prefix: str = "t") -> str:
    """A new empty bucket on the shared server; returns its name."""
    server = shared_server()
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    server.create_bucket(name)
    return name
