"""The shop's orders API, run locally for the demo: it fails now and then, on purpose.

    python services/orders_api.py serve [--port 0]   # until Ctrl-C or SIGTERM
    python services/orders_api.py correct 2025-01-07  # a late correction of one day

``serve`` listens on 127.0.0.1 (a free port by default) and writes its address to
``data/orders_api/address`` while it runs, which is how the Daily sales pipeline
finds it when ``ORDERS_API_URL`` is not set. Endpoints (JSON):

- ``GET /orders?day=2025-01-07``: the orders of one day (2025-01-01 .. 2025-01-14).
- ``GET /versions?start=2025-01-01&end=2025-01-08``: a version (a content hash)
  per day served in ``[start, end)``; a correction changes the day's version.

Flaky, deterministically: the first request for the orders of every third day
(the 3rd, 6th, 9th ... of the month) answers ``503 Service Unavailable``, so a
full load always shows retries. Corrections are kept in
``data/orders_api/corrections.json`` and read on every request, so ``correct``
works whether or not the server runs. Data are generated from a seed per day:
every run serves the same bytes. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sys
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlparse

DATA = Path(__file__).resolve().parents[1] / "data" / "orders_api"
ADDRESS = DATA / "address"
CORRECTIONS = DATA / "corrections.json"

FIRST_DAY = date(2025, 1, 1)
DAYS = 14
CATEGORIES = ("books", "games", "garden", "kitchen", "toys")
ORDERS_PER_DAY = 120


def served_days() -> list[str]:
    """The days the API has orders for (2025-01-01 .. 2025-01-14)."""
    return [str(FIRST_DAY + timedelta(days=i)) for i in range(DAYS)]


def corrected_days() -> set[str]:
    """The days a late correction was published for."""
    if not CORRECTIONS.exists():
        return set()
    return set(json.loads(CORRECTIONS.read_text(encoding="utf-8")))


def orders(day: str, corrected: bool = False) -> list[dict[str, object]]:
    """The orders of ``day``. A correction refunds the day's three largest paid orders
    (the shop found them to be fraud) and fixes the discount of every tenth order."""
    seed = int(day.replace("-", ""))
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i in range(ORDERS_PER_DAY):
        amount = round(rng.lognormvariate(3.5, 0.6), 2)
        rows.append(
            {
                "order_id": seed * 1000 + i,
                "customer_id": rng.randint(1, 400),
                "category": rng.choice(CATEGORIES),
                "status": rng.choices(("paid", "refunded", "cancelled"), (90, 6, 4))[0],
                "amount": amount,
                "discount": round(amount * rng.choice((0.0, 0.0, 0.0, 0.05, 0.1)), 2),
                "created_at": f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            }
        )
    if corrected:
        paid = sorted(
            (row for row in rows if row["status"] == "paid"),
            key=lambda row: float(str(row["amount"])),
        )
        for row in paid[-3:]:
            row["status"] = "refunded"
        for row in rows[::10]:
            row["discount"] = 0.0
    return rows


def version(day: str, corrected: bool) -> str:
    """The version of one day's data: a hash of what ``/orders`` serves for it."""
    body = json.dumps(orders(day, corrected), sort_keys=True).encode()
    return hashlib.sha256(body).hexdigest()[:16]


class OrdersHandler(BaseHTTPRequestHandler):
    """Answers ``/orders`` and ``/versions``; see the module's docstring."""

    requests_per_day: dict[str, int] = {}  # noqa: RUF012 (shared by the server's threads)
    lock = threading.Lock()

    def do_GET(self) -> None:
        """Serve one request."""
        url = urlparse(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        corrections = corrected_days()
        if url.path == "/versions":
            start, end = query.get("start", ""), query.get("end", "")
            versions = {
                day: version(day, day in corrections)
                for day in served_days()
                if start <= day and (not end or day < end)
            }
            self._answer(200, versions)
        elif url.path == "/orders" and query.get("day") in served_days():
            day = query["day"]
            with self.lock:
                count = self.requests_per_day.get(day, 0) + 1
                self.requests_per_day[day] = count
            if int(day[-2:]) % 3 == 0 and count == 1:
                self._answer(503, {"error": "service unavailable, try again"})
                return
            rows = orders(day, day in corrections)
            self._answer(
                200, {"day": day, "version": version(day, day in corrections), "orders": rows}
            )
        else:
            self._answer(404, {"error": f"no such resource: {self.path}"})

    def _answer(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the demo's output is Partita's."""


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def serve(port: int) -> None:
    """Serve until SIGTERM or Ctrl-C; the address file exists exactly while serving."""
    server = ThreadingHTTPServer(("127.0.0.1", port), OrdersHandler)
    address = f"http://127.0.0.1:{server.server_address[1]}"

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    _write_atomically(ADDRESS, address + "\n")
    print(f"orders API serving at {address}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        ADDRESS.unlink(missing_ok=True)
        server.server_close()


def correct(day: str) -> None:
    """Publish a late correction of ``day``: its orders and version change."""
    if day not in served_days():
        sys.exit(f"error: {day} is not a day the API serves (2025-01-01 .. 2025-01-14)")
    _write_atomically(CORRECTIONS, json.dumps(sorted(corrected_days() | {day})) + "\n")
    print(f"the orders API now serves a corrected {day}")


def main() -> None:
    """``serve`` or ``correct``; see the module's docstring."""
    parser = argparse.ArgumentParser(description="The demo's local orders API.")
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve until stopped")
    serving.add_argument("--port", type=int, default=0, help="0 (the default): a free port")
    correcting = commands.add_parser("correct", help="publish a late correction of one day")
    correcting.add_argument("day")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port)
    else:
        correct(args.day)


if __name__ == "__main__":
    main()
