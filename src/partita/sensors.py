"""Sensors and eager assets: what makes ``partita daemon`` build without a clock tick.

Declarations are plain frozen values held by
:class:`~partita.definitions.Definitions` (``sensors=[...]``, ``eager=[...]``);
the daemon (:mod:`partita.automation`) evaluates them.

* :class:`FileSensor`: new files in a folder (or an object-store prefix,
  through :mod:`pyarrow.fs`) add dynamic partitions, or count as a change of a
  source, and the readers run. Which files were handled is kept in the
  catalog, so a restart (even after ``kill -9``) neither misses nor repeats one.
* :class:`SourceSensor`: observe a source every N minutes and run its
  readers when an observation changed.
* :func:`sensor`: a function ``(SensorContext) -> SensorResult | list[RunRequest]``
  that decides itself; its cursor is kept in the catalog.
* :class:`Eager`: build a selection when its inputs change, at most once per
  ``min_interval`` (a burst of upstream changes coalesces into one run).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from partita.errors import DefinitionError
from partita.policies import parse_duration
from partita.schedules import Schedule

__all__ = [
    "CustomSensor",
    "Eager",
    "FileSensor",
    "RunRequest",
    "SensorContext",
    "SensorResult",
    "SourceSensor",
    "checked_automation",
    "sensor",
]


@dataclass(frozen=True)
class RunRequest:
    """One run a sensor asks for: a selection, and optionally which partitions.

    Give at most one of ``partition_key`` and ``partition_range``; ``None`` for
    both plans every partition of the selection (only the stale ones run).
    """

    selection: str | None = None
    partition_key: str | None = None
    partition_range: tuple[str, str] | None = None
    force: bool = False

    def __post_init__(self) -> None:
        if self.partition_key is not None and self.partition_range is not None:
            raise DefinitionError("RunRequest: give partition_key or partition_range, not both")


@dataclass(frozen=True)
class SensorContext:
    """What a custom sensor function is handed: its name, the time, its cursor."""

    name: str
    now: datetime
    cursor: str | None


@dataclass(frozen=True)
class SensorResult:
    """What a sensor decided: dynamic partition keys to add first, runs, a new cursor.

    ``cursor`` (text) is stored with the evaluation's record in one transaction
    after the runs finish; ``None`` keeps the old one.
    """

    run_requests: tuple[RunRequest, ...] = ()
    cursor: str | None = None
    dynamic_partitions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __init__(
        self,
        run_requests: Iterable[RunRequest] = (),
        cursor: str | None = None,
        dynamic_partitions: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        requests = tuple(run_requests)
        for one in requests:
            if not isinstance(one, RunRequest):
                raise DefinitionError(f"SensorResult takes RunRequest values, got {one!r}")
        if cursor is not None and not isinstance(cursor, str):
            raise DefinitionError(f"a sensor cursor is text, got {cursor!r}")
        object.__setattr__(self, "run_requests", requests)
        object.__setattr__(self, "cursor", cursor)
        object.__setattr__(
            self,
            "dynamic_partitions",
            {name: tuple(keys) for name, keys in (dynamic_partitions or {}).items()},
        )


def _interval(value: str | float | timedelta, what: str) -> timedelta:
    return parse_duration(value, what=what)


def _file_stem(path: str) -> str:
    """The default partition key of a file: its name without the extension."""
    name = PurePosixPath(path).name
    return name.split(".", 1)[0] if not name.startswith(".") else name


@dataclass(frozen=True)
class FileSensor:
    """New files under ``path`` matching ``pattern`` trigger a run of ``selection``.

    Args:
        name: the sensor's name (``partita ticks``, the catalog's record of seen files).
        path: a folder (relative to the project folder, or absolute) or an
            object-store URI (``s3://bucket/prefix``), listed with :mod:`pyarrow.fs`.
        selection: the assets to build (typically the readers).
        pattern: a shell-style pattern that file names must match (``*.csv``).
        partitions: the name of a ``DynamicPartitions`` definition: each new
            file adds the key ``key(file name)`` and the run builds those keys.
        key: file name -> partition key (default: the name without extension).
        every: how often to look.
    """

    name: str
    path: str
    selection: str | None = None
    pattern: str = "*"
    partitions: str | None = None
    key: Callable[[str], str] = _file_stem
    every: str | float | timedelta = "30s"

    def __post_init__(self) -> None:
        _check_name(self.name, "FileSensor")
        if not isinstance(self.path, str) or not self.path:
            raise DefinitionError(f"FileSensor {self.name!r}: path must be a folder or URI")
        _interval(self.every, f"FileSensor {self.name} every")
        if not callable(self.key):
            raise DefinitionError(f"FileSensor {self.name!r}: key must be a function of a name")

    @property
    def interval(self) -> timedelta:
        """How often it is evaluated."""
        return _interval(self.every, "every")

    def matches(self, file_name: str) -> bool:
        """Whether a file name counts (the pattern; hidden and temporary files never do)."""
        if file_name.startswith((".", "_")) or file_name.endswith((".tmp", ".part")):
            return False
        return fnmatch.fnmatchcase(file_name, self.pattern)

    def partition_key(self, file_name: str) -> str:
        """The dynamic partition key of ``file_name``."""
        return self.key(file_name)


@dataclass(frozen=True)
class SourceSensor:
    """Observe ``source`` every ``every`` and build ``selection`` when it changed.

    ``selection`` defaults to the source's readers and everything downstream
    (``source+``); only partitions whose observed version changed are stale.
    """

    source: str
    every: str | float | timedelta = "5m"
    selection: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise DefinitionError("SourceSensor needs the source's key")
        _interval(self.every, f"SourceSensor {self.source}")
        if not self.name:
            object.__setattr__(self, "name", f"observe:{self.source}")
        if self.selection is None:
            object.__setattr__(self, "selection", f"{self.source}+")

    @property
    def interval(self) -> timedelta:
        """How often it is evaluated."""
        return _interval(self.every, "every")


SensorFunction = Callable[[SensorContext], "SensorResult | Sequence[RunRequest] | None"]


@dataclass(frozen=True)
class CustomSensor:
    """A sensor function with its name and cadence (made by :func:`sensor`)."""

    name: str
    fn: SensorFunction
    every: str | float | timedelta = "30s"

    def __post_init__(self) -> None:
        _check_name(self.name, "sensor")
        _interval(self.every, f"sensor {self.name} every")

    @property
    def interval(self) -> timedelta:
        """How often it is evaluated."""
        return _interval(self.every, "every")

    def evaluate(self, context: SensorContext) -> SensorResult:
        """Call the function; a list of run requests becomes a :class:`SensorResult`."""
        found: Any = self.fn(context)
        if found is None:
            return SensorResult()
        if isinstance(found, SensorResult):
            return found
        if isinstance(found, RunRequest):
            return SensorResult([found])
        if isinstance(found, list | tuple):
            return SensorResult(found)
        raise DefinitionError(
            f"sensor {self.name!r} returned {found!r}",
            hint="return a SensorResult, a list of RunRequest, or None",
        )


def sensor(
    every: str | float | timedelta = "30s", *, name: str | None = None
) -> Callable[[SensorFunction], CustomSensor]:
    """Declare a custom sensor::

    @sensor(every="5m")
    def new_exports(context: SensorContext) -> SensorResult:
        ...
        return SensorResult([RunRequest("exports", partition_key=day)], cursor=day)
    """

    def wrap(fn: SensorFunction) -> CustomSensor:
        label: str = name or str(getattr(fn, "__name__", "sensor"))
        return CustomSensor(name=label, fn=fn, every=every)

    return wrap


@dataclass(frozen=True)
class Eager:
    """Build ``selection`` when its inputs change, at most once per ``min_interval``.

    ``name`` (how ``partita ticks --name`` finds its evaluations) defaults to
    ``eager:<selection>``, as a :class:`SourceSensor`'s to ``observe:<source>``.
    """

    selection: str
    min_interval: str | float | timedelta = "1m"
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.selection, str) or not self.selection:
            raise DefinitionError("Eager needs a selection (an asset, a group:..., ...)")
        _interval(self.min_interval, f"Eager {self.selection} min_interval")
        if not isinstance(self.name, str):
            raise DefinitionError(f"Eager {self.selection!r}: name must be text, not {self.name!r}")
        if not self.name.strip():
            object.__setattr__(self, "name", f"eager:{self.selection}")

    @property
    def interval(self) -> timedelta:
        """``min_interval`` as a timedelta."""
        return _interval(self.min_interval, "min_interval")


AnySensor = FileSensor | SourceSensor | CustomSensor


def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError(f"{what} needs a name")


def checked_automation(
    schedules: Iterable[object], sensors: Iterable[object], eager: Iterable[object]
) -> tuple[tuple[Schedule, ...], tuple[AnySensor, ...], tuple[Eager, ...]]:
    """``Definitions``' schedules, sensors and eager declarations, type-checked, with
    unique names.

    Raises:
        DefinitionError: a value of the wrong kind, or two with one name.
    """
    found_schedules: list[Schedule] = []
    found_sensors: list[AnySensor] = []
    found_eager: list[Eager] = []
    for one in schedules:
        if not isinstance(one, Schedule):
            raise DefinitionError(f"Definitions(schedules=...) takes Schedule values, got {one!r}")
        found_schedules.append(one)
    for item in sensors:
        if not isinstance(item, FileSensor | SourceSensor | CustomSensor):
            raise DefinitionError(
                f"Definitions(sensors=...) takes FileSensor, SourceSensor or @sensor "
                f"functions, got {item!r}"
            )
        found_sensors.append(item)
    for value in eager:
        if not isinstance(value, Eager):
            raise DefinitionError(f"Definitions(eager=...) takes Eager values, got {value!r}")
        found_eager.append(value)
    for label, names in (
        ("schedule", [s.name for s in found_schedules]),
        ("sensor", [s.name for s in found_sensors]),
        ("eager", [e.name for e in found_eager]),
    ):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise DefinitionError(
                f"two {label}s are named {twice[0]!r}", hint="give each its own name="
            )
    return tuple(found_schedules), tuple(found_sensors), tuple(found_eager)
