"""Secret config fields: the asset gets them in clear; records, logs and errors show a mask.

The in-memory API runs the in-process and thread executors here; the process
executor and the CLI are covered by tests/integration/test_cli_config_secrets.py.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel, Secret, SecretBytes, SecretStr

import partita
from partita import AssetContext, Definitions, asset
from partita.api.config import config_hash, recorded_config, worker_configs
from partita.config_secrets import MASK, masked, revealed_json, scrub, secret_values
from partita.runner import RunOptions
from partita.runner.messages import WorkItem

PASSWORD = "s3cret-Pa55word-q9"


class Endpoint(BaseModel):
    url: str = "https://api.example.com"
    token: SecretStr = SecretStr("")


class Login(BaseModel):
    user: str = "reader"
    password: SecretStr
    key: SecretBytes = SecretBytes(b"")
    pin: Secret[int] | None = None
    endpoints: list[Endpoint] = []


def test_a_worker_validates_back_the_real_secrets() -> None:
    login = Login(
        password=PASSWORD,
        key=b"raw-key",
        pin=Secret[int](4321),
        endpoints=[Endpoint(token=SecretStr("tok-1")), Endpoint()],
    )
    assert login.model_dump_json().count(MASK) >= 3  # what used to reach the asset
    back = Login.model_validate_json(revealed_json(login))
    assert back.password.get_secret_value() == PASSWORD
    assert back.key.get_secret_value() == b"raw-key"
    assert back.pin is not None and back.pin.get_secret_value() == 4321
    assert back.endpoints[0].token.get_secret_value() == "tok-1"
    assert back.model_dump() == login.model_dump()
    assert secret_values(login) == {PASSWORD, "raw-key", "4321", "tok-1"}
    assert secret_values(None) == frozenset()


def test_config_as_given_is_recorded_with_every_secret_masked() -> None:
    login = Login(password=PASSWORD, endpoints=[Endpoint(token=SecretStr("tok-1"))])
    given = {
        "user": "reader",
        "password": PASSWORD,
        "report.endpoints": [{"url": "u", "token": "tok-1"}],
        "n": 3,
        "flag": True,
    }
    recorded = json.loads(recorded_config(given, {"report": login}))
    assert recorded == {
        "user": "reader",
        "password": MASK,
        "report.endpoints": [{"url": "u", "token": MASK}],
        "n": 3,
        "flag": True,
    }
    assert masked(given, frozenset()) == given
    assert json.loads(worker_configs({"report": login})["report"])["password"] == PASSWORD


def test_scrub_masks_every_occurrence_longest_secret_first() -> None:
    text = f"login {PASSWORD} failed; retry with {PASSWORD}-2 and s3cret"
    assert scrub(text, {PASSWORD, f"{PASSWORD}-2"}) == (
        f"login {MASK} failed; retry with {MASK} and s3cret"
    )
    assert scrub(text, ()) == text


def test_a_changed_secret_keeps_the_config_hash() -> None:
    first = config_hash(Login(password=PASSWORD))
    assert config_hash(Login(password="rotated")) == first
    assert config_hash(Login(password=PASSWORD, user="writer")) != first
    # hashes recorded before secrets were handled stay the same (nothing re-planned)
    assert first == "976b9737c4c16ae1"


@asset
def connect(context: AssetContext, config: Login) -> pd.DataFrame:
    password = config.password.get_secret_value()
    context.log.info("password is %s", password)
    print("printed", password)
    return pd.DataFrame({"length": [len(password)], "matches": [password == PASSWORD]})


@asset
def refused(connect: pd.DataFrame, config: Login) -> pd.DataFrame:
    raise PermissionError(f"wrong password {config.password.get_secret_value()!r}")


@pytest.mark.parametrize("executor", ["inprocess", "thread"])
def test_materialize_hands_the_secret_to_the_asset_only(tmp_path: Path, executor: str) -> None:
    defs = Definitions(assets=[connect, refused])
    config = {"password": PASSWORD, "user": "reader"}
    result = partita.materialize(defs, home=tmp_path, config=config, executor=executor)
    assert not result.success
    assert result.output_for("connect")["matches"].tolist() == [True]
    failure = next(o for o in result.outcomes if o.asset == "refused")
    assert failure.error == f"PermissionError: wrong password '{MASK}'"
    assert PASSWORD not in "\n".join(result.summary_lines())
    with contextlib.closing(sqlite3.connect(tmp_path / "catalog.db")) as catalog:
        (recorded,) = catalog.execute("SELECT config FROM runs").fetchone()
        logs = [row[0] for row in catalog.execute("SELECT logs FROM step_attempts")]
    assert json.loads(recorded) == {"password": MASK, "user": "reader"}
    assert any(f"password is {MASK}" in text for text in logs), logs
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_what_carries_the_secret_to_a_worker_never_shows_it_in_a_repr() -> None:
    clear = worker_configs({"connect": Login(password=PASSWORD)})
    item = WorkItem(
        run_id="r", asset="connect", keys=("",), attempt=1, config_json=clear["connect"]
    )
    assert PASSWORD in (item.config_json or "")
    assert PASSWORD not in repr(item)
    assert PASSWORD not in repr(RunOptions(configs=clear))
