"""Data-quality check declarations.

A check is declared on an asset (``checks=[not_null("order_id")]``) and runs
on each staged partition before it is published. ``severity="error"`` (the
default) blocks publication; ``"warn"`` publishes and records the failure.
Thresholds let a check tolerate a few failing rows
(``max_failing_rows=``) or a fraction of them (``max_failing_fraction=``).

Custom checks are functions decorated with :func:`check`; they receive the
staged data (typed like an asset input) and return a :class:`CheckResult` or a
bool.

This module holds the frozen declarations; :mod:`partita.audit` evaluates them.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from partita.context import AssetContext
from partita.errors import DefinitionError
from partita.keys import IDENTIFIER, AssetKey, AssetKeyLike

__all__ = [
    "AnyCheck",
    "CheckDefinition",
    "CheckResult",
    "CheckSpec",
    "DataKind",
    "Severity",
    "accepted_values",
    "check",
    "data_kind",
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

Severity = Literal["error", "warn"]
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
    severity: Severity = "error",
    max_failing_rows: int | None = None,
    max_failing_fraction: float | None = None,
    name: str | None = None,
) -> CheckSpec:
    """Every non-null value of ``column`` exists in ``to`` (``"customers.id"``: asset.column)."""
    target, _, target_column = to.rpartition(".")
    if not target or not IDENTIFIER.fullmatch(target_column):
        raise DefinitionError(
            f"relationship({column!r}, to={to!r}): 'to' must be 'asset.column'",
            hint='e.g. relationship("customer_id", to="customers.id")',
        )
    return _spec(
        "relationship",
        [column],
        {"to_asset": target, "to_column": target_column},
        severity,
        max_failing_rows,
        max_failing_fraction,
        name,
    )


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


DataKind = Literal["pandas", "table", "reader", "relation"]

_KIND_NAMES: dict[str, DataKind] = {
    "DataFrame": "pandas",
    "pd.DataFrame": "pandas",
    "pandas.DataFrame": "pandas",
    "Table": "table",
    "pa.Table": "table",
    "pyarrow.Table": "table",
    "RecordBatchReader": "reader",
    "pa.RecordBatchReader": "reader",
    "pyarrow.RecordBatchReader": "reader",
    "DuckDBPyRelation": "relation",
    "duckdb.DuckDBPyRelation": "relation",
}


def data_kind(annotation: Any) -> DataKind | None:
    """How data annotated ``annotation`` is loaded, or ``None`` for an unknown type.

    No annotation means a pandas DataFrame; ``X | None`` means ``X``; string
    annotations (``"pd.DataFrame"``) are understood.
    """
    if annotation is None or annotation is inspect.Parameter.empty or annotation is Any:
        return "pandas"
    if isinstance(annotation, str):
        name = annotation.replace(" ", "").removesuffix("|None").removeprefix("None|")
        return _KIND_NAMES.get(name)
    if typing.get_origin(annotation) in (typing.Union, typing.get_origin(int | None)):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return data_kind(args[0]) if len(args) == 1 else None
    if isinstance(annotation, type):
        module = annotation.__module__.split(".")[0]
        qualified = {
            ("pandas", "DataFrame"): "pandas",
            ("pyarrow", "Table"): "table",
            ("pyarrow", "RecordBatchReader"): "reader",
            ("duckdb", "DuckDBPyRelation"): "relation",
            ("_duckdb", "DuckDBPyRelation"): "relation",
        }
        found = qualified.get((module, annotation.__name__))
        return typing.cast(DataKind | None, found)
    return None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a custom check function returns.

    Attributes:
        passed: whether the data is acceptable.
        severity: overrides the check's declared severity for this result
            (``None``: the declared one).
        metadata: JSON-serializable details recorded with the result.
        message: one line shown with the result.
    """

    passed: bool
    severity: Severity | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        if self.severity not in (None, "error", "warn"):
            raise DefinitionError(
                f"CheckResult severity={self.severity!r} is not 'error', 'warn' or None"
            )
        object.__setattr__(self, "passed", bool(self.passed))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))


