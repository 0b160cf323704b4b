"""Declaring sources: ``@source`` and ``source("key", ...)``.

A source is data Partita does not build but can observe (a landing folder, an
external table, an API): an optional observe function returns the data version
of each partition. It is an :class:`~partita.assets.AssetSpec` of kind
``source``; readers depend on it like on any asset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from partita.assets import AssetSpec, check_common, make_key
from partita.checks import AnyCheck
from partita.errors import DefinitionError
from partita.keys import AssetKey, AssetKeyLike
from partita.partitions import PartitionsDefinition
from partita.policies import Freshness, RetryPolicy

__all__ = ["SourceDecorator", "source"]


@overload
def source(fn: Callable[..., Any], /) -> AssetSpec: ...


@overload
def source(
    fn: str,
    /,
    *,
    key: AssetKeyLike | None = None,
    key_prefix: AssetKeyLike | None = None,
    partitions: PartitionsDefinition | None = None,
    group: str = "default",
    owners: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    freshness: Freshness | None = None,
    checks: Sequence[AnyCheck] = (),
    store: object | None = None,
    retry: RetryPolicy | None = None,
    batch: bool = False,
) -> AssetSpec: ...


@overload
def source(
    fn: None = None,
    /,
    *,
    key: AssetKeyLike | None = None,
    key_prefix: AssetKeyLike | None = None,
    partitions: PartitionsDefinition | None = None,
    group: str = "default",
    owners: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    freshness: Freshness | None = None,
    checks: Sequence[AnyCheck] = (),
    store: object | None = None,
    retry: RetryPolicy | None = None,
    batch: bool = False,
) -> SourceDecorator: ...


def source(
    fn: Callable[..., Any] | str | None = None,
    /,
    *,
    key: AssetKeyLike | None = None,
    key_prefix: AssetKeyLike | None = None,
    partitions: PartitionsDefinition | None = None,
    group: str = "default",
    owners: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    freshness: Freshness | None = None,
    checks: Sequence[AnyCheck] = (),
    store: object | None = None,
    retry: RetryPolicy | None = None,
    batch: bool = False,
) -> AssetSpec | SourceDecorator:
    """Declare a source: data Partita does not build but can observe.

    Decorate an ``observe`` function that returns the data version of one
    partition (a string, e.g. a file's checksum or modification time), or
    ``None`` when the partition is not there yet::

        @source(partitions=DailyPartitions(start="2025-01-01"))
        def landing_orders(context) -> str | None:
            path = LANDING / f"{context.partition_key}.csv"
            return str(path.stat().st_mtime_ns) if path.exists() else None

    With ``batch=True`` the function is called once for all the partitions a
    plan needs (``context.partition_keys``) and returns a mapping from key to
    data version (a key left out, or mapped to ``None``, is not there yet).
    ``retry=`` (a :class:`RetryPolicy`) calls a raising observe function again
    before its partitions count as failed to observe. Observe functions of
    different sources and partitions run concurrently, in threads.

    ``@source(key="landing/orders", partitions=...)`` (keywords only) names the
    source explicitly, like ``@asset(key=...)``. ``source("landing/orders",
    store=...)``, with the key as the first positional argument and no
    function, declares a source that is never observed; giving both a
    positional key and ``key=`` is an error. Downstream assets read a source through its
    ``store``; without one, depend on it with ``deps=[...]`` and read it yourself.
    """

    def build(func: Callable[..., Any] | None, name: str | None) -> AssetSpec:
        if func is not None:
            asset_key = make_key(func.__name__, key, key_prefix)
            params = list(inspect.signature(func).parameters)
            if len(params) > 1 or (params and params[0] != "context"):
                raise DefinitionError(
                    f"source {asset_key}: the observe function takes one parameter, "
                    f"'context', got ({', '.join(params)})"
                )
            context_param = params[0] if params else None
            doc = inspect.cleandoc(func.__doc__ or "")
            if batch and (partitions is None or context_param is None):
                raise DefinitionError(
                    f"source {asset_key}: batch=True needs partitions= and a 'context' "
                    "parameter (its partition_keys are the keys to observe)"
                )
        else:
            asset_key = make_key(str(name), key, key_prefix) if name else _required_key(key)
            context_param, doc = None, ""
            if batch or retry is not None:
                raise DefinitionError(
                    f"source {asset_key}: batch= and retry= apply to an observe function; "
                    "this source has none"
                )
        check_common(asset_key, partitions, group, tags or {}, checks)
        return AssetSpec(
            key=asset_key,
            kind="source",
            fn=func,
            partitions=partitions,
            group=group,
            owners=tuple(owners),
            tags=dict(tags or {}),
            metadata=dict(metadata or {}),
            description=description if description is not None else doc,
            freshness=freshness,
            checks=tuple(checks),
            store=store,
            retry=retry,
            batch=batch,
            context_param=context_param,
        )

    if callable(fn):
        return build(fn, None)
    if isinstance(fn, str):
        if key is not None:
            raise DefinitionError(
                f"source({fn!r}, key={str(key)!r}): the key is given twice",
                hint=f"declare a source without an observe function as source({fn!r}, ...); "
                f"decorate an observe function with @source(key={str(key)!r}, ...)",
            )
        return build(None, fn)
    if fn is not None:
        raise DefinitionError(
            f"source() takes a key such as 'landing/orders' or decorates an observe "
            f"function, got {fn!r}"
        )
    where = "" if key is None else f"key={str(key)!r}, "
    return SourceDecorator(f"@source({where}...)", lambda func: build(func, None))


@dataclass(frozen=True, slots=True)
class SourceDecorator:
    """What ``source(key=..., ...)`` (keyword arguments only) returns: a decorator.

    Applied to an observe function it gives the source's :class:`AssetSpec`.
    Listed in ``Definitions`` without a function it is refused with a hint: a
    source without an observe function takes its key positionally,
    ``source("landing/orders", ...)``.
    """

    usage: str
    build: Callable[[Callable[..., Any]], AssetSpec]

    def __call__(self, func: Callable[..., Any]) -> AssetSpec:
        """Declare the source observed by ``func``."""
        if not callable(func) or isinstance(func, AssetSpec):
            raise DefinitionError(
                f"{self.usage} decorates an observe function, got {func!r}",
                hint="a source without an observe function takes its key positionally: "
                "source('landing/orders', ...)",
            )
        return self.build(func)

    def __repr__(self) -> str:
        return f"<{self.usage} decorator, not applied to a function>"


def _required_key(key: AssetKeyLike | None) -> AssetKey:
    if key is None:
        raise DefinitionError("source() needs a key: source('landing/orders', ...)")
    return AssetKey.parse(key)
