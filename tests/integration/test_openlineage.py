"""OpenLineage events of real runs: valid against the specification, sent over HTTP,
and never failing or stalling a run when the receiver is dead."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from partita import DailyPartitions, Definitions, RetryPolicy, asset, materialize
from tests.conftest import run_cli, write_project
from tests.openlineage_support import (
    closed_port,
    hanging_receiver,
    http10_receiver,
    read_events,
    receiver,
    spec_validator,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "shop_project"
"""The first example project (the shop's landing files), frozen for these tests."""


def _by_run(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    states: dict[str, list[str]] = defaultdict(list)
    for event in events:
        states[event["run"]["runId"]].append(event["eventType"])
    return states


@pytest.fixture(scope="module")
def example_events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A run of the frozen shop example (2 days) with --openlineage-file: its folder, events."""
    folder = tmp_path_factory.mktemp("ol") / "example_project"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".partita", "data"))
    subprocess.run(
        [sys.executable, "generate_landing.py"], cwd=folder, check=True, capture_output=True
    )
    args = ["materialize", "--from", "2025-01-01", "--to", "2025-01-02"]
    run_cli([*args, "--openlineage-file", "ol.jsonl"], folder, check=True)
    return folder, read_events(folder / "ol.jsonl")


def test_every_event_of_an_example_run_validates_against_the_spec(
    example_events: tuple[Path, list[dict[str, Any]]],
) -> None:
    validator = spec_validator()
    _, events = example_events
    assert len(events) > 10
    problems = [e for event in events for e in validator.errors(event)]
    assert problems == []
    facets = {
        name
        for event in events
        for part in ("run", "job")
        for name in (event[part].get("facets") or {})
    } | {
        name
        for event in events
        for dataset in event["outputs"] + event["inputs"]
        for kind in ("facets", "outputFacets", "inputFacets")
        for name in dataset.get(kind) or {}
    }
    assert {
        "parent",
        "nominalTime",
        "jobType",
        "sourceCode",
        "schema",
        "version",
        "outputStatistics",
        "subset",
        "dataQualityAssertions",
    } <= facets


def test_the_validator_rejects_what_the_spec_rejects() -> None:
    validator = spec_validator()
    bad = {
        "eventTime": "yesterday",
        "producer": "not a uri",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {
            "runId": "01a23748-92d4-7370-baf5-1d4675497717",
            "facets": {
                "nominalTime": {
                    "_producer": "https://example.com",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
                }
            },
        },
        "job": {"namespace": "n", "name": "j"},
    }
    errors = validator.errors(bad)
    assert any("eventTime" in e for e in errors)
    assert any("nominalStartTime" in e for e in errors)


def test_one_start_and_one_terminal_event_per_partition_with_the_partita_run_as_parent(
    example_events: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, events = example_events
    runs = _by_run(events)
    assert all(states == ["START", "COMPLETE"] for states in runs.values()), runs
    parent = next(e for e in events if e["job"]["name"] == "materialize")
    steps = [e for e in events if e["job"]["name"] != "materialize"]
    assert {e["run"]["facets"]["parent"]["run"]["runId"] for e in steps} == {parent["run"]["runId"]}
    assert events[0]["job"]["name"] == "materialize" and events[-1]["job"]["name"] == "materialize"
    # one job per asset, one run per partition: 4 assets x 2 days
    completes = [e for e in steps if e["eventType"] == "COMPLETE"]
    assert len({e["job"]["name"] for e in completes}) == 4
    assert len(completes) == 8


def test_datasets_are_one_per_asset_with_the_partition_in_the_subset(
    example_events: tuple[Path, list[dict[str, Any]]],
) -> None:
    folder, events = example_events
    done = [
        e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == "clean_orders"
    ]
    outputs = {(o["namespace"], o["name"]) for e in done for o in e["outputs"]}
    assert outputs == {("file", str((folder / ".partita" / "data" / "clean_orders").resolve()))}
    days = sorted(
        o["outputFacets"]["subset"]["outputCondition"]["partitions"][0]["dimensions"]["date"]
        for e in done
        for o in e["outputs"]
    )
    assert days == ["2025-01-01", "2025-01-02"]
    assert {e["run"]["facets"]["nominalTime"]["nominalStartTime"][:10] for e in done} == set(days)
    # inputs carry the exact upstream partition read, with its data version
    read = done[0]["inputs"][0]
    assert read["name"].endswith("raw_orders")
    condition = read["inputFacets"]["subset"]["inputCondition"]
    assert [p["identifier"] for p in condition["partitions"]] == [
        done[0]["outputs"][0]["outputFacets"]["subset"]["outputCondition"]["partitions"][0][
            "identifier"
        ]
    ]
    assert read["facets"]["version"]["datasetVersion"]


def test_export_replays_the_catalog_as_the_same_runs(
    example_events: tuple[Path, list[dict[str, Any]]],
) -> None:
    validator = spec_validator()
    folder, live = example_events
    result = run_cli(["lineage", "export", "--openlineage", "replay.jsonl"], folder, check=True)
    assert "18 OpenLineage events" in result.stdout
    replayed = read_events(folder / "replay.jsonl")
    assert [e for event in replayed for e in validator.errors(event)] == []
    assert _by_run(replayed) == _by_run(live)
    one = run_cli(
        ["lineage", "export", "--openlineage", "one.jsonl", "daily_revenue"], folder, check=True
    )
    assert "6 OpenLineage events" in one.stdout  # the run, and 2 partitions of one asset
    # the lineage of a partition still shows as before
    shown = run_cli(["lineage", "daily_revenue", "-p", "2025-01-02"], folder, check=True)
    assert "clean_orders" in shown.stdout


# -- over HTTP ------------------------------------------------------------------------

FAILING = """
from partita import DailyPartitions, Definitions, asset
import pandas as pd

daily = DailyPartitions(start="2025-01-01", end="2025-01-03")

@asset(partitions=daily)
def orders(context) -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2]})

