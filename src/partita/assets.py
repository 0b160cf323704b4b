"""Declaring assets: ``@asset``, :class:`In`, :class:`AssetSpec` (sources: :mod:`partita.sources`).

An asset is a function whose result is persisted, one partition at a time::

    @asset(partitions=DailyPartitions(start="2025-01-01"), group="sales")
    def clean_orders(context, raw_orders: pd.DataFrame) -> pd.DataFrame:
        return raw_orders[raw_orders.amount > 0]

Parameters name the inputs: ``raw_orders`` reads the asset of that name (the
asset graph resolves names). ``ins=`` gives a parameter another key or a
partition mapping; ``deps=`` adds order-only dependencies. A parameter named
``context`` (or annotated :class:`AssetContext`) receives the step context; a
parameter annotated with a pydantic model receives the validated run-time
config. The decorated object stays callable like the original function.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, SupportsIndex, overload

from partita.alert_targets import AlertTarget, targets_of
from partita.checks import AnyCheck, CheckDefinition, CheckSpec
from partita.context import AssetContext
from partita.errors import DefinitionError
from partita.keys import AssetKey, AssetKeyLike
from partita.mappings import PartitionMapping
from partita.partitions import PartitionsDefinition

if TYPE_CHECKING:  # pydantic (~0.1 s) is imported by the projects whose assets take config
    from pydantic import BaseModel

    from partita.sql.model import SqlModel
from partita.policies import Freshness, RetryPolicy, parse_duration
from partita.references import global_reference

__all__ = ["AssetDep", "AssetSpec", "In", "asset", "check_common", "make_key"]

AssetKind = Literal["asset", "source"]


@dataclass(frozen=True, slots=True)
class In:
    """How a parameter reads an upstream asset.

    Args:
        key: the upstream asset (a key, or the decorated asset itself);
            default: the parameter's name.
        mapping: which upstream partitions each downstream partition reads;
            default: identity for equal partitions, all partitions for an
            unpartitioned downstream.
        partition_columns: hand the parameter the upstream's partition columns
            (``date``, ``region``...) that a read adds, time dimensions typed
            (``date`` for daily, weekly and monthly, a UTC timestamp for
            hourly); by default they are left out (columns the upstream wrote
            itself are always kept).
    """

    key: AssetKeyLike | AssetSpec | None = None
    mapping: PartitionMapping | None = None
    partition_columns: bool = False


@dataclass(frozen=True, slots=True)
class AssetDep:
    """One declared dependency of an asset, before the graph resolves names.

    ``param`` is the function parameter that receives the data (``None`` for an
    order-only dependency); ``key`` is ``None`` when the graph resolves the
    parameter's name to an asset; ``partition_columns`` as in :class:`In`.
    """

    param: str | None
    key: AssetKey | None
    mapping: PartitionMapping | None = None
    partition_columns: bool = False

    @property
    def name(self) -> str:
        """The key as written, or the parameter name when the key is implied."""
        return str(self.key) if self.key is not None else str(self.param)


@dataclass(frozen=True, eq=False)
class AssetSpec:
    """A declared asset or source: a frozen value built by ``@asset`` / ``@source``.

    Calling it calls the underlying function, so assets stay unit-testable.
    """

    key: AssetKey
    kind: AssetKind
    fn: Callable[..., Any] | None
    partitions: PartitionsDefinition | None = None
    deps: tuple[AssetDep, ...] = ()
    code_version: str | None = None
    group: str = "default"
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    retry: RetryPolicy | None = None
    timeout: float | None = None
    freshness: Freshness | None = None
    checks: tuple[AnyCheck, ...] = ()
    store: object | None = None
    batch: bool = False
    context_param: str | None = None
    config_param: str | None = None
    config_model: type[BaseModel] | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)
    sql_model: SqlModel | None = None
    """A SQL asset's query (:class:`partita.sql.SqlModel`: ``query``, ``dialect``,
    ``column_lineage``...); ``None`` for a Python asset."""
    pool: str | None = None
    on_failure: tuple[AlertTarget, ...] = ()
    on_freshness_violation: tuple[AlertTarget, ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function the asset was declared with."""
        if self.fn is None:
            raise DefinitionError(f"{self.kind} {self.key} has no function to call")
        return self.fn(*args, **kwargs)

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """Pickled by reference to the module global it is (see :mod:`partita.references`)."""
        return global_reference(self, self.fn) or super().__reduce_ex__(protocol)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.key}>"

    @property
    def is_source(self) -> bool:
        """Whether this is a source (observed, never built)."""
        return self.kind == "source"

    @property
    def input_params(self) -> tuple[str, ...]:
        """The parameters that receive upstream data, in signature order."""
        return tuple(d.param for d in self.deps if d.param is not None)


