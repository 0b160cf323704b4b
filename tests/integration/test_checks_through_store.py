"""Checks read data only through the Store protocol.

- A store that stages somewhere other than a local Parquet file (it declares no
  ``local_parquet``) still gets write-audit-publish: checks read the staged rows
  with ``read_staged``, a blocking failure discards them, a pass publishes.
- A ``relationship`` check reads exactly the partitions of the other asset that
  its mapping selects, through that asset's store; they are recorded as the
  partition's inputs, and a change to them makes the checked partition stale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from partita.api import Project, load_project, materialize, plan_project
from partita.api import lineage as api_lineage
from partita.api.checks import check_published, check_results
from tests.conftest import write_project

NOW = datetime(2025, 1, 10, tzinfo=UTC)
DAY1, DAY2 = "2025-01-01", "2025-01-02"

PROJECT = """
from dataclasses import replace
from pathlib import Path

import pandas as pd
from partita.assets import asset
from partita.checks import not_null, relationship
from partita.definitions import Definitions
from partita.io import ParquetStore
from partita.mappings import AllPartitions
from partita.partitions import DailyPartitions

HERE = Path(__file__).parent
DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")


class StagedElsewhere:
    '''A store whose staged writes declare no local Parquet file (as on object storage).'''

    def __init__(self, root):
        self.inner = ParquetStore(root)
        self.staged_reads = HERE / "staged_reads"

    def stage(self, asset, partition, data):
        return replace(self.inner.stage(asset, partition, data), local_parquet=None)

    def read_staged(self, staged, as_type=None):
        with self.staged_reads.open("a") as out:
            out.write(f"{staged.asset}\\n")
        return self.inner.read_staged(staged, as_type)

    def publish(self, staged, fence=None):
        return self.inner.publish(staged, fence)

    def discard(self, staged):
        self.inner.discard(staged)

    def read(self, asset, partitions, as_type=None):
        return self.inner.read(asset, partitions, as_type)

    def list_partitions(self, asset):
        return self.inner.list_partitions(asset)

    def delete(self, asset, partition=None):
        self.inner.delete(asset, partition)


def mode(name: str) -> str:
    path = HERE / name
    return path.read_text() if path.exists() else ""


@asset(store=StagedElsewhere(HERE / "elsewhere"), checks=[not_null("v")])
def remote() -> pd.DataFrame:
    return pd.DataFrame({"v": [1.0, None] if mode("remote") == "nulls" else [1.0, 2.0]})


@asset(partitions=DAYS)
def customers(context) -> pd.DataFrame:
    ids = {"2025-01-01": [1, 2], "2025-01-02": [3]}[context.partition_key]
    return pd.DataFrame({"id": ids + ([4] if mode("customers") == "more" else [])})


@asset(partitions=DAYS, checks=[relationship("customer_id", to="customers.id")])
def orders(context) -> pd.DataFrame:
    wanted = {"2025-01-01": [1], "2025-01-02": [int(mode("orders") or 3)]}
    return pd.DataFrame({"customer_id": wanted[context.partition_key]})


@asset(
    partitions=DAYS,
    checks=[relationship("customer_id", to="customers.id", mapping=AllPartitions())],
)
def any_day_orders() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [1, 3]})


defs = Definitions(assets=[remote, customers, orders, any_day_orders])
"""


def _project(folder: Path) -> Project:
    write_project(folder, PROJECT)
    return load_project(cwd=folder)


def test_a_store_without_a_local_file_gets_write_audit_publish(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    root = project.loaded.root
    run = materialize(project, "remote", executor="inprocess", now=NOW)
    assert run.status == "succeeded", run.summary_lines()
    published = root / "elsewhere" / "remote" / "data.parquet"
    assert pd.read_parquet(published).v.tolist() == [1.0, 2.0]
    assert (root / "staged_reads").read_text() == "remote\n"  # checks read through the store

    (root / "remote").write_text("nulls")
    run = materialize(project, "remote", force=True, executor="inprocess", now=NOW)
    assert run.status == "failed"
    assert "not_null_v (1 of 2 rows fail)" in (run.outcomes[0].error or "")
    assert pd.read_parquet(published).v.tolist() == [1.0, 2.0]  # the old version stays
    # the staged file was discarded: the data file and the asset's schema record are left
    assert sorted(p.name for p in published.parent.iterdir()) == [
        ".partita-schema.json",
        "data.parquet",
    ]


def test_a_relationship_reads_the_mapped_partitions_and_records_them(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    # the target is a dependency: selecting orders alone builds customers first
    plan = plan_project(project, "+orders", partition_range=(DAY1, DAY2), now=NOW).plan
    assert [str(s.asset) for s in plan.steps] == ["customers", "orders"]
    run = materialize(
        project, "+orders", partition_range=(DAY1, DAY2), executor="inprocess", now=NOW
    )
    assert run.status == "succeeded", run.summary_lines()

    # customer 1 exists on DAY1 only: orders of DAY2 are checked against DAY2's customers
    (project.loaded.root / "orders").write_text("1")
    run = materialize(
        project, "orders", partition_key=DAY2, force=True, executor="inprocess", now=NOW
    )
    assert run.status == "failed"
    assert "relationship_customer_id (1 of 1 rows fail)" in (run.outcomes[0].error or "")
    # AllPartitions reads every day: customer 1 (DAY1) and 3 (DAY2) both exist
    run = materialize(project, "any_day_orders", partition_key=DAY2, executor="inprocess", now=NOW)
    assert run.status == "succeeded", run.summary_lines()

    (project.loaded.root / "orders").write_text("3")
    run = materialize(project, "orders", partition_key=DAY2, executor="inprocess", now=NOW)
    assert run.status == "succeeded", run.summary_lines()
    lineage = api_lineage(project, "orders", DAY2, direction="up", depth=1)
    assert [(e.upstream_asset, e.upstream_partition) for e in lineage.edges] == [
        ("customers", DAY2)
    ]

    # a change to the partitions the check read makes the checked partition stale
    (project.loaded.root / "customers").write_text("more")
    run = materialize(
        project, "customers", partition_key=DAY2, force=True, executor="inprocess", now=NOW
    )
    assert run.status == "succeeded", run.summary_lines()
    plan = plan_project(project, "orders", partition_range=(DAY1, DAY2), now=NOW).plan
    assert [(str(s.asset), list(s.partitions)) for s in plan.steps] == [("orders", [DAY2])]
    reasons = {r.reason.value for s in plan.steps for r in s.reasons}
    assert reasons == {"upstream_changed"}


def test_checking_published_data_reads_the_mapped_partitions(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    run = materialize(
        project, "+orders", partition_range=(DAY1, DAY2), executor="inprocess", now=NOW
    )
    assert run.status == "succeeded", run.summary_lines()
    (project.loaded.root / "customers").write_text("")
    # replace DAY2's customers by DAY1's ids without rebuilding orders: partita check sees it
    frame = pd.DataFrame({"id": [1, 2]})
    frame.to_parquet(project.data_path / "customers" / f"date={DAY2}" / "data.parquet")
    checked = check_published(project, "orders", now=NOW)
    assert [(r.partition, r.passed) for r in checked.results] == [(DAY1, True), (DAY2, False)]
    failed = check_results(project, "orders", DAY2, failed_only=True)
    assert [r.check_name for r in failed] == ["relationship_customer_id"]
