"""An in-memory recorder that builds a PlannerState as the catalog would.

It records materializations with the inputs a runner would record (every
upstream partition the mapping reads that exists, at its current version),
so planner tests need no database. The catalog's own integration tests prove
the SQLite catalog produces the same state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import UNPARTITIONED
from partita.records import (
    EDGES_SCHEMA,
    FAILED_SCHEMA,
    LATEST_SCHEMA,
    OBSERVATIONS_SCHEMA,
    PlannerState,
    combine_hashes,
    partition_hash,
)

NOW = datetime(2025, 2, 1, tzinfo=UTC)


@dataclass
class Recorded:
    mat_id: int
    data_version: str
    code_version: str
    config_hash: str
    edges: dict[str, tuple[int, int]]  # upstream asset -> (n_inputs, fingerprint)
    output_hash: int | None = None  # None: partition_hash of the data version


@dataclass
class FakeCatalog:
    graph: AssetGraph
    now: datetime = NOW
    latest: dict[tuple[str, str], Recorded] = field(default_factory=dict)
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    observations: dict[tuple[str, str], str] = field(default_factory=dict)
    next_id: int = 1

    def version(self, asset: str, partition: str) -> str | None:
        spec = self.graph.spec(asset)
        if spec.is_source:
            if spec.fn is None:
                return self.observations.get((asset, partition), "")
            return self.observations.get((asset, partition))
        found = self.latest.get((asset, partition))
        return None if found is None else found.data_version

    def output_hash(self, asset: str, partition: str, version: str) -> int:
        """The output hash a reader combines: the recorded (maybe inherited) one."""
        found = self.latest.get((asset, partition))
        if found is not None and found.output_hash is not None:
            return found.output_hash
        return partition_hash(asset, partition or None, version)

    def inputs_of(self, asset: str, partition: str) -> dict[str, list[tuple[str, str]]]:
        """What a runner reads now: per upstream asset, (partition, version) pairs."""
        key = AssetKey(asset)
        spec = self.graph.spec(key)
        definition = spec.partitions or UNPARTITIONED
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for edge in self.graph.upstream_edges(key):
            up_def = self.graph.spec(edge.upstream).partitions or UNPARTITIONED
            mapped = edge.mapping.upstream(
                definition.subset([partition]), definition, up_def, self.now
            )
            for up_partition in mapped:
                version = self.version(str(edge.upstream), up_partition)
                if version is not None and (up_partition, version) not in out[str(edge.upstream)]:
                    out[str(edge.upstream)].append((up_partition, version))
            out.setdefault(str(edge.upstream), [])
        return out

    def build(
        self,
        asset: str,
        partition: str = "",
        version: str | None = None,
        *,
        config_hash: str = "",
        keep_output: bool = False,
    ) -> None:
        """Record a successful build of one partition, reading the current inputs
        (``keep_output``: it keeps the output hash of the build before it)."""
        key = AssetKey(asset)
        edges = {
            up: (
                len(pairs),
                combine_hashes(self.output_hash(up, p, v) for p, v in pairs),
            )
            for up, pairs in self.inputs_of(asset, partition).items()
        }
        before = self.latest.get((asset, partition))
        kept = None
        if keep_output and before is not None:
            kept = self.output_hash(asset, partition, before.data_version)
        self.latest[(asset, partition)] = Recorded(
            mat_id=self.next_id,
            data_version=version or f"{asset}:{partition}:v1",
            code_version=self.graph.code_version(key),
            config_hash=config_hash,
            edges=edges,
            output_hash=kept,
        )
        self.failed.pop((asset, partition), None)
        self.next_id += 1

    def build_all(self, asset: str, version_suffix: str = "v1") -> None:
        definition = self.graph.spec(asset).partitions or UNPARTITIONED
        for partition in definition.keys(self.now):
            self.build(asset, partition, f"{asset}:{partition}:{version_suffix}")

    def fail(self, asset: str, partition: str, error: str = "boom") -> None:
        self.failed[(asset, partition)] = error

    def observe(self, asset: str, partition: str, version: str) -> None:
        self.observations[(asset, partition)] = version

    def state(self) -> PlannerState:
        latest_rows = [
            (
                a,
                p,
                r.mat_id,
                r.data_version,
                r.code_version,
                r.config_hash,
                self.output_hash(a, p, r.data_version),
                "run",
                self.now,
            )
            for (a, p), r in self.latest.items()
        ]
        edge_rows = [
            (r.mat_id, up, n, fp) for r in self.latest.values() for up, (n, fp) in r.edges.items()
        ]
        failed_rows = [(a, p, "failed", e) for (a, p), e in self.failed.items()]
        obs_rows = [
            (a, p, v, partition_hash(a, p or None, v), self.now)
            for (a, p), v in self.observations.items()
        ]
        return PlannerState(
            latest=_table(latest_rows, LATEST_SCHEMA),
            edges=_table(edge_rows, EDGES_SCHEMA),
            failed=_table(failed_rows, FAILED_SCHEMA),
            observations=_table(obs_rows, OBSERVATIONS_SCHEMA),
        )


def _table(rows: list[tuple[object, ...]], schema: pa.Schema) -> pa.Table:
    if not rows:
        return schema.empty_table()
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)],
        schema=schema,
    )
