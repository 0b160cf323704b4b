"""What the web page's tests share: the shop project at the late-correction moment,
and `partita ui` served from it as a real subprocess on a free port.

The project is tests/fixtures/shop_project/ (the first example project, frozen for
these tests) copied to a temporary folder, built, then the shop re-sends 2025-01-07
and `partita plan` observes it: daily_revenue 2025-01-07 and rolling_revenue
2025-01-07..2025-01-13 are stale. An extra asset, ``slow_report``, waits for a
``gate`` file (at most 60 s) so a test can watch a run while it is running.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "shop_project"
"""The first example project (the shop's landing files), frozen for these tests."""

SLOW_REPORT = '''

GATE = Path(__file__).resolve().parent / "gate"


@asset(partitions=daily, group="reporting")
def slow_report(context: AssetContext, daily_revenue: pd.DataFrame) -> pd.DataFrame:
    """Waits for the test's gate file (at most 60 s), so a run can be seen running."""
    import time

    context.log.info("waiting for the gate of %s", context.partition_key)
    deadline = time.monotonic() + 60
    while not GATE.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return daily_revenue


defs = Definitions(
    assets=[raw_orders, clean_orders, daily_revenue, rolling_revenue, slow_report],
    sources=[landing_orders],
)
'''


_BUILT: dict[str, Path] = {}
"""The corrected example, built once per test process (see :func:`corrected_example`)."""


def corrected_example(folder: Path) -> Path:
    """A copy in ``folder`` of the example project, built, then 2025-01-07 corrected and
    observed (see above). It is built once per test process and copied (catalog,
    data and all) for each caller, so each gets a project of its own cheaply."""
    if "base" not in _BUILT:
        base = Path(tempfile.mkdtemp(prefix="partita-web-example-")) / "example"
        atexit.register(shutil.rmtree, base.parent, True)
        _build(base)
        _BUILT["base"] = base
    shutil.copytree(_BUILT["base"], folder)
    return folder


def _build(folder: Path) -> None:
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".partita", "data"))
    defs = folder / "defs.py"
    defs.write_text(defs.read_text(encoding="utf-8") + SLOW_REPORT, encoding="utf-8")
    python = sys.executable
    subprocess.run([python, "generate_landing.py"], cwd=folder, check=True, capture_output=True)
    (folder / "gate").touch()
    run_cli(["materialize", "--executor", "thread"], folder, check=True)
    (folder / "gate").unlink()
    subprocess.run(
        [python, "generate_landing.py", "--correct", "2025-01-07"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    run_cli(["plan"], folder, check=True)  # observes the corrected day


def free_port() -> int:
    """A port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    """A running `partita ui`: its address and process."""

    url: str
    process: subprocess.Popen[str]

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, str]:
        """GET ``path``: the status and body (no redirects followed)."""
        request = urllib.request.Request(self.url + path, headers=dict(headers or {}))
        try:
            with _OPENER.open(request, timeout=60) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def json(self, path: str) -> Any:
        """GET ``path`` and parse its JSON (asserting 200)."""
        status, body = self.get(path)
        assert status == 200, (status, body[:500])
        return json.loads(body)

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> tuple[int, str, Mapping[str, str]]:
        """POST a urlencoded form: status, body and headers (no redirects followed)."""
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        try:
            with _OPENER.open(request, timeout=60) as answer:
                return answer.status, answer.read().decode(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at, not to follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(NoRedirect)


@contextmanager
def serve(folder: Path, *args: str) -> Iterator[Served]:
    """`partita ui ARGS` in ``folder`` on a free port, until the block ends."""
    exe = Path(sys.executable).with_name("partita")
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PARTITA_UI_TOKEN", None)
    for _ in range(3):  # another process may take the free port first
        port = free_port()
        process = subprocess.Popen(
            [str(exe), "ui", "--port", str(port), *args],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        served = Served(f"http://127.0.0.1:{port}", process)
        if _ready(served):
            break
        process.kill()
        process.wait()
    else:
        raise AssertionError(
            "partita ui did not start: " + (process.stdout.read() if process.stdout else "")
        )
    try:
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(served: Served, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", int(served.url.rsplit(":", 1)[1])), 0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False