def _is_model(annotation: object) -> bool:
    # a pydantic model exists only once pydantic is imported: no need to import it here
    pydantic = sys.modules.get("pydantic")
    return (
        pydantic is not None
        and isinstance(annotation, type)
        and issubclass(annotation, pydantic.BaseModel)
    )


def _resolved_annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # forward references not resolvable yet: keep what is written
        return {
            name: p.annotation
            for name, p in inspect.signature(fn).parameters.items()
            if p.annotation is not inspect.Parameter.empty
        }


def _dep_key(value: AssetKeyLike | AssetSpec, where: str) -> AssetKey:
    if isinstance(value, AssetSpec):
        return value.key
    try:
        return AssetKey.parse(value)
    except DefinitionError as exc:
        raise DefinitionError(f"{where}: {exc.message}", hint=exc.hint) from None


def _analyse(
    fn: Callable[..., Any],
    key: AssetKey,
    ins: Mapping[str, In | AssetKeyLike | AssetSpec],
    deps: Iterable[AssetKeyLike | AssetSpec],
) -> tuple[tuple[AssetDep, ...], str | None, str | None, type[BaseModel] | None, dict[str, Any]]:
    where = f"asset {key}"
    annotations = _resolved_annotations(fn)
    params = inspect.signature(fn).parameters
    unknown = set(ins) - set(params)
    if unknown:
        raise DefinitionError(
            f"{where}: ins= names {sorted(unknown)} which are not parameters of "
            f"{fn.__name__}{inspect.signature(fn)}"
        )
    context_param = config_param = None
    config_model: type[BaseModel] | None = None
    declared: list[AssetDep] = []
    for name, param in params.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise DefinitionError(f"{where}: *args / **kwargs parameters are not supported")
        annotation = annotations.get(name)
        if name in ins:
            spec = ins[name]
            if isinstance(spec, In):
                dep_key = None if spec.key is None else _dep_key(spec.key, where)
                declared.append(AssetDep(name, dep_key, spec.mapping, spec.partition_columns))
            else:
                declared.append(AssetDep(name, _dep_key(spec, where)))
        elif name == "context" or annotation is AssetContext:
            context_param = name
        elif _is_model(annotation):
            if config_param is not None:
                raise DefinitionError(
                    f"{where}: two config parameters ({config_param}, {name}); use one model"
                )
            config_param, config_model = name, annotation
        else:
            declared.append(AssetDep(name, None))
    for dep in deps:
        declared.append(AssetDep(None, _dep_key(dep, where)))
    return tuple(declared), context_param, config_param, config_model, annotations


def make_key(name: str, key: AssetKeyLike | None, key_prefix: AssetKeyLike | None) -> AssetKey:
    """The key of a declaration: ``key`` as given, or ``name`` under ``key_prefix``."""
    if key is not None and key_prefix is not None:
        raise DefinitionError(f"{name}: give key= or key_prefix=, not both")
    if key is not None:
        return AssetKey.parse(key)
    base = AssetKey(name)
    return base.with_prefix(AssetKey.parse(key_prefix).path) if key_prefix is not None else base


def check_common(
    key: AssetKey,
    partitions: object,
    group: str,
    tags: Mapping[str, str],
    checks: Sequence[AnyCheck],
) -> None:
    """Validate what assets and sources declare alike (key, partitions, group, tags,
    checks)."""
    if partitions is not None and not isinstance(partitions, PartitionsDefinition):
        raise DefinitionError(
            f"{key}: partitions= must be a partitions definition such as "
            f"DailyPartitions(...), got {type(partitions).__name__}"
        )
    if not group or not isinstance(group, str):
        raise DefinitionError(f"{key}: group must be a non-empty string")
    for tag_key, tag_value in tags.items():
        if not isinstance(tag_key, str) or not isinstance(tag_value, str):
            raise DefinitionError(f"{key}: tags must map strings to strings")
    names: set[str] = set()
    for check in checks:
        if isinstance(check, CheckDefinition) and check.asset != key:
            raise DefinitionError(
                f"{key}: check {check.name!r} in checks= is declared on {check.asset}",
                hint=f"declare it with @check(asset={str(key)!r}), or list it in "
                "Definitions(checks=[...])",
            )
        if not isinstance(check, CheckSpec | CheckDefinition):
            raise DefinitionError(
                f"{key}: checks= takes checks such as not_null('id') or @check "
                f"functions, got {check!r}"
            )
        if check.name in names:
            raise DefinitionError(
                f"{key}: two checks are named {check.name!r}",
                hint="give one of them another name with name=...",
            )
        names.add(check.name)


@overload
def asset(fn: Callable[..., Any], /) -> AssetSpec: ...


