"""The play models: completion, interception and sack probabilities, and SBP yards
distributions for yards after catch, air yards and dropback yards (a three-part mixture).

Probabilities: histogram gradient boosting, Platt-scaled on the validation season (it beat a
torch MLP, logistic regression and nflfastR's recipe on held-out log loss and calibration; the
evaluation keeps scoring all of them).
Yards: SBP networks (models.sbp) trained on the integer-yard likelihood; yards after catch add
a touchdown mass at the goal line (the SBP covers catches short of it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from passing_score.models.context import ContextModels, fit_context_models
from passing_score.models.encoding import TabularEncoder
from passing_score.models.estimators import DistributionForecast, DistributionRegressor
from passing_score.models.samples import (
    GAIN,
    NO_GAIN,
    SACK,
    TARGETS,
    Target,
    split_types,
    yards_component,
)

HIDDEN = (64, 32)


def _hgb(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=400, learning_rate=0.05, max_leaf_nodes=31,
                                          min_samples_leaf=50, l2_regularization=1.0,
                                          early_stopping=True, validation_fraction=0.1,
                                          n_iter_no_change=20, random_state=seed)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class ProbabilityModel:
    """Gradient boosting on the target's features, Platt-scaled on the validation season."""

    encoder: TabularEncoder
    model: Any
    calibrator: LogisticRegression
    selection: dict[str, float] = field(default_factory=dict)
    kind: str = "hgb+platt"

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """P(target = 1) per row."""
        raw = self.model.predict_proba(self.encoder.transform(df))[:, 1]
        return self.calibrator.predict_proba(_logit(raw)[:, None])[:, 1]


def fit_probability(target: Target, train: pl.DataFrame, val: pl.DataFrame, seed: int
                    ) -> ProbabilityModel:
    """Histogram gradient boosting (early-stopped) + Platt scaling fitted on `val`.

    Chosen over a torch MLP, logistic regression and nflfastR's xgboost recipe on held-out
    log loss and calibration (see `passing-score evaluate`, which scores all of them).
    """
    num, cat = split_types(list(target.features))
    enc = TabularEncoder(num, cat).fit(train)
    X, Xv = enc.transform(train), enc.transform(val)
    y, yv = train[target.target].to_numpy(), val[target.target].to_numpy()
    model = _hgb(seed).fit(X, y)
    raw_v = model.predict_proba(Xv)[:, 1]
    cal = LogisticRegression(C=1e6).fit(_logit(raw_v)[:, None], yv)
    scores = {"raw_val_log_loss": float(log_loss(yv, raw_v, labels=[0, 1])),
              "platt_slope": float(cal.coef_[0, 0]), "platt_intercept": float(cal.intercept_[0]),
              "iterations": int(model.n_iter_)}
    return ProbabilityModel(enc, model, cal, scores)


@dataclass
class YardsModel:
    """A yards distribution network of one target."""

    encoder: TabularEncoder
    model: DistributionRegressor

    def predict_dist(self, df: pl.DataFrame) -> DistributionForecast:
        """Per-row yards distributions."""
        return self.model.predict_dist(self.encoder.transform(df))


def fit_yards(target: Target, train: pl.DataFrame, val: pl.DataFrame, seed: int,
              family: str = "sbp", family_kw: dict[str, Any] | None = None) -> YardsModel:
    """Fit a yards network of the given family on the target's sample."""
    num, cat = split_types(list(target.features))
    enc = TabularEncoder(num, cat).fit(train)
    reg = DistributionRegressor(family=family, family_kw=family_kw, hidden=HIDDEN, seed=seed)
    reg.fit(enc.transform(train), train[target.target].to_numpy(),
            eval_set=(enc.transform(val), val[target.target].to_numpy()))
    return YardsModel(enc, reg)


class TouchdownAwareForecast:
    """Yards after catch with the goal line in it: P(touchdown) sits exactly at the distance
    from the catch point to the goal; the rest follows the SBP truncated below that distance."""

    def __init__(self, p_td: np.ndarray, goal: np.ndarray, body: DistributionForecast) -> None:
        self.p_td, self.goal, self.body = p_td, goal, body

    def __len__(self) -> int:
        return len(self.p_td)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """(1 - p) F(x) / F(g - 1/2) below the goal, 1 - p just short of it, 1 from it."""
        x = np.asarray(x, float)
        two_d = x.ndim == 2
        g = self.goal[:, None] if two_d else self.goal
        p = self.p_td[:, None] if two_d else self.p_td
        f = self.body.cdf(x)
        fg = self.body.cdf(np.broadcast_to(g - 0.5, x.shape) if two_d else self.goal - 0.5)
        below = (1 - p) * np.minimum(f / np.clip(fg, 1e-12, None), 1.0)
        return np.where(x < g - 0.5, below, np.where(x < g, 1 - p, 1.0))


@dataclass
class YacModel:
    """Touchdown classifier (gradient boosting) + SBP network of non-touchdown yards after
    catch, both on at-throw context (a catch-and-run cannot pass the goal line)."""

    encoder: TabularEncoder
    touchdown: HistGradientBoostingClassifier
    body: DistributionRegressor

    @staticmethod
    def goal(df: pl.DataFrame) -> np.ndarray:
        """Yards from the catch point to the goal line (0 for a catch in the end zone)."""
        return np.maximum(df["air_to_goal"].fill_null(100).to_numpy().astype(float), 0.0)

    def predict_dist(self, df: pl.DataFrame) -> TouchdownAwareForecast:
        """Per-row yards-after-catch distributions."""
        X = self.encoder.transform(df)
        return TouchdownAwareForecast(self.touchdown.predict_proba(X)[:, 1], self.goal(df),
                                      self.body.predict_dist(X))


