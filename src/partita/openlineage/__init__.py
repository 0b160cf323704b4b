"""OpenLineage events for every step, validated against the specification (DESIGN.md §5).

:class:`OpenLineageSink` is an event subscriber (:mod:`partita.events`) that
emits, through the ``openlineage-python`` client, a START and a terminal event
per partition built and per Partita run (for a configured transport, in a
sender process: :class:`ProcessSink`); :func:`replay` makes the same events
from the catalog's history. :mod:`partita.openlineage.facets` builds the facets
from plain data; :mod:`partita.openlineage.config` says whether (and where)
events go.

Names are imported on first use: deciding that OpenLineage is off never
imports the client (about half a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from partita.lazy import lazy_module

if TYPE_CHECKING:
    from partita.openlineage.config import (
        JsonLinesFile,
        OpenLineageSettings,
        client_configured,
        configured_client,
        file_client,
        read_settings,
    )
    from partita.openlineage.facets import (
        PRODUCER,
        CheckResult,
        column_lineage_facet,
        sql_facet,
    )
    from partita.openlineage.replay import replay
    from partita.openlineage.runs import (
        RUN_JOB,
        AssetLineage,
        EventBuilder,
        ParentRun,
        Written,
        project_lineage,
    )
    from partita.openlineage.sender import ProcessSink
    from partita.openlineage.serialize import EventJson
    from partita.openlineage.sink import Emitter, OpenLineageSink

_LAZY: dict[str, str] = {
    "AssetLineage": "partita.openlineage.runs",
    "CheckResult": "partita.openlineage.facets",
    "Emitter": "partita.openlineage.sink",
    "EventBuilder": "partita.openlineage.runs",
    "EventJson": "partita.openlineage.serialize",
    "JsonLinesFile": "partita.openlineage.config",
    "OpenLineageSettings": "partita.openlineage.config",
    "OpenLineageSink": "partita.openlineage.sink",
    "PRODUCER": "partita.openlineage.facets",
    "ParentRun": "partita.openlineage.runs",
    "ProcessSink": "partita.openlineage.sender",
    "RUN_JOB": "partita.openlineage.runs",
    "Written": "partita.openlineage.runs",
    "client_configured": "partita.openlineage.config",
    "column_lineage_facet": "partita.openlineage.facets",
    "configured_client": "partita.openlineage.config",
    "file_client": "partita.openlineage.config",
    "project_lineage": "partita.openlineage.runs",
    "read_settings": "partita.openlineage.config",
    "replay": "partita.openlineage.replay",
    "sql_facet": "partita.openlineage.facets",
}

__getattr__, __dir__ = lazy_module("partita.openlineage", _LAZY, globals())

__all__ = [
    "PRODUCER",
    "RUN_JOB",
    "AssetLineage",
    "CheckResult",
    "Emitter",
    "EventBuilder",
    "EventJson",
    "JsonLinesFile",
    "OpenLineageSettings",
    "OpenLineageSink",
    "ParentRun",
    "ProcessSink",
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
