"""The weights' regression: ridge on standardized predictors with sign constraints (NNLS on
the augmented system), lambda by leave-one-season-out cross-validation."""

from __future__ import annotations

from typing import Any

import numpy as np

RIDGE_GRID: tuple[float, ...] = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_RIDGE = 0.1  # when fewer than 3 training seasons allow no leave-one-season-out choice


def _weighted_sd(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = (w[:, None] * x).sum(0) / w.sum() if x.ndim == 2 else (w * x).sum() / w.sum()
    d = x - m
    v = (w[:, None] * d * d).sum(0) / w.sum() if x.ndim == 2 else (w * d * d).sum() / w.sum()
    return m, np.sqrt(v)


def _nn_ridge(z: np.ndarray, t: np.ndarray, w: np.ndarray, lam: float,
              nonneg: np.ndarray) -> np.ndarray:
    """Ridge on standardized columns with sign constraints (NNLS on the augmented system)."""
    k = z.shape[1]
    free = ~nonneg
    cols = np.hstack([z, -z[:, free]])
    sw = np.sqrt(w / w.sum())
    a = np.vstack([cols * sw[:, None], np.sqrt(lam) * np.eye(cols.shape[1])])
    rhs = np.concatenate([t * sw, np.zeros(cols.shape[1])])
    from scipy.optimize import nnls  # only when fitting: a heavy import

    sol, _ = nnls(a, rhs, maxiter=50 * cols.shape[1])
    b = sol[:k].copy()
    b[free] -= sol[k:]
    return b


def fit_ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, groups: np.ndarray,
              nonneg: np.ndarray) -> dict[str, Any]:
    """Sign-constrained ridge of y on x (weights w); lambda by leave-one-group-out CV."""
    mx, sx = _weighted_sd(x, w)
    my, sy = _weighted_sd(y, w)
    sx = np.where(sx > 0, sx, 1.0)
    y_sd = float(sy) if sy > 0 else 1.0
    z = (x - mx) / sx
    t = (y - my) / y_sd
    uniq = np.unique(groups)
    cv: dict[str, float] = {}
    lam = DEFAULT_RIDGE
    if len(uniq) >= 3:
        for cand in RIDGE_GRID:
            pred = np.empty_like(t)
            for g in uniq:
                m = groups == g
                pred[m] = z[m] @ _nn_ridge(z[~m], t[~m], w[~m], cand, nonneg)
            cv[str(cand)] = float((w * (t - pred) ** 2).sum() / w.sum())
        lam = min(RIDGE_GRID, key=lambda c: (round(cv[str(c)], 12), -c))
    b = _nn_ridge(z, t, w, lam, nonneg)
    return {"coef_std": b, "coef": b * y_sd / sx, "lambda": lam, "cv_mse": cv,
            "x_sd": sx, "y_sd": y_sd,
            "r2": float(1 - (w * (t - z @ b) ** 2).sum() / (w * t * t).sum())}
