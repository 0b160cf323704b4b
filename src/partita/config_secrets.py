"""Secret values in run-time config: handed to the asset in clear, never written out.

A config model's ``SecretStr``, ``SecretBytes`` and ``Secret[...]`` fields hold
secrets. The asset receives their real values; everything Partita writes or
prints (the run's recorded config, step logs, error messages, events, JSON
output) shows :data:`MASK` in their place:

- :func:`revealed_json`: a validated config as JSON with its secrets in clear,
  as sent to a worker, which validates it back into the model the asset gets
  (``model_dump_json()`` would send the mask instead).
- :func:`secret_values`: the text of every secret in a validated config.
- :func:`masked`: a config mapping as the user gave it, with every value that
  holds a secret replaced by :data:`MASK` (what the catalog records).
- :func:`scrub`: a text with every occurrence of a secret replaced by
  :data:`MASK` (step logs and error messages, which user code may fill).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["MASK", "masked", "revealed_json", "scrub", "secret_values"]

MASK = "**********"
"""What a secret looks like wherever Partita writes it (pydantic's own mask)."""


@functools.cache
def _secret_types() -> tuple[type, ...]:
    """pydantic's secret types (imported here: only a process holding a config needs them)."""
    from pydantic import Secret, SecretBytes, SecretStr  # noqa: PLC0415

    return (SecretStr, SecretBytes, Secret)


def _walk(value: Any, on_secret: Any) -> Any:
    """``value`` (dumped in python mode) with each secret replaced by ``on_secret(secret)``."""
    if isinstance(value, _secret_types()):
        return on_secret(value)
    if isinstance(value, Mapping):
        return {key: _walk(item, on_secret) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_walk(item, on_secret) for item in value)
    return value


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def revealed_json(config: BaseModel) -> str:
    """``config`` as JSON with every secret in clear, for the model to validate back."""
    import pydantic_core  # noqa: PLC0415

    dumped = _walk(config.model_dump(mode="python"), lambda s: s.get_secret_value())
    return pydantic_core.to_json(dumped).decode()


def secret_values(config: BaseModel | None) -> frozenset[str]:
    """The text of every non-empty secret inside ``config`` (nested models included)."""
    if config is None:
        return frozenset()
    found: set[str] = set()

    def collect(secret: Any) -> None:
        text = _text(secret.get_secret_value())
        if text:
            found.add(text)

    _walk(config.model_dump(mode="python"), collect)
    return frozenset(found)


def masked(value: Any, secrets: Collection[str]) -> Any:
    """``value`` (nested mappings and lists of plain values) with every leaf whose
    text is a secret replaced by :data:`MASK`."""
    if not secrets:
        return value
    if isinstance(value, Mapping):
        return {key: masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, secrets) for item in value]
    if isinstance(value, str | bytes | int | float) and not isinstance(value, bool):
        return MASK if _text(value) in secrets else value
    return value


def scrub(text: str, secrets: Collection[str]) -> str:
    """``text`` with every occurrence of a secret replaced by :data:`MASK`."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
