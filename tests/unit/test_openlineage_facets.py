"""The OpenLineage facets and settings: each facet validates against its schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from partita import AssetGraph, Definitions, asset
from partita.errors import DefinitionError
from partita.io import DuckDBStore, ParquetStore
from partita.openlineage.config import (
    client_configured,
    configured_client,
    file_client,
    read_settings,
)
from partita.openlineage.facets import (
    CheckResult,
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
from partita.openlineage.runs import project_lineage
from tests.openlineage_support import spec_validator

RUN_UUID = "01a23748-92d4-7370-baf5-1d4675497717"

FACETS: dict[str, Any] = {
    "schema": schema_facet(
        '[{"name": "id", "type": "int64"}, {"name": "amount", "type": "double"}]'
    ),
    "outputStatistics": output_statistics_facet(200, 5938),
    "version": version_facet("7a40582d0881ba98"),
    "outputSubset": output_subset_facet(["2025-01-01"], ["date"]),
    "inputSubsetMulti": input_subset_facet(
        ["2025-01-01|eu"],
        ["date", "region"],
        {"2025-01-01|eu": {"date": "2025-01-01", "region": "eu"}},
    ),
    "nominalTime": nominal_time_facet(
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    ),
    "parent": parent_facet(RUN_UUID, "shop", "materialize"),
    "errorMessage": error_message_facet("ValueError: boom\nTraceback (most recent call last): ..."),
    "jobType": job_type_facet("ASSET"),
    "sourceCode": source_code_facet("def orders():\n    return 1\n"),
    "sql": sql_facet("SELECT id, amount * 2 AS double_amount FROM orders", "duckdb"),
    "columnLineage": column_lineage_facet(
        {
            "id": [("file", "/data/orders", "id")],
            "double_amount": [("file", "/data/orders", "amount")],
            "total": [("file", "/data/orders", "amount"), ("file", "/data/fees", "fee")],
        }
    ),
    "dataQualityAssertions": assertions_facet(
        [
            CheckResult("not_null_id", True, "error", "0 of 200 rows fail", 0, 200),
            CheckResult("positive_amount", False, "warn", "3 of 200 rows fail", 3, 200),
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(FACETS))
def test_each_facet_validates_against_the_schema_its_url_names(name: str) -> None:
    validator = spec_validator()
    body = Serde.to_dict(FACETS[name])
    assert body["_schemaURL"].startswith("https://openlineage.io/spec/facets/")
    assert body["_producer"].startswith("https://")
    assert validator._check(body["_schemaURL"], body) == []


def test_column_lineage_says_which_columns_are_copied_and_which_computed() -> None:
    body = Serde.to_dict(FACETS["columnLineage"])
    fields = body["fields"]
    assert fields["id"]["inputFields"][0]["transformations"][0]["subtype"] == "IDENTITY"
    assert fields["double_amount"]["inputFields"][0]["transformations"][0]["subtype"] == (
        "TRANSFORMATION"
    )
    assert [f["name"] for f in fields["total"]["inputFields"]] == ["/data/orders", "/data/fees"]


def test_an_error_message_splits_the_message_from_its_trace() -> None:
    facet = error_message_facet("ValueError: boom\n  File 'defs.py', line 3")
    assert facet.message == "ValueError: boom"
    assert facet.stackTrace == "File 'defs.py', line 3"
    assert facet.programmingLanguage == "python"


# -- settings -------------------------------------------------------------------------


def _pyproject(folder: Path, table: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "shop"\n\n[tool.partita]\ndefinitions = "defs.py"\n{table}',
        encoding="utf-8",
    )
    return folder


def test_settings_default_to_the_project_name_and_no_transport(tmp_path: Path) -> None:
    settings = read_settings(_pyproject(tmp_path, ""))
    assert settings.project_name == "shop"
    assert settings.namespace is None and settings.transport is None and settings.enabled


def test_settings_are_read_from_tool_partita_openlineage(tmp_path: Path) -> None:
    folder = _pyproject(
        tmp_path,
        '[tool.partita.openlineage]\nnamespace = "sales"\n'
        'transport = { type = "file", log_file_path = "ol.jsonl", append = true }\n',
    )
    settings = read_settings(folder / "sub")  # found from a folder below, as a project's root
    assert settings.namespace == "sales"
    assert settings.transport == {"type": "file", "log_file_path": "ol.jsonl", "append": True}


def test_an_unknown_setting_is_named_with_the_close_one(tmp_path: Path) -> None:
    folder = _pyproject(tmp_path, '[tool.partita.openlineage]\nnamespaces = "sales"\n')
    with pytest.raises(DefinitionError, match=r"no setting 'namespaces'; did you mean 'namespace'"):
        read_settings(folder)


def test_a_transport_without_a_type_is_refused_with_an_example(tmp_path: Path) -> None:
    folder = _pyproject(tmp_path, '[tool.partita.openlineage]\ntransport = { url = "x" }\n')
    with pytest.raises(DefinitionError, match="transport must be a table with a type") as err:
        read_settings(folder)
    assert 'type = "http"' in str(err.value)


def test_nothing_configured_means_no_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.openlineage/openlineage.yml
    settings = read_settings(_pyproject(tmp_path, ""))
    assert not client_configured({}, cwd=tmp_path)
    assert configured_client(settings, env={}, cwd=tmp_path) is None


def test_the_clients_own_configuration_counts(tmp_path: Path) -> None:
    assert client_configured({"OPENLINEAGE_URL": "http://127.0.0.1:5000"}, cwd=tmp_path)
    assert client_configured({"OPENLINEAGE__TRANSPORT__TYPE": "console"}, cwd=tmp_path)
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n", encoding="utf-8")
    assert client_configured({}, cwd=tmp_path)


def test_disabled_wins_over_a_configured_transport(tmp_path: Path) -> None:
    folder = _pyproject(tmp_path, '[tool.partita.openlineage]\ntransport = { type = "console" }\n')
    settings = read_settings(folder)
    assert configured_client(settings, env={"OPENLINEAGE_DISABLED": "true"}) is None
    off = read_settings(
        _pyproject(tmp_path / "off", "[tool.partita.openlineage]\nenabled = false\n")
    )
    assert configured_client(off, env={"OPENLINEAGE_URL": "http://127.0.0.1:1"}) is None
    assert configured_client(settings, env={}) is not None


def test_the_file_client_appends_json_lines(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "ol.jsonl"
    target.parent.mkdir()
    target.write_text('{"earlier": "line"}\n', encoding="utf-8")
    client = file_client(target)
    event = RunEvent(
        eventType=RunState.START,
        eventTime="2025-01-01T00:00:00+00:00",
        run=Run(runId=RUN_UUID),
        job=Job(namespace="shop", name="materialize"),
        producer="https://example.com/partita",
    )
    client.emit(event)
    client.emit(event)
    client.close()
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"earlier": "line"}'
    assert [json.loads(line)["eventType"] for line in lines[1:]] == ["START", "START"]
    assert json.loads(lines[1]) == json.loads(Serde.to_json(event))


# -- dataset names --------------------------------------------------------------------


def test_stores_name_one_dataset_per_asset(tmp_path: Path) -> None:
    folder = ParquetStore(tmp_path / "data")
    assert folder.lineage_dataset("sales/orders") == (
        "file",
        str((tmp_path / "data" / "sales" / "orders").absolute()),
    )
    table = DuckDBStore(tmp_path / "warehouse.duckdb")
    namespace = f"duckdb://{(tmp_path / 'warehouse.duckdb').absolute()}"
    assert table.lineage_dataset("sales/orders") == (namespace, "warehouse.sales.orders")
    assert table.lineage_dataset("orders") == (namespace, "warehouse.main.orders")


def test_an_asset_in_a_store_that_names_nothing_is_named_after_its_key(tmp_path: Path) -> None:
    @asset
    def stored() -> None: ...

    @asset(deps=[stored])
    def elsewhere() -> None: ...

    graph = AssetGraph(Definitions(assets=[stored, elsewhere]))
    stores = {"stored": ParquetStore(tmp_path), "elsewhere": object()}
    named = project_lineage(graph, "shop", lambda spec: stores[str(spec.key)])
    assert named["stored"].dataset == ("file", str(tmp_path.absolute() / "stored"))
    assert named["elsewhere"].dataset == ("shop", "elsewhere")
    assert named["elsewhere"].upstream == ("stored",)
