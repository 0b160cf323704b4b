"""The sender's plain HTTP path: the events it builds without the client are the
client's, text for text; it is taken only where the client would do nothing but post;
and its posts reach a real receiver, errors raise, retried statuses are retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openlineage.client.uuid import generate_static_uuid

from partita import DailyPartitions, Definitions, asset
from partita.api.openlineage import openlineage_subscribers
from partita.api.project import as_project
from partita.events import (
    PartitionPublished,
    RunFinished,
    RunStarted,
    StepStarted,
    StepSucceeded,
)
from partita.openlineage.config import OpenLineageSettings
from partita.openlineage.lineage import AssetLineage
from partita.openlineage.plain import PlainEventBuilder
from partita.openlineage.plain_http import PlainHttp, PlainTarget, plain_http_target
from partita.openlineage.runs import EventBuilder
from partita.openlineage.sender import ProcessSink
from partita.openlineage.serialize import EventJson
from partita.openlineage.steps import CheckResult, ParentRun, Written, static_uuid
from partita.partitions import MultiPartitions, StaticPartitions
from partita.records import Input
from tests.openlineage_support import (
    closed_port,
    http10_receiver,
    receiver,
    scripted_receiver,
    spec_validator,
)

DAILY = DailyPartitions(start="2025-01-01")
LINEAGE = {
    "clean": AssetLineage(
        key="clean",
        dataset=("shop", "clean"),
        partitions=DAILY,
        upstream=("raw", "multi"),
        source_code=lambda: "def clean(raw): ...",
        sql=("select * from raw", "duckdb"),
        columns=(("a", (("raw", "a"),)), ("b", (("raw", "x"), ("multi", "y")))),
    ),
    "multi": AssetLineage(
        key="multi",
        dataset=("s3://bucket", "multi"),
        partitions=MultiPartitions({"date": DAILY, "region": StaticPartitions(["eu", "us"])}),
        upstream=("raw",),
    ),
    "single": AssetLineage(key="single", dataset=("shop", "single")),
}


def _calls() -> list[tuple[str, tuple[Any, ...]]]:
    parent = ParentRun("20250101T000000-000001", datetime(2025, 1, 1, tzinfo=UTC))
    at = datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    written = Written(
        "d1",
        24,
        2048,
        json.dumps([{"name": "day", "type": "string"}, {"name": "untyped"}]),
        (Input("raw", "2025-01-03", "v1"), Input("multi", "2025-01-03|eu", "v2")),
    )
    checks = [CheckResult("c", True, "error", "ok", 0, 24), CheckResult("d", False, "warn")]
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("run_started", (parent, at)),
        ("run_finished", (parent, at, "failed", "boom\ntrace")),
        ("run_finished", (parent, at, "succeeded")),
        ("run_finished", (parent, at, "cancelled")),
    ]
    for key_asset, key in [
        ("clean", "2025-01-03"),
        ("multi", "2025-01-03|eu"),
        ("multi", "not-a-key"),
        ("single", None),
        ("unknown", "p"),
    ]:
        calls += [
            ("step_started", (parent, key_asset, key, at)),
            ("step_completed", (parent, key_asset, key, at, written, checks)),
            ("step_completed", (parent, key_asset, key, at, None)),
            ("step_completed", (parent, key_asset, key, at, Written(""))),
            ("step_failed", (parent, key_asset, key, at, "boom\n  at line 1", checks[:1])),
            ("step_aborted", (parent, key_asset, key, at)),
        ]
    return calls


def test_the_plain_events_are_the_clients_text_for_text() -> None:
    client, plain, text = (
        EventBuilder("shop", LINEAGE),
        PlainEventBuilder("shop", LINEAGE),
        EventJson(),
    )
    validator = spec_validator()
    for name, args in _calls():
        expected = text(getattr(client, name)(*args))
        made = getattr(plain, name)(*args)
        assert json.dumps(made, sort_keys=True) == expected, name
        assert validator.errors(made) == [], name


def test_static_uuids_are_the_clients() -> None:
    for moment in (
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2026, 7, 3, 12, 30, 1, 5, tzinfo=UTC),
    ):
        for data in (b"", b"run\0asset\0p"):
            assert static_uuid(moment, data) == generate_static_uuid(moment, data)


def _target(
    env: dict[str, str], cwd: Path, transport: dict[str, Any] | None = None
) -> PlainTarget | None:
    settings = OpenLineageSettings(namespace="shop", transport=transport, project_name="shop")
    return plain_http_target(settings, env, cwd)


def test_the_plain_path_is_taken_only_where_the_client_would_just_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    url = "http://127.0.0.1:5000"
    assert _target({"OPENLINEAGE_URL": url}, tmp_path) == PlainTarget(f"{url}/api/v1/lineage")
    keyed = {"OPENLINEAGE_URL": url, "OPENLINEAGE_ENDPOINT": "e", "OPENLINEAGE_API_KEY": "k"}
    assert _target(keyed, tmp_path) == PlainTarget(f"{url}/e", api_key="k")
    table = {"type": "http", "url": url, "timeout": 2, "auth": {"type": "api_key", "apiKey": "t"}}
    assert _target({}, tmp_path, table) == PlainTarget(f"{url}/api/v1/lineage", 2.0, "t")
    # anything more goes through the client
    assert _target({"OPENLINEAGE_URL": "https://example.com"}, tmp_path) is None
    assert _target({"OPENLINEAGE_URL": url, "OPENLINEAGE__FACETS__X": "1"}, tmp_path) is None
    assert _target({}, tmp_path, {**table, "compression": "gzip"}) is None
    assert _target({}, tmp_path, {"type": "kafka", "url": url}) is None
    with monkeypatch.context() as proxied:
        proxied.setenv("http_proxy", "http://proxy.example:3128")
        assert _target({"OPENLINEAGE_URL": "http://lineage.example"}, tmp_path) is None
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert _target({"OPENLINEAGE_URL": url}, tmp_path) is None
    # a git repository with an origin: the plain path adds the client's
    # sourceCodeLocation facet itself (test below)
    project = tmp_path / "repo" / "project"
    project.mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    (tmp_path / "repo" / ".git" / "config").write_text(
        '[remote "origin"]\nurl = https://example.com/shop.git\n'
    )
    assert _target({"OPENLINEAGE_URL": url}, project) is not None


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_in_a_git_repository_the_client_adds_nothing_the_plain_events_lack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's sourceCodeLocation facet is off unless configured (and any client
    configuration takes the client's path), so a project in a git repository with an
    origin gets the same events from both paths."""
    from openlineage.client import OpenLineageClient  # noqa: PLC0415

    repo = tmp_path / "shop"
    (repo / "pipelines").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", "https://example.com/shop.git")
    (repo / "defs.py").write_text("defs = None\n")
    _git(repo, "add", "defs.py")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "first")
    monkeypatch.chdir(repo / "pipelines")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(name)
    assert _target({"OPENLINEAGE_URL": "http://127.0.0.1:5000"}, Path.cwd()) is not None
    client = OpenLineageClient()
    builder, plain, text = (
        EventBuilder("shop", LINEAGE),
        PlainEventBuilder("shop", LINEAGE),
        EventJson(),
    )
    for name, args in _calls():
        expected = text(client.add_source_code_location_facet(getattr(builder, name)(*args)))
        assert json.dumps(getattr(plain, name)(*args), sort_keys=True) == expected, name


