"""Sufficient statistics under every score: per-play component columns, per QB-game sums
(counts, component sums, cross-product sums) and the league's sums per week.

Plays arrive as `play_predictions` rows (PLAY_COLUMNS). Group sums add in row order after a
stable sort, so a score is bit-for-bit repeatable and a season's rows do not depend on which
other seasons were summed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

# component -> play_predictions column (docs/scoring.md); the production components are
# vocabulary.COMPONENTS, the rest serve the validity study's candidates
SOURCES: dict[str, str] = {
    "completion": "cpoe", "interception": "int_avoided", "sack": "sack_avoided",
    "yards": "yards_z", "yards_qb": "yards_qb_z", "aggressiveness": "aggressiveness_z",
    "yac": "yac_z", "epa": "epa_oe", "epa_qb": "epa_qb_oe", "success": "success_oe"}
# components whose weight may take either sign (style axes); the rest are "higher = better"
FREE_SIGN: frozenset[str] = frozenset({"aggressiveness", "yac"})
ID_COLUMNS: tuple[str, ...] = ("game_id", "play_id", "passer_id", "passer", "posteam",
                               "defteam", "season", "week", "season_type")
# the play_predictions columns the aggregator reads
PLAY_COLUMNS: tuple[str, ...] = (*ID_COLUMNS, "model_eligible", "epa", "qb_epa",
                                 *dict.fromkeys(SOURCES.values()))
GAME_KEYS = ["season", "season_type", "week", "game_id", "passer_id"]
BASE_SUMS = ("n", "db", "epa_n", "epa_s", "cp_n", "cp_s")


def sum_columns(k: int) -> list[str]:
    """Summed columns of k components: counts, s<i> (sums) and q<i>_<j> (cross products)."""
    return ([*BASE_SUMS, "n2"] + [f"s{i}" for i in range(k)]
            + [f"q{i}_{j}" for i in range(k) for j in range(i, k)])


def prepare(plays: pl.DataFrame, components: Sequence[str]) -> pl.DataFrame:
    """Per-dropback frame: keys, n (1 when scored), db, EPA and CPOE sums and c<i> (the i-th
    component on a scored dropback, else 0; a component missing on a play counts 0).

    EPA is the source's QB EPA (`qb_epa`, else `epa`), as the peers' EPA per dropback.
    """
    scored = pl.col("model_eligible").cast(pl.Boolean).fill_null(False)
    epa = (pl.coalesce(pl.col("qb_epa").cast(pl.Float64), pl.col("epa").cast(pl.Float64))
           if "qb_epa" in plays.columns else pl.col("epa").cast(pl.Float64))
    df = plays.filter(pl.col("passer_id").is_not_null())
    return df.select(
        pl.col("season").cast(pl.Int64), "season_type", pl.col("week").cast(pl.Int64),
        "game_id", pl.col("play_id").cast(pl.Int64), "passer_id",
        pl.col("passer").cast(pl.String), "posteam", "defteam",
        scored.cast(pl.Float64).alias("n"), pl.lit(1.0).alias("db"),
        epa.is_not_null().cast(pl.Float64).alias("epa_n"), epa.fill_null(0.0).alias("epa_s"),
        (pl.col("cpoe").is_not_null() & scored).cast(pl.Float64).alias("cp_n"),
        pl.when(scored).then(pl.col("cpoe").cast(pl.Float64)).otherwise(0.0).fill_null(0.0)
        .alias("cp_s"),
        *[pl.when(scored).then(pl.col(SOURCES[c]).cast(pl.Float64)).otherwise(0.0)
          .fill_null(0.0).fill_nan(0.0).alias(f"c{i}") for i, c in enumerate(components)],
    ).sort(["season", "week", "game_id", "play_id", "passer_id"], maintain_order=True)


def _starts(df: pl.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Row index where each run of equal keys starts (df sorted by keys)."""
    change = np.zeros(df.height, dtype=bool)
    if df.height:
        change[0] = True
    for k in keys:
        a = df[k].to_numpy()
        change[1:] |= a[1:] != a[:-1]
    return np.flatnonzero(change)


def group_sums(df: pl.DataFrame, keys: list[str], cols: Sequence[str]) -> pl.DataFrame:
    """Sums of cols per key group, summed sequentially in row order (bit-for-bit repeatable)."""
    df = df.sort(keys, maintain_order=True)
    if df.height == 0:
        return df.select(keys).with_columns([pl.lit(0.0).alias(c) for c in cols]).head(0)
    starts = _starts(df, keys)
    out = df.select(keys)[starts]
    return out.with_columns([
        pl.Series(c, np.add.reduceat(df[c].to_numpy().astype(np.float64), starts))
        for c in cols])


def sum_by(games: pl.DataFrame, keys: list[str], k: int) -> pl.DataFrame:
    """Game statistics (sum_columns(k)) summed per keys."""
    return group_sums(games, keys, sum_columns(k))


