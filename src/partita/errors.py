"""The error hierarchy: one root, :class:`PartitaError`.

Every error Partita raises on purpose derives from :class:`PartitaError`, so a
caller can catch one type. Errors carry an optional ``hint`` (what to do next),
which the CLI prints under the one-line message.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

__all__ = [
    "CatalogError",
    "CatalogUnreachableError",
    "CheckFailed",
    "CodeChangedError",
    "ConfigError",
    "CycleError",
    "DefinitionError",
    "LeaseLostError",
    "InputMissingError",
    "PartitaError",
    "PartitionKeyError",
    "PartitionNotYetError",
    "PlanError",
    "SchemaChangeError",
    "SelectionError",
    "StorageError",
    "StoreAccessError",
    "UnknownAssetError",
    "UnreachableError",
    "UserCodeError",
]


class PartitaError(Exception):
    """The root of every error Partita raises on purpose.

    Args:
        message: one line saying what is wrong.
        hint: optional, what the user can do about it.
    """

    retryable: ClassVar[bool] = True
    """Whether running the same step again may succeed. A runner retries a step only
    after a retryable error; a subclass that describes a deterministic problem (a
    wrong declaration, an unsafe schema change) sets it to ``False``."""

    exit_status: ClassVar[int] = 1
    """The CLI's exit status for this error (2: bad input, such as an address given
    for a service that cannot be reached)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class CodeChangedError(PartitaError):
    """A worker imported other code for an asset than its run was planned with (the
    definitions changed on disk after the run started): the step is not run, so no
    materialization is ever recorded with a code version that did not build it."""

    retryable = False


class UnreachableError(PartitaError):
    """A service named by an address the user gave (a Dask scheduler) cannot be
    reached: the message names the address, the hint what to check. The CLI exits 2."""

    exit_status: ClassVar[int] = 2


class DefinitionError(PartitaError):
    """An asset, source, partitions definition or project is declared wrongly."""

    retryable = False


class CycleError(DefinitionError):
    """The asset graph has a cycle; ``cycle`` holds its path, first node repeated last."""

    def __init__(self, cycle: list[str], *, hint: str | None = None) -> None:
        self.cycle = cycle
        super().__init__(
            "the asset graph has a cycle: " + " -> ".join(cycle),
            hint=hint or "remove one of these dependencies (or make it order-only elsewhere)",
        )


class UnknownAssetError(DefinitionError):
    """A name refers to no asset; ``suggestions`` holds close names."""

    def __init__(
        self, name: str, suggestions: list[str], *, context: str = "", hint: str | None = None
    ) -> None:
        self.name = name
        self.suggestions = suggestions
        where = f" ({context})" if context else ""
        message = f"unknown asset {name!r}{where}"
        if suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
        super().__init__(message, hint=hint or "`partita list` shows every asset")


class SelectionError(PartitaError):
    """An asset selection expression cannot be parsed or matches nothing it must."""

    retryable = False


class PartitionKeyError(PartitaError):
    """A partition key (or range) is not valid for the definition that checks it;
    ``reason`` is why, without the definition's name (empty when not given apart)."""

    retryable = False
    reason: str = ""


class PartitionNotYetError(PartitionKeyError):
    """A requested partition is valid but does not exist yet at the planning time
    (its time window is not complete); ``exists_from`` says when it will, if known."""

    def __init__(
        self, message: str, *, exists_from: datetime | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.exists_from = exists_from


class ConfigError(PartitaError):
    """Run-time configuration does not validate against an asset's config model."""

    retryable = False


class PlanError(PartitaError):
    """A plan cannot be made from this request."""


class StorageError(PartitaError):
    """A store cannot read, stage, publish or delete data."""


class SchemaChangeError(StorageError):
    """A write would change a stored column's type (or the asset's partitioning) in a
    way no safe widening covers (see ``partita.io.schema``). Deterministic: running
    the step again cannot help, so the runner does not retry it."""

    retryable = False


class StoreAccessError(StorageError):
    """A store on a remote service cannot be used at all (unreachable endpoint, missing
    bucket, refused credentials), found before a run starts: bad input, so the CLI
    exits with status 2 (:attr:`exit_status`)."""

    retryable = False
    exit_status: ClassVar[int] = 2


class InputMissingError(StorageError):
    """A step's input partition is recorded in the catalog as built, but its data is
    not in the store (deleted or moved behind Partita's back): the upstream
    partition's problem, not the reading step's. Running the step again cannot
    help until the upstream partition is rebuilt, so the runner does not retry it.

    Args:
        upstream: the upstream asset key.
        partitions: the missing upstream partition keys (``""`` when unpartitioned).
        param: the parameter of the reading step that asked for them.
    """

    retryable = False

    def __init__(self, upstream: str, partitions: tuple[str, ...], param: str) -> None:
        self.upstream = upstream
        self.partitions = partitions
        keys = [p for p in partitions if p]
        where = upstream
        if keys:
            where += f" [{keys[0]}" + (f" and {len(keys) - 1} more]" if len(keys) > 1 else "]")
        super().__init__(
            f"input {param!r}: {where} is recorded as built but missing from the store; "
            f"run `partita verify {upstream} --repair`, then rerun",
            hint="its data was deleted or moved outside Partita; `verify --repair` marks "
            "it stale, so the rerun rebuilds it before this step",
        )


class CatalogError(PartitaError):
    """The lineage catalog cannot be opened, migrated, read or written."""


class CatalogUnreachableError(CatalogError):
    """The catalog's database server cannot be reached, or refuses the credentials
    (the message names ``user@host:port/database``, never the password)."""

    exit_status = 2


class LeaseLostError(PartitaError):
    """A worker's run no longer holds the lease of the partition it was about to
    publish (another run took it over, or the run is over): the staged data is
    discarded instead of published. Not retried: whoever holds the lease builds it."""

    retryable = False


class CheckFailed(PartitaError):
    """A blocking (``error`` severity) data-quality check failed."""


class UserCodeError(PartitaError):
    """A user's function raised; wraps the exception with the asset and partition.

    The original exception is kept as ``__cause__`` and ``original``; the
    traceback text of the user's code is in ``user_traceback``.
    """

    def __init__(
        self,
        asset: str,
        partition: str | None,
        original: BaseException,
        *,
        user_traceback: str = "",
        hint: str | None = None,
    ) -> None:
        self.asset = asset
        self.partition = partition
        self.original = original
        self.user_traceback = user_traceback
        where = asset if partition is None else f"{asset} [{partition}]"
        first_line = (str(original).splitlines() or [""])[0]
        super().__init__(
            f"{where}: {type(original).__name__}: {first_line}".rstrip(": "), hint=hint
        )
