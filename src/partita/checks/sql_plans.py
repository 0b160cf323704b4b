"""What SQL each built-in check needs: a failing-row predicate, or a subquery.

Row checks (``not_null``, ``accepted_values``, ``in_range``, ``expression``)
become one ``count(*) FILTER (WHERE <failing predicate>)`` aggregate each, so
they all share one scan. ``unique`` and ``relationship`` need a grouping or a
join, so each is a one-row subquery of the same statement. ``row_count`` uses
the scan's ``count(*)``; ``schema`` needs no query at all.

Semantics (documented in docs/checks.md):

- ``not_null``: NULL fails; NaN fails too on floating-point columns.
- ``accepted_values``: NULL is ignored (use ``not_null``); NaN fails.
- ``in_range``: NULL is ignored; NaN fails; bounds are inclusive.
- ``expression``: a row fails when the expression is FALSE; NULL passes
  (as in a SQL ``CHECK`` constraint).
- ``unique``: counts every row whose key occurs more than once; rows with a
  NULL in the key are ignored (NULLs are not equal in SQL).
- ``relationship``: a non-null value fails when it is absent from the other
  asset's column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import sqlglot
from sqlglot import exp

from partita.checks.declarations import CheckSpec, parse_expression
from partita.checks.sqltext import Sql, column_error, join, quote, require_columns
from partita.errors import DefinitionError

__all__ = [
    "BUILTIN_KINDS",
    "ROW_KINDS",
    "REL",
    "SAMPLE_ROWS",
    "SRC",
    "CheckPlan",
    "expression_columns",
    "plan_check",
    "validate_columns",
]

ROW_KINDS = frozenset({"not_null", "accepted_values", "in_range", "expression"})
BUILTIN_KINDS = ROW_KINDS | {"unique", "relationship", "row_count", "schema"}
SAMPLE_ROWS = 5
SRC = "\x00src\x00"
"""Stands for the checked data in a plan's SQL (replaced by its view name)."""
REL = "\x00rel\x00"
"""Stands for a relationship's target data in a plan's SQL."""


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """The SQL of one check, with :data:`SRC` / :data:`REL` standing for its inputs.

    Attributes:
        predicate: the failing-row predicate of a row check (over ``src``).
        subquery: a one-row query with columns ``c`` (failing rows) and ``s``
            (a list of sample rows, or NULL) for ``unique`` / ``relationship``.
        sample: the query for sample failing rows (run only when the check fails).
    """

    spec: CheckSpec
    predicate: Sql | None = None
    subquery: Sql | None = None
    sample: Sql | None = None


def _is_float(schema: pa.Schema, column: str) -> bool:
    data_type = schema.field(column).type
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return bool(pa.types.is_floating(data_type))


def expression_columns(sql: str) -> list[str]:
    """The column names an expression refers to (lambda parameters excluded)."""
    node = sqlglot.parse_one(sql, read="duckdb")
    lambda_params = {ident.name for lam in node.find_all(exp.Lambda) for ident in lam.expressions}
    names = {col.name for col in node.find_all(exp.Column) if not col.table}
    return sorted(names - lambda_params)


def validate_columns(spec: CheckSpec, schema: pa.Schema) -> None:
    """Check that the columns ``spec`` reads exist in ``schema`` (pure; for graph validation).

    ``schema`` checks are not validated here (a missing column is what they
    report). For ``expression`` the referenced columns are found with sqlglot,
    compared case-insensitively as DuckDB does.

    Raises:
        DefinitionError: naming the missing columns and the columns that exist.
    """
    if spec.kind not in BUILTIN_KINDS:
        raise DefinitionError(f"check {spec.name!r}: unknown check kind {spec.kind!r}")
    if spec.kind == "schema":
        return
    if spec.kind == "expression":
        known = {name.lower() for name in schema.names}
        sql = parse_expression(str(spec.param("sql")))
        missing = [c for c in expression_columns(sql) if c.lower() not in known]
        if missing:
            raise DefinitionError(
                column_error(spec.name, missing, schema),
                hint="fix the column name in the expression, or the asset that produces it",
            )
        return
    require_columns(spec.name, spec.columns, schema)


def _row_predicate(spec: CheckSpec, schema: pa.Schema) -> Sql:
    if spec.kind == "expression":
        return Sql(f"(({parse_expression(str(spec.param('sql')))}) IS FALSE)")
    column = spec.columns[0]
    col = quote(column)
    nan = f" OR isnan({col})" if _is_float(schema, column) else ""
    if spec.kind == "not_null":
        return Sql(f"({col} IS NULL{nan})")
    if spec.kind == "accepted_values":
        values = spec.param("values")
        assert isinstance(values, tuple)
        marks = ", ".join("?" for _ in values)
        return Sql(f"({col} IS NOT NULL AND ({col} NOT IN ({marks}){nan}))", values)
    if spec.kind == "in_range":
        outside: list[Sql] = []
        low, high = spec.param("min"), spec.param("max")
        if low is not None:
            outside.append(Sql(f"{col} < ?", (low,)))
        if high is not None:
            outside.append(Sql(f"{col} > ?", (high,)))
        if nan:
            outside.append(Sql(f"isnan({col})"))
        return "(" + col + " IS NOT NULL AND (" + join(" OR ", outside) + "))"
    raise AssertionError(f"not a row check: {spec.kind}")


def _unique(spec: CheckSpec) -> Sql:
    cols = [quote(c) for c in spec.columns]
    keys = ", ".join(cols)
    packed = ", ".join(f"{c} := {c}" for c in cols)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    groups = (
        f"SELECT {keys}, count(*) AS __n FROM {SRC} WHERE {not_null} "
        f"GROUP BY {keys} HAVING count(*) > 1"
    )
    return Sql(
        f"SELECT coalesce(sum(__n), 0)::BIGINT AS c, "
        f"arg_min(struct_pack({packed}, occurrences := __n), row({keys}), {SAMPLE_ROWS}) AS s "
        f"FROM ({groups})"
    )


def _relationship(spec: CheckSpec) -> tuple[Sql, Sql]:
    col = quote(spec.columns[0])
    target = quote(str(spec.param("to_column")))
    rows = (
        f"FROM {SRC} AS __s ANTI JOIN {REL} AS __r ON __s.{col} = __r.{target} "
        f"WHERE __s.{col} IS NOT NULL"
    )
    return (
        Sql(f"SELECT count(*) AS c, NULL AS s {rows}"),
        Sql(f"SELECT __s.* {rows} LIMIT {SAMPLE_ROWS}"),
    )


def plan_check(spec: CheckSpec, schema: pa.Schema, related: pa.Schema | None = None) -> CheckPlan:
    """The SQL for ``spec`` over data of ``schema`` (``related``: a relationship's target).

    Raises:
        DefinitionError: a column is missing (the message names the columns
            that exist), or the check's parameters cannot be used.
    """
    validate_columns(spec, schema)
    if spec.kind in ROW_KINDS:
        predicate = _row_predicate(spec, schema)
        sample = f"SELECT * FROM {SRC} WHERE " + predicate + f" LIMIT {SAMPLE_ROWS}"
        return CheckPlan(spec, predicate=predicate, sample=sample)
    if spec.kind == "unique":
        return CheckPlan(spec, subquery=_unique(spec))
    if spec.kind == "relationship":
        if related is None:
            raise AssertionError("relationship planned without the related schema")
        target = str(spec.param("to_column"))
        require_columns(spec.name, [target], related, f"asset {spec.param('to_asset')!r}")
        subquery, sample = _relationship(spec)
        return CheckPlan(spec, subquery=subquery, sample=sample)
    return CheckPlan(spec)
