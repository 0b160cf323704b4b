"""``partita ui``: a local web page of the asset graph, partition health, lineage and runs.

Built on the api only (:mod:`partita.api`), like the CLI beside it: every page
has a JSON endpoint with the shapes of the matching ``--json`` output
(:mod:`partita.web.views`). Starlette serves it on uvicorn, with Jinja2
templates and the page's own small CSS and JavaScript (nothing is fetched from
the internet). See docs/ui.md.
"""

from __future__ import annotations

from partita.web.app import UiSettings, create_app
from partita.web.server import serve, url_of

__all__ = ["UiSettings", "create_app", "serve", "url_of"]