@dataclass(frozen=True, eq=False)
class CheckDefinition:
    """A custom check declared with :func:`check`: a frozen value holding the function.

    Attributes:
        asset: the asset whose staged data the check receives.
        name: the check's name (default: the function name).
        severity: ``"error"`` blocks publication, ``"warn"`` only records.
        description: default: the docstring.
        fn: the decorated function.
        data_param: the parameter receiving the data.
        data_kind: how the data is loaded (``"pandas"``, ``"table"``,
            ``"reader"`` or ``"relation"``).
        context_param: the parameter receiving the step context, if any.
    """

    asset: AssetKey
    name: str
    severity: Severity
    description: str
    fn: Callable[..., Any]
    data_param: str
    data_kind: DataKind
    context_param: str | None = None

    kind = "custom"

    @property
    def blocking(self) -> bool:
        """Whether a failure blocks publication."""
        return self.severity == "error"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the decorated function (checks stay unit-testable)."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<check {self.name} on {self.asset}>"


def _asset_of(asset: object) -> AssetKey:
    key = getattr(asset, "key", None)
    if isinstance(key, AssetKey):  # an AssetSpec (checks cannot import assets)
        return key
    return AssetKey.parse(typing.cast(AssetKeyLike, asset))


def check(
    *,
    asset: AssetKeyLike | object,
    severity: Severity = "error",
    name: str | None = None,
    description: str | None = None,
) -> Callable[[Callable[..., Any]], CheckDefinition]:
    """Declare a custom check on ``asset``'s staged data::

        @check(asset="clean_orders", severity="warn")
        def amounts_look_sane(orders: pd.DataFrame) -> CheckResult:
            share = float((orders.amount > 10_000).mean())
            return CheckResult(passed=share < 0.01, metadata={"share": share})

    The function takes one data parameter, annotated like an asset input
    (``pd.DataFrame`` by default, ``pa.Table``, ``pa.RecordBatchReader`` or
    ``duckdb.DuckDBPyRelation``), and optionally ``context``. It returns a
    :class:`CheckResult` or a bool. An exception counts as a failed check.
    """
    if severity not in ("error", "warn"):
        raise DefinitionError(f"@check: severity={severity!r} is not 'error' or 'warn'")
    key = _asset_of(asset)

    def decorate(fn: Callable[..., Any]) -> CheckDefinition:
        if not callable(fn):
            raise DefinitionError(f"@check decorates a function, got {fn!r}")
        check_name = name or fn.__name__
        if not IDENTIFIER.fullmatch(check_name):
            raise DefinitionError(f"@check: name {check_name!r} is not an identifier")
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # unresolvable forward references: use what is written
            hints = {
                n: p.annotation
                for n, p in inspect.signature(fn).parameters.items()
                if p.annotation is not inspect.Parameter.empty
            }
        context_param: str | None = None
        data_params: list[str] = []
        for param_name, param in inspect.signature(fn).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise DefinitionError(f"check {check_name}: *args / **kwargs are not supported")
            if param_name == "context" or hints.get(param_name) is AssetContext:
                context_param = param_name
            else:
                data_params.append(param_name)
        if len(data_params) != 1:
            raise DefinitionError(
                f"check {check_name}: the function takes one data parameter "
                f"(and optionally 'context'), got ({', '.join(data_params)})"
            )
        kind = data_kind(hints.get(data_params[0]))
        if kind is None:
            raise DefinitionError(
                f"check {check_name}: cannot load data as {hints.get(data_params[0])!r}",
                hint="annotate it as pd.DataFrame, pa.Table, pa.RecordBatchReader "
                "or duckdb.DuckDBPyRelation",
            )
        return CheckDefinition(
            asset=key,
            name=check_name,
            severity=severity,
            description=description
            if description is not None
            else inspect.cleandoc(fn.__doc__ or ""),
            fn=fn,
            data_param=data_params[0],
            data_kind=kind,
            context_param=context_param,
        )

    return decorate


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
