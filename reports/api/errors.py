"""How the API fails: library errors mapped to 404 / 422 / 503, and anything unexpected to a
logged JSON 503, never a 500."""

from __future__ import annotations

import logging
import uuid

import duckdb
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passing_score.pipeline.foundation.errors import InputError, NotFoundError, WarehouseError
from passing_score.reports.api.deps import NotFound
from passing_score.reports.api.snapshot import RETRY_AFTER_S, Unavailable

log = logging.getLogger("passing_score.api")


def _error(status: int, detail: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map library errors to 404 / 422 / 503 and anything unexpected to a logged JSON 503."""

    @app.exception_handler(NotFound)
    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(InputError)
    async def bad_input(_: Request, exc: InputError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(Unavailable)
    async def unavailable(_: Request, exc: Unavailable) -> JSONResponse:
        return _error(503, exc.detail, exc.retry_after)

    @app.exception_handler(WarehouseError)
    async def warehouse(_: Request, exc: WarehouseError) -> JSONResponse:
        log.warning("warehouse not ready: %s", exc)
        return _error(503, str(exc), 60)

    @app.exception_handler(duckdb.Error)
    async def db_error(request: Request, exc: duckdb.Error) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.error("database error %s on %s: %s", ref, request.url.path, exc)
        return _error(503, f"the warehouse could not answer (ref {ref}), retry shortly",
                      RETRY_AFTER_S)


class LastResort:
    """ASGI middleware: an exception no handler took becomes a logged JSON 503, never a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; answer 503 if it raises before a response started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            ref = uuid.uuid4().hex[:12]
            log.exception("unexpected error %s on %s", ref, scope.get("path"))
            if started:
                raise
            await _error(503, f"unexpected server error (ref {ref}): logged, retry later",
                         RETRY_AFTER_S)(scope, receive, send)
