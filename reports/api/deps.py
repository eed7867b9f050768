"""Per-request context of the API: a connection to the current snapshot, what every answer
knows about the warehouse (versions, seasons, freshness), and answering with ETags."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

import duckdb
import polars as pl
from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from passing_score.pipeline.foundation.versions import current_version, scored_versions
from passing_score.pipeline.foundation.warehouse import fetch_one, table_exists
from passing_score.reports.api.cache import CACHE_CONTROL, Encoded, etag_matches, url_key
from passing_score.reports.api.schemas import Freshness
from passing_score.reports.api.snapshot import Unavailable, Warehouse
from passing_score.reports.leaderboard.board import available_seasons

T = TypeVar("T")
MAX_ID = 64  # longer ids cannot exist: 404 without a query


class NotFound(Exception):
    """A well-formed request for something the warehouse does not hold."""


@dataclass
class Ctx:
    """One request's view of the warehouse."""

    con: duckdb.DuckDBPyConnection
    wh: Warehouse
    token: str

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """Cache keyed on the warehouse state as this request sees it."""
        return self.wh.cache.cached((self.token, *key), compute)


def get_ctx(request: Request) -> Iterator[Ctx]:
    """Dependency: a read-only connection for this request, closed after it."""
    wh: Warehouse = request.app.state.warehouse
    g, con = wh.acquire()
    try:
        yield Ctx(con=con, wh=wh, token=g.token)
    finally:
        wh.release(g, con)


CtxDep = Annotated[Ctx, Depends(get_ctx)]


@dataclass(frozen=True)
class Facts:
    """What every answer needs to know about the warehouse (cached per file state)."""

    versions: tuple[str, ...]
    default_version: str
    seasons: tuple[int, ...]
    freshness: Freshness
    tables: frozenset[str]

    @property
    def season_to_date(self) -> bool:
        """Boards through any week and splits can be recomputed (play_predictions, weights)."""
        return {"play_predictions", "score_weights"} <= self.tables


def _freshness(con: duckdb.DuckDBPyConnection, mv: str) -> Freshness:
    f = Freshness()
    if table_exists(con, "ingested_games"):
        row = fetch_one(con, "SELECT max(left(game_id, 7)) FROM ingested_games")
        if row and row[0]:
            with contextlib.suppress(ValueError):
                f.last_season, f.last_week = (int(x) for x in str(row[0]).split("_")[:2])
    if table_exists(con, "ingest_log"):
        row = fetch_one(con, "SELECT max(ingested_at) FROM ingest_log")
        if row and isinstance(row[0], datetime):
            f.last_ingest_at = row[0]
    if table_exists(con, "qb_game_scores"):
        row = fetch_one(con, "SELECT season, week FROM qb_game_scores WHERE model_version = ? "
                             "ORDER BY season DESC, week DESC LIMIT 1", [mv])
        if row:
            f.scored_season, f.scored_week = int(row[0]), int(row[1])
    if f.last_season is None:
        f.last_season, f.last_week = f.scored_season, f.scored_week
    return f


def facts(ctx: Ctx, model_version: str | None = None) -> tuple[Facts, str]:
    """(facts, the model version to answer with); 404 for an unknown model version."""
    def compute() -> Facts:
        ordered = scored_versions(ctx.con)
        if not ordered:
            raise Unavailable("the warehouse holds no Passing Scores yet", 60)
        versions, mv = tuple(sorted(ordered)), current_version(ctx.con)
        tables = frozenset(str(r[0]) for r in ctx.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall())
        return Facts(versions, mv, tuple(available_seasons(ctx.con, mv)),
                     _freshness(ctx.con, mv), tables)
    f = ctx.cached(("facts",), compute)
    if model_version is None:
        return f, f.default_version
    if model_version not in f.versions:
        raise NotFound(f"model version {model_version!r} has no scores "
                       f"(available: {', '.join(f.versions)})")
    return f, model_version


def seasons_for(ctx: Ctx, f: Facts, mv: str) -> tuple[int, ...]:
    """Seasons with scores of a (possibly non-default) model version."""
    if mv == f.default_version:
        return f.seasons
    return ctx.cached(("seasons_of", mv), lambda: tuple(available_seasons(ctx.con, mv)))


def freshness_for(ctx: Ctx, f: Facts, mv: str) -> Freshness:
    """Freshness of a (possibly non-default) model version."""
    if mv == f.default_version:
        return f.freshness
    return ctx.cached(("fresh", mv), lambda: _freshness(ctx.con, mv))


def answer(request: Request, ctx: Ctx, key: tuple[Any, ...], build: Callable[[], BaseModel],
           cache_control: str = CACHE_CONTROL) -> Response:
    """The answer for `key` (built once per warehouse state) with its ETag and Cache-Control;
    304 without a body when If-None-Match names the current ETag."""
    enc = ctx.cached(("answer", *key), lambda: Encoded.of(build()))
    ctx.wh.cache.put(url_key(ctx.token, request.scope), (enc, cache_control))
    headers = {"ETag": enc.etag, "Cache-Control": cache_control}
    inm = request.headers.get("if-none-match")
    if inm and etag_matches(inm, enc.etag):
        return Response(status_code=304, headers=headers)
    return Response(enc.body, media_type="application/json", headers=headers)


def frame_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as dicts: NaN becomes None, -0.0 becomes 0.0."""
    return [{k: ((None if v != v else v + 0.0) if isinstance(v, float) else v)
             for k, v in r.items()} for r in df.to_dicts()]


def require_id(value: str, what: str) -> str:
    if len(value) > MAX_ID or not value.isprintable():
        raise NotFound(f"{what} not found")
    return value
