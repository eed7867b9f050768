"""The normal-normal posterior of a row's true component means and its 50-99 score.

For a row (QB-game, QB-season, QB-season-to-date) with n scored dropbacks and league-relative
component means xbar: theta_hat = mu + T (T + N)^-1 (xbar - mu), P = T - T (T + N)^-1 T with N
the row's sampling covariance; value = w . theta_hat, variance w' P w plus the spread of the
value over the bootstrap refits of the prior (docs/scoring.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from passing_score.models.aggregator.params import (
    FILL_IN_SHARE,
    SCALE_LOW,
    SCALE_SPAN,
    Mat,
    Prior,
    Vec,
    arr,
)


def role_indicator(share: np.ndarray) -> np.ndarray:
    """1 for a primary passer (share of his team's dropbacks >= FILL_IN_SHARE), else 0."""
    sh = np.nan_to_num(np.asarray(share, dtype=np.float64), nan=1.0)
    return (sh >= FILL_IN_SHARE).astype(np.float64)


def row_dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w row by row (over the last axis), each row summed on its own: a row's value does
    not depend on how many rows came with it (a matrix product's blocking does)."""
    return np.asarray((x * w).sum(axis=-1), dtype=np.float64)


def noise_cov(prior: Prior, n: np.ndarray, n2: np.ndarray | None) -> np.ndarray:
    """Sampling covariance (R, K, K) of each row's component means: Sigma / n, plus
    D sum(n_game^2) / n^2 at the season level (game-clustered noise)."""
    n = np.asarray(n, dtype=np.float64)
    nn = np.maximum(n, 1e-9)[:, None, None]
    out = arr(prior.noise)[None] / nn
    if prior.game_to_game is not None and n2 is not None:
        ratio = np.asarray(n2, dtype=np.float64) / np.maximum(n, 1e-9) ** 2
        out = out + arr(prior.game_to_game)[None] * ratio[:, None, None]
    return out


def prior_means(prior: Prior, share: np.ndarray | None, r: int) -> np.ndarray:
    """Prior mean per row (R, K): the population mean, shifted for a fill-in's row when the
    prior has a role offset and shares are given."""
    mu = arr(prior.mean)
    if prior.fill_in is None or share is None:
        return np.broadcast_to(mu, (r, len(mu)))
    return mu + arr(prior.fill_in) * (1.0 - role_indicator(share))[:, None]


def _gains(n: np.ndarray, t: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """B = T (T + N)^-1 per row, (..., R, K, K) for priors T (..., K, K); 0 where n = 0."""
    r, k = noise.shape[0], noise.shape[-1]
    m = t[..., None, :, :] + noise
    # T and M symmetric: solve M B' = T
    rhs = np.broadcast_to(t[..., None, :, :], (*t.shape[:-2], r, k, k))
    b = np.swapaxes(np.linalg.solve(m, rhs), -1, -2)
    b[..., n <= 0, :, :] = 0.0
    return b


def _means(xbar: np.ndarray, n: np.ndarray, mu: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Posterior means mu + B (xbar - mu), (..., R, K) for prior means mu (..., R, K) and
    gains B (..., R, K, K); n = 0 keeps the prior mean."""
    d = np.where((n > 0)[:, None], xbar - mu, 0.0)
    return mu + np.einsum("...rij,...rj->...ri", b, d)


def posterior(xbar: np.ndarray, n: np.ndarray, mu: np.ndarray, t: np.ndarray,
              noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means (R, K) and covariances (R, K, K) of true means; n = 0 gives the prior."""
    b = _gains(n, t, noise)
    p = t[None] - np.einsum("rij,jk->rik", b, t)
    return _means(xbar, n, mu, b), p


def boot_values(xbar: np.ndarray, n: np.ndarray, mu: np.ndarray, base: np.ndarray,
                boot: Sequence[tuple[Vec, Mat]], noise: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Values w . theta_hat (S, R) under each of S bootstrap refits of the prior, every refit
    solved in one batched call (the same per-row maths as `posterior`)."""
    shift = np.stack([arr(mb) - base for mb, _ in boot])  # (S, K)
    tb = np.stack([arr(t) for _, t in boot])  # (S, K, K)
    theta = _means(xbar, n, mu[None] + shift[:, None, :], _gains(n, tb, noise))
    return row_dot(theta, w)


def posterior_values(prior: Prior, w: np.ndarray, shrink: str, xbar: np.ndarray,
                     n: np.ndarray, n2: np.ndarray | None = None,
                     share: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value (R,), value sd (R,), theta_hat (R, K)) of rows' league-relative component means.

    shrink "univariate" shrinks w . xbar as one number (a candidate of the validity study).
    """
    n = np.asarray(n, dtype=np.float64)
    t = arr(prior.cov)
    mu = prior_means(prior, share, len(n))
    noise = noise_cov(prior, n, n2)
    if shrink == "univariate":
        tau2 = float(w @ t @ w)
        s2n = np.einsum("i,rij,j->r", w, noise, w)
        b = np.where(n > 0, tau2 / (tau2 + s2n), 0.0)
        d = np.where((n > 0)[:, None], xbar - mu, 0.0)
        theta = mu + b[:, None] * d
        return row_dot(theta, w), np.sqrt(tau2 * (1 - b)), theta
    theta, p = posterior(xbar, n, mu, t, noise)
    var = np.einsum("i,rij,j->r", w, p, w)
    if prior.boot:  # the prior is estimated: spread of the posterior mean over its refits
        vals = boot_values(xbar, n, mu, arr(prior.mean), prior.boot, noise, w)
        var = var + vals.var(0)
    return row_dot(theta, w), np.sqrt(np.maximum(var, 0.0)), theta


def to_score(x: np.ndarray | float, mean: float, sd: float) -> np.ndarray:
    """The monotone map to 50-99: 50 + 49 * Phi((x - mean) / sd); bounded by construction."""
    a = np.asarray(x, dtype=np.float64)
    z = (a - mean) / sd if sd > 0 else np.zeros_like(a)
    return SCALE_LOW + SCALE_SPAN * ndtr(z)


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def ndtr(z: np.ndarray) -> np.ndarray:
    """Standard normal cdf through libm's erfc (within 2e-16 of scipy.special.ndtr): scores are
    a few thousand values, and scipy.special costs ~0.2 s of imports on every weekly job."""
    return np.asarray(0.5 * _ERFC(-np.asarray(z, dtype=np.float64) / math.sqrt(2.0)),
                      dtype=np.float64)


def rank_rows(df: pl.DataFrame, by: list[str] | tuple[str, ...]) -> pl.DataFrame:
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
