"""Warehouses the board, API and report tests read: score tables written directly (a
score-tables-only warehouse) or a small league's play_predictions scored for real."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from passing_score.models.aggregator import GAME_MIN_DROPBACKS, SEASON_DROPBACKS_PER_GAME
from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.vocabulary import COMPONENTS
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.scoring.scores import score

GAME_COLUMNS: dict[str, str] = dict(tables.spec("qb_game_scores").columns or {})
SEASON_COLUMNS: dict[str, str] = dict(tables.spec("qb_season_scores").columns or {})

MV = "pm-synth-0001"
SEASONS = (2022, 2023)
REG_WEEKS = 6
POST_WEEK = REG_WEEKS + 1
PER_GAME = 36  # dropbacks of a QB in a game (make_predictions)
TEAMS = ("KC", "BUF", "CIN", "BAL", "SF", "DAL", "PHI", "MIA")
NAMES = ("P.Mahomes", "J.Allen", "J.Burrow", "L.Jackson", "B.Purdy", "D.Prescott",
         "J.Hurts", "T.Tagovailoa")
BACKUP_ID, BACKUP_NAME = "00-0039999", "Ł.Müller"  # a unicode name, few dropbacks
INGESTED_AT = datetime(2024, 2, 12, 9, 30, 0)


def qb(i: int) -> str:
    """GSIS-like id of synthetic QB i (one starter per team)."""
    return f"00-00{30001 + i:05d}"


def _schedule(season: int) -> list[tuple[int, str, int, int]]:
    """(week, season_type, away index, home index) of every synthetic game."""
    out = []
    n = len(TEAMS)
    for week in range(1, REG_WEEKS + 1):
        order = [(i + week) % n for i in range(n)] if week % 2 else list(range(n))
        out += [(week, "REG", order[k], order[k + 1]) for k in range(0, n, 2)]
    out += [(POST_WEEK, "POST", 0, 1), (POST_WEEK, "POST", 2, 3)]
    return out


def _gid(season: int, week: int, a: int, h: int) -> str:
    return f"{season}_{week:02d}_{TEAMS[a]}_{TEAMS[h]}"


# ---------------------------------------------------------------- score tables, directly


def game_score_rows(seed: int = 3) -> pl.DataFrame:
    """Synthetic qb_game_scores rows (GAME_COLUMNS) with a clear skill order: QB 0 best."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for season in SEASONS:
        for week, st, a, h in _schedule(season):
            for side, other in ((a, h), (h, a)):
                passers = [(qb(side), NAMES[side], 32)]
                if season == SEASONS[-1] and side == 7 and week in (5, 6):
                    passers = [(qb(side), NAMES[side], 20), (BACKUP_ID, BACKUP_NAME, 12)]
                for pid, name, db in passers:
                    base = 85 - 4 * side + (3 if season == SEASONS[-1] and side == 5 else 0)
                    base -= 10 if pid == BACKUP_ID else 0  # the backup is the worst
                    s = float(np.clip(base + rng.normal(0, 5), 50.5, 98.5))
                    r: dict = {c: None for c in GAME_COLUMNS}
                    r.update(passer_id=pid, game_id=_gid(season, week, a, h), model_version=MV,
                             passer_name=name, team=TEAMS[side], opponent=TEAMS[other],
                             season=season, season_type=st, week=week, dropbacks=db,
                             scored_dropbacks=db - 1, play_value=(s - 75) / 100,
                             play_value_shrunk=(s - 75) / 120, play_value_sd=0.05,
                             league_mean=0.0, score=s, score_low=s - 6, score_high=min(99, s + 6),
                             qualified=db >= GAME_MIN_DROPBACKS,
                             epa_per_dropback=(s - 75) / 60, cpoe=(s - 75) / 4, cp_attempts=db - 4,
                             team_points=int(rng.integers(10, 35)),
                             opp_points=int(rng.integers(10, 35)))
                    for k, c in enumerate(COMPONENTS):
                        r[f"comp_{c}"] = float(np.clip(s + rng.normal(0, 4) - k, 50, 99))
                        r[f"val_{c}"] = (s - 75) / 500 * (1 if k != 4 else -0.2)
                    r["win"] = 1.0 if r["team_points"] > r["opp_points"] else 0.0
                    rows.append(r)
    df = pl.DataFrame(rows, schema=_schema(GAME_COLUMNS))
    ranked = (df.filter(pl.col("qualified")).sort("score", descending=True)
              .with_columns(pl.int_range(1, pl.len() + 1).over(["season", "season_type", "week"])
                            .cast(pl.Int64).alias("rank2"))
              .select("passer_id", "game_id", "rank2"))
    df = df.join(ranked, on=["passer_id", "game_id"], how="left")
    return df.with_columns(pl.col("rank2").alias("rank")).drop("rank2").select(
        list(GAME_COLUMNS))


