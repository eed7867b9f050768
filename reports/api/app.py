"""The read-only broadcaster API (FastAPI): leaderboards, QBs, games; docs/api.md.

Answers come from an in-memory snapshot of the warehouse's score tables, taken when the file
changes (the file is attached read-only only while copying, so the weekly job can always take
the write lock); while a writer holds the file the last snapshot keeps answering, and a job's
single transaction means no half-written week is ever visible. Answers carry the model version
and data freshness, an ETag (If-None-Match gives 304) and Cache-Control, and are cached per
snapshot; a repeated URL is answered before routing. Unknown ids give 404, malformed
parameters 422; unexpected errors are logged and answered as JSON 503, never 500.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from passing_score.pipeline.foundation.config import get_settings
from passing_score.pipeline.foundation.errors import InputError, WarehouseError
from passing_score.reports.api.cache import CachedAnswers
from passing_score.reports.api.errors import LastResort, install_error_handlers
from passing_score.reports.api.routes import (
    board_router,
    games_router,
    health_router,
    qbs_router,
    seasons_router,
)
from passing_score.reports.api.snapshot import OPEN_TIMEOUT_S, Warehouse
from passing_score.reports.api.web import HeadAsGet, install_web


def create_app(db_path: Path, open_timeout: float = OPEN_TIMEOUT_S) -> FastAPI:
    """The API over one warehouse file, read-only, a connection per request (docs/api.md)."""
    warehouse = Warehouse(Path(db_path), open_timeout=open_timeout)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        warehouse.close()

    app = FastAPI(
        lifespan=lifespan,
        title="QB Passing Score API",
        version="1",
        description="Read-only NFL quarterback Passing Scores (50-99) with intervals, "
                    "components and freshness. Every answer carries its model version; every "
                    "list answer has its items under `rows` with `total` (and `limit` / "
                    "`offset` when paginated). `week` is the season through week W, "
                    "`game_week` that week's games only. The web leaderboard is at `/`.",
        docs_url=None, redoc_url=None,
    )
    app.state.warehouse = warehouse
    app.add_middleware(CachedAnswers, cache=warehouse.cache, token=warehouse.fresh_token)
    app.add_middleware(LastResort)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(HeadAsGet)
    install_error_handlers(app)
    for router in (health_router, seasons_router, board_router, qbs_router, games_router):
        app.include_router(router)
    install_web(app)

    return app


def app_from_env() -> FastAPI:
    """App over the configured warehouse (PASSING_SCORE_DB): for `uvicorn --factory`."""
    return create_app(get_settings().db)


def serve(host: str = "127.0.0.1", port: int = 8000, db: Path | None = None,
          log_level: str = "info", workers: int = 1) -> None:
    """Run the API with uvicorn until interrupted; a missing warehouse is a one-line error.
    With `workers` > 1, that many processes share the port (uvicorn's supervisor restarts a
    dead one); each takes its own snapshot of the warehouse and keeps its own answer cache."""
    path = Path(db) if db is not None else get_settings().db
    if not path.is_file():
        raise WarehouseError(f"warehouse {path} does not exist: run `passing-score run` first "
                             "or point --db / PASSING_SCORE_DB at one")
    if not 0 < port < 65536:
        raise InputError(f"--port {port} is not a TCP port (1-65535)")
    if not 1 <= workers <= 64:
        raise InputError(f"--workers {workers}: use 1 to 64 processes")
    if workers == 1:
        uvicorn.run(create_app(path), host=host, port=port, log_level=log_level)
        return
    os.environ["PASSING_SCORE_DB"] = str(path.resolve())  # the workers' app_from_env reads it
    uvicorn.run("passing_score.reports.api.app:app_from_env", factory=True, host=host,
                port=port, log_level=log_level, workers=workers)
