"""OpenLineage run events as plain dicts, made without the client.

:class:`PlainEventBuilder` makes the same events as
:class:`~partita.openlineage.runs.EventBuilder`, as the dicts that ``Serde``
would make of the client's classes (no nulls, each facet's ``_producer`` and
``_schemaURL``), so ``json.dumps(event, sort_keys=True)`` is the text the
client would send, key for key (the tests compare the two builders). The
sender process uses it on its plain HTTP path
(:mod:`partita.openlineage.plain_http`): importing the client costs about a
quarter of a second of CPU, and building and converting its classes about
half a millisecond an event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from partita.openlineage.lineage import (
    AssetLineage,
    lineage_of,
    partition_split,
    partition_window,
    upstream_reads,
)
from partita.openlineage.steps import PRODUCER, CheckResult, ParentRun, Written

__all__ = ["PlainEventBuilder"]

Plain = dict[str, Any]

RUN_JOB = "materialize"
INTEGRATION = "PARTITA"
_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FACETS = "https://openlineage.io/spec/facets/"
_SCHEMAS = {
    "jobType": "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "sourceCode": "1-0-1/SourceCodeJobFacet.json#/$defs/SourceCodeJobFacet",
    "sql": "1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
    "parent": "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "nominalTime": "1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
    "errorMessage": "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "outputSubset": "1-0-0/BaseSubsetDatasetFacet.json#/$defs/OutputSubsetOutputDatasetFacet",
    "inputSubset": "1-0-0/BaseSubsetDatasetFacet.json#/$defs/InputSubsetInputDatasetFacet",
    "schema": "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "version": "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "outputStatistics": (
        "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
    ),
    "dataQualityAssertions": (
        "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"
    ),
    "columnLineage": "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
}


def _facet(kind: str, **fields: Any) -> Plain:
    """A facet: its fields without nulls, its producer and schema."""
    facet = {name: value for name, value in fields.items() if value is not None}
    facet["_producer"] = PRODUCER
    facet["_schemaURL"] = _FACETS + _SCHEMAS[kind]
    return facet


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _partitions(
    keys: Sequence[str], dimensions: Sequence[str], split: Mapping[str, Mapping[str, str]]
) -> list[Plain]:
    return [
        {
            "dimensions": dict(split.get(key) or {dimensions[0] if dimensions else "key": key}),
            "identifier": key,
        }
        for key in keys
    ]


def _error_message(error: str) -> Plain:
    message, _, trace = error.strip().partition("\n")
    return _facet(
        "errorMessage",
        message=message or "failed",
        programmingLanguage="python",
        stackTrace=trace.strip() or None,
    )


def _job_type(job_type: str) -> Plain:
    return _facet("jobType", processingType="BATCH", integration=INTEGRATION, jobType=job_type)


def _schema(schema: str) -> Plain:
    fields = json.loads(schema)
    return _facet(
        "schema",
        fields=[
            {
                key: value
                for key, value in (
                    ("name", str(field["name"])),
                    ("type", field.get("type")),
                    ("ordinal_position", position),
                )
                if value is not None
            }
            for position, field in enumerate(fields, start=1)
        ],
    )


def _assertions(checks: Sequence[CheckResult]) -> Plain:
    assertions = []
    for check in checks:
        assertion: Plain = {
            "assertion": check.name,
            "success": check.passed,
            "severity": check.severity,
            "name": check.name,
        }
        if check.message:
            assertion["description"] = check.message
        if check.failing_rows is not None:
            assertion["expected"] = "0 failing rows"
            assertion["actual"] = f"{check.failing_rows} failing rows"
        assertions.append(assertion)
    return _facet("dataQualityAssertions", assertions=assertions)


class PlainEventBuilder:
    """Makes the events :class:`~partita.openlineage.runs.EventBuilder` makes, as plain
    dicts (see the module's text); the same arguments and methods."""

    def __init__(self, namespace: str, assets: Mapping[str, AssetLineage]) -> None:
        self.namespace = namespace
        self.assets = dict(assets)
        self._jobs: dict[tuple[str, bool], Plain] = {}
        self._columns: dict[str, Plain] = {}
        self._parents: dict[str, Plain] = {}
        self._run_job_facets = {"jobType": _job_type("RUN")}
        self._schemas = lru_cache(maxsize=256)(_schema)
        self._nominal = lru_cache(maxsize=4096)(self._nominal_time)
        self._output_subset = lru_cache(maxsize=4096)(self._output_subset_of)

    def asset(self, key: str) -> AssetLineage:
        """What is known of ``key`` (as :meth:`EventBuilder.asset`)."""
        return lineage_of(self.assets, self.namespace, key)

    def _event(
        self,
        state: str,
        at: datetime,
        run: Plain,
        job: Plain,
        inputs: list[Plain] | None = None,
        outputs: list[Plain] | None = None,
    ) -> Plain:
        return {
            "eventTime": at.isoformat(),
            "eventType": state,
            "inputs": inputs or [],
            "job": job,
            "outputs": outputs or [],
            "producer": PRODUCER,
            "run": run,
            "schemaURL": _EVENT_SCHEMA,
        }

    # -- the Partita run -------------------------------------------------------------

    def _run_job(self) -> Plain:
        return {"facets": self._run_job_facets, "name": RUN_JOB, "namespace": self.namespace}

    def run_started(self, parent: ParentRun, at: datetime) -> Plain:
        """START of the Partita run."""
        return self._event("START", at, {"facets": {}, "runId": parent.uuid}, self._run_job())

    def run_finished(
        self, parent: ParentRun, at: datetime, status: str, error: str | None = None
    ) -> Plain:
        """COMPLETE (``succeeded``), ABORT (``cancelled``) or FAIL of the Partita run."""
        state = {"succeeded": "COMPLETE", "cancelled": "ABORT"}.get(status, "FAIL")
        facets: Plain = {}
        if state == "FAIL":
            facets["errorMessage"] = _error_message(error or f"run {status}")
        return self._event(state, at, {"facets": facets, "runId": parent.uuid}, self._run_job())

    # -- one partition of an asset ---------------------------------------------------

    def _step_job(self, asset: AssetLineage, *, code: bool = False) -> Plain:
        job = self._jobs.get((asset.key, code))
        if job is None:
            facets: Plain = {"jobType": _job_type("ASSET")}
            text = asset.source_code() if code else None
            if text:
                facets["sourceCode"] = _facet("sourceCode", language="python", sourceCode=text)
            if asset.sql is not None:
                query, dialect = asset.sql
                facets["sql"] = _facet("sql", query=query, dialect=dialect)
            job = {"facets": facets, "name": asset.key, "namespace": self.namespace}
            self._jobs[(asset.key, code)] = job
        return job

    def _parent(self, parent: ParentRun) -> Plain:
        facet = self._parents.get(parent.uuid)
        if facet is None:
            job = {"facets": {}, "name": RUN_JOB, "namespace": self.namespace}
            run = {"facets": {}, "runId": parent.uuid}
            facet = _facet("parent", job=job, root={"job": job, "run": run}, run=run)
            self._parents = {parent.uuid: facet}  # one run at a time
        return facet

    def _step_run(
        self, parent: ParentRun, asset: AssetLineage, partition: str | None, **extra: Plain
    ) -> Plain:
        facets: Plain = {"parent": self._parent(parent)}
        if partition is not None and asset.partitions is not None:
            nominal = self._nominal(asset.key, partition)
            if nominal is not None:
                facets["nominalTime"] = nominal
        facets.update(extra)
        return {"facets": facets, "runId": parent.step_uuid(asset.key, partition)}

    def _nominal_time(self, asset: str, partition: str) -> Plain | None:
        window = partition_window(self.asset(asset), partition)
        if window is None:
            return None
        return _facet(
            "nominalTime",
            nominalStartTime=_utc_text(window.start),
            nominalEndTime=None if window.end is None else _utc_text(window.end),
        )

    def _output_subset_of(self, asset: str, partition: str) -> Plain:
        dimensions, split = partition_split(self.asset(asset), [partition])
        condition = {"partitions": _partitions([partition], dimensions, split), "type": "partition"}
        return _facet("outputSubset", outputCondition=condition)

    def _output(
        self,
        asset: AssetLineage,
        partition: str | None,
        written: Written | None = None,
        checks: Sequence[CheckResult] = (),
    ) -> Plain:
        facets: Plain = {}
        output_facets: Plain = {}
        if partition is not None and asset.partitions is not None:
            output_facets["subset"] = self._output_subset(asset.key, partition)
        if written is not None:
            if written.schema:
                facets["schema"] = self._schemas(written.schema)
            if written.data_version:
                facets["version"] = _facet("version", datasetVersion=written.data_version)
            if written.rows is not None or written.bytes is not None:
                output_facets["outputStatistics"] = _facet(
                    "outputStatistics", rowCount=written.rows, size=written.bytes
                )
        if checks:
            facets["dataQualityAssertions"] = _assertions(checks)
        if asset.columns:
            facets["columnLineage"] = self._column_lineage(asset)
        namespace, name = asset.dataset
        return {
            "facets": facets,
            "name": name,
            "namespace": namespace,
            "outputFacets": output_facets,
        }

    def _column_lineage(self, asset: AssetLineage) -> Plain:
        facet = self._columns.get(asset.key)
        if facet is None:
            fields: Plain = {}
            for column, sources in asset.columns:
                kind = (
                    "IDENTITY"
                    if len(sources) == 1 and sources[0][1] == column
                    else "TRANSFORMATION"
                )
                fields[column] = {
                    "inputFields": [
                        {
                            "field": field,
                            "name": self.asset(upstream).dataset[1],
                            "namespace": self.asset(upstream).dataset[0],
                            "transformations": [{"subtype": kind, "type": "DIRECT"}],
                        }
                        for upstream, field in sources
                    ]
                }
            facet = _facet("columnLineage", dataset=[], fields=fields)
            self._columns[asset.key] = facet
        return facet

    def _declared_inputs(self, asset: AssetLineage) -> list[Plain]:
        inputs = []
        for upstream in asset.upstream:
            namespace, name = self.asset(upstream).dataset
            inputs.append({"facets": {}, "inputFacets": {}, "name": name, "namespace": namespace})
        return inputs

    def _read_inputs(self, asset: AssetLineage, read: Iterable[Any]) -> list[Plain]:
        inputs = []
        for upstream in upstream_reads(asset, read, self.asset):
            namespace, dataset = upstream.lineage.dataset
            facets: Plain = {}
            input_facets: Plain = {}
            if upstream.keys:
                dimensions, split = partition_split(upstream.lineage, upstream.keys)
                condition = {
                    "partitions": _partitions(upstream.keys, dimensions, split),
                    "type": "partition",
                }
                input_facets["subset"] = _facet("inputSubset", inputCondition=condition)
            if upstream.version is not None:
                facets["version"] = _facet("version", datasetVersion=upstream.version)
            inputs.append(
                {
                    "facets": facets,
                    "inputFacets": input_facets,
                    "name": dataset,
                    "namespace": namespace,
                }
            )
        return inputs

    def step_started(
        self, parent: ParentRun, asset: str, partition: str | None, at: datetime
    ) -> Plain:
        """START of building one partition (``None``: an unpartitioned asset)."""
        lineage = self.asset(asset)
        return self._event(
            "START",
            at,
            self._step_run(parent, lineage, partition),
            self._step_job(lineage, code=True),
            self._declared_inputs(lineage),
            [self._output(lineage, partition)],
        )

    def step_completed(
        self,
        parent: ParentRun,
        asset: str,
        partition: str | None,
        at: datetime,
        written: Written | None,
        checks: Sequence[CheckResult] = (),
    ) -> Plain:
        """COMPLETE of one partition: what was written, read and checked."""
        lineage = self.asset(asset)
        return self._event(
            "COMPLETE",
            at,
            self._step_run(parent, lineage, partition),
            self._step_job(lineage),
            self._read_inputs(lineage, () if written is None else written.inputs),
            [self._output(lineage, partition, written, checks)],
        )

    def step_failed(
        self,
        parent: ParentRun,
        asset: str,
        partition: str | None,
        at: datetime,
        error: str,
        checks: Sequence[CheckResult] = (),
    ) -> Plain:
        """FAIL of one partition, with the error (and the checks that ran)."""
        lineage = self.asset(asset)
        return self._event(
            "FAIL",
            at,
            self._step_run(parent, lineage, partition, errorMessage=_error_message(error)),
            self._step_job(lineage),
            self._declared_inputs(lineage),
            [self._output(lineage, partition, None, checks)],
        )

    def step_aborted(
        self, parent: ParentRun, asset: str, partition: str | None, at: datetime
    ) -> Plain:
        """ABORT of one partition (cancelled, or the run ended before it did)."""
        lineage = self.asset(asset)
        return self._event(
            "ABORT",
            at,
            self._step_run(parent, lineage, partition),
            self._step_job(lineage),
            self._declared_inputs(lineage),
            [self._output(lineage, partition)],
        )
