"""Run-time config: parse ``-c key=value`` / ``--config FILE``, validate per asset, hash.

An asset takes config through a parameter annotated with a pydantic model.
Values given on the command line apply to every selected asset whose model
has that field; a file may also give values per asset::

    # config.toml
    min_amount = 10            # every asset whose model has min_amount
    [clean_orders]             # only clean_orders
    strict = true

Everything is validated before anything runs. The hash of each asset's
validated config is recorded with its materializations, so a config change
makes its partitions ``config_changed``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from partita.errors import ConfigError
from partita.graph import AssetGraph
from partita.keys import AssetKey

__all__ = ["config_hash", "load_config_file", "parse_assignments", "resolve_config"]


def _value(text: str) -> Any:
    """``10`` -> 10, ``true`` -> True, ``"x"`` -> "x"; anything else stays text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignments(pairs: Sequence[str]) -> dict[str, Any]:
    """``["min_amount=10", "name=eu"]`` -> ``{"min_amount": 10, "name": "eu"}``."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"config {pair!r} is not key=value", hint="e.g. -c min_amount=10")
        values[name.strip()] = _value(text.strip())
    return values


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a ``.toml`` or ``.json`` config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(f"config file {path}: use a .toml or .json file")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of values")
    return data


def config_hash(model: BaseModel | None) -> str:
    """A stable hash of a validated config (``""`` when the asset takes none)."""
    if model is None:
        return ""
    text = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_config(
    graph: AssetGraph, assets: Iterable[AssetKey], values: Mapping[str, Any]
) -> dict[str, BaseModel]:
    """Validate the config of every asset in ``assets`` that takes one.

    Raises:
        ConfigError: a value fits no selected asset's model, or a model rejects it.
    """
    chosen = [graph.spec(k) for k in assets]
    per_asset = {k: v for k, v in values.items() if isinstance(v, dict)}
    shared = {k: v for k, v in values.items() if not isinstance(v, dict)}
    for name in per_asset:
        key = graph.resolve(name)
        if graph.spec(key).config_model is None:
            raise ConfigError(f"config for {key}: the asset takes no config")
    fields: set[str] = set()
    models: dict[str, BaseModel] = {}
    for spec in chosen:
        model = spec.config_model
        if model is None:
            continue
        names = set(model.model_fields)
        fields |= names
        given = {k: v for k, v in shared.items() if k in names}
        for name, table in per_asset.items():
            if graph.resolve(name) == spec.key:
                given.update(table)
        try:
            models[str(spec.key)] = model(**given)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"config of {spec.key} ({model.__name__}): {where}: {first['msg']}",
                hint=f"fields: {', '.join(sorted(names))}",
            ) from None
    unused = sorted(set(shared) - fields)
    if unused:
        raise ConfigError(
            f"config {', '.join(unused)} fits no selected asset",
            hint=f"fields the selected assets take: {', '.join(sorted(fields)) or 'none'}",
        )
    return models
