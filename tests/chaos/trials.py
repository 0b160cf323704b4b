"""One chaos trial: a backfill killed with SIGKILL at a random moment, a rerun, the invariants.

A trial is fixed by its seed (:meth:`TrialSpec.from_seed`): the seed picks the
store, executor and kill target (consecutive seeds go through every
combination), the one long step, and the moment of the kill (after how many
step starts and how long after, or how far into the long step). The operating
system's scheduling is not fixed by the seed, so a replayed trial kills at the
same point of the run, not at the same instruction.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Literal

from tests.chaos import pipeline
from tests.chaos.invariants import (
    Violation,
    catalog_integrity,
    catalog_matches_store,
    every_partition_published,
    no_live_processes,
    nothing_planned,
    published_data_is_clean,
)
from tests.chaos.processes import kill_marked, marked_processes
from tests.chaos.project import ChaosProject, Executor, StoreKind

__all__ = [
    "COMBINATIONS",
    "GRACE_S",
    "KillReport",
    "Target",
    "TrialSpec",
    "campaign_seeds",
    "rerun_watching_orphans",
    "run_trial",
    "steps_in_trace",
]

Target = Literal["coordinator", "worker"]

COMBINATIONS: tuple[tuple[StoreKind, Executor, Target], ...] = (
    ("parquet", "process", "coordinator"),
    ("duckdb", "process", "worker"),
    ("parquet", "thread", "coordinator"),
    ("duckdb", "inprocess", "coordinator"),
    ("duckdb", "process", "coordinator"),
    ("parquet", "process", "worker"),
    ("duckdb", "thread", "coordinator"),
    ("parquet", "inprocess", "coordinator"),
)
"""Every store x executor x kill target (only the process executor has workers to kill)."""

STEP_S = 0.08
"""How long each step of the killed run sleeps, so kills land inside steps."""
LONG_S = 10.0
"""How long one step of the killed run (drawn from the seed) sleeps: when the coordinator
is killed at most ``LONG_S - GRACE_S - 1`` seconds into it, the worker inside it is still
alive after the grace period unless it dies with its coordinator."""
GRACE_S = 5.0
"""How long after the killed run's coordinator ended no process of that run may be left."""
ORPHAN_WAIT_S = 30.0
"""How long orphans found after the grace period may take to end before they are killed."""
TOTAL_STEPS = len(pipeline.ASSETS) * pipeline.DAYS
MAX_WORKERS = "2"

DEFAULT_TRIALS = 8


@cache
def campaign_seeds() -> list[int]:
    """The seeds of this campaign: ``PARTITA_CHAOS_TRIALS`` (default 8) consecutive seeds
    from ``PARTITA_CHAOS_SEED`` (default: a random one)."""
    count = max(1, int(os.environ.get("PARTITA_CHAOS_TRIALS", "") or DEFAULT_TRIALS))
    first = os.environ.get("PARTITA_CHAOS_SEED", "")
    base = int(first) if first else secrets.randbelow(1_000_000)
    return [base + i for i in range(count)]


