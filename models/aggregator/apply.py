"""Applying a fitted aggregator: plays -> game and season rows with shrunk values, 50-99
scores, 80% intervals, component scores and ranks (docs/scoring.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import polars as pl
from scipy.special import ndtr  # scipy.stats.norm.cdf, without importing scipy.stats

from passing_score.models.aggregator.params import (
    SCALE_LOW,
    SCALE_SPAN,
    Z_INTERVAL,
    Aggregator,
)
from passing_score.models.aggregator.sums import SUM_COLS, group_sums, league_at, mode
from passing_score.pipeline.foundation.vocabulary import COMPONENTS, SEASON_TYPES

Num = TypeVar("Num", pl.Expr, np.ndarray)


def shrink(mean: Num, n: Num, prior: Num, k: float) -> Num:
    """Empirical-Bayes posterior mean: the raw mean of n plays pulled toward the prior by
    n / (n + k) (k = within-QB variance / between-QB variance); polars or numpy alike."""
    return prior + n / (n + k) * (mean - prior)


def summarise(p: pl.DataFrame, keys: list[str], week_end: pl.DataFrame | str,
              league: pl.DataFrame, k: float, sigma2: float) -> pl.DataFrame:
    """Aggregate plays per keys and shrink: mean, shrunk mean, posterior sd, contributions.

    week_end is a column of keys (game rows: the game's week) or a frame keyed on a subset
    of keys with a `week_end` column (season rows: the last week of the scope).
    """
    g = group_sums(p, keys, SUM_COLS)
    if isinstance(week_end, str):
        g = g.with_columns(pl.col(week_end).alias("week_end"))
    else:
        g = g.join(week_end, on=[c for c in week_end.columns if c != "week_end"], how="left")
    g = league_at(league, g, "week_end")
    n = pl.col("n")
    exprs = [
        pl.when(n > 0).then(pl.col("v") / n).alias("play_value"),
        shrink(pl.when(n > 0).then(pl.col("v") / n).otherwise(pl.col("m_v")), n,
               pl.col("m_v"), k).alias("play_value_shrunk"),
        (float(sigma2) / (n + k)).sqrt().alias("play_value_sd"),
        pl.col("m_v").alias("league_mean"),
        pl.when(pl.col("epa_n") > 0).then(pl.col("epa_s") / pl.col("epa_n"))
        .alias("epa_per_dropback"),
        pl.when(pl.col("cp_n") > 0).then(100.0 * pl.col("cp_s") / pl.col("cp_n")).alias("cpoe"),
        pl.col("db").cast(pl.Int64).alias("dropbacks"),
        n.cast(pl.Int64).alias("scored_dropbacks"),
        pl.col("cp_n").cast(pl.Int64).alias("cp_attempts"),
    ]
    for c in COMPONENTS:
        mean_c = pl.when(n > 0).then(pl.col(f"c_{c}") / n).otherwise(pl.col(f"m_c_{c}"))
        exprs.append(shrink(mean_c, n, pl.col(f"m_c_{c}"), k).alias(f"shrunk_{c}"))
    return g.with_columns(exprs).sort(keys)


def to_score(x: np.ndarray | float, mean: float, sd: float) -> np.ndarray:
    """The monotone map to 50-99: 50 + 49 * Phi((x - mean) / sd); bounded by construction."""
    z = (np.asarray(x, dtype=np.float64) - mean) / sd if sd > 0 else \
        np.zeros_like(np.asarray(x, dtype=np.float64))
    return SCALE_LOW + SCALE_SPAN * ndtr(z)


def _score_expr(col: str | pl.Expr, mean: float, sd: float) -> pl.Expr:
    """to_score as a polars expression (nulls stay null)."""
    e = pl.col(col) if isinstance(col, str) else col
    return e.map_batches(lambda s: pl.Series(to_score(s.to_numpy(allow_copy=True)
                                                      .astype(np.float64), mean, sd)),
                         return_dtype=pl.Float64)


def apply_scale(df: pl.DataFrame, agg: Aggregator, level: str) -> pl.DataFrame:
    """Scores, interval and component scores/contributions of summarised rows."""
    sc = agg.scales[level]
    w = agg.weights
    x = pl.col("play_value_shrunk")
    half = Z_INTERVAL * pl.col("play_value_sd")
    out = df.with_columns(
        _score_expr(x, sc.mean, sc.sd).alias("score"),
        _score_expr(x - half, sc.mean, sc.sd).alias("score_low"),
        _score_expr(x + half, sc.mean, sc.sd).alias("score_high"),
        *[_score_expr(f"shrunk_{c}", *sc.components[c]).alias(f"comp_{c}")
          for c in COMPONENTS],
        *[(pl.col(f"shrunk_{c}") * float(w[c])).alias(f"val_{c}") for c in COMPONENTS],
    )
    return out


def rank_rows(df: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """`rank` (1 = best score) among qualified rows within groups of `by`; ties by passer_id;
    unqualified rows get no rank. The one ranking of every board and score table."""
    by = list(by)
    df = df.drop("rank", strict=False)
    q = (df.filter(pl.col("qualified")).sort([*by, "score", "passer_id"],
                                             descending=[False] * len(by) + [True, False],
                                             nulls_last=True)
         .with_columns(pl.int_range(1, pl.len() + 1).over(by).cast(pl.Int64).alias("rank"))
         .select(*by, "passer_id", "rank"))
    return df.join(q, on=[*by, "passer_id"], how="left")


def game_rows(tv: pl.DataFrame, league: pl.DataFrame, agg: Aggregator,
              results: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per QB x game: play value, shrunk value, score, interval, components."""
    keys = ["season", "season_type", "week", "game_id", "passer_id"]
    g = summarise(tv, keys, "week", league, agg.k_game, agg.sigma2_game)
    g = g.with_columns((pl.col("dropbacks") >= agg.game_min_dropbacks).alias("qualified"))
    if agg.scales:
        g = apply_scale(g, agg, "game")
        g = rank_rows(g, ["season", "season_type", "week"])
    g = (g.join(mode(tv, keys, "passer", "passer_name"), on=keys, how="left")
         .join(mode(tv, keys, "posteam", "team"), on=keys, how="left")
         .join(mode(tv, keys, "defteam", "opponent"), on=keys, how="left"))
    if results is not None and results.height:
        g = g.join(results, on=["game_id", "team"], how="left")
    else:
        g = g.with_columns(pl.lit(None, pl.Int64).alias("team_points"),
                           pl.lit(None, pl.Int64).alias("opp_points"),
                           pl.lit(None, pl.Float64).alias("win"))
    return g.sort(keys)


def scoped(tv: pl.DataFrame, scopes: Sequence[str]) -> pl.DataFrame:
    """Plays relabelled by season scope: REG, POST, ALL (= both)."""
    parts = []
    for s in scopes:
        sub = tv if s == "ALL" else tv.filter(pl.col("season_type") == s)
        parts.append(sub.with_columns(pl.lit(s).alias("season_type")))
    return pl.concat(parts) if parts else tv.head(0)


def season_rows(tv: pl.DataFrame, league: pl.DataFrame, agg: Aggregator,
                scopes: Sequence[str] = SEASON_TYPES) -> pl.DataFrame:
    """One row per QB x season x scope (REG, POST, ALL), season to date of the plays given."""
    sc = scoped(tv, scopes)
    keys = ["season", "season_type", "passer_id"]
    week_end = sc.group_by(["season", "season_type"]).agg(pl.col("week").max()
                                                          .alias("week_end"))
    s = summarise(sc, keys, week_end, league, agg.k_season, agg.sigma2_season)
    team = mode(sc, keys, "posteam", "team")
    team_games = (sc.select("season", "season_type", pl.col("posteam").alias("team"), "game_id")
                  .unique().group_by(["season", "season_type", "team"]).len()
                  .rename({"len": "team_games"}))
    games = (sc.select(*keys, "game_id").unique().group_by(keys).len()
             .rename({"len": "games"}))
    s = (s.join(mode(sc, keys, "passer", "passer_name"), on=keys, how="left")
         .join(team, on=keys, how="left")
         .join(team_games, on=["season", "season_type", "team"], how="left")
         .join(games, on=keys, how="left")
         .with_columns(pl.col("team_games").cast(pl.Int64), pl.col("games").cast(pl.Int64)))
    s = s.with_columns((pl.col("dropbacks") >= agg.season_dropbacks_per_team_game
                        * pl.col("team_games").fill_null(0)).alias("qualified"))
    if agg.scales:
        s = apply_scale(s, agg, "season")
        s = rank_rows(s, ["season", "season_type"])
    return s.sort(keys)
