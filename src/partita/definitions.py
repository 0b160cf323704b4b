"""``Definitions``: everything a project declares, and finding it on disk.

The CLI finds a project's :class:`Definitions` with ``-f path/to/defs.py``,
``-m package.module``, or ``[tool.partita] definitions = "..."`` in the
nearest ``pyproject.toml``. In the module it takes the object named ``defs``,
or the only :class:`Definitions` there. The project home (catalog, default
data folder) is ``.partita/`` beside the definitions unless configured.

A project's own modules are imported under a package named after its folder
(:mod:`partita.project_imports`): projects loaded in one process never share a
``helpers.py``, ``sys.path`` is left alone, and loading a project again
re-imports its modules.
"""

from __future__ import annotations

import difflib
import os
import sys
import tomllib
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from partita.alert_targets import AlertTarget, targets_of
from partita.assets import AssetSpec
from partita.checks import CheckDefinition
from partita.errors import DefinitionError
from partita.executor_config import DaskCluster, checked_executor
from partita.project_imports import import_project_file, import_project_module
from partita.schedules import Schedule
from partita.sensors import AnySensor, Eager, checked_automation
from partita.sources import SourceDecorator

__all__ = ["Definitions", "LoadedProject", "load_origin", "load_project"]

DEFAULT_HOME = ".partita"


