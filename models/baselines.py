"""Baselines every play model is compared against, trained on the same seasons and samples:
nflfastR's recipes (xgboost), scikit-learn's logistic regression, and Gaussian, Student-t and
binned (no tails) yards networks with the same inputs and training loop as the SBP models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from passing_score.models.encoding import TabularEncoder
from passing_score.models.estimators import TorchBinaryClassifier
from passing_score.models.play_models import YardsModel, fit_yards, sample
from passing_score.models.recipes import (
    fit_cp_recipe,
    fit_xyac_recipe,
    recipe_features,
    xyac_forecast,
)
from passing_score.models.samples import TARGETS, split_types

YARDS_BASELINES = ("gaussian", "student_t", "binned")


@dataclass
class LogisticBaseline:
    """scikit-learn logistic regression on our encoded features."""

    encoder: TabularEncoder
    model: LogisticRegression

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """P(target = 1)."""
        return self.model.predict_proba(self.encoder.transform(df))[:, 1]


@dataclass
class RecipeBaseline:
    """An nflfastR xgboost recipe with its own design matrix."""

    model: Any
    with_goal: bool = False

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """P(target = 1) of a binary recipe."""
        return self.model.predict_proba(recipe_features(df, self.with_goal))[:, 1]


@dataclass
class Baselines:
    """Fitted baselines per target: name -> model."""

    models: dict[str, dict[str, Any]] = field(default_factory=dict)


def fit_logistic(name: str, train: pl.DataFrame, seed: int) -> LogisticBaseline:
    """Logistic regression on the target's features."""
    t = TARGETS[name]
    num, cat = split_types(list(t.features))
    enc = TabularEncoder(num, cat).fit(train)
    model = LogisticRegression(max_iter=2000, random_state=seed)
    model.fit(enc.transform(train), train[t.target].to_numpy())
    return LogisticBaseline(enc, model)


@dataclass
class MLPBaseline:
    """A torch MLP classifier on our encoded features (the candidate boosting beat)."""

    encoder: TabularEncoder
    model: TorchBinaryClassifier

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """P(target = 1)."""
        return self.model.predict_proba(self.encoder.transform(df))[:, 1]


def fit_mlp(name: str, train: pl.DataFrame, val: pl.DataFrame | None, seed: int,
            epochs: int | None = None) -> MLPBaseline:
    """Torch MLP early-stopped on the validation season (or, with `val=None`, exactly
    `epochs` epochs on every row)."""
    t = TARGETS[name]
    num, cat = split_types(list(t.features))
    enc = TabularEncoder(num, cat).fit(train)
    if val is None:
        model = TorchBinaryClassifier(seed=seed, epochs=max(int(epochs or 12), 1),
                                      early_stopping=False)
        model.fit(enc.transform(train), train[t.target].to_numpy())
    else:
        model = TorchBinaryClassifier(seed=seed).fit(
            enc.transform(train), train[t.target].to_numpy(),
            eval_set=(enc.transform(val), val[t.target].to_numpy()))
    return MLPBaseline(enc, model)


def fit_baselines(train: pl.DataFrame, val: pl.DataFrame, seed: int = 0,
                  progress: Any = None) -> Baselines:
    """Fit every baseline of every target."""
    out: dict[str, dict[str, Any]] = {}
    for name in ("completion", "interception"):
        tr = sample(train, name)
        y = tr[TARGETS[name].target].to_numpy()
        out[name] = {"nflfastr_recipe": RecipeBaseline(fit_cp_recipe(recipe_features(tr), y, seed)),
                     "logistic": fit_logistic(name, tr, seed),
                     "mlp": fit_mlp(name, tr, sample(val, name), seed)}
        if progress:
            progress(f"{name} baselines")
    out["sack"] = {"logistic": fit_logistic("sack", sample(train, "sack"), seed)}
    for name in ("yac", "air_yards", "dropback_yards"):
        tr, va = sample(train, name), sample(val, name)
        out[name] = {fam: fit_yards(TARGETS[name], tr, va, seed, family=fam)
                     for fam in YARDS_BASELINES}
        if name == "yac":
            out[name]["nflfastr_recipe"] = RecipeBaseline(fit_xyac_recipe(
                recipe_features(tr, True), tr["out_yac"].to_numpy(),
                recipe_features(va, True), va["out_yac"].to_numpy(), seed), with_goal=True)
        if progress:
            progress(f"{name} baselines")
    return Baselines(out)


def fit_baselines_refit(frame: pl.DataFrame, seed: int = 0, val_season: int | None = None,
                        progress: Any = None) -> Baselines:
    """Every baseline trained through the newest season of `frame`, like our production fit:
    models with a fixed recipe (nflfastR CP, logistic) are fitted on every row; models that
    early-stop (MLP, yards networks, xYAC recipe) choose epochs / rounds on `val_season`
    (default: the newest) fitted on the seasons before it, then refit on every row with them.
    """
    seasons = sorted(frame["season"].unique().to_list())
    v = seasons[-1] if val_season is None else val_season
    before, val = frame.filter(pl.col("season") < v), frame.filter(pl.col("season") == v)
    out: dict[str, dict[str, Any]] = {}
    for name in ("completion", "interception"):
        tr, va = sample(frame, name), sample(val, name)
        y = tr[TARGETS[name].target].to_numpy()
        sel = fit_mlp(name, sample(before, name), va, seed)
        out[name] = {"nflfastr_recipe": RecipeBaseline(fit_cp_recipe(recipe_features(tr), y, seed)),
                     "logistic": fit_logistic(name, tr, seed),
                     "mlp": fit_mlp(name, tr, None, seed, sel.model.best_epochs_)}
        if progress:
            progress(f"{name} baselines")
    out["sack"] = {"logistic": fit_logistic("sack", sample(frame, "sack"), seed)}
    for name in ("yac", "air_yards", "dropback_yards"):
        tr, b, va = sample(frame, name), sample(before, name), sample(val, name)
        out[name] = {}
        for fam in YARDS_BASELINES:
            sel_y = fit_yards(TARGETS[name], b, va, seed, family=fam)
            out[name][fam] = fit_yards(TARGETS[name], tr, None, seed, family=fam,
                                       epochs=sel_y.model.best_epochs_)
        if name == "yac":
            sel_r = fit_xyac_recipe(recipe_features(b, True), b["out_yac"].to_numpy(),
                                    recipe_features(va, True), va["out_yac"].to_numpy(), seed)
            rounds = int(sel_r.best_iteration) + 1
            out[name]["nflfastr_recipe"] = RecipeBaseline(fit_xyac_recipe(
                recipe_features(tr, True), tr["out_yac"].to_numpy(), None, None, seed,
                rounds=rounds), with_goal=True)
        if progress:
            progress(f"{name} baselines")
    return Baselines(out)


def yards_forecast(model: Any, df: pl.DataFrame) -> Any:
    """A Forecast for a yards baseline (network or the xYAC recipe)."""
    if isinstance(model, YardsModel):
        return model.predict_dist(df)
    return xyac_forecast(model.model, recipe_features(df, model.with_goal))
