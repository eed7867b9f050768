"""Season-to-date boards: the season rows of one scope through a week, the change since the
previous week, and the boards after each week of a season (the report's trajectories and the
drift check). A football split is scored from its own plays' statistics: its league reference
is the split's league to date, so no re-centring of the scale is needed."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from passing_score.models.aggregator.apply import season_rows
from passing_score.models.aggregator.params import Aggregator
from passing_score.models.aggregator.posterior import rank_rows
from passing_score.models.aggregator.sums import Stats
from passing_score.pipeline.foundation.errors import InputError


def board_rows(agg: Aggregator, stats: Stats, season_type: str, week: int,
               min_dropbacks: int | None) -> pl.DataFrame:
    """Season rows of one scope through `week`; qualified/rank by min_dropbacks if given."""
    rows = season_rows(agg, stats, scopes=(season_type,), through_week=week)
    if min_dropbacks is not None:
        rows = rank_rows(rows.with_columns((pl.col("dropbacks") >= min_dropbacks)
                                           .alias("qualified")), ["season", "season_type"])
    return rows


def season_to_date(agg: Aggregator, stats: Stats, season: int, season_type: str,
                   week: int | None, min_dropbacks: int | None) -> pl.DataFrame:
    """The qualified QBs of one season and scope through `week` (default: all of it), ranked,
    with `score_change` against the board of the previous week with games and a `week`
    column naming the last week included. `stats`: statistics of that season's plays."""
    stats = stats.seasons([season])
    games = stats.games
    scope = games if season_type == "ALL" else games.filter(pl.col("season_type") == season_type)
    weeks = sorted(set(scope["week"].to_list()))
    if not weeks:
        raise InputError(f"season {season} has no {season_type} games")
    last = weeks[-1] if week is None else max([w for w in weeks if w <= week], default=None)
    if last is None:
        raise InputError(f"season {season} has no {season_type} games by week {week} "
                         f"(first week: {weeks[0]})")
    board = board_rows(agg, stats, season_type, last, min_dropbacks)
    prev = [w for w in weeks if w < last]
    if prev:
        before = board_rows(agg, stats, season_type, prev[-1], min_dropbacks)
        board = board.join(before.select("passer_id", pl.col("score").alias("_prev")),
                           on="passer_id", how="left").with_columns(
            (pl.col("score") - pl.col("_prev")).alias("score_change")).drop("_prev")
    else:
        board = board.with_columns(pl.lit(None, pl.Float64).alias("score_change"))
    board = board.filter(pl.col("qualified")).sort(["rank"])
    return board.with_columns(pl.lit(last).cast(pl.Int64).alias("week"))


def board_by_week(agg: Aggregator, stats: Stats, season: int,
                  weeks: Sequence[int] | None = None) -> pl.DataFrame:
    """Season-to-date REG rows of every QB after each week (default: each REG week with
    games), stacked with an `after_week` column; the last is the season row."""
    st = stats.where((pl.col("season") == season) & (pl.col("season_type") == "REG"),
                     pl.col("season") == season)
    have = sorted(set(st.games["week"].to_list()))
    parts = [season_rows(agg, st, scopes=("REG",), through_week=wk)
             .with_columns(pl.lit(wk).cast(pl.Int64).alias("after_week"))
             for wk in (have if weeks is None else weeks)]
    if not parts:
        return pl.DataFrame(schema={"season": pl.Int64, "passer_id": pl.String,
                                    "after_week": pl.Int64, "score": pl.Float64})
    return pl.concat(parts, how="diagonal_relaxed")
