"""What the warehouse holds: seasons, weeks, games, plays, dropbacks, models, last ingest."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from passing_score.pipeline.foundation.warehouse import fetch_one, table_exists


@dataclass
class SeasonStatus:
    """One season's holdings."""

    season: int
    season_types: str
    reg_weeks: str
    post_weeks: str
    games: int
    plays: int
    dropbacks: int | None = None


@dataclass
class WarehouseStatus:
    """The whole warehouse at a glance."""

    seasons: list[SeasonStatus] = field(default_factory=list)
    last_ingest: str | None = None
    last_ingest_key: str | None = None
    files_logged: int = 0
    model_versions: list[str] = field(default_factory=list)

    @property
    def total_plays(self) -> int:
        """Plays across seasons."""
        return sum(s.plays for s in self.seasons)

    @property
    def total_games(self) -> int:
        """Games across seasons."""
        return sum(s.games for s in self.seasons)


def _span(lo: int | None, hi: int | None) -> str:
    return "-" if lo is None else (str(lo) if lo == hi else f"{lo}-{hi}")


def warehouse_status(con: duckdb.DuckDBPyConnection) -> WarehouseStatus:
    """Collect the status from the warehouse tables that exist."""
    st = WarehouseStatus()
    if table_exists(con, "plays"):
        rows = con.execute("""
            SELECT season,
                   string_agg(DISTINCT season_type, ',' ORDER BY season_type DESC),
                   min(game_week) FILTER (WHERE season_type = 'REG'),
                   max(game_week) FILTER (WHERE season_type = 'REG'),
                   min(game_week) FILTER (WHERE season_type = 'POST'),
                   max(game_week) FILTER (WHERE season_type = 'POST'),
                   count(DISTINCT game_id), count(*)
            FROM plays GROUP BY season ORDER BY season""").fetchall()
        st.seasons = [SeasonStatus(r[0], r[1], _span(r[2], r[3]), _span(r[4], r[5]), r[6], r[7])
                      for r in rows]
    if table_exists(con, "dropbacks") and st.seasons:
        counts = dict(con.execute("SELECT season, count(*) FROM dropbacks GROUP BY season")
                      .fetchall())
        for s in st.seasons:
            s.dropbacks = int(counts.get(s.season, 0))
    if table_exists(con, "ingest_log"):
        row = fetch_one(con, "SELECT ingested_at, path_or_key, (SELECT count(*) FROM ingest_log) "
                        "FROM ingest_log ORDER BY ingested_at DESC LIMIT 1")
        if row:
            st.last_ingest, st.last_ingest_key, st.files_logged = str(row[0]), row[1], row[2]
    if table_exists(con, "play_predictions"):
        st.model_versions = [r[0] for r in con.execute(
            "SELECT DISTINCT model_version FROM play_predictions ORDER BY 1").fetchall()]
    return st
