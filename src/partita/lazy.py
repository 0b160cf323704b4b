"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists ``name -> module`` pairs; a name is imported the first time it
is used, so importing the package stays cheap (``import partita`` must not
load pandas or pyarrow.dataset; ``partita plan`` must not load the runner).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_module"]


def lazy_module(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` re-exporting ``exports`` lazily.

    Each resolved name is stored in ``namespace`` (the package's globals), so it
    is looked up once.
    """

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*exports, *(k for k in namespace if not k.startswith("_"))})

    return getattr_, dir_
