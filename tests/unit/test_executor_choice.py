"""Which executor a run uses: the run's choice, the definitions', the default; DaskCluster
values checked where they are written. (The Dask executor itself runs against a real
cluster in tests/integration/test_dask_executor.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from partita import DaskCluster, Definitions, asset
from partita.api import as_project
from partita.api.running import executor_choice
from partita.errors import DefinitionError, PartitaError
from partita.runner import ExecutorKind


@asset
def numbers() -> None: ...


def test_definitions_take_a_known_executor_or_a_dask_cluster() -> None:
    assert Definitions(assets=[numbers]).executor is None
    assert Definitions(assets=[numbers], executor="dask").executor == "dask"
    cluster = DaskCluster("tcp://127.0.0.1:8786")
    assert Definitions(assets=[numbers], executor=cluster).executor is cluster
    with pytest.raises(DefinitionError, match="unknown executor 'ray'") as caught:
        Definitions(assets=[numbers], executor="ray")
    assert caught.value.hint is not None and "'dask'" in caught.value.hint


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"address": ""}, "is not an address"),
        ({"n_workers": 0}, "must be at least 1"),
        ({"n_workers": True}, "must be at least 1"),
        ({"connect_timeout_s": 0}, "positive number of seconds"),
        ({"connect_timeout_s": float("inf")}, "finite"),
    ],
)
def test_a_wrong_dask_cluster_is_a_definition_error(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(DefinitionError, match=message):
        DaskCluster(**arguments)  # type: ignore[arg-type]


def test_the_run_wins_then_the_definitions_then_the_default(tmp_path: Path) -> None:
    plain = as_project(Definitions(assets=[numbers]), tmp_path / "a")
    assert executor_choice(plain, None, None, None) == (ExecutorKind.INPROCESS, None)
    assert executor_choice(plain, "thread", None, None) == (ExecutorKind.THREAD, None)
    local = executor_choice(plain, "dask", None, 3)
    assert local == (ExecutorKind.DASK, DaskCluster(address=None, n_workers=3))
    by_address = executor_choice(plain, None, "tcp://10.0.0.1:8786", None)
    assert by_address == (ExecutorKind.DASK, DaskCluster("tcp://10.0.0.1:8786"))

    declared = DaskCluster("tcp://10.0.0.2:8786", connect_timeout_s=3)
    project = as_project(Definitions(assets=[numbers], executor=declared), tmp_path / "b")
    assert executor_choice(project, None, None, None) == (ExecutorKind.DASK, declared)
    assert executor_choice(project, "process", None, None) == (ExecutorKind.PROCESS, None)
    # an address or a worker count given with the run overrides the declared ones
    kind, cluster = executor_choice(project, "dask", "tcp://10.0.0.3:8786", 2)
    assert kind is ExecutorKind.DASK
    assert cluster == DaskCluster("tcp://10.0.0.3:8786", n_workers=2, connect_timeout_s=3)


def test_a_dask_address_for_another_executor_is_an_error(tmp_path: Path) -> None:
    project = as_project(Definitions(assets=[numbers]), tmp_path)
    with pytest.raises(PartitaError, match="for the thread executor") as caught:
        executor_choice(project, "thread", "tcp://127.0.0.1:8786", None)
    assert caught.value.hint == "add --executor dask (or drop --dask-address)"
