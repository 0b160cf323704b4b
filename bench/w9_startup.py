"""W9: start-up (BENCHMARKS.md).

Whole processes, as a user runs them, interleaved round by round with their
references so that both see the same load: ``partita --version`` and
``partita --help`` against ``python -c "import click"``; ``partita plan --json``
with nothing to do (after a backfill of the W2 project) against
``python -c "import pandas, pyarrow"`` (the project imports pandas itself).
Each ratio is the median of the per-round ratios (targets: <= 1.5), of wall
time and of CPU time (user + system of the child: less sensitive to the
machine's load). Bytecode is written and used, as for a user (the children run
without ``PYTHONDONTWRITEBYTECODE``, after one untimed warm-up round): without
it every Partita module is compiled at each start.

Also reported: the heavy modules each command imports (``sys.modules`` at exit;
none may be duckdb, sqlglot or networkx), and the time from calling
``api.materialize`` with the process executor (a fresh process each time, so a
fresh forkserver) to the first step succeeding, which covers planning and the
workers' start-up. Asserted: every command succeeds, the plan has 0 steps.

Full size: 365 days, 9 rounds, 3 first-step runs. ``--quick`` (the smoke test):
30 days, 3 rounds, 1 first-step run, the modules of ``--help`` and ``plan`` only.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.projects import ASSETS, catalog_rows, write_chain_project
from bench.w2_nothing import partita_command

NAME = "W9"
DESCRIPTION = "start-up: --version/--help vs import click, plan vs import pandas, first step"

HEAVY = ("duckdb", "sqlglot", "networkx", "rich", "pydantic", "pandas", "pyarrow.dataset")
"""The modules whose presence each command's report lists."""

FORBIDDEN = ("duckdb", "sqlglot", "networkx")
"""No command of this Parquet-only project without SQL checks may import these."""

_DUMP_MODULES = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nW9-MODULES '"
    " + json.dumps(sorted(sys.modules))))\n"
    "from partita.cli.main import main\n"
    "main()\n"
)

_FIRST_STEP = """
import json, sys, time
from partita import api
from partita.events import StepSucceeded

project = api.load_project(file=sys.argv[1])
first = []

def on_event(event):
    if isinstance(event, StepSucceeded) and not first:
        first.append(time.perf_counter())

started = time.perf_counter()
result = api.materialize(
    project, partition_key=sys.argv[2], force=True, executor="process",
    subscribers=[on_event], handle_signals=False,
)
done = time.perf_counter()
assert result.success, result.counts
print(json.dumps({"first_step_s": first[0] - started, "materialize_s": done - started}))
"""


def _env() -> dict[str, str]:
    """This process's environment, with bytecode written and read as for a user."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU (user + system) seconds of ``command``, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True, env=_env())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stdout


def _modules(args: list[str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _DUMP_MODULES, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    line = next(ln for ln in done.stderr.splitlines() if ln.startswith("W9-MODULES "))
    loaded: list[str] = json.loads(line.removeprefix("W9-MODULES "))
    return loaded


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Backfill the W2 project, then time the commands and their references, interleaved."""
    days = 30 if quick else 365
    repeat = 3 if quick else 9  # quick: the smoke test of `make test`, kept short
    defs = write_chain_project(workdir / "project", days)
    cwd = defs.parent
    partita = partita_command()
    subprocess.run(
        [*partita, "materialize", "-f", str(defs), "--executor", "inprocess", "--json"],
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    latest, materializations, _ = catalog_rows(cwd / ".partita" / "catalog.db")
    assert materializations == len(ASSETS) * days, materializations

    commands = {
        "click": [sys.executable, "-c", "import click"],
        "version": [*partita, "--version"],
        "help": [*partita, "--help"],
        "pandas_pyarrow": [sys.executable, "-c", "import pandas, pyarrow"],
        "plan": [*partita, "plan", "-f", str(defs), "--json"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm-up: bytecode written, files cached
        _timed(command, cwd)
    for _ in range(repeat):
        for name, command in commands.items():
            elapsed, used, out = _timed(command, cwd)
            samples[name].append(elapsed)
            cpu[name].append(used)
            if name == "version":
                assert "partita, version" in out, out
            elif name == "help":
                assert "materialize" in out and "Commands:" in out, out
            elif name == "plan":
                total = json.loads(out)["total_steps"]
                assert total == 0, f"{total} steps, expected 0"

    def ratio(times: dict[str, list[float]], name: str, reference: str) -> float:
        rounds = zip(times[name], times[reference], strict=True)
        return round(statistics.median(a / b for a, b in rounds), 3)

    result: dict[str, object] = {f"{name}_s": times for name, times in samples.items()}
    for name, reference in (("version", "click"), ("help", "click"), ("plan", "pandas_pyarrow")):
        result[f"{name}_ratio"] = ratio(samples, name, reference)
        result[f"{name}_cpu_ratio"] = ratio(cpu, name, reference)

    listed = {
        "help": ["--help"],
        "version": ["--version"],
        "plan": ["plan", "-f", str(defs), "--json"],
        "plan_text": ["plan", "-f", str(defs)],
        "status": ["status", "-f", str(defs), "--json"],
    }
    for label, args in listed.items():
        if quick and label not in ("help", "plan"):
            continue
        loaded = _modules(args, cwd)
        result[f"modules_{label}"] = len(loaded)
        result[f"heavy_{label}"] = ",".join(m for m in HEAVY if m in loaded) or "-"
        bad = [m for m in FORBIDDEN if m in loaded]
        assert not bad, f"partita {' '.join(args)} imported {bad}"

    first_step: list[float] = []
    whole: list[float] = []
    day = max(partition for _, partition in latest)
    for _ in range(1 if quick else 3):
        _, _, out = _timed([sys.executable, "-c", _FIRST_STEP, str(defs), day], cwd)
        timings = json.loads(out)
        first_step.append(timings["first_step_s"])
        whole.append(timings["materialize_s"])
    result["first_step_s"] = first_step
    result["materialize_one_day_s"] = whole
    return result
