"""Run-time config: parse ``-c [asset.]field=value`` / ``--config FILE``, validate, hash.

An asset takes config through a parameter annotated with a pydantic model. A
config mapping (from ``-c``, a file, or Python) names where each value goes by
its key, never by the value's type:

- ``field``: a field shared by every selected asset whose model has it. A
  value may be a table (a nested model), as in ``-c 'window={"days": 3}'``.
- ``asset.field``: a field of one asset (``-c clean_orders.strict=true``).
- ``asset`` holding a table of fields: the same, as a file writes it
  (``[clean_orders]``), when no selected asset has a field of that name.

::

    # config.toml
    min_amount = 10            # every asset whose model has min_amount
    [clean_orders]             # only clean_orders
    strict = true

Everything is validated before anything runs: a name that fits nothing is an
error with close names. The hash of each asset's validated config is recorded
with its materializations, so a config change makes its partitions
``config_changed``.

Secrets (``SecretStr``, ``SecretBytes``, ``Secret[...]`` fields) reach the asset in
clear (:func:`worker_configs`), but are recorded masked (:func:`recorded_config`)
and hashed masked (:func:`config_hash`): a rotated password does not make data
stale. See :mod:`partita.config_secrets`.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partita.config_secrets import masked, revealed_json, secret_values
from partita.errors import ConfigError, UnknownAssetError
from partita.graph import AssetGraph
from partita.keys import AssetKey

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "ResolvedConfig",
    "config_hash",
    "load_config_file",
    "parse_assignments",
    "recorded_config",
    "resolve_available_config",
    "resolve_config",
    "worker_configs",
]


def _value(name: str, text: str) -> Any:
    """``10`` -> 10, ``true`` -> True, ``{"days": 3}`` -> a dict; other text stays text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if text.startswith(("{", "[")):
            raise ConfigError(
                f"config {name}: {text} is not valid JSON",
                hint=f"quote it for the shell: -c '{name}={{\"days\": 3}}'",
            ) from None
        return text


def parse_assignments(pairs: Sequence[str]) -> dict[str, Any]:
    """``["min_amount=10", "clean_orders.strict=true"]`` ->
    ``{"min_amount": 10, "clean_orders.strict": True}``.

    A name is ``field`` (shared) or ``asset.field`` (one asset); values are JSON
    when they parse as JSON, else text.
    """
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"config {pair!r} is not key=value", hint="e.g. -c min_amount=10")
        asset, dot, field = name.partition(".")
        if dot and (not asset or not field or "." in field):
            raise ConfigError(
                f"config {pair!r}: write field=value or asset.field=value",
                hint="a nested value is JSON: -c 'asset.window={\"days\": 3}'",
            )
        values[name] = _value(name, text.strip())
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
    """A stable hash of a validated config (``""`` when the asset takes none).

    A secret field counts as its mask (pydantic's JSON form), so changing a
    secret's value does not change the hash and makes nothing stale.
    """
    if model is None:
        return ""
    text = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def worker_configs(models: Mapping[str, BaseModel]) -> dict[str, str]:
    """Per asset, its validated config as the JSON a worker validates back, secrets in clear."""
    return {name: revealed_json(model) for name, model in models.items()}


def recorded_config(values: Mapping[str, Any], models: Mapping[str, BaseModel]) -> str:
    """The config values as given, as JSON for the run record, every secret masked.

    A value is masked when its text is the value of a secret field of any of
    the validated ``models`` (wherever the user put it: ``-c``, a file, a table).
    """
    secrets = frozenset().union(*(secret_values(model) for model in models.values()))
    return json.dumps(masked(dict(values), secrets), sort_keys=True, default=str)


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    return names | {f.alias for f in model.model_fields.values() if f.alias}


def _asset_taking_config(graph: AssetGraph, name: str, entry: str) -> AssetKey:
    try:
        key = graph.resolve(name)
    except UnknownAssetError as exc:
        raise UnknownAssetError(
            name,
            exc.suggestions,
            context=f"in config {entry!r}",
            hint="write asset.field=value with an asset from `partita list`",
        ) from None
    if graph.spec(key).config_model is None:
        raise ConfigError(f"config {entry}: {key} takes no config")
    return key


def _known_asset(graph: AssetGraph, name: str) -> bool:
    try:
        graph.resolve(name)
    except UnknownAssetError:
        return False
    return True


