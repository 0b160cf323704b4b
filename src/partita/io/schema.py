"""Schema evolution rules shared by the stores.

A column's type may change between writes only when both types have a common
type that holds every value of either without loss (:func:`common_type`):

* integers of different widths -> the wider integer (``int32`` + ``int64``);
* floats of different widths -> the wider float (``float`` + ``double``);
* an integer and a float -> a float that holds both, ``double`` for 32- and
  64-bit integers (an integer column that comes out as float one day because
  of a NaN, and as integer the next); integers beyond 2**53 lose precision;
* string width variants (``string``, ``large_string``) are one type;
* a ``null`` column (all values missing) takes the other type.

New columns may be added (older partitions read them as nulls) and columns may
be left out (read as nulls). Anything else (text and numbers, booleans and
numbers, dates and timestamps) is refused with :class:`SchemaChangeError`,
before any data is replaced: it names the column, both types and the command
that clears the asset's stored data (``partita wipe``).

Type names are either canonical Arrow names (the Parquet store) or DuckDB
names (the DuckDB store); a pair is only ever compared within one family.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from partita.errors import SchemaChangeError

__all__ = ["Evolution", "check_evolution", "common_type", "common_type_of", "wipe_hint"]

# Rank within a family: the higher rank holds every value of a lower one.
_ARROW_INTS = {"int8": 1, "int16": 2, "int32": 3, "int64": 4}
_ARROW_UINTS = {"uint8": 1, "uint16": 2, "uint32": 3, "uint64": 4}
_ARROW_FLOATS = {"halffloat": 1, "float": 2, "double": 3}
_DUCK_INTS = {"TINYINT": 1, "SMALLINT": 2, "INTEGER": 3, "BIGINT": 4, "HUGEINT": 5}
_DUCK_UINTS = {"UTINYINT": 1, "USMALLINT": 2, "UINTEGER": 3, "UBIGINT": 4, "UHUGEINT": 5}
_DUCK_FLOATS = {"FLOAT": 1, "DOUBLE": 2}
_NULL_TYPES = {"null", '"NULL"', "NULL"}
# The smallest float rank that holds every value of an integer rank (as Arrow unifies:
# 8-bit integers fit a half float, 16-bit a float, wider ones take a double).
_ARROW_FLOAT_FOR_INT = {1: 1, 2: 2, 3: 3, 4: 3}
_DUCK_FLOAT_FOR_INT = {1: 1, 2: 1, 3: 2, 4: 2, 5: 2}
_FAMILIES = (
    (_ARROW_INTS, _ARROW_UINTS, _ARROW_FLOATS, _ARROW_FLOAT_FOR_INT),
    (_DUCK_INTS, _DUCK_UINTS, _DUCK_FLOATS, _DUCK_FLOAT_FOR_INT),
)


def _wider(ranks: Mapping[str, int], a: str, b: str) -> str | None:
    if a in ranks and b in ranks:
        return a if ranks[a] >= ranks[b] else b
    return None


def common_type(old: str, new: str) -> str | None:
    """The type that holds every value of ``old`` and of ``new``, or ``None``.

    ``old`` when ``new`` fits it (``double`` for ``double`` + ``int64``), the
    wider type when ``old`` must widen (``int64`` for ``int32`` + ``int64``).
    """
    if old == new or new in _NULL_TYPES:
        return old
    if old in _NULL_TYPES:
        return new
    for ints, uints, floats, float_for_int in _FAMILIES:
        for ranks in (ints, uints, floats):
            found = _wider(ranks, old, new)
            if found is not None:
                return found
        integer, real = (old, new) if new in floats else (new, old)
        rank = ints.get(integer) or uints.get(integer)
        if rank is not None and real in floats:
            wanted = max(float_for_int[rank], floats[real])
            return next(name for name, r in floats.items() if r == wanted)
    return None


def common_type_of(types: Iterable[str]) -> str | None:
    """The type that holds every value of all ``types`` (:func:`common_type`
    folded), or ``None``; ``None`` also for no types at all.

    Floats are folded first, so the result does not depend on the order of
    ``types``: ``int64``, ``uint32`` and ``double`` have ``double`` in common,
    whichever came first (``int64`` and ``uint32`` alone have none).
    """
    floats = {name for *_, real, _ in _FAMILIES for name in real}
    ordered = sorted(set(types), key=lambda name: (name not in floats, name))
    if not ordered:
        return None
    common: str | None = ordered[0]
    for name in ordered[1:]:
        if common is None:
            return None
        common = common_type(common, name)
    return common


@dataclass(frozen=True, slots=True)
class Evolution:
    """How a stored schema changes to take a write.

    Attributes:
        added: new columns (name -> type), in the order of the data written.
        widened: stored columns whose type widens (name -> the wider type).
    """

    added: dict[str, str] = field(default_factory=dict)
    widened: dict[str, str] = field(default_factory=dict)


def wipe_hint(asset: str) -> str:
    """What to tell a user whose write was refused: clear the data, then rebuild."""
    return (
        f"drop the stored data and rebuild it: `partita wipe {asset}` (every partition, "
        f"or --partition KEY / --from A --to B for some), then `partita materialize "
        f"{asset}`; or keep the column's type, or write it under a new name "
        "(see docs/io.md, schema evolution)"
    )


def check_evolution(
    old: Mapping[str, str], new: Mapping[str, str], asset: str, where: str
) -> Evolution:
    """How ``old`` evolves to take data of schema ``new``; refuse an unsafe change.

    Args:
        old: column name -> type of the data already stored.
        new: column name -> type of the data being written.
        asset: the asset key (for the fix in the message).
        where: the asset and partition, for the message.

    Raises:
        SchemaChangeError: a column's two types have no common type.
    """
    added: dict[str, str] = {}
    widened: dict[str, str] = {}
    for name, new_type in new.items():
        old_type = old.get(name)
        if old_type is None:
            added[name] = new_type
            continue
        common = common_type(old_type, new_type)
        if common is None:
            raise SchemaChangeError(
                f"{where}: column {name!r} changes type from {old_type} to {new_type}, "
                "which no safe widening covers",
                hint=wipe_hint(asset),
            )
        if common != old_type:
            widened[name] = common
    return Evolution(added, widened)
