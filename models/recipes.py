"""nflfastR's published recipes, trained on our seasons, as honest baselines.

- CP: xgboost `binary:logistic` on nflfastR's completion-probability features with its
  hyper-parameters (eta 0.025, gamma 5, subsample 0.8, colsample 0.8, max_depth 4,
  min_child_weight 6, 560 rounds, base_score = training completion rate). The same recipe is
  used for interceptions.
- xYAC: xgboost `multi:softprob` over 76 classes (yards after catch clipped to -5..70) on the
  same features plus distance to goal, with the CP hyper-parameters (early-stopped on the
  validation season, at most 500 rounds, to keep training time bounded on 2 cores).
"""

from __future__ import annotations

import os

import numpy as np
import polars as pl
from xgboost import XGBClassifier

from passing_score.models.metrics import DiscreteForecast

YAC_LOW, YAC_HIGH = -5, 70
CP_PARAMS = {"learning_rate": 0.025, "gamma": 5.0, "subsample": 0.8, "colsample_bytree": 0.8,
             "max_depth": 4, "min_child_weight": 6, "tree_method": "hist",
             "n_jobs": int(os.environ.get("PASSING_SCORE_XGB_JOBS", "2"))}


def recipe_features(df: pl.DataFrame, with_goal: bool = False) -> np.ndarray:
    """nflfastR's CP design matrix from `dropbacks` columns (xYAC adds distance to goal)."""
    roof = pl.col("roof")
    cols = [
        pl.col("air_yards").cast(pl.Float64), pl.col("yardline_100").cast(pl.Float64),
        pl.col("ydstogo").cast(pl.Float64),
        *[(pl.col("down") == d).cast(pl.Float64).alias(f"down{d}") for d in (1, 2, 3, 4)],
        (pl.col("air_yards") == 0).cast(pl.Float64).alias("air_is_zero"),
        (pl.col("pass_location") == "middle").cast(pl.Float64).alias("pass_middle"),
        ((pl.col("season") > 2005) & (pl.col("season") <= 2013)).cast(pl.Float64).alias("era2"),
        ((pl.col("season") > 2013) & (pl.col("season") <= 2017)).cast(pl.Float64).alias("era3"),
        (pl.col("season") > 2017).cast(pl.Float64).alias("era4"),
        pl.col("qb_hit").cast(pl.Float64), pl.col("is_home").cast(pl.Float64).alias("home"),
        (roof == "outdoors").cast(pl.Float64).alias("outdoors"),
        roof.is_in(["open", "closed", "unknown"]).cast(pl.Float64).alias("retractable"),
        (roof == "dome").cast(pl.Float64).alias("dome"),
        pl.col("air_to_sticks").cast(pl.Float64).alias("distance_to_sticks"),
    ]
    if with_goal:
        cols.append(pl.col("air_to_goal").cast(pl.Float64).alias("distance_to_goal"))
    return df.select(cols).to_numpy().astype(np.float32)


def fit_cp_recipe(X: np.ndarray, y: np.ndarray, seed: int = 0) -> XGBClassifier:
    """nflfastR CP recipe (also used for interceptions)."""
    model = XGBClassifier(objective="binary:logistic", n_estimators=560,
                          base_score=float(np.clip(y.mean(), 1e-4, 1 - 1e-4)), random_state=seed,
                          **CP_PARAMS)
    return model.fit(X, y)


def fit_xyac_recipe(X: np.ndarray, yac: np.ndarray, X_val: np.ndarray | None,
                    yac_val: np.ndarray | None, seed: int = 0, rounds: int | None = None
                    ) -> XGBClassifier:
    """nflfastR xYAC recipe: 76-class softprob over clipped yards after catch, early-stopped
    on (X_val, yac_val), or exactly `rounds` rounds when no validation set is given."""
    classes = (np.clip(np.round(yac), YAC_LOW, YAC_HIGH) - YAC_LOW).astype(int)
    if X_val is None or yac_val is None:
        model = XGBClassifier(objective="multi:softprob", num_class=YAC_HIGH - YAC_LOW + 1,
                              n_estimators=int(rounds or 500), random_state=seed,
                              eval_metric="mlogloss", **CP_PARAMS)
        X, classes, weights = _all_classes(X, classes)
        return model.fit(X, classes, sample_weight=weights, verbose=False)
    classes_val = (np.clip(np.round(yac_val), YAC_LOW, YAC_HIGH) - YAC_LOW).astype(int)
    model = XGBClassifier(objective="multi:softprob", num_class=YAC_HIGH - YAC_LOW + 1,
                          n_estimators=500, early_stopping_rounds=20, random_state=seed,
                          eval_metric="mlogloss", **CP_PARAMS)
    X, classes, weights = _all_classes(X, classes)
    return model.fit(X, classes, sample_weight=weights, eval_set=[(X_val, classes_val)],
                     verbose=False)


def _all_classes(X: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every class must appear in training for xgboost: add zero-weight rows for absent ones."""
    missing = np.setdiff1d(np.arange(YAC_HIGH - YAC_LOW + 1), classes)
    weights = np.ones(len(classes))
    if len(missing):
        X = np.vstack([X, np.repeat(X[:1], len(missing), axis=0)])
        classes = np.concatenate([classes, missing])
        weights = np.concatenate([weights, np.zeros(len(missing))])
    return X, classes, weights


def xyac_forecast(model: XGBClassifier, X: np.ndarray) -> DiscreteForecast:
    """The recipe's YAC distribution over -5..70 as a Forecast."""
    return DiscreteForecast(model.predict_proba(X), np.arange(YAC_LOW, YAC_HIGH + 1))
