"""Sources read through their store, with and without an observe function."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from partita.api import load_project, materialize
from partita.io import ParquetStore
from tests.conftest import write_project

NOW = datetime(2025, 1, 10, tzinfo=UTC)

PROJECT = """
import pandas as pd
from partita import DailyPartitions, Definitions, ParquetStore, asset, source

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")
land = source("land", partitions=DAYS, store=ParquetStore({landing!r}))

@asset(partitions=DAYS)
def counted(land: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({{"n": [len(land)]}})

defs = Definitions(assets=[counted], sources=[land])
"""


def test_unobserved_source_is_read_and_does_not_stay_stale(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = write_project(tmp_path / "p", PROJECT.format(landing=str(landing)))
    store = ParquetStore(landing)
    for day in ("2025-01-01", "2025-01-02"):
        store.write("land", (("date", day),), pd.DataFrame({"x": [1, 2, 3]}))
    project = load_project(cwd=folder)

    first = materialize(project, executor="inprocess", now=NOW)
    assert first.counts == {"succeeded": 2}
    built = ParquetStore(project.data_path).read("counted", [(("date", "2025-01-01"),)])
    assert built["n"].tolist() == [3]  # the source's rows reached the asset

    again = materialize(project, executor="inprocess", now=NOW)
    assert again.status == "nothing_to_do"  # its recorded input matches the planner's view


CHECKED = """
import pandas as pd
from partita import DailyPartitions, Definitions, ParquetStore, asset, not_null, source

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")
land = source("land", partitions=DAYS, store=ParquetStore({landing!r}), checks=[not_null("x")])

@asset(partitions=DAYS)
def counted(land: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({{"n": [len(land)]}})

@asset(partitions=DAYS)
def report(counted: pd.DataFrame) -> pd.DataFrame:
    return counted

defs = Definitions(assets=[counted, report], sources=[land])
"""


def test_a_failed_source_check_records_every_skipped_task(tmp_path: Path) -> None:
    """The reader and its dependents are skipped, and each skip is in the catalog."""
    landing = tmp_path / "landing"
    folder = write_project(tmp_path / "p", CHECKED.format(landing=str(landing)))
    store = ParquetStore(landing)
    store.write("land", (("date", "2025-01-01"),), pd.DataFrame({"x": [1.0]}))
    store.write("land", (("date", "2025-01-02"),), pd.DataFrame({"x": [None]}))
    project = load_project(cwd=folder)
    run = materialize(project, executor="inprocess", now=NOW)
    skipped = {(o.asset, o.partition) for o in run.outcomes if o.status == "skipped"}
    assert skipped == {("counted", "2025-01-02"), ("report", "2025-01-02")}
    with project.open_catalog() as catalog:
        recorded = {
            (a.asset, a.partition)
            for a in catalog.attempts(run.run_id)
            if str(a.status) == "skipped"
        }
    assert recorded == skipped
