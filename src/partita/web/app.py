"""The Starlette application of ``partita ui``: pages, their JSON endpoints, actions.

Every page has a JSON twin under ``/api/`` built by the same function of
:mod:`partita.web.views`. Endpoints are plain functions: Starlette runs them on
its thread pool, since the api reads the catalog with blocking calls. The time
spent building and rendering each answer is sent as a ``Server-Timing`` header.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from partita.api import Project, ProjectWatch, reload_project
from partita.errors import CatalogError, PartitaError, UnknownAssetError
from partita.web import views
from partita.web.live import Launcher
from partita.web.security import csrf_ok, is_loopback, new_csrf_token, token_middleware
from partita.web.stream import run_events

_log = logging.getLogger("partita.web")

__all__ = ["UiSettings", "create_app"]

HERE = Path(__file__).resolve().parent
FORM_TYPE = "application/x-www-form-urlencoded"
FORM_LIMIT = 16_384
"""The largest form body accepted, in bytes."""

Build = Callable[[Request], dict[str, Any]]


@dataclass(frozen=True)
class UiSettings:
    """How the page is served.

    Attributes:
        host / port: where it listens.
        token: the access token (required for a non-loopback host).
        allow_runs: offer actions that start runs.
        executor: the executor of runs started here (default: as ``partita materialize``).
    """

    host: str = "127.0.0.1"
    port: int = 3000
    token: str | None = None
    allow_runs: bool = False
    executor: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _clock() -> tuple[float, float]:
    """Wall time and this thread's CPU time, to time one answer."""
    return time.perf_counter(), time.thread_time()


def _timed(started: tuple[float, float], response: Response) -> Response:
    """Add ``Server-Timing: app;dur=WALL_MS, cpu;dur=CPU_MS`` (CPU: of the thread that
    built the answer, which a busy machine does not inflate)."""
    wall = (time.perf_counter() - started[0]) * 1000
    cpu = (time.thread_time() - started[1]) * 1000
    response.headers["Server-Timing"] = f"app;dur={wall:.1f}, cpu;dur={cpu:.1f}"
    return response


def _error_status(exc: PartitaError) -> int:
    return 404 if isinstance(exc, UnknownAssetError | CatalogError) else 400


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise PartitaError(f"the address needs {name}=...", hint=f"add ?{name}=... to it")
    return value


def _range(request: Request) -> tuple[str | None, tuple[str, str] | None]:
    """``partition`` or ``from``/``to`` of a query, as the api takes them."""
    params = request.query_params
    partition = params.get("partition") or None
    start, end = params.get("from") or None, params.get("to") or None
    if partition is not None and (start is not None or end is not None):
        raise PartitaError("give a partition or a range, not both")
    if start is None or end is None:
        if start is not None or end is not None:
            raise PartitaError("from and to go together", hint="give both, or neither")
        return partition, None
    return partition, (start, end)


