"""Data, code and SQL versions: deterministic, chunking-independent, change-sensitive."""

from __future__ import annotations

import importlib
import itertools
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.errors import DefinitionError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.versions import (
    BODY,
    CodeVersion,
    DataVersionHasher,
    code_version,
    data_version,
    describe_code_changes,
    sql_version,
)


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


# -- code versions cover the project code a function references ---------------------------


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Callable[..., ModuleType]]:
    """Write a project's files into a fresh folder and import one of its modules.

    Each call is a new project folder with the same relative file names, as a
    later edit of the same project would be; modules of the previous call are
    forgotten first.
    """
    folders = itertools.count()
    written: set[str] = set()

    def forget() -> None:
        for name in list(sys.modules):
            if name.split(".")[0] in written:
                del sys.modules[name]

    def load(files: dict[str, str], module: str = "defs") -> ModuleType:
        folder = tmp_path / f"v{next(folders)}"
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
            written.add(relative.split("/")[0].removesuffix(".py"))
        forget()
        sys.path.insert(0, str(folder))
        try:
            importlib.invalidate_caches()
            return importlib.import_module(module)
        finally:
            sys.path.remove(str(folder))

    yield load
    forget()


def versions_of(module: ModuleType, name: str = "build") -> CodeVersion:
    return CodeVersion.of(getattr(module, name))


HELPER = """
RATE = 1.5

def normalize_amount(x):
    return round(x * RATE, 2)

def build():
    return normalize_amount(10)
"""


def test_a_changed_helper_changes_the_version_and_is_named(
    project: Callable[..., ModuleType],
) -> None:
    before = versions_of(project({"defs.py": HELPER}))
    after = versions_of(project({"defs.py": HELPER.replace("2)", "3)")}))
    assert after.version != before.version
    assert dict(after.components)[BODY] == dict(before.components)[BODY]
    assert describe_code_changes(dict(before.components), dict(after.components)) == [
        "helper `normalize_amount` in defs.py changed"
    ]
    assert set(dict(before.components)) == {
        BODY,
        "constant defs.py:RATE",
        "function defs.py:normalize_amount",
    }


def test_a_changed_module_constant_changes_the_version(
    project: Callable[..., ModuleType],
) -> None:
    before = versions_of(project({"defs.py": HELPER}))
    after = versions_of(project({"defs.py": HELPER.replace("1.5", "2.5")}))
    assert after.version != before.version
    assert describe_code_changes(dict(before.components), dict(after.components)) == [
        "constant `RATE` in defs.py changed"
    ]
    same = versions_of(project({"defs.py": HELPER.replace("RATE = 1.5", "RATE = 1.50")}))
    assert same.version == before.version


TRANSITIVE = {
    "defs.py": """
        import transforms
        from transforms import normalize_amount

        def build():
            return normalize_amount(1) + transforms.SCALE + transforms.pkg_total()
        """,
    "transforms.py": """
        import money.rounding
        SCALE = (1, 2, {"a": frozenset({3})})

        def normalize_amount(x):
            return money.rounding.round_cents(x)

        def pkg_total():
            return 0
        """,
    "money/__init__.py": "",
    "money/rounding.py": """
        def round_cents(x):
            return round(x, 2)
        """,
}


def test_a_helper_in_another_project_module_counts_transitively(
    project: Callable[..., ModuleType],
) -> None:
    before = versions_of(project(TRANSITIVE))
    assert set(dict(before.components)) == {
        BODY,
        "constant transforms.py:SCALE",
        "function money/rounding.py:round_cents",
        "function transforms.py:normalize_amount",
        "function transforms.py:pkg_total",
    }
    deeper = {
        **TRANSITIVE,
        "money/rounding.py": TRANSITIVE["money/rounding.py"].replace("2)", "4)"),
    }
    after = versions_of(project(deeper))
    assert after.version != before.version
    assert describe_code_changes(dict(before.components), dict(after.components)) == [
        "helper `round_cents` in money/rounding.py changed"
    ]
    unused_text = TRANSITIVE["transforms.py"].replace("SCALE =", "UNUSED = 1\n        SCALE =")
    unused = {**TRANSITIVE, "transforms.py": unused_text}
    assert versions_of(project(unused)).version == before.version


