"""A running daemon takes the definitions as they are on disk now.

The daemon loads the project once; when its files change, it loads them again
before its next evaluation (recorded as the job ``reload``), so what it plans
and records is the code its worker processes run. A file that no longer loads
is reported once, and the daemon goes on with what it had.
"""

from __future__ import annotations

from pathlib import Path

from partita.api import history, load_project
from partita.automation import Daemon, LaunchSettings
from partita.records import TickKind, TickStatus
from tests.conftest import write_project
from tests.integration.daemon_support import FakeClock, ticks, utc

DEFS = """
import pandas as pd
from partita import DailyPartitions, Definitions, Schedule, asset

@asset(partitions=DailyPartitions(start="2025-03-01"))
def numbers() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2, 3]})

defs = Definitions(assets=[numbers], schedules=[Schedule("0 6 * * *", name="daily")])
"""


def test_an_edited_project_is_reloaded_before_the_next_tick(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "project", DEFS)
    defs = folder / "defs.py"
    project = load_project(file=defs)
    clock = FakeClock(utc(2025, 3, 3, 5, 59))
    daemon = Daemon(
        project,
        clock=clock.now,
        sleep=clock.sleep,
        settings=LaunchSettings(executor="process", max_workers=1),
    )
    daemon.run(until=utc(2025, 3, 3, 6, 1), handle_signals=False)
    first = history(project, "numbers", "2025-03-02")
    assert [m.rows for m in first] == [3]

    defs.write_text(DEFS.replace("[1, 2, 3]", "[1, 2, 3, 4]"), encoding="utf-8")
    daemon.run(until=utc(2025, 3, 4, 6, 1), handle_signals=False)
    current = load_project(file=defs)
    key = current.graph.resolve("numbers")
    # the 4 March tick plans with the new code: the day before is built with it, and the
    # earlier day (built by the old code) is rebuilt, its code having changed
    for day in ("2025-03-02", "2025-03-03"):
        newest = history(current, "numbers", day)[0]
        assert (newest.rows, newest.code_version) == (4, current.graph.code_version(key))
    (reload,) = ticks(current, TickKind.JOB)
    assert (reload.name, reload.status) == ("reload", TickStatus.SUCCEEDED)
    assert reload.detail == "defs.py changed: definitions reloaded"
    statuses = [t.status for t in ticks(current)]
    assert statuses[1:] == [TickStatus.SUCCEEDED] * 2, statuses  # after the start marker


def test_a_file_that_no_longer_loads_is_reported_once_and_the_daemon_goes_on(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "project", DEFS)
    defs = folder / "defs.py"
    project = load_project(file=defs)
    clock = FakeClock(utc(2025, 3, 3, 5, 59))
    daemon = Daemon(
        project, clock=clock.now, sleep=clock.sleep, settings=LaunchSettings("inprocess")
    )
    daemon.run(until=utc(2025, 3, 3, 6, 1), handle_signals=False)
    defs.write_text(DEFS.replace("def numbers()", "def numbers("), encoding="utf-8")
    daemon.run(until=utc(2025, 3, 5, 6, 1), handle_signals=False)  # two more ticks
    (failed,) = ticks(project, TickKind.JOB)
    assert (failed.name, failed.status) == ("reload", TickStatus.ERROR)
    assert failed.detail.startswith("defs.py changed: ")
    assert "SyntaxError" in failed.detail or "syntax" in failed.detail.lower()
    # the loaded definitions keep working: both later ticks ran with them
    statuses = [t.status for t in ticks(project)]
    assert statuses[1:] == [TickStatus.SUCCEEDED] * 3, statuses  # after the start marker
    assert [m.rows for m in history(project, "numbers", "2025-03-04")] == [3]
