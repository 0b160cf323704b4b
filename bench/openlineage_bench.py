"""openlineage: what emitting OpenLineage events costs a run.

Measured in this one run:

- ``overhead_per_step_file_ms``: W1's backfill (``raw -> clean -> daily_agg``,
  process executor, 365 days; 10 with ``--quick``) with ``openlineage_file=``
  (the file transport, JSON lines) against the same backfill without
  OpenLineage, interleaved, 3 of each: ``(median(file) - median(off)) /
  partitions``. Target: under 1 ms.
- ``ratio_http``: the same backfill with an HTTP transport to a loopback
  receiver (a separate process answering 201, as a lineage server does)
  against the backfill without OpenLineage, interleaved in the same rounds.
  Target: within 1.05.
- ``sink_cpu_per_step_ms``: the sink's own work per step with the file
  transport, alone: the events of 2,000 steps (200 with ``--quick``; each
  StepStarted, two CheckEvaluated, PartitionPublished with its schema and
  input, StepSucceeded) handed to an :class:`OpenLineageSink` as the event bus
  hands them, from the first event until the file holds every line. The sink
  works off the step's hot path (the bus's thread and its own), so this is CPU
  a run shares, not time a step waits.
- ``sender_cpu_per_step_ms`` and ``sender_start_cpu_s``: the sender process
  that a configured transport's events go through
  (:class:`~partita.openlineage.sender.ProcessSink`), with HTTP to the
  loopback receiver: its CPU (user + system, read when it is reaped) for the
  same 2,000 steps' events, less its CPU for a run with no step (its start:
  the interpreter and the client's import), per step; and that start.

Asserted: every event arrives (two per partition and two for the run, in the
file and at the receiver), and each backfill builds every partition.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.projects import write_chain_project
from bench.w1_chain import backfill
from partita import api
from partita.api.openlineage import event_builder, openlineage_subscribers
from partita.events import (
    CheckEvaluated,
    Event,
    PartitionPublished,
    RunFinished,
    RunStarted,
    StepStarted,
    StepSucceeded,
)
from partita.openlineage import OpenLineageSink, file_client
from partita.openlineage.sender import ProcessSink
from partita.records import Input

NAME = "openlineage"
DESCRIPTION = "OpenLineage: sink work per step (file transport); W1 with HTTP to loopback vs off"

SCHEMA = json.dumps(
    [{"name": "day", "type": "string"}, {"name": "value", "type": "double"}],
)

RECEIVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as lineage servers answer
    def do_POST(self):
        global count
        json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        count += 1
        self.send_response(201); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _sink_per_step(workdir: Path, steps: int) -> float:
    """Seconds per step the sink takes, from the first event to the last line written."""
    defs = write_chain_project(workdir / "sink_project", 365)
    project = api.load_project(file=defs)
    target = workdir / f"events-{time.monotonic_ns()}.jsonl"
    sink = OpenLineageSink(file_client(target), event_builder(project), name="file")
    events, finished = _step_events(steps)
    began = time.perf_counter()
    for event in events:
        sink(event)
    assert sink.flush(60.0), "the sink did not write its events within 60 s"
    elapsed = time.perf_counter() - began
    sink(finished)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 * steps + 2, f"{len(lines)} lines for {steps} steps"
    assert all('"eventType": "COMPLETE"' in line or '"START"' in line for line in lines[:-1])
    assert sink.error is None and sink.unsent == 0, sink.error
    return elapsed / steps


def _step_events(steps: int) -> tuple[list[Event], RunFinished]:
    """The events of ``steps`` steps of ``clean`` (as the event bus hands them), and the end."""
    run_id = "20250101T000000-000000"
    start = datetime(2025, 1, 1, tzinfo=UTC)
    events: list[Event] = [RunStarted(run_id=run_id, at=start, tasks=steps)]
    for index in range(steps):
        day = (start + timedelta(days=index % 365)).date().isoformat()
        at = start + timedelta(seconds=index)
        common: dict[str, Any] = {
            "run_id": run_id,
            "at": at,
            "asset": "clean",
            "partition": day,
            "attempt": 1,
        }
        events.append(StepStarted(**common, partitions=(day,)))
        for check in ("not_null_value", "unique_day"):
            events.append(CheckEvaluated(**common, check_name=check, passed=True, severity="error"))
        events.append(
            PartitionPublished(
                **common,
                partition_key=day,
                materialization_id=index + 1,
                data_version=f"{index:016x}",
                rows=24,
                bytes=2_048,
                schema=SCHEMA,
                inputs=(Input("raw", day, f"{index:016x}"),),
            )
        )
        events.append(StepSucceeded(**common, started_at=at, duration_s=0.01))
    return events, RunFinished(run_id=run_id, at=start, status="succeeded", started_at=start)


def _sender_cpu(workdir: Path, steps: int, url: str) -> float:
    """CPU seconds of the sender process that sends ``steps`` steps' events to ``url``."""
    defs = write_chain_project(workdir / "sender_project", 365)
    project = api.load_project(file=defs)
    os.environ["OPENLINEAGE_URL"] = url
    try:
        (made,) = openlineage_subscribers(project)
        assert isinstance(made, ProcessSink), made
        # the same sink, waiting up to 60 s at the end (this measures CPU: the sender may
        # take its time); the one made above, started already, is dropped (its sender
        # reaped); made while the environment names the receiver (the sender reads it)
        sink = ProcessSink(
            made.settings, made.namespace, made.lineage, made.source_code, drain_s=60.0
        )
        del made
    finally:
        _clear_client_aliases()
    gc.collect()
    events, finished = _step_events(steps)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for event in events:
        sink(event)
    sink(finished)  # waits for the sender's report, then reaps it
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert sink.error is None and sink.sent == 2 * steps + 2, (sink.error, sink.sent)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _receiver() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}"


