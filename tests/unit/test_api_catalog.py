"""The catalog facade (``partita.api.catalog``) over a real SQLite file in ``tmp_path``."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from partita.api import (
    Project,
    add_dynamic_partitions,
    delete_dynamic_partitions,
    dynamic_partitions_definitions,
    history,
    lineage,
    list_dynamic_partitions,
    logs,
    runs,
)
from partita.assets import asset
from partita.catalog.sqlite import SQLiteCatalog
from partita.cli.catalog_commands import duration, lineage_tree, relative, size
from partita.definitions import Definitions, LoadedProject
from partita.errors import CatalogError, PartitionKeyError, UnknownAssetError
from partita.graph import AssetGraph
from partita.partitions import (
    DailyPartitions,
    DynamicPartitions,
    MultiPartitions,
    StaticPartitions,
)
from partita.records import Input, Materialization, Run, RunStatus, StepAttempt, StepStatus
from partita.sources import source

T0 = datetime(2025, 3, 8, 6, 0, tzinfo=UTC)
DAILY = DailyPartitions(start="2025-03-01", end="2025-03-31")


def _project(root: Path) -> Project:
    landing = source("sales/landing", partitions=DAILY)

    @asset(partitions=DAILY, key="sales/orders", deps=["sales/landing"])
    def orders() -> None: ...

    @asset(partitions=DAILY, key="sales/revenue", deps=["sales/orders"])
    def revenue() -> None: ...

    @asset(partitions=DynamicPartitions("customers"))
    def customer_files() -> None: ...

    @asset(
        partitions=MultiPartitions(
            {"region": StaticPartitions(["eu", "us"]), "tenant": DynamicPartitions("tenants")}
        )
    )
    def tenant_stats() -> None: ...

    @asset
    def summary() -> None: ...

    defs = Definitions(
        assets=[orders, revenue, customer_files, tenant_stats, summary], sources=[landing]
    )
    loaded = LoadedProject(definitions=defs, root=root, home=root / ".partita", origin="test")
    return Project(loaded=loaded, graph=AssetGraph(defs))


def _step(
    catalog: SQLiteCatalog,
    run_id: str,
    asset_key: str,
    partition: str | None,
    version: str,
    inputs: list[Input],
    when: datetime,
    logs_text: str = "",
) -> int:
    attempt = StepAttempt(
        run_id, asset_key, partition, 1, StepStatus.SUCCEEDED, when, when, logs=logs_text
    )
    mat = Materialization(asset_key, partition, run_id, version, when, code_version="c1")
    (mid,) = catalog.record_step_outcome(attempt, [mat], [inputs])
    return mid


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return _project(tmp_path)


@pytest.fixture
def filled(project: Project) -> Project:
    """orders 03-01 read landing 03-01 (observed, no materialization); revenue read orders."""
    with SQLiteCatalog(project.catalog_path) as catalog:
        catalog.start_run(Run(run_id="r1", started_at=T0, host="elsewhere", pid=1))
        _step(
            catalog,
            "r1",
            "sales/orders",
            "2025-03-01",
            "orders-v1",
            [Input("sales/landing", "2025-03-01", "landing-v1")],
            T0,
            logs_text="read 10 rows\n",
        )
        _step(
            catalog,
            "r1",
            "sales/revenue",
            "2025-03-01",
            "revenue-v1",
            [Input("sales/orders", "2025-03-01", "orders-v1")],
            T0 + timedelta(seconds=1),
        )
        catalog.finish_run("r1", RunStatus.SUCCEEDED, now=T0 + timedelta(seconds=2))
        later = T0 + timedelta(hours=1)
        catalog.start_run(Run(run_id="r2", started_at=later, host="elsewhere", pid=1))
        _step(catalog, "r2", "sales/orders", "2025-03-01", "orders-v2", [], later)
        catalog.finish_run("r2", RunStatus.SUCCEEDED, now=later)
    return project


def test_read_only_functions_do_not_create_the_catalog(project: Project) -> None:
    assert history(project, "orders") == ()
    assert runs(project, now=T0) == ()
    assert list_dynamic_partitions(project, "customers") == ()
    assert delete_dynamic_partitions(project, "customers", ["acme"]).unchanged == ("acme",)
    with pytest.raises(CatalogError, match="sales/orders 2025-03-01 has never been materialized"):
        lineage(project, "orders", "2025-03-01")
    with pytest.raises(CatalogError, match="no run 'r1'") as info:
        logs(project, "r1", now=T0)
    assert info.value.hint is not None and "partita runs" in info.value.hint
    assert not project.catalog_path.exists()
    assert not project.home.exists()


def test_names_and_partition_keys_are_checked(project: Project) -> None:
    with pytest.raises(UnknownAssetError, match="did you mean 'sales/orders'"):
        history(project, "order")
    with pytest.raises(PartitionKeyError, match=r"month must be in 1\.\.12"):
        history(project, "orders", "2025-13-01")
    with pytest.raises(PartitionKeyError, match="summary is not partitioned"):
        history(project, "summary", "2025-03-01")
    with pytest.raises(PartitionKeyError, match="lineage is per partition") as info:
        lineage(project, "orders")
    assert info.value.hint is not None and "2025-03-01" in info.value.hint
    with pytest.raises(CatalogError, match="direction"):
        lineage(project, "orders", "2025-03-01", direction="sideways")  # type: ignore[arg-type]


def test_lineage_up_and_down_with_superseded_edges(filled: Project) -> None:
    up = lineage(filled, "revenue", "2025-03-01", direction="up", depth=5)
    assert [(n.asset, n.data_version, n.depth) for n in up.nodes] == [
        ("sales/revenue", "revenue-v1", 0),
        ("sales/orders", "orders-v1", 1),
    ]
    statuses = {(e.upstream_asset, e.upstream_id is None, e.status) for e in up.edges}
    # orders was rebuilt by r2 after revenue read it; landing is an unobserved source input
    assert statuses == {("sales/orders", False, "superseded"), ("sales/landing", True, "current")}
    # the latest orders (v2, from r2) fed nothing yet
    down = lineage(filled, "sales/orders", "2025-03-01", direction="down")
    assert [(n.data_version, n.run_id) for n in down.nodes] == [("orders-v2", "r2")]
    assert down.edges == ()

    console = Console(file=io.StringIO(), width=300, no_color=True)
    console.print(lineage_tree(up, now=T0 + timedelta(hours=3)))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "sales/revenue 2025-03-01  revenue-  2h ago (2025-03-08 06:00:01 UTC)  run r1" in text
    assert "sales/orders 2025-03-01  orders-v  3h ago" in text and "superseded" in text
    assert "sales/landing 2025-03-01  landing-  observed source  current" in text


def test_history_runs_and_logs(filled: Project) -> None:
    versions = [m.data_version for m in history(filled, "orders", "2025-03-01")]
    assert versions == ["orders-v2", "orders-v1"]
    assert [m.data_version for m in history(filled, "orders", limit=1)] == ["orders-v2"]

    summaries = runs(filled, now=T0 + timedelta(hours=2))
    assert [(s.run.run_id, s.run.status, s.count(StepStatus.SUCCEEDED)) for s in summaries] == [
        ("r2", RunStatus.SUCCEEDED, 1),
        ("r1", RunStatus.SUCCEEDED, 2),
    ]
    assert summaries[1].duration_s == pytest.approx(2.0)

    result = logs(filled, "r1", "orders", "2025-03-01", now=T0)
    assert [a.asset for a in result.attempts] == ["sales/orders"]
    assert "=== sales/orders [2025-03-01] attempt 1: succeeded\nread 10 rows" in result.text()
    assert result.to_json()["steps"][0]["logs"] == "read 10 rows\n"
    assert len(logs(filled, "r1", now=T0).attempts) == 2
    with pytest.raises(CatalogError, match="has no step for sales/orders 2025-03-02") as info:
        logs(filled, "r1", "orders", "2025-03-02", now=T0)
    assert info.value.hint == "its steps: sales/orders 2025-03-01, sales/revenue 2025-03-01"


def test_a_dead_run_reads_as_crashed(project: Project) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with SQLiteCatalog(project.catalog_path) as catalog:
        catalog.start_run(
            Run(run_id="gone", started_at=T0, host=socket.gethostname(), pid=child.pid)
        )
        catalog.record_attempt_start(
            StepAttempt("gone", "sales/orders", "2025-03-01", 1, StepStatus.RUNNING, T0)
        )
    (summary,) = runs(project, now=T0 + timedelta(seconds=30))
    assert summary.run.status is RunStatus.CRASHED
    assert summary.step_counts == ((StepStatus.ABANDONED, 1),)


def test_dynamic_partitions(project: Project) -> None:
    assert set(dynamic_partitions_definitions(project)) == {"customers", "tenants"}
    first = add_dynamic_partitions(project, "customers", ["acme", "globex", "acme"])
    assert (first.changed, first.unchanged, first.keys) == (("acme", "globex"), (), first.changed)
    again = add_dynamic_partitions(project, "customers", ["globex", "initech"])
    assert (again.changed, again.unchanged) == (("initech",), ("globex",))
    assert list_dynamic_partitions(project, "customers") == ("acme", "globex", "initech")
    gone = delete_dynamic_partitions(project, "customers", ["globex", "nobody"])
    assert (gone.changed, gone.unchanged, gone.keys) == (
        ("globex",),
        ("nobody",),
        ("acme", "initech"),
    )
    assert add_dynamic_partitions(project, "tenants", ["t1"]).keys == ("t1",)
    with pytest.raises(PartitionKeyError, match="no DynamicPartitions named 'customer'") as info:
        add_dynamic_partitions(project, "customer", ["x"])
    assert info.value.hint == "its dynamic partitions: 'customers', 'tenants'"
    with pytest.raises(PartitionKeyError, match=r"invalid partition key '\.\./etc'"):
        add_dynamic_partitions(project, "customers", ["ok", "../etc"])
    assert list_dynamic_partitions(project, "customers") == ("acme", "initech")


def test_formatting_helpers() -> None:
    assert relative(T0, T0) == "just now"
    assert relative(T0 - timedelta(seconds=59), T0) == "59s ago"
    assert relative(T0 - timedelta(hours=3, minutes=5), T0) == "3h ago"
    assert relative(T0 + timedelta(days=2), T0) == "in 2d"
    assert [duration(s) for s in (None, 0.25, 4.24, 184, 3720)] == [
        "-",
        "250ms",
        "4.2s",
        "3m 04s",
        "1h 02m",
    ]
    assert [size(b) for b in (None, 512, 1536, 5 * 1024**3)] == ["-", "512 B", "1.5 KB", "5.0 GB"]
