"""The API's routes, one router per resource (docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from passing_score.features.splits import SPLITS
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.scalars import as_int
from passing_score.pipeline.foundation.vocabulary import MAX_WEEK, SEASON_TYPES
from passing_score.pipeline.foundation.warehouse import query_pl
from passing_score.pipeline.ingest.players import with_full_names
from passing_score.reports.api.deps import (
    CtxDep,
    NotFound,
    answer,
    facts,
    frame_rows,
    freshness_for,
    require_id,
    seasons_for,
)
from passing_score.reports.api.schemas import (
    ErrorResponse,
    GameRow,
    GameScoresResponse,
    HealthResponse,
    LeaderboardResponse,
    LeaderboardRow,
    QBGamesResponse,
    QBResponse,
    QBSeasonRow,
    SeasonInfo,
    SeasonsResponse,
)
from passing_score.reports.api.snapshot import Unavailable
from passing_score.reports.leaderboard import board as lb

MAX_LIMIT = 500
SCOPE_ORDER = {"REG": 0, "POST": 1, "ALL": 2}


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such season, QB, game or model version"},
    422: {"description": "malformed parameter"},
    503: {"model": ErrorResponse,
          "description": "warehouse busy (a writer holds it: retry after Retry-After seconds) "
                         "or not ready"}}


Season = Annotated[int | None, Query(ge=1920, le=2100, description="season (year it starts); "
                                                                   "default: the newest")]


ModelVersion = Annotated[str | None, Query(max_length=80, description="default: the version "
                                                                     "the weekly job updates")]


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size (max {MAX_LIMIT})")]


Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip (paging)")]


health_router = APIRouter(tags=["health"])


seasons_router = APIRouter(tags=["seasons"])


board_router = APIRouter(tags=["leaderboard"])


qbs_router = APIRouter(prefix="/qbs", tags=["qbs"])


games_router = APIRouter(prefix="/games", tags=["games"])


@health_router.get("/health", response_model=HealthResponse, responses=ERRORS)
def health(request: Request, ctx: CtxDep) -> Response:
    """Liveness: the warehouse opens read-only and holds scores; with its freshness."""
    f, mv = facts(ctx)
    return answer(request, ctx, ("health",), lambda: HealthResponse(
        database=ctx.wh.db.name, model_version=mv, model_versions=list(f.versions),
        season_to_date_boards=f.season_to_date, freshness=f.freshness),
        cache_control="no-store")


@seasons_router.get("/seasons", response_model=SeasonsResponse, responses=ERRORS)
def seasons(request: Request, ctx: CtxDep, model_version: ModelVersion = None) -> Response:
    """Seasons with scores: QBs, qualified QBs, games and weeks per season type."""
    f, mv = facts(ctx, model_version)

    def build() -> SeasonsResponse:
        s = query_pl(ctx.con, "SELECT season, season_type, count(*) AS qbs, "
                              "count(*) FILTER (WHERE qualified) AS qualified "
                              "FROM qb_season_scores WHERE model_version = ? "
                              "GROUP BY ALL ORDER BY ALL", [mv])
        if "qb_game_scores" in f.tables:
            g = query_pl(ctx.con, "SELECT season, season_type, count(DISTINCT game_id) AS games, "
                                  "min(week) AS first_week, max(week) AS last_week "
                                  "FROM qb_game_scores WHERE model_version = ? GROUP BY ALL",
                         [mv])
            allg = g.group_by("season").agg(pl.col("games").sum(), pl.col("first_week").min(),
                                            pl.col("last_week").max()).with_columns(
                pl.lit("ALL").alias("season_type"))
            s = s.join(pl.concat([g, allg.select(g.columns)]), on=["season", "season_type"],
                       how="left")
        rows = sorted((SeasonInfo(**r) for r in frame_rows(s)),
                      key=lambda r: (r.season, SCOPE_ORDER.get(r.season_type, 9)))
        return SeasonsResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                               model_versions=list(f.versions), total=len(rows), rows=rows)

    return answer(request, ctx, ("seasons", mv), build)


SPLIT_HELP = "a football split of a season-to-date board: " + "; ".join(
    f"{sp.name} ({sp.description})" for sp in SPLITS.values())


@board_router.get("/leaderboard", response_model=LeaderboardResponse, responses=ERRORS)
def leaderboard(
    request: Request, ctx: CtxDep, season: Season = None,
    week: Annotated[int | None, Query(ge=1, le=MAX_WEEK, description=(
        "the season through this week (season to date; default: the whole season); the "
        "same meaning as the CLI's --week and Python's week="))] = None,
    game_week: Annotated[int | None, Query(ge=1, le=MAX_WEEK, description=(
        "only that week's games, ranked by game score (rows carry game_id and opponent)"))
        ] = None,
    through_week: Annotated[int | None, Query(ge=1, le=MAX_WEEK, deprecated=True, description=(
        "old name of `week` (the season through this week)"))] = None,
    season_type: Annotated[str, Query(pattern="^(?i:REG|POST|ALL)$", description=(
        "REG (regular season), POST (playoffs) or ALL (both)"),
        json_schema_extra={"enum": list(SEASON_TYPES)})] = "REG",
    split: Annotated[str | None, Query(min_length=1, max_length=40, description=SPLIT_HELP,
                                       json_schema_extra={"enum": list(SPLITS)})] = None,
    min_dropbacks: Annotated[int | None, Query(ge=0, le=10_000, description=(
        "qualify (and rank) QBs with at least this many dropbacks (default: the qualified "
        "threshold, 14 per team game; a split's own threshold)"))] = None,
    team: Annotated[str | None, Query(pattern="^[A-Za-z]{2,4}$", description=(
        "only this team's QBs (ranks stay league ranks), e.g. KC"))] = None,
    sort: Annotated[str | None, Query(max_length=40, pattern=r"^[+\-]?[a-z_]+$", description=(
        "a row column; scores sort high first, names low first; -col / +col force the "
        "order"))] = None,
    model_version: ModelVersion = None, limit: Limit = 50, offset: Offset = 0,
) -> Response:
    """Ranked QBs: the season through a week, one week's games, or a split."""
    if through_week is not None:
        if week is not None and week != through_week:
            raise InputError("give week (the season through a week) only; through_week is "
                             "its old name")
        week = through_week
    f, mv = facts(ctx, model_version)
    have = seasons_for(ctx, f, mv)
    season = season if season is not None else (have[-1] if have else None)
    if season is None or season not in have:
        raise NotFound(f"season={season} has no Passing Scores (available seasons: "
                       f"{', '.join(map(str, have)) or 'none'})")
    st = season_type.upper()
    key = ("board", season, week, game_week, st, min_dropbacks, team, sort, mv, split)

    def build() -> LeaderboardResponse:
        df = ctx.cached(key, lambda: lb.board(
            ctx.con, season, week=week, game_week=game_week, season_type=st,
            min_dropbacks=min_dropbacks, team=team, sort=sort, model_version=mv, split=split,
            surface="api"))
        live = _in_progress(ctx, f, season, mv)
        if live.height and game_week is not None:
            live = live.filter(pl.col("week") == game_week)
        elif live.height and week is not None:
            live = live.filter(pl.col("week") <= week)
        if live.height:  # rows whose season (or game) includes a game in progress
            marks = live.group_by("passer_id").agg(pl.col("last_play_at").max())
            df = df.join(marks.with_columns(pl.lit(False).alias("final")), on="passer_id",
                         how="left").with_columns(pl.col("final").fill_null(True))
        last = df["week"].max() if df.height else None
        return LeaderboardResponse(
            model_version=mv, freshness=freshness_for(ctx, f, mv), season=season,
            season_type=st, week=as_int(last) if last is not None else week,
            game_week=game_week, split=split, min_dropbacks=min_dropbacks, total=df.height,
            limit=limit, offset=offset,
            rows=[LeaderboardRow(**r) for r in frame_rows(df.slice(offset, limit))],
            in_progress=[GameRow(**r) for r in frame_rows(with_full_names(ctx.con, live))])

    return answer(request, ctx, (*key, limit, offset), build)


