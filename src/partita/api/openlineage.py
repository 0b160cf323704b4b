"""OpenLineage for a project: the run's sinks, and exporting the catalog's history.

:func:`openlineage_subscribers` gives :func:`partita.materialize` its
OpenLineage sinks (none when nothing configures OpenLineage, see
:mod:`partita.openlineage.config`); :func:`export_openlineage` writes the
catalog's history as OpenLineage events, one JSON line each
(``partita lineage export --openlineage FILE``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from partita.api.project import Project
from partita.assets import AssetSpec
from partita.errors import PartitaError
from partita.events import Subscriber
from partita.io import ParquetStore
from partita.openlineage.config import (
    OpenLineageSettings,
    emission_configured,
    read_settings,
)
from partita.runner import resolve_store
from partita.selection import select

if TYPE_CHECKING:
    from partita.openlineage.lineage import AssetLineage
    from partita.openlineage.runs import EventBuilder

__all__ = ["event_builder", "export_openlineage", "openlineage_subscribers"]


def _settings(project: Project) -> OpenLineageSettings:
    return read_settings(None if project.in_memory else project.loaded.root)


def _lineage(
    project: Project, settings: OpenLineageSettings
) -> tuple[str, dict[str, AssetLineage]]:
    """The jobs' namespace (default: the project's name) and what the events say of each
    asset (datasets named by each asset's store); the OpenLineage client is not imported."""
    from partita.openlineage.lineage import project_lineage  # noqa: PLC0415

    namespace = settings.namespace or settings.project_name or "partita"
    default = ParquetStore(project.data_path)
    definitions = project.loaded.definitions

    def store_of(spec: AssetSpec) -> object:
        try:
            return resolve_store(spec, definitions, default)
        except PartitaError:
            return None  # the run reports a bad store; its dataset is named after the asset

    return namespace, project_lineage(project.graph, namespace, store_of)


def event_builder(project: Project, settings: OpenLineageSettings | None = None) -> EventBuilder:
    """The OpenLineage event builder of ``project``: jobs in the configured namespace
    (default: the project's name), datasets named by each asset's store."""
    from partita.openlineage.runs import EventBuilder  # noqa: PLC0415

    return EventBuilder(*_lineage(project, settings or _settings(project)))


def _configured_sink(project: Project, settings: OpenLineageSettings) -> Subscriber | None:
    """The sink of the configured transport: a sender process (:mod:`partita.openlineage.sender`),
    or, when the assets' lineage cannot be handed to one, a sink in this process."""
    from partita.openlineage.lineage import portable_lineage  # noqa: PLC0415
    from partita.openlineage.sender import ProcessSink  # noqa: PLC0415

    namespace, assets = _lineage(project, settings)
    portable = portable_lineage(assets)
    if portable is not None:
        code = {key: lineage.source_code for key, lineage in assets.items()}
        sink = ProcessSink(settings, namespace, portable, code)
        sink.start()  # its start-up overlaps the run's planning
        return sink
    from partita.openlineage.config import configured_client  # noqa: PLC0415
    from partita.openlineage.runs import EventBuilder  # noqa: PLC0415
    from partita.openlineage.sink import OpenLineageSink  # noqa: PLC0415

    client = configured_client(settings)
    if client is None:
        return None
    return OpenLineageSink(client, EventBuilder(namespace, assets), name="configured")


def openlineage_subscribers(
    project: Project, openlineage_file: str | os.PathLike[str] | None = None
) -> list[Subscriber]:
    """The OpenLineage sinks of a run of ``project``: one appending JSON lines to
    ``openlineage_file`` when given, one for the configured transport when there is
    one; none otherwise.

    Raises:
        DefinitionError: ``[tool.partita.openlineage]`` is invalid.
    """
    settings = _settings(project)
    sinks: list[Subscriber] = []
    if openlineage_file is not None:
        from partita.openlineage.config import file_client  # noqa: PLC0415 - the client loads slowly
        from partita.openlineage.sink import OpenLineageSink  # noqa: PLC0415

        builder = event_builder(project, settings)
        sinks.append(OpenLineageSink(file_client(openlineage_file), builder, name="file"))
    if emission_configured(settings):
        configured = _configured_sink(project, settings)
        if configured is not None:
            sinks.append(configured)
    return sinks


def export_openlineage(
    project: Project,
    path: str | os.PathLike[str],
    selection: str | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Write the catalog's history of ``selection`` (default: every asset) to ``path`` as
    OpenLineage events, one JSON line each, oldest run first; return how many.

    A project that never ran writes an empty file.

    Raises:
        SelectionError / UnknownAssetError: the selection names nothing known.
    """
    from openlineage.client.serde import Serde  # noqa: PLC0415 - the client loads slowly

    from partita.openlineage.replay import replay  # noqa: PLC0415

    assets = [str(key) for key in select(project.graph, selection)]
    builder = event_builder(project)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    temp = target.with_name(f".{target.name}.partial")
    with project.existing_catalog() as catalog, temp.open("w", encoding="utf-8") as out:
        if catalog is not None:
            for event in replay(catalog, builder, assets, now=now or datetime.now(UTC)):
                out.write(Serde.to_json(event) + "\n")
                count += 1
    temp.replace(target)
    return count
