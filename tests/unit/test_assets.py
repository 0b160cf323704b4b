from __future__ import annotations

import pandas as pd
import pytest
from pydantic import BaseModel

from partita.assets import AssetSpec, In, asset
from partita.checks import not_null
from partita.context import AssetContext
from partita.definitions import Definitions
from partita.errors import DefinitionError
from partita.keys import AssetKey
from partita.mappings import TimeWindow
from partita.partitions import DailyPartitions
from partita.policies import RetryPolicy
from partita.sources import source

DAILY = DailyPartitions(start="2025-01-01")


class Settings(BaseModel):
    threshold: float = 0.0


def test_asset_from_function() -> None:
    @asset(partitions=DAILY, group="sales", code_version="1", tags={"tier": "gold"})
    def clean_orders(context, raw_orders: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
        """Orders with refunds removed."""
        return raw_orders[raw_orders.amount > 0]

    assert isinstance(clean_orders, AssetSpec)
    assert clean_orders.key == AssetKey("clean_orders")
    assert clean_orders.description == "Orders with refunds removed."
    assert clean_orders.context_param == "context"
    assert clean_orders.input_params == ("raw_orders",)
    assert clean_orders.deps[0].key is None
    assert clean_orders.annotations["raw_orders"] is pd.DataFrame
    assert clean_orders.partitions == DAILY
    assert clean_orders.tags == {"tier": "gold"}


def test_decorated_function_stays_callable() -> None:
    @asset
    def doubled(numbers: pd.DataFrame) -> pd.DataFrame:
        return numbers * 2

    frame = pd.DataFrame({"x": [1, 2]})
    assert doubled(frame)["x"].tolist() == [2, 4]
    assert doubled.partitions is None


def test_context_for_tests() -> None:
    @asset(partitions=DAILY)
    def echo(context: AssetContext) -> str:
        return f"{context.asset_key}:{context.partition_key}"

    assert echo.context_param == "context"
    assert echo(AssetContext.for_test("echo", "2025-01-02")) == "echo:2025-01-02"


def test_ins_deps_key_prefix_and_config() -> None:
    @asset(key_prefix="sales")
    def raw() -> None: ...

    @asset(
        key_prefix=["sales"],
        partitions=DAILY,
        ins={"week": In("sales/raw", mapping=TimeWindow(start_offset=-6))},
        deps=[raw, "other/thing"],
        retry=RetryPolicy(max_attempts=2),
        timeout="10m",
        checks=[not_null("id")],
    )
    def rolling(week: pd.DataFrame, settings: Settings) -> None: ...

    assert rolling.key == AssetKey("sales/rolling")
    assert [(d.param, d.key) for d in rolling.deps] == [
        ("week", AssetKey("sales/raw")),
        (None, AssetKey("sales/raw")),
        (None, AssetKey("other/thing")),
    ]
    assert rolling.deps[0].mapping == TimeWindow(start_offset=-6)
    assert rolling.config_param == "settings"
    assert rolling.config_model is Settings
    assert rolling.timeout == 600.0
    assert rolling.checks[0].name == "not_null_id"


def test_explicit_key_and_in_with_asset_object() -> None:
    @asset(key="warehouse/orders")
    def load() -> None: ...

    @asset(ins={"orders": In(load)})
    def summary(orders: pd.DataFrame) -> None: ...

    assert load.key == AssetKey("warehouse/orders")
    assert summary.deps[0].key == AssetKey("warehouse/orders")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "a/b", "key_prefix": "c"}, "not both"),
        ({"key": "bad-key"}, "segment 'bad-key'"),
        ({"partitions": "daily"}, "partitions= must be a partitions definition"),
        ({"batch": True}, "batch=True needs partitions="),
        ({"checks": ["not_null"]}, "checks= takes checks"),
        ({"ins": {"nope": In("x")}}, "not parameters of"),
        ({"deps": ["1x"]}, "segment '1x'"),
        ({"timeout": "soon"}, "invalid timeout"),
    ],
)
def test_declaration_errors(kwargs: dict[str, object], message: str) -> None:
    def f(x: pd.DataFrame) -> None: ...

    with pytest.raises(DefinitionError, match=message):
        asset(**kwargs)(f)  # type: ignore[call-overload]


def test_var_args_rejected() -> None:
    with pytest.raises(DefinitionError, match=r"\*args"):

        @asset
        def f(*frames: pd.DataFrame) -> None: ...


def test_source_with_and_without_observe() -> None:
    @source(partitions=DAILY, key_prefix="landing")
    def orders(context: AssetContext) -> str | None:
        """Files dropped by the shop."""
        return "v1"

    assert orders.is_source
    assert orders.key == AssetKey("landing/orders")
    assert orders.description == "Files dropped by the shop."
    assert orders(AssetContext.for_test("landing/orders", "2025-01-01")) == "v1"
    external = source("crm/customers")
    assert external.key == AssetKey("crm/customers") and external.fn is None
    with pytest.raises(DefinitionError, match="one parameter"):

        @source
        def bad(a: int, b: int) -> None: ...


def test_source_decorator_with_key_and_partitions() -> None:
    """Issue 12 item 5: ``@source(key=..., partitions=...)`` decorates like ``@asset(key=...)``."""

    @source(key="landing/orders", partitions=DAILY)
    def observe_orders(context: AssetContext) -> str:
        return f"v-{context.partition_key}"

    assert isinstance(observe_orders, AssetSpec) and observe_orders.is_source
    assert observe_orders.key == AssetKey("landing/orders")
    assert observe_orders.partitions == DAILY
    assert observe_orders.context_param == "context"
    context = AssetContext.for_test("landing/orders", "2025-01-02")
    assert observe_orders(context) == "v-2025-01-02"


def test_source_factory_form_equals_decorator_form() -> None:
    def observe(context: AssetContext) -> str:
        return "v1"

    applied = source(key="landing/orders", partitions=DAILY, group="raw")(observe)
    assert applied.key == AssetKey("landing/orders") and applied.fn is observe
    assert applied.group == "raw"


def test_source_without_function_takes_its_key_positionally() -> None:
    landing = source("landing", partitions=DAILY, store="lake")
    assert landing.key == AssetKey("landing") and landing.fn is None
    assert landing.partitions == DAILY and landing.store == "lake"
    prefixed = source("orders", key_prefix="landing")
    assert prefixed.key == AssetKey("landing/orders")


def test_source_key_given_twice_is_an_error() -> None:
    with pytest.raises(DefinitionError, match="the key is given twice") as caught:
        source("landing", key="landing/orders")
    assert caught.value.hint is not None and "@source(key='landing/orders'" in caught.value.hint


def test_unapplied_source_decorator_is_refused_with_a_hint() -> None:
    unapplied = source(key="landing/orders", partitions=DAILY)
    with pytest.raises(DefinitionError, match="not applied to a function") as caught:
        Definitions(sources=[unapplied])  # type: ignore[list-item]
    assert caught.value.hint is not None and "source('landing/orders'" in caught.value.hint
    with pytest.raises(DefinitionError, match="decorates an observe function"):
        unapplied("not a function")  # type: ignore[arg-type]