def _schema(cols: dict[str, str]) -> dict[str, pl.DataType]:
    m = {"VARCHAR": pl.String(), "BIGINT": pl.Int64(), "DOUBLE": pl.Float64(),
         "BOOLEAN": pl.Boolean()}
    return {c: m[t.replace(" NOT NULL", "")] for c, t in cols.items()}


def season_score_rows(games: pl.DataFrame) -> pl.DataFrame:
    """qb_season_scores rows (REG, POST, ALL) aggregated from the synthetic game rows."""
    parts = []
    for scope in ("REG", "POST", "ALL"):
        g = games if scope == "ALL" else games.filter(pl.col("season_type") == scope)
        tg = (g.select("season", "team", "game_id").unique().group_by(["season", "team"]).len()
              .rename({"len": "team_games"}))
        w = pl.col("dropbacks")
        agg = g.group_by(["season", "passer_id"]).agg(
            pl.col("passer_name").last(), pl.col("team").last(), pl.len().alias("games"),
            w.sum().alias("dropbacks"), pl.col("scored_dropbacks").sum(),
            pl.col("cp_attempts").sum(),
            *[((pl.col(c) * w).sum() / w.sum()).alias(c) for c in
              ("score", "play_value", "play_value_shrunk", "epa_per_dropback", "cpoe",
               *(f"comp_{k}" for k in COMPONENTS),
               *(f"val_{k}" for k in COMPONENTS))])
        agg = agg.join(tg, on=["season", "team"], how="left").with_columns(
            pl.lit(scope).alias("season_type"), pl.lit(MV).alias("model_version"),
            pl.lit(0.03).alias("play_value_sd"), pl.lit(0.0).alias("league_mean"),
            (pl.col("score") - 3).alias("score_low"), (pl.col("score") + 3).alias("score_high"),
            (pl.col("dropbacks") >= SEASON_DROPBACKS_PER_GAME * pl.col("team_games"))
            .alias("qualified"))
        ranked = (agg.filter(pl.col("qualified")).sort(["season", "score"],
                                                       descending=[False, True])
                  .with_columns(pl.int_range(1, pl.len() + 1).over("season").cast(pl.Int64)
                                .alias("rank")).select("season", "passer_id", "rank"))
        parts.append(agg.join(ranked, on=["season", "passer_id"], how="left"))
    df = pl.concat(parts, how="diagonal_relaxed")
    return df.select([pl.col(c).cast(t) for c, t in _schema(SEASON_COLUMNS).items()])


