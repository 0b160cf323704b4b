"""The result of evaluating one check on one partition: :class:`CheckOutcome`."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from partita.checks.custom import Severity

__all__ = ["CheckOutcome", "blocking_failures", "json_safe", "summarize"]


def json_safe(value: object) -> Any:
    """``value`` converted to plain JSON types (for samples and metadata).

    Dates and times become ISO 8601 text, decimals and UUIDs text, bytes
    base64, NaN and infinities the strings ``"NaN"``, ``"inf"``, ``"-inf"``;
    mappings and sequences are converted recursively; anything else is ``repr``'d.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return json_safe(item())
    return repr(value)


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What evaluating one check on one partition found.

    Attributes:
        name: the check's name.
        kind: ``not_null``, ``unique``, ..., or ``custom``.
        severity: ``error`` (a failure blocks publication) or ``warn``.
        passed: whether the check passed (after thresholds).
        failing_rows: rows that violate the check (``None`` for checks that
            are not about rows: ``row_count``, ``schema``, ``custom``).
        total_rows: rows in the partition (``None`` when unknown).
        failing_fraction: ``failing_rows / total_rows`` (0 for an empty
            partition; ``None`` with ``failing_rows``).
        sample: up to 5 failing rows as JSON-safe dicts.
        message: one line saying what was found.
        duration_s: seconds spent (for built-ins, the shared scan the check
            took part in plus its own sample query).
        metadata: JSON-safe details (thresholds, missing columns, a traceback).
        partition: the partition checked.
    """

    name: str
    kind: str
    severity: Severity
    passed: bool
    failing_rows: int | None = None
    total_rows: int | None = None
    failing_fraction: float | None = None
    sample: tuple[Mapping[str, Any], ...] = ()
    message: str = ""
    duration_s: float = 0.0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partition: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "sample", tuple(MappingProxyType(json_safe(row)) for row in self.sample)
        )
        object.__setattr__(self, "metadata", MappingProxyType(json_safe(self.metadata)))

    @property
    def blocking(self) -> bool:
        """Whether this outcome blocks publication (an ``error`` check that failed)."""
        return not self.passed and self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain JSON types."""
        return {
            "name": self.name,
            "kind": self.kind,
            "severity": self.severity,
            "passed": self.passed,
            "partition": self.partition,
            "failing_rows": self.failing_rows,
            "total_rows": self.total_rows,
            "failing_fraction": self.failing_fraction,
            "sample": [dict(row) for row in self.sample],
            "message": self.message,
            "duration_s": self.duration_s,
            "metadata": json_safe(self.metadata),
        }

    def to_json(self) -> str:
        """The outcome as one line of JSON (strict: no NaN)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckOutcome:
        """Rebuild an outcome from :meth:`to_dict` output."""
        return cls(
            name=data["name"],
            kind=data["kind"],
            severity=data["severity"],
            passed=bool(data["passed"]),
            failing_rows=data.get("failing_rows"),
            total_rows=data.get("total_rows"),
            failing_fraction=data.get("failing_fraction"),
            sample=tuple(data.get("sample", ())),
            message=data.get("message", ""),
            duration_s=float(data.get("duration_s", 0.0)),
            metadata=data.get("metadata", {}),
            partition=data.get("partition"),
        )


def blocking_failures(outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """The outcomes that block publication (failed ``error`` checks), in order."""
    return [outcome for outcome in outcomes if outcome.blocking]


def summarize(outcomes: Sequence[CheckOutcome]) -> str:
    """One line naming the failed checks (``"2 of 5 checks failed: a, b (warn)"``)."""
    failed = [o for o in outcomes if not o.passed]
    if not failed:
        return f"{len(outcomes)} checks passed"
    names = ", ".join(o.name if o.severity == "error" else f"{o.name} (warn)" for o in failed)
    return f"{len(failed)} of {len(outcomes)} checks failed: {names}"
