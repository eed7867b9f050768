"""Season drift of the league level: per-season logit offsets, their trend, and the in-season
update of the level from a season's completed weeks (numpy only: the scoring path imports it
without scikit-learn or torch).

The league moves every year (completion rate .623 in 2017, .650 in 2018, .656 in 2024), so a
model fitted on past seasons does not know a new season's level. The tools here:

- `season_offsets`: the logit shift d_s that makes a model's predictions match season s.
- `trend_offset`: a new season's shift extrapolated from the training seasons' shifts
  (a weighted linear trend, or the newest season's shift).
- `in_season_offsets`: for week k of a season, the MAP logit shift given that season's weeks
  < k only (a normal prior of sd tau around the model's own level), exactly what the weekly
  job can compute before scoring week k.
- `choose_tau`: the prior sd that gives the best sequential (week-by-week) log loss on a
  validation season's out-of-sample predictions.
"""

from __future__ import annotations

import numpy as np

TAU_GRID = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


def logit_offset(y: np.ndarray, z: np.ndarray, prior_mean: float = 0.0,
                 tau: float | None = None, iters: int = 6) -> float:
    """MAP of a logit shift d with y ~ Bernoulli(sigmoid(z + d)) and d ~ N(prior_mean, tau^2)
    (maximum likelihood when tau is None)."""
    y, z = np.asarray(y, float), np.asarray(z, float)
    d = float(prior_mean)
    prec = 0.0 if tau is None else 1.0 / tau**2
    for _ in range(iters):
        q = sigmoid(z + d)
        g = (y - q).sum() - prec * (d - prior_mean)
        h = (q * (1 - q)).sum() + prec
        if h <= 0:
            break
        d += g / h
    return d


def season_offsets(seasons: np.ndarray, z: np.ndarray, y: np.ndarray
                   ) -> dict[int, tuple[float, float]]:
    """Per season: (maximum-likelihood logit shift, its standard error)."""
    out: dict[int, tuple[float, float]] = {}
    for s in np.unique(seasons):
        m = seasons == s
        d = logit_offset(y[m], z[m])
        q = sigmoid(z[m] + d)
        out[int(s)] = (d, float(1.0 / np.sqrt(max((q * (1 - q)).sum(), 1e-9))))
    return out


def trend_offset(offsets: dict[int, tuple[float, float]], season: int, kind: str = "linear"
                 ) -> float:
    """A new season's logit shift from the training seasons' shifts: `linear` (weighted least
    squares trend, extrapolated), `last` (the newest season's shift) or `mean`."""
    s = np.array(sorted(offsets), float)
    d = np.array([offsets[int(k)][0] for k in s])
    se = np.array([offsets[int(k)][1] for k in s])
    if kind == "last":
        return float(d[-1])
    if kind == "mean":
        return float(np.average(d, weights=1 / se**2))
    if kind != "linear":
        raise ValueError(f"unknown trend kind {kind!r}")
    if len(s) < 3:
        return float(d[-1])
    w = 1 / se**2
    A = np.column_stack([np.ones_like(s), s - s.mean()])
    coef = np.linalg.lstsq(A * np.sqrt(w)[:, None], d * np.sqrt(w), rcond=None)[0]
    return float(coef[0] + coef[1] * (season - s.mean()))


def in_season_offsets(seasons: np.ndarray, weeks: np.ndarray, z: np.ndarray, y: np.ndarray,
                      tau: float, prior_mean: float = 0.0) -> np.ndarray:
    """Per row: the MAP logit shift of its season's level from the rows of the same season
    with a smaller week (prior N(prior_mean, tau^2)); week 1 (nothing earlier) gets
    prior_mean. Rows of a week never see their own week or later ones."""
    seasons, weeks = np.asarray(seasons), np.asarray(weeks)
    z, y = np.asarray(z, float), np.asarray(y, float)
    out = np.full(len(z), float(prior_mean))
    for s in np.unique(seasons):
        ms = seasons == s
        ws = weeks[ms]
        idx = np.flatnonzero(ms)
        d_prev = float(prior_mean)
        for k in np.unique(ws):
            before = idx[ws < k]
            if len(before):
                d_prev = logit_offset(y[before], z[before], prior_mean, tau)
            out[idx[ws == k]] = d_prev
    return out


def sequential_log_loss(seasons: np.ndarray, weeks: np.ndarray, z: np.ndarray, y: np.ndarray,
                        tau: float) -> float:
    """Log loss of week-by-week in-season updated predictions."""
    p = sigmoid(z + in_season_offsets(seasons, weeks, z, y, tau))
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def choose_tau(seasons: np.ndarray, weeks: np.ndarray, z: np.ndarray, y: np.ndarray,
               grid: tuple[float, ...] = TAU_GRID) -> tuple[float, dict[float, float]]:
    """The prior sd of the in-season update with the best sequential log loss on out-of-sample
    predictions of a validation season (z: logits of a model that never saw it)."""
    scores = {t: sequential_log_loss(seasons, weeks, z, y, t) for t in grid}
    return min(scores, key=lambda t: scores[t]), scores