def write_score_tables(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse holding only the score tables (as pipeline.scoring creates them) and a
    minimal ingest log: what the API and the report read."""
    for name in ("ingest_log", "ingested_games"):
        tables.create(con, name)
    for name, rows in (("qb_game_scores", game_score_rows()), ("qb_season_scores", None)):
        tables.create(con, name)
        if rows is None:
            rows = season_score_rows(game_score_rows())
        con.register("_rows", rows)
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _rows")
        con.unregister("_rows")
    con.execute("INSERT INTO ingest_log VALUES ('local', 'pbp/play_by_play_2023.parquet', "
                "'abc', '{}', 1000, 58, 58, 1.5, ?)", [INGESTED_AT])
    games = game_score_rows().select("game_id").unique().sort("game_id")
    for gid in games["game_id"].to_list():
        con.execute("INSERT INTO ingested_games VALUES (?, 'h', 100, 'local', 'k', ?)",
                    [gid, INGESTED_AT])


def make_score_warehouse(path: Path) -> Path:
    """Create (or replace) a score-tables-only warehouse file at `path`."""
    con = connect(path)
    write_score_tables(con)
    con.close()
    return path


# ---------------------------------------------------------------- a league scored for real


def make_predictions(seed: int = 11) -> pl.DataFrame:
    """play_predictions of the synthetic schedule: 36 dropbacks a game (a starter's REG season
    has 216, above the prior's 200), QB 0 the best."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {k: [] for k in ("game_id", "passer_id", "passer", "posteam",
                                             "defteam", "season", "week", "season_type", "q")}
    for season in SEASONS:
        for week, st, a, h in _schedule(season):
            for side, other in ((a, h), (h, a)):
                for _ in range(PER_GAME):
                    cols["game_id"].append(_gid(season, week, a, h))
                    cols["passer_id"].append(qb(side))
                    cols["passer"].append(NAMES[side])
                    cols["posteam"].append(TEAMS[side])
                    cols["defteam"].append(TEAMS[other])
                    cols["season"].append(season)
                    cols["week"].append(week)
                    cols["season_type"].append(st)
                    cols["q"].append(side)
    df = pl.DataFrame(cols)
    n = df.height
    skill = 0.16 - 0.04 * df["q"].to_numpy()
    cpoe = rng.normal(skill, 0.45, n)
    yards_z = rng.normal(2 * skill, 1.0, n)
    epa = 0.5 * yards_z + 0.3 * cpoe + rng.normal(0.0, 0.5, n)
    yac_z = rng.normal(skill / 2, 1.0, n)
    return df.drop("q").with_columns(
        pl.Series("play_id", np.arange(1, n + 1) * 10), pl.Series("epa", epa),
        pl.Series("cpoe", cpoe), pl.Series("int_avoided", rng.normal(0.002 * skill, 0.1, n)),
        pl.Series("sack_avoided", rng.normal(skill / 3, 0.2, n)),
        pl.Series("yards_z", yards_z), pl.Series("aggressiveness_z", rng.normal(0, 1, n)),
        pl.Series("yards_qb_z", yards_z - 0.2 * yac_z), pl.Series("yac_z", yac_z),
        pl.Series("qb_epa", epa), pl.Series("epa_oe", epa - 0.05),
        pl.Series("epa_qb_oe", epa - 0.05 - 0.1 * yac_z),
        pl.Series("success_oe", (epa > 0).astype(float) - 0.5),
        pl.lit(True).alias("model_eligible"), pl.lit(MV).alias("model_version"))


def split_context(pred: pl.DataFrame, seed: int = 11) -> pl.DataFrame:
    """`dropbacks` rows with the columns the football splits filter on (seeded draws)."""
    rng = np.random.default_rng(seed)
    n = pred.height
    return pred.select("game_id", "play_id").with_columns(
        air_yards=pl.Series(rng.integers(-5, 40, n)), qb_hit=pl.Series(rng.random(n) < 0.15),
        out_sack=pl.Series(rng.random(n) < 0.07), down=pl.Series(rng.integers(1, 5, n)),
        yardline_100=pl.Series(rng.integers(1, 100, n)),
        score_differential=pl.Series(rng.integers(-21, 22, n)),
        qtr=pl.Series(rng.integers(1, 6, n))).with_columns(
        pl.col("qb_hit", "out_sack").cast(pl.Int64))


def make_scored_warehouse(path: Path) -> Path:
    """play_predictions of the synthetic league scored by pipeline.scoring, the dropbacks
    columns the splits read, plus ingest rows."""
    con = connect(path)
    pred = make_predictions()
    con.register("_pred", pred)
    con.execute("CREATE OR REPLACE TABLE play_predictions AS SELECT * FROM _pred")
    con.unregister("_pred")
    con.register("_ctx", split_context(pred))
    con.execute("CREATE OR REPLACE TABLE dropbacks AS SELECT * FROM _ctx")
    con.unregister("_ctx")
    tables.create(con, "ingest_log")
    score(con, MV)
    con.execute("INSERT INTO ingest_log VALUES ('local', 'synthetic', 'abc', '{}', 1, 1, 1, "
                "0.1, ?)", [INGESTED_AT])
    con.close()
    return path
