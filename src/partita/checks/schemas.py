"""The ``schema`` check: expected column types against a partition's Arrow schema.

Type names are Arrow's (``str(pa.int64())`` is ``"int64"``). Width variants
count as equal (``string`` = ``large_string`` = ``string_view``, ``binary`` =
``large_binary``, a dictionary is its value type), common aliases are
understood (``str``, ``utf8``, ``float64`` = ``double``, ``float32`` =
``float``, ``boolean`` = ``bool``, ``date`` = ``date32[day]``), and the bare
family names ``timestamp`` and ``decimal`` accept any unit, time zone,
precision or scale. ``timestamp[us]`` means microseconds without a time zone;
``timestamp[us, tz=UTC]`` also fixes the zone.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from partita.datatypes import canonical_type

__all__ = ["SchemaDiff", "compare_schema", "normalize_type_name"]

_ALIASES = {
    "str": "string",
    "utf8": "string",
    "large_utf8": "string",
    "large_string": "string",
    "string_view": "string",
    "large_binary": "binary",
    "binary_view": "binary",
    "float64": "double",
    "float32": "float",
    "float16": "halffloat",
    "boolean": "bool",
    "date": "date32[day]",
    "date32": "date32[day]",
    "date64": "date64[ms]",
}
_FAMILIES = {"timestamp": pa.types.is_timestamp, "decimal": pa.types.is_decimal}

SchemaDiff = tuple[list[str], list[dict[str, str]]]
"""Missing column names, and ``{"column", "expected", "actual"}`` for each mismatch."""


def normalize_type_name(name: str) -> str:
    """An expected type name in the form :func:`partita.datatypes.canonical_type` gives."""
    compact = name.strip().lower()
    compact = compact.replace(", ", ",").replace(",", ", ")  # "timestamp[us,tz=UTC]"
    if "tz=" in compact:  # keep the zone's case (Europe/Berlin)
        head, _, zone = name.strip().partition("tz=")
        compact = head.strip().lower().replace(", ", ",").replace(",", ", ") + "tz=" + zone
    return _ALIASES.get(compact, compact)


def _matches(expected: str, actual: pa.DataType) -> bool:
    family = _FAMILIES.get(expected)
    if family is not None:
        return bool(family(actual))
    return expected == canonical_type(actual)


def compare_schema(expected: Iterable[tuple[str, str]], schema: pa.Schema) -> SchemaDiff:
    """Which expected columns are missing, and which have another type."""
    missing: list[str] = []
    mismatched: list[dict[str, str]] = []
    for column, type_name in expected:
        if column not in schema.names:
            missing.append(column)
            continue
        actual = schema.field(column).type
        if not _matches(normalize_type_name(type_name), actual):
            mismatched.append(
                {"column": column, "expected": type_name, "actual": canonical_type(actual)}
            )
    return missing, mismatched
