"""Mapping one dimension of a multi-partitioned asset."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from partita.errors import DefinitionError
from partita.mappings.base import PartitionMapping, mismatch, resolve
from partita.mappings.identity import Identity
from partita.mappings.product import Rule, dimensions_of, map_downstream, map_upstream
from partita.partitions.base import (
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
    check_dimension_name,
)
from partita.partitions.static import Unpartitioned

__all__ = ["Dimension"]


@dataclass(frozen=True)
class Dimension(PartitionMapping):
    """Map dimension ``name`` through ``mapping``; the other dimensions follow fixed rules.

    ``Dimension("date", TimeWindow(-6, 0))`` between two ``date|region`` assets
    reads the last 7 days of the same region. The rules, on each side that is
    multi-partitioned:

    * dimension ``name`` is mapped by ``mapping`` (a one-dimensional mapping);
    * a dimension present on both sides maps by identity (same key);
    * a dimension only upstream: every upstream key of it is read;
    * a dimension only downstream: it does not affect what is read.

    A one-dimensional side plays the role of dimension ``name`` whatever its
    own dimension name: a daily asset over ``date|region`` with
    ``Dimension("date")`` reads every region of its day, and a ``date|region``
    asset over a daily one reads its day.
    """

    name: str
    mapping: PartitionMapping = field(default_factory=Identity)

    def __post_init__(self) -> None:
        check_dimension_name(self.name)
        if not isinstance(self.mapping, PartitionMapping) or isinstance(self.mapping, Dimension):
            raise DefinitionError(
                f"Dimension({self.name!r}, ...) takes a one-dimensional mapping, "
                f"got {self.mapping!r}"
            )

    def _sides(
        self, down: PartitionsDefinition, up: PartitionsDefinition
    ) -> tuple[dict[str, PartitionsDefinition], dict[str, PartitionsDefinition], list[Rule]]:
        down_dims = dimensions_of(down, rename=self.name)
        up_dims = dimensions_of(up, rename=self.name)
        rules: list[Rule] = []
        for dim in up_dims:
            if dim == self.name:
                rules.append(Rule(dim, dim, self.mapping))
            elif dim in down_dims:
                rules.append(Rule(dim, dim, Identity()))
            else:
                rules.append(Rule(dim, None, None))
        return down_dims, up_dims, rules

    def check(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
    ) -> None:
        """Dimension ``name`` on both sides, and every per-dimension mapping fits."""
        down, up = resolve(downstream_def), resolve(upstream_def)
        if isinstance(down, Unpartitioned) or isinstance(up, Unpartitioned):
            raise mismatch(
                self.describe(),
                down,
                up,
                "an unpartitioned side has no dimensions; use AllPartitions()",
            )
        down_dims, up_dims, rules = self._sides(down, up)
        for side, dims in (("downstream", down_dims), ("upstream", up_dims)):
            if self.name not in dims:
                raise mismatch(
                    self.describe(),
                    down,
                    up,
                    f"the {side} asset has no dimension {self.name!r} (it has {', '.join(dims)})",
                )
        for rule in rules:
            if rule.mapping is not None and rule.downstream_dim is not None:
                try:
                    rule.mapping.check(down_dims[rule.downstream_dim], up_dims[rule.upstream_dim])
                except DefinitionError as exc:
                    raise DefinitionError(
                        f"{self.describe()}, dimension {rule.upstream_dim!r}: {exc.message}",
                        hint=exc.hint,
                    ) from None

    def describe(self) -> str:
        """``Dimension('date', TimeWindow(-6, 0))``."""
        return f"Dimension({self.name!r}, {self.mapping.describe()})"

    def _upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition,
        upstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        down_dims, up_dims, rules = self._sides(downstream_def, upstream_def)
        return map_upstream(downstream, down_dims, upstream_def, up_dims, rules, now, dynamic)

    def _downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        down_dims, up_dims, rules = self._sides(downstream_def, upstream_def)
        return map_downstream(upstream, up_dims, downstream_def, down_dims, rules, now, dynamic)
