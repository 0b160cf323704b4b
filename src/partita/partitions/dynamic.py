"""Dynamic partitions: keys added (and deleted) at run time.

**How a definition reaches its keys.** ``DynamicPartitions("files")`` is a
frozen value holding only its name. The keys live in a
:class:`~partita.partitions.base.DynamicPartitionsStore` (a project's
``catalog.dynamic_partitions``, :class:`InMemoryDynamicPartitionsStore` in
tests), and every method that needs the current keys takes it as
``dynamic=store``, just as time definitions take ``now``. Without a store
those methods raise a clear error. Methods that need no state (``validate``,
``subset``) work without one: they check the key's *form* only, not that it
was added.

Subsets of a dynamic definition hold keys as a frozen set of strings; dynamic
keys are ordered by sorting them (``keys()`` and subset iteration agree), so
"the last partition" is the greatest key.

**Every entry point checks keys by the same rule.** ``validate`` (the rule of
:func:`~partita.partitions.base.check_safe_key`) is applied by the definition's
``add``, by every store's ``add`` (:func:`check_dynamic_key`, so
``catalog.dynamic_partitions.add(...)`` called directly is checked too) and
by the CLI; the error names the definition that rejected the key. Keys read
back from a store are checked again (:meth:`DynamicPartitions.stored_keys`): a
key stored before these checks existed gives a clear error naming it and how
to remove it, instead of a failure deep inside a plan; deleting a stored key
never checks it, so such a key can always be removed.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from partita.errors import DefinitionError, PartitionKeyError
from partita.partitions.base import (
    DynamicPartitionsStore,
    PartitionsDefinition,
    check_dimension_name,
    check_safe_key,
)
from partita.partitions.subsets import KeySetSubset

__all__ = ["DynamicPartitions", "InMemoryDynamicPartitionsStore", "check_dynamic_key"]


def check_dynamic_key(name: str, key: str) -> str:
    """Return ``key`` if ``DynamicPartitions(name)`` accepts it, else raise.

    Raises:
        PartitionKeyError: naming the definition, the key and why (what every
            store's ``add`` raises).
    """
    return DynamicPartitions(name).validate(key)


@dataclass(frozen=True, repr=False)
class DynamicPartitions(PartitionsDefinition):
    """Partitions whose keys are added at run time: ``DynamicPartitions("files")``."""

    name: str
    dimension: str = "key"

    def __post_init__(self) -> None:
        check_dimension_name(self.name)
        check_dimension_name(self.dimension)

    def _store(self, dynamic: DynamicPartitionsStore | None) -> DynamicPartitionsStore:
        if dynamic is None:
            raise DefinitionError(
                f"{self!r} needs its key store to list keys",
                hint="pass dynamic=<DynamicPartitionsStore> (catalog.dynamic_partitions, "
                "or InMemoryDynamicPartitionsStore in tests)",
            )
        return dynamic

    def stored_keys(self, dynamic: DynamicPartitionsStore | None) -> list[str]:
        """The keys in the store, in the order they were added, each checked.

        Raises:
            PartitionKeyError: the store holds a key this definition rejects
                (added before keys were checked on every path), naming the key
                and how to delete it.
        """
        keys = self._store(dynamic).get(self.name)
        for key in keys:
            reason = check_safe_key(key)
            if reason is not None:
                raise PartitionKeyError(
                    f"the catalog holds the key {key!r} for {self!r}, which is not a valid "
                    f"key: {reason}",
                    hint=f"delete it: partita partitions delete {self.name} {shlex.quote(key)} "
                    "(in Python: "
                    f"catalog.dynamic_partitions.delete({self.name!r}, [{key!r}]))",
                )
        return keys

    def keys(self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None) -> list[str]:
        """The keys in the store, sorted (each checked, see :meth:`stored_keys`)."""
        return sorted(self.stored_keys(dynamic))

    def validate(self, key: str) -> str:
        """Check the form of ``key`` (not that it was added); return it."""
        reason = check_safe_key(key)
        if reason is not None:
            raise self.key_error(key, reason)
        return key

    def add(self, store: DynamicPartitionsStore, keys: Iterable[str]) -> list[str]:
        """Validate ``keys`` and add them to ``store``; return the new ones."""
        checked = [self.validate(k) for k in ([keys] if isinstance(keys, str) else keys)]
        return store.add(self.name, checked)

    def delete(self, store: DynamicPartitionsStore, keys: Iterable[str]) -> None:
        """Remove ``keys`` from ``store``."""
        store.delete(self.name, [keys] if isinstance(keys, str) else list(keys))

    def example_key(self) -> str:
        """A well-formed example."""
        return "file_001.csv"

    def describe(self) -> str:
        """``dynamic: files``."""
        return f"dynamic: {self.name}"

    def __repr__(self) -> str:
        extra = "" if self.dimension == "key" else f", dimension={self.dimension}"
        return f"DynamicPartitions({self.name}{extra})"

    def empty_subset(self) -> KeySetSubset:
        """The subset with no keys."""
        return KeySetSubset(self, frozenset())

    def all_subset(
        self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None
    ) -> KeySetSubset:
        """Every key in the store (each checked, see :meth:`stored_keys`)."""
        return KeySetSubset(self, frozenset(self.stored_keys(dynamic)))

    def subset(self, keys: Iterable[str]) -> KeySetSubset:
        """The subset of the given keys (form validated)."""
        if isinstance(keys, str):
            keys = [keys]
        return KeySetSubset(self, frozenset(self.validate(k) for k in keys))

    def key_range(
        self, start_key: str, end_key: str, *, dynamic: DynamicPartitionsStore | None = None
    ) -> KeySetSubset:
        """The stored keys between ``start_key`` and ``end_key`` in sorted order, inclusive.

        Without a store, only a range of one key (``k..k``) can be built.
        """
        first, last = self.validate(start_key), self.validate(end_key)
        if last < first:
            raise self.key_error(f"{start_key}..{end_key}", "the range ends before it starts")
        if first == last:
            return self.subset([first])
        stored = self.stored_keys(dynamic)
        return KeySetSubset(self, frozenset(k for k in stored if first <= k <= last))


class InMemoryDynamicPartitionsStore:
    """A :class:`DynamicPartitionsStore` in a dict: for tests and one-process use."""

    def __init__(self, initial: dict[str, Sequence[str]] | None = None) -> None:
        self._keys: dict[str, list[str]] = {}
        for name, keys in (initial or {}).items():
            self.add(name, keys)

    def get(self, name: str) -> list[str]:
        """The keys of ``name`` in the order they were added."""
        return list(self._keys.get(name, []))

    def add(self, name: str, keys: Iterable[str]) -> list[str]:
        """Add keys (all checked first, see :func:`check_dynamic_key`); return the new ones."""
        wanted = [check_dynamic_key(name, key) for key in keys]
        current = self._keys.setdefault(name, [])
        present = set(current)
        added: list[str] = []
        for key in wanted:
            if key not in present:
                present.add(key)
                current.append(key)
                added.append(key)
        return added

    def delete(self, name: str, keys: Iterable[str]) -> None:
        """Remove keys; unknown keys are ignored."""
        gone = set(keys)
        self._keys[name] = [k for k in self._keys.get(name, []) if k not in gone]
