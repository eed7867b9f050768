"""Small statistics of the validity study: correlations over finite pairs, Spearman-Brown,
AUC, and the half-season and next-season pairs they are computed on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.stats import rankdata


def pearson(x: Sequence[float] | np.ndarray | pl.Series,
            y: Sequence[float] | np.ndarray | pl.Series) -> float | None:
    """Pearson r over pairs where both are finite (None with < 3 pairs or no spread)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def spearman_brown(r: float | None) -> float | None:
    """Reliability of the full season from the half-season correlation: 2r / (1 + r)."""
    if r is None or r <= -1:
        return None
    return 2 * r / (1 + r)


def auc(score: Sequence[float] | np.ndarray, win: Sequence[float] | np.ndarray) -> float | None:
    """P(score of a win > score of a loss) (Mann-Whitney; ties count half; draws dropped)."""
    s = np.asarray(score, dtype=np.float64)
    w = np.asarray(win, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(w) & (w != 0.5)
    s, w = s[ok], w[ok]
    n1, n0 = int((w == 1).sum()), int((w == 0).sum())
    if n1 == 0 or n0 == 0:
        return None
    r = rankdata(s)
    return float((r[w == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def half_pairs(halves: pl.DataFrame, metric: str) -> pl.DataFrame:
    """(odd, even) values of a metric per QB-season: columns season, passer_id, a, b."""
    odd = halves.filter(pl.col("half") == 1).select("season", "passer_id",
                                                    pl.col(metric).alias("a"))
    even = halves.filter(pl.col("half") == 0).select("season", "passer_id",
                                                     pl.col(metric).alias("b"))
    return odd.join(even, on=["season", "passer_id"]).sort(["season", "passer_id"])


def next_season_pairs(seasons: pl.DataFrame, metric: str, target: str,
                      later: pl.DataFrame | None = None) -> pl.DataFrame:
    """Same QB in seasons t and t+1: columns season, passer_id, a (metric, t), b (target, t+1).

    `later` (default: seasons) holds the t+1 rows.
    """
    later = seasons if later is None else later
    now = seasons.select("season", "passer_id", pl.col(metric).alias("a"))
    nxt = later.select((pl.col("season") - 1).alias("season"), "passer_id",
                       pl.col(target).alias("b"))
    return now.join(nxt, on=["season", "passer_id"]).sort(["season", "passer_id"])
