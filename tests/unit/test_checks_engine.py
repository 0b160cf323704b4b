"""The check engine on real Parquet files: each built-in check's edge cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partita.checks import (
    CheckSpec,
    accepted_values,
    expression,
    in_range,
    not_null,
    relationship,
    row_count,
    schema,
    unique,
)
from partita.checks.builtin_eval import evaluate
from partita.checks.outcome import CheckOutcome, blocking_failures
from partita.checks.sql_plans import validate_columns
from partita.errors import DefinitionError, StorageError

NAN = float("nan")
EVIL = 'a"; drop table x; --'


def write(tmp_path: Path, table: pa.Table, name: str = "staged") -> str:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    return str(path)


def one(spec: CheckSpec, data: object, **kwargs: object) -> CheckOutcome:
    [outcome] = evaluate([spec], data, partition="2025-01-01", **kwargs)  # type: ignore[arg-type]
    assert outcome.name == spec.name and outcome.partition == "2025-01-01"
    return outcome


@pytest.fixture
def orders(tmp_path: Path) -> str:
    return write(
        tmp_path,
        pa.table(
            {
                "order_id": pa.array([1, 2, 2, 4, None], pa.int64()),
                "amount": pa.array([10.0, NAN, None, -5.0, 3.0]),
                "status": pa.array(["paid", "refunded", "lost", None, "paid"]),
                "customer_id": pa.array([100, 101, 999, None, 100], pa.int64()),
            }
        ),
    )


def test_not_null_counts_null_and_nan(orders: str) -> None:
    ids = one(not_null("order_id"), orders)
    assert (ids.passed, ids.failing_rows, ids.total_rows) == (False, 1, 5)
    assert ids.failing_fraction == pytest.approx(0.2)
    assert ids.sample[0]["order_id"] is None
    amounts = one(not_null("amount"), orders)
    assert amounts.failing_rows == 2
    assert {row["amount"] for row in amounts.sample} == {"NaN", None}
    assert "null or NaN" in amounts.message


def test_unique_counts_every_row_of_a_duplicated_key_and_ignores_nulls(tmp_path: Path) -> None:
    data = write(tmp_path, pa.table({"k": [1, 2, 2, 3, 3, 3, None, None]}))
    outcome = one(unique("k"), data)
    assert outcome.failing_rows == 5
    assert [dict(r) for r in outcome.sample] == [
        {"k": 2, "occurrences": 2},
        {"k": 3, "occurrences": 3},
    ]


def test_unique_on_several_columns(tmp_path: Path) -> None:
    data = write(tmp_path, pa.table({"a": [1, 1, 1, 2], "b": ["x", "x", "y", "x"]}))
    outcome = one(unique("a", "b"), data)
    assert outcome.failing_rows == 2
    assert dict(outcome.sample[0]) == {"a": 1, "b": "x", "occurrences": 2}


def test_accepted_values_ignores_nulls_and_binds_values(orders: str) -> None:
    outcome = one(accepted_values("status", ["paid", "refunded"]), orders)
    assert (outcome.failing_rows, outcome.sample[0]["status"]) == (1, "lost")
    quoted = one(accepted_values("status", ["paid'; drop table x; --", "paid"]), orders)
    assert quoted.failing_rows == 2  # the odd value is a value, not SQL


def test_accepted_values_with_a_value_of_the_wrong_type_fails_clearly(orders: str) -> None:
    outcomes = evaluate(
        [accepted_values("order_id", ["a"]), not_null("order_id")], orders, partition=None
    )
    assert not outcomes[0].passed and "query failed" in outcomes[0].message
    assert outcomes[0].failing_rows is None
    assert outcomes[1].failing_rows == 1  # the other check still ran


def test_in_range_ignores_null_and_fails_nan(orders: str) -> None:
    outcome = one(in_range("amount", min=0), orders)
    assert outcome.failing_rows == 2  # -5.0 and NaN
    assert one(in_range("amount", min=-10, max=20), orders).failing_rows == 1  # NaN
    assert one(in_range("order_id", max=2), orders).failing_rows == 1
    assert one(in_range("order_id", min=1.5), orders).failing_rows == 1  # no rounding of bounds


def test_row_count_bounds_and_empty_partition(tmp_path: Path, orders: str) -> None:
    assert one(row_count(min=1, max=5), orders).passed
    too_many = one(row_count(max=4), orders)
    assert not too_many.passed and "5 rows" in too_many.message
    empty = write(tmp_path, pa.table({"x": pa.array([], pa.int64())}), "empty")
    assert not one(row_count(min=1), empty).passed
    outcomes = evaluate([not_null("x"), unique("x"), in_range("x", min=0)], empty, partition=None)
    assert all(o.passed and o.total_rows == 0 and o.failing_fraction == 0 for o in outcomes)


def test_all_failing(tmp_path: Path) -> None:
    data = write(tmp_path, pa.table({"x": pa.array([None] * 20, pa.float64())}))
    outcome = one(not_null("x"), data)
    assert (outcome.failing_rows, outcome.failing_fraction, len(outcome.sample)) == (20, 1.0, 5)


@pytest.mark.parametrize(
    ("spec", "passed"),
    [
        (not_null("x", max_failing_rows=3), True),
        (not_null("x", max_failing_rows=2), False),
        (not_null("x", max_failing_fraction=0.3), True),
        (not_null("x", max_failing_fraction=0.29), False),
        (not_null("x", max_failing_rows=3, max_failing_fraction=0.2), False),
        (not_null("x", max_failing_rows=0), False),
    ],
)
def test_thresholds(tmp_path: Path, spec: CheckSpec, passed: bool) -> None:
    data = write(tmp_path, pa.table({"x": [1, None, 3, None, 5, 6, None, 8, 9, 10]}))
    outcome = one(spec, data)
    assert (outcome.failing_rows, outcome.passed) == (3, passed)
    assert ("within" if passed else "over") in outcome.message


def test_schema_types_and_equivalences(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1], pa.int64()),
            "name": pa.array(["a"], pa.large_string()),
            "at": pa.array([0], pa.timestamp("us", tz="UTC")),
            "code": pa.array(["x"]).dictionary_encode(),
            "price": pa.array([1.5], pa.float64()),
        }
    )
    data = write(tmp_path, table)
    ok = schema(
        {"id": "int64", "name": "string", "at": "timestamp", "code": "str", "price": "float64"}
    )
    assert one(ok, data).passed
    assert one(schema({"at": "timestamp[us, tz=UTC]", "name": "large_string"}), data).passed
    bad = one(schema({"id": "int32", "at": "timestamp[ns]", "gone": "string"}), data)
    assert not bad.passed
    assert bad.metadata["missing"] == ["gone"]
    assert [m["column"] for m in bad.metadata["mismatched"]] == ["id", "at"]
    assert "'id' is int64, expected int32" in bad.message


def test_expression_null_passes_false_fails(tmp_path: Path) -> None:
    data = write(tmp_path, pa.table({"a": [1, -1, None], "b": [1, 1, 1]}))
    assert one(expression("a >= 0"), data).failing_rows == 1
    assert one(expression("a >= 0 -- trailing comment"), data).failing_rows == 1
    assert one(expression("coalesce(a, -1) >= 0"), data).failing_rows == 2
    assert one(expression("a + b > 0"), data).failing_rows == 1


@pytest.mark.parametrize("sql", ["a > 0; drop table x", "select 1", "drop table x", "a >"])
def test_expression_rejects_statements(sql: str) -> None:
    with pytest.raises(DefinitionError):
        expression(sql)


def test_relationship_with_present_and_missing_target(tmp_path: Path, orders: str) -> None:
    customers = pa.table({"id": pa.array([100, 101], pa.int64())})
    as_path = write(tmp_path, customers, "customers")
    seen: list[str] = []

    def related(asset: str) -> str:
        seen.append(asset)
        return as_path

    outcome = one(relationship("customer_id", to="customers.id"), orders, related=related)
    assert seen == ["customers"]
    assert (outcome.failing_rows, outcome.sample[0]["customer_id"]) == (1, 999)
    from_table = one(
        relationship("customer_id", to="customers.id"), orders, related=lambda _: customers
    )
    assert from_table.failing_rows == 1
    missing = one(relationship("customer_id", to="customers.id"), orders, related=lambda _: None)
    assert not missing.passed and "'customers' has no published data" in missing.message
    no_callable = one(relationship("customer_id", to="customers.id"), orders)
    assert not no_callable.passed
    wrong = one(
        relationship("customer_id", to="customers.cid"), orders, related=lambda _: customers
    )
    assert "column 'cid' not found in asset 'customers'; columns: 'id'" in wrong.message


def test_missing_column_names_it_and_the_existing_columns(orders: str) -> None:
    outcome = one(not_null("orderid"), orders)
    assert not outcome.passed and outcome.blocking
    assert outcome.message == (
        "check 'not_null_orderid': column 'orderid' not found; "
        "columns: 'order_id', 'amount', 'status', 'customer_id'"
    )
    assert "column 'amout' not found" in one(expression("amout > 0"), orders).message


def test_validate_columns_is_pure_and_raises(orders: str) -> None:
    schema_ = pq.read_schema(orders)
    validate_columns(unique("order_id"), schema_)
    validate_columns(expression("list_filter([amount], y -> y > 0) IS NOT NULL"), schema_)
    validate_columns(schema({"gone": "int64"}), schema_)  # missing is what schema() reports
    with pytest.raises(DefinitionError, match="columns 'x', 'y' not found"):
        validate_columns(unique("x", "y"), schema_)
    with pytest.raises(DefinitionError, match="column 'AMOUNTS' not found"):
        validate_columns(expression("AMOUNTS > 0"), schema_)
    validate_columns(expression("AMOUNT > 0"), schema_)  # DuckDB identifiers ignore case


def test_injection_like_column_names_are_quoted(tmp_path: Path) -> None:
    data = write(tmp_path, pa.table({EVIL: [1, 1, None], "ok": [1, 2, 3]}))
    outcomes = evaluate(
        [not_null(EVIL), unique(EVIL), accepted_values(EVIL, [1]), in_range(EVIL, max=0)],
        data,
        partition=None,
    )
    assert [o.failing_rows for o in outcomes] == [1, 2, 0, 2]
    assert outcomes[1].sample[0][EVIL] == 1
    assert pq.read_table(data).num_rows == 3  # nothing was executed as SQL


def test_arrow_table_and_reader_inputs_give_the_same_outcomes(tmp_path: Path) -> None:
    table = pa.table({"x": [1, None, 2, 2]})
    specs = [not_null("x"), unique("x"), row_count(min=1)]
    by_path = evaluate(specs, write(tmp_path, table), partition=None)
    by_table = evaluate(specs, table, partition=None)
    by_reader = evaluate(specs, table.to_reader(), partition=None)
    for a, b, c in zip(by_path, by_table, by_reader, strict=True):
        assert (
            (a.passed, a.failing_rows) == (b.passed, b.failing_rows) == (c.passed, c.failing_rows)
        )


def test_unreadable_data_raises(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        evaluate([not_null("x")], tmp_path / "missing.parquet", partition=None)
    with pytest.raises(DefinitionError):
        evaluate(["not a check"], pa.table({"x": [1]}), partition=None)  # type: ignore[list-item]


def test_outcome_json_is_strict_and_round_trips(tmp_path: Path) -> None:
    table = pa.table(
        {
            "v": pa.array([NAN, math.inf, None]),
            "at": pa.array([0, 1, 2], pa.timestamp("us", tz="UTC")),
            "b": pa.array([b"\x00", b"\x01", b"\x02"]),
            "d": pa.array([1, 2, 3], pa.int64()).cast(pa.decimal128(21, 2)),
        }
    )
    outcomes = evaluate(
        [in_range("v", max=1), not_null("v", severity="warn")], table, partition="p"
    )
    for outcome in outcomes:
        text = outcome.to_json()
        assert CheckOutcome.from_dict(json.loads(text)).to_json() == text
    assert outcomes[0].sample[0]["at"] == "1970-01-01T00:00:00+00:00"
    assert blocking_failures(outcomes) == [outcomes[0]]  # the warn failure does not block
    assert not outcomes[1].passed and not outcomes[1].blocking


def _no_columns(tmp_path: Path) -> list[object]:
    """Data with no columns: the Parquet file of ``pd.DataFrame([])``, and an Arrow table
    (and reader) of 3 rows and no columns."""
    path = tmp_path / "no_columns.parquet"
    pd.DataFrame([]).to_parquet(path)
    table = pa.table({"x": [1, 2, 3]}).drop_columns(["x"])
    return [str(path), table, table.to_reader()]


def test_data_with_no_columns_is_its_rows_and_no_columns(tmp_path: Path) -> None:
    expected_rows = [0, 3, 3]
    for data, rows in zip(_no_columns(tmp_path), expected_rows, strict=True):
        counted, low, missing, typed, always_false = evaluate(
            [
                row_count(max=3),
                row_count(min=1, name="at_least_one"),
                not_null("x"),
                schema({"x": "int64"}),
                expression("1 = 0"),
            ],
            data,  # type: ignore[arg-type]
            partition=None,
        )
        assert counted.passed and counted.total_rows == rows
        assert counted.message == f"{rows} rows, within [0, 3]"
        assert low.passed is (rows >= 1)
        assert not missing.passed and "column 'x' not found; columns: (none)" in missing.message
        assert not typed.passed and "missing column 'x'" in typed.message
        assert always_false.failing_rows == rows and always_false.total_rows == rows
        assert all(row == {} for row in always_false.sample)  # no hidden column shows
