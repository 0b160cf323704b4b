"""Random projects for the minimality property test.

A :class:`Scenario` is a small random asset DAG (partition definitions and
mappings drawn from a fixed menu) plus a sequence of :class:`Step` values, each
a change (data, code, injected failure, healing, a dynamic partition key added
or deleted) followed by a materialize request (everything, one asset, an asset
and its upstream, or a forced rebuild).

The menu: daily (two ranges), hourly across a day boundary, weekly, static,
dynamic (``DynamicPartitions("files")``), a ``date|region`` multi and
unpartitioned definitions; ``Identity``, ``TimeWindow`` (same period, a
window reaching back one period, across grains), ``AllPartitions``,
``LastPartition``, ``StaticMap`` and ``Dimension`` (over ``date`` or
``region``, with an identity, window or cross-grain inner mapping).

:func:`defs_source` renders a scenario as a real ``defs.py``: each root asset
reads a source whose observed data version is a "salt" from ``control.json``;
each asset returns one row whose value is a digest of (its effective code
constant, its partition key, the values it read); every call of an asset
function appends a line to ``executions.log`` and raises when its (asset,
partition) is listed under ``fail`` in ``control.json``. The oracle that says
what must run lives in :mod:`tests.minimality_oracle`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import strategies as st

HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(weeks=1)


@dataclass(frozen=True)
class Kind:
    """A partition definition of the menu, described without Partita.

    ``period``: the length of a time definition's periods (keys are period
    starts, all UTC); ``fixed``: the keys of a definition that has fixed keys
    (``None``: dynamic, the keys are those added); ``dims``: a multi's
    dimensions as ``(name, kind name in PARTS)``.
    """

    expression: str
    period: timedelta | None = None
    fixed: tuple[str, ...] | None = None
    dims: tuple[tuple[str, str], ...] = ()

    def keys(self, dynamic: Sequence[str]) -> tuple[str, ...]:
        """The keys in order, given the dynamic keys added (and not deleted)."""
        return self.fixed if self.fixed is not None else tuple(sorted(dynamic))


def _days(first: int, last: int) -> tuple[str, ...]:
    return tuple(f"2025-01-{d:02d}" for d in range(first, last + 1))


#: The one-dimensional definitions inside the multi (never drawn on their own).
PARTS: dict[str, Kind] = {
    "multi_date": Kind('DailyPartitions(start="2025-01-01", end="2025-01-04")', DAY, _days(1, 3)),
    "multi_region": Kind('StaticPartitions(["a", "b"])', fixed=("a", "b")),
}

#: Partition definitions by name.
DEFINITIONS: dict[str, Kind] = {
    "days": Kind('DailyPartitions(start="2025-01-01", end="2025-01-06")', DAY, _days(1, 5)),
    "days_late": Kind('DailyPartitions(start="2025-01-03", end="2025-01-07")', DAY, _days(3, 6)),
    "hours": Kind(
        'HourlyPartitions(start="2024-12-31T22:00", end="2025-01-01T03:00")',
        HOUR,
        tuple(f"2024-12-31T{h}:00" for h in (22, 23))
        + tuple(f"2025-01-01T0{h}:00" for h in range(3)),
    ),
    "weeks": Kind(
        'WeeklyPartitions(start="2024-12-30", end="2025-01-13")', WEEK, ("2024-12-30", "2025-01-06")
    ),
    "abc": Kind('StaticPartitions(["a", "b", "c"])', fixed=("a", "b", "c")),
    "files": Kind('DynamicPartitions("files")'),
    "multi": Kind(
        "MultiPartitions({"
        f'"date": {PARTS["multi_date"].expression}, '
        f'"region": {PARTS["multi_region"].expression}'
        "})",
        fixed=tuple(f"{d}|{r}" for d in _days(1, 3) for r in ("a", "b")),
        dims=(("date", "multi_date"), ("region", "multi_region")),
    ),
    "none": Kind("None", fixed=("",)),
}

#: Keys a dynamic definition may hold ("a" and "b" are also keys of "abc").
DYNAMIC_KEYS = ("a", "b", "k1", "k2")
#: The dynamic keys added before the first build.
INITIAL_DYNAMIC_KEYS = ("a", "k1")

Key = tuple[str, str]  # (asset, partition key; "" when unpartitioned)


def period_start(key: str) -> datetime:
    """The start of a time key (``2025-01-01`` or ``2025-01-01T02:00``), naive UTC."""
    return datetime.fromisoformat(key)


def _is_time(kind: Kind) -> bool:
    return kind.period is not None


def _is_one_dim(kind: Kind) -> bool:
    return not kind.dims and kind.fixed != ("",)


def role_of(kind: Kind, name: str) -> Kind | None:
    """The definition playing dimension ``name`` on a side of ``Dimension(name, ...)``."""
    if kind.dims:
        return next((PARTS[part] for dim, part in kind.dims if dim == name), None)
    if not _is_one_dim(kind):
        return None
    if name == "date":
        return kind if _is_time(kind) else None
    return None if _is_time(kind) else kind


def one_dim_choices(down: Kind, up: Kind) -> list[str]:
    """Key-aware mappings between two one-dimensional definitions."""
    if _is_time(down) and _is_time(up):
        return ["window", "identity" if down.period == up.period else "overlap"]
    if not _is_time(down) and not _is_time(up):
        return ["identity", "static_map"]
    return []


def mapping_choices(down: str, up: str) -> tuple[str, ...]:
    """The mappings the generator may put on an edge ``up -> down``."""
    d, u = DEFINITIONS[down], DEFINITIONS[up]
    if up == "none":
        return ("all", "all_existing")
    choices = ["all", "all_existing"] if u.dims else ["all", "all_existing", "last"]
    if down == "none":
        return tuple(choices)
    if _is_one_dim(d) and _is_one_dim(u):
        choices += one_dim_choices(d, u)
    if d.dims and u.dims:
        choices.append("identity")
    if d.dims or u.dims:
        for name in ("date", "region"):
            down_role, up_role = role_of(d, name), role_of(u, name)
            if down_role is not None and up_role is not None:
                inner = [c for c in one_dim_choices(down_role, up_role) if c != "static_map"]
                choices += [f"dim:{name}:{c}" for c in inner]
    return tuple(choices)


_ONE_DIM = {
    "identity": "Identity()",
    "window": "TimeWindow(start_offset=-1)",
    "overlap": "TimeWindow()",
    "all": "AllPartitions()",
    "all_existing": "AllPartitions(allow_missing=True)",
    "last": "LastPartition()",
}


@dataclass(frozen=True)
class Edge:
    """One input of an asset: the upstream asset, the mapping kind, a StaticMap table.

    ``mapping`` is a name of :data:`_ONE_DIM`, ``static_map``, or
    ``dim:<dimension>:<inner one-dimensional mapping>``.
    """

    upstream: str
    mapping: str
    table: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def expression(self) -> str:
        """The ``In(...)`` mapping as Python source."""
        if self.mapping.startswith("dim:"):
            _, name, inner = self.mapping.split(":")
            return f"Dimension({name!r}, {_ONE_DIM[inner]})"
        if self.mapping == "static_map":
            return f"StaticMap({dict((d, list(u)) for d, u in self.table)!r})"
        return _ONE_DIM[self.mapping]


@dataclass(frozen=True)
class AssetDraw:
    """One generated asset: its name, partition definition and inputs."""

    name: str
    definition: str
    edges: tuple[Edge, ...]

    @property
    def kind(self) -> Kind:
        """Its partition definition."""
        return DEFINITIONS[self.definition]

    def keys(self, dynamic: Sequence[str]) -> tuple[str, ...]:
        """Its partition keys (``("",)`` when unpartitioned), given the dynamic keys."""
        return self.kind.keys(dynamic)


@dataclass(frozen=True)
class Step:
    """A change, then a materialize request.

    ``change``: ``("data", root, key | None, salt)`` (the source's data version
    becomes ``salt``: maybe what it was, maybe an older one), ``("code", asset,
    tag, effective)`` (``code_version=`` from both, the output from
    ``effective`` only: a new tag alone is a code change with the same output),
    ``("fail", asset, key)``, ``("add_key", key)`` / ``("delete_key", key)``
    (a key of the dynamic partitions ``files``), ``("heal",)`` or ``("none",)``.
    ``request``: ``("all",)``, ``("only", asset, key | None)``,
    ``("upstream", asset)`` or ``("force", asset, key | None)``.
    """

    change: tuple[object, ...]
    request: tuple[object, ...]


@dataclass(frozen=True)
class Scenario:
    """A random project and the steps applied to it."""

    assets: tuple[AssetDraw, ...]
    steps: tuple[Step, ...]
    first_request: tuple[object, ...] = ("all",)

    def asset(self, name: str) -> AssetDraw:
        """The asset called ``name``."""
        return next(a for a in self.assets if a.name == name)

    @property
    def dynamic(self) -> bool:
        """Whether an asset has dynamic partitions."""
        return any(a.kind.fixed is None for a in self.assets)

    def describe(self) -> str:
        """A readable account of the scenario, for failure messages."""
        lines = ["assets:"]
        for a in self.assets:
            inputs = ", ".join(f"{e.upstream} via {e.expression()}" for e in a.edges)
            lines.append(f"  {a.name} [{a.definition}] <- {inputs or 'source ' + a.name + '_src'}")
        lines.append(f"first request: {self.first_request}")
        lines.append("steps:")
        lines.extend(
            f"  {i}: change={s.change} request={s.request}" for i, s in enumerate(self.steps)
        )
        return "\n".join(lines)


def _static_table(
    rng: random.Random, down: Kind, up: Kind
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    down_keys = down.fixed if down.fixed is not None else DYNAMIC_KEYS
    up_keys = up.fixed if up.fixed is not None else DYNAMIC_KEYS
    return tuple(
        (k, tuple(sorted(rng.sample(up_keys, rng.randint(0, 2)))))
        for k in down_keys
        if rng.random() < 0.8
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
    max_assets: int = 8,
    max_steps: int = 6,
    menu: Sequence[str] | None = None,
    partial_start: bool = False,
) -> Scenario:
    """A random DAG of 2..``max_assets`` assets (definitions from ``menu``, default all)
    and 1..``max_steps`` steps. The first run builds everything, or with
    ``partial_start`` one partition of one root asset that is read, and most
    runs are partial runs of readers (so they meet upstream partitions that were
    never built)."""
    names_menu = sorted(menu or DEFINITIONS)
    count = draw(st.integers(2, max_assets))
    assets: list[AssetDraw] = []
    for i in range(count):
        definition = draw(st.sampled_from(names_menu))
        edges: list[Edge] = []
        if assets:
            parents = draw(
                st.lists(st.sampled_from([a.name for a in assets]), max_size=3, unique=True)
            )
            for parent in sorted(parents):
                up = next(a for a in assets if a.name == parent)
                kind = draw(st.sampled_from(mapping_choices(definition, up.definition)))
                table: tuple[tuple[str, tuple[str, ...]], ...] = ()
                if kind == "static_map":
                    rng = random.Random(draw(st.integers(0, 2**16)))
                    table = _static_table(rng, DEFINITIONS[definition], up.kind)
                edges.append(Edge(parent, kind, table))
        assets.append(AssetDraw(f"a{i}", definition, tuple(edges)))
    names = [a.name for a in assets]
    roots = [a.name for a in assets if not a.edges]
    by_name = {a.name: a for a in assets}
    dynamic = any(a.kind.fixed is None for a in assets)
    current = set(INITIAL_DYNAMIC_KEYS if dynamic else ())

    def key_of(name: str) -> str | None:
        keys = by_name[name].keys(sorted(current))
        return None if keys in (("",), ()) else draw(st.sampled_from(keys))

    def maybe_key(name: str) -> str | None:
        return key_of(name) if draw(st.booleans()) else None

    kinds = ["data", "data", "code", "code", "fail", "heal", "none"]
    if dynamic:
        kinds += ["add_key", "add_key", "delete_key", "delete_key"]
    steps: list[Step] = []
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(kinds))
        change: tuple[object, ...]
        if kind == "data":
            root = draw(st.sampled_from(roots))
            change = ("data", root, maybe_key(root), draw(st.integers(0, 2)))
        elif kind == "code":
            tag, effective = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            change = ("code", draw(st.sampled_from(names)), tag, effective)
        elif kind == "fail":
            target = draw(st.sampled_from(names))
            change = ("fail", target, key_of(target) or "")
        elif kind in ("add_key", "delete_key"):
            key = draw(st.sampled_from(DYNAMIC_KEYS))
            (current.add if kind == "add_key" else current.discard)(key)
            change = (kind, key)
        else:
            change = (kind,)
        request_kinds = ["all", "all", "all", "only", "upstream", "force"]
        if partial_start:  # mostly partial runs, so never-built partitions stay around
            request_kinds = ["all", "only", "only", "only", "upstream", "force"]
        request_kind = draw(st.sampled_from(request_kinds))
        request: tuple[object, ...]
        if request_kind == "all":
            request = ("all",)
        elif request_kind == "upstream":
            request = ("upstream", draw(st.sampled_from(names)))
        else:
            readers = [a.name for a in assets if a.edges]
            # partial runs of readers meet the inputs a partial first run left missing
            target = draw(st.sampled_from(readers if partial_start and readers else names))
            request = (request_kind, target, maybe_key(target))
        steps.append(Step(change, request))
    first: tuple[object, ...] = ("all",)
    if partial_start:
        read_roots = sorted({e.upstream for a in assets for e in a.edges} & set(roots))
        target = draw(st.sampled_from(read_roots or roots))
        first = ("only", target, key_of(target))
    return Scenario(tuple(assets), tuple(steps), first)


_HEADER = """
import hashlib
import json
from pathlib import Path

