"""OpenLineage run events of Partita's runs and steps (DESIGN.md §5).

Conventions:

- the Partita run is one OpenLineage run of the job ``materialize``;
- each asset is one job (its key), and each partition it builds in a run is
  one OpenLineage run with a ``parent`` facet pointing at the Partita run;
- each asset's data is one dataset (its table, or its folder), the partition
  in the ``subset`` facet, a time partition's window also in ``nominalTime``.

Run ids are UUIDs derived from the Partita run (its id and start) and the
partition, so the live events and a replay of the catalog
(:mod:`partita.openlineage.replay`) name the same runs.
:class:`EventBuilder` makes the events; it holds no state of a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
)

from partita.openlineage.facets import (
    PRODUCER,
    assertions_facet,
    column_lineage_facet,
    error_message_facet,
    input_subset_facet,
    job_type_facet,
    nominal_time_facet,
    output_statistics_facet,
    output_subset_facet,
    parent_facet,
    schema_facet,
    source_code_facet,
    sql_facet,
    version_facet,
)
from partita.openlineage.lineage import (
    AssetLineage,
    lineage_of,
    partition_split,
    partition_window,
    project_lineage,
    upstream_reads,
)
from partita.openlineage.steps import CheckResult, ParentRun, Written
from partita.records import Input

__all__ = [
    "RUN_JOB",
    "AssetLineage",
    "EventBuilder",
    "ParentRun",
    "Written",
    "project_lineage",
]

RUN_JOB = "materialize"
"""The job name of a Partita run (each asset's job is named by its key)."""


def _time(moment: datetime) -> str:
    return moment.isoformat()


class EventBuilder:
    """Makes the OpenLineage run events of a project's runs and steps.

    Args:
        namespace: the jobs' namespace (default: the project's name).
        assets: per asset key, what the events say about it (:func:`project_lineage`).
    """

    def __init__(self, namespace: str, assets: Mapping[str, AssetLineage]) -> None:
        self.namespace = namespace
        self.assets = dict(assets)
        # facets that are the same in many events are made once (each costs ~50 us)
        self._jobs: dict[tuple[str, bool], Job] = {}
        self._columns: dict[str, DatasetFacet] = {}
        self._parents: dict[str, RunFacet] = {}
        self._schemas = lru_cache(maxsize=256)(schema_facet)
        # a partition's START and terminal events share these (steps end in about
        # the order they start, so a few thousand cover the steps in flight)
        self._nominal = lru_cache(maxsize=4096)(self._nominal_time)
        self._output_subset = lru_cache(maxsize=4096)(self._output_subset_of)

    def asset(self, key: str) -> AssetLineage:
        """What is known of ``key`` (:func:`~partita.openlineage.lineage.lineage_of`)."""
        return lineage_of(self.assets, self.namespace, key)

    # -- the Partita run -------------------------------------------------------------

    def _run_job(self) -> Job:
        facets: dict[str, JobFacet] = {"jobType": job_type_facet("RUN")}
        return Job(namespace=self.namespace, name=RUN_JOB, facets=facets)

    def run_started(self, parent: ParentRun, at: datetime) -> RunEvent:
        """START of the Partita run."""
        return RunEvent(
            eventType=RunState.START,
            eventTime=_time(at),
            run=Run(runId=parent.uuid),
            job=self._run_job(),
            producer=PRODUCER,
        )

    def run_finished(
        self, parent: ParentRun, at: datetime, status: str, error: str | None = None
    ) -> RunEvent:
        """COMPLETE (``succeeded``), ABORT (``cancelled``) or FAIL of the Partita run."""
        state = {"succeeded": RunState.COMPLETE, "cancelled": RunState.ABORT}.get(
            status, RunState.FAIL
        )
        facets: dict[str, RunFacet] = {}
        if state is RunState.FAIL:
            facets["errorMessage"] = error_message_facet(error or f"run {status}")
        return RunEvent(
            eventType=state,
            eventTime=_time(at),
            run=Run(runId=parent.uuid, facets=facets),
            job=self._run_job(),
            producer=PRODUCER,
        )

    # -- one partition of an asset ---------------------------------------------------

    def _step_job(self, asset: AssetLineage, *, code: bool = False) -> Job:
        """The asset's job; its code (``sourceCode``) only when ``code`` (on START events,
        so the terminal events stay small)."""
        job = self._jobs.get((asset.key, code))
        if job is None:
            facets: dict[str, JobFacet] = {"jobType": job_type_facet("ASSET")}
            text = asset.source_code() if code else None
            if text:
                facets["sourceCode"] = source_code_facet(text)
            if asset.sql is not None:
                facets["sql"] = sql_facet(*asset.sql)
            job = Job(namespace=self.namespace, name=asset.key, facets=facets)
            self._jobs[(asset.key, code)] = job
        return job

    def _parent(self, parent: ParentRun) -> RunFacet:
        facet = self._parents.get(parent.uuid)
        if facet is None:
            facet = parent_facet(parent.uuid, self.namespace, RUN_JOB)
            self._parents = {parent.uuid: facet}  # one run at a time
        return facet

    def _step_run(
        self, parent: ParentRun, asset: AssetLineage, partition: str | None, **extra: RunFacet
    ) -> Run:
        facets: dict[str, RunFacet] = {"parent": self._parent(parent)}
        if partition is not None and asset.partitions is not None:
            nominal = self._nominal(asset.key, partition)
            if nominal is not None:
                facets["nominalTime"] = nominal
        facets.update(extra)
        return Run(runId=parent.step_uuid(asset.key, partition), facets=facets)

    def _nominal_time(self, asset: str, partition: str) -> RunFacet | None:
        window = partition_window(self.asset(asset), partition)
        return None if window is None else nominal_time_facet(window.start, window.end)

    def _output_subset_of(self, asset: str, partition: str) -> OutputDatasetFacet:
        dimensions, split = partition_split(self.asset(asset), [partition])
        return output_subset_facet([partition], dimensions, split)

    def _output(
        self,
        asset: AssetLineage,
        partition: str | None,
        written: Written | None = None,
        checks: Sequence[CheckResult] = (),
    ) -> OutputDataset:
        facets: dict[str, DatasetFacet] = {}
        output_facets: dict[str, OutputDatasetFacet] = {}
        if partition is not None and asset.partitions is not None:
            output_facets["subset"] = self._output_subset(asset.key, partition)
        if written is not None:
            if written.schema:
                facets["schema"] = self._schemas(written.schema)
            if written.data_version:
                facets["version"] = version_facet(written.data_version)
            if written.rows is not None or written.bytes is not None:
                output_facets["outputStatistics"] = output_statistics_facet(
                    written.rows, written.bytes
                )
        if checks:
            facets["dataQualityAssertions"] = assertions_facet(checks)  # type: ignore[assignment]
        if asset.columns:
            facets["columnLineage"] = self._column_lineage(asset)
        namespace, name = asset.dataset
        return OutputDataset(
            namespace=namespace, name=name, facets=facets, outputFacets=output_facets
        )

    def _column_lineage(self, asset: AssetLineage) -> DatasetFacet:
        """A SQL asset's ``columnLineage`` facet, made once per asset."""
        facet = self._columns.get(asset.key)
        if facet is None:
            mapping = {
                column: [(*self.asset(upstream).dataset, field) for upstream, field in sources]
                for column, sources in asset.columns
            }
            facet = column_lineage_facet(mapping)
            self._columns[asset.key] = facet
        return facet

    def _declared_inputs(self, asset: AssetLineage) -> list[InputDataset]:
        inputs = []
        for upstream in asset.upstream:
            namespace, name = self.asset(upstream).dataset
            inputs.append(InputDataset(namespace=namespace, name=name))
        return inputs

    def _read_inputs(self, asset: AssetLineage, read: Iterable[Input]) -> list[InputDataset]:
        inputs = []
        for upstream in upstream_reads(asset, read, self.asset):
            namespace, dataset = upstream.lineage.dataset
            facets: dict[str, DatasetFacet] = {}
            input_facets: dict[str, InputDatasetFacet] = {}
            if upstream.keys:
                dimensions, split = partition_split(upstream.lineage, upstream.keys)
                input_facets["subset"] = input_subset_facet(upstream.keys, dimensions, split)
            if upstream.version is not None:
                facets["version"] = version_facet(upstream.version)
            inputs.append(
                InputDataset(
                    namespace=namespace, name=dataset, facets=facets, inputFacets=input_facets
                )
            )
        return inputs

    def step_started(
        self, parent: ParentRun, asset: str, partition: str | None, at: datetime
    ) -> RunEvent:
        """START of building one partition (``None``: an unpartitioned asset)."""
        lineage = self.asset(asset)
        return RunEvent(
            eventType=RunState.START,
            eventTime=_time(at),
            run=self._step_run(parent, lineage, partition),
            job=self._step_job(lineage, code=True),
            inputs=self._declared_inputs(lineage),
            outputs=[self._output(lineage, partition)],
            producer=PRODUCER,
        )

    def step_completed(
        self,
        parent: ParentRun,
        asset: str,
        partition: str | None,
        at: datetime,
        written: Written | None,
        checks: Sequence[CheckResult] = (),
    ) -> RunEvent:
        """COMPLETE of one partition: what was written, read and checked."""
        lineage = self.asset(asset)
        return RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=_time(at),
            run=self._step_run(parent, lineage, partition),
            job=self._step_job(lineage),
            inputs=self._read_inputs(lineage, () if written is None else written.inputs),
            outputs=[self._output(lineage, partition, written, checks)],
            producer=PRODUCER,
        )

    def step_failed(
        self,
        parent: ParentRun,
        asset: str,
        partition: str | None,
        at: datetime,
        error: str,
        checks: Sequence[CheckResult] = (),
    ) -> RunEvent:
        """FAIL of one partition, with the error (and the checks that ran)."""
        lineage = self.asset(asset)
        return RunEvent(
            eventType=RunState.FAIL,
            eventTime=_time(at),
            run=self._step_run(parent, lineage, partition, errorMessage=error_message_facet(error)),
            job=self._step_job(lineage),
            inputs=self._declared_inputs(lineage),
            outputs=[self._output(lineage, partition, None, checks)],
            producer=PRODUCER,
        )

    def step_aborted(
        self, parent: ParentRun, asset: str, partition: str | None, at: datetime
    ) -> RunEvent:
        """ABORT of one partition (cancelled, or the run ended before it did)."""
        lineage = self.asset(asset)
        return RunEvent(
            eventType=RunState.ABORT,
            eventTime=_time(at),
            run=self._step_run(parent, lineage, partition),
            job=self._step_job(lineage),
            inputs=self._declared_inputs(lineage),
            outputs=[self._output(lineage, partition)],
            producer=PRODUCER,
        )