def _per_asset_tables(
    graph: AssetGraph, values: Mapping[str, Any], shared_fields: set[str]
) -> tuple[dict[AssetKey, dict[str, Any]], dict[str, Any]]:
    """Split ``values`` into per-asset tables and shared fields, by name only."""
    per_asset: dict[AssetKey, dict[str, Any]] = {}
    shared: dict[str, Any] = {}
    unused: list[str] = []
    for name, value in values.items():
        asset_name, dot, field = name.partition(".")
        if dot:
            key = _asset_taking_config(graph, asset_name, name)
            per_asset.setdefault(key, {})[field] = value
        elif name in shared_fields:
            shared[name] = value
        elif _known_asset(graph, name):
            key = _asset_taking_config(graph, name, name)
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"config for {key} must be a table of its fields, got {value!r}",
                    hint=f"write {name}.FIELD=VALUE",
                )
            per_asset.setdefault(key, {}).update(value)
        else:
            unused.append(name)
    if unused:
        names = [*shared_fields, *(str(k) for k in graph.keys)]
        raise ConfigError(
            f"config {', '.join(unused)} fits no selected asset" + _did_you_mean(unused[0], names),
            hint=f"fields the selected assets take: {', '.join(sorted(shared_fields)) or 'none'};"
            " one asset's field is asset.field=value",
        )
    for key, table in per_asset.items():
        model = graph.spec(key).config_model
        assert model is not None
        fields = _field_names(model)
        for field in table:
            if field not in fields:
                raise ConfigError(
                    f"config {key}.{field}: {key} has no config field {field!r}"
                    + _did_you_mean(field, fields),
                    hint=f"{model.__name__} takes: {', '.join(sorted(fields))}",
                )
    return per_asset, shared


@dataclasses.dataclass(frozen=True)
class ResolvedConfig:
    """The config of each asset that could be validated, and of the others what they lack.

    Attributes:
        models: per asset key string, its validated config.
        missing: per asset key string whose model has a required field that was
            not given, the missing fields (``token``, ``window.days``).
    """

    models: dict[str, BaseModel] = dataclasses.field(default_factory=dict)
    missing: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def raise_missing(self, graph: AssetGraph) -> None:
        """Raise the error of the first asset that lacks a required value, if any.

        Raises:
            ConfigError: ``config of pull (Api): token: Field required``, with its fields.
        """
        for name, fields in self.missing.items():
            model = graph.spec(graph.resolve(name)).config_model
            assert model is not None
            raise ConfigError(
                f"config of {name} ({model.__name__}): {fields[0]}: Field required",
                hint=f"fields: {', '.join(sorted(_field_names(model)))}",
            )


def resolve_available_config(
    graph: AssetGraph, assets: Iterable[AssetKey], values: Mapping[str, Any]
) -> ResolvedConfig:
    """Like :func:`resolve_config`, but an asset whose model lacks only required values
    (fields without a default that ``values`` does not give) is left out of ``models``
    and listed in ``missing``: for read-only questions (``partita status``), which can
    judge such an asset without its config.

    Raises:
        ConfigError: as :func:`resolve_config`, for anything but a missing value.
        UnknownAssetError: ``asset.field`` names no asset.
    """
    chosen = [graph.spec(k) for k in assets]
    models_of = {spec.key: spec.config_model for spec in chosen if spec.config_model is not None}
    shared_fields = {name for model in models_of.values() for name in _field_names(model)}
    per_asset, shared = _per_asset_tables(graph, values, shared_fields)
    found = ResolvedConfig()
    for key, model in models_of.items():
        names = _field_names(model)
        given = {k: v for k, v in shared.items() if k in names}
        given.update(per_asset.get(key, {}))
        from pydantic import ValidationError  # noqa: PLC0415  (a model exists: pydantic is loaded)

        try:
            found.models[str(key)] = model(**given)
        except ValidationError as exc:
            errors = exc.errors()
            if all(e["type"] == "missing" for e in errors):
                found.missing[str(key)] = tuple(".".join(str(p) for p in e["loc"]) for e in errors)
                continue
            first = next(e for e in errors if e["type"] != "missing")
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"config of {key} ({model.__name__}): {where}: {first['msg']}",
                hint=f"fields: {', '.join(sorted(names))}",
            ) from None
    return found


def resolve_config(
    graph: AssetGraph, assets: Iterable[AssetKey], values: Mapping[str, Any]
) -> dict[str, BaseModel]:
    """Validate the config of every asset in ``assets`` that takes one.

    A key of ``values`` is a shared field when a selected asset's model has that
    field, ``asset.field`` for one asset, or an asset's name holding a table of
    its fields (see the module docs). An asset's own values win over shared ones.

    Raises:
        ConfigError: a name fits no selected asset or field (with close names), or a
            model rejects a value or lacks a required one.
        UnknownAssetError: ``asset.field`` names no asset.
    """
    found = resolve_available_config(graph, assets, values)
    found.raise_missing(graph)
    return found.models
