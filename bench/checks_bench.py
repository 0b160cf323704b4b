"""checks: the built-in checks on one large partition vs the same predicates in raw DuckDB.

A 10,000,000-row Parquet partition (200,000 with ``--quick``) with a few
failing rows of every kind is checked by ``partita.checks.builtin_eval.evaluate`` with
``not_null``, ``unique``, ``accepted_values``, ``in_range``, ``expression``
and ``row_count`` (samples of failing rows included), and by one hand-written
DuckDB query computing the same failing counts. Runs are interleaved, at least
3 of each; ``ratio = median(partita) / median(raw)`` (target <= 2.0). Both must
find the same failing counts.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from partita.checks import (
    CheckSpec,
    accepted_values,
    expression,
    in_range,
    not_null,
    row_count,
    unique,
)
from partita.checks.builtin_eval import evaluate

NAME = "checks"
DESCRIPTION = "built-in checks on a 10M-row partition vs the same predicates as one DuckDB query"

STATUSES = ("paid", "refunded", "pending")

RAW = """
SELECT * FROM (
    SELECT
        count(*) AS total,
        count(*) FILTER (WHERE order_id IS NULL) AS not_null_order_id,
        count(*) FILTER (
            WHERE status IS NOT NULL AND status NOT IN ('paid', 'refunded', 'pending')
        ) AS accepted_values_status,
        count(*) FILTER (
            WHERE amount IS NOT NULL AND (amount < 0 OR isnan(amount))
        ) AS in_range_amount,
        count(*) FILTER (WHERE (quantity * 2 <= 1000) IS FALSE) AS expression
    FROM read_parquet('{path}')
) CROSS JOIN (
    SELECT coalesce(sum(n), 0)::BIGINT AS unique_order_id FROM (
        SELECT order_id, count(*) AS n FROM read_parquet('{path}')
        WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1
    )
)
"""


def _partition(rows: int, path: Path) -> None:
    rng = np.random.default_rng(7)
    order_id = np.arange(rows, dtype=np.int64)
    dup = rng.choice(rows, rows // 1000, replace=False)
    order_id[dup] = order_id[(dup + 1) % rows]
    id_mask = np.zeros(rows, dtype=bool)
    id_mask[rng.choice(rows, rows // 2000, replace=False)] = True
    amount = rng.gamma(2.0, 50.0, rows)
    amount[rng.choice(rows, rows // 200, replace=False)] *= -1
    amount[rng.choice(rows, rows // 1000, replace=False)] = np.nan
    amount_mask = np.zeros(rows, dtype=bool)
    amount_mask[rng.choice(rows, rows // 1000, replace=False)] = True
    codes = rng.choice(4, rows, p=[0.6, 0.2, 0.198, 0.002])
    status = pa.DictionaryArray.from_arrays(
        pa.array(codes, pa.int8()), pa.array([*STATUSES, "lost"])
    ).cast(pa.string())
    table = pa.table(
        {
            "order_id": pa.array(order_id, mask=id_mask),
            "amount": pa.array(amount, mask=amount_mask),  # NaN kept: mask marks only nulls
            "status": status,
            "quantity": rng.integers(0, 600, rows),
        }
    )
    pq.write_table(table, path)


def _checks() -> list[CheckSpec]:
    return [
        not_null("order_id"),
        unique("order_id"),
        accepted_values("status", STATUSES),
        in_range("amount", min=0),
        expression("quantity * 2 <= 1000"),
        row_count(min=1),
    ]


def _raw(path: Path) -> dict[str, int]:
    connection = duckdb.connect()
    try:
        literal = str(path).replace("'", "''")
        cursor = connection.execute(RAW.format(path=literal))
        names = [column[0] for column in cursor.description or ()]
        [values] = cursor.fetchall()
        return dict(zip(names, (int(v) for v in values), strict=True))
    finally:
        connection.close()


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Time ``evaluate`` and the raw query, interleaved; check they agree."""
    rows = 200_000 if quick else 10_000_000
    path = workdir / "orders.parquet"
    _partition(rows, path)
    specs = _checks()
    partita_s: list[float] = []
    raw_s: list[float] = []
    counts: dict[str, int] = {}
    raw: dict[str, int] = {}
    for repetition in range(5 if quick else 3):
        order = ("partita", "raw") if repetition % 2 == 0 else ("raw", "partita")
        for which in order:
            started = time.perf_counter()
            if which == "partita":
                outcomes = evaluate(specs, path, partition="2025-01-01")
                partita_s.append(time.perf_counter() - started)
                counts = {o.name: o.failing_rows or 0 for o in outcomes if o.kind != "row_count"}
                counts["total"] = outcomes[0].total_rows or 0
                assert all(not o.passed for o in outcomes[:5]), "every row check has failures"
                assert all(len(o.sample) == 5 for o in outcomes[:5]), "5 samples per failing check"
                assert outcomes[5].passed, "row_count(min=1) passes"
            else:
                raw = _raw(path)
                raw_s.append(time.perf_counter() - started)
    assert counts == raw, f"partita found {counts}, raw DuckDB found {raw}"
    ratio = statistics.median(partita_s) / statistics.median(raw_s)  # target <= 2.0
    return {
        "rows": rows,
        "checks": len(specs),
        "partita_s": partita_s,
        "raw_duckdb_s": raw_s,
        "ratio": round(ratio, 3),
        "failing_rows": sum(v for k, v in counts.items() if k != "total"),
    }
