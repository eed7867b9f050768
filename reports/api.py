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
import hashlib
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import polars as pl
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.errors import InputError, WarehouseError
from pipeline.scoring import SPLITS
from pipeline.warehouse import fetch_one, query_pl, table_exists
from reports import leaderboard as lb
from reports.api_models import (
    ErrorResponse,
    Freshness,
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

log = logging.getLogger("passing_score.api")
T = TypeVar("T")

OPEN_TIMEOUT_S = 2.0  # how long a request waits for a writer to release the warehouse
FAIL_FAST_S = 0.5  # after a failed load, requests use the last snapshot (or 503) this long
CACHE_MIB = 64.0  # answers cached per warehouse state (least recently used go first)
CATALOG = "warehouse"
RETRY_AFTER_S = 2
CACHE_CONTROL = "public, max-age=30"
MAX_ID = 64  # longer ids cannot exist: 404 without a query
MAX_LIMIT = 500
SCOPE_ORDER = {"REG": 0, "POST": 1, "ALL": 2}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such season, QB, game or model version"},
    422: {"description": "malformed parameter"},
    503: {"model": ErrorResponse,
          "description": "warehouse busy (a writer holds it: retry after Retry-After seconds) "
                         "or not ready"}}


class Unavailable(Exception):
    """The warehouse cannot be read right now (missing, locked by a writer, broken)."""

    def __init__(self, detail: str, retry_after: int = RETRY_AFTER_S) -> None:
        super().__init__(detail)
        self.detail, self.retry_after = detail, retry_after


class NotFound(Exception):
    """A well-formed request for something the warehouse does not hold."""


# ---------------------------------------------------------------- the warehouse handle


def _size(value: Any) -> int:
    """Rough bytes of a cached value (encoded answers, frames, small objects)."""
    if isinstance(value, Encoded):
        return len(value.body) + 200
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size()) + 200
    return 1024


@dataclass(frozen=True)
class Encoded:
    """An answer ready to send: JSON bytes and their ETag."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, model: BaseModel) -> Encoded:
        """Serialize a response model; the ETag is a hash of the bytes."""
        body = model.model_dump_json().encode()
        return cls(body, 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _split_columns() -> list[str]:
    """The `dropbacks` columns the football splits' SQL reads (d.<column>)."""
    return sorted({m for sql, _, _ in SPLITS.values() for m in re.findall(r"\bd\.(\w+)", sql)})


# The tables (and columns; None = all) an answer may read, copied into each snapshot.
SNAPSHOT_TABLES: dict[str, list[str] | None] = {
    "qb_season_scores": None, "qb_game_scores": None, "play_predictions": None,
    "score_weights": None, "ingested_games": None, "ingest_log": None,
    "dropbacks": ["game_id", "play_id", *_split_columns()],
}


class _Snapshot:
    """The API's tables copied into an in-memory DuckDB from one state of the warehouse file.

    The file is attached read-only only while copying (~0.2 s for nine seasons), so the API
    never holds a lock the weekly job needs, and every answer comes from one committed state:
    while a writer holds the file, requests keep being answered from the last snapshot.
    """

    def __init__(self, db: Path, token: str) -> None:
        self.token = token
        self.users = 0
        self.con = duckdb.connect(":memory:")
        try:
            path = str(db).replace("'", "''")
            self.con.execute(f"ATTACH '{path}' AS {CATALOG} (READ_ONLY)")
            try:
                have = {str(r[0]) for r in self.con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                    [CATALOG]).fetchall()}
                for table, cols in SNAPSHOT_TABLES.items():
                    if table in have:
                        cols_sql = "*" if cols is None else ", ".join(f'"{c}"' for c in cols)
                        self.con.execute(f"CREATE TABLE main.{table} AS SELECT {cols_sql} "
                                         f"FROM {CATALOG}.main.{table}")
            finally:
                self.con.execute(f"DETACH {CATALOG}")
        except BaseException:
            self.con.close()
            raise

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the snapshot (its own transaction and results)."""
        return self.con.cursor()

    def close(self) -> None:
        """Free the snapshot's memory."""
        self.con.close()


