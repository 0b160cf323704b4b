"""EventJson writes, for every kind of event Partita makes, the text Serde.to_json writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import attr
import pytest
from openlineage.client.event_v2 import RunEvent
from openlineage.client.serde import Serde

from partita.openlineage.facets import CheckResult
from partita.openlineage.lineage import AssetLineage
from partita.openlineage.runs import EventBuilder, ParentRun, Written
from partita.openlineage.serialize import EventJson
from partita.partitions import DailyPartitions, MultiPartitions, StaticPartitions
from partita.records import Input

DAILY = DailyPartitions(start="2025-01-01")
REGIONS = MultiPartitions({"date": DAILY, "region": StaticPartitions(["eu", "us"])})
SCHEMA = json.dumps([{"name": "day", "type": "string"}, {"name": "amount", "type": "double"}])
AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _events() -> list[RunEvent]:
    assets = {
        "orders": AssetLineage(
            "orders", ("file", "/data/orders"), DAILY, lambda: "def orders(): ..."
        ),
        "by_region": AssetLineage(
            "by_region", ("duckdb://db", "main.by_region"), REGIONS, upstream=("orders",)
        ),
        "total": AssetLineage(
            "total",
            ("shop", "total"),
            None,
            sql=("SELECT SUM(amount) AS amount FROM orders", "duckdb"),
            upstream=("orders",),
            columns=(("amount", (("orders", "amount"),)),),
        ),
    }
    builder = EventBuilder("shop", assets)
    parent = ParentRun("20250102T030405-000001", AT)
    checks = [
        CheckResult("not_null_amount", True),
        CheckResult("positive", False, "warn", "2 rows", failing_rows=2, total_rows=10),
    ]
    written = Written(
        "abc123", rows=10, bytes=2048, schema=SCHEMA, inputs=(Input("orders", "2025-01-01", "v1"),)
    )
    events = [builder.run_started(parent, AT)]
    for asset, key in (("orders", "2025-01-01"), ("by_region", "2025-01-01|eu"), ("total", None)):
        events.append(builder.step_started(parent, asset, key, AT))
        events.append(builder.step_completed(parent, asset, key, AT, written, checks))
        events.append(builder.step_completed(parent, asset, key, AT, None))
        events.append(
            builder.step_failed(parent, asset, key, AT, "ValueError: bad\n  trace", checks)
        )
        events.append(builder.step_aborted(parent, asset, key, AT))
    events.append(builder.run_finished(parent, AT, "failed", "2 steps failed"))
    events.append(builder.run_finished(parent, AT, "succeeded"))
    return events


@pytest.mark.parametrize("validators", [True, False], ids=["validated", "not-validated"])
def test_the_text_is_serdes_for_every_kind_of_event(validators: bool) -> None:
    was = attr.validators.get_disabled()
    attr.validators.set_disabled(not validators)  # as the sender process builds them
    try:
        events = _events()
    finally:
        attr.validators.set_disabled(was)
    to_json = EventJson()
    for _ in range(2):  # the second time, the shared facets come from what was converted
        for event in events:
            assert to_json(event) == Serde.to_json(event)


def test_a_full_memory_of_shared_facets_starts_afresh() -> None:
    to_json = EventJson(shared=2)
    for event in _events():
        assert to_json(event) == Serde.to_json(event)
        assert len(to_json._converted) <= 2
