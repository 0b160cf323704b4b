"""Secret config values (pydantic ``SecretStr`` / ``SecretBytes``), through the real CLI.

The asset receives the real secret; the catalog file, the data, the step logs,
error messages and every command's text and JSON output show ``**********``
instead, even when the asset itself logs the secret or raises an error that
contains it. A changed secret does not make partitions stale; a changed
non-secret field does.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli, write_project

PASSWORD = "hunter2-Sw0rdfish-7f3a"
API_KEY = "kb-5e1d-Zebra-0c9f"
NESTED = "nested-Tok3n-91ab"
ALL_SECRETS = (PASSWORD, API_KEY, NESTED)

PROJECT = """
import hashlib

import pandas as pd
from pydantic import BaseModel, SecretBytes, SecretStr
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")


class Upstream(BaseModel):
    host: str = "db.example.com"
    token: SecretStr


class Source(BaseModel):
    user: str = "reader"
    password: SecretStr
    api_key: SecretBytes
    upstream: Upstream


def digest(secret: str | bytes) -> str:
    data = secret if isinstance(secret, bytes) else secret.encode()
    return hashlib.sha256(data).hexdigest()


@asset(partitions=DAYS)
def orders(context, config: Source) -> pd.DataFrame:
    password = config.password.get_secret_value()
    context.log.info("connecting as %s with %s to %s", config.user, password, config.upstream)
    print("token", config.upstream.token.get_secret_value(), config.api_key.get_secret_value())
    return pd.DataFrame(
        {
            "user": [config.user],
            "password_sha": [digest(password)],
            "api_key_sha": [digest(config.api_key.get_secret_value())],
            "token_sha": [digest(config.upstream.token.get_secret_value())],
        }
    )


@asset(partitions=DAYS)
def fails(orders: pd.DataFrame, config: Source) -> pd.DataFrame:
    raise ConnectionError(f"login refused for password {config.password.get_secret_value()}")


defs = Definitions(assets=[orders, fails])
"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def config_file(folder: Path, password: str = PASSWORD, user: str = "reader") -> Path:
    path = folder / f"secrets-{sha(password + user)[:8]}.toml"
    path.write_text(
        f'user = "{user}"\npassword = "{password}"\napi_key = "{API_KEY}"\n'
        f'[upstream]\ntoken = "{NESTED}"\n',
        encoding="utf-8",
    )
    return path


def assert_no_secret(where: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in ALL_SECRETS:
        assert secret.encode() not in data, f"{secret!r} leaked into {where}"


def assert_no_secret_in_files(folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != "defs.py"]
    assert any(p.name == "catalog.db" for p in files), files
    for path in files:
        assert_no_secret(str(path), path.read_bytes())


def cli(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    result = run_cli(args, folder)
    assert_no_secret(f"partita {' '.join(args)} output", result.stdout + result.stderr)
    return result


def test_the_asset_gets_the_secret_and_nothing_written_or_printed_holds_it(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    secrets = config_file(tmp_path)
    built = cli(["materialize", "orders", "--config", str(secrets)], folder)
    assert built.returncode == 0, built.stdout + built.stderr
    # the asset received the real values, through the process executor's workers
    shown = cli(["materialize", "orders", "--config", str(secrets), "--json", "--force"], folder)
    assert json.loads(shown.stdout)["status"] == "succeeded", shown.stdout
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pandas as pd, sys; print(pd.read_parquet(sys.argv[1]).to_json())",
            str(next((folder / ".partita").rglob("*.parquet"))),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stored = json.loads(read.stdout)
    assert stored["password_sha"]["0"] == sha(PASSWORD)
    assert stored["api_key_sha"]["0"] == sha(API_KEY)
    assert stored["token_sha"]["0"] == sha(NESTED)
    # a failure whose message holds the secret; given with -c this time
    failed = cli(
        [
            "materialize",
            "fails",
            "--partition",
            "2025-01-01",
            "--config",
            str(secrets),
            "-c",
            f"password={PASSWORD}",
        ],
        folder,
    )
    assert failed.returncode == 1
    assert "login refused for password **********" in failed.stdout
    failed_json = cli(
        ["materialize", "fails", "--partition", "2025-01-02", "--config", str(secrets), "--json"],
        folder,
    )
    assert "**********" in failed_json.stdout
    # everything a user can read back
    runs = cli(["runs", "--json"], folder)
    run_ids = [run["run_id"] for run in json.loads(runs.stdout)["runs"]]
    assert len(run_ids) == 4
    cli(["runs"], folder)
    for run_id in run_ids:
        logs = cli(["logs", run_id], folder)
        cli(["logs", run_id, "--json"], folder)
        if run_id == run_ids[-1]:  # newest first: the first run
            assert "connecting as reader with ********** to host='db.example.com'" in logs.stdout
    for asset_name in ("orders", "fails"):
        cli(["history", asset_name, "--json"], folder)
        cli(["history", asset_name], folder)
    cli(["lineage", "orders", "-p", "2025-01-01", "--format", "json"], folder)
    cli(["status", "--json"], folder)
    cli(["plan", "--config", str(secrets), "--json"], folder)
    assert_no_secret_in_files(folder)


def test_a_changed_secret_does_not_make_partitions_stale(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    built = cli(["materialize", "orders", "--config", str(config_file(tmp_path))], folder)
    assert built.returncode == 0, built.stdout + built.stderr
    rotated = config_file(tmp_path, password="rotated-Passw0rd-44")
    same = cli(["plan", "orders", "--config", str(rotated), "--json"], folder)
    assert json.loads(same.stdout)["steps"] == []
    other_user = config_file(tmp_path, user="writer")
    changed = cli(["plan", "orders", "--config", str(other_user), "--json"], folder)
    steps = json.loads(changed.stdout)["steps"]
    assert {reason["reason"] for step in steps for reason in step["reasons"]} == {"config_changed"}
