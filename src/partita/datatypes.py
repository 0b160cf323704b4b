"""How data is typed across Partita: loading kinds and canonical Arrow type names.

- :func:`data_kind`: the kind of value a parameter annotation asks for
  (a pandas DataFrame, an Arrow table or RecordBatchReader, a DuckDB relation).
  Asset inputs, custom checks and stores all load data by this one rule.
- :func:`canonical_type`: an Arrow type's name with width variants unified, as
  data versions, schema records and the ``schema`` check compare types.

Neither loads pandas, pyarrow or duckdb at import time: definitions use this
module, and loading a project must stay cheap.
"""

from __future__ import annotations

import inspect
import typing
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DataKind", "canonical_type", "data_kind"]

_STRING_TYPES = ("string", "large_string", "string_view")
_BINARY_TYPES = ("binary", "large_binary", "binary_view")

DataKind = Literal["pandas", "table", "reader", "relation"]

_KIND_NAMES: dict[str, DataKind] = {
    "DataFrame": "pandas",
    "pd.DataFrame": "pandas",
    "pandas.DataFrame": "pandas",
    "Table": "table",
    "pa.Table": "table",
    "pyarrow.Table": "table",
    "RecordBatchReader": "reader",
    "pa.RecordBatchReader": "reader",
    "pyarrow.RecordBatchReader": "reader",
    "DuckDBPyRelation": "relation",
    "duckdb.DuckDBPyRelation": "relation",
}


def data_kind(annotation: Any) -> DataKind | None:
    """How data annotated ``annotation`` is loaded, or ``None`` for an unknown type.

    No annotation means a pandas DataFrame; ``X | None`` means ``X``; string
    annotations (``"pd.DataFrame"``) are understood.
    """
    if annotation is None or annotation is inspect.Parameter.empty or annotation is Any:
        return "pandas"
    if isinstance(annotation, str):
        name = annotation.replace(" ", "").removesuffix("|None").removeprefix("None|")
        return _KIND_NAMES.get(name)
    if typing.get_origin(annotation) in (typing.Union, typing.get_origin(int | None)):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return data_kind(args[0]) if len(args) == 1 else None
    if isinstance(annotation, type):
        module = annotation.__module__.split(".")[0]
        qualified = {
            ("pandas", "DataFrame"): "pandas",
            ("pyarrow", "Table"): "table",
            ("pyarrow", "RecordBatchReader"): "reader",
            ("duckdb", "DuckDBPyRelation"): "relation",
            ("_duckdb", "DuckDBPyRelation"): "relation",
        }
        found = qualified.get((module, annotation.__name__))
        return typing.cast(DataKind | None, found)
    return None


def canonical_type(data_type: pa.DataType) -> str:
    """The type's name as far as versions are concerned (width variants unified).

    ``large_string`` and ``string_view`` are ``string``; binary likewise;
    a dictionary is its value type.
    """
    import pyarrow as pa  # noqa: PLC0415  (deferred: declarations import this module)

    if pa.types.is_dictionary(data_type):
        return canonical_type(data_type.value_type)
    name = str(data_type)
    if name in _STRING_TYPES:
        return "string"
    if name in _BINARY_TYPES:
        return "binary"
    if pa.types.is_large_list(data_type) or pa.types.is_list_view(data_type):
        return f"list<{canonical_type(data_type.value_type)}>"
    return name
