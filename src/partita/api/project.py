"""Loading a project and describing its assets (``partita list`` / ``graph`` / ``validate``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from partita.api.references_check import check_references
from partita.assets import AssetSpec
from partita.catalog import (
    describe_location,
    is_postgres_url,
    open_catalog,
    open_existing_catalog,
)
from partita.definitions import Definitions, LoadedProject
from partita.definitions import load_project as _load_definitions
from partita.errors import DefinitionError, PartitionKeyError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DynamicPartitions, MultiPartitions, PartitionsDefinition
from partita.processes import remove_at_exit
from partita.records import Catalog
from partita.selection import select

CATALOG_URL_VARIABLE = "PARTITA_CATALOG_URL"
"""The environment variable naming the catalog (wins over ``[tool.partita] catalog``)."""

__all__ = [
    "CATALOG_URL_VARIABLE",
    "AssetInfo",
    "dynamic_partitions_definitions",
    "GraphView",
    "Project",
    "ProjectLike",
    "as_project",
    "graph_view",
    "list_assets",
    "load_project",
]


@dataclass(frozen=True)
class Project:
    """A loaded, validated project: its definitions, asset graph and home folder."""

    loaded: LoadedProject
    graph: AssetGraph

    @property
    def in_memory(self) -> bool:
        """True for definitions built in memory (no file or module to load them from)."""
        return not self.loaded.origin

    @property
    def home(self) -> Path:
        """The project home (``.partita/`` by default): catalog and default data."""
        return self.loaded.home

    @property
    def catalog_path(self) -> Path:
        """Where the project's SQLite catalog file lives by default (``<home>/catalog.db``)."""
        return self.home / "catalog.db"

    @property
    def catalog_location(self) -> str | Path:
        """The project's catalog: ``PARTITA_CATALOG_URL`` when set, else ``[tool.partita]
        catalog`` (a ``postgresql://`` URL, or a SQLite file relative to the project root),
        else :attr:`catalog_path`."""
        configured = os.environ.get(CATALOG_URL_VARIABLE) or self.loaded.catalog
        if not configured:
            return self.catalog_path
        if is_postgres_url(configured):
            return configured
        return self.loaded.root / configured

    @property
    def catalog_name(self) -> str:
        """The catalog's location for messages (a URL without its password)."""
        location = self.catalog_location
        return describe_location(location)

    @property
    def data_path(self) -> Path:
        """Where the default Parquet store keeps data."""
        return self.home / "data"

    def open_catalog(self) -> Catalog:
        """The project's catalog, created with its folder on first use (close it, or
        use it as a context manager)."""
        return open_catalog(self.catalog_location)

    @contextmanager
    def existing_catalog(self) -> Iterator[Catalog | None]:
        """The catalog if it exists (``None`` for a project that never ran): read-only
        commands never create it."""
        catalog = open_existing_catalog(self.catalog_location)
        if catalog is None:
            yield None
            return
        with catalog:
            yield catalog

    def resolve_partition(
        self, asset: str | AssetKey, partition: str | None
    ) -> tuple[AssetKey, str | None]:
        """An asset name and partition key as the user typed them, resolved and validated.

        Raises:
            UnknownAssetError: no such asset (with close names).
            PartitionKeyError: the key is not valid for the asset's partitions, or
                the asset is not partitioned.
        """
        key = self.graph.resolve(asset)
        definition = self.graph.spec(key).partitions
        if partition is None:
            return key, None
        if definition is None:
            raise PartitionKeyError(
                f"{key} is not partitioned, so it has no partition {partition!r}",
                hint="leave out the partition",
            )
        return key, definition.validate(partition)


def load_project(
    file: str | Path | None = None, module: str | None = None, cwd: Path | None = None
) -> Project:
    """Find, import and validate a project (see :func:`partita.definitions.load_project`)."""
    loaded = _load_definitions(file=file, module=module, cwd=cwd)
    return Project(loaded=loaded, graph=checked_graph(loaded.definitions))


def checked_graph(definitions: Definitions) -> AssetGraph:
    """The validated graph, every other reference of the definitions checked too."""
    graph = AssetGraph(definitions)
    check_references(graph)
    return graph


ProjectLike = Project | Definitions | Sequence[AssetSpec]
"""A loaded project, or definitions built in memory (``Definitions`` or a list of
assets and sources), as :func:`partita.materialize` and :func:`partita.plan` take."""


