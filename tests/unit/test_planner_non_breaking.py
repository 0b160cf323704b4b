"""A non-breaking SQL change rebuilds only that asset: the planner, the explanation,
and the runner's side of it (the output hash a rebuild keeps, the early cutoff on
stored hashes).

The planner takes the classification as an argument (``non_breaking=``), so these
tests use assets with explicit code versions; the classification itself
(``sqlglot.diff``) is tested in ``tests/unit/test_sql_models.py`` and end to end in
``tests/integration/test_sql_non_breaking.py``.
"""

from __future__ import annotations

import pandas as pd

from partita.assets import In, asset
from partita.definitions import Definitions
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.mappings import TimeWindow
from partita.partitions import DailyPartitions
from partita.planner import NonBreakingChange, Plan, PlanRequest, explain, plan
from partita.records import partition_hash
from partita.runner.inputs import CurrentVersions
from partita.runner.recording import kept_output_hash
from partita.runner.tasks import EdgeRead, Task
from tests.planner_support import NOW, FakeCatalog

DAILY = DailyPartitions(start="2025-01-01", end="2025-01-11")  # 10 days
DAYS = list(DAILY.keys(NOW))
ADDS = NonBreakingChange(AssetKey("model"), "1", "adds column top")


def graph(model_version: str = "1") -> AssetGraph:
    """raw -> model (the "SQL" asset) -> rolling (3-day window), total (all days)."""

    @asset(partitions=DAILY, code_version="1")
    def raw() -> None: ...

    @asset(partitions=DAILY, code_version=model_version)
    def model(raw: pd.DataFrame) -> None: ...

    @asset(partitions=DAILY, code_version="1", ins={"model": In(mapping=TimeWindow(-2, 0))})
    def rolling(model: pd.DataFrame) -> None: ...

    @asset(code_version="1")
    def total(model: pd.DataFrame) -> None: ...

    return AssetGraph(Definitions(assets=[raw, model, rolling, total]))


def built() -> FakeCatalog:
    catalog = FakeCatalog(graph())
    for name in ("raw", "model", "rolling"):
        catalog.build_all(name)
    catalog.build("total")
    return catalog


def planned(result: Plan) -> dict[str, list[str]]:
    return {str(s.asset): list(s.partitions) for s in result.steps}


def test_a_non_breaking_change_plans_the_model_alone() -> None:
    catalog = built()
    changed = graph("2")
    result = plan(changed, catalog.state(), PlanRequest(), NOW, non_breaking=[ADDS])
    assert planned(result) == {"model": DAYS}
    step = result.step("model")
    assert step is not None and step.non_breaking is not None
    assert list(step.non_breaking) == DAYS and step.keeps_output("2025-01-05")
    assert [r.reason.value for r in step.reasons] == ["code_changed"]
    assert "non-breaking: adds column top" in step.reasons[0].detail
    assert result.to_json()["steps"][0]["non_breaking"]["ranges"] == [[DAYS[0], DAYS[-1]]]
    assert result.to_json()["non_breaking_changes"] == [
        {"asset": "model", "code_version": "1", "summary": "adds column top"}
    ]
    why = explain(changed, result, catalog.state(), AssetKey("rolling"), "2025-01-05", _no_inputs)
    assert why.status == "up to date"
    assert why.reasons == (
        "upstream model 2025-01-03, 2025-01-04, 2025-01-05 changed non-breakingly "
        "(adds column top); not rebuilt",
    )
    why = explain(changed, result, catalog.state(), AssetKey("model"), "2025-01-05", _no_inputs)
    assert why.status == "planned"
    assert any("non-breaking SQL change (adds column top)" in line for line in why.reasons)


def _no_inputs(ids: object) -> object:
    from partita.records import INPUTS_SCHEMA  # noqa: PLC0415

    return INPUTS_SCHEMA.empty_table()


def test_a_breaking_change_rebuilds_what_reads_the_model() -> None:
    catalog = built()
    result = plan(graph("2"), catalog.state(), PlanRequest(), NOW)  # nothing non-breaking
    assert planned(result) == {"model": DAYS, "rolling": DAYS, "total": [""]}
    assert result.step("model").non_breaking is None  # type: ignore[union-attr]
    assert result.step("rolling").reasons[0].reason.value == "upstream_stale"  # type: ignore[union-attr]


def test_a_partition_whose_inputs_changed_too_still_propagates() -> None:
    catalog = built()
    catalog.build("raw", "2025-01-05", "raw:2025-01-05:v2")  # new data upstream of the model
    result = plan(graph("2"), catalog.state(), PlanRequest(), NOW, non_breaking=[ADDS])
    step = result.step("model")
    assert step is not None and step.non_breaking is not None
    assert "2025-01-05" not in step.non_breaking and len(step.non_breaking) == 9
    # rolling reads 2025-01-05 from the 5th to the 7th; total reads every day
    assert planned(result) == {
        "model": DAYS,
        "rolling": ["2025-01-05", "2025-01-06", "2025-01-07"],
        "total": [""],
    }


