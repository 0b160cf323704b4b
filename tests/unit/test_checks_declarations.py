from __future__ import annotations

import pytest

from partita.checks import (
    accepted_values,
    expression,
    in_range,
    not_null,
    relationship,
    row_count,
    schema,
    unique,
)
from partita.errors import DefinitionError


def test_builtin_check_declarations() -> None:
    assert not_null("order_id").name == "not_null_order_id"
    assert not_null("order_id").blocking
    assert unique("a", "b").columns == ("a", "b")
    spec = accepted_values("status", ["paid", "refunded"], severity="warn")
    assert spec.param("values") == ("paid", "refunded") and not spec.blocking
    assert row_count(min=1).param("min") == 1
    assert in_range("amount", min=0).param("max") is None
    assert schema({"order_id": "int64"}).columns == ("order_id",)
    assert expression("amount >= 0").param("sql") == "amount >= 0"
    rel = relationship("customer_id", to="customers.id")
    assert (rel.param("to_asset"), rel.param("to_column")) == ("customers", "id")
    assert not_null("x", max_failing_fraction=0.1).max_failing_fraction == 0.1


@pytest.mark.parametrize(
    "make",
    [
        lambda: not_null("x", severity="fatal"),  # type: ignore[arg-type]
        lambda: not_null("x", max_failing_rows=-1),
        lambda: not_null("x", max_failing_fraction=2),
        unique,
        lambda: accepted_values("x", []),
        row_count,
        lambda: row_count(min=5, max=1),
        lambda: in_range("x"),
        lambda: schema({}),
        lambda: expression("  "),
        lambda: relationship("x", to="customers"),
        lambda: not_null(""),
    ],
)
def test_bad_check_declarations(make: object) -> None:
    with pytest.raises(DefinitionError):
        make()  # type: ignore[operator]
