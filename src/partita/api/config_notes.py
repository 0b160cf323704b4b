"""What ``status`` and ``freshness`` say about the config they judged with.

Both judge an asset with one config per asset (the declared defaults, or what
``-c`` / ``--config`` / ``config=`` give), as ``partita plan`` does. Two cases
get a one-line note on the asset instead of a silent answer or an error:

- its config model has a required field that was not given: the asset is
  judged without comparing its config (``config not compared: ...``);
- some of its partitions were built with another config (``config_changed``):
  the note shows the config it was judged with and the newest run that built
  it otherwise, with that run's recorded config (secrets masked), so a one-off
  ``materialize -c`` reads as what it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from partita.api.config import config_hash
from partita.api.planning import Planned
from partita.api.project import Project
from partita.keys import AssetKey
from partita.planner import Reason
from partita.records import CatalogReader

__all__ = ["config_notes"]

_SHOWN = 120
"""At most this many characters of a config in a note."""


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _compact(values: object) -> str:
    return _short(json.dumps(values, sort_keys=True, separators=(", ", ": ")))


def _missing_note(asset: str, fields: tuple[str, ...]) -> str:
    have = "has" if len(fields) == 1 else "have"
    top, dot, inner = fields[0].partition(".")
    example = f"-c {asset}.{top}=VALUE"
    if dot:  # a field of a nested model: the model's value is JSON
        shown = f'{{"{inner}": ...}}' if "." not in inner else "JSON"
        example = f"-c '{asset}.{top}={shown}'"
    return (
        f"config not compared: {', '.join(fields)} {have} no default and none was given"
        f" (pass {example} or --config FILE)"
    )


def _newest_other_run(latest: pa.Table, asset: str, judged_hash: str) -> str | None:
    """The run of the newest latest materialization of ``asset`` whose config hash is
    not ``judged_hash``."""
    rows = latest.filter(
        pc.and_(
            pc.equal(latest["asset"], asset),
            pc.fill_null(pc.not_equal(latest["config_hash"], judged_hash), True),
        )
    )
    if rows.num_rows == 0:
        return None
    newest = pc.index(rows["created_at"], pc.max(rows["created_at"]))
    run_id = rows["run_id"][newest.as_py()].as_py()
    return None if run_id is None else str(run_id)


def _changed_note(
    planned: Planned,
    asset: str,
    count: int,
    catalog: CatalogReader | None,
    given: bool,
    now: datetime,
) -> str:
    model = planned.configs.get(asset)
    judged = _compact(model.model_dump(mode="json") if model is not None else {})
    source = "the config given" if given else "the declared defaults"
    what = "1 partition was" if count == 1 else f"{count} partitions were"
    built = ""
    run_id = _newest_other_run(planned.state.latest, asset, config_hash(model))
    run = None if run_id is None or catalog is None else catalog.get_run(run_id, now=now)
    if run is not None:
        if run.config in ("", "{}"):
            recorded = "no config given (the defaults of then)"
        else:
            try:
                recorded = _compact(json.loads(run.config))
            except json.JSONDecodeError:
                recorded = _short(run.config)
        built = f" (the newest by run {run.run_id}: {recorded})"
    return (
        f"judged with {source} {judged}, not the config {what} built with{built};"
        " pass that config with -c/--config to judge with it"
    )


def config_notes(
    project: Project,
    planned: Planned,
    assets: Iterable[AssetKey],
    *,
    given: bool,
    now: datetime | None = None,
) -> dict[AssetKey, str]:
    """Per asset of ``assets`` that needs one, its config note (see the module docs).

    Args:
        project: the project (its catalog is read for the runs named in notes).
        planned: the read-only plan the assets were judged on.
        assets: the judged assets.
        given: whether the judging was given config values (else: the defaults).
        now: the time runs are read at (default: now).
    """
    missing: Mapping[str, tuple[str, ...]] = planned.config_missing
    changed: dict[str, int] = {}
    for step in planned.plan.steps:
        for reason in step.reasons:
            if reason.reason is Reason.CONFIG_CHANGED:
                changed[str(step.asset)] = len(reason.partitions)
    notes: dict[AssetKey, str] = {}
    wanted = [k for k in assets if str(k) in missing or str(k) in changed]
    if not wanted:
        return notes
    moment = now or datetime.now(UTC)
    with project.existing_catalog() as catalog:
        for key in wanted:
            name = str(key)
            if name in missing:
                notes[key] = _missing_note(name, missing[name])
            else:
                notes[key] = _changed_note(planned, name, changed[name], catalog, given, moment)
    return notes
