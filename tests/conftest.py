"""Shared fixtures: small asset graphs (diamond, fan-out/fan-in) and project folders."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from partita.assets import AssetSpec, asset
from partita.definitions import Definitions
from partita.graph import AssetGraph
from partita.partitions import DailyPartitions

pytest_plugins = ["tests.postgres_support"]  # a real PostgreSQL server: postgres_server

DAILY = DailyPartitions(start="2025-01-01", end="2025-01-31")


def _diamond() -> list[AssetSpec]:
    @asset(partitions=DAILY)
    def a() -> None: ...

    @asset(partitions=DAILY)
    def b(a: object) -> None: ...

    @asset(partitions=DAILY)
    def c(a: object) -> None: ...

    @asset(partitions=DAILY)
    def d(b: object, c: object) -> None: ...

    return [a, b, c, d]


@pytest.fixture
def diamond() -> AssetGraph:
    """a -> (b, c) -> d, daily partitions."""
    return AssetGraph(Definitions(assets=_diamond()))


@pytest.fixture
def fan_out_fan_in() -> AssetGraph:
    """root -> leaf_0..leaf_4 -> total."""
    specs: list[AssetSpec] = []

    @asset(partitions=DAILY)
    def root() -> None: ...

    specs.append(root)
    leaves = []
    for i in range(5):

        def leaf(root: object) -> None: ...

        specs.append(asset(key=f"leaf_{i}", partitions=DAILY)(leaf))
        leaves.append(f"leaf_{i}")

    @asset(partitions=DAILY, deps=leaves)
    def total() -> None: ...

    specs.append(total)
    return AssetGraph(Definitions(assets=specs))


def run_cli(args: list[str], cwd: Path, *, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the installed ``partita`` command as a user would (a subprocess in ``cwd``)."""
    exe = Path(sys.executable).with_name("partita")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("PARTITA_DEBUG", None)
    result = subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"partita {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def write_project(folder: Path, source: str, *, pyproject: bool = True) -> Path:
    """Write a small project (``defs.py`` and a pyproject pointing at it) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "defs.py").write_text(textwrap.dedent(source), encoding="utf-8")
    if pyproject:
        (folder / "pyproject.toml").write_text(
            '[project]\nname = "demo"\nversion = "0"\n\n[tool.partita]\ndefinitions = "defs.py"\n',
            encoding="utf-8",
        )
    return folder
