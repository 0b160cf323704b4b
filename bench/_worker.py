"""Run one workload in this (fresh) process and write its result as JSON.

Started by the harness as
``python -m bench._worker MODULE --workdir DIR --result FILE [--quick]``; not
meant to be run by hand. The result file holds ``status`` (``ok`` or
``failed``), ``error``, ``name``, ``description``, ``figures``, ``wall_s`` and
the peak resident memory of this process and of its finished children (MiB).
Exit status: 0 when the workload passed, 1 when it failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import sys
import time
import traceback
from pathlib import Path

from bench.harness import WorkloadContractError, check_figures

__all__ = ["main", "run_module"]


def _peak_mib(who: int) -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    source = f": {last.line.strip()}" if last.line else ""
    return f" (at {Path(last.filename).name}:{last.lineno}{source})"


def run_module(
    module: str, *, quick: bool, workdir: Path, started_file: Path | None = None
) -> dict[str, object]:
    """Import ``module``, run its workload and return the result dictionary.

    When ``started_file`` is given, ``{"status": "running", "name", "description"}``
    is written there before the workload runs, so a harness can name a workload
    whose process dies without reporting.
    """
    result: dict[str, object] = {"name": module.rsplit(".", 1)[-1], "description": ""}
    started = time.perf_counter()
    try:
        workload = importlib.import_module(module)
        name = getattr(workload, "NAME", None)
        description = getattr(workload, "DESCRIPTION", None)
        run = getattr(workload, "run", None)
        if not isinstance(name, str) or not isinstance(description, str) or not callable(run):
            raise WorkloadContractError(
                f"module {module} must define NAME: str, DESCRIPTION: str and "
                "run(quick: bool, workdir: pathlib.Path) -> dict[str, object]"
            )
        result.update(name=name, description=description)
        if started_file is not None:
            started_file.write_text(json.dumps({**result, "status": "running"}), encoding="utf-8")
        figures = check_figures(run(quick, workdir))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        message = str(exc).strip().splitlines()
        result.update(
            status="failed",
            error=f"{type(exc).__name__}: {message[0] if message else ''}".rstrip(": ")
            + _where(exc),
            figures={},
        )
    else:
        result.update(status="ok", figures=figures)
    result["wall_s"] = time.perf_counter() - started
    result["peak_rss_mb"] = _peak_mib(resource.RUSAGE_SELF)
    result["peak_rss_children_mb"] = _peak_mib(resource.RUSAGE_CHILDREN)
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench._worker``."""
    parser = argparse.ArgumentParser(prog="python -m bench._worker")
    parser.add_argument("module")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    result = run_module(
        args.module, quick=args.quick, workdir=args.workdir, started_file=args.result
    )
    args.result.write_text(json.dumps(result), encoding="utf-8")
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
