"""Events as JSON text: what the client's ``Serde.to_json`` writes, in a third of the time.

``Serde.to_json`` converts the whole event with ``attr.asdict``, then walks the
result again to drop nulls and turn enums, dates and UUIDs into text. A run's
events share many facets (a job's type and code, the parent run, a
partition's window and subset, a schema: :class:`~partita.openlineage.runs.EventBuilder`
makes each once), so :class:`EventJson` converts in one walk and converts each
of those shared facets once. The text is the same as ``Serde.to_json``'s, key
for key (the tests compare them).
"""

from __future__ import annotations

import datetime
import json
import uuid
from enum import Enum
from typing import Any

import attr
from openlineage.client.facet_v2 import (
    base_subset_dataset,
    column_lineage_dataset,
    job_type_job,
    nominal_time_run,
    parent_run,
    schema_dataset,
    source_code_job,
    sql_job,
)

__all__ = ["EventJson"]

_SHARED: frozenset[type] = frozenset(
    {
        job_type_job.JobTypeJobFacet,
        source_code_job.SourceCodeJobFacet,
        sql_job.SQLJobFacet,
        parent_run.ParentRunFacet,
        nominal_time_run.NominalTimeRunFacet,
        base_subset_dataset.OutputSubsetOutputDatasetFacet,
        schema_dataset.SchemaDatasetFacet,
        column_lineage_dataset.ColumnLineageDatasetFacet,
    }
)
"""The facets the event builder shares between events (and the client never changes)."""

_SCALARS = (str, int, float, bool)


def _non_serializable(value: object) -> str:
    return f"<<non-serializable: {type(value).__qualname__}>>"


class EventJson:
    """Converts events to JSON text as ``Serde.to_json`` does (see the module's text).

    Args:
        shared: how many shared facets to keep converted (then it starts afresh).
    """

    def __init__(self, shared: int = 8192) -> None:
        self.shared = shared
        self._converted: dict[int, tuple[object, Any]] = {}  # id -> (the facet, its value)
        self._names: dict[type, tuple[str, ...]] = {}

    def __call__(self, event: object) -> str:
        """``event`` (an attrs event of the client) as JSON text."""
        return json.dumps(self._plain(event), sort_keys=True, default=_non_serializable)

    def _fields(self, kind: type) -> tuple[str, ...]:
        names = self._names.get(kind)
        if names is None:
            names = tuple(a.name for a in attr.fields(kind))
            self._names[kind] = names
        return names

    def _plain(self, value: Any) -> Any:
        kind = type(value)
        if value is None or kind in _SCALARS:
            return value
        if attr.has(kind):
            if kind in _SHARED:
                found = self._converted.get(id(value))
                if found is not None and found[0] is value:
                    return found[1]
            plain = {}
            for name in self._fields(kind):
                item = self._plain(getattr(value, name))
                if item is not None:
                    plain[name] = item
            if kind in _SHARED:
                if len(self._converted) >= self.shared:
                    self._converted.clear()
                self._converted[id(value)] = (value, plain)  # held, so its id is not reused
            return plain
        if isinstance(value, dict):
            return {
                key: item
                for key, item in ((k, self._plain(v)) for k, v in value.items())
                if item is not None
            }
        if isinstance(value, list | tuple | set | frozenset):
            items = (self._plain(v) for v in value if v is not None)
            return [i for i in items if i is not None and (not isinstance(i, dict) or i != {})]
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        if kind.__name__ == "int64":  # numpy's, as Serde does
            return int(value)
        return value
