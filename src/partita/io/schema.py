"""Schema evolution rules shared by the stores.

A new partition may add columns (older partitions read them as nulls) and may
omit columns (read as nulls). A column that exists on both sides must keep its
type, or widen it losslessly (``int32`` -> ``int64``, ``float`` -> ``double``,
an integer into ``double``); anything else is refused with an error naming the
column and both types, before any data is replaced.
"""

from __future__ import annotations

from collections.abc import Mapping

from partita.errors import StorageError

__all__ = ["check_evolution", "widens"]

# Rank within a family: a value may move to an equal or higher rank.
_ARROW_INTS = {"int8": 1, "int16": 2, "int32": 3, "int64": 4}
_ARROW_FLOATS = {"halffloat": 1, "float": 2, "double": 3}
_DUCK_INTS = {"TINYINT": 1, "SMALLINT": 2, "INTEGER": 3, "BIGINT": 4, "HUGEINT": 5}
_DUCK_FLOATS = {"FLOAT": 1, "DOUBLE": 2}
_NULL_TYPES = {"null", '"NULL"', "NULL"}


def widens(old: str, new: str) -> bool:
    """True when data of type ``new`` fits a column of type ``old`` losslessly."""
    if old == new or new in _NULL_TYPES or old in _NULL_TYPES:
        return True
    for ints, floats in ((_ARROW_INTS, _ARROW_FLOATS), (_DUCK_INTS, _DUCK_FLOATS)):
        if old in ints and new in ints:
            return ints[new] <= ints[old]
        if old in floats and new in floats:
            return floats[new] <= floats[old]
        if old in ("double", "DOUBLE") and new in ints and ints[new] <= 3:
            return True
    return False


def check_evolution(old: Mapping[str, str], new: Mapping[str, str], where: str) -> list[str]:
    """Return the columns of ``new`` that ``old`` lacks; refuse incompatible types.

    Args:
        old: column name -> type of the data already stored.
        new: column name -> type of the data being written.
        where: the asset (and partition) for the message.

    Raises:
        StorageError: a column changes type incompatibly.
    """
    for name, new_type in new.items():
        old_type = old.get(name)
        if old_type is not None and not widens(old_type, new_type):
            raise StorageError(
                f"{where}: column {name!r} changes type from {old_type} to {new_type}",
                hint="keep the column's type, write it under a new name, or delete the "
                "asset's stored data first (Store.delete)",
            )
    return [name for name in new if name not in old]
