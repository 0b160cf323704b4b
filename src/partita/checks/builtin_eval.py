"""Evaluating built-in checks on one partition: one DuckDB statement for all of them.

:func:`evaluate` turns every check into SQL (:mod:`partita.checks.sql_plans`) and
runs them together: the row checks as ``count(*) FILTER (WHERE ...)``
aggregates of one scan, ``unique`` and ``relationship`` as one-row subqueries
of the same statement. Only a check that found failing rows costs a second,
small query (``LIMIT 5``) for its sample. If the combined statement fails (a
type error in one check, say), each check is run on its own so the others
still report, and the broken one fails with DuckDB's message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from partita.checks.data import NO_COLUMNS, CheckData, Relation, attach
from partita.checks.declarations import CheckSpec
from partita.checks.outcome import CheckOutcome
from partita.checks.schemas import compare_schema
from partita.checks.sql_plans import REL, SRC, CheckPlan, plan_check
from partita.checks.sqltext import Sql, join
from partita.errors import DefinitionError, PartitaError

__all__ = ["Related", "evaluate", "judge"]

Related = Callable[[str], "pa.Table | str | None"]
"""Given an asset key, its published data (a Parquet path or a table), or ``None``."""

_STAGED = "__partita_staged"


@dataclass(frozen=True, slots=True)
class _Found:
    failing: int | None
    sample: list[dict[str, Any]]
    error: str | None = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _bind(sql: Sql, staged: str, related: str | None) -> Sql:
    text = sql.text.replace(SRC, staged)
    if related is not None:
        text = text.replace(REL, related)
    return Sql(text, sql.params)


def _statement(plans: Mapping[int, CheckPlan], staged: str, related: Mapping[int, str]) -> Sql:
    aggregates = [Sql("count(*) AS total")]
    joins: list[Sql] = []
    for index, plan in plans.items():
        if plan.predicate is not None:
            aggregates.append("count(*) FILTER (WHERE " + plan.predicate + f") AS c{index}")
        elif plan.subquery is not None:
            body = _bind(plan.subquery, staged, related.get(index))
            joins.append(f" CROSS JOIN (SELECT c AS c{index}, s AS s{index} FROM (" + body + "))")
    main = "SELECT * FROM (SELECT " + join(", ", aggregates) + f" FROM {staged})"
    return main + join("", joins)


def _run(
    connection: duckdb.DuckDBPyConnection,
    plans: Mapping[int, CheckPlan],
    staged: str,
    related: Mapping[int, str],
) -> tuple[int, dict[int, _Found]]:
    statement = _statement(plans, staged, related)
    cursor = connection.execute(statement.text, list(statement.params))
    names = [column[0] for column in cursor.description or ()]
    [values] = cursor.fetchall()  # fetch to the end: DuckDB 2 refuses new work until then
    row = dict(zip(names, values, strict=True))
    found: dict[int, _Found] = {}
    for index in plans:
        failing = row.get(f"c{index}")
        sample = row.get(f"s{index}") or []
        found[index] = _Found(None if failing is None else int(failing), list(sample))
    return int(row["total"]), found


def _run_each(
    connection: duckdb.DuckDBPyConnection,
    plans: Mapping[int, CheckPlan],
    staged: str,
    related: Mapping[int, str],
) -> tuple[int, dict[int, _Found]]:
    total, _ = _run(connection, {}, staged, related)
    found: dict[int, _Found] = {}
    for index, plan in plans.items():
        try:
            found[index] = _run(connection, {index: plan}, staged, related)[1][index]
        except duckdb.Error as exc:
            found[index] = _Found(None, [], f"the check's query failed: {_first_line(exc)}")
    return total, found


def _sample(
    connection: duckdb.DuckDBPyConnection, plan: CheckPlan, staged: str, related: str | None
) -> list[dict[str, Any]]:
    if plan.sample is None:
        return []
    query = _bind(plan.sample, staged, related)
    relation = connection.sql(query.text, params=list(query.params))
    if relation is None:
        return []
    rows: list[dict[str, Any]] = relation.to_arrow_table().to_pylist()  # Arrow: time zones
    return [{k: v for k, v in row.items() if k != NO_COLUMNS} for row in rows]


def _describe(spec: CheckSpec) -> str:
    column = spec.columns[0] if spec.columns else ""
    if spec.kind == "not_null":
        return f"{column} is null or NaN"
    if spec.kind == "unique":
        return f"({', '.join(spec.columns)}) is duplicated"
    if spec.kind == "accepted_values":
        values = spec.param("values")
        return f"{column} is not one of {list(values) if isinstance(values, tuple) else values}"
    if spec.kind == "in_range":
        low, high = spec.param("min"), spec.param("max")
        low_text = "-inf" if low is None else low
        high_text = "inf" if high is None else high
        return f"{column} is outside [{low_text}, {high_text}]"
    if spec.kind == "expression":
        return f"({spec.param('sql')}) is false"
    if spec.kind == "relationship":
        return f"{column} is not in {spec.param('to_asset')}.{spec.param('to_column')}"
    return spec.kind


def _thresholds(spec: CheckSpec) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    if spec.max_failing_rows is not None:
        limits["max_failing_rows"] = spec.max_failing_rows
    if spec.max_failing_fraction is not None:
        limits["max_failing_fraction"] = spec.max_failing_fraction
    return limits


def judge(spec: CheckSpec, failing: int, total: int) -> tuple[bool, float]:
    """Whether ``failing`` of ``total`` rows is within ``spec``'s thresholds, and the fraction.

    Without thresholds any failing row fails the check. With thresholds, every
    one given must hold. An empty partition has fraction 0.
    """
    fraction = failing / total if total else 0.0
    if spec.max_failing_rows is None and spec.max_failing_fraction is None:
        return failing == 0, fraction
    rows_ok = spec.max_failing_rows is None or failing <= spec.max_failing_rows
    fraction_ok = spec.max_failing_fraction is None or fraction <= spec.max_failing_fraction
    return rows_ok and fraction_ok, fraction


def _row_outcome(
    spec: CheckSpec, found: _Found, total: int, sample: list[dict[str, Any]], **common: Any
) -> CheckOutcome:
    failing = found.failing or 0
    passed, fraction = judge(spec, failing, total)
    limits = _thresholds(spec)
    if failing == 0:
        message = f"0 of {total} rows fail"
    else:
        message = f"{failing} of {total} rows ({fraction:.2%}) fail: {_describe(spec)}"
        if limits:
            allowed = ", ".join(f"{k}={v}" for k, v in limits.items())
            message += f" ({'within' if passed else 'over'} {allowed})"
    return CheckOutcome(
        passed=passed,
        failing_rows=failing,
        total_rows=total,
        failing_fraction=fraction,
        sample=tuple(sample),
        message=message,
        metadata=limits,
        **common,
    )


def _row_count_outcome(spec: CheckSpec, total: int, **common: Any) -> CheckOutcome:
    low, high = spec.param("min"), spec.param("max")
    too_few = isinstance(low, int) and total < low
    too_many = isinstance(high, int) and total > high
    bounds = f"[{'0' if low is None else low}, {'inf' if high is None else high}]"
    verdict = "outside" if too_few or too_many else "within"
    return CheckOutcome(
        passed=not (too_few or too_many),
        total_rows=total,
        message=f"{total} rows, {verdict} {bounds}",
        metadata={"min": low, "max": high},
        **common,
    )


def _schema_outcome(spec: CheckSpec, schema: pa.Schema, **common: Any) -> CheckOutcome:
    expected = spec.param("types")
    pairs: list[tuple[str, str]] = []
    for pair in expected if isinstance(expected, tuple) else ():
        column, type_name = pair if isinstance(pair, tuple) else (pair, "")
        pairs.append((str(column), str(type_name)))
    missing, mismatched = compare_schema(pairs, schema)
    problems = [f"missing column {name!r}" for name in missing] + [
        f"{m['column']!r} is {m['actual']}, expected {m['expected']}" for m in mismatched
    ]
    if problems:
        message = "; ".join(problems) + f" (columns: {', '.join(schema.names)})"
    else:
        message = f"{len(pairs)} columns have the expected types"
    return CheckOutcome(
        passed=not problems,
        message=message,
        metadata={"missing": missing, "mismatched": mismatched},
        **common,
    )


def _error_outcome(spec: CheckSpec, message: str, **common: Any) -> CheckOutcome:
    return CheckOutcome(passed=False, message=message, metadata={"error": True}, **common)


def evaluate(
    specs: Sequence[CheckSpec],
    data: CheckData,
    *,
    partition: str | None,
    related: Related | None = None,
) -> list[CheckOutcome]:
    """Evaluate built-in checks on one partition's data; one outcome per check, in order.

    Args:
        specs: the checks (``AssetSpec.checks``).
        data: the staged Parquet file (read in place, out of core), an Arrow
            table or a RecordBatchReader (read into memory).
        partition: the partition checked (recorded in the outcomes).
        related: for ``relationship`` checks: given the target asset key,
            its published data; ``None`` (or no callable) fails the check.

    A check that cannot run (a missing column, a type error in its SQL, a
    missing related asset) does not raise: its outcome fails with a message
    saying why. Errors reading ``data`` itself raise.

    Raises:
        StorageError: ``data`` cannot be read.
        DefinitionError: an item of ``specs`` is not a :class:`CheckSpec`.
    """
    for spec in specs:
        if not isinstance(spec, CheckSpec):
            raise DefinitionError(
                f"evaluate() takes built-in checks (CheckSpec), got {spec!r}",
                hint="run custom checks with partita.checks.custom_eval.run_custom",
            )
    connection = duckdb.connect()
    try:
        return _evaluate(connection, list(specs), data, partition, related)
    finally:
        connection.close()


def _prepare(
    connection: duckdb.DuckDBPyConnection,
    specs: list[CheckSpec],
    staged: Relation,
    related: Related | None,
) -> tuple[dict[int, CheckPlan], dict[int, str], dict[int, str]]:
    plans: dict[int, CheckPlan] = {}
    targets: dict[int, str] = {}
    errors: dict[int, str] = {}
    for index, spec in enumerate(specs):
        try:
            target_schema = None
            if spec.kind == "relationship":
                asset = str(spec.param("to_asset"))
                target = related(asset) if related is not None else None
                if target is None:
                    errors[index] = (
                        f"check {spec.name!r}: asset {asset!r} has no published data "
                        "to check against"
                    )
                    continue
                relation = attach(connection, target, f"__partita_related_{index}")
                targets[index], target_schema = relation.source, relation.schema
            plans[index] = plan_check(spec, staged.schema, target_schema)
        except PartitaError as exc:
            errors[index] = exc.message
    return plans, targets, errors


def _evaluate(
    connection: duckdb.DuckDBPyConnection,
    specs: list[CheckSpec],
    data: CheckData,
    partition: str | None,
    related: Related | None,
) -> list[CheckOutcome]:
    staged = attach(connection, data, _STAGED)
    plans, targets, errors = _prepare(connection, specs, staged, related)
    started = time.perf_counter()
    try:
        total, found = _run(connection, plans, staged.source, targets)
    except duckdb.Error:
        total, found = _run_each(connection, plans, staged.source, targets)
    scan_s = time.perf_counter() - started
    outcomes: list[CheckOutcome] = []
    for index, spec in enumerate(specs):
        common: dict[str, Any] = {
            "name": spec.name,
            "kind": spec.kind,
            "severity": spec.severity,
            "partition": partition,
        }
        if index in errors:
            outcomes.append(_error_outcome(spec, errors[index], total_rows=total, **common))
        elif spec.kind == "row_count":
            outcomes.append(_row_count_outcome(spec, total, duration_s=scan_s, **common))
        elif spec.kind == "schema":
            outcomes.append(_schema_outcome(spec, staged.schema, **common))
        elif found[index].error is not None:
            message = f"check {spec.name!r}: {found[index].error}"
            outcomes.append(_error_outcome(spec, message, total_rows=total, **common))
        else:
            began = time.perf_counter()
            sample = found[index].sample
            if found[index].failing and not sample:
                try:
                    sample = _sample(connection, plans[index], staged.source, targets.get(index))
                except (duckdb.Error, pa.ArrowException) as exc:  # the count stands
                    sample = [{"sample_error": _first_line(exc)}]
            took = scan_s + time.perf_counter() - began
            outcomes.append(
                _row_outcome(spec, found[index], total, sample, duration_s=took, **common)
            )
    return outcomes
