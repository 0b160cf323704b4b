"""Data, code and SQL versions: deterministic, chunking-independent, change-sensitive."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.errors import DefinitionError
from partita.versions import DataVersionHasher, code_version, data_version, sql_version


def sample() -> pa.Table:
    return pa.table(
        {
            "i": pa.array([1, None, 3, 4, 5], pa.int64()),
            "f": [0.5, 1.5, None, 3.5, 4.5],
            "s": ["a", None, "ccc", "", "ee"],
            "b": [True, False, None, True, False],
            "d": pa.array(["x", "y", "x", None, "y"]).dictionary_encode(),
            "l": [[1], [], None, [2, 3], [4]],
        }
    )


def test_same_rows_in_any_chunking_give_the_same_version() -> None:
    table = sample()
    base = data_version(table)
    for size in (1, 2, 3, 4):
        rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=size))
        assert data_version(rechunked) == base
    sliced = pa.concat_tables([table.slice(0, 2), table.slice(2)])
    assert data_version(sliced) == base
    assert data_version(table.to_reader(max_chunksize=2)) == base


def test_width_variants_and_metadata_do_not_count() -> None:
    table = sample()
    wide = table.set_column(2, "s", table.column("s").cast(pa.large_string()))
    decoded = wide.set_column(4, "d", table.column("d").cast(pa.string()))
    with_meta = decoded.replace_schema_metadata({"pandas": "{}", "x": "y"})
    assert data_version(with_meta) == data_version(table)


def test_one_changed_value_changes_the_version() -> None:
    table = sample()
    base = data_version(table)
    changed_int = table.set_column(0, "i", pa.array([1, None, 3, 4, 6], pa.int64()))
    changed_str = table.set_column(2, "s", pa.array(["a", None, "ccd", "", "ee"]))
    null_vs_empty = table.set_column(2, "s", pa.array(["a", "", "ccc", "", "ee"]))
    moved_byte = table.set_column(2, "s", pa.array(["a", None, "cc", "c", "ee"]))
    renamed = table.rename_columns(["j", "f", "s", "b", "d", "l"])
    retyped = table.set_column(0, "i", table.column("i").cast(pa.int32()))
    versions = {
        data_version(t)
        for t in (changed_int, changed_str, null_vs_empty, moved_byte, renamed, retyped)
    }
    assert base not in versions
    assert len(versions) == 6


def test_incremental_hasher_matches_and_counts_rows() -> None:
    table = sample()
    hasher = DataVersionHasher(table.schema)
    for batch in table.to_batches(max_chunksize=2):
        hasher.update(batch)
    assert hasher.rows == 5
    assert hasher.finish() == data_version(table)


def test_version_is_the_same_in_another_process() -> None:
    code = (
        "import pyarrow as pa; from partita.versions import data_version;"
        "print(data_version(pa.table({'a': [1, 2, 3], 's': ['x', 'y', None]})))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == data_version(pa.table({"a": [1, 2, 3], "s": ["x", "y", None]}))
    assert len(other) == 16


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=1, max_size=30),
    size=st.integers(1, 30),
)
def test_chunking_never_matters_for_strings(values: list[str | None], size: int) -> None:
    table = pa.table({"s": pa.array(values, pa.string())})
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=size))
    assert data_version(rechunked) == data_version(table)


def plain(x: int) -> int:
    return x + 1


def plain_changed(x: int) -> int:
    return x + 2


def test_code_version_ignores_docstrings_comments_formatting_and_decorators() -> None:
    def deco(fn: object) -> object:
        return fn

    @deco  # type: ignore[misc]
    def plain(x: int) -> int:
        return (
            x + 1  # spaced out
        )

    assert code_version(plain) == code_version(globals()["plain"])
    assert code_version(plain_changed) != code_version(globals()["plain"])
    assert len(code_version(plain)) == 16


def test_code_version_of_equal_functions_with_different_docs() -> None:
    def f(x: int) -> int:
        """One doc."""
        return x * 2

    first = code_version(f)

    def f(x: int) -> int:  # type: ignore[no-redef]
        # another comment, no docstring
        return x * 2

    assert code_version(f) == first


def test_code_version_without_source_is_a_clear_error() -> None:
    with pytest.raises(DefinitionError, match="code_version"):
        code_version(len)


def test_sql_version_ignores_whitespace_case_and_comments() -> None:
    base = sql_version("select a, b from sales.orders where x = 1")
    assert sql_version("SELECT a,\n   B -- comment\nFROM Sales.Orders WHERE x=1") == base
    assert sql_version("/* c */ select A, b from sales.orders where x = 1") == base
    assert sql_version("select a, b from sales.orders where x = 2") != base
    assert sql_version("select a, b from sales.orders where x = 'A'") != sql_version(
        "select a, b from sales.orders where x = 'a'"
    )


def test_sql_version_parse_error() -> None:
    with pytest.raises(DefinitionError):
        sql_version("select from from where (")
