"""scikit-learn-style play-model estimators on torch: probabilities and yards distributions.

`fit(X, y)` returns self, fitted state ends in `_`, `__init__` only stores hyper-parameters, so
they compose with sklearn tools. A validation set for early stopping is passed as
`eval_set=(X_val, y_val)` (a held-out season in training) or split off at random.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.func import functional_call

from passing_score.models.families import Family, make_family
from passing_score.models.nets import best_epochs, mlp, split_validation, train


def _weights(weight: Any, n: int) -> np.ndarray | None:
    """Per-row training weights normalised to mean 1 (None: unweighted)."""
    if weight is None:
        return None
    w = np.asarray(weight, np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
        raise ValueError("weight must be one finite, non-negative value per row")
    return w / w.mean()


def _split(X: np.ndarray, y: np.ndarray, eval_set: tuple[Any, Any] | None, fraction: float,
           seed: int, w: np.ndarray | None = None) -> tuple[Any, ...]:
    if eval_set is not None:
        return (X, y, np.asarray(eval_set[0], np.float32), np.asarray(eval_set[1], np.float64),
                w)
    tr, va = split_validation(len(X), fraction, seed)
    if len(va) == 0 or len(tr) == 0:
        return X, y, X, y, w
    return X[tr], y[tr], X[va], y[va], None if w is None else w[tr]


class TorchBinaryClassifier(ClassifierMixin, BaseEstimator):
    """MLP with a softmax output (logistic for two classes), trained on log loss with early
    stopping; used for binary play outcomes, general enough for sklearn's estimator checks."""

    def __init__(self, hidden: tuple[int, ...] = (64, 32), epochs: int = 12,
                 batch_size: int = 4096, lr: float = 5e-3, weight_decay: float = 1e-5,
                 patience: int = 3, validation_fraction: float = 0.1, seed: int = 0,
                 early_stopping: bool = True) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.early_stopping = early_stopping

    def fit(self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None,
            weight: Any = None) -> TorchBinaryClassifier:
        """Fit on class labels (two or more classes).

        `early_stopping=False`: train on every row for exactly `epochs` epochs (the refit with
        epochs chosen on a validation season); `best_epochs_` is what early stopping chose.
        `weight`: optional per-row training weights (e.g. recency).
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("Classifier can't train when only one class is present.")
        if eval_set is not None:
            eval_set = (eval_set[0], np.searchsorted(self.classes_, np.asarray(eval_set[1])))
        w = _weights(weight, len(X))
        if self.early_stopping:
            Xtr, ytr, Xva, yva, wtr = _split(X, codes.astype(np.float64), eval_set,
                                             self.validation_fraction, self.seed, w)
        else:
            Xtr, ytr, Xva, yva, wtr = X, codes.astype(np.float64), None, None, w
        k = len(self.classes_)
        torch.manual_seed(self.seed)  # weight init is part of the seeded, deterministic fit
        net = mlp(X.shape[1], tuple(self.hidden), k)
        prior = np.bincount(ytr.astype(int), minlength=k) + 1.0
        head = net[-1]
        assert isinstance(head, torch.nn.Linear)
        with torch.no_grad():
            head.bias.copy_(torch.as_tensor(np.log(prior / prior.sum()), dtype=torch.float32))

        def loss(out: torch.Tensor, t: torch.Tensor, wb: torch.Tensor | None = None
                 ) -> torch.Tensor:
            ce = torch.nn.functional.cross_entropy(out, t.long(), reduction="none")
            return ce.mean() if wb is None else (ce * wb).sum() / wb.sum()

        self.net_, self.val_history_ = train(
            net, loss, Xtr, ytr, Xva, yva, epochs=self.epochs, batch_size=self.batch_size,
            lr=self.lr, weight_decay=self.weight_decay, patience=self.patience, seed=self.seed,
            weight=wtr)
        self.best_epochs_ = best_epochs(self.val_history_) if self.early_stopping else self.epochs
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, n_classes) class probabilities."""
        check_is_fitted(self, "net_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        with torch.no_grad():
            return torch.softmax(self.net_(torch.as_tensor(X)).double(), -1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Most likely class."""
        p = self.predict_proba(X)
        return self.classes_[p.argmax(1)]


class DistributionForecast:
    """Per-row distributions from a fitted network head: cdf (numpy), mean, median."""

    def __init__(self, family: Family, raw: torch.Tensor) -> None:
        self.family, self.raw = family, raw

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(Y <= x) per row; x of shape (n,) or (n, m)."""
        return self.family.cdf(self.raw, x)

    def quantile(self, q: float, lo: float = -120.0, hi: float = 200.0, iters: int = 40
                 ) -> np.ndarray:
        """Per-row q-quantile by bisection on the cdf (works for every family)."""
        a = np.full(len(self), lo)
        b = np.full(len(self), hi)
        for _ in range(iters):
            m = 0.5 * (a + b)
            below = self.cdf(m) < q
            a, b = np.where(below, m, a), np.where(below, b, m)
        return 0.5 * (a + b)


class DistributionRegressor(RegressorMixin, BaseEstimator):
    """MLP whose output parameterises a yards distribution (`family`: sbp, gaussian,
    student_t, binned). `predict` gives the median, `predict_dist` the whole distribution."""

    def __init__(self, family: str = "sbp", family_kw: dict[str, Any] | None = None,
                 hidden: tuple[int, ...] = (64, 32), epochs: int = 40, batch_size: int = 4096,
                 lr: float = 5e-3, weight_decay: float = 1e-5, patience: int = 3,
                 validation_fraction: float = 0.1, seed: int = 0, max_bins: int = 120,
                 early_stopping: bool = True) -> None:
        self.family = family
        self.early_stopping = early_stopping
        self.max_bins = max_bins
        self.family_kw = family_kw
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed

    def _make_family(self, y: np.ndarray) -> Family:
        kw = dict(self.family_kw or {})
        if self.family == "sbp":
            # one body bin per integer yard (edges at half yards) over the central 99.8%:
            # bins that straddle integers would blur the spikes of integer yardage
            q = np.quantile(y, [0.001, 0.999]) if len(y) else np.array([0.0, 1.0])
            lo, hi = float(np.floor(q[0])) - 1.5, float(np.ceil(q[1])) + 1.5
            if hi - lo < 4:
                lo, hi = lo - 2, hi + 2
            kw.setdefault("low", lo)
            kw.setdefault("high", hi)
            kw.setdefault("n_bins", int(min(max(round(hi - lo), 4), self.max_bins)))
        elif self.family == "binned":
            kw.setdefault("low", int(np.floor(y.min())) if len(y) else 0)
            kw.setdefault("high", int(np.ceil(y.max())) if len(y) else 1)
        elif self.family in ("gaussian", "student_t"):
            kw.setdefault("scale", float(max(np.std(y), 1e-3)) if len(y) else 1.0)
        return make_family(self.family, **kw)

    def fit(self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None,
            weight: Any = None) -> DistributionRegressor:
        """Fit by maximum likelihood with early stopping (or, with `early_stopping=False`,
        for exactly `epochs` epochs on every row: the refit with epochs chosen earlier).
        `weight`: optional per-row training weights (e.g. recency)."""
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True)
        y = np.asarray(y, np.float64)
        self.family_ = self._make_family(y)
        self.family_config_ = self.family_.config()
        w = _weights(weight, len(X))
        if self.early_stopping:
            Xtr, ytr, Xva, yva, wtr = _split(X, y, eval_set, self.validation_fraction,
                                             self.seed, w)
        else:
            Xtr, ytr, Xva, yva, wtr = X, y, None, None, w
        torch.manual_seed(self.seed)  # weight init is part of the seeded, deterministic fit
        net = mlp(X.shape[1], tuple(self.hidden), self.family_.width)
        self.net_, self.val_history_ = train(
            net, self.family_.loss, Xtr, ytr, Xva, yva, epochs=self.epochs,
            batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
            patience=self.patience, seed=self.seed, weight=wtr)
        self.best_epochs_ = best_epochs(self.val_history_) if self.early_stopping else self.epochs
        return self

    def raw_output(self, X: Any) -> torch.Tensor:
        """The network's raw output for X (float32), computed in float64: float32 matrix
        products round differently with the batch size, so a row's prediction would depend on
        which other rows came with it (sklearn's subset-invariance check)."""
        check_is_fitted(self, "net_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        params = {k: v.double() for k, v in self.net_.state_dict().items()}
        with torch.no_grad():
            out = functional_call(self.net_, params, (torch.as_tensor(X, dtype=torch.float64),))
        return out.float()

    def predict_dist(self, X: Any) -> DistributionForecast:
        """Per-row yards distributions."""
        raw = self.raw_output(X)
        return DistributionForecast(self.family_, raw)

    def predict(self, X: Any) -> np.ndarray:
        """Median of each row's distribution (finite even when a tail has no mean)."""
        dist = self.predict_dist(X)
        return dist.quantile(0.5, lo=-1e4, hi=1e4, iters=60) if len(dist) else np.zeros(0)