class Warehouse:
    """The DuckDB file behind the app, served from in-memory snapshots: a new snapshot is
    taken when the file changes, and the previous one keeps answering while a writer holds
    the file (or while the new one loads). Answers are cached per snapshot."""

    def __init__(self, db: Path, open_timeout: float = OPEN_TIMEOUT_S,
                 cache_mib: float = CACHE_MIB) -> None:
        self.db = Path(db)
        self.open_timeout = open_timeout
        self.cache_bytes = int(cache_mib * 2**20)
        self._cache: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._cached_bytes = 0
        self._inflight: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()  # guards the caches and the snapshots
        self._loading = threading.Lock()  # one thread takes a new snapshot at a time
        self._current: _Snapshot | None = None
        self._draining: list[_Snapshot] = []
        self._failed_at = -1e9
        self._attached = 0  # loads in progress (the file is attached only then)

    def token(self) -> str:
        """The file's state (inode, size, mtime of the db and its WAL): changes on a write."""
        parts = []
        for p in (self.db, self.db.with_name(self.db.name + ".wal")):
            try:
                st = p.stat()
                parts.append(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
            except FileNotFoundError:
                parts.append("-")
        return "/".join(parts)

    def fresh_token(self) -> str | None:
        """The current snapshot's token when it matches the file (for the response cache)."""
        g = self._current
        if g is not None and g.token == self.token():
            return g.token
        return None

    def _use(self, g: _Snapshot) -> _Snapshot:
        with self._lock:
            g.users += 1
        return g

    def acquire(self) -> tuple[_Snapshot, duckdb.DuckDBPyConnection]:
        """A connection to the newest snapshot for one request. A changed file is loaded
        first (by one request; the others keep the previous snapshot meanwhile); Unavailable
        when there is no snapshot and the file is missing or held by a writer."""
        g = self._current_for(self.token())
        try:
            return g, g.cursor()
        except BaseException:
            self.release(g, None)
            raise

    def _current_for(self, token: str) -> _Snapshot:
        with self._lock:
            g = self._current
            if g is not None and (g.token == token or self._loading.locked()
                                  or time.monotonic() - self._failed_at < FAIL_FAST_S):
                g.users += 1
                return g
        if not self.db.exists():
            if g is not None:  # a swap in progress or a removed file: keep answering
                return self._use(g)
            raise Unavailable(f"warehouse {self.db.name} does not exist yet", 30)
        with self._loading:
            token = self.token()  # the file may have changed while this thread waited
            with self._lock:
                g = self._current
                if g is not None and g.token == token:
                    g.users += 1
                    return g
            try:
                return self._load(token, patient=g is None)
            except Unavailable:
                if g is None:
                    raise
                return self._use(g)  # a writer holds the file: the last snapshot answers

    def _load(self, token: str, patient: bool) -> _Snapshot:
        """Take a snapshot (retrying up to open_timeout while locked when there is no other
        to serve) and make it current; caller holds _loading."""
        deadline = time.monotonic() + (self.open_timeout if patient else 0.0)
        delay = 0.02
        while True:
            try:
                with self._lock:
                    self._attached += 1
                try:
                    g = _Snapshot(self.db, token)
                finally:
                    with self._lock:
                        self._attached -= 1
                break
            except duckdb.Error as exc:
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if time.monotonic() + delay > deadline:
                    self._failed_at = time.monotonic()
                    busy = any(w in msg.lower() for w in ("lock", "conflict", "in use"))
                    log.log(logging.INFO if busy else logging.WARNING,
                            "warehouse %s not readable: %s", self.db, msg)
                    raise Unavailable("the warehouse is being updated, retry shortly" if busy
                                      else "the warehouse cannot be opened") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        with self._lock:
            old, self._current = self._current, g
            g.users += 1
            if old is not None:
                self._draining.append(old)
            self._reap_locked()
        return g

    def release(self, g: _Snapshot, cur: duckdb.DuckDBPyConnection | None) -> None:
        """End a request: close its connection; an outdated snapshot closes when drained."""
        if cur is not None:
            try:
                cur.close()
            except duckdb.Error:
                log.debug("closing a request connection failed", exc_info=True)
        with self._lock:
            g.users -= 1
            self._reap_locked()

    def _reap_locked(self) -> None:
        """Close outdated snapshots nobody uses any more."""
        keep = []
        for old in self._draining:
            if old.users == 0:
                old.close()
            else:
                keep.append(old)
        self._draining = keep

    def close(self) -> None:
        """Close every snapshot (app shutdown)."""
        with self._lock:
            for g in [*self._draining, *([self._current] if self._current else [])]:
                g.close()
            self._draining, self._current = [], None

    def holds_file(self) -> bool:
        """Whether the warehouse file is attached (only while a snapshot is being taken)."""
        with self._lock:
            return self._attached > 0

    def peek(self, key: tuple[Any, ...]) -> Any:
        """A cached value or None (no computing)."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                return None
            self._cache.move_to_end(key)
            return hit[0]

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        """Cache a value; least recently used entries go when past the byte budget."""
        size = _size(value)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = (value, size)
                self._cached_bytes += size
            while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
                _, (_, dropped) = self._cache.popitem(last=False)
                self._cached_bytes -= dropped

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """compute() once per key (concurrent misses of one key wait for the first); least
        recently used entries go when the cache passes its byte budget. Errors are not cached."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key][0]  # type: ignore[no-any-return]
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._cache:
                    return self._cache[key][0]  # type: ignore[no-any-return]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
            self.put(key, value)
            return value


@dataclass
class Ctx:
    """One request's view of the warehouse."""

    con: duckdb.DuckDBPyConnection
    wh: Warehouse
    token: str

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """Cache keyed on the warehouse state as this request sees it."""
        return self.wh.cached((self.token, *key), compute)


def get_ctx(request: Request) -> Iterator[Ctx]:
    """Dependency: a read-only connection for this request, closed after it."""
    wh: Warehouse = request.app.state.warehouse
    g, con = wh.acquire()
    try:
        yield Ctx(con=con, wh=wh, token=g.token)
    finally:
        wh.release(g, con)


CtxDep = Annotated[Ctx, Depends(get_ctx)]


# ---------------------------------------------------------------- facts and responses


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
        versions = tuple(lb.score_versions(ctx.con))
        if not versions:
            raise Unavailable("the warehouse holds no Passing Scores yet", 60)
        mv = lb.default_score_version(ctx.con)
        tables = frozenset(str(r[0]) for r in ctx.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall())
        return Facts(versions, mv, tuple(lb.available_seasons(ctx.con, mv)),
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
    return ctx.cached(("seasons_of", mv), lambda: tuple(lb.available_seasons(ctx.con, mv)))


def freshness_for(ctx: Ctx, f: Facts, mv: str) -> Freshness:
    """Freshness of a (possibly non-default) model version."""
    if mv == f.default_version:
        return f.freshness
    return ctx.cached(("fresh", mv), lambda: _freshness(ctx.con, mv))


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match check (weak comparison; `*` matches anything)."""
    bare = etag.removeprefix("W/")
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*" or tag.removeprefix("W/") == bare:
            return True
    return False


def answer(request: Request, ctx: Ctx, key: tuple[Any, ...], build: Callable[[], BaseModel],
           cache_control: str = CACHE_CONTROL) -> Response:
    """The answer for `key` (built once per warehouse state) with its ETag and Cache-Control;
    304 without a body when If-None-Match names the current ETag."""
    enc = ctx.cached(("answer", *key), lambda: Encoded.of(build()))
    ctx.wh.put(_url_key(ctx.token, request.scope), (enc, cache_control))
    headers = {"ETag": enc.etag, "Cache-Control": cache_control}
    inm = request.headers.get("if-none-match")
    if inm and _etag_matches(inm, enc.etag):
        return Response(status_code=304, headers=headers)
    return Response(enc.body, media_type="application/json", headers=headers)


def _url_key(token: str, scope: Scope) -> tuple[Any, ...]:
    """Response-cache key of a request: the snapshot plus the exact path and query string."""
    return ("url", token, scope["path"], scope.get("query_string", b""))


class CachedAnswers:
    """ASGI middleware: a GET of a URL already answered from the current snapshot is answered
    again from memory, before routing, parameter validation and the database (the hot path of
    many clients polling the same boards). Cache misses go through the app as usual."""

    def __init__(self, app: ASGIApp, warehouse: Warehouse) -> None:
        self.app = app
        self.wh = warehouse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the stored answer (or 304) when there is one, else pass the request on."""
        if scope["type"] == "http" and scope["method"] == "GET":
            token = self.wh.fresh_token()
            hit = self.wh.peek(_url_key(token, scope)) if token is not None else None
            if hit is not None:
                enc, cache_control = hit
                headers = [(b"etag", enc.etag.encode()), (b"cache-control", cache_control.encode())]
                inm = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
                if inm is not None and _etag_matches(inm.decode("latin-1"), enc.etag):
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
                headers += [(b"content-type", b"application/json"),
                            (b"content-length", str(len(enc.body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": enc.body})
                return
        await self.app(scope, receive, send)


def _rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as dicts: NaN becomes None, -0.0 becomes 0.0."""
    return [{k: ((None if v != v else v + 0.0) if isinstance(v, float) else v)
             for k, v in r.items()} for r in df.to_dicts()]


def _require_id(value: str, what: str) -> str:
    if len(value) > MAX_ID or not value.isprintable():
        raise NotFound(f"{what} not found")
    return value


# ---------------------------------------------------------------- parameters

Season = Annotated[int | None, Query(ge=1920, le=2100, description="season (year it starts); "
                                                                   "default: the newest")]
ModelVersion = Annotated[str | None, Query(max_length=80, description="default: the version "
                                                                     "the weekly job updates")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size (max {MAX_LIMIT})")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]

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
        rows = sorted((SeasonInfo(**r) for r in _rows(s)),
                      key=lambda r: (r.season, SCOPE_ORDER.get(r.season_type, 9)))
        return SeasonsResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                               model_versions=list(f.versions), seasons=rows)

    return answer(request, ctx, ("seasons", mv), build)


@board_router.get("/leaderboard", response_model=LeaderboardResponse, responses=ERRORS)
def leaderboard(
    request: Request, ctx: CtxDep, season: Season = None,
    week: Annotated[int | None, Query(ge=1, le=22, description=(
        "one week's games only (ranked by game score)"))] = None,
    through_week: Annotated[int | None, Query(ge=1, le=22, description=(
        "season to date through this week (default: the whole season)"))] = None,
    season_type: Annotated[str, Query(pattern="^(?i:REG|POST)$")] = "REG",
    split: Annotated[str | None, Query(min_length=1, max_length=40,
                                       pattern=r"^[A-Za-z0-9_\-]+$")] = None,
    min_dropbacks: Annotated[int | None, Query(ge=0, le=10_000, description=(
        "qualify (and rank) QBs with at least this many dropbacks"))] = None,
    team: Annotated[str | None, Query(pattern="^[A-Za-z]{2,4}$")] = None,
    sort: Annotated[str | None, Query(max_length=40, pattern=r"^[+\-]?[a-z_]+$")] = None,
    model_version: ModelVersion = None, limit: Limit = 50, offset: Offset = 0,
) -> Response:
    """Ranked QBs: season to date (or through a week), one week's games, or a split."""
    f, mv = facts(ctx, model_version)
    have = seasons_for(ctx, f, mv)
    season = season if season is not None else (have[-1] if have else None)
    if season is None or season not in have:
        raise NotFound(f"season {season} has no Passing Scores (available seasons: "
                       f"{', '.join(map(str, have)) or 'none'})")
    st = season_type.upper()
    key = ("board", season, week, through_week, st, min_dropbacks, team, sort, mv, split)

    def build() -> LeaderboardResponse:
        df = ctx.cached(key, lambda: lb.board(
            ctx.con, season, week=week, through_week=through_week, season_type=st,
            min_dropbacks=min_dropbacks, team=team, sort=sort, model_version=mv, split=split))
        last = df["week"].max() if df.height else None
        return LeaderboardResponse(
            model_version=mv, freshness=freshness_for(ctx, f, mv), season=season,
            season_type=st, week=week,
            through_week=week if week is not None else (int(last) if last is not None else None),
            split=split, min_dropbacks=min_dropbacks, total=df.height, limit=limit,
            offset=offset, rows=[LeaderboardRow(**r) for r in _rows(df.slice(offset, limit))])

    return answer(request, ctx, (*key, limit, offset), build)


def _qb_name(rows: list[dict[str, Any]]) -> str | None:
    names = [r.get("passer_name") for r in rows if r.get("passer_name")]
    return names[-1] if names else None


@qbs_router.get("/{passer_id}", response_model=QBResponse, responses=ERRORS)
def qb_seasons(request: Request, ctx: CtxDep,
               passer_id: Annotated[str, PathParam(description="GSIS id, e.g. 00-0033873")],
               model_version: ModelVersion = None) -> Response:
    """A QB's season scores (REG, POST and ALL of every season)."""
    _require_id(passer_id, f"QB {passer_id!r}")
    f, mv = facts(ctx, model_version)

    def build() -> QBResponse:
        df = query_pl(ctx.con, "SELECT * FROM qb_season_scores WHERE passer_id = ? AND "
                               "model_version = ?", [passer_id, mv])
        if df.height == 0:
            raise NotFound(f"QB {passer_id!r} has no scores")
        rows = sorted(_rows(df), key=lambda r: (r["season"],
                                                SCOPE_ORDER.get(r["season_type"], 9)))
        return QBResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                          passer_id=passer_id, passer_name=_qb_name(rows),
                          seasons=[QBSeasonRow(**r) for r in rows])

    return answer(request, ctx, ("qb", passer_id, mv), build)


@qbs_router.get("/{passer_id}/games", response_model=QBGamesResponse, responses=ERRORS)
def qb_games(request: Request, ctx: CtxDep, passer_id: str, season: Annotated[
        int | None, Query(ge=1920, le=2100, description="one season (default: all)")] = None,
             model_version: ModelVersion = None, limit: Limit = 50,
             offset: Offset = 0) -> Response:
    """A QB's game scores, oldest first (one season or all), paginated."""
    _require_id(passer_id, f"QB {passer_id!r}")
    f, mv = facts(ctx, model_version)
    have = seasons_for(ctx, f, mv)
    if season is not None and season not in have:
        raise NotFound(f"season {season} has no Passing Scores (available seasons: "
                       f"{', '.join(map(str, have))})")
    if "qb_game_scores" not in f.tables:
        raise Unavailable("the warehouse holds no game scores yet", 60)

    def build() -> QBGamesResponse:
        every = query_pl(ctx.con, "SELECT * FROM qb_game_scores WHERE passer_id = ? AND "
                                  "model_version = ? ORDER BY season, week, game_id",
                         [passer_id, mv])
        if every.height == 0:
            raise NotFound(f"QB {passer_id!r} has no game scores")
        chosen = every if season is None else every.filter(pl.col("season") == season)
        return QBGamesResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                               passer_id=passer_id, passer_name=_qb_name(_rows(every.tail(1))),
                               season=season, total=chosen.height, limit=limit, offset=offset,
                               games=[GameRow(**r) for r in _rows(chosen.slice(offset, limit))])

    return answer(request, ctx, ("qb_games", passer_id, season, mv, limit, offset), build)


@games_router.get("/{game_id}/scores", response_model=GameScoresResponse, responses=ERRORS)
def game_scores(request: Request, ctx: CtxDep,
                game_id: Annotated[str, PathParam(description="nflverse id, e.g. 2023_01_DET_KC")],
                model_version: ModelVersion = None) -> Response:
    """Every QB's score in one game (best first)."""
    _require_id(game_id, f"game {game_id!r}")
    f, mv = facts(ctx, model_version)
    if "qb_game_scores" not in f.tables:
        raise Unavailable("the warehouse holds no game scores yet", 60)

    def build() -> GameScoresResponse:
        df = query_pl(ctx.con, "SELECT * FROM qb_game_scores WHERE game_id = ? AND "
                               "model_version = ? ORDER BY score DESC NULLS LAST, passer_id",
                      [game_id, mv])
        if df.height == 0:
            raise NotFound(f"game {game_id!r} has no QB scores")
        rows = _rows(df)
        return GameScoresResponse(model_version=mv, freshness=freshness_for(ctx, f, mv),
                                  game_id=game_id, season=rows[0]["season"],
                                  season_type=rows[0].get("season_type"),
                                  week=rows[0].get("week"), scores=[GameRow(**r) for r in rows])

    return answer(request, ctx, ("game", game_id, mv), build)


# ---------------------------------------------------------------- the app


def _error(status: int, detail: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    """Map library errors to 404 / 422 / 503 and anything unexpected to a logged JSON 503."""

    @app.exception_handler(NotFound)
    @app.exception_handler(lb.NotFoundError)
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
                    "components and freshness. Every answer carries its model version.",
    )
    app.state.warehouse = warehouse
    app.add_middleware(CachedAnswers, warehouse=warehouse)
    app.add_middleware(LastResort)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    _install_error_handlers(app)
    for router in (health_router, seasons_router, board_router, qbs_router, games_router):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app


def app_from_env() -> FastAPI:
    """App over the configured warehouse (PASSING_SCORE_DB): for `uvicorn --factory`."""
    from pipeline.config import get_settings

    return create_app(get_settings().db)


def serve(host: str = "127.0.0.1", port: int = 8000, db: Path | None = None,
          log_level: str = "info") -> None:
    """Run the API with uvicorn until interrupted; a missing warehouse is a one-line error."""
    import uvicorn

    from pipeline.config import get_settings

    path = Path(db) if db is not None else get_settings().db
    if not path.is_file():
        raise WarehouseError(f"warehouse {path} does not exist: run `passing-score run` first "
                             "or point --db / PASSING_SCORE_DB at one")
    if not 0 < port < 65536:
        raise InputError(f"--port {port} is not a TCP port (1-65535)")
    uvicorn.run(create_app(path), host=host, port=port, log_level=log_level)