import pandas as pd

from partita.assets import In, asset
from partita.sources import source
from partita.definitions import Definitions
from partita.mappings import (
    AllPartitions,
    Dimension,
    Identity,
    LastPartition,
    StaticMap,
    TimeWindow,
)
from partita.partitions import (
    DailyPartitions,
    DynamicPartitions,
    HourlyPartitions,
    MultiPartitions,
    StaticPartitions,
    WeeklyPartitions,
)

HERE = Path(__file__).parent
CONTROL = HERE / "control.json"
LOG = HERE / "executions.log"


def _control():
    return json.loads(CONTROL.read_text())


def _digest(effective, key, reads):
    text = json.dumps([effective, key, [[name, list(values)] for name, values in reads]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _salt(name, context):
    return _control()["salt"].get(name + "/" + (context.partition_key or ""), "0")


def _values(frame):
    return sorted(str(v) for v in frame["v"]) if "v" in frame.columns else []


def _build(name, effective, context, reads):
    key = context.partition_key or ""
    with LOG.open("a") as out:
        out.write(json.dumps([name, key]) + "\\n")
    if [name, key] in _control()["fail"]:
        raise RuntimeError(f"injected failure {name}[{key}]")
    return pd.DataFrame({"v": [_digest(effective, key, reads)]})
"""


def defs_source(scenario: Scenario, code: dict[str, tuple[int, int]]) -> str:
    """``defs.py`` for ``scenario``; ``code[asset] = (version tag, effective constant)``."""
    parts = [_HEADER]
    names: list[str] = []
    for a in scenario.assets:
        definition = a.kind.expression
        tag, effective = code[a.name]
        version = f"{a.name}-t{tag}-e{effective}"
        if not a.edges:
            names.append(f"{a.name}_src")
            parts.append(
                f"@source(partitions={definition})\n"
                f"def {a.name}_src(context):\n"
                f'    return _salt("{a.name}", context)\n\n\n'
                f"@asset(partitions={definition}, "
                f'code_version="{version}", deps=["{a.name}_src"])\n'
                f"def {a.name}(context):\n"
                f'    salt = _salt("{a.name}", context)\n'
                f'    return _build("{a.name}", {effective}, context, [["src", [salt]]])\n'
            )
        else:
            ins = ", ".join(f'"{e.upstream}": In(mapping={e.expression()})' for e in a.edges)
            params = ", ".join(f"{e.upstream}: pd.DataFrame" for e in a.edges)
            reads = ", ".join(f'["{e.upstream}", _values({e.upstream})]' for e in a.edges)
            parts.append(
                f'@asset(partitions={definition}, code_version="{version}", ins={{{ins}}})\n'
                f"def {a.name}(context, {params}):\n"
                f'    return _build("{a.name}", {effective}, context, [{reads}])\n'
            )
        names.append(a.name)
        parts.append("\n")
    parts.append(f"defs = Definitions(assets=[{', '.join(names)}])\n")
    return "\n".join(parts)


def executions(folder: Path) -> list[Key]:
    """The (asset, partition) calls logged by the asset functions, in order."""
    log = folder / "executions.log"
    if not log.exists():
        return []
    pairs = [json.loads(line) for line in log.read_text().splitlines()]
    return [(str(asset), str(key)) for asset, key in pairs]
