"""Pickling declared objects by reference to the module global that holds them.

``@asset`` and ``@check`` replace the decorated function's module attribute
with the declaration (an ``AssetSpec``, a ``CheckDefinition``), so pickle
cannot send the function by reference ("not the same object"). Declarations
therefore pickle as "the global ``name`` of module ``m``" when that global is
the declaration itself, and a worker process importing the same module gets
the same declaration; anything else pickles by value as usual.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["global_reference", "load_global"]


def load_global(module: str, qualname: str) -> Any:
    """The object named ``qualname`` in ``module`` (imported if needed)."""
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def global_reference(
    obj: object, fn: Callable[..., Any] | None
) -> tuple[Callable[[str, str], Any], tuple[str, str]] | None:
    """``(load_global, (module, qualname))`` when the module global named like ``fn``
    is ``obj`` itself, else ``None``."""
    if fn is None:
        return None
    module_name = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    module = sys.modules.get(module_name or "")
    if module is None or not qualname or "<locals>" in qualname:
        return None
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return None
    return load_global, (str(module_name), qualname)
