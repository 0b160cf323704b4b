"""What the example project's tests share: a copy of example_project/ and its local orders API.

Each test works on its own copy (in a temporary folder, without the repository's
``.partita`` and ``data``), so the repository stays untouched and tests can run in
parallel. The orders API is the demo's own server (``services/orders_api.py``),
started as a real subprocess on a free port; it writes its address into the copy's
``data/orders_api/address``, which is where the pipeline finds it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"


def copy_example(tmp_path: Path) -> Path:
    """A fresh copy of example_project/ in ``tmp_path``: no catalog, no data."""
    folder = tmp_path / "example_project"
    shutil.copytree(
        EXAMPLE, folder, ignore=shutil.ignore_patterns(".partita", "data", "__pycache__")
    )
    return folder


@contextmanager
def orders_api(folder: Path) -> Iterator[str]:
    """The copy's orders API, serving on a free port until the block ends: its URL."""
    address = folder / "data" / "orders_api" / "address"
    process = subprocess.Popen(
        [sys.executable, "services/orders_api.py", "serve", "--port", "0"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (address.exists() and address.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"the orders API did not start: {output}")
            time.sleep(0.05)
        yield address.read_text().strip()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def warehouse(folder: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` run on the copy's DuckDB warehouse (read only)."""
    with duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def run_script(folder: Path, *args: str) -> str:
    """Run one of the copy's Python scripts (a generator, the API's ``correct``); its output."""
    done = subprocess.run(
        [sys.executable, *args], cwd=folder, capture_output=True, text=True, check=True
    )
    return done.stdout