def test_plain_posts_reach_the_receiver_and_errors_raise() -> None:
    event = PlainEventBuilder("shop", LINEAGE).step_started(*_calls()[4][1])
    with receiver() as got:
        sender = PlainHttp(PlainTarget(f"{got.url}/api/v1/lineage", api_key="s3cret"))
        sender.emit(event)
        sender.emit(event)
        assert got.events == [event, event]
        assert got.headers[0]["Authorization"] == "Bearer s3cret"
        assert got.headers[0]["Content-Type"] == "application/json"
        got.status = 400
        with pytest.raises(Exception, match=r"400 Bad Request from http://127\.0\.0\.1"):
            sender.emit(event)
        sender.close()


def _numbered(count: int) -> list[dict[str, Any]]:
    event = PlainEventBuilder("shop", LINEAGE).step_started(*_calls()[4][1])
    return [{**event, "eventTime": f"2025-01-02T03:04:{n:02d}Z"} for n in range(count)]


def test_an_http10_receiver_closing_its_answers_gets_each_event_once() -> None:
    events = _numbered(10)
    with http10_receiver() as got:
        sender = PlainHttp(PlainTarget(f"{got.url}/api/v1/lineage"))
        for event in events:
            sender.emit(event)
        sender.close()
    assert got.events == events  # ten posts, each body once, in order


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n{}",  # cut short
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=["body-cut-short", "chunked", "continue-then-ok"],
)
def test_an_event_answered_2xx_is_never_sent_again(answer: bytes) -> None:
    events = _numbered(3)
    with scripted_receiver(answer, close=True) as got:
        sender = PlainHttp(PlainTarget(f"{got.url}/api/v1/lineage"))
        for event in events:
            sender.emit(event)
        sender.close()
    assert got.events == events


def test_an_event_is_sent_again_when_the_kept_alive_connection_was_closed() -> None:
    # HTTP/1.1 and a Content-Length: the connection looks reusable, but the receiver
    # closes it after each answer, so the next post breaks before any status line
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    events = _numbered(3)
    with scripted_receiver(answer, close=True) as got:
        sender = PlainHttp(PlainTarget(f"{got.url}/api/v1/lineage"))
        for event in events:
            time.sleep(0.05)  # the receiver's close has arrived
            sender.emit(event)
        sender.close()
    assert got.events == events


def test_no_answer_in_time_is_an_error_and_the_event_is_not_sent_again() -> None:
    (event,) = _numbered(1)
    with scripted_receiver(b"", close=False) as got:
        sender = PlainHttp(PlainTarget(f"{got.url}/api/v1/lineage", timeout=0.3))
        with pytest.raises(TimeoutError, match=r"did not answer within 0\.3 s"):
            sender.emit(event)
        sender.close()
    assert got.events == [event]


