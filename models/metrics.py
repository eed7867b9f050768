"""Held-out metrics for probability and yards-distribution models, comparable across families.

Yards are integers, so every distribution is scored on the integer grid: NLL is
-log P(y - 0.5 < Y <= y + 0.5) and the PIT of y is spread uniformly over that interval. The same
functions score continuous (SBP, Gaussian, Student-t) and discrete (xgboost softprob) models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

LOWER_QS = np.array([0.001, 0.005, 0.01, 0.025, 0.05])
BODY_QS = np.round(np.arange(0.05, 0.951, 0.05), 2)
UPPER_QS = np.array([0.95, 0.975, 0.99, 0.995, 0.999])
SHARE_QS = (0.01, 0.05, 0.95, 0.99)
CRPS_GRID = np.arange(-60.0, 110.0 + 1e-9, 0.5)
PROB_FLOOR = 1e-12


class Forecast(Protocol):
    """A batch of per-play yards distributions: `cdf(x)` with x of shape (n,) or (n, m)."""

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(Y <= x) row by row."""
        ...


def calibration_error(y: np.ndarray, p: np.ndarray) -> float:
    """nflfastR's calibration error: bin p by round(p/0.05)*0.05, count-weighted |mean p - rate|."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    bins = np.round(p / 0.05) * 0.05
    err, n = 0.0, len(y)
    for b in np.unique(bins):
        m = bins == b
        err += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(err / n)


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Log loss, Brier, ROC AUC and calibration error of probabilities p for 0/1 outcomes y."""
    y = np.asarray(y, int)
    p = np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
    return {
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
        "calibration_error": calibration_error(y, p),
        "n": len(y),
    }


def pit_bounds(f: Forecast, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F(y - 0.5) and F(y + 0.5): the PIT interval of an integer outcome."""
    y = np.asarray(y, float)
    return np.asarray(f.cdf(y - 0.5), float), np.asarray(f.cdf(y + 0.5), float)


def share_below(lo: np.ndarray, hi: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Expected share of outcomes whose randomized PIT falls below each q (discrete-aware)."""
    lo, hi = lo[:, None], hi[:, None]
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(width > 1e-12, np.clip((qs[None, :] - lo) / width, 0.0, 1.0),
                        (lo < qs[None, :]).astype(float))
    return frac.mean(axis=0)


def pit_mid(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mid-point PIT of an integer outcome (deterministic; used for per-play scoring)."""
    return np.clip(0.5 * (lo + hi), 0.0, 1.0)


def crps_rows(f: Forecast, y: np.ndarray, grid: np.ndarray = CRPS_GRID) -> np.ndarray:
    """Per-row CRPS: integral of (F(x) - 1{x >= y})^2 on a fixed grid shared by every model."""
    y = np.asarray(y, float)
    dx = float(np.diff(grid).mean())
    F = np.asarray(f.cdf(np.broadcast_to(grid, (len(y), len(grid)))), float)
    step = (grid[None, :] >= y[:, None]).astype(float)
    return ((F - step) ** 2).sum(axis=1) * dx


def crps(f: Forecast, y: np.ndarray, grid: np.ndarray = CRPS_GRID) -> float:
    """Mean CRPS: integral of (F(x) - 1{x >= y})^2 on a fixed grid shared by every model."""
    return float(crps_rows(f, y, grid).mean())


# the 10/50/90% quantiles of the per-play intervals (issue 17: interval honesty per play)
INTERVAL_QS = np.array([0.1, 0.5, 0.9])


def distribution_rows(f: Forecast, y: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row pieces every distribution metric is computed from (pooled metrics concatenate
    them across seasons): PIT interval bounds and CRPS."""
    y = np.asarray(y, float)
    lo, hi = pit_bounds(f, y)
    return {"lo": lo, "hi": hi, "crps": crps_rows(f, y)}


def metrics_from_rows(rows: dict[str, np.ndarray]) -> dict[str, object]:
    """`distribution_metrics` from `distribution_rows` (possibly concatenated)."""
    lo, hi = rows["lo"], rows["hi"]
    nll = float(-np.log(np.clip(hi - lo, PROB_FLOOR, None)).mean())
    cov = {
        name: float(np.abs(share_below(lo, hi, qs) - qs).mean())
        for name, qs in (("lower", LOWER_QS), ("body", BODY_QS), ("upper", UPPER_QS))
    }
    shares = share_below(lo, hi, np.array(SHARE_QS))
    inner = share_below(lo, hi, INTERVAL_QS)
    return {
        "nll": nll,
        "crps": float(np.mean(rows["crps"])),
        "coverage_error": cov,
        "share_below": {f"{q:g}": float(s) for q, s in zip(SHARE_QS, shares, strict=True)},
        "quantiles": {f"{q:g}": float(s) for q, s in zip(INTERVAL_QS, inner, strict=True)},
        "quantile_coverage_error": float(np.abs(inner - INTERVAL_QS).mean()),
        "n": len(lo),
    }


def distribution_metrics(f: Forecast, y: np.ndarray) -> dict[str, object]:
    """NLL on the integer grid, CRPS, tail/body coverage error, shares below key quantiles
    and the shares below the 10/50/90% quantiles (`quantiles`; their mean absolute error is
    `quantile_coverage_error`)."""
    return metrics_from_rows(distribution_rows(f, y))


def calibration_floor(p: np.ndarray, draws: int = 200, seed: int = 0) -> dict[str, float]:
    """Calibration error of a *perfectly calibrated* model with these predictions (outcomes
    drawn from p): the metric's noise floor at this sample size (mean and 90th percentile)."""
    rng = np.random.default_rng(seed)
    p = np.asarray(p, float)
    ce = np.array([calibration_error((rng.random(len(p)) < p).astype(float), p)
                   for _ in range(draws)])
    return {"mean": float(ce.mean()), "p90": float(np.quantile(ce, 0.9))}


class CdfForecast:
    """Adapter: any row-wise cdf function (n rows) as a Forecast."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], n: int) -> None:
        self.fn, self.n = fn, n

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the wrapped cdf."""
        return self.fn(np.asarray(x, float))


class DiscreteForecast:
    """Per-row probabilities over integer support points (e.g. an xgboost softprob model)."""

    def __init__(self, probs: np.ndarray, support: np.ndarray) -> None:
        self.probs = np.asarray(probs, float)
        self.support = np.asarray(support, float)
        self.cum = np.cumsum(self.probs, axis=1)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Step cdf: mass of support points <= x, row by row."""
        x = np.asarray(x, float)
        idx = np.searchsorted(self.support, x, side="right") - 1  # last support point <= x
        rows = np.arange(self.cum.shape[0]).reshape((-1,) + (1,) * (x.ndim - 1))
        out = np.where(idx >= 0, self.cum[rows, np.clip(idx, 0, None)], 0.0)
        return np.clip(out, 0.0, 1.0)