@overload
def asset(
    fn: None = None,
    /,
    *,
    key: AssetKeyLike | None = None,
    key_prefix: AssetKeyLike | None = None,
    partitions: PartitionsDefinition | None = None,
    ins: Mapping[str, In | AssetKeyLike | AssetSpec] | None = None,
    deps: Iterable[AssetKeyLike | AssetSpec] = (),
    code_version: str | None = None,
    group: str = "default",
    owners: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | str | None = None,
    freshness: Freshness | None = None,
    checks: Sequence[AnyCheck] = (),
    store: object | None = None,
    batch: bool = False,
    pool: str | None = None,
    on_failure: AlertTarget | Iterable[AlertTarget] = (),
    on_freshness_violation: AlertTarget | Iterable[AlertTarget] = (),
) -> Callable[[Callable[..., Any]], AssetSpec]: ...


def asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    key: AssetKeyLike | None = None,
    key_prefix: AssetKeyLike | None = None,
    partitions: PartitionsDefinition | None = None,
    ins: Mapping[str, In | AssetKeyLike | AssetSpec] | None = None,
    deps: Iterable[AssetKeyLike | AssetSpec] = (),
    code_version: str | None = None,
    group: str = "default",
    owners: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | str | None = None,
    freshness: Freshness | None = None,
    checks: Sequence[AnyCheck] = (),
    store: object | None = None,
    batch: bool = False,
    pool: str | None = None,
    on_failure: AlertTarget | Iterable[AlertTarget] = (),
    on_freshness_violation: AlertTarget | Iterable[AlertTarget] = (),
) -> AssetSpec | Callable[[Callable[..., Any]], AssetSpec]:
    """Declare an asset from a function (usable as ``@asset`` or ``@asset(...)``).

    Args:
        key: the full asset key (default: the function name).
        key_prefix: a prefix for the function name (``"sales"`` -> ``sales/<name>``).
        partitions: how the asset is sliced (``DailyPartitions(...)``); ``None``: one piece.
        ins: per parameter, ``In(key, mapping=...)`` or just an upstream key.
        deps: order-only upstream assets (built first, not passed in).
        code_version: an explicit code version; default: a hash of the function's source
            and of the project code it uses (helpers, classes, module constants).
        group, owners, tags, metadata: organisation and selection (``group:sales``).
        description: default: the docstring.
        retry: a :class:`RetryPolicy`. timeout: seconds or ``"10m"`` per attempt.
        freshness: a :class:`Freshness` policy. checks: data-quality checks.
        store: the store (or the name of a resource holding one) to write to.
        batch: receive a whole partition range in one call (``context.partition_keys``).
        pool: the concurrency pool whose slots the asset's steps take
            (``Definitions(pools={"shop_api": 2})``): across all runs, no more steps
            of the pool's assets run at once than it has slots.
        on_failure: alert targets told when a step fails for good (after its
            last retry): ``webhook(...)``, ``email(...)`` or callables.
        on_freshness_violation: alert targets told when the asset's freshness
            policy is violated, and again when it recovers.
    """

    def decorate(func: Callable[..., Any]) -> AssetSpec:
        if not callable(func):
            raise DefinitionError(f"@asset decorates a function, got {func!r}")
        asset_key = make_key(func.__name__, key, key_prefix)
        found_deps, context_param, config_param, config_model, annotations = _analyse(
            func, asset_key, ins or {}, deps
        )
        check_common(asset_key, partitions, group, tags or {}, checks)
        if batch and partitions is None:
            raise DefinitionError(f"asset {asset_key}: batch=True needs partitions=")
        if pool is not None and (not isinstance(pool, str) or not pool):
            raise DefinitionError(f"asset {asset_key}: pool= must be a pool's name, got {pool!r}")
        return AssetSpec(
            key=asset_key,
            kind="asset",
            fn=func,
            partitions=partitions,
            deps=found_deps,
            code_version=code_version,
            group=group,
            owners=tuple(owners),
            tags=dict(tags or {}),
            metadata=dict(metadata or {}),
            description=description
            if description is not None
            else inspect.cleandoc(func.__doc__ or ""),
            retry=retry,
            timeout=None
            if timeout is None
            else parse_duration(timeout, what="timeout").total_seconds(),
            freshness=freshness,
            checks=tuple(checks),
            store=store,
            batch=batch,
            context_param=context_param,
            config_param=config_param,
            config_model=config_model,
            annotations=annotations,
            pool=pool,
            on_failure=targets_of(on_failure, f"asset {asset_key}: on_failure"),
            on_freshness_violation=targets_of(
                on_freshness_violation, f"asset {asset_key}: on_freshness_violation"
            ),
        )

    if fn is not None:
        return decorate(fn)
    return decorate
