"""Built-in check declarations: :class:`CheckSpec` and the functions that make one.

A check is declared on an asset (``checks=[not_null("order_id")]``) and runs
on each staged partition before it is published. ``severity="error"`` (the
default) blocks publication; ``"warn"`` publishes and records the failure.
Thresholds let a check tolerate a few failing rows
(``max_failing_rows=``) or a fraction of them (``max_failing_fraction=``).

Custom checks (``@check`` functions) are declared in
:mod:`partita.checks.custom`; :data:`AnyCheck` is either kind.
This module holds frozen values only; :mod:`partita.checks.builtin_eval`
evaluates them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from partita.checks.custom import CheckDefinition, Severity
from partita.errors import DefinitionError
from partita.keys import IDENTIFIER
from partita.mappings.base import PartitionMapping

__all__ = [
    "AnyCheck",
    "CheckSpec",
    "accepted_values",
    "declared_columns",
    "expression",
    "in_range",
    "not_null",
    "parse_expression",
    "relationship",
    "row_count",
    "schema",
    "unique",
    "undeclared_columns",
]

ParamValue = str | int | float | bool | None | tuple[object, ...]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One declared check: its kind, the column(s) it looks at, and its parameters."""

    kind: str
    name: str
    columns: tuple[str, ...] = ()
    params: tuple[tuple[str, ParamValue], ...] = field(default=())
    severity: Severity = "error"
    max_failing_rows: int | None = None
    max_failing_fraction: float | None = None
    mapping: PartitionMapping | None = None
    """For ``relationship``: which partitions of the other asset each partition is
    checked against (``None``: the mapping of an input the asset reads it through,
    else the default mapping between the two partitions definitions)."""

    def __post_init__(self) -> None:
        if self.severity not in ("error", "warn"):
            raise DefinitionError(
                f"check {self.name!r}: severity={self.severity!r} is not 'error' or 'warn'"
            )
        if self.max_failing_rows is not None and self.max_failing_rows < 0:
            raise DefinitionError(f"check {self.name!r}: max_failing_rows must be >= 0")
        if self.max_failing_fraction is not None and not 0 <= self.max_failing_fraction <= 1:
            raise DefinitionError(
                f"check {self.name!r}: max_failing_fraction must be between 0 and 1"
            )

    def param(self, name: str) -> ParamValue:
        """The value of parameter ``name`` (``None`` when not set)."""
        return dict(self.params).get(name)

    @property
    def blocking(self) -> bool:
        """Whether a failure blocks publication."""
        return self.severity == "error"


def _column(column: str, check: str) -> str:
    if not isinstance(column, str) or not column:
        raise DefinitionError(f"{check}: column must be a non-empty string, got {column!r}")
    return column


def _spec(
    kind: str,
    columns: Sequence[str],
    params: Mapping[str, ParamValue],
    severity: Severity,
    max_failing_rows: int | None,
    max_failing_fraction: float | None,
    name: str | None,
) -> CheckSpec:
    cols = tuple(_column(c, kind) for c in columns)
    default_name = "_".join((kind, *cols)) if cols else kind
    return CheckSpec(
        kind=kind,
        name=name or default_name,
        columns=cols,
        params=tuple(sorted(params.items())),
        severity=severity,
        max_failing_rows=max_failing_rows,
        max_failing_fraction=max_failing_fraction,
    )


def not_null(
    column: str,
    *,
    severity: Severity = "error",
    max_failing_rows: int | None = None,
    max_failing_fraction: float | None = None,
    name: str | None = None,
) -> CheckSpec:
    """No value of ``column`` is null (or NaN)."""
    return _spec("not_null", [column], {}, severity, max_failing_rows, max_failing_fraction, name)


def unique(
    *columns: str,
    severity: Severity = "error",
    max_failing_rows: int | None = None,
    max_failing_fraction: float | None = None,
    name: str | None = None,
) -> CheckSpec:
    """No two rows share the same values of ``columns`` within the partition."""
    if not columns:
        raise DefinitionError("unique() needs at least one column")
    return _spec("unique", columns, {}, severity, max_failing_rows, max_failing_fraction, name)


def accepted_values(
    column: str,
    values: Iterable[str | int | float | bool],
    *,
    severity: Severity = "error",
    max_failing_rows: int | None = None,
    max_failing_fraction: float | None = None,
    name: str | None = None,
) -> CheckSpec:
    """Every non-null value of ``column`` is one of ``values``."""
    allowed = tuple(values)
    if not allowed:
        raise DefinitionError(f"accepted_values({column!r}) needs at least one value")
    return _spec(
        "accepted_values",
        [column],
        {"values": allowed},
        severity,
        max_failing_rows,
        max_failing_fraction,
        name,
    )


def row_count(
    *,
    min: int | None = None,
    max: int | None = None,
    severity: Severity = "error",
    name: str | None = None,
) -> CheckSpec:
    """The partition has between ``min`` and ``max`` rows (inclusive)."""
    if min is None and max is None:
        raise DefinitionError("row_count() needs min= and/or max=")
    if min is not None and max is not None and min > max:
        raise DefinitionError(f"row_count(min={min}, max={max}): min is larger than max")
    return _spec("row_count", [], {"min": min, "max": max}, severity, None, None, name)


def in_range(
    column: str,
    *,
    min: float | None = None,
    max: float | None = None,
    severity: Severity = "error",
    max_failing_rows: int | None = None,
    max_failing_fraction: float | None = None,
    name: str | None = None,
) -> CheckSpec:
    """Every non-null value of ``column`` lies in [``min``, ``max``]."""
    if min is None and max is None:
        raise DefinitionError(f"in_range({column!r}) needs min= and/or max=")
    return _spec(
        "in_range",
        [column],
        {"min": min, "max": max},
        severity,
        max_failing_rows,
        max_failing_fraction,
        name,
    )