@asset(partitions=daily)
def broken(orders: pd.DataFrame) -> pd.DataFrame:
    raise ValueError("the shop's export is malformed")

defs = Definitions(assets=[orders, broken])
"""


def test_http_transport_gets_start_before_the_end_and_fail_with_the_error(
    tmp_path: Path,
) -> None:
    validator = spec_validator()
    folder = write_project(tmp_path / "p", FAILING)
    with receiver() as got:
        (folder / "pyproject.toml").write_text(
            '[project]\nname = "demo"\n\n[tool.partita]\ndefinitions = "defs.py"\n\n'
            f'[tool.partita.openlineage]\nnamespace = "shop"\n'
            f'transport = {{ type = "http", url = "{got.url}" }}\n',
            encoding="utf-8",
        )
        result = run_cli(["materialize", "--executor", "thread"], folder)
    assert result.returncode == 1, result.stdout + result.stderr
    assert [e for event in got.events for e in validator.errors(event)] == []
    assert {e["job"]["namespace"] for e in got.events} == {"shop"}
    runs = _by_run(got.events)
    assert len(runs) == 1 + 4  # the Partita run, 2 days of orders, 2 of broken
    assert all(states[0] == "START" and len(states) == 2 for states in runs.values()), runs
    failed = [e for e in got.events if e["eventType"] == "FAIL"]
    assert {e["job"]["name"] for e in failed} == {"broken", "materialize"}
    step = next(e for e in failed if e["job"]["name"] == "broken")
    assert "the shop's export is malformed" in step["run"]["facets"]["errorMessage"]["message"]
    assert "ValueError" in (
        step["run"]["facets"]["errorMessage"]["message"]
        + step["run"]["facets"]["errorMessage"].get("stackTrace", "")
    )


daily = DailyPartitions(start="2025-01-01", end="2025-01-03")


@asset(partitions=daily)
def numbers() -> pd.DataFrame:
    return pd.DataFrame({"n": [1, 2]})


@asset(partitions=daily)
def doubled(numbers: pd.DataFrame) -> pd.DataFrame:
    return numbers * 2


def _run_against(url: str, tmp_path: Path) -> tuple[bool, float]:
    """A run with ``OPENLINEAGE_URL=url``: whether it succeeded, and how long it took."""
    os.environ["OPENLINEAGE_URL"] = url
    try:
        started = time.monotonic()
        result = materialize(Definitions(assets=[numbers, doubled]), home=tmp_path)
        return result.success, time.monotonic() - started
    finally:
        # the client writes aliases of OPENLINEAGE_URL into the environment: remove them too
        for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
            del os.environ[key]


@pytest.mark.parametrize("dead", [closed_port, hanging_receiver], ids=["closed", "hanging"])
def test_a_dead_receiver_neither_fails_nor_stalls_the_run(
    dead: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="partita.openlineage")
    with dead() as url:
        succeeded, took = _run_against(url, tmp_path)
    assert succeeded
    # a refused connection is an error at once (the plain HTTP path); a hanging
    # receiver times out after 5 s, and the sink stops waiting after 2 s on one event
    assert took < 8.0
    warnings = [r for r in caplog.records if r.name == "partita.openlineage"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "the run goes on" in warnings[0].getMessage()
    if dead is closed_port:
        assert f"the connection to {url}/api/v1/lineage was refused" in warnings[0].getMessage()


def test_a_run_posts_each_event_once_to_an_http10_receiver(tmp_path: Path) -> None:
    # HTTP/1.0 answers without Content-Length (BaseHTTPRequestHandler's default): the
    # body ends with the connection, and the event counts as delivered
    with http10_receiver() as got:
        succeeded, _ = _run_against(got.url, tmp_path)
    assert succeeded
    texts = [json.dumps(event, sort_keys=True) for event in got.events]
    assert len(texts) == len(set(texts)) == 10  # START and an end for the run and 4 steps


def test_a_retried_step_is_one_openlineage_run_ending_once(tmp_path: Path) -> None:
    validator = spec_validator()
    marker = tmp_path / "failed_once"

    @asset(retry=RetryPolicy(max_attempts=2, delay=0.0, jitter=False))
    def flaky() -> pd.DataFrame:
        if not marker.exists():
            marker.write_text("x", encoding="utf-8")
            raise RuntimeError("the first attempt fails")
        return pd.DataFrame({"n": [1]})

    target = tmp_path / "ol.jsonl"
    result = materialize(
        Definitions(assets=[flaky]), home=tmp_path / "home", openlineage_file=target
    )
    assert result.success
    events = read_events(target)
    assert [e for event in events for e in validator.errors(event)] == []
    steps = [e for e in events if e["job"]["name"] == "flaky"]
    assert [e["eventType"] for e in steps] == ["START", "COMPLETE"]
    assert len({e["run"]["runId"] for e in steps}) == 1
    assert "nominalTime" not in steps[1]["run"]["facets"]  # unpartitioned
    assert "subset" not in steps[1]["outputs"][0].get("outputFacets", {})


def test_a_sql_asset_has_its_query_and_column_lineage_in_valid_events(tmp_path: Path) -> None:
    from partita import schema, sql_asset  # noqa: PLC0415

    days = DailyPartitions(start="2025-01-01", end="2025-01-03")  # two days

    @asset(partitions=days, checks=[schema({"customer": "string", "amount": "double"})])
    def orders(context: Any) -> pd.DataFrame:
        return pd.DataFrame({"customer": ["ann", "bob"], "amount": [1.5, 2.5]})

    revenue = sql_asset(
        "revenue",
        """
        SELECT customer, sum(amount) AS total, count(*) AS n
        FROM orders GROUP BY customer  -- per customer and day
        """,
        partitions=days,
    )
    path = tmp_path / "ol.jsonl"
    result = materialize(
        Definitions(assets=[orders, revenue]),
        home=tmp_path / "home",
        openlineage_file=path,
        executor="inprocess",
    )
    assert result.counts == {"succeeded": 4}, result.counts
    events = read_events(path)
    validator = spec_validator()
    assert [e for event in events for e in validator.errors(event)] == []
    sql_events = [e for e in events if e["job"]["name"] == "revenue"]
    assert {e["job"]["facets"]["sql"]["query"] for e in sql_events} == {
        revenue.sql_model.query  # type: ignore[union-attr]
    }
    completed = [e for e in sql_events if e["eventType"] == "COMPLETE"]
    assert len(completed) == 2
    (output,) = completed[0]["outputs"]
    fields = output["facets"]["columnLineage"]["fields"]
    orders_dataset = completed[0]["inputs"][0]["name"]

    def sources(column: str) -> list[tuple[str, str]]:
        return [(f["name"], f["field"]) for f in fields[column]["inputFields"]]

    assert sources("customer") == [(orders_dataset, "customer")]
    assert sources("total") == [(orders_dataset, "amount")]
    assert set(fields) == {"customer", "total", "n"}