class _Site:
    """The endpoints of one served project (loaded again when its files change)."""

    def __init__(self, project: Project, settings: UiSettings) -> None:
        self._project = project
        self._watch = ProjectWatch.of(project)
        self._reloading = threading.Lock()
        self.settings = settings
        self.csrf = new_csrf_token()
        self.launcher = Launcher(project, settings.executor)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(
            allow_runs=settings.allow_runs,
            csrf_token=self.csrf,
            project_name=project.loaded.origin,
        )

    @property
    def project(self) -> Project:
        """The served project, as its files are now: a request after an edit loads it
        again (a project that no longer loads is logged once; the page goes on with
        the definitions it has), so the page judges and starts runs with the code
        that runs."""
        with self._reloading:
            watch = self._watch
            changed = [] if watch is None else watch.changed()
            if watch is None or not changed:
                return self._project
            self._watch = watch.refreshed()
            try:
                project = reload_project(self._project)
            except Exception as exc:  # a half-saved file: keep serving what loaded
                names = ", ".join(path.name for path in changed)
                _log.warning("%s changed but the project does not load: %s", names, exc)
                return self._project
            self._project = self.launcher.project = project
            self._watch = ProjectWatch.of(project)
            return project

    # -- wrappers: a builder as a page or as a JSON endpoint -----------------

    def _problem(self, request: Request, message: str, hint: str | None, status: int) -> Response:
        return self.templates.TemplateResponse(
            request, "error.html", {"message": message, "hint": hint}, status_code=status
        )

    def page(
        self, name: str, build: Build, extra: Callable[[dict[str, Any]], dict[str, Any]] | None
    ) -> Callable[[Request], Response]:
        """An HTML page of ``build``'s data (``extra`` adds what only the page needs)."""

        def endpoint(request: Request) -> Response:
            started = _clock()
            try:
                data = build(request)
            except PartitaError as exc:
                failed = self._problem(request, exc.message, exc.hint, _error_status(exc))
                return _timed(started, failed)
            context = {"data": data, "page": None if extra is None else extra(data)}
            return _timed(started, self.templates.TemplateResponse(request, name, context))

        return endpoint

    @staticmethod
    def api(build: Build) -> Callable[[Request], Response]:
        """A JSON endpoint of ``build``'s data; errors are ``{"error", "hint"}``."""

        def endpoint(request: Request) -> Response:
            started = _clock()
            try:
                body = json.dumps(build(request), default=str)
            except PartitaError as exc:
                answer = {"error": exc.message, "hint": exc.hint}
                return _timed(started, JSONResponse(answer, status_code=_error_status(exc)))
            return _timed(started, Response(body, media_type="application/json"))

        return endpoint

    # -- the data of each page ---------------------------------------------

    def graph(self, request: Request) -> dict[str, Any]:
        selection = request.query_params.get("selection") or None
        return views.graph_json(self.project, selection)

    def asset(self, request: Request) -> dict[str, Any]:
        key = _required(request, "key")
        data = views.asset_json(self.project, key, _now())
        why = request.query_params.get("explain")
        if why is not None:
            data["explain"] = views.explain_json(self.project, key, why)
        return data

    def explain(self, request: Request) -> dict[str, Any]:
        partition = request.query_params.get("partition") or ""
        return views.explain_json(self.project, _required(request, "asset"), partition)

    def partition(self, request: Request) -> dict[str, Any]:
        key = request.query_params.get("partition")
        return views.partition_json(self.project, _required(request, "asset"), key)

    def runs(self, request: Request) -> dict[str, Any]:
        return views.runs_json(self.project, _now())

    def run(self, request: Request) -> dict[str, Any]:
        return views.run_json(self.project, request.path_params["run_id"], _now())

    def plan(self, request: Request) -> dict[str, Any]:
        chosen, span = _range(request)
        selection = request.query_params.get("selection") or None
        return {
            "selection": selection,
            "partition": chosen,
            "range": None if span is None else list(span),
            "plan": views.plan_json(self.project, selection, chosen, span),
        }

    def confirm(self, request: Request) -> dict[str, Any]:
        if not self.settings.allow_runs:
            raise PartitaError(
                "this page does not start runs", hint="serve it with `partita ui --allow-runs`"
            )
        return self.plan(request)

    # -- actions and streams -----------------------------------------------

    async def start_run(self, request: Request) -> Response:
        """POST of the confirmation form: start the run, then show its live page."""
        if not self.settings.allow_runs:
            return PlainTextResponse(
                "runs are off: serve the page with `partita ui --allow-runs`", status_code=403
            )
        if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
            return PlainTextResponse(f"send the form as {FORM_TYPE}", status_code=415)
        body = await request.body()
        if len(body) > FORM_LIMIT:
            return PlainTextResponse("form too large", status_code=413)
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=16)

        def text(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values and values[0] else None

        if not csrf_ok(request, text("csrf"), self.csrf):
            return PlainTextResponse("missing or wrong CSRF token", status_code=403)
        start, end = text("from"), text("to")
        span = (start, end) if start is not None and end is not None else None
        try:
            launched = await anyio.to_thread.run_sync(
                lambda: self.launcher.start(text("selection"), text("partition"), span)
            )
        except PartitaError as exc:
            return self._problem(request, exc.message, exc.hint, 400)
        if launched.run_id is None:
            return self._problem(request, launched.message, None, 200)
        return RedirectResponse(f"/runs/{launched.run_id}", status_code=303)

    async def events(self, request: Request) -> Response:
        """The live run page's server-sent events (see :mod:`partita.web.stream`)."""
        run_id = request.path_params["run_id"]

        def read() -> dict[str, Any]:
            return views.run_json(self.project, run_id, _now())

        try:
            first = await anyio.to_thread.run_sync(read)
        except PartitaError as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=404)
        return StreamingResponse(
            run_events(first, read, self.launcher.feed(run_id)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def routes(self) -> list[Route | Mount]:
        """Every page, its JSON twin, the action and the static files."""
        return [
            Route("/", self.page("graph.html", self.graph, views.graph_page)),
            Route("/asset", self.page("asset.html", self.asset, None)),
            Route("/partition", self.page("partition.html", self.partition, views.partition_page)),
            Route("/runs", self.page("runs.html", self.runs, None)),
            Route("/runs/{run_id}", self.page("run.html", self.run, None)),
            Route("/actions/materialize", self.page("confirm.html", self.confirm, None)),
            Route("/actions/materialize", self.start_run, methods=["POST"]),
            Route("/api/graph", self.api(self.graph)),
            Route("/api/asset", self.api(self.asset)),
            Route("/api/explain", self.api(self.explain)),
            Route("/api/partition", self.api(self.partition)),
            Route("/api/runs", self.api(self.runs)),
            Route("/api/runs/{run_id}", self.api(self.run)),
            Route("/api/runs/{run_id}/events", self.events),
            Route("/api/plan", self.api(self.plan)),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        ]


def create_app(project: Project, settings: UiSettings | None = None) -> Starlette:
    """The web application serving ``project`` (see :class:`UiSettings`)."""
    settings = settings or UiSettings()
    site = _Site(project, settings)
    guard = token_middleware(settings.token, is_loopback(settings.host))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(site.launcher.stop)

    return Starlette(
        routes=site.routes(),
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)],
        lifespan=lifespan,
    )
