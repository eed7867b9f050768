"""Small statistics of the validity study: correlations over finite pairs, Spearman-Brown,
AUC, and the half-season and next-season pairs they are computed on."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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


# ---------------------------------------------------------------- the rolling study's tables

CRITERIA: tuple[str, ...] = ("split_half", "yoy", "next_season_epa")


def r4(x: float | None) -> float | None:
    """A correlation rounded to 4 places (None stays None; NaN becomes None)."""
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def pair_tables(seasons: pl.DataFrame, halves: pl.DataFrame, metrics: Sequence[str],
                lo: int, hi: int) -> dict[str, pl.DataFrame]:
    """Wide pair tables on the seasons lo..hi, one row per pair with `<m>` and `<m>_b` columns:
    `split_half` (odd-week half vs even-week half) and `yoy` (season t vs t+1, both in
    lo..hi), each on the pairs every metric has."""
    s = seasons.filter(pl.col("season").is_between(lo, hi))
    h = halves.filter(pl.col("season").is_between(lo, hi))
    hp = (h.filter(pl.col("half") == 1).drop("half")
          .join(h.filter(pl.col("half") == 0).drop("half"), on=["season", "passer_id"],
                suffix="_b"))
    hm = [m for m in metrics if m in hp.columns]
    hp = hp.drop_nulls(hm + [f"{m}_b" for m in hm]).sort(["season", "passer_id"])
    nxt = s.join(s.with_columns(pl.col("season") - 1), on=["season", "passer_id"], suffix="_b")
    nxt = nxt.drop_nulls([m for m in metrics if m != "qbr"]).sort(["season", "passer_id"])
    return {"split_half": hp, "yoy": nxt}


def correlations(tabs: dict[str, pl.DataFrame], metrics: Sequence[str],
                 idx: dict[str, np.ndarray] | None = None
                 ) -> dict[str, dict[str, float | None]]:
    """Split-half r, Spearman-Brown, year-over-year r and next-season EPA/db r of each metric
    on the pair tables (rows `idx` of each table when resampling)."""
    hp, ny = tabs["split_half"], tabs["yoy"]
    ih = idx["split_half"] if idx is not None else np.arange(hp.height)
    iy = idx["yoy"] if idx is not None else np.arange(ny.height)
    epa_b = ny["epa_per_dropback_b"].to_numpy()[iy] if ny.height else np.zeros(0)
    out: dict[str, dict[str, float | None]] = {}
    for m in metrics:
        r = pearson(hp[m].to_numpy()[ih], hp[f"{m}_b"].to_numpy()[ih]) if hp.height else None
        y = ny[m].to_numpy()[iy] if ny.height else np.zeros(0)
        out[m] = {"split_half": r, "split_half_sb": spearman_brown(r),
                  "yoy": pearson(y, ny[f"{m}_b"].to_numpy()[iy]) if ny.height else None,
                  "next_season_epa": pearson(y, epa_b) if ny.height else None}
    return out


def _clusters(df: pl.DataFrame) -> dict[str, np.ndarray]:
    """Row indices of each QB in a pair table."""
    if df.height == 0:
        return {}
    ids = df["passer_id"].to_numpy()
    order = np.argsort(ids, kind="stable")
    u, start = np.unique(ids[order], return_index=True)
    return dict(zip(u.tolist(), np.split(order, start[1:]), strict=True))


def _ci(a: np.ndarray) -> list[float] | None:
    a = a[np.isfinite(a)]
    if len(a) < 10:
        return None
    return [round(float(np.percentile(a, 2.5)), 4), round(float(np.percentile(a, 97.5)), 4)]


def bootstrap(tabs: dict[str, pl.DataFrame], metrics: Sequence[str], ours: str,
              reps: int = 2000, seed: int = 15) -> dict[str, Any]:
    """Percentile 95% CIs over QBs (each QB's pairs resampled together) of every r and of
    ours minus each metric (paired: the same resample for both), with the share of resamples
    where ours is higher."""
    rng = np.random.default_rng(seed)
    cl = {k: _clusters(v) for k, v in tabs.items()}
    qbs = sorted(set().union(*[set(c) for c in cl.values()]))
    draws = {m: {c: np.full(reps, np.nan) for c in CRITERIA} for m in metrics}
    for b in range(reps if qbs else 0):
        pick = [qbs[i] for i in rng.choice(len(qbs), len(qbs), replace=True)]
        idx = {k: np.concatenate([c[q] for q in pick if q in c] or [np.zeros(0, np.int64)])
               for k, c in cl.items()}
        r = correlations(tabs, metrics, idx)
        for m in metrics:
            for c in CRITERIA:
                v = r[m][c]
                draws[m][c][b] = np.nan if v is None else v
    out: dict[str, Any] = {"reps": reps, "seed": seed}
    for m in metrics:
        out[m] = {}
        for c in CRITERIA:
            a = draws[m][c]
            d = draws[ours][c] - a
            ok = np.isfinite(d)
            out[m][c] = {"ci": _ci(a),
                         "diff_ours_minus": None if m == ours else _ci(d),
                         "p_ours_better": None if m == ours or not ok.any()
                         else round(float((d[ok] > 0).mean()), 4)}
        sh = draws[m]["split_half"]
        out[m]["split_half_sb"] = {"ci": _ci(2 * sh / (1 + sh))}
    return out


def team_changers(seasons: pl.DataFrame, metrics: Sequence[str], lo: int, hi: int
                  ) -> dict[str, Any]:
    """Pairs (t, t+1) in lo..hi whose team differs (changers) or not (stayers): each metric's
    r with next-season EPA/db and with itself in t+1."""
    s = seasons.filter(pl.col("season").is_between(lo, hi))
    ny = s.join(s.with_columns(pl.col("season") - 1), on=["season", "passer_id"], suffix="_b")
    ch = ny.filter(pl.col("team") != pl.col("team_b"))
    stay = ny.filter(pl.col("team") == pl.col("team_b"))
    out: dict[str, Any] = {"n_changers": ch.height, "n_stayers": stay.height, "metrics": {}}
    for m in metrics:
        c = ch.drop_nulls([m, f"{m}_b"])
        st = stay.drop_nulls([m, f"{m}_b"])
        out["metrics"][m] = {
            "n": c.height,
            "changers_next_epa": r4(pearson(c[m], c["epa_per_dropback_b"])),
            "changers_yoy": r4(pearson(c[m], c[f"{m}_b"])),
            "stayers_next_epa": r4(pearson(st[m], st["epa_per_dropback_b"])),
            "stayers_yoy": r4(pearson(st[m], st[f"{m}_b"]))}
    return out
