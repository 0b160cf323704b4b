"""OpenLineage facets built from plain data.

Each function takes values (text, numbers, mappings), never Partita's own
state, and returns a facet of the ``openlineage-python`` client whose body
validates against the schema its ``_schemaURL`` names. :mod:`partita.openlineage.events`
puts them together into run events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from openlineage.client.facet_v2 import (
    base_subset_dataset,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
    source_code_job,
    sql_job,
)

from partita.openlineage.steps import PRODUCER, CheckResult

__all__ = [
    "PRODUCER",
    "CheckResult",
    "assertions_facet",
    "column_lineage_facet",
    "error_message_facet",
    "input_subset_facet",
    "job_type_facet",
    "nominal_time_facet",
    "output_statistics_facet",
    "output_subset_facet",
    "parent_facet",
    "schema_facet",
    "source_code_facet",
    "sql_facet",
    "version_facet",
]


INTEGRATION = "PARTITA"
"""``jobType.integration`` of Partita's jobs."""


def schema_facet(schema: str | Sequence[Mapping[str, str]]) -> schema_dataset.SchemaDatasetFacet:
    """The ``schema`` facet of columns given as ``[{"name", "type"}, ...]`` (or that list
    as JSON text, as the catalog keeps it)."""
    fields = json.loads(schema) if isinstance(schema, str) else schema
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=str(field["name"]),
                type=field.get("type"),
                ordinal_position=position,
                fields=None,  # flat columns: no nested list in every field
            )
            for position, field in enumerate(fields, start=1)
        ],
        producer=PRODUCER,
    )


def output_statistics_facet(
    rows: int | None, size: int | None, files: int | None = None
) -> output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet:
    """The ``outputStatistics`` facet: rows and bytes written (and files, when known)."""
    return output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=rows, size=size, fileCount=files, producer=PRODUCER
    )


def version_facet(data_version: str) -> dataset_version_dataset.DatasetVersionDatasetFacet:
    """The ``version`` facet: the data version (content hash) of what was written or read."""
    return dataset_version_dataset.DatasetVersionDatasetFacet(
        datasetVersion=data_version, producer=PRODUCER
    )


def _partitions(
    keys: Sequence[str], dimensions: Sequence[str], split: Mapping[str, Mapping[str, str]]
) -> list[base_subset_dataset.Partition]:
    return [
        base_subset_dataset.Partition(
            dimensions=dict(split.get(key) or {dimensions[0] if dimensions else "key": key}),
            identifier=key,
        )
        for key in keys
    ]


def output_subset_facet(
    keys: Sequence[str],
    dimensions: Sequence[str] = ("key",),
    split: Mapping[str, Mapping[str, str]] | None = None,
) -> base_subset_dataset.OutputSubsetOutputDatasetFacet:
    """The output ``subset`` facet: the partitions written (a ``PartitionSubsetCondition``).

    Args:
        keys: the partition keys.
        dimensions: the dimension names (one for a single-dimension definition).
        split: per key of a multi-dimensional definition, ``{dimension: value}``.
    """
    return base_subset_dataset.OutputSubsetOutputDatasetFacet(
        outputCondition=base_subset_dataset.PartitionSubsetCondition(
            partitions=_partitions(keys, dimensions, split or {})
        ),
        producer=PRODUCER,
    )


def input_subset_facet(
    keys: Sequence[str],
    dimensions: Sequence[str] = ("key",),
    split: Mapping[str, Mapping[str, str]] | None = None,
) -> base_subset_dataset.InputSubsetInputDatasetFacet:
    """The input ``subset`` facet: the exact partitions read (see :func:`output_subset_facet`)."""
    return base_subset_dataset.InputSubsetInputDatasetFacet(
        inputCondition=base_subset_dataset.PartitionSubsetCondition(
            partitions=_partitions(keys, dimensions, split or {})
        ),
        producer=PRODUCER,
    )


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def nominal_time_facet(
    start: datetime, end: datetime | None = None
) -> nominal_time_run.NominalTimeRunFacet:
    """The ``nominalTime`` facet: the time window a partition stands for (UTC)."""
    return nominal_time_run.NominalTimeRunFacet(
        nominalStartTime=_utc_text(start),
        nominalEndTime=None if end is None else _utc_text(end),
        producer=PRODUCER,
    )


