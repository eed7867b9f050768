"""Our score per REG QB-season and per half-season (odd / even weeks) from a fitted aggregator:
what the validity studies correlate. The value is the shrunk play value relative to the league
(`value_rel`), the quantity the 50-99 score maps monotonically."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from passing_score.models.aggregator import Aggregator, Stats, season_rows

OURS = "passing_score"
UNSHRUNK = "passing_score_unshrunk"
KEEP = ("play_value_sd", "scored_dropbacks", "n", "n2", "score", "score_low", "score_high",
        "play_value", "league_mean")


def halves(stats: Stats) -> Stats:
    """The statistics with a `half` column (week % 2: 1 = odd weeks, 0 = even weeks)."""
    return Stats(stats.components, stats.games.with_columns((pl.col("week") % 2).alias("half")),
                 stats.league)


def season_and_halves(agg: Aggregator, stats: Stats, seasons: Sequence[int] | None = None
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """REG full-season and half-season values (OURS, UNSHRUNK and the row's interval columns)
    of the given seasons (default: every season in stats)."""
    st = stats if seasons is None else stats.seasons(seasons)
    reg = st.where(pl.col("season_type") == "REG")
    cols: list[pl.Expr | str] = [pl.col("value_rel").alias(OURS),
            (pl.col("play_value") - pl.col("league_mean")).alias(UNSHRUNK), *KEEP]
    full = season_rows(agg, reg, scopes=("REG",)).select("season", "passer_id", *cols)
    half = season_rows(agg, halves(reg), scopes=("REG",), keys_extra=("half",)).select(
        "season", "passer_id", "half", *cols)
    return full, half
