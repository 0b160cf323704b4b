"""``python -m bench``: run the benchmark workloads and report their figures.

Usage::

    python -m bench [--workload W6 ...] [--quick] [--repeat N] [--out DIR]
                    [--json-only] [--keep] [--timeout SECONDS] [--module DOTTED]

Prints one JSON line per workload on stdout, appends the same lines to
``bench/results/<UTC date>.jsonl`` (``bench/results/quick/`` with ``--quick``)
and shows a table on the terminal. Exit status: 0 when every workload passed,
1 when any failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.harness import (
    BENCH_DIR,
    REPO_DIR,
    Figure,
    Outcome,
    Summary,
    UnknownWorkloadError,
    append_records,
    resolve_workloads,
    results_path,
    run_workload,
    to_record,
)
from bench.machine import Machine, partita_commit

__all__ = ["main", "render_table"]

_PIPE_WIDTH = 132
_QUICK_GITIGNORE = "# Quick (reduced-size) benchmark runs are not kept in git.\n*\n!.gitignore\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run Partita's benchmark workloads (BENCHMARKS.md), each in a fresh process.",
    )
    parser.add_argument(
        "--workload",
        "-w",
        action="append",
        default=[],
        metavar="NAME",
        help="workload to run (W6, w6_io; case-insensitive; repeatable). Default: all.",
    )
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="DOTTED",
        help="also run this importable module as a workload (repeatable).",
    )
    parser.add_argument("--quick", action="store_true", help="reduced sizes (smoke test).")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each workload N times, each in a fresh process; samples are pooled.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for <date>.jsonl (default bench/results, or bench/results/quick).",
    )
    parser.add_argument("--json-only", action="store_true", help="print only the JSON lines.")
    parser.add_argument("--keep", action="store_true", help="keep the work folders (bench/.work).")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fail a workload run that takes longer than this.",
    )
    return parser


def _seconds(value: float) -> str:
    """A duration with a unit that keeps it short: ``110 µs``, ``24.6 ms``, ``3.21 s``."""
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def _scalar(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _figure_cells(figure: Figure) -> tuple[str, str, str]:
    """(median or value, min-max, n) of one figure."""
    if isinstance(figure, Summary):
        spread = f"{_seconds(figure.min)} - {_seconds(figure.max)}"
        return _seconds(figure.median), spread, str(figure.n)
    if isinstance(figure, tuple):
        return ", ".join(_scalar(v) for v in figure), "", str(len(figure))
    return _scalar(figure), "", ""


def render_table(outcomes: Sequence[Outcome], *, quick: bool) -> Table:
    """A table of every workload's status and figures (sample figures in seconds)."""
    table = Table(title="Partita benchmarks" + (" (quick)" if quick else ""))
    for column in ("workload", "status", "figure"):
        table.add_column(column)
    for column in ("median / value", "min - max", "n", "peak RSS MiB", "wall s"):
        table.add_column(column, justify="right")
    for outcome in outcomes:
        status = "[green]ok[/green]" if outcome.ok else "[bold red]FAILED[/bold red]"
        rss = "" if outcome.peak_rss_mb is None else f"{outcome.peak_rss_mb:.0f}"
        head = [outcome.name, status]
        tail = [rss, f"{outcome.wall_s:.1f}"]
        if not outcome.ok:
            table.add_row(*head, "[red](error below)[/red]", "", "", "", *tail)
        elif not outcome.figures:
            table.add_row(*head, "(no figures)", "", "", "", *tail)
        for i, (name, figure) in enumerate(outcome.figures.items()):
            first = i == 0
            table.add_row(
                *(head if first else ["", ""]),
                name,
                *_figure_cells(figure),
                *(tail if first else ["", ""]),
            )
        table.add_section()
    return table


def _out_dir(out: Path | None, *, quick: bool) -> Path:
    if out is not None:
        return out
    if not quick:
        return BENCH_DIR / "results"
    quick_dir = BENCH_DIR / "results" / "quick"
    quick_dir.mkdir(parents=True, exist_ok=True)
    ignore = quick_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text(_QUICK_GITIGNORE, encoding="utf-8")
    return quick_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        parser.error("--timeout must be positive")
    err = Console(stderr=True)
    try:
        refs = resolve_workloads(args.workload, args.module)
    except UnknownWorkloadError as exc:
        err.print(f"[red]error:[/red] {exc.message}\n  {exc.hint}", highlight=False)
        return 2
    if not refs:
        err.print("no workload modules exist yet (see bench/__init__.py); nothing to run")
        return 0

    now = datetime.now(UTC)
    machine = Machine.detect().to_dict()
    commit = partita_commit(REPO_DIR)
    out_file = results_path(_out_dir(args.out, quick=args.quick), now)

    outcomes: list[Outcome] = []
    for ref in refs:
        if not args.json_only:
            err.print(f"[bold]running {ref.short}[/bold]" + (" (quick)" if args.quick else ""))
        outcome = run_workload(
            ref,
            quick=args.quick,
            work_root=BENCH_DIR / ".work",
            repeat=args.repeat,
            keep=args.keep,
            timeout=args.timeout,
        )
        record = to_record(
            outcome,
            quick=args.quick,
            repeat=args.repeat,
            machine=machine,
            commit=commit,
            timestamp=datetime.now(UTC),
        )
        append_records(out_file, [record])
        print(json.dumps(record), flush=True)
        outcomes.append(outcome)

    if not args.json_only:
        # Not a terminal (a pipe, CI): wide enough that figure names stay whole.
        console = Console() if sys.stdout.isatty() else Console(stderr=True, width=_PIPE_WIDTH)
        console.print(render_table(outcomes, quick=args.quick))
        failed = [o.name for o in outcomes if not o.ok]
        for outcome in outcomes:
            if not outcome.ok:
                console.print(f"[bold red]{outcome.name} failed:[/bold red] {outcome.error}")
        verdict = f"[bold red]FAILED: {', '.join(failed)}[/bold red]" if failed else "all passed"
        console.print(f"{verdict}; results appended to {out_file}", highlight=False)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
