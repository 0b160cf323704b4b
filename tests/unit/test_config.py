"""Run-time config: ``field=value`` is shared, ``asset.field=value`` is for one asset."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from partita.api.config import load_config_file, parse_assignments, resolve_config
from partita.assets import asset
from partita.definitions import Definitions
from partita.errors import ConfigError, UnknownAssetError
from partita.graph import AssetGraph


class Window(BaseModel):
    days: int = 1


class ReportConfig(BaseModel):
    window: Window = Window()
    strict: bool = False


class Threshold(BaseModel):
    min_amount: float = 0.0
    strict: bool = False


@asset
def orders() -> None: ...


@asset
def report(orders: object, config: ReportConfig) -> None: ...


@asset
def large_orders(orders: object, config: Threshold) -> None: ...


@asset
def window(orders: object, config: Threshold) -> None:  # an asset named like a field
    ...


GRAPH = AssetGraph(Definitions(assets=[orders, report, large_orders, window]))
ALL = GRAPH.keys


def _resolve(*pairs: str) -> dict[str, dict[str, object]]:
    models = resolve_config(GRAPH, ALL, parse_assignments(pairs))
    return {name: model.model_dump() for name, model in models.items()}


def test_a_nested_model_value_is_a_field_not_an_asset() -> None:
    resolved = _resolve('window={"days": 3}')
    assert resolved["report"]["window"] == {"days": 3}
    assert resolved["window"] == {"min_amount": 0.0, "strict": False}


def test_shared_and_per_asset_values() -> None:
    resolved = _resolve("strict=true", "large_orders.strict=false", "window.min_amount=5")
    assert resolved["report"]["strict"] is True
    assert resolved["large_orders"]["strict"] is False  # the asset's own value wins
    assert resolved["window"] == {"min_amount": 5.0, "strict": True}
    assert _resolve('report.window={"days": 7}')["report"]["window"] == {"days": 7}


def test_a_table_per_asset_from_a_file_or_python(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("min_amount = 10\n[large_orders]\nstrict = true\n[report.window]\ndays = 2\n")
    models = resolve_config(GRAPH, ALL, load_config_file(path))
    assert models["large_orders"].model_dump() == {"min_amount": 10.0, "strict": True}
    assert models["report"].model_dump()["window"] == {"days": 2}


def test_unknown_names_are_errors_with_suggestions() -> None:
    with pytest.raises(ConfigError, match=r"large_orders has no config field 'strickt'") as exc:
        _resolve("large_orders.strickt=true")
    assert "did you mean 'strict'?" in str(exc.value)
    with pytest.raises(UnknownAssetError, match=r"'larg_orders'.*did you mean 'large_orders'"):
        _resolve("larg_orders.strict=true")
    with pytest.raises(ConfigError, match=r"min_amout fits no selected asset.*'min_amount'"):
        _resolve("min_amout=3")
    with pytest.raises(ConfigError, match="orders takes no config"):
        _resolve("orders.x=1")
    with pytest.raises(ConfigError, match=r"asset\.field=value"):
        parse_assignments(["report.window.days=3"])
    with pytest.raises(ConfigError, match="is not valid JSON"):
        parse_assignments(["window={days:3}"])  # what an unquoted shell argument becomes


def test_a_table_for_an_asset_must_be_a_table() -> None:
    with pytest.raises(
        ConfigError, match=r"(?s)config for large_orders.*large_orders\.FIELD=VALUE"
    ):
        resolve_config(GRAPH, ALL, {"large_orders": 3})


def test_unselected_assets_take_no_shared_values() -> None:
    only = [GRAPH.resolve("large_orders")]
    models = resolve_config(GRAPH, only, parse_assignments(["min_amount=2", "report.strict=1"]))
    assert set(models) == {"large_orders"}
    with pytest.raises(ConfigError, match="fits no selected asset"):
        resolve_config(GRAPH, only, parse_assignments(["nothing=3"]))
    # no selected asset has a field `window`, so the name means the asset window
    with pytest.raises(ConfigError, match="window has no config field 'days'"):
        resolve_config(GRAPH, only, parse_assignments(['window={"days": 3}']))


class Api(BaseModel):
    token: str
    limit: int = 10


@asset
def pull(config: Api) -> None: ...


def test_a_required_value_not_given_is_missing_for_questions_and_an_error_for_runs() -> None:
    from partita.api.config import resolve_available_config  # noqa: PLC0415

    graph = AssetGraph(Definitions(assets=[orders, report, pull]))
    found = resolve_available_config(graph, graph.keys, {})
    assert found.missing == {"pull": ("token",)}
    assert set(found.models) == {"report"}
    with pytest.raises(ConfigError, match=r"config of pull \(Api\): token: Field required"):
        resolve_config(graph, graph.keys, {})
    given = resolve_available_config(graph, graph.keys, parse_assignments(["pull.token=abc"]))
    assert given.missing == {} and given.models["pull"].model_dump() == {
        "token": "abc",
        "limit": 10,
    }
    # a value given but invalid is an error even for questions, with the field that fails
    with pytest.raises(ConfigError, match="limit"):
        resolve_available_config(graph, graph.keys, parse_assignments(["pull.limit=many"]))