LIVE_COLUMNS = ("coalesce(s.final, true) AS final, "
                "CASE WHEN NOT coalesce(s.final, true) THEN s.last_play_at END AS last_play_at, "
                "CASE WHEN NOT coalesce(s.final, true) THEN s.last_play END AS last_play")


def _games_sql(f: Any, where: str) -> str:
    """qb_game_scores rows with their game's status (final unless a partial file scored it)."""
    if "game_status" not in f.tables:
        return (f"SELECT g.*, true AS final, NULL AS last_play_at, NULL AS last_play "
                f"FROM qb_game_scores g WHERE {where}")
    return (f"SELECT g.*, {LIVE_COLUMNS} FROM qb_game_scores g "
            f"LEFT JOIN game_status s USING (game_id) WHERE {where}")


def _in_progress(ctx: Any, f: Any, season: int, mv: str) -> pl.DataFrame:
    """The season's games in progress, one row per QB, newest first."""
    if "game_status" not in f.tables or "qb_game_scores" not in f.tables:
        return pl.DataFrame()
    return query_pl(ctx.con, _games_sql(f, "g.season = ? AND g.model_version = ? AND "
                                        "NOT coalesce(s.final, true)")
                    + " ORDER BY g.week DESC, g.game_id, g.passer_id", [season, mv])


