"""The context an asset function may ask for (a parameter named ``context``).

The runner builds one per step; unit tests can build one directly with
:meth:`AssetContext.for_test`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from partita.keys import AssetKey
from partita.partitions import TimeWindowRange

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["AssetContext"]


@dataclass(frozen=True)
class AssetContext:
    """What a running step knows: which asset and partition, the run, config and a logger.

    Attributes:
        asset_key: the asset being built.
        partition_key: the partition being built (``None`` when unpartitioned; the
            first key of the range for a batched step).
        partition_keys: every partition built by this call (one, or a range for
            ``batch=True`` assets).
        partition: the partition key split by dimension (``{"date": "2025-01-01"}``).
        time_window: the time window of the partition (of the whole range when batched).
        run_id: the Partita run this step belongs to.
        log: a logger whose lines are kept in the step log.
        config: the validated run-time config, when the asset takes one.
        resources: the project's resources by name.
    """

    asset_key: AssetKey
    partition_key: str | None = None
    partition_keys: tuple[str, ...] = ()
    partition: Mapping[str, str] = field(default_factory=dict)
    time_window: TimeWindowRange | None = None
    run_id: str = ""
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("partita.asset"))
    config: BaseModel | None = None
    resources: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_test(
        cls,
        asset: str,
        partition_key: str | None = None,
        **kwargs: Any,
    ) -> AssetContext:
        """A context for calling an asset function directly in a unit test."""
        keys = (partition_key,) if partition_key is not None else ()
        return cls(
            asset_key=AssetKey(asset),
            partition_key=partition_key,
            partition_keys=kwargs.pop("partition_keys", keys),
            run_id=kwargs.pop("run_id", "test"),
            **kwargs,
        )
