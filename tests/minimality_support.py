"""Random projects and an independent oracle for the minimality property test.

A :class:`Scenario` is a small random asset DAG (partition definitions and
mappings drawn from a fixed menu) plus a sequence of :class:`Step` values, each
a change (data, code, injected failure, healing) followed by a materialize
request (everything, one asset, an asset and its upstream, or a forced rebuild).

:func:`defs_source` renders a scenario as a real ``defs.py``: each root asset
reads a source whose observed data version is a "salt" from ``control.json``;
each asset returns one row whose value is a digest of (its effective code
constant, its partition key, the values it read); every call of an asset
function appends a line to ``executions.log`` and raises when its (asset,
partition) is listed under ``fail`` in ``control.json``.

:class:`Oracle` knows nothing of the planner: it keeps, per (asset, partition),
the value it holds now and what its last successful build read, and says which
partitions must run for a request: missing, failed last time, forced, code
changed, or the values of the inputs it reads differ from those it last read;
never a partition an input of which was never built (blocked), failed in this
run, or was stopped in this run by a failure upstream of it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from hypothesis import strategies as st

#: Partition definitions by name: (Python expression, keys in order).
DEFINITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "days": (
        'DailyPartitions(start="2025-01-01", end="2025-01-06")',
        tuple(f"2025-01-0{d}" for d in range(1, 6)),
    ),
    "days_late": (
        'DailyPartitions(start="2025-01-03", end="2025-01-07")',
        tuple(f"2025-01-0{d}" for d in range(3, 7)),
    ),
    "abc": ('StaticPartitions(["a", "b", "c"])', ("a", "b", "c")),
    "none": ("None", ("",)),
}

Key = tuple[str, str]  # (asset, partition key; "" when unpartitioned)


def digest(effective: int, key: str, reads: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The value an asset writes (the same function is rendered into ``defs.py``)."""
    text = json.dumps([effective, key, [[name, list(values)] for name, values in reads]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _is_time(definition: str) -> bool:
    return definition.startswith("days")


def mapping_choices(down: str, up: str) -> tuple[str, ...]:
    """The mappings the generator may put on an edge ``up -> down``."""
    if up == "none":
        return ("all",)
    if down == "none":
        return ("all", "last")
    if _is_time(down) and _is_time(up):
        return ("identity", "window", "all", "last")
    if down == up:
        return ("identity", "all", "last", "static_map")
    return ("all", "last", "static_map")


@dataclass(frozen=True)
class Edge:
    """One input of an asset: the upstream asset, the mapping kind, a StaticMap table."""

    upstream: str
    mapping: str
    table: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def expression(self) -> str:
        """The ``In(...)`` mapping as Python source."""
        if self.mapping == "identity":
            return "Identity()"
        if self.mapping == "window":
            return "TimeWindow(start_offset=-1)"
        if self.mapping == "all":
            return "AllPartitions()"
        if self.mapping == "last":
            return "LastPartition()"
        return f"StaticMap({dict((d, list(u)) for d, u in self.table)!r})"


@dataclass(frozen=True)
class AssetDraw:
    """One generated asset: its name, partition definition and inputs."""

    name: str
    definition: str
    edges: tuple[Edge, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Its partition keys (``("",)`` when unpartitioned)."""
        return DEFINITIONS[self.definition][1]


@dataclass(frozen=True)
class Step:
    """A change, then a materialize request.

    ``change``: ``("data", root, key | None, salt)`` (the source's data version
    becomes ``salt``: maybe what it was, maybe an older one), ``("code", asset,
    tag, effective)`` (``code_version=`` from both, the output from
    ``effective`` only: a new tag alone is a code change with the same output),
    ``("fail", asset, key)``, ``("heal",)`` or ``("none",)``.
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

    def asset(self, name: str) -> AssetDraw:
        """The asset called ``name``."""
        return next(a for a in self.assets if a.name == name)

    def describe(self) -> str:
        """A readable account of the scenario, for failure messages."""
        lines = ["assets:"]
        for a in self.assets:
            inputs = ", ".join(f"{e.upstream} via {e.expression()}" for e in a.edges)
            lines.append(f"  {a.name} [{a.definition}] <- {inputs or 'source ' + a.name + '_src'}")
        lines.append("steps:")
        lines.extend(
            f"  {i}: change={s.change} request={s.request}" for i, s in enumerate(self.steps)
        )
        return "\n".join(lines)


@st.composite
def scenarios(draw: st.DrawFn, max_assets: int = 8, max_steps: int = 6) -> Scenario:
    """A random DAG of 2..``max_assets`` assets and 1..``max_steps`` steps."""
    count = draw(st.integers(2, max_assets))
    assets: list[AssetDraw] = []
    for i in range(count):
        definition = draw(st.sampled_from(sorted(DEFINITIONS)))
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
                    down_keys = DEFINITIONS[definition][1]
                    table = tuple(
                        (k, tuple(sorted(rng.sample(up.keys, rng.randint(0, 2)))))
                        for k in down_keys
                        if rng.random() < 0.8
                    )
                edges.append(Edge(parent, kind, table))
        assets.append(AssetDraw(f"a{i}", definition, tuple(edges)))
    names = [a.name for a in assets]
    roots = [a.name for a in assets if not a.edges]
    by_name = {a.name: a for a in assets}

    def key_of(name: str) -> str | None:
        keys = by_name[name].keys
        return None if keys == ("",) else draw(st.sampled_from(keys))

    def maybe_key(name: str) -> str | None:
        return key_of(name) if draw(st.booleans()) else None

    steps: list[Step] = []
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(["data", "data", "code", "code", "fail", "heal", "none"]))
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
        else:
            change = (kind,)
        request_kind = draw(st.sampled_from(["all", "all", "all", "only", "upstream", "force"]))
        request: tuple[object, ...]
        if request_kind == "all":
            request = ("all",)
        elif request_kind == "upstream":
            request = ("upstream", draw(st.sampled_from(names)))
        else:
            target = draw(st.sampled_from(names))
            request = (request_kind, target, maybe_key(target))
        steps.append(Step(change, request))
    return Scenario(tuple(assets), tuple(steps))


_HEADER = """
import hashlib
import json
from pathlib import Path

import pandas as pd

from partita.assets import In, asset, source
from partita.definitions import Definitions
from partita.mappings import AllPartitions, Identity, LastPartition, StaticMap, TimeWindow
from partita.partitions import DailyPartitions, StaticPartitions

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
        definition = DEFINITIONS[a.definition][0]
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


def upstream_keys(down: AssetDraw, edge: Edge, up: AssetDraw, key: str) -> tuple[str, ...]:
    """Which partitions of ``up`` partition ``key`` of ``down`` reads (computed by hand)."""
    up_keys = up.keys
    if up.definition == "none":
        return ("",)
    if edge.mapping == "all":
        return up_keys
    if edge.mapping == "last":
        return (up_keys[-1],)
    if edge.mapping == "identity":
        return tuple(k for k in up_keys if k == key)
    if edge.mapping == "window":
        day = date.fromisoformat(key)
        wanted = {str(day - timedelta(days=1)), key}
        return tuple(k for k in up_keys if k in wanted)
    table = dict(edge.table)
    return tuple(k for k in up_keys if k in table.get(key, ()))


@dataclass
class Built:
    """What the last successful build of a partition saw."""

    code_version: str
    reads: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass
class Oracle:
    """An independent model of what must run: values, last builds, failures."""

    scenario: Scenario
    code: dict[str, tuple[int, int]]
    salt: dict[str, int] = field(default_factory=dict)
    fail: set[Key] = field(default_factory=set)
    value: dict[Key, str] = field(default_factory=dict)
    built: dict[Key, Built] = field(default_factory=dict)
    failed_last: set[Key] = field(default_factory=set)

    def control(self) -> dict[str, object]:
        """The content of ``control.json``."""
        return {
            "salt": {k: str(v) for k, v in self.salt.items()},
            "fail": sorted([list(k) for k in self.fail]),
        }

    def code_version(self, name: str) -> str:
        """The asset's current ``code_version=``."""
        tag, effective = self.code[name]
        return f"{name}-t{tag}-e{effective}"

    def apply(self, change: tuple[object, ...]) -> None:
        """Apply a change to the knobs (not to the built state)."""
        kind = change[0]
        if kind == "data":
            root, key = str(change[1]), change[2]
            keys = self.scenario.asset(root).keys if key is None else (str(key),)
            for k in keys:
                self.salt[f"{root}/{k}"] = int(str(change[3]))
        elif kind == "code":
            self.code[str(change[1])] = (int(str(change[2])), int(str(change[3])))
        elif kind == "fail":
            self.fail.add((str(change[1]), str(change[2])))
        elif kind == "heal":
            self.fail.clear()

    def targets(self, request: tuple[object, ...]) -> set[Key]:
        """The (asset, partition) a request covers."""
        kind = request[0]
        if kind == "all":
            return {(a.name, k) for a in self.scenario.assets for k in a.keys}
        name = str(request[1])
        if kind == "upstream":
            chosen = {name}
            for a in reversed(self.scenario.assets):
                if a.name in chosen:
                    chosen.update(e.upstream for e in a.edges)
            return {(a.name, k) for a in self.scenario.assets if a.name in chosen for k in a.keys}
        key = request[2]
        keys = self.scenario.asset(name).keys if key is None else (str(key),)
        return {(name, k) for k in keys}

    def run(self, request: tuple[object, ...]) -> set[Key]:
        """Which partitions the request must execute; updates the model as the run would."""
        targets = self.targets(request)
        forced = request[0] == "force"
        executed: set[Key] = set()
        stopped: set[Key] = set()
        for a in self.scenario.assets:
            for key in a.keys:
                if (a.name, key) not in targets:
                    continue
                if self._reads_stopped(a, key, stopped):
                    # an input failed in this run, or was skipped because of a failure
                    # upstream of it: the runner stops every task that depends on it
                    stopped.add((a.name, key))
                    continue
                reads = self._reads(a, key)
                if reads is None:
                    continue  # blocked: an input was never built
                last = self.built.get((a.name, key))
                needed = (
                    forced
                    or last is None
                    or (a.name, key) in self.failed_last
                    or last.code_version != self.code_version(a.name)
                    or last.reads != reads
                )
                if not needed:
                    continue
                executed.add((a.name, key))
                if (a.name, key) in self.fail:
                    stopped.add((a.name, key))
                    self.failed_last.add((a.name, key))
                    continue
                self.failed_last.discard((a.name, key))
                self.built[(a.name, key)] = Built(self.code_version(a.name), reads)
                values = [(name, [v for _, v in pairs]) for name, pairs in reads]
                self.value[(a.name, key)] = digest(
                    self.code[a.name][1], key, [(n, sorted(vs)) for n, vs in values]
                )
        return executed

    def _reads_stopped(self, a: AssetDraw, key: str, stopped: set[Key]) -> bool:
        return any(
            (edge.upstream, up_key) in stopped
            for edge in a.edges
            for up_key in upstream_keys(a, edge, self.scenario.asset(edge.upstream), key)
        )

    def _reads(
        self, a: AssetDraw, key: str
    ) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...] | None:
        if not a.edges:
            return (("src", (("", str(self.salt.get(f"{a.name}/{key}", 0))),)),)
        reads: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        for edge in a.edges:
            up = self.scenario.asset(edge.upstream)
            pairs: list[tuple[str, str]] = []
            for up_key in upstream_keys(a, edge, up, key):
                found = self.value.get((up.name, up_key))
                if found is None:
                    return None
                pairs.append((up_key, found))
            reads.append((edge.upstream, tuple(pairs)))
        return tuple(reads)


def executions(folder: Path) -> list[Key]:
    """The (asset, partition) calls logged by the asset functions, in order."""
    log = folder / "executions.log"
    if not log.exists():
        return []
    pairs = [json.loads(line) for line in log.read_text().splitlines()]
    return [(str(asset), str(key)) for asset, key in pairs]
