"""Run benchmark workloads in fresh processes and turn their output into records.

The harness finds workload modules (:data:`bench.WORKLOAD_MODULES` plus any
module named on the command line), runs each one in a fresh Python process
(``python -m bench._worker``) with its own temporary work folder, checks what
it returned against the workload contract, summarizes repeated timings
(median/min/max/n) and builds one JSON-ready record per workload.

A workload that raises (its own correctness assertions included), returns
something outside the contract, times out or dies is reported ``failed`` with
no figures: a fast wrong answer is never shown as a result.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeGuard

from bench import WORKLOAD_MODULES
from partita.errors import ConfigError, PartitaError

__all__ = [
    "BENCH_DIR",
    "REPO_DIR",
    "Figure",
    "Outcome",
    "Scalar",
    "Summary",
    "UnknownWorkloadError",
    "WorkloadContractError",
    "WorkloadRef",
    "append_records",
    "available_workloads",
    "check_figures",
    "merge_runs",
    "resolve_workloads",
    "results_path",
    "run_workload",
    "summarize",
    "to_record",
]

BENCH_DIR = Path(__file__).resolve().parent
"""The ``bench`` package folder."""

REPO_DIR = BENCH_DIR.parent
"""The repository root (the folder holding ``bench`` and ``src``)."""

_STDERR_FD = 2

Scalar = bool | int | float | str | None
"""A figure reported as it is: a count, a ratio, a size in bytes, a flag."""


class UnknownWorkloadError(ConfigError):
    """A workload name on the command line matches no workload module."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = list(known)
        super().__init__(
            f"unknown workload {name!r}",
            hint="known workloads: " + (", ".join(known) if known else "(none exist yet)"),
        )


class WorkloadContractError(PartitaError):
    """A workload module or its ``run`` result does not follow the workload contract."""


@dataclass(frozen=True, slots=True)
class Summary:
    """Repeated timings (seconds) of one figure: median, min, max and the samples."""

    median: float
    min: float
    max: float
    n: int
    samples: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        """The JSON form: ``{"median", "min", "max", "n", "samples"}``."""
        return {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "n": self.n,
            "samples": list(self.samples),
        }


Figure = Summary | Scalar | tuple[Scalar, ...]
"""One reported figure: summarized samples, a scalar, or (only when ``--repeat``
gave different non-numeric values) the values of each run."""


def summarize(samples: Sequence[float]) -> Summary:
    """Summarize repeated timings; ``samples`` must not be empty."""
    if not samples:
        raise WorkloadContractError("cannot summarize an empty list of samples")
    values = tuple(float(s) for s in samples)
    return Summary(
        median=statistics.median(values),
        min=min(values),
        max=max(values),
        n=len(values),
        samples=values,
    )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_figures(raw: object) -> dict[str, list[float] | Scalar]:
    """Check a workload's ``run`` result against the contract and normalize it.

    Returns the figures with every sample list converted to floats. Raises
    :class:`WorkloadContractError` naming the offending key when the result is
    not a ``dict`` with ``str`` keys whose values are non-empty lists of finite
    numbers or scalars (bool, int, float, str, None).
    """
    if not isinstance(raw, Mapping):
        raise WorkloadContractError(
            f"run() returned {type(raw).__name__}, not a dict of figures",
            hint="return {'name': [seconds, ...] or scalar, ...}",
        )
    figures: dict[str, list[float] | Scalar] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise WorkloadContractError(f"figure name {key!r} is not a string")
        if isinstance(value, list | tuple):
            if not value or not all(_is_number(v) and math.isfinite(v) for v in value):
                raise WorkloadContractError(
                    f"figure {key!r}: samples must be a non-empty list of finite numbers",
                    hint="time each repetition in seconds, e.g. with time.perf_counter()",
                )
            figures[key] = [float(v) for v in value]
        elif value is None or isinstance(value, bool | int | str):
            figures[key] = value
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise WorkloadContractError(f"figure {key!r} is not finite: {value!r}")
            figures[key] = value
        else:
            raise WorkloadContractError(
                f"figure {key!r} has type {type(value).__name__}",
                hint="use a list of seconds or a scalar (bool, int, float, str, None)",
            )
    return figures


