"""Dynamic partition keys are checked at every entry point and a stored key is always deletable.

A real project, the real ``partita`` command, and a catalog file into which an
invalid key is written with ``sqlite3`` directly, as an earlier version of
Partita that did not check keys could have stored it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from partita import api
from partita.errors import PartitionKeyError
from tests.conftest import run_cli, write_project

PROJECT = """
import pandas as pd
from partita import Definitions, DynamicPartitions, asset

files = DynamicPartitions("files")

@asset(partitions=files)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({"key": [context.partition_key]})

@asset(partitions=files)
def cleaned(raw: pd.DataFrame) -> pd.DataFrame:
    return raw

defs = Definitions(assets=[raw, cleaned])
"""

EVIL = "../../evil"


def _store_unchecked(catalog: Path, key: str) -> None:
    """Write ``key`` into the catalog the way a version without key checks could have."""
    with sqlite3.connect(catalog) as conn:
        conn.execute(
            "INSERT INTO dynamic_partitions (name, partition_key) VALUES ('files', ?)", (key,)
        )
    conn.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = write_project(tmp_path / "project", PROJECT)
    run_cli(["partitions", "add", "files", "a.csv"], folder, check=True)
    run_cli(["materialize"], folder, check=True)
    return folder


def test_cli_add_refuses_a_hostile_key_naming_the_definition(project: Path) -> None:
    result = run_cli(["partitions", "add", "files", "b.csv", EVIL], project)
    assert result.returncode == 1
    assert f"invalid partition key {EVIL!r} for DynamicPartitions(files)" in result.stderr
    listed = run_cli(["partitions", "list", "files"], project, check=True)
    assert listed.stdout.split() == ["a.csv"]


def test_a_stored_invalid_key_gives_a_clear_error_and_can_be_deleted(
    project: Path, tmp_path: Path
) -> None:
    _store_unchecked(project / ".partita" / "catalog.db", EVIL)
    for args in (["plan"], ["materialize"], ["status"]):
        result = run_cli(args, project)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert f"the catalog holds the key {EVIL!r} for DynamicPartitions(files)" in result.stderr
        assert f"partita partitions delete files {EVIL}" in result.stderr
        assert "internal error" not in result.stderr
    assert not (tmp_path / "evil").exists()  # nothing written outside the project

    assert run_cli(["partitions", "list", "files"], project, check=True).stdout.split() == [
        "a.csv",
        EVIL,
    ]
    deleted = run_cli(["partitions", "delete", "files", EVIL], project, check=True)
    assert "deleted 1 key(s) from files (1 keys left)" in deleted.stdout
    assert "Nothing to do" in run_cli(["plan"], project, check=True).stdout


def test_the_python_api_deletes_a_stored_invalid_key_and_refuses_adding_one(
    project: Path,
) -> None:
    _store_unchecked(project / ".partita" / "catalog.db", "has space")
    loaded = api.load_project(cwd=project)
    with pytest.raises(PartitionKeyError, match=r"for DynamicPartitions\(files\)"):
        api.add_dynamic_partitions(loaded, "files", ["has space"])
    update = api.delete_dynamic_partitions(loaded, "files", ["has space"])
    assert update.changed == ("has space",) and update.keys == ("a.csv",)
    with pytest.raises(PartitionKeyError, match="invalid partition key"):  # not stored: a typo
        api.delete_dynamic_partitions(loaded, "files", ["has space"])
    with loaded.open_catalog() as catalog:
        with pytest.raises(PartitionKeyError, match=r"for DynamicPartitions\(files\)"):
            catalog.dynamic_partitions.add("files", [EVIL])
        assert catalog.dynamic_partitions.get("files") == ["a.csv"]
