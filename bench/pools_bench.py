"""pools: what a concurrency pool costs per step, and what a failure alert costs a run.

One daily asset of 300 no-op partitions (60 with ``--quick``) built by one
``api.materialize`` with the ``thread`` executor (4 workers), three ways,
interleaved, three repetitions each in a fresh project:

- ``plain``: no pool;
- ``pooled``: ``pool="api"`` with 4 slots (as many as workers: no step ever
  waits, so the difference is the slot bookkeeping: one catalog write to take
  a slot, one to give it back);
- ``pooled_2``: 2 slots for 4 workers (steps wait for slots; asserted: never
  more than 2 at once, from the steps' own start/end stamps).

Figures: per-step milliseconds (median wall time / steps) of each, and the
pooled/plain ratio. Then a run whose 20 steps (5 with ``--quick``) all fail
after 2 attempts with a loopback webhook target: asserted one POST per failed
step; figure: the alerting run's wall time against the same run without targets.
No target is set: the figures go to docs/alerts_and_pools.md.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from textwrap import dedent

from partita import api

NAME = "pools"
DESCRIPTION = "pool slot overhead per step (no wait, and a pool of 2) and failure-alert cost"

PROJECT = """
import time
from pathlib import Path
import pandas as pd
from partita import DailyPartitions, Definitions, RetryPolicy, asset, webhook

DAYS = DailyPartitions(start="2024-01-01", end="{end}")
STAMPS = Path(__file__).with_name("stamps")

@asset(partitions=DAYS, pool={pool!r}, code_version="1")
def noop(context) -> pd.DataFrame:
    started = time.time()
    frame = pd.DataFrame({{"day": [context.partition_key]}})
    with STAMPS.open("a") as out:
        out.write(f"{{started}} {{time.time()}}\\n")
    return frame

@asset(partitions=DAYS, retry=RetryPolicy(max_attempts=2, delay=0.0, jitter=False))
def broken(context) -> pd.DataFrame:
    raise ValueError("broken on purpose")

defs = Definitions(
    assets=[noop, broken],
    pools={{"api": {slots}}},
    on_failure=[webhook(url={hook!r}, format="json")] if {hook!r} else [],
)
"""


def _end(days: int) -> str:
    from datetime import date, timedelta  # noqa: PLC0415

    return (date(2024, 1, 1) + timedelta(days=days)).isoformat()


def _project(folder: Path, days: int, *, pool: str | None, slots: int, hook: str = "") -> Path:
    folder.mkdir(parents=True)
    source = PROJECT.format(end=_end(days), pool=pool, slots=slots, hook=hook)
    (folder / "defs.py").write_text(dedent(source), encoding="utf-8")
    return folder / "defs.py"


def _most_at_once(stamps: Path) -> int:
    events: list[tuple[float, int]] = []
    for line in stamps.read_text().splitlines():
        started, ended = map(float, line.split())
        events += [(started, 1), (ended, -1)]
    running = most = 0
    for _, change in sorted(events):
        running += change
        most = max(most, running)
    return most


def _build(folder: Path, days: int, pool: str | None, slots: int) -> float:
    project = api.load_project(file=_project(folder, days, pool=pool, slots=slots))
    started = time.perf_counter()
    result = api.materialize(
        project, "noop", executor="thread", max_workers=4, handle_signals=False
    )
    elapsed = time.perf_counter() - started
    assert result.counts == {"succeeded": days}, result.counts
    if pool is not None:
        most = _most_at_once(folder / "stamps")
        assert most <= slots, f"{most} steps of a pool of {slots} ran at once"
    return elapsed


class _Hook:
    """A loopback webhook counting POSTs."""

    def __init__(self) -> None:
        self.posts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.posts += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _failing(folder: Path, days: int, hook: str) -> float:
    project = api.load_project(file=_project(folder, days, pool=None, slots=1, hook=hook))
    started = time.perf_counter()
    result = api.materialize(
        project, "broken", executor="thread", max_workers=4, handle_signals=False
    )
    elapsed = time.perf_counter() - started
    assert result.counts == {"failed": days}, result.counts
    return elapsed


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Three repetitions of each shape, interleaved, each in a fresh project."""
    days = 60 if quick else 300
    failing = 5 if quick else 20
    shapes = {"plain": (None, 4), "pooled": ("api", 4), "pooled_2": ("api", 2)}
    samples: dict[str, list[float]] = {name: [] for name in (*shapes, "fail", "fail_alerts")}
    hook = _Hook()
    try:
        for rep in range(3):
            for name, (pool, slots) in shapes.items():
                samples[name].append(_build(workdir / f"{name}_{rep}", days, pool, slots))
            samples["fail"].append(_failing(workdir / f"fail_{rep}", failing, ""))
            before = hook.posts
            samples["fail_alerts"].append(_failing(workdir / f"alert_{rep}", failing, hook.url))
            assert hook.posts - before == failing, f"{hook.posts - before} alerts for {failing}"
    finally:
        hook.close()
    figures: dict[str, object] = {"partitions": days, "failing_steps": failing}
    for name in shapes:
        figures[f"{name}_s"] = samples[name]
        figures[f"{name}_per_step_ms"] = round(statistics.median(samples[name]) / days * 1000, 3)
    figures["pooled_over_plain"] = round(
        statistics.median(samples["pooled"]) / statistics.median(samples["plain"]), 3
    )
    figures["fail_s"] = samples["fail"]
    figures["fail_alerts_s"] = samples["fail_alerts"]
    figures["alerts_over_no_alerts"] = round(
        statistics.median(samples["fail_alerts"]) / statistics.median(samples["fail"]), 3
    )
    return figures