def merge_runs(runs: Sequence[Mapping[str, list[float] | Scalar]]) -> dict[str, Figure]:
    """Merge the checked figures of one or more runs of the same workload.

    Sample lists are pooled and summarized. A scalar equal in every run is kept
    as it is; a numeric scalar that varies between runs (a measured ratio) is
    summarized like samples; any other varying value keeps each run's value.
    """
    merged: dict[str, Figure] = {}
    names: list[str] = []
    for run in runs:
        names.extend(name for name in run if name not in names)
    for name in names:
        values = [run[name] for run in runs if name in run]
        if all(isinstance(v, list) for v in values):
            pooled = [s for v in values if isinstance(v, list) for s in v]
            merged[name] = summarize(pooled)
            continue
        scalars: list[Scalar] = [v for v in values if not isinstance(v, list)]
        if len(scalars) != len(values):
            raise WorkloadContractError(
                f"figure {name!r} is a list of samples in some runs and a scalar in others"
            )
        if all(v == scalars[0] for v in scalars):
            merged[name] = scalars[0]
        elif all(_is_number(v) for v in scalars):
            merged[name] = summarize([float(v) for v in scalars if _is_number(v)])
        else:
            merged[name] = tuple(scalars)
    return merged


@dataclass(frozen=True, slots=True)
class WorkloadRef:
    """A workload module to run.

    Attributes:
        module: the importable dotted name (``bench.w6_io``).
        short: the name used on the command line and in tables (``w6_io``).
    """

    module: str
    short: str

    @property
    def prefix(self) -> str:
        """The part before the first ``_``: ``w6`` for ``w6_io``."""
        return self.short.split("_", 1)[0]


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available_workloads() -> list[WorkloadRef]:
    """The standard workloads whose module exists, in :data:`bench.WORKLOAD_MODULES` order."""
    return [
        WorkloadRef(module=f"bench.{name}", short=name)
        for name in WORKLOAD_MODULES
        if _exists(f"bench.{name}")
    ]


def _declared_name(module: str) -> str | None:
    try:
        imported = importlib.import_module(module)
    except Exception:  # a broken workload is reported when it runs, not here
        return None
    name = getattr(imported, "NAME", None)
    return name if isinstance(name, str) else None


def resolve_workloads(names: Sequence[str], extra_modules: Sequence[str] = ()) -> list[WorkloadRef]:
    """The workloads to run for the command-line selection.

    ``names`` match case-insensitively a module name (``w6_io``), its prefix
    (``W6``) or the module's ``NAME``; no names means every available workload.
    ``extra_modules`` are dotted module names importable on ``sys.path`` (used
    to run a workload that lives outside ``bench``). Raises
    :class:`UnknownWorkloadError` listing the known names.
    """
    available = available_workloads()
    chosen: list[WorkloadRef] = []
    if not names and not extra_modules:
        chosen = list(available)
    for name in names:
        wanted = name.strip().lower()
        match = [r for r in available if wanted in (r.short.lower(), r.prefix.lower())]
        if not match:
            match = [r for r in available if (_declared_name(r.module) or "").lower() == wanted]
        if not match:
            raise UnknownWorkloadError(name, [r.short for r in available])
        chosen.extend(r for r in match if r not in chosen)
    for module in extra_modules:
        if not _exists(module):
            raise UnknownWorkloadError(module, [r.short for r in available])
        ref = WorkloadRef(module=module, short=module.rsplit(".", 1)[-1])
        if ref not in chosen:
            chosen.append(ref)
    return chosen


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened when one workload ran (all its repetitions).

    ``figures`` is empty whenever ``status`` is ``"failed"``.
    """

    ref: WorkloadRef
    name: str
    description: str
    status: str
    error: str | None
    figures: dict[str, Figure] = field(default_factory=dict)
    peak_rss_mb: float | None = None
    peak_rss_children_mb: float | None = None
    wall_s: float = 0.0
    runs: int = 0
    load_avg: tuple[float, float] | None = None
    """The machine's 1-minute load average when the workload started and ended."""

    @property
    def ok(self) -> bool:
        """True when every run passed."""
        return self.status == "ok"


def _load_1m() -> float | None:
    """The 1-minute load average (``None`` where the OS has none): a figure measured
    above the core count is not a quiet-machine figure, and the record says so."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _load_span(start: float | None) -> tuple[float, float] | None:
    end = _load_1m()
    return None if start is None or end is None else (start, end)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _run_once(
    ref: WorkloadRef, *, quick: bool, workdir: Path, result: Path, timeout: float | None
) -> dict[str, object]:
    """Run the workload once in a fresh process; return the worker's result dict."""
    env = dict(os.environ)
    paths = [str(REPO_DIR), str(REPO_DIR / "src")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    command = [sys.executable, "-m", "bench._worker", ref.module]
    command += ["--workdir", str(workdir), "--result", str(result)]
    if quick:
        command.append("--quick")
    # The worker's stdout goes to our stderr: our stdout carries only JSON lines.
    # A new session lets a timeout stop the workload's own subprocesses too.
    proc = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=_STDERR_FD, start_new_session=True
    )
    timed_out = False
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        code, timed_out = proc.returncode, True
    except BaseException:
        _kill_group(proc)
        raise
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if timed_out or not isinstance(data, dict) or data.get("status") not in ("ok", "failed"):
        if timed_out:
            error = f"timed out after {timeout:g} s"
        elif code < 0:
            error = f"worker killed by signal {-code} without reporting a result"
        else:
            error = f"worker exited with status {code} without reporting a result"
        started = data if isinstance(data, dict) else {}
        return {
            "name": started.get("name"),
            "description": started.get("description"),
            "status": "failed",
            "error": error,
        }
    if code != 0 and data.get("status") == "ok":
        return {"status": "failed", "error": f"worker exited with status {code}"}
    return data