def mode(df: pl.DataFrame, keys: list[str], col: str, out: str,
         weight: str | None = None) -> pl.DataFrame:
    """Most frequent non-null value of col per group (by row count, or by the sum of
    `weight`); ties alphabetical."""
    base = df.filter(pl.col(col).is_not_null())
    counts = (base.group_by([*keys, col]).agg(pl.col(weight).sum().alias("len"))
              if weight is not None else base.group_by([*keys, col]).len())
    counts = counts.sort([*keys, "len", col], descending=[False] * len(keys) + [True, False])
    return counts.unique(keys, keep="first", maintain_order=True).select(
        *keys, pl.col(col).alias(out))


def game_stats(p: pl.DataFrame, k: int) -> pl.DataFrame:
    """Sufficient statistics per QB-game of prepared plays (sum_columns(k)), with the passer's
    name, team and opponent."""
    p = p.sort(GAME_KEYS, maintain_order=True)
    starts = _starts(p, GAME_KEYS)
    out = p.select(GAME_KEYS)[starts]
    cols: dict[str, np.ndarray] = {}
    if p.height:
        for c in BASE_SUMS:
            cols[c] = np.add.reduceat(p[c].to_numpy().astype(np.float64), starts)
        comp = (np.column_stack([p[f"c{i}"].to_numpy().astype(np.float64) for i in range(k)])
                if k else np.zeros((p.height, 0)))
        for i in range(k):
            cols[f"s{i}"] = np.add.reduceat(comp[:, i], starts)
        for i in range(k):
            for j in range(i, k):
                cols[f"q{i}_{j}"] = np.add.reduceat(comp[:, i] * comp[:, j], starts)
    else:
        cols = {c: np.zeros(0) for c in sum_columns(k) if c != "n2"}
    g = out.with_columns([pl.Series(name, v) for name, v in cols.items()])
    g = g.with_columns((pl.col("n") * pl.col("n")).alias("n2"))
    for col, name in (("passer", "passer_name"), ("posteam", "team"), ("defteam", "opponent")):
        g = g.join(mode(p, GAME_KEYS, col, name), on=GAME_KEYS, how="left")
    return g.select(*GAME_KEYS, "passer_name", "team", "opponent", *sum_columns(k))


def league_weeks(games: pl.DataFrame, k: int) -> pl.DataFrame:
    """League sums per (season, week) of scored dropbacks (every passer, REG and POST); n2 =
    sum over QB-games of n^2 (the clustering of the league reference)."""
    cols = ["n", "n2", "epa_n", "epa_s", *(f"s{i}" for i in range(k))]
    return group_sums(games, ["season", "week"], cols)


def league_means(lw: pl.DataFrame, k: int, mode_: str = "to_date") -> pl.DataFrame:
    """League reference per (season, week): L0..L{k-1}, L_epa, L_n (plays behind it).

    to_date: mean of the season's scored dropbacks through that week (season rows and
    boards); week: that week's dropbacks only (single games).
    """
    cols = ["n", "n2", "epa_n", "epa_s", *(f"s{i}" for i in range(k))]
    lw = lw.sort(["season", "week"])
    cum = (lw.with_columns([pl.col(c).alias(f"c_{c}") for c in cols]) if mode_ == "week" else
           lw.with_columns([pl.col(c).cum_sum().over("season").alias(f"c_{c}") for c in cols]))
    return cum.select(
        "season", "week", *[(pl.col(f"c_s{i}") / pl.col("c_n")).alias(f"L{i}") for i in range(k)],
        (pl.col("c_epa_s") / pl.col("c_epa_n")).alias("L_epa"),
        pl.col("c_n").alias("L_n"))


@dataclass(frozen=True)
class Stats:
    """Sufficient statistics of a set of plays for one component list: per QB-game sums
    (`games`) and league sums per (season, week) (`league`)."""

    components: tuple[str, ...]
    games: pl.DataFrame
    league: pl.DataFrame

    def where(self, predicate: pl.Expr, league: pl.Expr | None = None) -> Stats:
        """Games filtered by predicate (league rows by `league`, default: unfiltered)."""
        lg = self.league if league is None else self.league.filter(league)
        return Stats(self.components, self.games.filter(predicate), lg)

    def through(self, week: int) -> Stats:
        """The season to date through `week` (games and league)."""
        return self.where(pl.col("week") <= week, pl.col("week") <= week)

    def seasons(self, seasons: Sequence[int]) -> Stats:
        """Only the given seasons (games and league)."""
        keep = pl.col("season").is_in(list(seasons))
        return self.where(keep, keep)


def summarise(plays: pl.DataFrame, components: Sequence[str]) -> Stats:
    """The sufficient statistics of play_predictions rows (PLAY_COLUMNS) for the components."""
    comps = tuple(components)
    missing = [c for c in comps if c not in SOURCES]
    if missing:
        raise ValueError(f"unknown score components {missing}: use {sorted(SOURCES)}")
    g = game_stats(prepare(plays, comps), len(comps))
    return Stats(comps, g, league_weeks(g, len(comps)))