def fit_yac(target: Target, train: pl.DataFrame, val: pl.DataFrame, seed: int) -> YacModel:
    """Fit the touchdown classifier on every catch and the SBP on catches short of the goal."""
    num, cat = split_types(list(target.features))
    enc = TabularEncoder(num, cat).fit(train)
    X, Xv = enc.transform(train), enc.transform(val)
    y, yv = train[target.target].to_numpy(), val[target.target].to_numpy()
    td, tdv = y >= YacModel.goal(train), yv >= YacModel.goal(val)
    clf = _hgb(seed).fit(X, td.astype(int))
    body = DistributionRegressor(family="sbp", hidden=HIDDEN, seed=seed).fit(
        X[~td], y[~td], eval_set=(Xv[~tdv], yv[~tdv]))
    return YacModel(enc, clf, body)


class MixtureForecast:
    """Dropback yards: w_sack * F_sack + w_zero * 1{x >= 0} + w_gain * F_gain."""

    def __init__(self, weights: np.ndarray, sack: DistributionForecast,
                 gain: DistributionForecast) -> None:
        self.weights, self.sack, self.gain = weights, sack, gain

    def __len__(self) -> int:
        return len(self.weights)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Mixture cdf, row by row."""
        x = np.asarray(x, float)
        w = self.weights if x.ndim == 1 else self.weights[:, None, :]
        return (w[..., SACK] * self.sack.cdf(x) + w[..., NO_GAIN] * (x >= 0)
                + w[..., GAIN] * self.gain.cdf(x))


@dataclass
class DropbackYardsModel:
    """Mixture of a sack-yards SBP, a point mass at zero and a gain-yards SBP, with weights
    from a three-class component classifier (all on pre-snap context)."""

    encoder: TabularEncoder
    components: HistGradientBoostingClassifier
    sack: DistributionRegressor
    gain: DistributionRegressor

    def predict_dist(self, df: pl.DataFrame) -> MixtureForecast:
        """Per-row mixture distributions."""
        X = self.encoder.transform(df)
        proba = self.components.predict_proba(X)
        w = np.zeros((len(X), 3))
        w[:, self.components.classes_.astype(int)] = proba
        return MixtureForecast(w, self.sack.predict_dist(X), self.gain.predict_dist(X))


def fit_dropback_yards(target: Target, train: pl.DataFrame, val: pl.DataFrame, seed: int
                       ) -> DropbackYardsModel:
    """Fit the component classifier and the two SBP parts."""
    num, cat = split_types(list(target.features))
    enc = TabularEncoder(num, cat).fit(train)
    comp = train.select(yards_component()).to_series().to_numpy()
    comp_v = val.select(yards_component()).to_series().to_numpy()
    X, Xv = enc.transform(train), enc.transform(val)
    y, yv = train[target.target].to_numpy(), val[target.target].to_numpy()
    clf = _hgb(seed).fit(X, comp)
    parts = {}
    for code in (SACK, GAIN):
        m, mv = comp == code, comp_v == code
        parts[code] = DistributionRegressor(family="sbp", hidden=HIDDEN, seed=seed).fit(
            X[m], y[m], eval_set=(Xv[mv], yv[mv]))
    return DropbackYardsModel(enc, clf, parts[SACK], parts[GAIN])


@dataclass
class PlayModels:
    """All play models of one version."""

    completion: ProbabilityModel
    interception: ProbabilityModel
    sack: ProbabilityModel
    yac: YacModel
    air_yards: YardsModel
    dropback_yards: DropbackYardsModel
    context: ContextModels | None = None  # expected EPA, success, YAC EPA (models.context)

    @property
    def selection(self) -> dict[str, dict[str, Any]]:
        """Which candidate won each probability target, with validation log losses."""
        return {n: {"model": m.kind, **m.selection}
                for n, m in (("completion", self.completion),
                             ("interception", self.interception), ("sack", self.sack))}


def sample(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """The rows of df in a target's sample."""
    return df.filter(TARGETS[name].sample)


def fit_play_models(train: pl.DataFrame, val: pl.DataFrame, seed: int = 0,
                    progress: Any = None) -> PlayModels:
    """Fit every play model; `val` (a later season) drives early stopping and selection."""
    out: dict[str, Any] = {}
    for name, t in TARGETS.items():
        tr, va = sample(train, name), sample(val, name)
        if t.kind == "binary":
            out[name] = fit_probability(t, tr, va, seed)
        elif t.kind == "yards":
            out[name] = fit_yards(t, tr, va, seed)
        elif t.kind == "yac":
            out[name] = fit_yac(t, tr, va, seed)
        else:
            out[name] = fit_dropback_yards(t, tr, va, seed)
        if progress is not None:
            progress(name)
    # the context models see the same seasons (their boosting stops on a random tenth)
    out["context"] = fit_context_models(pl.concat([train, val], how="diagonal_relaxed"), seed)
    if progress is not None:
        progress("context")
    return PlayModels(**out)