@dataclass(frozen=True)
class TrialSpec:
    """What one trial does.

    Attributes:
        seed: the trial's seed; ``make chaos N=1 SEED=<seed> K=seed-<seed>`` replays it.
        store: ``parquet`` or ``duckdb``.
        executor: ``process``, ``thread`` or ``inprocess``.
        target: what is killed: the ``coordinator`` (the ``partita`` process) or one
            ``worker`` process (preferably one inside a step).
        after_starts: the kill comes once this many steps have started (0: during
            start-up, before any step)...
        delay_s: ...and this many seconds later.
        long_step: the one step of the killed run that takes ``LONG_S`` seconds
            (``asset:day``).
        inside_long_step: if true, the kill comes ``delay_s`` after the long step
            started instead (``after_starts`` is then unused).
    """

    seed: int
    store: StoreKind
    executor: Executor
    target: Target
    after_starts: int
    delay_s: float
    long_step: str
    inside_long_step: bool

    @classmethod
    def from_seed(cls, seed: int) -> TrialSpec:
        """The trial of ``seed``."""
        store, executor, target = COMBINATIONS[seed % len(COMBINATIONS)]
        rng = random.Random(seed)
        lowest = 1 if target == "worker" else 0
        after = rng.randint(lowest, TOTAL_STEPS - 6)
        delay = rng.uniform(0.2, 2.5) if after == 0 else rng.uniform(0.0, STEP_S)
        long_step = f"{rng.choice(pipeline.ASSETS)}:{rng.choice(pipeline.all_days()[:12])}"
        inside_long_step = rng.random() < 0.4
        if inside_long_step:
            delay = rng.uniform(0.2, LONG_S - GRACE_S - 1.0)
        return cls(
            seed, store, executor, target, after, round(delay, 3), long_step, inside_long_step
        )

    @property
    def id(self) -> str:
        """A pytest id: ``seed-17-duckdb-process-worker``."""
        return f"seed-{self.seed}-{self.store}-{self.executor}-{self.target}"

    def describe(self) -> str:
        """The trial in one line, with the command that replays it."""
        asset, day = self.long_step.split(":")
        long_step = f"{asset}[{day}]"
        if self.inside_long_step:
            moment = f"{self.delay_s}s into the {LONG_S:.0f}s step {long_step}"
        elif self.after_starts == 0:
            moment = f"{self.delay_s}s after launch ({long_step} takes {LONG_S:.0f}s)"
        else:
            moment = (
                f"{self.delay_s}s after step {self.after_starts} of {TOTAL_STEPS} started "
                f"({long_step} takes {LONG_S:.0f}s)"
            )
        return (
            f"trial seed={self.seed} store={self.store} executor={self.executor} "
            f"kill={self.target} at {moment} "
            f"(replay: make chaos N=1 SEED={self.seed} K=seed-{self.seed})"
        )


@dataclass(frozen=True)
class KillReport:
    """What the kill hit.

    Attributes:
        what: ``coordinator pid 12``, ``worker pid 34 inside raw[2025-01-03]``, or
            ``nothing: the run ended first``.
        at_s: seconds after the launch.
        steps_started: steps started before the kill.
        killed_at: ``time.monotonic()`` of the kill.
    """

    what: str
    at_s: float
    steps_started: int
    killed_at: float

    def describe(self) -> str:
        """One line."""
        return f"killed {self.what} {self.at_s:.2f}s after launch, {self.steps_started} steps in"


@dataclass(frozen=True)
class TraceLine:
    """A ``start``/``end`` line of ``trace.log``."""

    kind: str
    asset: str
    day: str
    pid: int


def steps_in_trace(trace: Path) -> list[TraceLine]:
    """The complete lines of ``trace.log`` (a kill may leave half a line)."""
    if not trace.exists():
        return []
    lines: list[TraceLine] = []
    for text in trace.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = text.split()
        if len(parts) == 5 and parts[0] in {"start", "end"} and parts[3].isdigit():
            lines.append(TraceLine(parts[0], parts[1], parts[2], int(parts[3])))
    return lines


def _wait_for_moment(project: ChaosProject, process: subprocess.Popen[str], spec: TrialSpec) -> int:
    """Wait for the kill moment (or the run's end); the steps started by then."""
    deadline = time.monotonic() + 180
    asset, day = spec.long_step.split(":")
    while (
        (spec.after_starts or spec.inside_long_step)
        and time.monotonic() < deadline
        and process.poll() is None
    ):
        lines = steps_in_trace(project.trace_path)
        if spec.inside_long_step:
            if any(x.kind == "start" and (x.asset, x.day) == (asset, day) for x in lines):
                break
        elif sum(line.kind == "start" for line in lines) >= spec.after_starts:
            break
        time.sleep(0.01)
    time.sleep(spec.delay_s)
    return sum(line.kind == "start" for line in steps_in_trace(project.trace_path))


def _open_steps(project: ChaosProject) -> list[tuple[str, str, int]]:
    """The steps started and not ended: ``(asset, day, pid)``."""
    open_steps: dict[tuple[str, str, int], None] = {}
    for line in steps_in_trace(project.trace_path):
        key = (line.asset, line.day, line.pid)
        if line.kind == "start":
            open_steps[key] = None
        else:
            open_steps.pop(key, None)
    return list(open_steps)


def _worker_to_kill(
    project: ChaosProject, coordinator: int, marker: str, rng: random.Random
) -> tuple[int, str] | None:
    """A worker of the run, preferably one inside a step: its pid and a description."""
    alive = {p.pid for p in marked_processes(marker)} - {coordinator}
    inside = [key for key in _open_steps(project) if key[2] in alive]
    if inside:
        asset, day, pid = rng.choice(inside)
        return pid, f"worker pid {pid} inside {asset}[{day}]"
    known = sorted({line.pid for line in steps_in_trace(project.trace_path)} & alive)
    if known:
        pid = rng.choice(known)
        return pid, f"worker pid {pid} between steps"
    return None


