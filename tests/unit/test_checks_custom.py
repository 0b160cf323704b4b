"""Custom ``@check`` functions: declaration, typed data, results and exceptions."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partita.checks import CheckDefinition, CheckResult, check
from partita.checks.custom_eval import run_custom
from partita.context import AssetContext
from partita.errors import DefinitionError
from partita.keys import AssetKey


@pytest.fixture
def staged(tmp_path: Path) -> str:
    path = tmp_path / "staged.parquet"
    pq.write_table(pa.table({"amount": [5.0, 20_000.0, 7.0, 8.0]}), path)
    return str(path)


def test_returning_a_bool_with_a_dataframe_by_default(staged: str) -> None:
    @check(asset="clean_orders")
    def positive(orders):  # type: ignore[no-untyped-def]
        """Amounts are positive."""
        assert isinstance(orders, pd.DataFrame)
        return bool((orders.amount > 0).all())

    assert isinstance(positive, CheckDefinition)
    assert (positive.asset, positive.name, positive.data_kind) == (
        AssetKey("clean_orders"),
        "positive",
        "pandas",
    )
    assert positive.description == "Amounts are positive."
    outcome = run_custom(positive, staged)
    assert outcome.passed and outcome.kind == "custom" and outcome.severity == "error"


def test_check_result_with_severity_override_and_metadata(staged: str) -> None:
    @check(asset="sales/clean_orders", severity="error", name="few_large_amounts")
    def large(orders: pa.Table) -> CheckResult:
        share = sum(1 for v in orders.column("amount").to_pylist() if v > 10_000) / len(orders)
        return CheckResult(passed=share < 0.1, severity="warn", metadata={"share": share})

    outcome = run_custom(large, staged)
    assert (outcome.name, outcome.passed, outcome.severity) == ("few_large_amounts", False, "warn")
    assert outcome.metadata == {"share": 0.25} and not outcome.blocking


def test_relation_input_and_context(staged: str) -> None:
    seen: list[str | None] = []

    @check(asset="clean_orders")
    def total(context: AssetContext, orders: duckdb.DuckDBPyRelation) -> CheckResult:
        seen.append(context.partition_key)
        [(value,)] = orders.aggregate("sum(amount)").fetchall()
        return CheckResult(passed=value > 0, metadata={"total": value}, message="summed")

    context = AssetContext.for_test("clean_orders", "2025-01-01")
    outcome = run_custom(total, staged, context)
    assert seen == ["2025-01-01"] and outcome.partition == "2025-01-01"
    assert outcome.passed and outcome.metadata["total"] == 20_020.0 and outcome.message == "summed"


def test_reader_input_from_a_table_and_a_file(tmp_path: Path) -> None:
    @check(asset="clean_orders")
    def rows(orders: pa.RecordBatchReader) -> bool:
        return orders.read_all().num_rows == 2

    assert run_custom(rows, pa.table({"x": [1, 2]})).passed
    path = tmp_path / "two.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    assert run_custom(rows, path).passed
    assert run_custom(rows, pa.table({"x": [1, 2]}).to_reader()).passed


def test_an_exception_is_a_failed_outcome_with_the_traceback(staged: str) -> None:
    @check(asset="clean_orders", severity="warn")
    def broken(orders: pd.DataFrame) -> bool:
        raise ValueError("no column named 'amout'\nsecond line")

    outcome = run_custom(broken, staged)
    assert not outcome.passed and outcome.severity == "warn"
    assert outcome.message == "check 'broken' raised ValueError: no column named 'amout'"
    assert "Traceback" in outcome.metadata["traceback"]
    assert "second line" in outcome.metadata["traceback"]


def test_a_result_of_another_type_fails(staged: str) -> None:
    @check(asset="clean_orders")
    def vague(orders: pd.DataFrame) -> object:
        return "yes"

    outcome = run_custom(vague, staged)
    assert not outcome.passed and "return a bool or a CheckResult" in outcome.message


def test_numpy_bool_is_a_bool(staged: str) -> None:
    @check(asset="clean_orders")
    def numpy_result(orders: pd.DataFrame) -> object:
        return (orders.amount > 0).all()

    assert run_custom(numpy_result, staged).passed


def test_decorating_an_asset_spec_uses_its_key() -> None:
    class FakeSpec:  # stands for AssetSpec: anything with an AssetKey `key`
        key = AssetKey("sales/orders")

    @check(asset=FakeSpec())
    def ok(orders: pd.DataFrame) -> bool:
        return True

    assert ok.asset == AssetKey("sales/orders") and ok(pd.DataFrame()) is True


@pytest.mark.parametrize(
    "source",
    [
        "def f(a, b): return True",
        "def f(context): return True",
        "def f(a: int): return True",
        "def f(*rows): return True",
    ],
)
def test_bad_signatures_are_definition_errors(source: str) -> None:
    namespace: dict[str, object] = {}
    exec(source, namespace)
    with pytest.raises(DefinitionError):
        check(asset="x")(namespace["f"])  # type: ignore[arg-type]


def test_bad_declarations() -> None:
    with pytest.raises(DefinitionError):
        check(asset="x", severity="fatal")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError):
        check(asset="bad key!")
    with pytest.raises(DefinitionError):
        CheckResult(passed=True, severity="loud")  # type: ignore[arg-type]


def test_data_with_no_columns_is_an_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "no_columns.parquet"
    pd.DataFrame([]).to_parquet(path)
    table = pa.table({"x": [1, 2, 3]}).drop_columns(["x"])

    @check(asset="sales")
    def has_rows(sales: pd.DataFrame) -> CheckResult:
        return CheckResult(passed=len(sales) > 0, message=f"{sales.shape}")

    @check(asset="sales")
    def in_duckdb(sales: duckdb.DuckDBPyRelation) -> bool:
        return True

    assert run_custom(has_rows, str(path)).message == "(0, 0)"
    assert not run_custom(has_rows, str(path)).passed
    assert run_custom(has_rows, table).message == "(3, 0)"
    for data in (str(path), table, table.to_reader()):
        outcome = run_custom(in_duckdb, data)
        assert not outcome.passed
        assert outcome.message == (
            "check 'in_duckdb': the data has no columns, and DuckDB cannot make a relation "
            "of it (take a pd.DataFrame or pa.Table instead)"
        )