@dataclass(frozen=True)
class Definitions:
    """The assets, sources, default store and resources of one project.

    Args:
        assets: the ``@asset`` declarations.
        sources: the ``@source`` declarations (sources may also be listed in ``assets``).
        store: the default store for assets that do not name one (default: a
            ``ParquetStore`` under the project home's ``data/``).
        resources: named objects handed to assets (``context.resources``) and
            stores that assets refer to by name (``@asset(store="warehouse")``).
        home: the project home folder, relative to the definitions file
            (default ``.partita``).
        checks: custom ``@check`` functions, each naming its asset (they may
            also be listed in the asset's own ``checks=``).
        sql: folders of ``.sql`` models (:mod:`partita.sql`), relative to the
            file that makes the Definitions; each file is an asset.
        pools: concurrency pools by name, each with its number of slots
            (``{"shop_api": 2}``); assets join one with ``@asset(pool=...)``.
        on_failure: alert targets told of every failed step of every asset
            (besides the asset's own ``on_failure``).
        on_freshness_violation: alert targets told of every asset whose
            freshness policy is violated, and when it recovers.
        schedules: :class:`~partita.schedules.Schedule` values (``partita daemon``).
        sensors: ``FileSensor``, ``SourceSensor`` and ``@sensor`` functions
            (:mod:`partita.sensors`).
        eager: :class:`~partita.sensors.Eager` selections, built when their inputs change.
        executor: where runs of the project execute unless a run says otherwise
            (``partita materialize --executor``): ``"process"``, ``"thread"``,
            ``"inprocess"``, ``"dask"`` (a local Dask cluster) or a
            :class:`~partita.executor_config.DaskCluster` naming a scheduler.
    """

    assets: tuple[AssetSpec, ...] = ()
    sources: tuple[AssetSpec, ...] = ()
    store: object | None = None
    resources: Mapping[str, Any] = field(default_factory=dict)
    home: str | None = None
    checks: tuple[CheckDefinition, ...] = ()
    sql: tuple[str, ...] = ()
    pools: Mapping[str, int] = field(default_factory=dict)
    on_failure: tuple[AlertTarget, ...] = ()
    on_freshness_violation: tuple[AlertTarget, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    sensors: tuple[AnySensor, ...] = ()
    eager: tuple[Eager, ...] = ()
    executor: str | DaskCluster | None = None

    def __init__(
        self,
        assets: Iterable[AssetSpec] = (),
        sources: Iterable[AssetSpec] = (),
        store: object | None = None,
        resources: Mapping[str, Any] | None = None,
        home: str | None = None,
        checks: Iterable[CheckDefinition] = (),
        sql: Iterable[str | os.PathLike[str]] = (),
        pools: Mapping[str, int] | None = None,
        on_failure: AlertTarget | Iterable[AlertTarget] = (),
        on_freshness_violation: AlertTarget | Iterable[AlertTarget] = (),
        schedules: Iterable[Schedule] = (),
        sensors: Iterable[AnySensor] = (),
        eager: Iterable[Eager] = (),
        executor: str | DaskCluster | None = None,
    ) -> None:
        all_assets = tuple(assets)
        folders = tuple(str(folder) for folder in sql)
        all_sources = tuple(sources)
        for item in (*all_assets, *all_sources):
            if isinstance(item, SourceDecorator):
                raise DefinitionError(
                    f"Definitions got {item!r}",
                    hint="a source without an observe function takes its key positionally: "
                    "source('landing/orders', ...); with key= it decorates a function",
                )
            if not isinstance(item, AssetSpec):
                raise DefinitionError(
                    f"Definitions takes @asset / @source declarations, got {item!r}",
                    hint="decorate the function with @asset(...) before listing it",
                )
        for item in all_sources:
            if not item.is_source:
                raise DefinitionError(f"{item.key} is an asset, listed in sources=")
        object.__setattr__(self, "assets", tuple(a for a in all_assets if not a.is_source))
        object.__setattr__(
            self, "sources", all_sources + tuple(a for a in all_assets if a.is_source)
        )
        object.__setattr__(self, "store", store)
        object.__setattr__(self, "resources", dict(resources or {}))
        object.__setattr__(self, "home", home)
        all_checks = tuple(checks)
        for one in all_checks:
            if not isinstance(one, CheckDefinition):
                raise DefinitionError(
                    f"Definitions(checks=...) takes @check functions, got {one!r}",
                    hint="built-in checks such as not_null('id') go in the asset's checks=",
                )
        object.__setattr__(self, "checks", all_checks)
        object.__setattr__(self, "sql", folders)
        if folders or any(a.sql_model is not None for a in all_assets):
            caller = sys._getframe(1).f_globals.get("__file__")
            _with_sql_models(self, folders, Path(caller).parent if caller else Path.cwd())
        object.__setattr__(self, "pools", _checked_pools(pools or {}, self.assets))
        object.__setattr__(
            self, "on_failure", targets_of(on_failure, "Definitions(on_failure=...)")
        )
        object.__setattr__(
            self,
            "on_freshness_violation",
            targets_of(on_freshness_violation, "Definitions(on_freshness_violation=...)"),
        )
        automation = checked_automation(schedules, sensors, eager)
        object.__setattr__(self, "schedules", automation[0])
        object.__setattr__(self, "sensors", automation[1])
        object.__setattr__(self, "eager", automation[2])
        object.__setattr__(
            self, "executor", checked_executor(executor, "Definitions(executor=...)")
        )

    @property
    def all_specs(self) -> tuple[AssetSpec, ...]:
        """Sources first, then assets, as declared."""
        return self.sources + self.assets

    @classmethod
    def merge(cls, *parts: Definitions) -> Definitions:
        """One project made of several ``Definitions``: a pipeline per module.

        Assets, sources, checks, schedules, sensors, eager selections and alert
        targets are put together in order (a declaration listed by two parts
        counts once); resources and pools are united, and a name given two
        different values is an error. ``store``, ``home`` and ``executor`` are
        taken from the parts that set them and must agree. Project-wide alert
        targets (``on_failure``, ``on_freshness_violation``) then apply to every
        asset of the merged project: a target meant for one pipeline only goes on
        its assets (``@asset(on_failure=...)``). The graph is validated as one
        (``AssetGraph``): two parts declaring the same asset key is an error.

        >>> Definitions.merge(sales.defs, marketing.defs)  # doctest: +SKIP
        """
        for part in parts:
            if not isinstance(part, Definitions):
                raise DefinitionError(f"Definitions.merge takes Definitions, got {part!r}")
        merged = cls(
            assets=_once(s for part in parts for s in part.assets),
            sources=_once(s for part in parts for s in part.sources),
            store=_agreed(parts, "store"),
            resources=_united(parts, "resources"),
            home=_agreed(parts, "home"),
            checks=_once(c for part in parts for c in part.checks),
            pools=_united(parts, "pools"),
            on_failure=_once(t for part in parts for t in part.on_failure),
            on_freshness_violation=_once(t for part in parts for t in part.on_freshness_violation),
            schedules=_once(s for part in parts for s in part.schedules),
            sensors=_once(s for part in parts for s in part.sensors),
            eager=_once(e for part in parts for e in part.eager),
            executor=_agreed(parts, "executor"),
        )
        # the parts loaded their SQL folders already (their models are among the assets)
        object.__setattr__(merged, "sql", tuple(f for part in parts for f in part.sql))
        return merged


def _once(items: Iterable[Any]) -> list[Any]:
    """``items`` in order, each object once (by identity)."""
    seen: set[int] = set()
    kept = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            kept.append(item)
    return kept


def _agreed(parts: tuple[Definitions, ...], name: str) -> Any:
    """The one value of ``name`` the parts that set it agree on (``None`` if none does)."""
    values = _once(v for part in parts if (v := getattr(part, name)) is not None)
    if any(not _same(v, values[0]) for v in values[1:]):
        hint = {
            "store": "give stores names: Definitions(resources={'warehouse': DuckDBStore(...)}) "
            "and @asset(store='warehouse')",
        }.get(name, f"set {name}= in one of them only")
        raise DefinitionError(
            f"Definitions.merge: the parts set different {name}s: "
            + ", ".join(repr(v) for v in values),
            hint=hint,
        )
    return values[0] if values else None


def _same(one: object, other: object) -> bool:
    """Whether two settings are the same object or equal values (an object whose ``==``
    does not give a truth value, such as a data frame, is only the same as itself)."""
    if one is other:
        return True
    try:
        return bool(one == other)
    except Exception:
        return False


def _united(parts: tuple[Definitions, ...], name: str) -> dict[str, Any]:
    """The parts' ``resources`` or ``pools`` in one mapping; a name bound twice differently
    is an error."""
    united: dict[str, Any] = {}
    for part in parts:
        for key, value in getattr(part, name).items():
            if key in united and not _same(united[key], value):
                raise DefinitionError(
                    f"Definitions.merge: {name[:-1]} {key!r} is {united[key]!r} in one part "
                    f"and {value!r} in another",
                    hint=f"give the {name[:-1]} one value in every part, or different names",
                )
            united[key] = value
    return united


def _with_sql_models(definitions: Definitions, folders: tuple[str, ...], base: Path) -> None:
    """Add the models of ``folders`` to ``definitions`` and resolve every SQL model."""
    from partita.sql import SqlCache, load_folders, resolve_models  # noqa: PLC0415

    cache = (
        SqlCache.in_home(base / (definitions.home or DEFAULT_HOME)) if folders else SqlCache(None)
    )
    loaded = load_folders([base / folder for folder in folders], cache)
    specs = resolve_models(
        (*definitions.sources, *definitions.assets, *loaded.specs), cache, loaded.parsed
    )
    cache.save()
    object.__setattr__(definitions, "assets", tuple(s for s in specs if not s.is_source))


def _checked_pools(pools: Mapping[str, int], assets: Iterable[AssetSpec]) -> dict[str, int]:
    """``pools`` checked: positive whole sizes, and every asset's pool declared."""
    for name, size in pools.items():
        if not isinstance(name, str) or not name:
            raise DefinitionError(f"Definitions(pools=...): {name!r} is not a pool name")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise DefinitionError(
                f"pool {name!r} has size {size!r}: a pool needs at least one slot",
                hint=f"pools={{{name!r}: 1}} runs its assets one at a time",
            )
    for spec in assets:
        if spec.pool is not None and spec.pool not in pools:
            close = difflib.get_close_matches(spec.pool, sorted(pools), n=3, cutoff=0.6)
            guess = "; did you mean " + " or ".join(map(repr, close)) + "?" if close else ""
            raise DefinitionError(
                f"asset {spec.key}: unknown pool {spec.pool!r}{guess}",
                hint=f"declare it: Definitions(pools={{{spec.pool!r}: 2}}, ...)"
                if not close
                else "pools: " + ", ".join(sorted(pools)),
            )
    return dict(pools)


@dataclass(frozen=True)
class LoadedProject:
    """A project found on disk: its definitions, where they came from, and its home.

    ``origin`` loads the same definitions again, from ``code_root``: a file
    path or a module name, with ``:attribute`` when one was named.
    ``code_root`` is the folder the project's own modules are imported from
    (the definitions file's folder, or the folder holding the ``-m`` package);
    their module names derive from it (see :mod:`partita.project_imports`).
    ``None`` (definitions made in memory): ``root``. ``catalog``: the
    ``[tool.partita] catalog`` setting (a ``postgresql://`` URL, or a SQLite
    file relative to ``root``), ``None`` when not set.
    """

    definitions: Definitions
    root: Path
    home: Path
    origin: str
    code_root: Path | None = None
    catalog: str | None = None


def _find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise DefinitionError(f"{candidate}: invalid TOML: {exc}") from exc
            if "partita" in data.get("tool", {}):
                return candidate
    return None


def _shown(path: str) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else path
    except (OSError, ValueError):
        return path


def _where_in_project(exc: BaseException, folder: Path) -> str | None:
    """``file, line N`` of the place in the project's own code where ``exc`` arose."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{_shown(exc.filename)}, line {exc.lineno}"
    inside = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve().is_relative_to(folder)
    ]
    if not inside:
        return None
    frame = inside[-1]
    return f"{_shown(frame.filename)}, line {frame.lineno}"


def _loading_error(exc: Exception, folder: Path, origin: str) -> DefinitionError:
    """The user-facing error for an exception raised while importing the project's code.

    It names the file and line in the project's code, and the exception; it
    is the user's code that failed, not Partita.
    """
    where = _where_in_project(exc, folder.resolve()) or origin
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError):
        what = f"{type(exc).__name__}: {exc.msg}"
        if exc.text and exc.text.strip():
            what += f" ({exc.text.strip()!r})"
        hint = "fix the syntax at that line"
    elif isinstance(exc, ModuleNotFoundError):
        hint = (
            f"install the module {exc.name!r} in this environment, or fix the import"
            if exc.name
            else "install the missing module, or fix the import"
        )
    elif isinstance(exc, ImportError):
        hint = "check the import: the name may be misspelled or the package too old"
    else:
        hint = "fix the error at that line (rerun with --debug for the whole traceback)"
    return DefinitionError(f"cannot load the project: {where}: {what}", hint=hint)


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise DefinitionError(f"definitions file {path} does not exist")
    try:
        return import_project_file(path)
    except DefinitionError:
        raise
    except Exception as exc:
        raise _loading_error(exc, path.parent, str(path)) from exc


def _import_module(name: str, root: Path) -> ModuleType:
    try:
        return import_project_module(name, root)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise DefinitionError(
                f"cannot import definitions module {name!r}: {exc}",
                hint=f"run from the folder that contains it (searched {root})",
            ) from exc
        raise _loading_error(exc, root, name) from exc
    except DefinitionError:
        raise
    except Exception as exc:
        raise _loading_error(exc, root, name) from exc


def _pick(module: ModuleType, attribute: str | None, origin: str) -> Definitions:
    if attribute:
        value = getattr(module, attribute, None)
        if not isinstance(value, Definitions):
            raise DefinitionError(f"{origin}: {attribute!r} is not a Definitions object")
        return value
    named = getattr(module, "defs", None)
    if isinstance(named, Definitions):
        return named
    found = [v for v in vars(module).values() if isinstance(v, Definitions)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DefinitionError(
            f"{origin} defines no Definitions object",
            hint="add `defs = Definitions(assets=[...])` to it",
        )
    raise DefinitionError(
        f"{origin} defines {len(found)} Definitions objects",
        hint="name the one to use `defs`, or pass module:attribute",
    )


def load_origin(origin: str, cwd: Path) -> LoadedProject:
    """The project a :attr:`LoadedProject.origin` names (a file, or a module, with an
    optional ``:attribute``) loaded again from ``cwd`` (its ``code_root``)."""
    if origin.rsplit(":", 1)[0].endswith(".py"):
        return load_project(file=origin, cwd=cwd)
    return load_project(module=origin, cwd=cwd)


def load_project(
    file: str | Path | None = None,
    module: str | None = None,
    cwd: Path | None = None,
) -> LoadedProject:
    """Find and import a project's definitions.

    Args:
        file: a Python file (``-f``), optionally ``path.py:attribute``.
        module: a module name (``-m``), optionally ``package.module:attribute``.
        cwd: where to start looking for ``pyproject.toml`` (default: the cwd).

    Raises:
        DefinitionError: nothing found, or the module holds no single Definitions.
    """
    start = (cwd or Path.cwd()).resolve()
    configured_home: str | None = None
    configured_catalog: str | None = None
    if file is None and module is None:
        pyproject = _find_pyproject(start)
        if pyproject is None:
            raise DefinitionError(
                f"no Partita project found from {start}",
                hint="pass -f path/to/defs.py or -m package.module, or set "
                '[tool.partita] definitions = "defs.py" in pyproject.toml',
            )
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["partita"]
        target = config.get("definitions")
        if not isinstance(target, str) or not target:
            raise DefinitionError(f"{pyproject}: [tool.partita] needs definitions = '...'")
        configured_home = config.get("home")
        configured_catalog = config.get("catalog")
        if configured_catalog is not None and (
            not isinstance(configured_catalog, str) or not configured_catalog
        ):
            raise DefinitionError(
                f"{pyproject}: [tool.partita] catalog must be a non-empty string",
                hint='a SQLite file such as ".partita/catalog.db", or '
                '"postgresql://user@host:5432/database" (the password in PGPASSWORD or '
                "~/.pgpass, or the whole URL in PARTITA_CATALOG_URL)",
            )
        root = pyproject.parent
        if target.split(":")[0].endswith(".py") or "/" in target:
            file = root / target
        else:
            module = target
    else:
        root = start
    attribute: str | None = None
    if file is not None:
        text = str(file)
        if ":" in Path(text).name:
            text, attribute = text.rsplit(":", 1)
        path = (start / text).resolve() if not Path(text).is_absolute() else Path(text)
        loaded = _import_file(path)
        origin = f"{path}:{attribute}" if attribute else str(path)
        code_root = path.parent
        if configured_home is None:
            root = path.parent
    else:
        assert module is not None
        name, _, attribute_text = module.partition(":")
        attribute = attribute_text or None
        loaded = _import_module(name, root)
        origin = module
        code_root = root
        if configured_home is None and loaded.__file__:
            root = Path(loaded.__file__).resolve().parent
    definitions = _pick(loaded, attribute, origin)
    home_text = definitions.home or configured_home or DEFAULT_HOME
    home = (root / home_text).resolve()
    return LoadedProject(
        definitions=definitions,
        root=root,
        home=home,
        origin=origin,
        code_root=code_root,
        catalog=configured_catalog,
    )
