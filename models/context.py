"""Context models: what a dropback is worth in points to an average passer in its situation,
and what a completion's yards after the catch are worth (the points-value components of the
score, docs/scoring.md).

* `xepa`: expected QB EPA of the dropback from its pre-snap context;
* `p_success`: P(QB EPA > 0) from its pre-snap context;
* `xyac_epa`: expected EPA after the catch of a completion from its at-throw context.

Histogram gradient boosting (stopped early on a random tenth of the rows), fitted with the
play models on the same frames (`play_models.fit_play_models`: the training and validation
seasons), saved in the artifact and predicted by `models.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from passing_score.models.encoding import TabularEncoder
from passing_score.models.samples import (
    AT_THROW,
    EPA_SAMPLE,
    PRE_SNAP,
    YAC_EPA_SAMPLE,
    split_types,
)

CONTEXT_VERSION = 1
MIN_ROWS = 50  # fewer rows than this: the model is the sample mean


def _kw(seed: int) -> dict[str, Any]:
    return {"max_iter": 400, "learning_rate": 0.05, "max_leaf_nodes": 31,
            "min_samples_leaf": 100, "l2_regularization": 1.0, "early_stopping": True,
            "validation_fraction": 0.1, "n_iter_no_change": 20, "random_state": seed}


@dataclass
class Boosted:
    """One context model: an encoder and a boosted regressor or classifier (None: the
    training mean `constant`, when the sample was too small or had one class)."""

    encoder: TabularEncoder
    model: HistGradientBoostingRegressor | HistGradientBoostingClassifier | None
    constant: float

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """Expected value (regressor) or P(class 1) (classifier) per row."""
        if self.model is None or df.height == 0:
            return np.full(df.height, self.constant)
        x = self.encoder.transform(df)
        if isinstance(self.model, HistGradientBoostingClassifier):
            return np.asarray(self.model.predict_proba(x)[:, 1], dtype=np.float64)
        return np.asarray(self.model.predict(x), dtype=np.float64)


def _fit(df: pl.DataFrame, features: list[str], y: np.ndarray, classify: bool, seed: int
         ) -> Boosted:
    num, cat = split_types(features)
    enc = TabularEncoder(num, cat).fit(df)
    constant = float(y.mean()) if len(y) else 0.0
    if len(y) < MIN_ROWS or (classify and len(np.unique(y)) < 2):
        return Boosted(enc, None, constant)
    est = (HistGradientBoostingClassifier(**_kw(seed)) if classify
           else HistGradientBoostingRegressor(**_kw(seed)))
    return Boosted(enc, est.fit(enc.transform(df), y), constant)


@dataclass
class ContextModels:
    """Expected EPA and success probability before the snap; expected EPA after the catch."""

    xepa: Boosted
    success: Boosted
    xyac: Boosted
    version: int = CONTEXT_VERSION

    def predict(self, df: pl.DataFrame) -> dict[str, np.ndarray]:
        """Columns xepa, p_success (every row) and xyac_epa (completions in the CP sample,
        NaN elsewhere) of dropbacks."""
        mask = df.select(YAC_EPA_SAMPLE.fill_null(False)).to_series().to_numpy()
        xyac = np.full(df.height, np.nan)
        if mask.any():
            xyac[mask] = self.xyac.predict(df.filter(pl.Series(mask)))
        return {"xepa": self.xepa.predict(df), "p_success": self.success.predict(df),
                "xyac_epa": xyac}


def fit_context_models(df: pl.DataFrame, seed: int = 0) -> ContextModels:
    """Fit the three context models on dropbacks (rows of the play models' seasons)."""
    el = df.filter(EPA_SAMPLE)
    y = el["out_qb_epa"].to_numpy().astype(np.float64)
    comp = df.filter(YAC_EPA_SAMPLE.fill_null(False))
    return ContextModels(
        xepa=_fit(el, list(PRE_SNAP), y, False, seed),
        success=_fit(el, list(PRE_SNAP), (y > 0).astype(np.int64), True, seed),
        xyac=_fit(comp, list(AT_THROW), comp["out_yac_epa"].to_numpy().astype(np.float64),
                  False, seed))
