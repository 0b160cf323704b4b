"""Custom check declarations: the :func:`check` decorator and what it builds.

A custom check is a function decorated with :func:`check`; it receives an
asset's staged data (typed like an asset input, see
:func:`partita.datatypes.data_kind`) and returns a :class:`CheckResult` or a
bool. The decorator freezes it into a :class:`CheckDefinition`;
:mod:`partita.checks.custom_eval` runs it.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, SupportsIndex

from partita.context import AssetContext
from partita.datatypes import DataKind, data_kind
from partita.errors import DefinitionError
from partita.keys import IDENTIFIER, AssetKey, AssetKeyLike
from partita.references import global_reference

__all__ = [
    "CheckDefinition",
    "CheckResult",
    "Severity",
    "check",
]

Severity = Literal["error", "warn"]
"""``"error"`` blocks publication; ``"warn"`` publishes and records the failure."""


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

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """Pickled by reference to the module global it is (see :mod:`partita.references`)."""
        return global_reference(self, self.fn) or super().__reduce_ex__(protocol)

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
