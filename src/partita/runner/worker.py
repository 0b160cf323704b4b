"""Running one task: context, inputs, the user's function, staging, audit.

A :class:`WorkerRuntime` is built once per worker (process or thread) from the
project's graph and stores; :meth:`WorkerRuntime.run` executes one
:class:`~partita.runner.messages.WorkItem` and always returns a
:class:`~partita.runner.messages.WorkResult` (errors included), never raises
for a failure of the user's code or of a store. Workers neither publish nor
write the catalog: they return what they staged and checked, and the
coordinator's committer (:mod:`partita.runner.commit`) publishes it (fenced
by the run's lease) and records it. A store with the group-commit capability
(:class:`~partita.io.GroupCommitStore`) stages without syncing: the committer
makes a batch of staged writes durable together.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partita.assets import AssetSpec
from partita.checks.evaluate import run_checks
from partita.config_secrets import scrub, secret_values
from partita.context import AssetContext
from partita.definitions import Definitions
from partita.errors import (
    CodeChangedError,
    DefinitionError,
    PartitaError,
    StorageError,
    UserCodeError,
)
from partita.graph import AssetGraph
from partita.io import GroupCommitStore, ParquetStore, StagedWrite, Store
from partita.io.arrow import load_as, resolve_type, to_arrow_reader
from partita.keys import AssetKey
from partita.partitions import TimeWindowRange
from partita.records import CheckRecord
from partita.runner.checking import (
    CheckRequest,
    StagedChecks,
    check_record,
    failure_text,
    partition_path,
    published_data,
    related_keys,
    related_reader,
    staged_data,
)
from partita.runner.inputs import missing_input
from partita.runner.messages import Outcome, ReadRequest, WorkItem, WorkResult
from partita.runner.output_cache import OutputCache, in_memory_table
from partita.runner.partition_columns import InputColumns

__all__ = ["WorkerRuntime", "resolve_store"]

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def resolve_store(spec: AssetSpec, definitions: Definitions, default: Store) -> Store:
    """The store of an asset: its own (an instance or a resource name), the project's, or
    ``default``."""
    chosen: object = spec.store
    if isinstance(chosen, str):
        if chosen not in definitions.resources:
            raise DefinitionError(
                f"asset {spec.key}: store={chosen!r} names no resource",
                hint="add it to Definitions(resources={...}) or pass a store instance",
            )
        chosen = definitions.resources[chosen]
    if chosen is None:
        chosen = definitions.store
    if chosen is None:
        return default
    if not isinstance(chosen, Store):
        raise DefinitionError(
            f"asset {spec.key}: a {type(chosen).__qualname__} is not a store",
            hint="other resources reach an asset as context.resources[name]",
        )
    return chosen


@dataclass(frozen=True)
class _Captured:
    logger: logging.Logger
    buffer: io.StringIO


def _capture_logger(name: str) -> _Captured:
    buffer = io.StringIO()
    logger = logging.Logger(name, logging.DEBUG)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    logger.addHandler(handler)
    logger.propagate = False
    return _Captured(logger, buffer)


def _user_traceback(exc: BaseException) -> str:
    tb = exc.__traceback__
    # the first frame is the runner's call into the user's function
    skipped = tb.tb_next if tb is not None and tb.tb_next is not None else tb
    return "".join(traceback.format_exception(type(exc), exc, skipped))


class WorkerRuntime:
    """What a worker keeps between tasks: the graph, the stores, the staged-data checks.

    Args:
        graph: the project's asset graph.
        default_store: the store of assets without one (``ParquetStore(data_path)``).
        staged_checks: run on each staged partition before publishing (``None``: no checks).
        capture_output: also capture ``print`` output (stdout/stderr) into the
            step log; only for workers that run one task at a time.
        outputs: the tables this worker staged, handed to its later tasks that read
            them (:mod:`partita.runner.output_cache`; default: a new cache of
            :data:`~partita.runner.output_cache.OUTPUT_CACHE_BYTES`).
    """

    def __init__(
        self,
        graph: AssetGraph,
        default_store: Store,
        *,
        staged_checks: StagedChecks | None = None,
        capture_output: bool = False,
        outputs: OutputCache | None = None,
    ) -> None:
        self.graph = graph
        self.outputs = OutputCache() if outputs is None else outputs
        self.definitions = graph.definitions
        self.default_store = default_store
        self.staged_checks = staged_checks
        self.capture_output = capture_output
        self._stores: dict[AssetKey, Store] = {}
        self._configs: dict[tuple[str, str], Any] = {}

    @classmethod
    def for_data_path(
        cls, graph: AssetGraph, data_path: str | os.PathLike[str], **options: Any
    ) -> WorkerRuntime:
        """A runtime whose default store is ``ParquetStore(data_path)``."""
        return cls(graph, ParquetStore(data_path), **options)

    def store_of(self, key: AssetKey) -> Store:
        """The store of one asset (cached)."""
        found = self._stores.get(key)
        if found is None:
            found = resolve_store(self.graph.spec(key), self.definitions, self.default_store)
            self._stores[key] = found
        return found

    # -- running --------------------------------------------------------------

    def run(self, item: WorkItem, cancelled: Callable[[], bool] | None = None) -> WorkResult:
        """Run one attempt; ``cancelled()`` true once checked discards the staged output."""
        started = time.perf_counter()
        key = AssetKey(item.asset)
        spec = self.graph.spec(key)
        captured = _capture_logger(f"partita.asset.{item.asset}")
        outcome: Outcome = Outcome.FAILED
        writes: tuple[tuple[str, StagedWrite | None], ...] = ()
        checks: tuple[CheckRecord, ...] = ()
        error: str | None = None
        retryable = True
        try:
            if self.capture_output:
                with (
                    contextlib.redirect_stdout(captured.buffer),
                    contextlib.redirect_stderr(captured.buffer),
                ):
                    outcome, writes, checks, error = self._run(item, spec, captured, cancelled)
            else:
                outcome, writes, checks, error = self._run(item, spec, captured, cancelled)
        except UserCodeError as exc:
            captured.buffer.write(exc.user_traceback)
            first = (str(exc.original).splitlines() or [""])[0]
            error = f"{type(exc.original).__name__}: {first}".rstrip(": ")
        except PartitaError as exc:
            error = str(exc)
            retryable = exc.retryable
            captured.buffer.write(f"error: {error}\n")
        except Exception as exc:  # a bug of a store or of partita: keep it in the log
            error = f"{type(exc).__name__}: {exc}"
            captured.buffer.write("".join(traceback.format_exception(exc)))
        # the asset got its config's secrets in clear: none leaves in a log or an error
        secrets = secret_values(self._configs.get((item.asset, item.config_json or "{}")))
        return WorkResult(
            outcome=outcome,
            staged=writes,
            checks=checks,
            logs=scrub(captured.buffer.getvalue(), secrets),
            error=None if error is None else scrub(error, secrets),
            duration_s=time.perf_counter() - started,
            retryable=retryable,
        )

    def _run(
        self,
        item: WorkItem,
        spec: AssetSpec,
        captured: _Captured,
        cancelled: Callable[[], bool] | None,
    ) -> tuple[
        Outcome, tuple[tuple[str, StagedWrite | None], ...], tuple[CheckRecord, ...], str | None
    ]:
        if item.code_version:
            imported = self.graph.code_version(spec.key)
            if imported != item.code_version:
                raise CodeChangedError(
                    f"the code of {spec.key} changed on disk after this run was planned "
                    f"(planned with code version {item.code_version[:8]}, this worker "
                    f"imported {imported[:8]}): it was not run",
                    hint="run it again: a new run plans with the current code",
                )
        kwargs = self._inputs(spec, item.reads)
        context = self._context(item, spec, captured.logger)
        if spec.context_param is not None:
            kwargs[spec.context_param] = context
        if spec.config_param is not None:
            kwargs[spec.config_param] = context.config
        partition = item.keys[0] if spec.partitions is not None else None
        if spec.fn is None:
            raise DefinitionError(f"asset {spec.key} has no function to run")
        try:
            value = spec.fn(**kwargs)
        except Exception as exc:
            label = None if partition is None else _label(item.keys)
            raise UserCodeError(
                str(spec.key), label, exc, user_traceback=_user_traceback(exc)
            ) from exc
        pieces = self._split(spec, item.keys, value)
        store = self.store_of(spec.key)
        staged: list[tuple[str, StagedWrite | None]] = []
        try:
            for part_key, data in pieces:
                if data is None:
                    staged.append((part_key, None))
                else:
                    staged.append((part_key, self._stage(store, spec, part_key, data)))
            checks: list[CheckRecord] = []
            all_checks = self.graph.checks_of(spec.key)
            if self.staged_checks is not None and all_checks:
                reads = {r.upstream: r.keys for r in item.reads}
                for part_key, one in staged:
                    if one is None:
                        continue
                    data = staged_data(store, one)
                    request = CheckRequest(
                        data=data,
                        spec=spec,
                        checks=all_checks,
                        partition=part_key if spec.partitions is not None else None,
                        context=context,
                        related=related_reader(self.graph, spec.key, self.store_of, reads, data),
                    )
                    found = self.staged_checks(request)
                    checks.extend(replace(c, attempt=item.attempt) for c in found)
            blocking = [c for c in checks if c.blocking]
            if blocking or (cancelled is not None and cancelled()):
                for _, one in staged:
                    if one is not None:
                        store.discard(one)
                staged = []
                if blocking:
                    return Outcome.CHECK_FAILED, (), tuple(checks), failure_text(blocking)
                return Outcome.CANCELLED, (), tuple(checks), "cancelled"
            writes = tuple(staged)
            staged = []
            return Outcome.SUCCEEDED, writes, tuple(checks), None
        finally:
            for _, one in staged:
                if one is not None:
                    with contextlib.suppress(Exception):
                        store.discard(one)

    def _stage(self, store: Store, spec: AssetSpec, key: str, data: object) -> StagedWrite:
        """Stage one partition (without fsync when the coordinator's group commit makes
        it durable); keep the table written for later readers, if in memory."""
        stage = store.stage_unsynced if isinstance(store, GroupCommitStore) else store.stage
        path = partition_path(spec, key)
        table = in_memory_table(data) if self.outputs.serves(store) else None
        if table is None:
            return stage(spec.key, path, data)
        staged = stage(spec.key, path, table[0])
        self.outputs.keep(store, key, staged, table[0], borrowed=table[1])
        return staged

    def check_published(
        self, key: AssetKey, partition: str | None, *, now: datetime, run_id: str = ""
    ) -> tuple[list[CheckRecord], bool]:
        """Run the checks of ``key`` on one published partition (nothing is built).

        ``relationship`` checks read the other asset's partitions that their
        mapping selects at ``now``. Returns the results and whether published
        data was found; without data every check fails with a message saying so.
        """
        spec = self.graph.spec(key)
        checks = self.graph.checks_of(key)
        store = self.store_of(key)
        data = published_data(store, key, partition_path(spec, partition or ""))
        if data is None:
            where = str(key) if partition is None else f"{key} [{partition}]"
            missing = [
                CheckRecord(
                    asset=str(key),
                    partition=partition,
                    check_name=c.name,
                    passed=False,
                    severity=c.severity,
                    message=f"{where} has no published data in {store!r}",
                    kind=c.kind,
                )
                for c in checks
            ]
            return missing, False
        keys = (partition,) if partition is not None else ("",)
        item = WorkItem(run_id=run_id, asset=str(key), keys=keys, attempt=0)
        context = self._context(item, spec, _capture_logger(f"partita.check.{key}").logger)
        reads = related_keys(self.graph, key, partition, now, self._published_keys)
        outcomes = run_checks(
            checks,
            data,
            partition=partition,
            context=context,
            related=related_reader(self.graph, key, self.store_of, reads, data),
        )
        return [check_record(o, str(key), partition=partition) for o in outcomes], True

    def _published_keys(self, key: AssetKey) -> list[str]:
        spec = self.graph.spec(key)
        paths = self.store_of(key).list_partitions(key)
        if spec.partitions is None or not spec.partitions.dimensions:
            return [""] if paths else []
        return [spec.partitions.join(dict(p)) for p in paths]

    def _inputs(self, spec: AssetSpec, reads: Sequence[ReadRequest]) -> dict[str, Any]:
        """The data parameters' values; partition columns a read adds are left out unless
        the parameter's ``In(partition_columns=True)`` asks (then typed)."""
        wanted = {d.param: d.partition_columns for d in spec.deps if d.param is not None}
        kwargs: dict[str, Any] = {}
        for read in reads:
            if read.param is None:
                continue
            if read.no_data:
                where = read.upstream
                if read.no_data != ("",):
                    where = f"{where} [{_label(read.no_data)}]"
                raise PartitaError(
                    f"{where} stores no data (a side effect: its function returned None), "
                    f"so parameter {read.param!r} cannot read it",
                    hint=f"to run after it without reading it, use deps=[{read.upstream!r}]",
                )
            up_key = AssetKey(read.upstream)
            up_spec = self.graph.spec(up_key)
            annotation = spec.annotations.get(read.param)
            columns = InputColumns.plan(
                up_spec,
                read.keys,
                wanted=wanted.get(read.param, False),
                written=read.written_columns,
            )
            if not read.keys:
                kwargs[read.param] = load_as(columns.table(_nothing_read(up_spec)), annotation)
                continue
            paths = [partition_path(up_spec, k) for k in read.keys]
            kind = resolve_type(annotation)
            as_type = pa.Table if columns.changes and kind in ("pandas", "table") else annotation
            store = self.store_of(up_key)
            # what this worker staged, still current, is handed over without a read-back
            value = self.outputs.read(
                store, read.upstream, read.keys, read.versions, paths, as_type, columns.drop
            )
            try:
                if value is None:
                    value = store.read(up_key, paths, as_type=as_type)
            except StorageError as exc:  # data recorded as built is gone: say whose it is
                missing = missing_input(store, up_key, read.keys, paths, read.param)
                if missing is None:
                    raise
                raise missing from exc
            kwargs[read.param] = columns.load(value, kind, annotation)
        return kwargs

    def _context(self, item: WorkItem, spec: AssetSpec, log: logging.Logger) -> AssetContext:
        definition = spec.partitions
        config = None
        if spec.config_model is not None:
            text = item.config_json or "{}"
            cache_key = (item.asset, text)
            config = self._configs.get(cache_key)
            if config is None:
                config = spec.config_model.model_validate_json(text)
                self._configs[cache_key] = config
        if definition is None or not definition.dimensions:
            return AssetContext(
                asset_key=spec.key,
                run_id=item.run_id,
                log=log,
                config=config,
                resources=self.definitions.resources,
            )
        window = None
        if definition.is_time:
            first = definition.time_window(item.keys[0])
            last = definition.time_window(item.keys[-1]) if len(item.keys) > 1 else first
            window = TimeWindowRange(first.start, last.end)
        return AssetContext(
            asset_key=spec.key,
            partition_key=item.keys[0],
            partition_keys=item.keys,
            partition=definition.split(item.keys[0]),
            time_window=window,
            run_id=item.run_id,
            log=log,
            config=config,
            resources=self.definitions.resources,
        )

    @staticmethod
    def _split(spec: AssetSpec, keys: tuple[str, ...], value: object) -> list[tuple[str, object]]:
        if len(keys) == 1:
            return [(keys[0], value)]
        reader = to_arrow_reader(value)
        definition = spec.partitions
        assert definition is not None
        if reader is None:
            return [(k, None) for k in keys]
        table: pa.Table = reader.read_all()
        missing = [d for d in definition.dimensions if d not in table.column_names]
        if missing:
            raise StorageError(
                f"batched asset {spec.key} returned no {', '.join(repr(m) for m in missing)} "
                f"column, so its rows cannot be split into partitions {_label(keys)}",
                hint=f"add a {missing[0]!r} column holding each row's partition key",
            )
        text = {d: pc.cast(table[d], pa.string()) for d in definition.dimensions}
        pieces: list[tuple[str, object]] = []
        covered = 0
        for key in keys:
            mask = None
            for dim, part in definition.split(key).items():
                equal = pc.fill_null(pc.equal(text[dim], part), False)
                mask = equal if mask is None else pc.and_(mask, equal)
            piece = table.filter(mask)
            covered += piece.num_rows
            pieces.append((key, piece))
        if covered != table.num_rows:
            raise StorageError(
                f"batched asset {spec.key} returned {table.num_rows - covered} rows outside "
                f"partitions {_label(keys)}",
                hint="return only rows of the partitions in context.partition_keys",
            )
        return pieces


def _nothing_read(spec: AssetSpec) -> pa.Table:
    """What a parameter receives when its mapping reads no partition of ``spec`` (a window
    clipped at the first period, a StaticMap key without entries): no rows, and only the
    dimension columns a read of stored partitions adds (shaped as for any read)."""
    dimensions = spec.partitions.dimensions if spec.partitions is not None else ()
    return pa.table({name: pa.array([], pa.string()) for name in dimensions})


def _label(keys: Sequence[str]) -> str:
    return keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