def test_only_partitions_built_with_a_classified_version_are_spared() -> None:
    catalog = FakeCatalog(graph("0"))
    for name in ("raw", "model", "rolling"):
        catalog.build_all(name)
    catalog.build("total")
    catalog.graph = graph("1")
    catalog.build("model", "2025-01-09", "model:2025-01-09:v0-to-1")  # built with version 1
    catalog.build("rolling", "2025-01-09")
    catalog.build("rolling", "2025-01-10")
    catalog.build("total")
    # model's 2025-01-09 was built with "1" (non-breaking to "2"); the others with "0"
    result = plan(graph("2"), catalog.state(), PlanRequest(), NOW, non_breaking=[ADDS])
    step = result.step("model")
    assert step is not None and step.non_breaking is not None
    assert list(step.non_breaking) == ["2025-01-09"]
    rolling = result.step("rolling")
    assert rolling is not None and list(rolling.partitions) == DAYS  # each reads a breaking day
    (stale,) = rolling.reasons
    assert stale.upstream_partitions is not None
    assert list(stale.upstream_partitions) == [d for d in DAYS if d != "2025-01-09"]


def test_forced_partitions_are_not_spared() -> None:
    catalog = built()
    request = PlanRequest(selection="model", force=True)
    result = plan(graph("2"), catalog.state(), request, NOW, non_breaking=[ADDS])
    assert result.step("model").non_breaking is None  # type: ignore[union-attr]


def test_after_the_rebuild_kept_hashes_leave_readers_up_to_date() -> None:
    catalog = built()
    catalog.graph = graph("2")
    for day in DAYS:
        catalog.build("model", day, f"model:{day}:with-top", keep_output=True)
    state = catalog.state()
    assert plan(graph("2"), state, PlanRequest(), NOW).is_empty
    kept = {r["partition"]: r["output_hash"] for r in state.latest_of("model").to_pylist()}
    assert kept["2025-01-05"] == partition_hash("model", "2025-01-05", "model:2025-01-05:v1")
    # a reader rebuilt later for another reason records the hashes it read: still current
    catalog.build("rolling", "2025-01-05", "rolling:2025-01-05:v2")
    assert plan(graph("2"), catalog.state(), PlanRequest(), NOW).is_empty
    # new data in the model (its input changed) propagates again
    catalog.build("raw", "2025-01-05", "raw:2025-01-05:v2")
    catalog.build("model", "2025-01-05", "model:2025-01-05:v3")
    assert planned(plan(graph("2"), catalog.state(), PlanRequest(), NOW)) == {
        "rolling": ["2025-01-05", "2025-01-06", "2025-01-07"],
        "total": [""],
    }


def _model_task(keys: tuple[str, ...], *, keeps: frozenset[str] = frozenset()) -> Task:
    reads = tuple((EdgeRead(AssetKey("raw"), "raw", (k,)),) for k in keys)
    return Task(0, AssetKey("model"), keys, True, reads, (), False, "2", "", keeps_output=keeps)


def test_the_early_cutoff_compares_stored_output_hashes() -> None:
    catalog = built()
    catalog.graph = graph("2")
    catalog.build("model", "2025-01-05", "model:2025-01-05:with-top", keep_output=True)
    versions = CurrentVersions(catalog.state())
    task = Task(
        0,
        AssetKey("rolling"),
        ("2025-01-05",),
        True,
        ((EdgeRead(AssetKey("model"), "model", ("2025-01-03", "2025-01-04", "2025-01-05")),),),
        (),
        True,
        "1",
        "",
    )
    # the model's data version changed, its output hash did not: the reader is current
    assert versions.unchanged(task)
    (inputs,) = versions.inputs(task)
    fifth = next(i for i in inputs if i.upstream_partition == "2025-01-05")
    assert fifth.upstream_data_version == "model:2025-01-05:with-top"
    assert fifth.output_hash == partition_hash("model", "2025-01-05", "model:2025-01-05:v1")
    # a rebuild with new data (its own hash) is a change
    versions.set("model", "2025-01-05", 99, "model:2025-01-05:v3")
    assert not versions.unchanged(task)


def test_a_rebuild_keeps_the_hash_when_spared_or_when_its_data_is_the_same() -> None:
    previous = ("dv1", partition_hash("model", "2025-01-05", "dv0"))  # itself inherited
    plain = _model_task(("2025-01-05",))
    spared = _model_task(("2025-01-05",), keeps=frozenset({"2025-01-05"}))
    assert kept_output_hash(spared, "2025-01-05", "dv2", previous) == previous[1]
    assert kept_output_hash(plain, "2025-01-05", "dv2", previous) is None  # new data
    assert kept_output_hash(plain, "2025-01-05", "dv1", previous) == previous[1]  # same data
    assert kept_output_hash(spared, "2025-01-05", "dv2", None) is None  # never built
    own = ("dv1", partition_hash("model", "2025-01-05", "dv1"))
    assert kept_output_hash(plain, "2025-01-05", "dv1", own) is None  # its own hash anyway
