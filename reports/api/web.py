"""What the API serves besides JSON: the interactive web leaderboard at `/` (plain HTML, a
small vanilla JS module and CSS from reports/web, plotly.js from the plotly package), Swagger
UI at `/docs` from the swagger-ui-py package (no CDN: both work offline), and HEAD on
every GET route (uptime monitors)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
SWAGGER_PREFIX = "/assets/swagger"


@functools.cache
def plotly_js() -> bytes:
    """plotly.js as the plotly Python package ships it (read once)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs()).encode()


def swagger_dir() -> Path | None:
    """The Swagger UI (5.x, OpenAPI 3.1) assets the swagger-ui-py package ships, if installed
    (found without importing the package, which would load its framework adapters)."""
    found = importlib.util.find_spec("swagger_ui")
    if found is None or not found.submodule_search_locations:
        return None
    static = Path(next(iter(found.submodule_search_locations))) / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


class HeadAsGet:
    """ASGI middleware: HEAD is answered as the GET of the same URL, without the body
    (status and headers, Content-Length included, as GET would send them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite HEAD to GET and drop the body on the way out."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def no_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, no_body)


def install_web(app: FastAPI) -> None:
    """Mount the web leaderboard at `/`, its assets under /static and the offline /docs."""

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly() -> Response:
        return Response(plotly_js(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    assets = swagger_dir()
    if assets is not None:
        app.mount(SWAGGER_PREFIX, StaticFiles(directory=assets), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse("<p>Swagger UI needs the swagger-ui-py package (make "
                                "install); the schema is at <a href='/openapi.json'>"
                                "/openapi.json</a>.</p>")
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url), title=f"{app.title} - docs",
            swagger_js_url=f"{SWAGGER_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_PREFIX}/favicon-32x32.png")
