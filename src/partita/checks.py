"""Data-quality check declarations.

A check is declared on an asset (``checks=[not_null("order_id")]``) and runs
on each staged partition before it is published. ``severity="error"`` (the
default) blocks publication; ``"warn"`` publishes and records the failure.
Thresholds let a check tolerate a few failing rows
(``max_failing_rows=``) or a fraction of them (``max_failing_fraction=``).

This module holds the frozen declarations; evaluating them is the runner's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from partita.errors import DefinitionError
from partita.keys import IDENTIFIER

__all__ = [
    "CheckSpec",
    "Severity",
    "accepted_values",
    "expression",
    "in_range",
    "not_null",
    "relationship",
    "row_count",
    "schema",
    "unique",
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
    """Every row satisfies the SQL boolean expression ``sql`` (``"amount >= 0"``)."""
    if not sql.strip():
        raise DefinitionError("expression() needs a SQL boolean expression")
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
