"""What a user meets in automation declarations, as the user meets it: two
``Eager`` selections, references checked when the project loads (a schedule's,
sensor's or eager's selection, a file sensor's partitions, an asset's store),
a badly named file beside good ones in a file sensor's folder, the one-line
detail of a tick that raised, and a cron error naming its field."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.api import load_project
from partita.api.references_check import STORE_METHODS, is_store
from partita.automation import Daemon, LaunchSettings, list_ticks
from partita.errors import DefinitionError
from partita.records import TickKind, TickStatus
from tests.conftest import run_cli, write_project

HEAD = """
import pandas as pd
from partita import Definitions, asset
from partita.partitions import DynamicPartitions
from partita.schedules import Schedule
from partita.sensors import Eager, FileSensor, RunRequest, SourceSensor, sensor

FILES = DynamicPartitions("files")

@asset
def a() -> pd.DataFrame:
    return pd.DataFrame({"x": [1]})

@asset
def b() -> pd.DataFrame:
    return pd.DataFrame({"y": [2]})

@asset(partitions=FILES)
def landed(context) -> pd.DataFrame:
    return pd.DataFrame({"file": [str(context.partition_key)]})
"""


def _project(folder: Path, tail: str) -> Path:
    return write_project(folder, HEAD + textwrap.dedent(tail))


def test_two_eager_selections_load_run_and_record_ticks_under_their_names(
    tmp_path: Path,
) -> None:
    folder = _project(
        tmp_path / "p", "defs = Definitions(assets=[a, b], eager=[Eager('a'), Eager('b')])\n"
    )
    validated = run_cli(["validate"], folder)
    assert validated.returncode == 0, validated.stderr
    ran = run_cli(["daemon", "--once", "--executor", "inprocess"], folder, check=True)
    assert "eager eager:a: succeeded" in ran.stdout
    assert "eager eager:b: succeeded" in ran.stdout
    listed = json.loads(
        run_cli(["ticks", "--name", "eager:b", "--json"], folder, check=True).stdout
    )
    assert [(t["kind"], t["name"], t["status"]) for t in listed] == [
        ("eager", "eager:b", "succeeded")
    ]


def test_a_schedule_naming_no_asset_is_refused_by_validate_and_the_daemon(tmp_path: Path) -> None:
    folder = _project(
        tmp_path / "p",
        "defs = Definitions(assets=[a], schedules=[Schedule('0 2 * * *', selection='aa ')])\n",
    )
    for command in (["validate"], ["daemon", "--once"]):
        result = run_cli(command, folder)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "error: schedule 'aa @0 2 * * *': selection 'aa ': unknown asset 'aa'; "
            "did you mean 'a'?",
            "  hint: `partita list` shows every asset",
        ]
        assert "Traceback" not in result.stderr


BAD_REFERENCES = {
    "sensor selection": (
        "defs = Definitions(assets=[a, b], sensors=[FileSensor('inbox', 'inbox', selection='bb')])",
        r"^sensor 'inbox': selection 'bb': unknown asset 'bb'; did you mean 'b'\?$",
    ),
    "sensor partitions": (
        "defs = Definitions(assets=[landed], sensors=[FileSensor('inbox', 'inbox', "
        "selection='landed', partitions='file')])",
        r"^sensor 'inbox': partitions='file' names no DynamicPartitions of the project; "
        r"did you mean 'files'\?$",
    ),
    "source sensor": (
        "defs = Definitions(assets=[a], sensors=[SourceSensor('a')])",
        r"^sensor 'observe:a': a is an asset, not a source$",
    ),
    "eager selection": (
        "defs = Definitions(assets=[a], eager=[Eager('nope')])",
        r"^eager 'eager:nope': selection 'nope': unknown asset 'nope'$",
    ),
    "eager group": (
        "defs = Definitions(assets=[a], eager=[Eager('group:sales', name='sales')])",
        r"^eager 'sales': selection 'group:sales': no asset in group 'sales' \(groups: default\)$",
    ),
    "store typo": (
        "from partita.io import ParquetStore\n"
        "@asset(store='warehous')\ndef a2() -> pd.DataFrame:\n    return pd.DataFrame()\n"
        "defs = Definitions(assets=[a2], resources={'warehouse': ParquetStore('w')})",
        r"^asset a2: store='warehous' names no resource; did you mean 'warehouse'\?$",
    ),
    "store not a store": (
        "class FxRates:\n    pass\n"
        "@asset(store='fx')\ndef a2() -> pd.DataFrame:\n    return pd.DataFrame()\n"
        "defs = Definitions(assets=[a2], resources={'fx': FxRates()})",
        r"^asset a2: store='fx' names the resource 'fx', a FxRates, which is not a store$",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REFERENCES))
def test_loading_refuses_a_bad_reference_naming_its_declaration(tmp_path: Path, case: str) -> None:
    tail, message = BAD_REFERENCES[case]
    folder = _project(tmp_path / "p", tail + "\n")
    with pytest.raises(DefinitionError) as caught:
        load_project(file=folder / "defs.py")
    assert re.fullmatch(message, caught.value.message), caught.value.message
    assert caught.value.hint
    assert "object at 0x" not in str(caught.value)


def test_valid_references_still_load(tmp_path: Path) -> None:
    folder = _project(
        tmp_path / "p",
        """
        from partita.io import ParquetStore

        @asset(store="warehouse")
        def a2() -> pd.DataFrame:
            return pd.DataFrame({"x": [1]})

        defs = Definitions(
            assets=[a, b, a2, landed],
            resources={"warehouse": ParquetStore("w"), "fx": object()},
            schedules=[Schedule("0 2 * * *", selection="a,b+")],
            sensors=[FileSensor("inbox", "inbox", selection="landed", partitions="files")],
            eager=[Eager("b"), Eager("*", name="all")],
        )
        """,
    )
    project = load_project(file=folder / "defs.py")
    assert [e.name for e in project.loaded.definitions.eager] == ["eager:b", "all"]


def test_a_badly_named_file_is_reported_once_and_does_not_block_the_others(
    tmp_path: Path,
) -> None:
    folder = _project(
        tmp_path / "p",
        "defs = Definitions(assets=[landed], sensors=[FileSensor('inbox', 'inbox', "
        "selection='landed', pattern='*.csv', partitions='files')])\n",
    )
    inbox = folder / "inbox"
    inbox.mkdir()
    (inbox / "sales report (1).csv").write_text("a,b\n1,2\n", encoding="utf-8")
    daemon = ["daemon", "--once", "--executor", "inprocess"]
    first = run_cli(daemon, folder, check=True)
    assert "sensor inbox: error" in first.stdout
    (inbox / "good2.csv").write_text("a,b\n3,4\n", encoding="utf-8")
    second = run_cli(daemon, folder, check=True)
    assert "sensor inbox: succeeded" in second.stdout
    third = run_cli(daemon, folder, check=True)
    assert "sensor inbox: nothing_to_do" in third.stdout
    ticks = list(reversed(list_ticks(load_project(file=folder / "defs.py"), kind=TickKind.SENSOR)))
    assert [t.status for t in ticks] == [
        TickStatus.ERROR,
        TickStatus.SUCCEEDED,
        TickStatus.NOTHING_TO_DO,
    ]
    assert ticks[0].covered == ("sales report (1).csv",)
    assert ticks[0].detail.startswith(
        "skipped 'sales report (1).csv': invalid partition key 'sales report (1)' for "
        "DynamicPartitions(files): "
    )
    assert ticks[1].covered == ("good2.csv",)
    assert ticks[1].detail == "1 new files; 1 keys added to files"
    listed = run_cli(["partitions", "list", "files"], folder, check=True)
    assert "good2" in listed.stdout


def test_a_tick_detail_is_one_line_with_the_hint_once(tmp_path: Path) -> None:
    folder = _project(
        tmp_path / "p",
        """
        @sensor(every="1m")
        def typo(context):
            return [RunRequest("bb")]

        defs = Definitions(assets=[a, b], sensors=[typo])
        """,
    )
    project = load_project(file=folder / "defs.py")
    moment = datetime(2025, 3, 1, tzinfo=UTC)
    daemon = Daemon(
        project,
        clock=lambda: moment,
        settings=LaunchSettings(executor="inprocess"),
    )
    daemon.run(once=True, handle_signals=False)
    (tick,) = list_ticks(project, kind=TickKind.SENSOR)
    assert tick.status is TickStatus.ERROR
    assert tick.detail == (
        "UnknownAssetError: unknown asset 'bb'; did you mean 'b'? "
        "(hint: `partita list` shows every asset)"
    )


def test_an_invalid_cron_field_is_named_with_its_range(tmp_path: Path) -> None:
    folder = _project(
        tmp_path / "p", "defs = Definitions(assets=[a], schedules=[Schedule('61 * * * *')])\n"
    )
    result = run_cli(["validate"], folder)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: Schedule: invalid cron expression '61 * * * *': minute field '61' is not valid",
        "  hint: the minute field takes 0-59, a list (1,15), a range (1-5), a step (*/10) or *",
    ]


def test_the_store_methods_checked_at_load_are_the_store_protocols(tmp_path: Path) -> None:
    from partita.io import DuckDBStore, ParquetStore, Store  # noqa: PLC0415

    members = {n for n, v in vars(Store).items() if callable(v) and not n.startswith("_")}
    assert set(STORE_METHODS) == members
    assert is_store(ParquetStore(tmp_path / "parquet"))
    assert is_store(DuckDBStore(tmp_path / "w.duckdb"))
    assert not is_store(object())