def parent_facet(
    run_id: str, namespace: str, name: str, *, root: tuple[str, str, str] | None = None
) -> parent_run.ParentRunFacet:
    """The ``parent`` facet: the run (a UUID) of job ``namespace``/``name`` this run
    belongs to; ``root`` is ``(run id, namespace, name)`` of the run at the top."""
    top = root or (run_id, namespace, name)
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id),
        job=parent_run.Job(namespace=namespace, name=name),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=top[0]),
            job=parent_run.RootJob(namespace=top[1], name=top[2]),
        ),
        producer=PRODUCER,
    )


def error_message_facet(error: str) -> error_message_run.ErrorMessageRunFacet:
    """The ``errorMessage`` facet: the first line is the message, the rest its trace."""
    message, _, trace = error.strip().partition("\n")
    return error_message_run.ErrorMessageRunFacet(
        message=message or "failed",
        programmingLanguage="python",
        stackTrace=trace.strip() or None,
        producer=PRODUCER,
    )


def job_type_facet(job_type: str) -> job_type_job.JobTypeJobFacet:
    """The ``jobType`` facet: a batch job of the Partita integration (``ASSET`` or ``RUN``)."""
    return job_type_job.JobTypeJobFacet(
        processingType="BATCH", integration=INTEGRATION, jobType=job_type, producer=PRODUCER
    )


def source_code_facet(code: str, language: str = "python") -> source_code_job.SourceCodeJobFacet:
    """The ``sourceCode`` facet: the code that builds the asset."""
    return source_code_job.SourceCodeJobFacet(language=language, sourceCode=code, producer=PRODUCER)


def sql_facet(query: str, dialect: str | None = None) -> sql_job.SQLJobFacet:
    """The ``sql`` facet of a SQL asset: its query and dialect (``duckdb``, ...)."""
    return sql_job.SQLJobFacet(query=query, dialect=dialect, producer=PRODUCER)


def column_lineage_facet(
    mapping: Mapping[str, Sequence[tuple[str, str, str]]],
    *,
    transformations: Mapping[str, str] | None = None,
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """The ``columnLineage`` facet of an output dataset.

    Args:
        mapping: per output column, the input columns it is computed from, each
            ``(dataset namespace, dataset name, column)``.
        transformations: per output column, ``IDENTITY`` (copied as is) or
            ``TRANSFORMATION`` (computed); default ``TRANSFORMATION``, or
            ``IDENTITY`` for a column read from one input column of the same name.
    """
    chosen = transformations or {}

    def kind(column: str, sources: Sequence[tuple[str, str, str]]) -> str:
        if column in chosen:
            return chosen[column]
        return "IDENTITY" if len(sources) == 1 and sources[0][2] == column else "TRANSFORMATION"

    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=namespace,
                        name=name,
                        field=field,
                        transformations=[
                            column_lineage_dataset.Transformation(
                                type="DIRECT",
                                subtype=kind(column, sources),
                            )
                        ],
                    )
                    for namespace, name, field in sources
                ]
            )
            for column, sources in mapping.items()
        },
        producer=PRODUCER,
    )


def assertions_facet(
    checks: Sequence[CheckResult],
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """The ``dataQualityAssertions`` facet: one assertion per check result."""
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=check.name,
                success=check.passed,
                severity=check.severity,
                name=check.name,
                description=check.message or None,
                expected=None if check.failing_rows is None else "0 failing rows",
                actual=None if check.failing_rows is None else f"{check.failing_rows} failing rows",
                params=None,
            )
            for check in checks
        ],
        producer=PRODUCER,
    )