def _received(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.read())


def _clear_client_aliases() -> None:
    """Remove OPENLINEAGE_URL and the aliases the client writes into the environment."""
    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        del os.environ[key]


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Time W1 off, with a file and with HTTP (interleaved); time the sink alone."""
    steps = 200 if quick else 2_000
    days = 10 if quick else 365
    partitions = 3 * days
    expected = 2 * partitions + 2
    timings: dict[str, list[float]] = {"off": [], "file": [], "http": []}
    receiver, url = _receiver()
    try:
        for rep in range(3):
            _clear_client_aliases()
            timings["off"].append(backfill(workdir / f"off{rep}", days, "process")[0])
            target = workdir / f"file{rep}.jsonl"
            timings["file"].append(
                backfill(workdir / f"file{rep}", days, "process", openlineage_file=target)[0]
            )
            lines = len(target.read_text(encoding="utf-8").splitlines())
            assert lines == expected, f"{lines} events in the file, expected {expected}"
            before = _received(url)
            os.environ["OPENLINEAGE_URL"] = url
            timings["http"].append(backfill(workdir / f"http{rep}", days, "process")[0])
            _clear_client_aliases()
            deadline = time.monotonic() + 30
            while _received(url) - before < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            got = _received(url) - before
            assert got == expected, f"the receiver got {got} events, expected {expected}"
        senders = 1 if quick else 3  # each starts an interpreter: once is enough for a smoke test
        start_cpu = [_sender_cpu(workdir, 0, url) for _ in range(senders)]
        sender_cpu = [_sender_cpu(workdir, steps, url) for _ in range(senders)]
    finally:
        receiver.terminate()
        receiver.wait(10)
    per_step = [_sink_per_step(workdir, steps) for _ in range(3)]
    off, file, http = (statistics.median(timings[k]) for k in ("off", "file", "http"))
    overhead_ms = (file - off) / partitions * 1000
    ratio = http / off
    return {
        "w1_partitions": partitions,
        "w1_off_s": timings["off"],
        "w1_file_s": timings["file"],
        "w1_http_s": timings["http"],
        "overhead_per_step_file_ms": round(overhead_ms, 3),
        "file_target_met": overhead_ms < 1.0,
        "ratio_http": round(ratio, 3),
        "http_target_met": ratio <= 1.05,
        "sink_steps": steps,
        "sink_per_step_s": per_step,
        "sink_cpu_per_step_ms": round(statistics.median(per_step) * 1000, 3),
        "sender_start_cpu_s": start_cpu,
        "sender_cpu_s": sender_cpu,
        "sender_cpu_per_step_ms": round(
            (statistics.median(sender_cpu) - statistics.median(start_cpu)) / steps * 1000, 3
        ),
    }
