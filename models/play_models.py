"""The play models: completion, interception and sack probabilities, and SBP yards
distributions for yards after catch, air yards and dropback yards (a three-part mixture).

Probabilities: histogram gradient boosting, Platt-scaled on the validation season (it beat a
torch MLP, logistic regression and nflfastR's recipe on held-out log loss and calibration; the
evaluation keeps scoring all of them).
Yards: SBP networks (models.sbp) trained on the integer-yard likelihood; yards after catch and
the gain part of dropback yards add a touchdown mass at the goal line (the SBP covers the
plays short of it).

Two ways to fit (all on polars frames, no warehouse access):
- `fit_play_models(train, val)`: the *selection fit*: boosting iterations and network epochs
  are early-stopped on the validation season `val`, the Platt maps are fitted on it; every
  component records what it chose in `settings`.
- `fit_production(frame)` (models.rolling): the selection fit on all but the newest season,
  then `fit_play_models(frame, None, settings=...)` refits on *every* season with those
  settings, so the newest completed season enters the fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss

from passing_score.models.context import ContextModels, fit_context_models
from passing_score.models.drift import sigmoid
from passing_score.models.encoding import TabularEncoder
from passing_score.models.estimators import DistributionForecast, DistributionRegressor
from passing_score.models.fitting import (
    FitOptions,
    IdentityCalibrator,
    TargetOptions,
    features_of,
    fit_calibrator,
    fit_hgb,
    logit,
    options_for,
    recency_weights,
)
from passing_score.models.samples import (
    GAIN,
    NO_GAIN,
    SACK,
    TARGETS,
    Target,
    split_types,
    yards_component,
)
from passing_score.pipeline.foundation.scalars import as_int

HIDDEN = (64, 32)
@dataclass
class ProbabilityModel:
    """Gradient boosting on the target's features, Platt-scaled on the validation season.

    Drift state (fit_production sets it): `season_offset` is a logit shift for seasons after
    `last_season` (the newest season the model saw; 0 = none), `in_season_tau` the prior sd of
    the in-season league-level update (None = off; see `predict_in_season`).
    """

    encoder: TabularEncoder
    model: Any
    calibrator: Any
    selection: dict[str, float] = field(default_factory=dict)
    kind: str = "hgb+platt"
    season_offset: float = 0.0
    last_season: int | None = None
    in_season_tau: float | None = None

    def raw_logit(self, df: pl.DataFrame) -> np.ndarray:
        """Calibrated logit before any season or in-season level shift."""
        raw = self.model.predict_proba(self.encoder.transform(df))[:, 1]
        return logit(self.calibrator.predict_proba(logit(raw)[:, None])[:, 1])

    def _new_season_shift(self, df: pl.DataFrame) -> np.ndarray:
        if not self.season_offset or self.last_season is None:
            return np.zeros(df.height)
        return np.where(df["season"].to_numpy() > self.last_season, self.season_offset, 0.0)

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """P(target = 1) per row (no in-season update: it needs the season's outcomes)."""
        return sigmoid(self.raw_logit(df) + self._new_season_shift(df))

    def predict_in_season(self, df: pl.DataFrame, outcome: str) -> np.ndarray:
        """P(target = 1) with the league level of each (season, week) updated from the rows of
        the same season with a smaller week (their `outcome` column): week k sees weeks < k
        only, as the weekly job would. `df` must hold the season's earlier weeks."""
        z = self.raw_logit(df) + self._new_season_shift(df)
        if self.in_season_tau is None:
            return sigmoid(z)
        from passing_score.models.drift import in_season_offsets

        d = in_season_offsets(df["season"].to_numpy(), df["week"].to_numpy(), z,
                              df[outcome].to_numpy().astype(float), self.in_season_tau)
        return sigmoid(z + d)


def fit_probability(target: Target, train: pl.DataFrame, val: pl.DataFrame | None, seed: int,
                    iterations: int | None = None, opts: FitOptions = FitOptions()
                    ) -> ProbabilityModel:
    """Histogram gradient boosting (early-stopped on `val`) + a calibrator fitted on `val`;
    with `iterations` (and `val` None) a refit of exactly that many rounds, uncalibrated (the
    caller carries the selection fit's calibrator over)."""
    num, cat = split_types(features_of(target, opts))
    enc = TabularEncoder(num, cat).fit(train)
    X, y = enc.transform(train), train[target.target].to_numpy()
    w = recency_weights(train["season"].to_numpy(), opts.half_life)
    if val is None:
        model, best, _ = fit_hgb(X, y, seed, iterations=iterations, weight=w)
        return ProbabilityModel(enc, model, IdentityCalibrator(), {"iterations": best},
                                last_season=as_int(train["season"].max()))
    Xv, yv = enc.transform(val), val[target.target].to_numpy()
    model, best, proba_v = fit_hgb(X, y, seed, Xv, yv, weight=w)
    raw_v = np.asarray(proba_v)[:, 1]
    cal = fit_calibrator(opts.calibration, raw_v, yv)
    scores = {"raw_val_log_loss": float(log_loss(yv, raw_v, labels=[0, 1])),
              "platt_slope": float(cal.coef_[0, 0]), "platt_intercept": float(cal.intercept_[0]),
              "iterations": best}
    return ProbabilityModel(enc, model, cal, scores, kind=f"hgb+{opts.calibration}",
                            last_season=as_int(train["season"].max()))


@dataclass
class YardsModel:
    """A yards distribution network of one target."""

    encoder: TabularEncoder
    model: DistributionRegressor

    def predict_dist(self, df: pl.DataFrame) -> DistributionForecast:
        """Per-row yards distributions."""
        return self.model.predict_dist(self.encoder.transform(df))


def _regressor(family: str, seed: int, family_kw: dict[str, Any] | None = None,
               epochs: int | None = None) -> DistributionRegressor:
    if epochs is None:
        return DistributionRegressor(family=family, family_kw=family_kw, hidden=HIDDEN, seed=seed)
    return DistributionRegressor(family=family, family_kw=family_kw, hidden=HIDDEN, seed=seed,
                                 epochs=max(int(epochs), 1), early_stopping=False)


def fit_yards(target: Target, train: pl.DataFrame, val: pl.DataFrame | None, seed: int,
              family: str = "sbp", family_kw: dict[str, Any] | None = None,
              epochs: int | None = None, opts: FitOptions = FitOptions()) -> YardsModel:
    """Fit a yards network of the given family on the target's sample (early-stopped on
    `val`, or exactly `epochs` epochs on every row when `val` is None)."""
    num, cat = split_types(features_of(target, opts))
    enc = TabularEncoder(num, cat).fit(train)
    if family == "sbp" and family_kw is None:
        family_kw = opts.alpha_kw(target.name)
    reg = _regressor(family, seed, family_kw, None if val is not None else epochs)
    w = recency_weights(train["season"].to_numpy(), opts.half_life)
    ev = None if val is None else (enc.transform(val), val[target.target].to_numpy())
    reg.fit(enc.transform(train), train[target.target].to_numpy(), eval_set=ev, weight=w)
    return YardsModel(enc, reg)


class TouchdownAwareForecast:
    """Yards with the goal line in it: P(touchdown) sits exactly at the distance to the goal;
    the rest follows `body` truncated below that distance."""

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


def fit_yac(target: Target, train: pl.DataFrame, val: pl.DataFrame | None, seed: int,
            settings: dict[str, int] | None = None, opts: FitOptions = FitOptions()
            ) -> YacModel:
    """Fit the touchdown classifier on every catch and the SBP on catches short of the goal."""
    num, cat = split_types(features_of(target, opts))
    enc = TabularEncoder(num, cat).fit(train)
    X, y = enc.transform(train), train[target.target].to_numpy()
    td = y >= YacModel.goal(train)
    w = recency_weights(train["season"].to_numpy(), opts.half_life)
    if val is None:
        st = settings or {}
        clf, it, _ = fit_hgb(X, td.astype(int), seed, iterations=st.get("touchdown"), weight=w)
        body = _regressor("sbp", seed, opts.alpha_kw(target.name), st.get("body", 40)).fit(
            X[~td], y[~td], weight=None if w is None else w[~td])
    else:
        Xv, yv = enc.transform(val), val[target.target].to_numpy()
        tdv = yv >= YacModel.goal(val)
        clf, it, _ = fit_hgb(X, td.astype(int), seed, Xv, tdv.astype(int), weight=w)
        body = _regressor("sbp", seed, opts.alpha_kw(target.name)).fit(
            X[~td], y[~td], eval_set=(Xv[~tdv], yv[~tdv]),
                                           weight=None if w is None else w[~td])
    model = YacModel(enc, clf, body)
    model.settings = {"touchdown": it, "body": int(body.best_epochs_)}  # type: ignore[attr-defined]
    return model


class MixtureForecast:
    """Dropback yards: w_sack * F_sack + w_zero * 1{x >= 0} + w_gain * F_gain."""

    def __init__(self, weights: np.ndarray, sack: Any, gain: Any) -> None:
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
    """Mixture of a sack-yards SBP, a point mass at zero and a gain-yards part, with weights
    from a three-class component classifier (all on pre-snap context). The gain part
    (completions and scrambles) has a touchdown mass at the goal line (`yardline_100`) when
    `gain_touchdown` is set: a gain play cannot pass the goal line, 6.7% of them end on it."""

    encoder: TabularEncoder
    components: HistGradientBoostingClassifier
    sack: DistributionRegressor
    gain: DistributionRegressor
    gain_touchdown: HistGradientBoostingClassifier | None = None

    @staticmethod
    def goal(df: pl.DataFrame) -> np.ndarray:
        """Yards from the line of scrimmage to the goal line."""
        return df["yardline_100"].fill_null(100).to_numpy().astype(float)

    def predict_dist(self, df: pl.DataFrame) -> MixtureForecast:
        """Per-row mixture distributions."""
        X = self.encoder.transform(df)
        proba = self.components.predict_proba(X)
        w = np.zeros((len(X), 3))
        w[:, self.components.classes_.astype(int)] = proba
        gain: Any = self.gain.predict_dist(X)
        if self.gain_touchdown is not None:
            gain = TouchdownAwareForecast(self.gain_touchdown.predict_proba(X)[:, 1],
                                          self.goal(df), gain)
        return MixtureForecast(w, self.sack.predict_dist(X), gain)


def fit_dropback_yards(target: Target, train: pl.DataFrame, val: pl.DataFrame | None,
                       seed: int, settings: dict[str, int] | None = None,
                       opts: FitOptions = FitOptions(), goal_line: bool = True
                       ) -> DropbackYardsModel:
    """Fit the component classifier, the two SBP parts and (goal_line) the gain touchdown
    classifier; early-stopped on `val`, or refitted with `settings` when `val` is None."""
    num, cat = split_types(features_of(target, opts))
    enc = TabularEncoder(num, cat).fit(train)
    comp = train.select(yards_component()).to_series().to_numpy()
    X, y = enc.transform(train), train[target.target].to_numpy()
    w = recency_weights(train["season"].to_numpy(), opts.half_life)
    goal = DropbackYardsModel.goal(train)
    st = settings or {}
    chosen: dict[str, int] = {}
    if val is not None:
        comp_v = val.select(yards_component()).to_series().to_numpy()
        Xv, yv = enc.transform(val), val[target.target].to_numpy()
        goal_v = DropbackYardsModel.goal(val)
        clf, chosen["components"], _ = fit_hgb(X, comp, seed, Xv, comp_v, weight=w)
    else:
        clf, chosen["components"], _ = fit_hgb(X, comp, seed, iterations=st.get("components"),
                                               weight=w)
    parts: dict[int, DistributionRegressor] = {}
    td_clf = None
    for code, key in ((SACK, "sack"), (GAIN, "gain")):
        m = comp == code
        if code == GAIN and goal_line:
            td = m & (y >= goal)
            if val is not None:
                mv = comp_v == code
                tdv = mv & (yv >= goal_v)
                td_clf, chosen["gain_touchdown"], _ = fit_hgb(
                    X[m], td[m].astype(int), seed, Xv[mv], tdv[mv].astype(int),
                    weight=None if w is None else w[m])
            else:
                td_clf, chosen["gain_touchdown"], _ = fit_hgb(
                    X[m], td[m].astype(int), seed, iterations=st.get("gain_touchdown"),
                    weight=None if w is None else w[m])
            m = m & ~td
        wm = None if w is None else w[m]
        if val is not None:
            mv = comp_v == code
            if code == GAIN and goal_line:
                mv = mv & (yv < goal_v)
            reg = _regressor("sbp", seed, opts.alpha_kw(target.name)).fit(
                X[m], y[m], eval_set=(Xv[mv], yv[mv]), weight=wm)
        else:
            reg = _regressor("sbp", seed, opts.alpha_kw(target.name), st.get(key, 40)).fit(
                X[m], y[m], weight=wm)
        parts[code] = reg
        chosen[key] = int(reg.best_epochs_)
    model = DropbackYardsModel(enc, clf, parts[SACK], parts[GAIN], td_clf)
    model.settings = chosen  # type: ignore[attr-defined]
    return model


@dataclass
class PlayModels:
    """All play models of one version. `meta` (fit_production) records the seasons each
    stage saw and the settings chosen on the validation season."""

    completion: ProbabilityModel
    interception: ProbabilityModel
    sack: ProbabilityModel
    yac: YacModel
    air_yards: YardsModel
    dropback_yards: DropbackYardsModel
    context: ContextModels | None = None  # expected EPA, success, YAC EPA (models.context)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def selection(self) -> dict[str, dict[str, Any]]:
        """Which candidate won each probability target, with validation log losses."""
        return {n: {"model": m.kind, **m.selection}
                for n, m in (("completion", self.completion),
                             ("interception", self.interception), ("sack", self.sack))
                if m is not None}

    @property
    def settings(self) -> dict[str, dict[str, int]]:
        """Iterations / epochs of every component (what a refit reuses)."""
        out: dict[str, dict[str, int]] = {}
        for name in ("completion", "interception", "sack"):
            if getattr(self, name) is not None:
                out[name] = {"iterations": int(getattr(self, name).selection["iterations"])}
        if self.air_yards is not None:
            out["air_yards"] = {"epochs": int(self.air_yards.model.best_epochs_)}
        for name in ("yac", "dropback_yards"):
            if getattr(self, name) is not None:
                out[name] = dict(getattr(getattr(self, name), "settings", {}))
        return out


def sample(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """The rows of df in a target's sample."""
    return df.filter(TARGETS[name].sample)


def fit_play_models(train: pl.DataFrame, val: pl.DataFrame | None, seed: int = 0,
                    progress: Any = None, settings: dict[str, dict[str, int]] | None = None,
                    opts: TargetOptions = FitOptions(), goal_line: bool = True,
                    targets: tuple[str, ...] | None = None, context: bool = True
                    ) -> PlayModels:
    """Fit every play model (and the context models unless `context` is False). With `val`
    (a later season): early stopping and calibration on it (the selection fit). With
    `val=None` and `settings` (from a selection fit): a refit on every row of `train` with
    those iterations / epochs (calibrators are the caller's).
    `targets` restricts the fit to some targets (the others are None; for experiments).
    `opts`: one FitOptions for every target, or a dict of them per target name."""
    if val is None and settings is None:
        raise ValueError("a refit (val=None) needs the settings of a selection fit")
    out: dict[str, Any] = dict.fromkeys(TARGETS)
    st = settings or {}
    for name, t in TARGETS.items():
        if targets is not None and name not in targets:
            continue
        tr = sample(train, name)
        va = None if val is None else sample(val, name)
        o = options_for(opts, name)
        if t.kind == "binary":
            out[name] = fit_probability(t, tr, va, seed, st.get(name, {}).get("iterations"), o)
        elif t.kind == "yards":
            out[name] = fit_yards(t, tr, va, seed, epochs=st.get(name, {}).get("epochs"),
                                  opts=o)
        elif t.kind == "yac":
            out[name] = fit_yac(t, tr, va, seed, st.get(name), o)
        else:
            out[name] = fit_dropback_yards(t, tr, va, seed, st.get(name), o, goal_line)
        if progress is not None:
            progress(name)
    if context and targets is None:  # the same seasons (boosting stops on a random tenth)
        rows = train if val is None else pl.concat([train, val], how="diagonal_relaxed")
        out["context"] = fit_context_models(rows, seed)
        if progress is not None:
            progress("context")
    return PlayModels(**out)
