"""W2: nothing to do (BENCHMARKS.md).

Right after W1's backfill (built here by a ``partita materialize`` subprocess,
so this process starts with nothing loaded), ``partita plan`` of the whole
range: the wall time of the command as a user runs it, process start and
imports included (target < 0.5 s), and of the planning call alone
(``api.plan_project`` in this process, the project already loaded). Asserted:
the plan has 0 steps (``--json``: ``total_steps == 0``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.projects import ASSETS, catalog_rows, write_chain_project
from partita import api

NAME = "W2"
DESCRIPTION = "partita plan with nothing to do after W1's backfill: command and planning call"


def partita_command() -> list[str]:
    """The ``partita`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("partita")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from partita.cli import main; main()"]


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Backfill once in a subprocess, then time ``partita plan`` and ``plan_project``."""
    days = 30 if quick else 365
    repeat = 3 if quick else 5
    defs = write_chain_project(workdir / "project", days)
    subprocess.run(
        [*partita_command(), "materialize", "-f", str(defs), "--executor", "inprocess", "--json"],
        cwd=defs.parent,
        check=True,
        capture_output=True,
    )
    _, materializations, _ = catalog_rows(defs.parent / ".partita" / "catalog.db")
    assert materializations == len(ASSETS) * days, materializations

    command_s: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(
            [*partita_command(), "plan", "-f", str(defs), "--json"],
            cwd=defs.parent,
            check=True,
            capture_output=True,
            text=True,
        )
        command_s.append(time.perf_counter() - started)
        planned = json.loads(done.stdout)
        assert planned["total_steps"] == 0, f"{planned['total_steps']} steps, expected 0"

    started = time.perf_counter()
    project = api.load_project(file=defs)
    load_s = time.perf_counter() - started
    plan_s: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = api.plan_project(project)
        plan_s.append(time.perf_counter() - started)
        assert result.plan.is_empty, f"{len(result.plan.steps)} steps, expected 0"
        assert result.state.latest.num_rows == len(ASSETS) * days
    return {
        "asset_partitions": len(ASSETS) * days,
        "plan_command_s": command_s,
        "load_project_first_s": round(load_s, 4),
        "plan_call_s": plan_s,
    }
