"""Which check results ``partita checks`` / ``history`` / ``lineage`` show (issue 12, item 4).

As a user runs them (``partita`` subprocesses in a temporary project with real
Parquet files and a real SQLite catalog): a re-check of older published data
by ``partita check`` does not hide the failing result of a newer build
attempt; a check removed from the code is no longer listed (``--all`` shows it
marked removed); ``history`` counts the results of the build that produced a
materialization, and its re-check apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli, write_project

PROJECT = """
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.checks import CheckResult, check, in_range, not_null, unique
from partita.definitions import Definitions

HERE = Path(__file__).parent


@asset(checks=[not_null("order_id"), unique("order_id"), in_range("amount", min=0)])
def orders() -> pd.DataFrame:
    dupes = (HERE / "dupes").exists()
    return pd.DataFrame({"order_id": [1, 1, 3] if dupes else [1, 2, 3], "amount": [1.0, 2.0, 3.0]})


@check(asset="orders", severity="warn")
def legacy_rule(orders: pd.DataFrame) -> CheckResult:
    return CheckResult(passed=False, message="an old rule nobody wants")


defs = Definitions(assets=[orders], checks=[legacy_rule])
"""

WITHOUT_LEGACY = PROJECT.replace(", checks=[legacy_rule]", "")


def _checks(root: Path, *args: str) -> list[dict[str, Any]]:
    listed = run_cli(["checks", *args, "--json"], root, check=True)
    checks: list[dict[str, Any]] = json.loads(listed.stdout)["checks"]
    return checks


def test_checks_failed_history_and_removed_checks_through_the_cli(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", PROJECT)
    run_cli(["materialize", "orders"], root, check=True)
    checked = run_cli(["check", "orders"], root)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # history counts the build's own four results; the re-check comes apart
    history = run_cli(["history", "orders"], root, check=True).stdout
    assert "checks: 3 passed, 1 warned (legacy_rule); re-checked " in history, history
    assert "6 passed" not in history
    lineage = run_cli(["lineage", "orders", "--json"], root, check=True)
    [node] = json.loads(lineage.stdout)["nodes"]
    assert (node["checks"]["passed"], node["checks"]["warned"]) == (3, ["legacy_rule"])
    assert node["checks"]["rechecked"]["passed"] == 3

    # a build fails its blocking unique check; the published data stays the old one
    (root / "dupes").write_text("")
    failed_build = run_cli(["materialize", "orders", "--force"], root)
    assert failed_build.returncode == 1, failed_build.stdout + failed_build.stderr
    # re-checking the (good) published data passes, but does not hide the failure
    recheck = run_cli(["check", "orders"], root)
    assert recheck.returncode == 0, recheck.stdout + recheck.stderr
    failed = _checks(root, "--failed")
    by_source = {(c["check"], c["source"]) for c in failed}
    assert ("unique_order_id", "build") in by_source, failed
    [unique] = [c for c in failed if c["check"] == "unique_order_id"]
    assert unique["passed"] is False and unique["materialization_id"] is None
    assert unique["attempt"] == 1 and unique["removed"] is False
    current = _checks(root)
    rechecked = [c for c in current if c["source"] == "recheck"]
    assert {c["check"] for c in rechecked} == {
        "not_null_order_id",
        "unique_order_id",
        "in_range_amount",
        "legacy_rule",
    }
    assert all(c["run_id"] != unique["run_id"] for c in rechecked)
    # one result per check and source: the first build's results are superseded
    assert len(current) == len({(c["check"], c["source"]) for c in current}) == 8
    text = run_cli(["checks", "--failed"], root, check=True).stdout
    assert "unique_order_id" in text and "build" in text and "no failed checks" not in text

    # the check is removed from the code: it is no longer listed
    write_project(root, WITHOUT_LEGACY)
    assert "legacy_rule" not in {c["check"] for c in _checks(root, "--failed")}
    assert "legacy_rule" not in {c["check"] for c in _checks(root)}
    shown = [c for c in _checks(root, "--failed", "--all") if c["check"] == "legacy_rule"]
    assert shown and all(c["removed"] for c in shown)
    assert "(removed)" in run_cli(["checks", "--all"], root, check=True).stdout
    # history keeps what was checked then, each result with its source, marked removed
    history_json = run_cli(["history", "orders", "--json"], root, check=True)
    [published] = json.loads(history_json.stdout)["materializations"]
    legacy = [c for c in published["checks"] if c["check"] == "legacy_rule"]
    assert sorted(c["source"] for c in legacy) == ["build", "recheck", "recheck"]
    assert all(c["removed"] for c in legacy)
