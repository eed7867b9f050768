"""Per-play sums and deterministic group sums: the arithmetic under every score.

Plays arrive as `play_predictions` rows; `prepare` adds the per-play sum columns (scored
dropbacks, EPA, CPOE, components), `with_values` the weighted play value. Group sums add in
row order, so a score is bit-for-bit repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from passing_score.pipeline.foundation.vocabulary import COMPONENTS

# component -> play_predictions column; every component is "higher = better for the QB"
# except aggressiveness, a style axis (deeper throws than expected) whose sign the fit decides
SOURCE: dict[str, str] = {"completion": "cpoe", "interception": "int_avoided",
                          "sack": "sack_avoided", "yards": "yards_z",
                          "aggressiveness": "aggressiveness_z"}
NONNEG: frozenset[str] = frozenset({"completion", "interception", "sack", "yards"})
# the play_predictions columns the aggregator reads
PLAY_COLUMNS: tuple[str, ...] = ("game_id", "play_id", "passer_id", "passer", "posteam",
                                 "defteam", "season", "week", "season_type", "model_eligible",
                                 "epa", *SOURCE.values())
SUM_COLS = ["n", "db", "epa_n", "epa_s", "cp_n", "cp_s", "v", *(f"c_{c}" for c in COMPONENTS)]


def prepare(df: pl.DataFrame) -> pl.DataFrame:
    """Cast, sort by (season, week, game, play) and add the per-play sum columns (plays as
    `play_predictions` rows with PLAY_COLUMNS)."""
    scored = pl.col("model_eligible").cast(pl.Boolean).fill_null(False)
    df = df.with_columns(
        pl.col("season").cast(pl.Int64), pl.col("week").cast(pl.Int64),
        pl.col("play_id").cast(pl.Int64), pl.col("passer").cast(pl.String),
        pl.col("epa").cast(pl.Float64),
        *[pl.col(s).cast(pl.Float64) for s in SOURCE.values()],
    ).sort(["season", "week", "game_id", "play_id", "passer_id"], maintain_order=True)
    return df.with_columns(
        scored.cast(pl.Float64).alias("n"),
        pl.lit(1.0).alias("db"),
        pl.col("epa").is_not_null().cast(pl.Float64).alias("epa_n"),
        pl.col("epa").fill_null(0.0).alias("epa_s"),
        (pl.col("cpoe").is_not_null() & scored).cast(pl.Float64).alias("cp_n"),
        pl.when(scored).then(pl.col("cpoe")).fill_null(0.0).alias("cp_s"),
        *[pl.when(scored).then(pl.col(SOURCE[c])).otherwise(0.0).fill_null(0.0)
          .alias(f"c_{c}") for c in COMPONENTS],
    )


def with_values(p: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Add the play value v = sum_k w_k * c_k (0 on unscored dropbacks)."""
    v = pl.lit(0.0)
    for c in COMPONENTS:
        v = v + pl.col(f"c_{c}") * float(weights[c])
    return p.with_columns(v.alias("v"))


def group_sums(df: pl.DataFrame, keys: list[str], cols: Sequence[str]) -> pl.DataFrame:
    """Sums of cols per key group, summed sequentially in row order (bit-for-bit repeatable)."""
    df = df.sort(keys, maintain_order=True)
    if df.height == 0:
        return df.select(keys).with_columns([pl.lit(0.0).alias(c) for c in cols]).head(0)
    change = np.zeros(df.height, dtype=bool)
    change[0] = True
    for k in keys:
        a = df[k].to_numpy()
        change[1:] |= a[1:] != a[:-1]
    starts = np.flatnonzero(change)
    out = df.select(keys)[starts]
    return out.with_columns([
        pl.Series(c, np.add.reduceat(df[c].to_numpy().astype(np.float64), starts))
        for c in cols])


def mode(df: pl.DataFrame, keys: list[str], col: str, out: str) -> pl.DataFrame:
    """Most frequent non-null value of col per group (ties: alphabetical)."""
    counts = (df.filter(pl.col(col).is_not_null()).group_by([*keys, col]).len()
              .sort([*keys, "len", col], descending=[False] * len(keys) + [True, False]))
    return counts.unique(keys, keep="first", maintain_order=True).select(
        *keys, pl.col(col).alias(out))


def league_by_week(p: pl.DataFrame) -> pl.DataFrame:
    """Cumulative league sums per (season, week): the season-to-date shrinkage targets."""
    cols = ["n", "v", *(f"c_{c}" for c in COMPONENTS)]
    wk = group_sums(p, ["season", "week"], cols).sort(["season", "week"])
    return wk.with_columns([pl.col(c).cum_sum().over("season").alias(f"cum_{c}") for c in cols])


def league_at(league: pl.DataFrame, frame: pl.DataFrame, week_col: str) -> pl.DataFrame:
    """Join the league means through week `week_col` of the same season onto frame."""
    cols = ["v", *(f"c_{c}" for c in COMPONENTS)]
    lm = league.select(
        "season", pl.col("week").alias(week_col),
        *[(pl.col(f"cum_{c}") / pl.col("cum_n")).alias(f"m_{c}") for c in cols])
    out = frame.with_columns(pl.col(week_col).cast(pl.Int64)).join(
        lm, on=["season", week_col], how="left")
    return out.with_columns([pl.col(f"m_{c}").fill_null(0.0).fill_nan(0.0) for c in cols])