def _kill(
    project: ChaosProject, process: subprocess.Popen[str], spec: TrialSpec, marker: str
) -> KillReport:
    launched = time.monotonic()
    started = _wait_for_moment(project, process, spec)
    at_s = time.monotonic() - launched
    if process.poll() is not None:
        return KillReport("nothing: the run ended first", at_s, started, time.monotonic())
    if spec.target == "coordinator":
        inside = ", ".join(f"{a}[{d}] (pid {p})" for a, d, p in _open_steps(project))
        pid, what = process.pid, f"coordinator pid {process.pid}, steps open: {inside or 'none'}"
    else:
        chosen = _worker_to_kill(project, process.pid, marker, random.Random(spec.seed))
        if chosen is None:
            return KillReport("nothing: no worker was alive", at_s, started, time.monotonic())
        pid, what = chosen
    os.kill(pid, signal.SIGKILL)
    return KillReport(what, at_s, started, time.monotonic())


def _after(stage: str, found: list[Violation]) -> list[Violation]:
    return [replace(v, detail=f"{stage}: {v.detail}") for v in found]


def rerun_watching_orphans(
    project: ChaosProject, args: list[str], *, killed_run: str, ended_at: float
) -> list[Violation]:
    """Rerun ``partita ARGS`` to its end while checking, ``GRACE_S`` after the killed run's
    coordinator ended (``ended_at``, monotonic), that none of its processes is left.

    The check runs beside the rerun, so a slow rerun cannot hide an orphan that
    ends later. Orphans are then given ``ORPHAN_WAIT_S`` to end (a late publish
    lands before the invariants are checked), and killed if they do not.
    """
    marker = f"{killed_run}-rerun"
    rerun = project.start(args, marker=marker, step_s=0.0)
    found: list[Violation] = []
    try:
        time.sleep(max(0.0, ended_at + GRACE_S - time.monotonic()))
        found += no_live_processes(killed_run, time.monotonic() - ended_at)
        status = rerun.wait(timeout=300)
    except subprocess.TimeoutExpired:
        status = -9
    finally:
        if rerun.poll() is None:
            rerun.kill()
            rerun.wait()
    if status != 0:
        found.append(Violation("rerun completes", f"exit {status}: {project.output(marker)}"))
    deadline = time.monotonic() + ORPHAN_WAIT_S
    while marked_processes(killed_run) and time.monotonic() < deadline:
        time.sleep(0.2)
    kill_marked(killed_run)  # an orphan that outlived the wait (reported above)
    return found


def run_trial(spec: TrialSpec, folder: Path) -> tuple[KillReport, list[Violation]]:
    """Run one trial in ``folder``: what the kill hit and every violated invariant."""
    project = ChaosProject.create(folder, spec.store)
    store = project.store()
    clean = {1: pipeline.expected_frames(1)}
    materialize = ["materialize", "--executor", spec.executor, "--max-workers", MAX_WORKERS]
    killed_run = f"chaos-{spec.seed}-{secrets.token_hex(4)}"
    found: list[Violation] = []
    process = project.start(
        materialize, marker=killed_run, step_s=STEP_S, long_step=spec.long_step, long_s=LONG_S
    )
    try:
        kill = _kill(project, process, spec, killed_run)
        try:
            process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            found.append(Violation("killed run ends", "still running 180s after a worker kill"))
            process.kill()
            process.wait()
        ended_at = time.monotonic()
        found += _after("after the kill", catalog_integrity(project))
        found += _after("after the kill", published_data_is_clean(store, clean, 1))

        found += rerun_watching_orphans(
            project, materialize, killed_run=killed_run, ended_at=ended_at
        )

        found += _after("after the rerun", catalog_integrity(project))
        found += _after("after the rerun", published_data_is_clean(store, clean, 1))
        found += _after("after the rerun", every_partition_published(store))
        found += _after("after the rerun", catalog_matches_store(project, store))
        found += _after("after the rerun", nothing_planned(project, f"{killed_run}-plan"))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        kill_marked(killed_run)
    return kill, found
