"""A reader of every upstream partition that reads what exists (``AllPartitions(
allow_missing=True)``, issue 12 item 11), run for real: the runner reads exactly the
materialized upstream partitions the planner counted, so a run followed by a plan
agrees, and a new upstream day makes the reader run again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import partita
from partita import AllPartitions, DailyPartitions, Definitions, In, asset
from partita.planner import Reason

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-08")
NOW = datetime(2025, 2, 1, tzinfo=UTC)


@asset(partitions=DAYS)
def marketing_roi(context) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return pd.DataFrame({"day": [context.partition_key], "roi": [1.5]})


@asset(ins={"marketing_roi": In(mapping=AllPartitions(allow_missing=True))})
def roi_dashboard(marketing_roi: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"days": [",".join(sorted(marketing_roi["day"]))], "n": [len(marketing_roi)]}
    )


@asset(ins={"marketing_roi": In(mapping=AllPartitions())})
def strict_dashboard(marketing_roi: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"n": [len(marketing_roi)]})


DEFS = Definitions(assets=[marketing_roi, roi_dashboard, strict_dashboard])


def _build(selection: str, home: Path, **kwargs: object) -> partita.MaterializeResult:
    result = partita.materialize(
        DEFS,
        selection,
        home=home,
        executor="inprocess",
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )
    assert result.success, result.summary_lines()
    return result


def test_the_reader_reads_what_exists_and_reruns_when_a_day_arrives(tmp_path: Path) -> None:
    _build("marketing_roi", tmp_path, partition_range=("2025-01-01", "2025-01-03"))
    result = _build("roi_dashboard,strict_dashboard", tmp_path)
    assert [(o.asset, o.partition) for o in result.built] == [("roi_dashboard", None)]
    assert any("strict_dashboard" in line and "missing" in line for line in result.summary_lines())
    dashboard = result.output_for("roi_dashboard")
    assert dashboard["n"].tolist() == [3]
    assert dashboard["days"].tolist() == ["2025-01-01,2025-01-02,2025-01-03"]
    assert partita.plan(DEFS, "roi_dashboard", home=tmp_path, now=NOW).is_empty

    _build("marketing_roi", tmp_path, partition_key="2025-01-05")
    stale = partita.plan(DEFS, "roi_dashboard", home=tmp_path, now=NOW)
    (step,) = stale.steps
    assert [r.reason for r in step.reasons] == [Reason.UPSTREAM_CHANGED]
    assert list(step.reasons[0].upstream_partitions or []) == ["2025-01-05"]
    again = _build("roi_dashboard", tmp_path)
    rebuilt = again.output_for("roi_dashboard")
    assert rebuilt["days"].tolist() == ["2025-01-01,2025-01-02,2025-01-03,2025-01-05"]
    assert partita.plan(DEFS, "roi_dashboard", home=tmp_path, now=NOW).is_empty
