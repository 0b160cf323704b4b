"""Pipeline 2 of the example project, Marketing ROI, end to end through the CLI.

The pipeline is built alone (``-f pipelines/marketing_roi.py``) from the generated
exports: the two extracts run side by side, the SQL join computes ROI from both,
the dashboard page follows; then a broken ad platform export fails a blocking
check, the marketing team is notified, and the published data stay as they were.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.example_support import copy_example, run_script, warehouse

PIPELINE = ["-f", "pipelines/marketing_roi.py"]


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["campaign"]: row for row in csv.DictReader(handle)}


@pytest.mark.slow
def test_marketing_roi_runs_end_to_end_and_notifies_the_team_of_a_failure(
    tmp_path: Path,
) -> None:
    folder = copy_example(tmp_path)
    run_script(folder, "services/marketing_exports.py")
    built = run_cli([*PIPELINE, "materialize", "--openlineage-file", "ol.jsonl"], folder)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "built 43 partitions in 43 tasks" in built.stdout  # 3 x 14 days + the dashboard

    # the extracts do not wait for each other (so they run side by side); the join
    # waits for both
    graph = json.loads(run_cli([*PIPELINE, "graph", "--format", "json"], folder).stdout)
    upstream = {node["key"]: node["upstream"] for node in graph["nodes"]}
    assert upstream["marketing/ad_spend"] == ["marketing/ad_platform_export"]
    assert upstream["marketing/campaign_sales"] == ["marketing/attribution_export"]
    assert sorted(upstream["marketing/roi"]) == ["marketing/ad_spend", "marketing/campaign_sales"]
    events = [json.loads(line) for line in (folder / "ol.jsonl").read_text().splitlines()]
    inputs = {
        dataset["name"].rsplit(".", 1)[-1]
        for event in events
        if event["eventType"] == "COMPLETE" and event["job"]["name"].endswith("roi")
        for dataset in event["inputs"]
    }
    assert inputs == {"ad_spend", "campaign_sales"}

    # the join: ROI per campaign and day from both exports
    spend = _rows(folder / "data/marketing/ad_platform/2025-01-04.csv")
    attributed = _rows(folder / "data/marketing/attribution/2025-01-04.csv")
    roi = warehouse(
        folder,
        "SELECT campaign, spend, revenue, roi FROM marketing.roi "
        "WHERE date = '2025-01-04' ORDER BY campaign",
    )
    assert [row[0] for row in roi] == sorted(spend)
    for campaign, cost, revenue, value in roi:
        assert cost == pytest.approx(float(spend[str(campaign)]["spend"]))
        assert revenue == pytest.approx(float(attributed[str(campaign)]["revenue"]))
        assert value == pytest.approx((revenue - cost) / cost, abs=0.001)
    warned = json.loads(run_cli([*PIPELINE, "checks", "--failed", "--json"], folder).stdout)
    assert warned["checks"], "the warning check (a campaign losing money) never fired"
    assert {(c["asset"], c["severity"]) for c in warned["checks"]} == {("marketing/roi", "warn")}

    # the dashboard page, refreshed after the join
    page = (folder / "data/reports/marketing/dashboard.html").read_text(encoding="utf-8")
    assert all(campaign in page for campaign in spend)
    totals = warehouse(folder, "SELECT campaign, spend FROM marketing.dashboard ORDER BY 1")
    all_spend = warehouse(folder, "SELECT campaign, sum(spend) FROM marketing.ad_spend GROUP BY 1")
    assert totals == sorted((c, pytest.approx(s)) for c, s in all_spend)

    # a negative spend fails a blocking check: not published, the team is told
    published = "SELECT * FROM marketing.ad_spend WHERE date = '2025-01-10' ORDER BY campaign"
    before = warehouse(folder, published)
    run_script(folder, "services/marketing_exports.py", "--bad-spend", "2025-01-10")
    failed = run_cli([*PIPELINE, "materialize"], folder)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "marketing/ad_spend[2025-01-10]" in failed.stdout
    assert warehouse(folder, published) == before
    notified = (folder / "data/notifications/marketing.jsonl").read_text().splitlines()
    assert [(a["asset"], a["partition"], a["kind"]) for a in map(json.loads, notified)] == [
        ("marketing/ad_spend", "2025-01-10", "step_failed")
    ]
