"""The schema evolution rules (:mod:`partita.io.schema`) as a table: which pairs of
stored and written column types have a safe common type, in both type families."""

from __future__ import annotations

from itertools import permutations

import pytest

from partita.errors import SchemaChangeError
from partita.io.schema import check_evolution, common_type, common_type_of


@pytest.mark.parametrize(
    ("stored", "written", "common"),
    [
        ("int32", "int64", "int64"),
        ("int64", "int32", "int64"),
        ("float", "double", "double"),
        ("double", "int64", "double"),  # an integer day after a NaN (float) day
        ("int64", "double", "double"),
        ("int8", "float", "float"),
        ("int32", "float", "double"),
        ("uint8", "uint32", "uint32"),
        ("null", "string", "string"),
        ("string", "null", "string"),
        ("INTEGER", "BIGINT", "BIGINT"),
        ("DOUBLE", "BIGINT", "DOUBLE"),
        ("BIGINT", "DOUBLE", "DOUBLE"),
        ("SMALLINT", "FLOAT", "FLOAT"),
        ("INTEGER", "FLOAT", "DOUBLE"),
        ('"NULL"', "VARCHAR", "VARCHAR"),
        ("string", "string", "string"),
    ],
)
def test_safe_pairs_have_a_common_type(stored: str, written: str, common: str) -> None:
    assert common_type(stored, written) == common


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("string", "int64"),
        ("int64", "string"),
        ("bool", "int64"),
        ("int64", "uint64"),
        ("date32[day]", "timestamp[us]"),
        ("VARCHAR", "BIGINT"),
        ("DOUBLE", "VARCHAR"),
        ("BOOLEAN", "INTEGER"),
    ],
)
def test_other_pairs_have_none(stored: str, written: str) -> None:
    assert common_type(stored, written) is None


def test_check_evolution_says_what_is_added_and_widened_or_refuses() -> None:
    evolution = check_evolution(
        {"a": "int32", "b": "double", "c": "string"},
        {"a": "int64", "b": "int64", "d": "bool"},
        "sales/deals",
        "sales/deals [date=2026-11-21]",
    )
    assert evolution.added == {"d": "bool"}
    assert evolution.widened == {"a": "int64"}
    with pytest.raises(SchemaChangeError) as caught:
        check_evolution({"c": "string"}, {"c": "int64"}, "sales/deals", "sales/deals [x]")
    assert str(caught.value).startswith(
        "sales/deals [x]: column 'c' changes type from string to int64, which no safe "
        "widening covers\n  hint: drop the stored data and rebuild it: `partita wipe sales/deals`"
    )
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("types", "common"),
    [
        (["int64", "uint32", "double"], "double"),  # no pair order matters: floats first
        (["int8", "int16", "halffloat"], "float"),
        (["null", "int32", "int64"], "int64"),
        (["string", "null"], "string"),
        (["BIGINT", "UINTEGER", "DOUBLE"], "DOUBLE"),
        (["int64", "uint32"], None),
        (["string", "int64", "null"], None),
        ([], None),
    ],
)
def test_the_common_type_of_many_does_not_depend_on_their_order(
    types: list[str], common: str | None
) -> None:
    for order in permutations(types):
        assert common_type_of(order) == common
