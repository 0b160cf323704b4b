"""Side-effect assets (functions that return ``None``) with real concurrent processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import partita
from partita import Definitions, asset
from tests.conftest import run_cli, write_project

NOTIFY = """
import json
import os
import time
from pathlib import Path

import pandas as pd
from partita import DailyPartitions, Definitions, asset

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")
HERE = Path(__file__).parent
SENT = HERE / "sent"

def wait_for(name):
    deadline = time.monotonic() + 60
    while not (HERE / name).exists():
        assert time.monotonic() < deadline, f"no {name}"
        time.sleep(0.02)

@asset(partitions=DAYS)
def gate(context) -> pd.DataFrame:
    if os.environ.get("HOLD_GATE"):
        (HERE / "planned").touch()
        wait_for("go")
    return pd.DataFrame({"day": [context.partition_key]})

@asset(partitions=DAYS)
def notify(context, gate: pd.DataFrame) -> None:
    \"\"\"Posts one message per day (a webhook, here a line in a file).\"\"\"
    with SENT.open("a") as out:
        out.write(f"{context.partition_key} {context.run_id}\\n")
    if os.environ.get("HOLD_NOTIFY"):
        wait_for("planned")

defs = Definitions(assets=[gate, notify])
"""


def _materialize(folder: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("partita")
    return subprocess.Popen(
        [str(exe), "materialize", *args],
        cwd=folder,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sent(folder: Path) -> list[str]:
    path = folder / "sent"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_a_forced_run_skips_a_side_effect_another_run_built_after_it_planned(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "p", NOTIFY)
    run_cli(["materialize"], folder, check=True)
    assert len(_sent(folder)) == 2
    (folder / "sent").unlink()
    # run A sends 2025-01-01's message and finishes only once run B has planned
    first = _materialize(folder, "notify", "--partition", "2025-01-01", "--force", HOLD_NOTIFY="1")
    deadline = time.monotonic() + 60
    while not _sent(folder):
        assert time.monotonic() < deadline, "run A never started notify"
        time.sleep(0.05)
    # run B plans while A is sending; it rebuilds gate first and reaches notify
    # only after run A has recorded it, released its lease and exited
    second = _materialize(folder, "gate+", "--partition", "2025-01-01", "--force", HOLD_GATE="1")
    out1, err1 = first.communicate(timeout=120)
    (folder / "go").touch()
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    sent = _sent(folder)
    assert len(sent) == 1, f"the message was sent {len(sent)} times: {sent}"
    first_run = sent[0].split()[1]
    assert f"skipped 1: built by run {first_run}" in out2
    # forced again after that build: this run did plan after it, so it sends again
    run_cli(["materialize", "notify", "--partition", "2025-01-01", "--force"], folder, check=True)
    assert len(_sent(folder)) == 2


def test_a_side_effect_is_recorded_with_no_data_and_shown_as_such(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", NOTIFY)
    run_cli(["materialize"], folder, check=True)
    history = run_cli(["history", "notify"], folder, check=True).stdout
    assert history.count("no data") == 2, history
    assert "no data" not in run_cli(["history", "gate"], folder, check=True).stdout
    builds = json.loads(run_cli(["history", "notify", "--json"], folder, check=True).stdout)
    assert [m["has_data"] for m in builds["materializations"]] == [False, False]
    assert {m["rows"] for m in builds["materializations"]} == {None}
    lineage = run_cli(["lineage", "notify", "--partition", "2025-01-01"], folder, check=True)
    assert "notify 2025-01-01  no data" in lineage.stdout
    status = run_cli(["status"], folder, check=True).stdout
    assert "notify (side effect)" in status and "gate (side effect)" not in status
    report = json.loads(run_cli(["status", "--json"], folder, check=True).stdout)
    assert {a["asset"]: a["side_effect"] for a in report["assets"]} == {
        "gate": False,
        "notify": True,
    }
    assert {a["asset"]: a["fresh"] for a in report["assets"]} == {"gate": 2, "notify": 2}


def test_reading_a_side_effect_fails_clearly_and_deps_orders_after_it(tmp_path: Path) -> None:
    @asset
    def refresh() -> None:
        """A dashboard refresh: nothing to store."""

    @asset
    def reads_it(refresh: pd.DataFrame) -> pd.DataFrame:
        return refresh

    @asset(deps=[refresh])
    def after_it() -> pd.DataFrame:
        return pd.DataFrame({"ok": [True]})

    result = partita.materialize(Definitions(assets=[refresh, reads_it, after_it]), home=tmp_path)
    assert {o.asset: str(o.status) for o in result.outcomes} == {
        "refresh": "succeeded",
        "reads_it": "failed",
        "after_it": "succeeded",
    }
    (failed,) = [o for o in result.outcomes if o.asset == "reads_it"]
    assert failed.error == (
        "refresh stores no data (a side effect: its function returned None), "
        "so parameter 'refresh' cannot read it"
    )
