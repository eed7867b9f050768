"""Applying a fitted aggregator to play statistics: game rows (relative to that week's league)
and season / season-to-date rows (relative to the league's season to date), with shrunk values,
50-99 scores on the one true-talent scale, 80% intervals, component scores and ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from passing_score.models.aggregator.params import Z_INTERVAL, Aggregator, arr
from passing_score.models.aggregator.posterior import (
    posterior_values,
    rank_rows,
    row_dot,
    to_score,
)
from passing_score.models.aggregator.roles import game_share, season_share
from passing_score.models.aggregator.sums import Stats, league_means, mode, sum_by
from passing_score.pipeline.foundation.vocabulary import SEASON_TYPES


def _check(agg: Aggregator, stats: Stats) -> int:
    if stats.components != agg.components:
        raise ValueError(f"statistics of {stats.components} cannot be scored by "
                         f"{agg.config.name} ({agg.components})")
    return len(agg.components)


def _scored(agg: Aggregator, g: pl.DataFrame, level: str, share: np.ndarray | None
            ) -> pl.DataFrame:
    """Rows with league means L<i> (and L_n) joined: value, interval, score, components."""
    k = len(agg.components)
    n = g["n"].to_numpy().astype(np.float64)
    s = np.column_stack([g[f"s{i}"].to_numpy() for i in range(k)]).astype(np.float64) \
        if g.height else np.zeros((0, k))
    lm = np.column_stack([g[f"L{i}"].fill_null(0.0).to_numpy() for i in range(k)]) \
        if g.height else np.zeros((0, k))
    xrel = s / np.maximum(n, 1e-9)[:, None] - lm
    w = agg.w
    value, sd, theta = posterior_values(agg.prior(level), w, agg.config.shrink, xrel, n,
                                        g["n2"].to_numpy() if level == "season" else None, share)
    # the league reference is itself a mean of L_n plays
    ln = g["L_n"].fill_null(0.0).to_numpy().astype(np.float64)
    v_ref = float(w @ arr(agg.game.noise) @ w) / np.maximum(ln, 1.0)
    sd = np.sqrt(sd ** 2 + np.where(ln > 0, v_ref, 0.0))
    sc = agg.scale
    league_v = row_dot(lm, w)
    cols: dict[str, Any] = {
        "play_value": np.where(n > 0, row_dot(xrel + lm, w), np.nan),
        "play_value_shrunk": league_v + value, "play_value_sd": sd, "league_mean": league_v,
        "value_rel": value, "score": to_score(value, sc.mean, sc.sd),
        "score_low": to_score(value - Z_INTERVAL * sd, sc.mean, sc.sd),
        "score_high": to_score(value + Z_INTERVAL * sd, sc.mean, sc.sd)}
    for i, c in enumerate(agg.components):
        m_c, s_c = sc.components[c]
        cols[f"comp_{c}"] = to_score(theta[:, i], m_c, s_c)
        cols[f"val_{c}"] = w[i] * theta[:, i]  # sums to value_rel
    out = g.with_columns([pl.Series(name, v, dtype=pl.Float64) for name, v in cols.items()])
    epa_n, cp_n = pl.col("epa_n"), pl.col("cp_n")
    return out.with_columns(
        pl.when(epa_n > 0).then(pl.col("epa_s") / epa_n).alias("epa_per_dropback"),
        pl.when(cp_n > 0).then(100.0 * pl.col("cp_s") / cp_n).alias("cpoe"),
        pl.col("db").cast(pl.Int64).alias("dropbacks"),
        pl.col("n").cast(pl.Int64).alias("scored_dropbacks"),
        cp_n.cast(pl.Int64).alias("cp_attempts"))


def game_rows(agg: Aggregator, stats: Stats, results: pl.DataFrame | None = None
              ) -> pl.DataFrame:
    """One row per QB x game, measured against that week's league; a fill-in's game (under
    half of his team's dropbacks to date) starts from the fill-in prior. `results` (game_id,
    team, team_points, opp_points, win) is joined when given."""
    k = _check(agg, stats)
    league = league_means(stats.league, k, "week")
    g = stats.games.join(league, on=["season", "week"], how="left", maintain_order="left")
    share = game_share(g) if agg.game.fill_in is not None else None
    out = _scored(agg, g, "game", share).with_columns(
        (pl.col("db") >= agg.game_min_dropbacks).alias("qualified"))
    out = rank_rows(out, ["season", "season_type", "week"])
    if results is not None and results.height:
        out = out.join(results, on=["game_id", "team"], how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("team_points"),
                               pl.lit(None, pl.Int64).alias("opp_points"),
                               pl.lit(None, pl.Float64).alias("win"))
    return out.sort(["season", "season_type", "week", "game_id", "passer_id"])


def season_rows(agg: Aggregator, stats: Stats, scopes: Sequence[str] = SEASON_TYPES,
                through_week: int | None = None, keys_extra: Sequence[str] = ()
                ) -> pl.DataFrame:
    """One row per QB x season x scope (REG, POST, ALL = both), season to date through
    `through_week` (default: every week given); `keys_extra` are further grouping columns of
    the games (e.g. `half`). Measured against the league's season to date."""
    k = _check(agg, stats)
    if through_week is not None:
        stats = stats.through(through_week)
    league = league_means(stats.league, k, "to_date")
    keys = ["season", "passer_id", *keys_extra]
    parts = []
    for scope in scopes:
        sub = (stats.games if scope == "ALL"
               else stats.games.filter(pl.col("season_type") == scope))
        if sub.height == 0:
            continue
        end = sub.group_by("season").agg(pl.col("week").max().alias("week_end"))
        team = mode(sub, ["season", "passer_id"], "team", "team", weight="db")
        name = mode(sub, ["season", "passer_id"], "passer_name", "passer_name", weight="db")
        team_games = (sub.select("season", "team", "game_id").unique()
                      .group_by(["season", "team"]).len().rename({"len": "team_games"}))
        games = (sub.select(*keys, "game_id").unique().group_by(keys).len()
                 .rename({"len": "games"}))
        agg_rows = (sum_by(sub, keys, k).join(end, on="season")
                    .join(team, on=["season", "passer_id"], how="left")
                    .join(name, on=["season", "passer_id"], how="left")
                    .join(team_games, on=["season", "team"], how="left")
                    .join(games, on=keys, how="left"))
        j = agg_rows.join(league.rename({"week": "week_end"}), on=["season", "week_end"],
                          how="left", maintain_order="left")
        share = season_share(sub, j, keys_extra) if agg.season.fill_in is not None else None
        parts.append(_scored(agg, j, "season", share).with_columns(
            pl.lit(scope).alias("season_type"),
            pl.col("games").cast(pl.Int64), pl.col("team_games").cast(pl.Int64),
            (pl.col("db") >= agg.season_dropbacks_per_team_game
             * pl.col("team_games").fill_null(0)).alias("qualified")))
    if not parts:
        return pl.DataFrame(schema={"season": pl.Int64, "season_type": pl.String,
                                    "passer_id": pl.String, "score": pl.Float64,
                                    "qualified": pl.Boolean, "rank": pl.Int64})
    out = pl.concat(parts, how="diagonal_relaxed")
    out = rank_rows(out, ["season", "season_type", *keys_extra])
    return out.sort(["season", "season_type", *keys_extra, "passer_id"])