def schema(
    columns: Mapping[str, str],
    *,
    severity: Severity = "error",
    name: str | None = None,
) -> CheckSpec:
    """The data has these columns with these Arrow types (``{"order_id": "int64"}``)."""
    if not columns:
        raise DefinitionError("schema() needs at least one column")
    pairs = tuple((str(k), str(v)) for k, v in columns.items())
    return _spec("schema", [k for k, _ in pairs], {"types": pairs}, severity, None, None, name)


def expression(
    sql: str,
    *,
    severity: Severity = "error",
    max_failing_rows: int | None = None,
    max_failing_fraction: float | None = None,
    name: str | None = None,
) -> CheckSpec:
    """Every row satisfies the SQL boolean expression ``sql`` (``"amount >= 0"``).

    A row fails when the expression is false; a NULL result passes, as in a SQL
    ``CHECK`` constraint (combine with :func:`not_null` when NULL is wrong).
    The SQL is trusted project code in DuckDB's dialect; it must be one
    expression, not a statement (see :func:`parse_expression`).
    """
    parse_expression(sql)
    return _spec(
        "expression",
        [],
        {"sql": sql},
        severity,
        max_failing_rows,
        max_failing_fraction,
        name or "expression",
    )


def relationship(
    column: str,
    *,
    to: str,
    mapping: PartitionMapping | None = None,
    severity: Severity = "error",
    max_failing_rows: int | None = None,
    max_failing_fraction: float | None = None,
    name: str | None = None,
) -> CheckSpec:
    """Every non-null value of ``column`` exists in ``to`` (``"customers.id"``: asset.column).

    Each partition is checked against the partitions of the other asset that
    ``mapping`` selects; without one, against those of an input that reads that
    asset, or else those the default mapping selects (an unpartitioned asset:
    all of it; the same daily partitions: the same day). The other asset is a
    dependency: it is built first, and a change to the partitions read makes the
    checked partition stale. ``to`` naming the asset itself checks against the
    partition's own rows.
    """
    target, _, target_column = to.rpartition(".")
    if not target or not IDENTIFIER.fullmatch(target_column):
        raise DefinitionError(
            f"relationship({column!r}, to={to!r}): 'to' must be 'asset.column'",
            hint='e.g. relationship("customer_id", to="customers.id")',
        )
    if mapping is not None and not isinstance(mapping, PartitionMapping):
        raise DefinitionError(
            f"relationship({column!r}, to={to!r}): mapping={mapping!r} is not a partition mapping"
        )
    spec = _spec(
        "relationship",
        [column],
        {"to_asset": target, "to_column": target_column},
        severity,
        max_failing_rows,
        max_failing_fraction,
        name,
    )
    return replace(spec, mapping=mapping)


def parse_expression(sql: str) -> str:
    """Validate a check's SQL boolean expression and return it normalized (DuckDB dialect).

    The expression is trusted project code (it may call any DuckDB function);
    parsing only guards against mistakes: more than one statement, a statement
    (``SELECT``, ``DROP``...) instead of an expression, or a syntax error.
    Comments are turned into ``/* */`` form so the result can be embedded safely.

    Raises:
        DefinitionError: the text is empty, does not parse, or is not one expression.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise DefinitionError("expression() needs a SQL boolean expression")
    # sqlglot takes ~0.1 s to import: load it only for projects that declare expressions,
    # so every `partita` command of the others starts faster.
    import sqlglot  # noqa: PLC0415
    from sqlglot import exp  # noqa: PLC0415

    try:
        parsed = [node for node in sqlglot.parse(sql, read="duckdb") if node is not None]
    except sqlglot.errors.ParseError as exc:
        first = (str(exc).splitlines() or ["syntax error"])[0]
        raise DefinitionError(f"expression({sql!r}) does not parse: {first}") from None
    if len(parsed) != 1:
        raise DefinitionError(
            f"expression({sql!r}) must be one SQL expression, found {len(parsed)} statements",
            hint='write a boolean expression over the columns, e.g. "amount >= 0"',
        )
    node = parsed[0]
    if not isinstance(node, exp.Condition) or isinstance(node, exp.Query):
        raise DefinitionError(
            f"expression({sql!r}) is a {type(node).__name__} statement, not an expression",
            hint='write a boolean expression over the columns, e.g. "amount >= 0"',
        )
    normalized: str = node.sql(dialect="duckdb")
    return normalized


AnyCheck = CheckSpec | CheckDefinition
"""A built-in check or a custom ``@check`` function."""


def declared_columns(checks: Sequence[AnyCheck]) -> tuple[str, ...] | None:
    """The columns an asset declares through its ``schema(...)`` checks (``None``: none)."""
    found: list[str] = []
    declared = False
    for item in checks:
        if isinstance(item, CheckSpec) and item.kind == "schema":
            declared = True
            found.extend(c for c in item.columns if c not in found)
    return tuple(found) if declared else None


def undeclared_columns(spec: CheckSpec, columns: Sequence[str]) -> list[str]:
    """The columns ``spec`` reads that are not among ``columns`` (case-insensitive, as DuckDB).

    ``expression`` checks are judged when they run (their columns need the SQL
    parsed against the data); ``schema`` and ``row_count`` read no column.
    """
    if spec.kind in ("schema", "row_count", "expression"):
        return []
    known = {c.lower() for c in columns}
    return [c for c in spec.columns if c.lower() not in known]
