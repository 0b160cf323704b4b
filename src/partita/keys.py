"""Asset keys and asset partitions: small frozen values.

An asset key is a ``/``-separated path of identifiers (``sales/orders``).
Each segment must match ``[A-Za-z_][A-Za-z0-9_]*``, so a key can be used as a
folder path or a SQL identifier without quoting surprises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from partita.errors import DefinitionError

__all__ = ["AssetKey", "AssetKeyLike", "AssetPartition", "IDENTIFIER"]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_segment(segment: object, whole: str) -> str:
    if not isinstance(segment, str) or not IDENTIFIER.fullmatch(segment):
        raise DefinitionError(
            f"invalid asset key {whole!r}: segment {segment!r} is not an identifier",
            hint="each '/'-separated segment must match [A-Za-z_][A-Za-z0-9_]* "
            "(letters, digits, underscore; not starting with a digit)",
        )
    return segment


@dataclass(frozen=True, order=True, slots=True, init=False)
class AssetKey:
    """The name of an asset: a path of identifiers.

    ``AssetKey("sales/orders") == AssetKey(["sales", "orders"])``.
    """

    path: tuple[str, ...]

    def __init__(self, key: str | Iterable[str] | AssetKey) -> None:
        if isinstance(key, AssetKey):
            path = key.path
        elif isinstance(key, str):
            path = tuple(key.split("/"))
            for segment in path:
                _check_segment(segment, key)
        else:
            path = tuple(key)
            whole = "/".join(str(p) for p in path)
            if not path:
                raise DefinitionError("invalid asset key: it has no segments")
            for segment in path:
                _check_segment(segment, whole)
        object.__setattr__(self, "path", path)

    @classmethod
    def parse(cls, key: AssetKeyLike) -> AssetKey:
        """Return ``key`` as an :class:`AssetKey` (accepts str, list or AssetKey)."""
        return key if isinstance(key, AssetKey) else cls(key)

    @property
    def name(self) -> str:
        """The last segment (``orders`` for ``sales/orders``)."""
        return self.path[-1]

    @property
    def prefix(self) -> tuple[str, ...]:
        """All segments but the last."""
        return self.path[:-1]

    def to_string(self) -> str:
        """The ``/``-separated form."""
        return "/".join(self.path)

    def with_prefix(self, prefix: str | Iterable[str]) -> AssetKey:
        """This key under ``prefix`` (``AssetKey("orders").with_prefix("sales")``)."""
        extra = AssetKey(prefix).path
        return AssetKey((*extra, *self.path))

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"AssetKey({self.to_string()!r})"


AssetKeyLike = str | AssetKey | Iterable[str]


@dataclass(frozen=True, order=True, slots=True)
class AssetPartition:
    """One partition of one asset; ``partition`` is ``None`` for unpartitioned assets."""

    asset: AssetKey
    partition: str | None = None

    def __str__(self) -> str:
        if self.partition is None:
            return str(self.asset)
        return f"{self.asset}:{self.partition}"
