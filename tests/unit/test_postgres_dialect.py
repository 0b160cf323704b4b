"""The translation of the catalog's shared SQL for PostgreSQL (partita.catalog.postgres.dialect)."""

from __future__ import annotations

from partita.catalog.postgres.dialect import translate


def test_placeholders_become_psycopgs_and_a_literal_percent_is_escaped() -> None:
    sql, bound = translate("SELECT a FROM t WHERE x = ? AND y LIKE 'a%?' AND z = ?", (1, "b"))
    assert sql == "SELECT a FROM t WHERE x = %s AND y LIKE 'a%%?' AND z = %s"
    assert bound == [1, "b"]


def test_numbered_placeholders_bind_their_value_at_each_use() -> None:
    sql, bound = translate("SELECT 1 FROM t WHERE a <= ?2 AND b = ?1 AND c > ?2", ("x", 5.0))
    assert sql == "SELECT 1 FROM t WHERE a <= %s AND b = %s AND c > %s"
    assert bound == [5.0, "x", 5.0]


def test_a_json_list_becomes_an_array_and_an_empty_one_matches_nothing() -> None:
    sql, bound = translate(
        "SELECT 1 FROM t WHERE id IN (SELECT value FROM json_each(?))", ("[3, 4]",)
    )
    assert sql == "SELECT 1 FROM t WHERE id = ANY(%s)"
    assert bound == [[3, 4]]
    sql, bound = translate("SELECT 1 FROM t WHERE a IN (SELECT value FROM json_each(?1))", ("[]",))
    assert sql == "SELECT 1 FROM t WHERE a = ANY('{}')"
    assert bound == []


def test_sqlites_null_safe_comparisons_become_distinct_from() -> None:
    sql, _ = translate("SELECT 1 WHERE a IS NOT b AND c IS d AND e IS NULL AND f IS NOT NULL", ())
    assert sql == (
        "SELECT 1 WHERE a IS DISTINCT FROM b AND c IS NOT DISTINCT FROM d "
        "AND e IS NULL AND f IS NOT NULL"
    )
