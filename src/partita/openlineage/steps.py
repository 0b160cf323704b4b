"""The plain records the OpenLineage events are made from, importing no part of the client.

:class:`ParentRun` (a Partita run and its OpenLineage run ids), :class:`Written`
(one partition as written) and :class:`CheckResult` (one check result) are
what both event builders take: :class:`~partita.openlineage.runs.EventBuilder`
(the client's classes) and :class:`~partita.openlineage.plain.PlainEventBuilder`
(plain dicts, for the sender process's plain HTTP path, which never imports
the client, nor pyarrow). :func:`static_uuid` is the client's
``generate_static_uuid``, so both name the same runs (the tests compare them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from hashlib import sha1
from typing import TYPE_CHECKING
from uuid import UUID

from partita.release import __version__

if TYPE_CHECKING:
    from partita.records import Input

__all__ = ["PRODUCER", "CheckResult", "ParentRun", "Written", "static_uuid"]

PRODUCER = f"https://pypi.org/project/partita/{__version__}/"
"""The ``producer`` of every event and facet Partita emits (a URI, as the spec asks)."""


def static_uuid(instant: datetime, data: bytes) -> UUID:
    """The UUID (version 7) of ``instant`` and ``data``, as the client's
    ``openlineage.client.uuid.generate_static_uuid`` makes it: the time in
    milliseconds, then the first 76 bits of a SHA-1 of the time and ``data``."""
    utc = instant.astimezone(UTC)
    node = int.from_bytes(sha1(utc.isoformat().encode() + data).digest(), "big") >> 84
    value = (int(utc.timestamp() * 1000) & 0xFFFFFFFFFFFF) << 80
    value |= node & 0xFFFFFFFFFFFFFFFFFFFF
    value = (value & ~(0xF000 << 64)) | (7 << 76)  # the version
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # the variant (RFC 4122)
    return UUID(int=value)


@dataclass(frozen=True)
class ParentRun:
    """A Partita run as the parent of its steps' OpenLineage runs."""

    run_id: str
    started_at: datetime

    @cached_property
    def uuid(self) -> str:
        """The OpenLineage run id of the Partita run."""
        return str(static_uuid(self.started_at, self.run_id.encode()))

    def step_uuid(self, asset: str, partition: str | None) -> str:
        """The OpenLineage run id of one partition of ``asset`` built in this run."""
        data = f"{self.run_id}\0{asset}\0{partition or ''}".encode()
        return str(static_uuid(self.started_at, data))


@dataclass(frozen=True, slots=True)
class Written:
    """One partition as written: what the output dataset's facets say.

    Attributes:
        data_version: the content hash (empty for an asset that stored nothing).
        rows / bytes: sizes, when known.
        schema: the columns as JSON text, when known.
        inputs: the exact upstream partitions read (:class:`~partita.records.Input`,
            or anything with its three ``upstream_`` attributes).
    """

    data_version: str
    rows: int | None = None
    bytes: int | None = None
    schema: str | None = None
    inputs: tuple[Input, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check result, as the ``dataQualityAssertions`` facet takes it.

    Attributes:
        name: the check's name (``not_null_order_id``).
        passed: whether it passed.
        severity: ``error`` or ``warn``.
        message: what it found.
        failing_rows / total_rows: counts, when the check reports them.
    """

    name: str
    passed: bool
    severity: str = "error"
    message: str = ""
    failing_rows: int | None = None
    total_rows: int | None = None
