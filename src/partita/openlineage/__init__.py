"""OpenLineage events for every step, validated against the specification (DESIGN.md §5).

:class:`OpenLineageSink` is an event subscriber (:mod:`partita.events`) that
emits, through the ``openlineage-python`` client, a START and a terminal event
per partition built and per Partita run; :func:`replay` makes the same events
from the catalog's history. :mod:`partita.openlineage.facets` builds the facets
from plain data; :mod:`partita.openlineage.config` says whether (and where)
events go.
"""

from __future__ import annotations

from partita.openlineage.config import (
    OpenLineageSettings,
    client_configured,
    configured_client,
    file_client,
    read_settings,
)
from partita.openlineage.facets import PRODUCER, CheckResult, column_lineage_facet, sql_facet
from partita.openlineage.replay import replay
from partita.openlineage.runs import (
    RUN_JOB,
    AssetLineage,
    EventBuilder,
    ParentRun,
    Written,
    project_lineage,
)
from partita.openlineage.sink import Emitter, OpenLineageSink

__all__ = [
    "PRODUCER",
    "RUN_JOB",
    "AssetLineage",
    "CheckResult",
    "Emitter",
    "EventBuilder",
    "OpenLineageSettings",
    "OpenLineageSink",
    "ParentRun",
    "Written",
    "client_configured",
    "column_lineage_facet",
    "configured_client",
    "file_client",
    "project_lineage",
    "read_settings",
    "replay",
    "sql_facet",
]