def as_project(target: ProjectLike, home: str | os.PathLike[str] | None = None) -> Project:
    """``target`` as a :class:`Project` whose catalog and data live in ``home``.

    A loaded project keeps its own home unless ``home`` is given. Definitions
    built in memory have no file: their home is ``home``, else the definitions'
    ``home=`` (relative to the working directory), else a new temporary folder
    that is removed when the interpreter exits (pass ``home`` to keep state
    between calls).

    Raises:
        DefinitionError: ``target`` is none of these, or its graph is invalid.
    """
    if isinstance(target, Project):
        if home is None:
            return target
        return Project(loaded=replace(target.loaded, home=Path(home)), graph=target.graph)
    if isinstance(target, Definitions):
        definitions = target
    elif isinstance(target, Sequence) and all(isinstance(a, AssetSpec) for a in target):
        definitions = Definitions(assets=list(target))
    else:
        raise DefinitionError(
            f"expected a Project, Definitions or a list of assets, not {type(target).__name__}",
            hint="pass Definitions(assets=[...]), a list of @asset functions, or "
            "partita.api.load_project(...)",
        )
    if home is not None:
        folder = Path(home)
    elif definitions.home is not None:
        folder = Path(definitions.home)
    else:
        folder = Path(tempfile.mkdtemp(prefix="partita-"))
        remove_at_exit(folder)
    folder = folder.resolve()
    loaded = LoadedProject(definitions=definitions, root=folder, home=folder, origin="")
    return Project(loaded=loaded, graph=checked_graph(definitions))


@dataclass(frozen=True)
class AssetInfo:
    """What ``partita list`` shows about one asset or source."""

    key: str
    kind: str
    group: str
    partitions: str | None
    dimensions: tuple[str, ...]
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    code_version: str
    description: str
    owners: tuple[str, ...]
    tags: dict[str, str]
    checks: tuple[str, ...]
    freshness: str | None
    batch: bool

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stable field names)."""
        return {
            "key": self.key,
            "kind": self.kind,
            "group": self.group,
            "partitions": self.partitions,
            "dimensions": list(self.dimensions),
            "upstream": list(self.upstream),
            "downstream": list(self.downstream),
            "code_version": self.code_version,
            "description": self.description,
            "owners": list(self.owners),
            "tags": self.tags,
            "checks": list(self.checks),
            "freshness": self.freshness,
            "batch": self.batch,
        }


def _info(graph: AssetGraph, key: AssetKey) -> AssetInfo:
    spec = graph.spec(key)
    parts = spec.partitions
    return AssetInfo(
        key=str(key),
        kind=spec.kind,
        group=spec.group,
        partitions=None if parts is None else parts.describe(),
        dimensions=() if parts is None else parts.dimensions,
        upstream=tuple(str(e.upstream) for e in graph.upstream_edges(key)),
        downstream=tuple(str(e.downstream) for e in graph.downstream_edges(key)),
        code_version=graph.code_version(key),
        description=spec.description,
        owners=spec.owners,
        tags=dict(spec.tags),
        checks=tuple(c.name for c in spec.checks),
        freshness=None if spec.freshness is None else spec.freshness.describe(),
        batch=spec.batch,
    )


def list_assets(project: Project, selection: str | None = None) -> list[AssetInfo]:
    """The assets and sources of ``selection`` (default: all), in topological order."""
    return [_info(project.graph, k) for k in select(project.graph, selection)]


@dataclass(frozen=True)
class GraphView:
    """A selected part of the asset graph: nodes and the edges between them."""

    nodes: tuple[AssetInfo, ...]
    edges: tuple[tuple[str, str, str], ...]  # (upstream, downstream, mapping)
    generations: tuple[tuple[str, ...], ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: nodes, edges (with mapping) and topological generations."""
        return {
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [{"upstream": u, "downstream": d, "mapping": m} for u, d, m in self.edges],
            "generations": [list(g) for g in self.generations],
        }


def graph_view(project: Project, selection: str | None = None) -> GraphView:
    """The subgraph of ``selection`` (default: all) with mappings and generations."""
    graph = project.graph
    keys = select(graph, selection)
    chosen = set(keys)
    edges = tuple(
        (str(e.upstream), str(e.downstream), repr(e.mapping))
        for k in keys
        for e in graph.upstream_edges(k)
        if e.upstream in chosen
    )
    generations = tuple(tuple(str(k) for k in g) for g in graph.generations(keys))
    return GraphView(
        nodes=tuple(_info(graph, k) for k in keys), edges=edges, generations=generations
    )


def _dynamic_of(definition: PartitionsDefinition | None) -> Iterator[DynamicPartitions]:
    if isinstance(definition, DynamicPartitions):
        yield definition
    elif isinstance(definition, MultiPartitions):
        for _, part in definition.parts:
            yield from _dynamic_of(part)


def dynamic_partitions_definitions(project: Project) -> dict[str, DynamicPartitions]:
    """The project's dynamic partitions definitions by name (also inside multi-partitions)."""
    found: dict[str, DynamicPartitions] = {}
    for spec in project.graph.specs():
        for definition in _dynamic_of(spec.partitions):
            found.setdefault(definition.name, definition)
    return dict(sorted(found.items()))
