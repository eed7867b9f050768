"""Fitting choices shared by the play models: the options the drift study varies, recency
weights, gradient boosting early-stopped on a validation season (or refitted with a fixed
number of rounds) and the calibration maps (numpy / scikit-learn; frames never reach here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from passing_score.models.drift import logit_offset, sigmoid
from passing_score.models.samples import Target

MAX_ITER = 400
N_ITER_NO_CHANGE = 20


@dataclass(frozen=True)
class FitOptions:
    """Choices of a fit that the drift study varies (defaults: the kept configuration).

    era: keep the `era` (season number) input.  half_life: recency weights
    0.5 ** ((newest training season - season) / half_life) on every training row (None: equal
    weights).  calibration: "platt" (logistic on the logit, fitted on the validation season's
    out-of-sample predictions), "intercept" (level only) or "none".
    """

    era: bool = True
    half_life: float | None = None
    calibration: str = "platt"
    # SBP tail mass per side of the yards heads, per target (default 0.05 everywhere)
    sbp_alpha: tuple[tuple[str, float], ...] = ()

    def alpha_kw(self, target: str) -> dict[str, float] | None:
        """family_kw of the SBP heads of `target` (None: the family default)."""
        a = dict(self.sbp_alpha).get(target)
        return None if a is None else {"alpha": a}


TargetOptions = FitOptions | dict[str, FitOptions]


def options_for(opts: TargetOptions, target: str) -> FitOptions:
    """The FitOptions of one target (a dict maps target names; missing ones get defaults)."""
    return opts.get(target, FitOptions()) if isinstance(opts, dict) else opts


def recency_weights(seasons: np.ndarray, half_life: float | None) -> np.ndarray | None:
    """Per-row weights halving every `half_life` seasons back from the newest (None: equal)."""
    if half_life is None:
        return None
    s = np.asarray(seasons, float)
    return 0.5 ** ((s.max() - s) / half_life)


def features_of(target: Target, opts: FitOptions) -> list[str]:
    return [f for f in target.features if opts.era or f != "era"]


def _hgb(seed: int, max_iter: int = MAX_ITER, early: bool = True
         ) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.05,
                                          max_leaf_nodes=31, min_samples_leaf=50,
                                          l2_regularization=1.0, early_stopping=early,
                                          validation_fraction=0.1,
                                          n_iter_no_change=N_ITER_NO_CHANGE, random_state=seed)


def fit_hgb(X: np.ndarray, y: np.ndarray, seed: int, X_val: np.ndarray | None = None,
            y_val: np.ndarray | None = None, iterations: int | None = None,
            weight: np.ndarray | None = None
            ) -> tuple[HistGradientBoostingClassifier, int, np.ndarray | None]:
    """Gradient boosting, early-stopped on (X_val, y_val) (a validation season), or refitted
    with exactly `iterations` rounds. Returns (model, best iterations, validation
    probabilities at the best iteration or None)."""
    if iterations is not None:
        model = _hgb(seed, max(int(iterations), 1), early=False).fit(X, y, sample_weight=weight)
        return model, int(model.n_iter_), None
    if X_val is None or y_val is None:  # no validation season: the old random 10% split
        model = _hgb(seed).fit(X, y, sample_weight=weight)
        return model, int(model.n_iter_), None
    model = _hgb(seed).fit(X, y, sample_weight=weight, X_val=X_val, y_val=y_val)
    best = max(int(np.argmax(model.validation_score_)), 1)  # entry 0: before any tree
    proba = None
    for i, pr in enumerate(model.staged_predict_proba(X_val), start=1):
        if i == best:
            proba = pr
            break
    return model, best, proba


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities clipped to [1e-6, 1 - 1e-6]."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class IdentityCalibrator:
    """No calibration: the logit map a + b z with a = 0, b = 1."""

    coef_ = np.array([[1.0]])
    intercept_ = np.array([0.0])

    def predict_proba(self, z: np.ndarray) -> np.ndarray:
        """Two-column probabilities of the logits z (n, 1)."""
        p = sigmoid(np.asarray(z, float)[:, 0])
        return np.column_stack([1 - p, p])


class InterceptCalibrator(IdentityCalibrator):
    """Level-only recalibration: logit p = z + a (a fitted by Newton on a validation season)."""

    def __init__(self, a: float) -> None:
        self.intercept_ = np.array([float(a)])

    def predict_proba(self, z: np.ndarray) -> np.ndarray:
        """Two-column probabilities of the logits z (n, 1) shifted by a."""
        p = sigmoid(np.asarray(z, float)[:, 0] + self.intercept_[0])
        return np.column_stack([1 - p, p])


def fit_calibrator(kind: str, raw: np.ndarray, y: np.ndarray) -> Any:
    """The calibration map of `kind` fitted on out-of-sample probabilities `raw`."""
    if kind == "platt":
        return LogisticRegression(C=1e6).fit(logit(raw)[:, None], y)
    if kind == "intercept":
        return InterceptCalibrator(logit_offset(y, logit(raw)))
    if kind == "none":
        return IdentityCalibrator()
    raise ValueError(f"unknown calibration {kind!r}")