def _float_or_none(value: object) -> float | None:
    return float(value) if _is_number(value) else None


def run_workload(
    ref: WorkloadRef,
    *,
    quick: bool,
    work_root: Path,
    repeat: int = 1,
    keep: bool = False,
    timeout: float | None = None,
) -> Outcome:
    """Run one workload ``repeat`` times, each in a fresh process and work folder.

    Each run gets a new folder under ``work_root`` (removed afterwards unless
    ``keep``). The first failing run stops the workload and makes it failed.
    """
    work_root.mkdir(parents=True, exist_ok=True)
    name, description = ref.short, ""
    runs: list[dict[str, list[float] | Scalar]] = []
    rss: list[float] = []
    rss_children: list[float] = []
    started = time.perf_counter()
    load_start = _load_1m()
    error: str | None = None
    for _ in range(repeat):
        workdir = Path(tempfile.mkdtemp(prefix=f"{ref.short}-", dir=work_root))
        handle, result_name = tempfile.mkstemp(
            prefix=f"{ref.short}-", suffix=".json", dir=work_root
        )
        os.close(handle)
        result = Path(result_name)
        try:
            data = _run_once(ref, quick=quick, workdir=workdir, result=result, timeout=timeout)
        finally:
            result.unlink(missing_ok=True)
            if not keep:
                shutil.rmtree(workdir, ignore_errors=True)
        name = str(data.get("name") or name)
        description = str(data.get("description") or description)
        for value, into in (
            (data.get("peak_rss_mb"), rss),
            (data.get("peak_rss_children_mb"), rss_children),
        ):
            number = _float_or_none(value)
            if number is not None:
                into.append(number)
        if data.get("status") != "ok":
            error = str(data.get("error") or "failed without an error message")
            break
        try:
            runs.append(check_figures(data.get("figures")))
        except WorkloadContractError as exc:
            error = f"{type(exc).__name__}: {exc}"
            break
    wall = time.perf_counter() - started
    if not keep:
        with contextlib.suppress(OSError):
            work_root.rmdir()  # only when empty
    figures: dict[str, Figure] = {}
    if error is None:
        try:
            figures = merge_runs(runs)
        except WorkloadContractError as exc:
            error = f"{type(exc).__name__}: {exc}"
    return Outcome(
        ref=ref,
        name=name,
        description=description,
        status="ok" if error is None else "failed",
        error=error,
        figures=figures if error is None else {},
        peak_rss_mb=max(rss) if rss else None,
        peak_rss_children_mb=max(rss_children) if rss_children else None,
        wall_s=wall,
        runs=len(runs),
        load_avg=_load_span(load_start),
    )


def _figure_json(figure: Figure) -> object:
    if isinstance(figure, Summary):
        return figure.to_dict()
    if isinstance(figure, tuple):
        return list(figure)
    return figure


def to_record(
    outcome: Outcome,
    *,
    quick: bool,
    repeat: int,
    machine: Mapping[str, object],
    commit: str,
    timestamp: datetime,
) -> dict[str, object]:
    """The JSON record of one workload (one line of ``bench/results/<date>.jsonl``)."""
    record: dict[str, object] = {
        "workload": outcome.name,
        "module": outcome.ref.module,
        "description": outcome.description,
        "quick": quick,
        "repeat": repeat,
        "status": outcome.status,
    }
    if outcome.error is not None:
        record["error"] = outcome.error
    record.update(
        {
            "figures": {k: _figure_json(v) for k, v in outcome.figures.items()},
            "peak_rss_mb": outcome.peak_rss_mb,
            "peak_rss_children_mb": outcome.peak_rss_children_mb,
            "wall_s": round(outcome.wall_s, 3),
            "load_avg": None if outcome.load_avg is None else list(outcome.load_avg),
            "machine": dict(machine),
            "partita_commit": commit,
            "timestamp": timestamp.isoformat(timespec="seconds"),
        }
    )
    return record


def results_path(out_dir: Path, now: datetime) -> Path:
    """``out_dir/<YYYY-MM-DD>.jsonl`` for the UTC date of ``now`` (an aware datetime)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    day = now.astimezone(UTC).date().isoformat()
    return out_dir / f"{day}.jsonl"


def append_records(path: Path, records: Sequence[Mapping[str, object]]) -> None:
    """Append one JSON line per record to ``path`` (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=False) + "\n")
