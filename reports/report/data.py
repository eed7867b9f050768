"""The season report's data: season rows of a model version, season-to-date trajectories
and the checks on the QBs asked for."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from passing_score.models.aggregator import Aggregator, shrink, to_score
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import query_pl


def season_rows(con: duckdb.DuckDBPyConnection, season: int, mv: str) -> pl.DataFrame:
    return query_pl(con, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = "
                         "'REG' AND model_version = ? ORDER BY rank NULLS LAST, score DESC",
                    [season, mv])


def trajectories(games: pl.DataFrame, agg: Aggregator | None) -> pl.DataFrame:
    """Season-to-date score after each REG week of each QB, from his game rows.

    With the stored parameters this is the board's own score (raw mean of the scored
    dropbacks to date, shrunk toward the league mean to date with k_season, on the season
    scale); without them, the dropback-weighted mean of his game scores.
    """
    g = games.filter(pl.col("season_type") == "REG").sort(["passer_id", "week", "game_id"])
    if g.height == 0:
        return pl.DataFrame(schema={"passer_id": pl.String, "week": pl.Int64,
                                    "to_date": pl.Float64, "game_score": pl.Float64})
    if agg is not None and "season" in agg.scales:
        n = pl.col("scored_dropbacks").fill_null(0).cast(pl.Float64)
        v = pl.when(n > 0).then(pl.col("play_value") * n).otherwise(0.0)
        league = (g.group_by("week").agg(pl.col("league_mean").first().alias("m")))
        out = g.with_columns(v.alias("_v"), n.alias("_n")).with_columns(
            pl.col("_v").cum_sum().over("passer_id").alias("cv"),
            pl.col("_n").cum_sum().over("passer_id").alias("cn")).join(league, on="week")
        k = float(agg.k_season)
        sc = agg.scales["season"]
        cn, cv, m = (out[c].to_numpy().astype(np.float64) for c in ("cn", "cv", "m"))
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(cn > 0, cv / np.where(cn > 0, cn, 1.0), m)
        theta = shrink(x, cn, m, k)
        to_date = to_score(theta, float(sc.mean), float(sc.sd))
        out = out.with_columns(pl.Series("to_date", to_date))
    else:
        w = pl.col("dropbacks").cast(pl.Float64)
        out = g.with_columns((pl.col("score") * w).fill_null(0).cum_sum().over("passer_id")
                             .alias("sw"),
                             pl.when(pl.col("score").is_not_null()).then(w).otherwise(0.0)
                             .cum_sum().over("passer_id").alias("sn"))
        out = out.with_columns((pl.col("sw") / pl.col("sn")).alias("to_date"))
    return out.select("passer_id", "passer_name", "team", "week", "to_date",
                      pl.col("score").alias("game_score"), "opponent", "dropbacks")


def check_qbs(qbs: list[str] | None, season_rows: pl.DataFrame, season: int) -> list[str]:
    if not qbs:
        return []
    known = set(season_rows["passer_id"].to_list())
    ids = list(dict.fromkeys(q.strip() for q in qbs if q.strip()))
    missing = [q for q in ids if q not in known]
    if missing:
        raise InputError(f"--qbs {', '.join(missing)}: no {season} REG score for "
                         f"{'this QB' if len(missing) == 1 else 'these QBs'}")
    return ids
