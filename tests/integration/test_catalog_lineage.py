from __future__ import annotations

from pathlib import Path

import pytest

from partita.catalog import SQLiteCatalog
from partita.errors import CatalogError

from .test_catalog_support import build, start_run


@pytest.fixture
def catalog(tmp_path: Path) -> SQLiteCatalog:
    return SQLiteCatalog(tmp_path / "catalog.db")


def test_diamond_up_and_down(catalog: SQLiteCatalog) -> None:
    start_run(catalog, "r1")
    raw = build(catalog, "r1", "raw", None, "r-v1")
    left = build(catalog, "r1", "left", None, "l-v1", [("raw", None)])
    right = build(catalog, "r1", "right", None, "g-v1", [("raw", None)])
    top = build(catalog, "r1", "top", None, "t-v1", [("left", None), ("right", None)])

    up = catalog.lineage("top", direction="up", depth=5)
    assert up.root == top
    assert {(n.asset, n.depth) for n in up.nodes} == {
        ("top", 0),
        ("left", 1),
        ("right", 1),
        ("raw", 2),
    }
    assert {(e.downstream_id, e.upstream_id) for e in up.edges} == {
        (top, left),
        (top, right),
        (left, raw),
        (right, raw),
    }
    assert {e.status for e in up.edges} == {"current"}
    assert up.max_depth == 2

    down = catalog.lineage("raw", direction="down", depth=5)
    assert {n.materialization_id for n in down.nodes} == {raw, left, right, top}
    assert len(down.edges) == 4

    shallow = catalog.lineage("top", direction="up", depth=1)
    assert {n.asset for n in shallow.nodes} == {"top", "left", "right"}
    assert len(shallow.edges) == 2


def test_rolling_window_and_superseded_after_rebuild(catalog: SQLiteCatalog) -> None:
    start_run(catalog, "r1")
    days = [f"2025-03-0{i}" for i in range(1, 8)]
    old = {day: build(catalog, "r1", "raw", day, f"{day}-v1") for day in days}
    weekly = build(catalog, "r1", "weekly", "2025-03-07", "w-v1", [("raw", d) for d in days])

    up = catalog.lineage("weekly", "2025-03-07", direction="up", depth=1)
    assert len(up.edges) == 7
    assert {e.upstream_partition for e in up.edges} == set(days)
    assert all(e.status == "current" for e in up.edges)

    start_run(catalog, "r2", when=10)
    new_day3 = build(catalog, "r2", "raw", "2025-03-03", "2025-03-03-v2", when=11)

    up = catalog.lineage("weekly", "2025-03-07", direction="up", depth=1)
    status = {e.upstream_partition: e.status for e in up.edges}
    assert status.pop("2025-03-03") == "superseded"
    assert set(status.values()) == {"current"}
    # the edge still points at the version that was read, not at the rebuild
    (edge,) = [e for e in up.edges if e.upstream_partition == "2025-03-03"]
    assert edge.upstream_id == old["2025-03-03"] != new_day3

    # downstream of the old version: it fed weekly; the rebuild fed nothing yet
    fed = catalog.lineage("raw", direction="down", depth=3, materialization_id=old["2025-03-03"])
    assert {n.materialization_id for n in fed.nodes} == {old["2025-03-03"], weekly}
    assert [e.status for e in fed.edges] == ["superseded"]
    assert catalog.lineage("raw", "2025-03-03", direction="down").edges == ()

    data = up.to_dict()
    assert data["direction"] == "up" and len(data["nodes"]) == 8  # type: ignore[arg-type]
    assert '"superseded"' in up.to_json()


def test_ten_deep_chain_and_errors(catalog: SQLiteCatalog) -> None:
    start_run(catalog, "r1")
    build(catalog, "r1", "a0", "p", "v")
    for level in range(1, 12):
        build(catalog, "r1", f"a{level}", "p", "v", [(f"a{level - 1}", "p")])
    graph = catalog.lineage("a11", "p", direction="up", depth=10)
    assert graph.max_depth == 10
    assert len(graph.nodes) == 11 and len(graph.edges) == 10
    with pytest.raises(CatalogError, match="never been materialized"):
        catalog.lineage("nothing", "p")