def test_third_party_and_standard_library_code_is_not_hashed(
    project: Callable[..., ModuleType],
) -> None:
    module = project(
        {
            "defs.py": """
                import json
                import pyarrow as pa
                from textwrap import dedent
                from partita import asset

                def build():
                    return pa.table({"a": [json.dumps(dedent(" x"))]}), asset, len
                """
        }
    )
    found = versions_of(module)
    assert [name for name, _ in found.components] == [BODY]
    assert found.version == dict(found.components)[BODY]


def test_comments_formatting_and_docstrings_do_not_count(
    project: Callable[..., ModuleType],
) -> None:
    before = versions_of(project(TRANSITIVE))
    reformatted = {
        **TRANSITIVE,
        "transforms.py": '''
            """Transforms."""
            import money.rounding
            SCALE = (1, 2, {"a": frozenset({3})})  # a comment


            def normalize_amount(x):
                """Round an amount."""
                return money.rounding.round_cents(
                    x  # spread over lines
                )

            def pkg_total():
                return 0
            ''',
    }
    assert versions_of(project(reformatted)).version == before.version


def test_recursive_and_mutually_recursive_helpers(project: Callable[..., ModuleType]) -> None:
    source = """
        def is_even(n):
            return True if n == 0 else is_odd(n - 1)

        def is_odd(n):
            return False if n == 0 else is_even(n - 1)

        def build():
            return build if is_even(4) else None
        """
    before = versions_of(project({"defs.py": source}))
    assert set(dict(before.components)) == {
        BODY,
        "function defs.py:is_even",
        "function defs.py:is_odd",
    }
    after = versions_of(project({"defs.py": source.replace("is_even(n - 1)", "is_even(n - 2)")}))
    assert describe_code_changes(dict(before.components), dict(after.components)) == [
        "helper `is_odd` in defs.py changed"
    ]


CLASSES = """
import functools

def log_calls(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper

def factor():
    return 2

class Normalizer:
    def apply(self, x):
        return x * factor()

@log_calls
def scaled(x):
    return x * 3

@functools.lru_cache(maxsize=None)
def cached(x):
    return x + 1

TOOL = Normalizer()

def build():
    steps = [lambda x: scaled(x)]
    def inner(x):
        return cached(x)
    return Normalizer().apply(1), steps, inner, TOOL
"""


def test_classes_decorated_helpers_lambdas_and_nested_functions_are_followed(
    project: Callable[..., ModuleType],
) -> None:
    before = versions_of(project({"defs.py": CLASSES}))
    assert set(dict(before.components)) == {
        BODY,
        "class defs.py:Normalizer",
        "constant defs.py:TOOL",
        "function defs.py:cached",
        "function defs.py:factor",
        "function defs.py:log_calls",
        "function defs.py:log_calls.<locals>.wrapper",
        "function defs.py:scaled",
    }
    wrapper = "helper `log_calls.<locals>.wrapper` in defs.py changed"
    for old, new, changed in (
        ("x * factor()", "x * factor() + 1", ["class `Normalizer` in defs.py changed"]),
        ("return 2", "return 3", ["helper `factor` in defs.py changed"]),
        ("x * 3", "x * 4", ["helper `scaled` in defs.py changed"]),
        ("x + 1", "x + 2", ["helper `cached` in defs.py changed"]),
        ("maxsize=None", "maxsize=8", ["helper `cached` in defs.py changed"]),
        ("fn(*args)", "fn(*args[:1])", ["helper `log_calls` in defs.py changed", wrapper]),
    ):
        after = versions_of(project({"defs.py": CLASSES.replace(old, new)}))
        assert describe_code_changes(dict(before.components), dict(after.components)) == changed


def test_closure_variables_of_an_asset_factory_count(project: Callable[..., ModuleType]) -> None:
    module = project(
        {
            "defs.py": """
                def make(rate):
                    def build():
                        return rate
                    return build

                low, high, other_low = make(1), make(2), make(1)
                """
        }
    )
    low, high = versions_of(module, "low"), versions_of(module, "high")
    assert low.version != high.version
    assert versions_of(module, "other_low").version == low.version
    assert "constant defs.py:make.<locals>.build.rate" in dict(low.components)


