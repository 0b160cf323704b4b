"""`make demo` keeps working: the example project's tour runs end to end.

The script runs as `make demo` runs it (bash, the installed `partita`), on a
copy of example_project/ in a temporary folder, so the repository is untouched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_blocks import page_blocks, run_session
from tests.integration.example_support import copy_example, warehouse

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "example_project.md"


def _demo(folder: Path, partita: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("ORDERS_API_URL", None)
    return subprocess.run(
        ["bash", str(folder / "run_demo.sh"), str(partita)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_the_demo_tour_runs_end_to_end(tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    result = _demo(folder, Path(sys.executable).with_name("partita"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out, progress = result.stdout, result.stderr
    # the flaky orders API was retried, and everything was built
    assert "retrying sales/raw_orders[2025-01-03]" in progress
    assert (folder / "data/reports/sales/2025-01-14.html").exists()
    assert (folder / "data/reports/sales/2025-01-14.png").exists()
    assert (folder / "data/reports/marketing/dashboard.html").exists()
    assert warehouse(folder, "SELECT count(DISTINCT date) FROM sales.daily_report") == [(14,)]
    events = (folder / "data/openlineage.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(events) > 100 and f"{len(events)} OpenLineage events" in out
    # the lineage of one report partition: seven days of revenue, down to the API
    assert "sales/daily_report 2025-01-09: built from" in out
    assert "sales/orders_api 2025-01-03" in out
    # freshness: the report is late today, and the sales team was told once
    alerts = (folder / "data/notifications/sales.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(a)["kind"] for a in alerts] == ["freshness_violated"]
    # the late correction: the API's version of 2025-01-07 changed, and only that day
    # and the seven reports charting it were rebuilt
    assert "sales/orders_api 2025-01-07: data version" in out
    assert re.search(r"sales/daily_report +2025-01-07\.\.2025-01-13 \(7\)", out)
    assert "built 10 partitions in 10 tasks" in out
    assert "Nothing to do: every selected partition is up to date." in out
    # retail: a late correction of one day-region rebuilds that day-region, the day's
    # totals and BI note and the region's week
    assert re.search(r"retail/daily_sales +2025-01-08\|north \(1\)", out)
    assert "4 partitions of 4 assets to build" in out
    notes = (folder / "data/notifications/bi.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(notes[-1])["day"] == "2025-01-08"
    # halting: the recount's bad row blocks 2025-01-09; its report stays the first build's
    assert "inventory/stock[2025-01-09]: check_failed: no_negative_stock" in out
    report = (folder / "data/reports/inventory/2025-01-09.md").read_text(encoding="utf-8")
    first_run = re.findall(r"run (\d{8}T\d{6}-[0-9a-f]{6}) succeeded", out)[0]
    assert f"built by run {first_run}" in report
    ops = (folder / "data/notifications/store-ops.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(ops) == 1 and "2025-01-09" in ops[0]
    # the API was stopped at the end
    assert not (folder / "data/orders_api/address").exists()  # removed by the server on exit
    assert "partita ui" in out.rsplit("# Try next", 1)[1]
    # the commands docs/example_project.md gives to try after the demo run as shown
    tried = [b for b in page_blocks(DOCS_PAGE.read_text(encoding="utf-8")) if b.commands]
    assert len(tried) == 1 and len(tried[0].commands) >= 5
    run_session(tried[0], folder, f"docs/example_project.md[line {tried[0].line}]")


def test_the_demo_stops_the_orders_api_when_a_step_fails(tmp_path: Path) -> None:
    """A failing `partita` stops the tour with its error, and the API with it (the trap)."""
    folder = copy_example(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    fake = bin_dir / "partita"
    fake.write_text("#!/bin/sh\necho 'partita: broken on purpose' >&2\nexit 3\n")
    fake.chmod(0o755)
    result = _demo(folder, fake)
    assert result.returncode == 3
    assert "broken on purpose" in result.stderr
    assert "ORDERS_API_URL=http://127.0.0.1:" in result.stdout  # it had started
    assert not (folder / "data/orders_api/address").exists()  # and was stopped
