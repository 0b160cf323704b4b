"""Pipeline 1 of the example project, Daily sales, end to end through the CLI.

Six days of January 2025 are built alone (``-f pipelines/daily_sales.py``) against the
demo's flaky orders API (a real server on a free port): the retries, the warehouse's
rows, the report pages, the schedule, then a late correction of one day and what it
rebuilds, and the freshness alert to the sales team.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import run_cli
from tests.integration.example_support import (
    copy_example,
    orders_api,
    run_script,
    warehouse,
)

PIPELINE = ["-f", "pipelines/daily_sales.py"]
WEEK = ["--from", "2025-01-01", "--to", "2025-01-06"]


def api_module(folder: Path) -> ModuleType:
    """The copy's services/orders_api.py, to compute what the API serves."""
    spec = importlib.util.spec_from_file_location("orders_api", folder / "services/orders_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_daily_sales_runs_end_to_end_with_retries_report_and_a_late_correction(
    tmp_path: Path,
) -> None:
    folder = copy_example(tmp_path)
    api = api_module(folder)
    with orders_api(folder):
        built = run_cli([*PIPELINE, "materialize", *WEEK], folder)
        assert built.returncode == 0, built.stdout + built.stderr
        # the API answers 503 to the first request of the 3rd and 6th: retried, then built
        for day in ("2025-01-03", "2025-01-06"):
            assert f"retrying sales/raw_orders[{day}]" in built.stderr  # the progress lines
        assert "503 Service Unavailable" in built.stderr
        assert "built 24 partitions in 24 tasks" in built.stdout  # 4 assets x 6 days
        runs = json.loads(run_cli([*PIPELINE, "runs", "--json"], folder, check=True).stdout)
        assert runs["runs"][0]["retries"] == 2

        # the warehouse holds exactly the paid orders the API served, one partition a day
        paid = {
            day: [o for o in api.orders(day) if o["status"] == "paid" and o["amount"] > 0]
            for day in (f"2025-01-0{i}" for i in range(1, 7))
        }
        rows = warehouse(
            folder, "SELECT date, count(*) FROM sales.clean_orders GROUP BY date ORDER BY date"
        )
        assert rows == [(day, len(orders)) for day, orders in paid.items()]
        revenue = warehouse(
            folder, "SELECT sum(revenue) FROM sales.daily_revenue WHERE date = '2025-01-05'"
        )[0][0]
        expected = sum(o["amount"] - o["discount"] for o in paid["2025-01-05"])
        assert revenue == pytest.approx(expected, abs=0.05)

        # the report of a day: its row in the warehouse, its page and its chart
        report = warehouse(
            folder,
            "SELECT orders, revenue, page FROM sales.daily_report WHERE date = '2025-01-06'",
        )
        assert report == [
            (
                len(paid["2025-01-06"]),
                pytest.approx(_net(paid["2025-01-06"]), abs=0.05),
                report[0][2],
            )
        ]
        page = folder / str(report[0][2])
        assert page == folder / "data/reports/sales/2025-01-06.html"
        assert '<img src="2025-01-06.png"' in page.read_text(encoding="utf-8")
        chart = page.with_suffix(".png").read_bytes()
        assert chart.startswith(b"\x89PNG\r\n\x1a\n") and len(chart) > 10_000

        # a late correction of 2025-01-03: that day, and the reports whose 7 days cover it
        run_script(folder, "services/orders_api.py", "correct", "2025-01-03")
        plan = json.loads(run_cli([*PIPELINE, "plan", *WEEK, "--json"], folder, check=True).stdout)
        stale = {step["asset"]: step["partitions"]["ranges"] for step in plan["steps"]}
        assert stale == {
            "sales/raw_orders": [["2025-01-03", "2025-01-03"]],
            "sales/clean_orders": [["2025-01-03", "2025-01-03"]],
            "sales/daily_revenue": [["2025-01-03", "2025-01-03"]],
            "sales/daily_report": [["2025-01-03", "2025-01-06"]],
        }
        rebuilt = run_cli([*PIPELINE, "materialize", *WEEK], folder)
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "built 7 partitions in 7 tasks" in rebuilt.stdout
        corrected = [o for o in api.orders("2025-01-03", corrected=True) if o["status"] == "paid"]
        assert warehouse(
            folder, "SELECT count(*) FROM sales.clean_orders WHERE date = '2025-01-03'"
        ) == [(len([o for o in corrected if o["amount"] > 0]),)]
        assert len(corrected) == len(paid["2025-01-03"]) - 3  # three orders refunded

        # rerun only one day's report: one step, nothing upstream fetched or rebuilt again
        page = folder / "data/reports/sales/2025-01-05.html"
        before = page.stat().st_mtime_ns
        one = [*PIPELINE, "materialize", "sales/daily_report", "--partition", "2025-01-05"]
        rerun = run_cli([*one, "--force"], folder)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "built 1 partition in 1 task" in rerun.stdout
        assert page.stat().st_mtime_ns > before
        history = [*PIPELINE, "history", "sales/raw_orders", "-p", "2025-01-05", "--json"]
        assert len(json.loads(run_cli(history, folder, check=True).stdout)["materializations"]) == 1

    # the 02:00 schedule, and the freshness alert to the sales team (the data are old)
    schedules = json.loads(run_cli([*PIPELINE, "schedules", "--json"], folder, check=True).stdout)
    assert [(s["name"], s["cron"]) for s in schedules] == [("daily_sales", "0 2 * * *")]
    late = run_cli([*PIPELINE, "freshness", "--alert", "sales/daily_report"], folder)
    assert late.returncode == 1, late.stdout + late.stderr
    alerts = (folder / "data/notifications/sales.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["kind"] for line in alerts] == ["freshness_violated"]
    assert json.loads(alerts[0])["asset"] == "sales/daily_report"


def _net(orders: list[dict[str, float]]) -> float:
    return sum(o["amount"] - o["discount"] for o in orders)
