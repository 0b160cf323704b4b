"""OpenLineage test support: the official schemas, and loopback receivers.

The schemas are the published OpenLineage JSON schemas kept beside the
repository (``<repo root>/../shared/openlineage-spec``, see its README); a
clone outside that layout uses the unchanged copy kept as a test fixture
(``tests/fixtures/openlineage-spec``, Apache-2.0 with its LICENSE and NOTICE),
so the validation never depends on where the repository was cloned.
:func:`spec_validator` skips, saying why, only when neither is there.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
SPEC_FOLDERS = (
    ROOT.parent / "shared" / "openlineage-spec",
    ROOT / "tests" / "fixtures" / "openlineage-spec",
)
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


class SpecValidator:
    """Validates an event: the core RunEvent, then each facet against its ``_schemaURL``."""

    def __init__(self, folder: Path) -> None:
        resources = []
        for path in sorted(folder.rglob("*.json")):
            contents = json.loads(path.read_text(encoding="utf-8"))
            resource = Resource.from_contents(contents, default_specification=DRAFT202012)
            resources.append((contents["$id"], resource))
        self._registry = Registry().with_resources(resources)
        self._validator = Draft202012Validator
        self._cache: dict[str, Any] = {}

    def _check(self, ref: str, body: object) -> list[str]:
        validator = self._cache.get(ref)
        if validator is None:
            validator = self._validator(
                {"$ref": ref},
                registry=self._registry,
                format_checker=self._validator.FORMAT_CHECKER,
            )
            self._cache[ref] = validator
        return [f"{ref}: {e.json_path}: {e.message}" for e in validator.iter_errors(body)]

    def errors(self, event: dict[str, Any]) -> list[str]:
        """Everything wrong with ``event`` (empty when it validates)."""
        found = self._check(RUN_EVENT, event)
        for where, facet in facets_of(event):
            url = facet.get("_schemaURL")
            if not url:
                found.append(f"{where}: no _schemaURL")
                continue
            found.extend(f"{where}: {e}" for e in self._check(url, facet))
        return found


def facets_of(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every facet body of an event, with where it is (``run.facets.parent``, ...)."""
    for part in ("run", "job"):
        for name, facet in (event.get(part, {}).get("facets") or {}).items():
            yield f"{part}.facets.{name}", facet
    for side in ("inputs", "outputs"):
        for index, dataset in enumerate(event.get(side) or []):
            for kind in ("facets", "inputFacets", "outputFacets"):
                for name, facet in (dataset.get(kind) or {}).items():
                    yield f"{side}[{index}].{kind}.{name}", facet


def spec_validator() -> SpecValidator:
    """A validator of the official schemas, or a skip saying why there is none."""
    for folder in SPEC_FOLDERS:
        if (folder / "2-0-2" / "OpenLineage.json").is_file():
            return SpecValidator(folder)
    pytest.skip(
        "the OpenLineage schemas are in neither "
        + " nor ".join(str(folder) for folder in SPEC_FOLDERS)
        + " (see shared/openlineage-spec/README.md)"
    )


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass
class Receiver:
    """A loopback OpenLineage receiver: ``url``, the events it got, in order, and the
    headers of each request; it answers ``status`` (a lineage server's ``201``)."""

    url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    status: int = 201


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free loopback port on a thread; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 taking events as a lineage server does (``201``)."""
    got = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            with lock:
                got.events.append(json.loads(body))
                got.headers.append(dict(self.headers.items()))
            self.send_response(got.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    with _serving(Handler) as url:
        got.url = url
        yield got


@contextmanager
def closed_port() -> Iterator[str]:
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


@contextmanager
def hanging_receiver() -> Iterator[str]:
    """The URL of a loopback port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # the kernel completes connections; nobody reads or answers
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def http10_receiver() -> Iterator[Receiver]:
    """A receiver answering as ``BaseHTTPRequestHandler`` does by default: HTTP/1.0,
    ``200`` with no ``Content-Length``, the body (``{}``) delimited by closing."""
    got = Receiver(url="", status=200)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                got.events.append(json.loads(body))
                got.headers.append(dict(self.headers.items()))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            return

    with _serving(Handler) as url:
        got.url = url
        yield got


def _read_request(conn: socket.socket, buffer: bytearray) -> bytes | None:
    """The body of the next request on ``conn`` (``None`` once the peer closed)."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    buffer[:] = rest
    while len(buffer) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return body


@contextmanager
def scripted_receiver(answer: bytes, *, close: bool) -> Iterator[Receiver]:
    """A receiver on a raw socket: it writes ``answer`` (bytes as they are, possibly a
    broken answer or none) to each request, and closes the connection after it if
    ``close``. ``events`` holds every request body it read."""
    got = Receiver(url="")
    lock = threading.Lock()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    got.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    open_conns: list[socket.socket] = []

    def serve(conn: socket.socket) -> None:
        buffer = bytearray()
        with conn:
            while True:
                try:
                    body = _read_request(conn, buffer)
                except OSError:
                    return
                if body is None:
                    return
                with lock:
                    got.events.append(json.loads(body))
                try:
                    conn.sendall(answer)
                except OSError:
                    return
                if close:
                    return

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            with lock:
                open_conns.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield got
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        listener.close()
        with lock:
            for conn in open_conns:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
