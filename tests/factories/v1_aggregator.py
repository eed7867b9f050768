"""The aggregator before issue 15, reduced to its season-to-date maths and frozen here as the
reference the drift test shows failing: five components, one univariate shrinkage of the play
value toward the league's mean to date in absolute units (k = within / between variance), and
an absolute 50-99 scale (mean and sd of the shrunk values of qualified training seasons)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from passing_score.models.aggregator import to_score
from passing_score.models.aggregator.ridge import fit_ridge

SOURCES = {"completion": "cpoe", "interception": "int_avoided", "sack": "sack_avoided",
           "yards": "yards_qb_z", "aggressiveness": "aggressiveness_z"}
NONNEG = np.array([True, True, True, True, False])


@dataclass(frozen=True)
class V1:
    """The fitted reference: weights, shrinkage constant and scale."""

    weights: np.ndarray
    k: float
    mean: float
    sd: float


def _valued(pred: pl.DataFrame, w: np.ndarray) -> pl.DataFrame:
    v = sum((pl.col(c).fill_null(0.0) * float(w[i]) for i, c in enumerate(SOURCES.values())),
            pl.lit(0.0))
    return pred.select("season", "week", "passer_id", "game_id", "qb_epa", v.alias("v"),
                       *SOURCES.values())


def _rows(tv: pl.DataFrame, fit_k: float, through: int | None) -> pl.DataFrame:
    """Season (to date) rows: raw mean, shrunk toward the league's mean to date."""
    if through is not None:
        tv = tv.filter(pl.col("week") <= through)
    league = tv.group_by("season").agg(pl.col("v").mean().alias("m"),
                                       pl.col("game_id").n_unique().alias("league_games"))
    g = tv.group_by(["season", "passer_id"]).agg(pl.col("v").mean().alias("x"),
                                                 pl.len().alias("n"),
                                                 pl.col("game_id").n_unique().alias("games"))
    g = g.join(league, on="season")
    return g.with_columns((pl.col("m") + pl.col("n") / (pl.col("n") + fit_k)
                           * (pl.col("x") - pl.col("m"))).alias("shrunk"))


def fit_v1(pred: pl.DataFrame, train: Sequence[int]) -> V1:
    """Weights (other-half EPA/db), k and the absolute scale on the training seasons."""
    tr = pred.filter(pl.col("season").is_in(list(train)))
    cols = list(SOURCES.values())
    h = tr.with_columns((pl.col("week") % 2).alias("half")).group_by(
        ["season", "passer_id", "half"]).agg(*[pl.col(c).mean() for c in cols],
                                             pl.col("qb_epa").mean().alias("y"), pl.len())
    h = h.filter(pl.col("len") >= 50)
    pairs = h.filter(pl.col("half") == 1).join(h.filter(pl.col("half") == 0),
                                               on=["season", "passer_id"], suffix="_o")
    x = np.vstack([pairs.select(cols).to_numpy(),
                   pairs.select([f"{c}_o" for c in cols]).to_numpy()])
    y = np.concatenate([pairs["y_o"].to_numpy(), pairs["y"].to_numpy()])
    n = np.concatenate([pairs["len"].to_numpy(), pairs["len_o"].to_numpy()]).astype(float)
    grp = np.concatenate([pairs["season"].to_numpy()] * 2)
    w = np.asarray(fit_ridge(x, y, n, grp, NONNEG)["coef"])
    tv = _valued(tr, w)
    g = tv.group_by(["season", "passer_id"]).agg(pl.col("v").mean().alias("x"),
                                                 pl.col("v").var(ddof=0).alias("s2"),
                                                 pl.len().alias("n"))
    sigma2 = float((g["s2"] * g["n"]).sum() / (g["n"].sum() - g.height))
    big = g.filter(pl.col("n") >= 100).join(
        tv.group_by("season").agg(pl.col("v").mean().alias("m")), on="season")
    tau2 = max(float(((big["x"] - big["m"]) ** 2).mean()
                     - sigma2 * float((1.0 / big["n"]).mean())), 1e-4 * sigma2)
    k = sigma2 / tau2
    rows = _rows(tv, k, None).filter(pl.col("n") >= 14 * 16)
    return V1(w, k, float(rows["shrunk"].mean()), float(rows["shrunk"].std(ddof=0)))


def median_by_week(fit: V1, pred: pl.DataFrame, season: int, weeks: Sequence[int]
                   ) -> dict[int, float]:
    """Median score of qualified QBs (14 dropbacks per team game) after each week."""
    tv = _valued(pred.filter(pl.col("season") == season), fit.weights)
    out = {}
    for k in weeks:
        r = _rows(tv, fit.k, k).filter(pl.col("n") >= 14 * pl.col("games"))
        out[k] = float(np.median(to_score(r["shrunk"].to_numpy(), fit.mean, fit.sd)))
    return out