def test_module_constants_count_by_the_statement_that_assigns_them(
    project: Callable[..., ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = """
        import os
        import pyarrow as pa
        from datetime import date
        TABLE = pa.table({"a": [1]})
        PAUSE = float(os.environ.get("PAUSE", "0.3"))
        TODAY = date.today()

        def build():
            return TABLE, PAUSE, TODAY
        """
    monkeypatch.setenv("PAUSE", "0.4")
    found = versions_of(project({"defs.py": source}))
    assert set(dict(found.components)) == {
        BODY,
        "constant defs.py:PAUSE",
        "constant defs.py:TABLE",
        "constant defs.py:TODAY",
    }
    monkeypatch.setenv("PAUSE", "0")
    assert versions_of(project({"defs.py": source})).version == found.version
    other_table = versions_of(project({"defs.py": source.replace("[1]", "[2]")}))
    assert describe_code_changes(dict(found.components), dict(other_table.components)) == [
        "constant `TABLE` in defs.py changed"
    ]


def test_an_imported_constant_counts_where_it_is_assigned(
    project: Callable[..., ModuleType],
) -> None:
    files = {
        "defs.py": """
            from settings import DIGITS as PLACES
            from money import CURRENCY

            def build():
                return PLACES, CURRENCY
            """,
        "settings.py": "DIGITS = 2\n",
        "money/__init__.py": "from .units import CURRENCY\n",
        "money/units.py": "CURRENCY = 'EUR'\n",
    }
    before = versions_of(project(files))
    assert set(dict(before.components)) == {
        BODY,
        "constant money/units.py:CURRENCY",
        "constant settings.py:DIGITS",
    }
    after = versions_of(project({**files, "money/units.py": "CURRENCY = 'USD'\n"}))
    assert describe_code_changes(dict(before.components), dict(after.components)) == [
        "constant `CURRENCY` in money/units.py changed"
    ]


def test_a_path_inside_the_project_counts_relative_to_it(
    project: Callable[..., ModuleType],
) -> None:
    source = """
        from pathlib import Path
        LANDING = Path(__file__).parent / "landing"
        ELSEWHERE = Path("/srv/data")

        def build():
            return LANDING, ELSEWHERE
        """
    first, moved = (versions_of(project({"defs.py": source})) for _ in range(2))
    assert "constant defs.py:LANDING" in dict(first.components)
    assert moved.version == first.version
    renamed = versions_of(project({"defs.py": source.replace('"landing"', '"inbox"')}))
    assert renamed.version != first.version


def test_an_explicit_code_version_overrides_everything(
    project: Callable[..., ModuleType],
) -> None:
    module = project(
        {
            "defs.py": """
                from partita import Definitions, asset
                RATE = 1

                @asset(code_version="v7")
                def pinned():
                    return RATE

                @asset
                def hashed():
                    return RATE

                defs = Definitions(assets=[pinned, hashed])
                """
        }
    )
    graph = AssetGraph(module.defs)
    assert graph.code_version(AssetKey("pinned")) == "v7"
    assert graph.code_components(AssetKey("pinned")).components == ()
    hashed = graph.code_components(AssetKey("hashed"))
    assert graph.code_version(AssetKey("hashed")) == hashed.version
    assert "constant defs.py:RATE" in dict(hashed.components)
    assert hashed == CodeVersion.of(module.hashed.fn)


def test_describe_code_changes_names_the_body_and_added_or_removed_code() -> None:
    before = {BODY: "1", "function t.py:old": "2", "constant t.py:RATE": "3"}
    after = {BODY: "9", "class t.py:New": "4", "constant t.py:RATE": "3"}
    assert describe_code_changes(before, after) == [
        "the function body changed",
        "class `New` in t.py is now used",
        "helper `old` in t.py is no longer used",
    ]
    assert describe_code_changes(after, after) == []
