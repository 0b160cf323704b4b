"""A chaos trial's project folder and the ``partita`` processes run in it.

The project: ``raw`` (daily, one row set per day) -> ``clean`` (identity
mapping) -> ``rolling`` (a three-day window of ``clean``), over
:data:`~tests.chaos.pipeline.DAYS` daily partitions, on the default Parquet
store or a :class:`~partita.io.DuckDBStore`. Every ``partita`` process is
started with ``PARTITA_CHAOS_RUN=<marker>`` in its environment, which its
workers inherit, so the processes of one run can be found in ``/proc`` later.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from partita.io import DuckDBStore, ParquetStore, Store
from tests.chaos import pipeline

__all__ = [
    "MARKER_VARIABLE",
    "ChaosProject",
    "Executor",
    "StoreKind",
]

StoreKind = Literal["parquet", "duckdb"]
Executor = Literal["process", "thread", "inprocess"]

MARKER_VARIABLE = "PARTITA_CHAOS_RUN"
"""The environment variable that marks every process of one ``partita`` run."""

_DEFS = """\
import pandas as pd

import chaos_pipeline as pipe
from partita import AssetContext, DailyPartitions, Definitions, In, TimeWindow, asset
{store_import}
DAYS = DailyPartitions(start=pipe.START, end=pipe.END)


@asset(partitions=DAYS)
def raw(context: AssetContext) -> pd.DataFrame:
    day = str(context.partition_key)
    pipe.pause("raw", day)
    return pipe.raw_frame(day, variant={variant})


@asset(partitions=DAYS)
def clean(context: AssetContext, raw: pd.DataFrame) -> pd.DataFrame:
    pipe.pause("clean", str(context.partition_key))
    return pipe.clean_frame(raw)


@asset(partitions=DAYS, ins={{"clean": In(mapping=TimeWindow(start_offset=-2))}})
def rolling(context: AssetContext, clean: pd.DataFrame) -> pd.DataFrame:
    pipe.pause("rolling", str(context.partition_key))
    return pipe.rolling_frame(clean)


defs = Definitions(assets=[raw, clean, rolling]{store_argument})
"""

_PYPROJECT = '[project]\nname = "chaos"\nversion = "0"\n\n[tool.partita]\ndefinitions = "defs.py"\n'


@dataclass(frozen=True)
class ChaosProject:
    """One trial's project folder.

    Attributes:
        folder: the project folder (``defs.py``, ``chaos_pipeline.py``, ``.partita/``).
        store_kind: ``parquet`` (the default store in ``.partita/data``) or
            ``duckdb`` (``warehouse.duckdb`` in the folder).
    """

    folder: Path
    store_kind: StoreKind

    @classmethod
    def create(cls, folder: Path, store_kind: StoreKind, variant: int = 1) -> ChaosProject:
        """Write the project into ``folder`` (created)."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(pipeline.__file__), folder / "chaos_pipeline.py")
        (folder / "pyproject.toml").write_text(_PYPROJECT, encoding="utf-8")
        project = cls(folder=folder, store_kind=store_kind)
        project.write_code(variant)
        return project

    def write_code(self, variant: int) -> None:
        """(Re)write ``defs.py`` so ``raw`` builds ``variant`` (a code change)."""
        duckdb = self.store_kind == "duckdb"
        source = _DEFS.format(
            variant=variant,
            store_import="from partita.io import DuckDBStore\n" if duckdb else "",
            store_argument=', store=DuckDBStore("warehouse.duckdb")' if duckdb else "",
        )
        (self.folder / "defs.py").write_text(textwrap.dedent(source), encoding="utf-8")

    @property
    def catalog_path(self) -> Path:
        """The project's SQLite catalog."""
        return self.folder / ".partita" / "catalog.db"

    @property
    def trace_path(self) -> Path:
        """The steps' ``start``/``end`` log (see :func:`tests.chaos.pipeline.pause`)."""
        return self.folder / "trace.log"

    def store(self) -> Store:
        """The project's store, opened from the test process."""
        if self.store_kind == "duckdb":
            return DuckDBStore(self.folder / "warehouse.duckdb")
        return ParquetStore(self.folder / ".partita" / "data")

    def environment(self, marker: str, step_s: float, long_step: str = "") -> dict[str, str]:
        """The environment of a ``partita`` process of this project."""
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
        env.pop("PARTITA_DEBUG", None)
        env[MARKER_VARIABLE] = marker
        env["CHAOS_STEP_S"] = str(step_s)
        env["CHAOS_LONG_STEP"] = long_step
        return env

    def start(
        self,
        args: list[str],
        *,
        marker: str,
        step_s: float,
        long_step: str = "",
        long_s: float = 10.0,
    ) -> subprocess.Popen[str]:
        """Start ``partita ARGS`` in the folder; its output goes to ``<marker>.out``/``.err``."""
        env = self.environment(marker, step_s, long_step)
        env["CHAOS_LONG_S"] = str(long_s)
        exe = Path(sys.executable).with_name("partita")
        with (
            (self.folder / f"{marker}.out").open("w", encoding="utf-8") as out,
            (self.folder / f"{marker}.err").open("w", encoding="utf-8") as err,
        ):
            return subprocess.Popen(
                [str(exe), *args],
                cwd=self.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                text=True,
            )

    def output(self, marker: str) -> str:
        """What the run marked ``marker`` printed (its last lines)."""
        lines: list[str] = []
        for suffix in ("out", "err"):
            path = self.folder / f"{marker}.{suffix}"
            if path.exists():
                lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-15:])

    def run(self, args: list[str], *, marker: str, timeout: float = 300) -> int:
        """Run ``partita ARGS`` to its end (steps do not sleep); its exit status."""
        process = self.start(args, marker=marker, step_s=0.0)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return -9
