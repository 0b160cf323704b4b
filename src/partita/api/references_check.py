"""Checking, when a project loads, every name its declarations refer to.

The asset graph resolves the references between assets; this module resolves
the rest, so a typo fails ``partita validate`` (and every command) at once,
with one error naming the declaration, the bad reference, close names and a
hint, instead of failing later in the daemon or at run time:

* the selection of each schedule, sensor and eager declaration, and a
  ``SourceSensor``'s source;
* a ``FileSensor``'s ``partitions=``: a ``DynamicPartitions`` some asset uses;
* each asset's ``store=``: a resource name (or instance) that is a store, and
  the project's ``Definitions(store=...)``.

Whether an object is a store is judged by the methods of the
:class:`~partita.io.Store` protocol (:data:`STORE_METHODS`), without importing
the IO layer: loading a project for ``partita plan`` stays light.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping

from partita.errors import DefinitionError, PartitaError
from partita.graph import AssetGraph
from partita.partitions import DynamicPartitions, MultiPartitions, PartitionsDefinition
from partita.schedules import Schedule
from partita.selection import select
from partita.sensors import AnySensor, CustomSensor, Eager, FileSensor, SourceSensor

__all__ = ["STORE_METHODS", "check_references", "is_store"]

STORE_METHODS = (
    "delete",
    "discard",
    "list_partitions",
    "publish",
    "read",
    "read_staged",
    "stage",
)
"""The methods of the ``Store`` protocol (a test keeps this list equal to it)."""


def is_store(value: object) -> bool:
    """Whether ``value`` has every method of the ``Store`` protocol."""
    return all(callable(getattr(value, name, None)) for name in STORE_METHODS)


def _close(name: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for close names of ``known``, else nothing."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return "; did you mean " + " or ".join(map(repr, close)) + "?" if close else ""


def _selection(graph: AssetGraph, owner: str, selection: str | None) -> None:
    """Resolve ``selection``; an error names ``owner`` and keeps the close names."""
    if selection is None:
        return
    try:
        select(graph, selection)
    except PartitaError as exc:
        raise DefinitionError(
            f"{owner}: selection {selection!r}: {exc.message}",
            hint=exc.hint or "`partita list` shows every asset and group",
        ) from None


def _dynamic_of(definition: PartitionsDefinition | None) -> Iterator[str]:
    if isinstance(definition, DynamicPartitions):
        yield definition.name
    elif isinstance(definition, MultiPartitions):
        for _, part in definition.parts:
            yield from _dynamic_of(part)


def _dynamic_names(graph: AssetGraph) -> set[str]:
    """The names of the dynamic partitions definitions the project's assets use."""
    return {name for spec in graph.specs() for name in _dynamic_of(spec.partitions)}


def _file_sensor_partitions(graph: AssetGraph, sensor: FileSensor) -> None:
    if sensor.partitions is None:
        return
    known = _dynamic_names(graph)
    if sensor.partitions in known:
        return
    listed = ", ".join(sorted(known))
    raise DefinitionError(
        f"sensor {sensor.name!r}: partitions={sensor.partitions!r} names no "
        f"DynamicPartitions of the project{_close(sensor.partitions, known)}",
        hint=f"the project's dynamic partitions: {listed}"
        if known
        else f"declare @asset(partitions=DynamicPartitions({sensor.partitions!r})) on the "
        "assets it builds, or leave out partitions= to just run the selection",
    )


def _source_sensor(graph: AssetGraph, sensor: SourceSensor) -> None:
    owner = f"sensor {sensor.name!r}"
    try:
        key = graph.resolve(sensor.source)
    except PartitaError as exc:
        raise DefinitionError(f"{owner}: source {exc.message}", hint=exc.hint) from None
    if not graph.spec(key).is_source:
        raise DefinitionError(
            f"{owner}: {key} is an asset, not a source",
            hint="a SourceSensor observes a @source; an Eager selection follows an asset",
        )


def _automation(
    graph: AssetGraph,
    schedules: Iterable[Schedule],
    sensors: Iterable[AnySensor],
    eager: Iterable[Eager],
) -> None:
    for schedule in schedules:
        _selection(graph, f"schedule {schedule.name!r}", schedule.selection)
    for sensor in sensors:
        if isinstance(sensor, CustomSensor):
            continue  # its run requests are made at run time
        if isinstance(sensor, SourceSensor):
            _source_sensor(graph, sensor)
        _selection(graph, f"sensor {sensor.name!r}", sensor.selection)
        if isinstance(sensor, FileSensor):
            _file_sensor_partitions(graph, sensor)
    for one in eager:
        _selection(graph, f"eager {one.name!r}", one.selection)


def _not_a_store(value: object) -> str:
    return f"a {type(value).__qualname__}, which is not a store"


_STORE_HINT = (
    "a store is a ParquetStore, DuckDBStore, DeltaStore or an object with the Store "
    "protocol's methods; other resources reach an asset as context.resources[name]"
)


def _stores(graph: AssetGraph, resources: Mapping[str, object], default: object) -> None:
    if default is not None and not is_store(default):
        raise DefinitionError(
            f"Definitions(store=...) is {_not_a_store(default)}", hint=_STORE_HINT
        )
    for spec in graph.specs():
        chosen = spec.store
        if chosen is None:
            continue
        if isinstance(chosen, str):
            if chosen not in resources:
                raise DefinitionError(
                    f"asset {spec.key}: store={chosen!r} names no resource"
                    f"{_close(chosen, resources)}",
                    hint="resources: " + ", ".join(sorted(resources))
                    if resources
                    else f"add it: Definitions(resources={{{chosen!r}: DuckDBStore(...)}})",
                )
            if not is_store(resources[chosen]):
                raise DefinitionError(
                    f"asset {spec.key}: store={chosen!r} names the resource {chosen!r}, "
                    f"{_not_a_store(resources[chosen])}",
                    hint=_STORE_HINT,
                )
        elif not is_store(chosen):
            raise DefinitionError(
                f"asset {spec.key}: store= is {_not_a_store(chosen)}", hint=_STORE_HINT
            )


def check_references(graph: AssetGraph) -> None:
    """Check the names the graph's definitions refer to beyond assets (see the module).

    Raises:
        DefinitionError: the first bad reference, naming its declaration, with close
            names and a hint.
    """
    definitions = graph.definitions
    _stores(graph, definitions.resources, definitions.store)
    _automation(graph, definitions.schedules, definitions.sensors, definitions.eager)