def _qb_name(rows: list[dict[str, Any]], key: str = "passer_name") -> str | None:
    names = [r.get(key) for r in rows if r.get(key)]
    return names[-1] if names else None


@qbs_router.get("/{passer_id}", response_model=QBResponse, responses=ERRORS)
def qb_seasons(request: Request, ctx: CtxDep,
               passer_id: Annotated[str, PathParam(description="GSIS id, e.g. 00-0033873")],
               model_version: ModelVersion = None) -> Response:
    """A QB's season scores (REG, POST and ALL of every season)."""
    require_id(passer_id, f"QB {passer_id!r}")
    f, mv = facts(ctx, model_version)

    def build() -> QBResponse:
        df = query_pl(ctx.con, "SELECT * FROM qb_season_scores WHERE passer_id = ? AND "
                               "model_version = ?", [passer_id, mv])
        if df.height == 0:
            raise NotFound(f"QB {passer_id!r} has no scores")
        rows = sorted(frame_rows(with_full_names(ctx.con, df)),
                      key=lambda r: (r["season"], SCOPE_ORDER.get(r["season_type"], 9)))
        return QBResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                          passer_id=passer_id, passer_name=_qb_name(rows),
                          passer_full_name=_qb_name(rows, "passer_full_name"), total=len(rows),
                          rows=[QBSeasonRow(**r) for r in rows])

    return answer(request, ctx, ("qb", passer_id, mv), build)


@qbs_router.get("/{passer_id}/games", response_model=QBGamesResponse, responses=ERRORS)
def qb_games(request: Request, ctx: CtxDep, passer_id: Annotated[str, PathParam(
        description="GSIS id, e.g. 00-0033873")], season: Annotated[
        int | None, Query(ge=1920, le=2100, description="one season (default: all)")] = None,
             model_version: ModelVersion = None, limit: Limit = 50,
             offset: Offset = 0) -> Response:
    """A QB's game scores, oldest first (one season or all), paginated."""
    require_id(passer_id, f"QB {passer_id!r}")
    f, mv = facts(ctx, model_version)
    have = seasons_for(ctx, f, mv)
    if season is not None and season not in have:
        raise NotFound(f"season={season} has no Passing Scores (available seasons: "
                       f"{', '.join(map(str, have))})")
    if "qb_game_scores" not in f.tables:
        raise Unavailable("the warehouse holds no game scores yet", 60)

    def build() -> QBGamesResponse:
        every = query_pl(ctx.con, _games_sql(f, "g.passer_id = ? AND g.model_version = ?")
                         + " ORDER BY g.season, g.week, g.game_id", [passer_id, mv])
        if every.height == 0:
            raise NotFound(f"QB {passer_id!r} has no game scores")
        every = with_full_names(ctx.con, every)
        chosen = every if season is None else every.filter(pl.col("season") == season)
        page = [GameRow(**r) for r in frame_rows(chosen.slice(offset, limit))]
        last = frame_rows(every.tail(1))
        return QBGamesResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                               passer_id=passer_id, passer_name=_qb_name(last),
                               passer_full_name=_qb_name(last, "passer_full_name"),
                               season=season, total=chosen.height, limit=limit, offset=offset,
                               rows=page)

    return answer(request, ctx, ("qb_games", passer_id, season, mv, limit, offset), build)


@games_router.get("/{game_id}/scores", response_model=GameScoresResponse, responses=ERRORS)
def game_scores(request: Request, ctx: CtxDep,
                game_id: Annotated[str, PathParam(description="nflverse id, e.g. 2023_01_DET_KC")],
                model_version: ModelVersion = None) -> Response:
    """Every QB's score in one game (best first)."""
    require_id(game_id, f"game {game_id!r}")
    f, mv = facts(ctx, model_version)
    if "qb_game_scores" not in f.tables:
        raise Unavailable("the warehouse holds no game scores yet", 60)

    def build() -> GameScoresResponse:
        df = query_pl(ctx.con, _games_sql(f, "g.game_id = ? AND g.model_version = ?")
                      + " ORDER BY g.score DESC NULLS LAST, g.passer_id", [game_id, mv])
        if df.height == 0:
            raise NotFound(f"game {game_id!r} has no QB scores")
        rows = frame_rows(with_full_names(ctx.con, df))
        return GameScoresResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                                  game_id=game_id, season=rows[0]["season"],
                                  season_type=rows[0].get("season_type"),
                                  week=rows[0].get("week"), total=len(rows),
                                  rows=[GameRow(**r) for r in rows])

    return answer(request, ctx, ("game", game_id, mv), build)
