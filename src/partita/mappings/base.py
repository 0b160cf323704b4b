"""The partition mapping interface and the helpers every mapping shares.

A mapping relates the partitions of a downstream asset to the partitions of
an upstream asset it reads. ``upstream`` answers "which upstream partitions do
these downstream partitions read?"; ``downstream`` is its exact inverse
relation: "which downstream partitions read any of these upstream partitions?".
Both work on compact :class:`~partita.partitions.PartitionSubset` values.

**Unpartitioned assets.** A definition may be ``None`` (an unpartitioned
asset); it is read as :data:`~partita.partitions.UNPARTITIONED`, whose subsets
are either empty or hold its one partition (key ``""``).

**Preconditions.** Subsets passed in hold partitions that exist at ``now``
(subsets of ``definition.all_subset(now)``); results always do. Methods that
need the keys of a dynamic definition take its store as ``dynamic=...``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from partita.errors import DefinitionError, PartitaError
from partita.partitions.base import (
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
    require_aware,
)
from partita.partitions.dynamic import DynamicPartitions
from partita.partitions.multi import MultiPartitions
from partita.partitions.static import UNPARTITIONED, StaticPartitions, Unpartitioned
from partita.partitions.time import TimePartitions

__all__ = ["PartitionMapping", "kind_of", "resolve"]


def resolve(definition: PartitionsDefinition | None) -> PartitionsDefinition:
    """``definition``, with ``None`` read as :data:`UNPARTITIONED`."""
    return UNPARTITIONED if definition is None else definition


def kind_of(definition: PartitionsDefinition) -> str:
    """A word for messages: ``daily``, ``static``, ``dynamic``, ``multi (date|region)``."""
    if isinstance(definition, TimePartitions):
        return definition.grain
    if isinstance(definition, StaticPartitions):
        return "static"
    if isinstance(definition, DynamicPartitions):
        return "dynamic"
    if isinstance(definition, MultiPartitions):
        return f"multi ({definition.dimension})"
    if isinstance(definition, Unpartitioned):
        return "unpartitioned"
    return type(definition).__name__


class PartitionMapping(ABC):
    """How downstream partitions read upstream partitions; a frozen value.

    Subclasses implement :meth:`check`, :meth:`_upstream` and :meth:`_downstream`;
    the public methods resolve ``None`` definitions, check ``now`` and the
    subsets' definitions, and call :meth:`check` first.
    """

    @abstractmethod
    def check(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
    ) -> None:
        """Raise :class:`DefinitionError` if this mapping cannot connect the two definitions."""

    @abstractmethod
    def describe(self) -> str:
        """Short text, e.g. ``TimeWindow(-6, 0)``."""

    @property
    def reads_what_exists(self) -> bool:
        """``True`` when a reader may be built while some of the upstream partitions it
        maps to are missing (it reads the materialized ones; ``AllPartitions(
        allow_missing=True)``); ``False``: it waits for all of them."""
        return False

    @abstractmethod
    def _upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition,
        upstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset: ...

    @abstractmethod
    def _downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset: ...

    def upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        *,
        dynamic: DynamicPartitionsStore | None = None,
    ) -> PartitionSubset:
        """The upstream partitions that the ``downstream`` partitions read."""
        down, up = resolve(downstream_def), resolve(upstream_def)
        _same_definition(downstream, down, "downstream")
        require_aware(now)
        self.check(down, up)
        return self._upstream(downstream, down, up, now, dynamic)

    def downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition | None,
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        *,
        dynamic: DynamicPartitionsStore | None = None,
    ) -> PartitionSubset:
        """The downstream partitions that read any of the ``upstream`` partitions."""
        up, down = resolve(upstream_def), resolve(downstream_def)
        _same_definition(upstream, up, "upstream")
        require_aware(now)
        self.check(down, up)
        return self._downstream(upstream, up, down, now, dynamic)

    def __str__(self) -> str:
        return self.describe()


def _same_definition(subset: PartitionSubset, definition: PartitionsDefinition, side: str) -> None:
    if subset.definition != definition:
        raise PartitaError(
            f"the {side} subset belongs to {subset.definition!r}, not to {definition!r}",
            hint=f"pass the {side} asset's own definition with its subset",
        )


def mismatch(
    mapping: str, downstream_def: PartitionsDefinition, upstream_def: PartitionsDefinition, why: str
) -> DefinitionError:
    """A :class:`DefinitionError` for a mapping that cannot connect two definitions."""
    return DefinitionError(
        f"{mapping} cannot map a {kind_of(downstream_def)} asset onto "
        f"{kind_of(upstream_def)} partitions: {why}",
        hint=f"downstream {downstream_def!r}, upstream {upstream_def!r}",
    )
