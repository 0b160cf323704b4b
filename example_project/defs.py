"""The example project: four pipelines in one project (issue 20).

Each pipeline is a module of ``pipelines/`` with its own ``defs`` (it loads and runs
alone: ``partita -f pipelines/daily_sales.py plan``); this file puts them together,
so ``partita list``, ``partita plan`` and ``partita ui`` show the whole project.
Everything lives in this folder: the catalog in ``.partita/``, the DuckDB
warehouse, reports, notifications and exports in ``data/``.

1. ``pipelines/daily_sales.py``: the shop's orders API -> warehouse -> a daily report.
2. ``pipelines/marketing_roi.py``: ad spend and attributed sales -> ROI -> a dashboard.
3. ``pipelines/retail.py``: the shops' sales database (date x region) -> daily and
   weekly rollups -> a note to the BI team when a day is loaded.
4. ``pipelines/halting.py``: till and stock exports -> metrics -> a daily store report
   that is not rebuilt when a blocking check fails (the published one stays).
"""

from __future__ import annotations

from pipelines import daily_sales, halting, marketing_roi, retail

from partita import Definitions

defs = Definitions.merge(daily_sales.defs, marketing_roi.defs, retail.defs, halting.defs)