def test_a_refused_connection_is_said_at_once_with_the_url() -> None:
    (event,) = _numbered(1)
    with closed_port() as url:
        sender = PlainHttp(PlainTarget(f"{url}/api/v1/lineage"))
        began = time.monotonic()
        with pytest.raises(ConnectionRefusedError, match=f"{url}/api/v1/lineage was refused"):
            sender.emit(event)
        assert time.monotonic() - began < 1.0  # no retries with back-off


def test_the_plain_sender_imports_neither_the_client_nor_pyarrow() -> None:
    code = (
        "import sys, partita.openlineage.sender_child, partita.openlineage.plain\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'openlineage', 'pyarrow', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@asset(partitions=DailyPartitions(start="2025-01-01", end="2025-01-03"))
def daily_numbers() -> pd.DataFrame:
    """A partitioned asset for the sink below (its steps' events are made by hand)."""
    return pd.DataFrame({"n": [1]})


def _ready_sink(
    tmp_path: Path, settings: OpenLineageSettings | None, **options: Any
) -> ProcessSink:
    """A started sender for ``daily_numbers`` (with ``OPENLINEAGE_URL``'s settings, or
    ``settings``), once it has said it is ready."""
    project = as_project(Definitions(assets=[daily_numbers]), tmp_path)
    (made,) = openlineage_subscribers(project)
    assert isinstance(made, ProcessSink)
    if settings is not None:
        os.environ.pop("OPENLINEAGE_URL")  # only the project's settings say where
    sink = ProcessSink(settings or made.settings, made.namespace, made.lineage, {}, **options)
    del made
    sink.start()
    channel = sink._channel
    assert channel is not None
    deadline = time.monotonic() + 20
    while not channel.ready:
        assert time.monotonic() < deadline, "the sender did not start within 20 s"
        time.sleep(0.02)
    return sink


START = datetime(2025, 1, 1, tzinfo=UTC)


def _steps(sink: ProcessSink) -> None:
    """Two steps of ``daily_numbers``, the second reading an upstream partition."""
    sink(RunStarted(run_id="r1", at=START, tasks=2))
    for day in ("2025-01-01", "2025-01-02"):
        step = {"run_id": "r1", "at": START, "asset": "daily_numbers", "partition": day}
        sink(StepStarted(**step, attempt=1, partitions=(day,)))
        sink(
            PartitionPublished(
                **step,
                attempt=1,
                partition_key=day,
                materialization_id=1,
                data_version="d1",
                rows=1,
                inputs=(Input("upstream", day, "v1"),),
            )
        )
        sink(StepSucceeded(**step, attempt=1, started_at=START, duration_s=0.1))


def _read_upstream_versions(events: list[dict[str, Any]]) -> list[str]:
    return [
        dataset["facets"]["version"]["datasetVersion"]
        for event in events
        if event["eventType"] == "COMPLETE"
        for dataset in event["inputs"]
        if dataset["name"] == "upstream"
    ]


def test_the_runs_end_wakes_a_sender_reading_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no git repository: the plain path
    with receiver() as got:
        monkeypatch.setenv("OPENLINEAGE_URL", got.url)
        # a pause far longer than the wait at the run's end: only the wake-up ends it
        sink = _ready_sink(tmp_path, None, pause_s=60.0)
        _steps(sink)
        time.sleep(0.2)  # the sender is in its pause
        began = time.monotonic()
        sink(RunFinished(run_id="r1", at=START, status="succeeded", started_at=START))
        waited = time.monotonic() - began
        assert (sink.sent, sink.unsent, sink.error) == (6, 0, None)
        assert waited < sink.drain_s - 1, waited
        assert [e["eventType"] for e in got.events].count("COMPLETE") == 3
        assert _read_upstream_versions(got.events) == ["v1", "v1"]
        # posted by PlainHttp: http.client (the client's path) adds an Accept-Encoding
        assert all("Accept-Encoding" not in headers for headers in got.headers)


def test_a_sender_configured_beyond_plain_http_sends_through_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    with receiver() as got:
        monkeypatch.setenv("OPENLINEAGE_URL", got.url)
        transport = {"type": "http", "url": got.url, "custom_headers": {"X-Team": "data"}}
        settings = OpenLineageSettings(namespace="shop", transport=transport)
        sink = _ready_sink(tmp_path, settings)
        _steps(sink)
        sink(RunFinished(run_id="r1", at=START, status="succeeded", started_at=START))
        assert (sink.sent, sink.unsent, sink.error) == (6, 0, None)
        assert {headers["X-Team"] for headers in got.headers} == {"data"}  # the client's
        assert all("Accept-Encoding" in headers for headers in got.headers)
        assert _read_upstream_versions(got.events) == ["v1", "v1"]
        validator = spec_validator()
        assert [e for event in got.events for e in validator.errors(event)] == []
