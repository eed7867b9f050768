"""Production fit on every completed season, and the rolling-origin evaluation (issue 17).

Everything takes and returns polars frames of `dropbacks` rows; no warehouse access.

- `fit_production(frame)`: the selection fit (seasons before the newest, early stopping and
  calibration on the newest) chooses boosting iterations and network epochs; then every play
  model is refitted on *all* seasons of `frame` with those settings, so the newest completed
  season counts. The calibrators fitted on the newest season's out-of-sample predictions are
  carried over; `meta` records the seasons each stage saw.
- `rolling_evaluate(frames_by_season, seasons)`: for each evaluated season t, our models and
  every baseline are trained through t-1 only (frames of seasons < t; the selection fit uses
  t-1 as its validation season) and scored on t; metrics per season in the layout of
  `passing-score evaluate --holdout-season`, plus a pooled row over all evaluated seasons.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from passing_score.models.baselines import fit_baselines_refit, yards_forecast
from passing_score.models.drift import choose_tau, season_offsets, trend_offset
from passing_score.models.fitting import FitOptions, TargetOptions, logit
from passing_score.models.metrics import (
    binary_metrics,
    calibration_floor,
    distribution_rows,
    metrics_from_rows,
)
from passing_score.models.play_models import PlayModels, fit_play_models, sample
from passing_score.models.samples import TARGETS
from passing_score.pipeline.foundation.scalars import as_float, as_int

Progress = Callable[[str], None]
BINARY = ("completion", "interception", "sack")


@dataclass(frozen=True)
class DriftOptions:
    """League-level drift handling of the probability models.

    trend: logit shift for seasons after the newest seen one, from the per-season shifts of
      the training seasons: "none", "linear" (weighted trend), "last" or "mean"; applied to
      `trend_targets`.
    in_season: probability targets whose league level is updated week by week from the
      season's completed weeks (`ProbabilityModel.predict_in_season`).
    tau: prior sd (logit) of that update; None = chosen on the validation season.
    """

    trend: str = "none"
    in_season: tuple[str, ...] = ()
    tau: float | None = None
    trend_targets: tuple[str, ...] = BINARY


def seasons_of(frame: pl.DataFrame) -> list[int]:
    """Sorted distinct seasons of a frame."""
    return sorted(int(s) for s in frame["season"].unique().to_list())


def fit_production(frame: pl.DataFrame, seed: int = 0, val_season: int | None = None,
                   opts: TargetOptions = FitOptions(), drift: DriftOptions = DriftOptions(),
                   goal_line: bool = True, progress: Progress | None = None,
                   targets: tuple[str, ...] | None = None) -> PlayModels:
    """Choose iterations / epochs on `val_season` (default: the newest season of `frame`)
    with a fit on the seasons before it, then refit every model on every season of `frame`
    with those settings. `meta` records the seasons seen and what was chosen."""
    seasons = seasons_of(frame)
    v = seasons[-1] if val_season is None else int(val_season)
    before = [s for s in seasons if s < v]
    if v not in seasons or not before:
        raise ValueError(f"fit_production needs the validation season {v} and an earlier "
                         f"season in the frame (have {seasons})")
    t0 = time.perf_counter()
    sel = fit_play_models(frame.filter(pl.col("season") < v), frame.filter(pl.col("season") == v),
                          seed, _tag(progress, "select"), opts=opts, goal_line=goal_line,
                          targets=targets, context=False)  # the refit's context models serve
    t1 = time.perf_counter()
    settings = sel.settings
    pm = fit_play_models(frame, None, seed, _tag(progress, "refit"), settings=settings,
                         opts=opts, goal_line=goal_line, targets=targets)
    t2 = time.perf_counter()
    drift_meta: dict[str, Any] = {"options": asdict(drift)}
    val = frame.filter(pl.col("season") == v)
    for name in BINARY:
        m, s_m = getattr(pm, name), getattr(sel, name)
        if m is None:
            continue
        m.calibrator, m.kind = s_m.calibrator, s_m.kind  # fitted on v, out of sample
        m.selection = {**s_m.selection, "refit_iterations": m.selection["iterations"]}
        m.last_season = seasons[-1]
        t = TARGETS[name]
        dm: dict[str, Any] = {}
        if drift.trend != "none" and name in drift.trend_targets:
            s = sample(frame, name)
            offs = season_offsets(s["season"].to_numpy(), m.raw_logit(s),
                                  s[t.target].to_numpy().astype(float))
            m.season_offset = trend_offset(offs, seasons[-1] + 1, drift.trend)
            dm["season_offsets"] = {str(k): round(d, 4) for k, (d, _) in offs.items()}
            dm["new_season_offset"] = round(m.season_offset, 4)
        if name in drift.in_season:
            if drift.tau is not None:
                m.in_season_tau = float(drift.tau)
            else:  # out-of-sample, uncalibrated logits of the validation season
                sv = sample(val, name)
                z = logit(s_m.model.predict_proba(s_m.encoder.transform(sv))[:, 1])
                tau, scores = choose_tau(sv["season"].to_numpy(), sv["week"].to_numpy(), z,
                                         sv[t.target].to_numpy().astype(float))
                m.in_season_tau = tau
                dm["tau_scores"] = {f"{k:g}": round(x, 6) for k, x in scores.items()}
            dm["in_season_tau"] = m.in_season_tau
        drift_meta[name] = dm
    pm.meta = {
        "seasons_seen": seasons,
        "selection_fit": {"train_seasons": before, "val_season": v},
        "refit_seasons": seasons,
        "settings": settings,
        "options": ({k: asdict(v) for k, v in opts.items()} if isinstance(opts, dict)
                    else asdict(opts)),
        "goal_line": goal_line,
        "drift": drift_meta,
        "seconds": {"selection_fit": round(t1 - t0, 1), "refit": round(t2 - t1, 1)},
    }
    return pm


def _tag(progress: Progress | None, tag: str) -> Progress | None:
    return None if progress is None else (lambda n: progress(f"{tag} {n}"))


def predict_probability(pm: PlayModels, name: str, s: pl.DataFrame) -> np.ndarray:
    """Our probabilities on a target's sample of one season: the in-season update (each
    week from the season's earlier weeks in `s`) when the model carries one."""
    m = getattr(pm, name)
    if getattr(m, "in_season_tau", None) is not None:
        return m.predict_in_season(s, TARGETS[name].target)
    return m.predict(s)


def score_season(pm: PlayModels, baselines: Any, test: pl.DataFrame, base_rates: dict[str, float],
                 extra: Mapping[str, PlayModels] | None = None
                 ) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Per-row scores of our models (`ours`, plus any `extra` named variants) and every
    baseline on one season: binary {"y", "p"}, yards `distribution_rows`. Every model of a
    target is scored on the same plays."""
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    variants = {"ours": pm, **(extra or {})}
    for name, t in TARGETS.items():
        if getattr(pm, name) is None:
            continue
        s = sample(test, name)
        block: dict[str, dict[str, np.ndarray]] = {}
        if t.kind == "binary":
            keep = (s["cp"].is_not_null().to_numpy() if name == "completion"
                    else np.ones(s.height, bool))  # the same plays for every model
            y = s[t.target].to_numpy().astype(float)[keep]
            for label, model in variants.items():
                block[label] = {"y": y, "p": predict_probability(model, name, s)[keep]}
            if getattr(getattr(pm, name), "in_season_tau", None) is not None:
                # the same model without the in-season update (how much the update adds)
                block["ours_static"] = {"y": y, "p": getattr(pm, name).predict(s)[keep]}
            sk = s.filter(pl.Series(keep))
            if baselines is not None:
                for b, m in baselines.models[name].items():
                    block[b] = {"y": y, "p": m.predict(sk)}
            if name == "completion":
                block["cp_column"] = {"y": y, "p": sk["cp"].to_numpy()}
            block["base_rate"] = {"y": y, "p": np.full(len(y), base_rates[name])}
        else:
            y = s[t.target].to_numpy().astype(float)
            for label, model in variants.items():
                block[label] = distribution_rows(getattr(model, name).predict_dist(s), y)
            if baselines is not None:
                for b, m in baselines.models[name].items():
                    block[b] = distribution_rows(yards_forecast(m, s), y)
        out[name] = block
    return out


def metrics_of(rows: dict[str, dict[str, dict[str, np.ndarray]]], floor: bool = True
               ) -> dict[str, dict[str, Any]]:
    """Metrics of per-row scores (one season or several concatenated). Binary blocks also get
    the calibration error's noise floor (`calibration_floor`) for `ours`."""
    out: dict[str, dict[str, Any]] = {}
    for name, block in rows.items():
        res: dict[str, Any] = {}
        for label, r in block.items():
            if "p" in r:
                res[label] = binary_metrics(r["y"], r["p"])
                if floor and label == "ours":
                    res[label]["calibration_floor"] = calibration_floor(r["p"])
            else:
                res[label] = metrics_from_rows(r)
        out[name] = res
    return out


def pool_rows(per_season: list[dict[str, dict[str, dict[str, np.ndarray]]]]
              ) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Concatenate per-row scores of several seasons (models present in every season)."""
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for name in per_season[0]:
        labels = set.intersection(*(set(r[name]) for r in per_season))
        out[name] = {lab: {k: np.concatenate([r[name][lab][k] for r in per_season])
                           for k in per_season[0][name][lab]}
                     for lab in sorted(labels)}
    return out


def base_rates(train: pl.DataFrame) -> dict[str, float]:
    """The newest training season's rate of each binary target (the base_rate baseline)."""
    newest = train.filter(pl.col("season") == train["season"].max())
    return {n: as_float(sample(newest, n)[TARGETS[n].target].mean()) for n in BINARY}


def rolling_evaluate(frames_by_season: Mapping[int, pl.DataFrame], seasons: list[int],
                     seed: int = 0, opts: TargetOptions = FitOptions(),
                     drift: DriftOptions = DriftOptions(), baselines: bool = True,
                     goal_line: bool = True, progress: Progress | None = None,
                     keep_rows: bool = False, targets: tuple[str, ...] | None = None
                     ) -> dict[str, Any]:
    """For each season t in `seasons`: fit our production models and (with `baselines`)
    every baseline on the frames of seasons < t only, score them on t. Returns
    {"rolling": seasons, "seasons": {t: per-season result}, "pooled": {target: {model: ...}}}
    (and "rows", the per-row scores, with `keep_rows`)."""
    fit_opts = ({k: asdict(v) for k, v in opts.items()} if isinstance(opts, dict)
                else asdict(opts))
    result: dict[str, Any] = {"rolling": list(seasons), "seasons": {}, "options": {
        "fit": fit_opts, "drift": asdict(drift), "goal_line": goal_line, "seed": seed}}
    all_rows: dict[int, Any] = {}
    for t in seasons:
        train_seasons = sorted(s for s in frames_by_season if s < t)
        if len(train_seasons) < 2:
            raise ValueError(f"season {t}: need two earlier seasons to train")
        train = pl.concat([frames_by_season[s] for s in train_seasons], how="vertical_relaxed")
        test = frames_by_season[t]
        assert as_int(train["season"].max()) < t and set(test["season"].unique()) == {t}
        t0 = time.perf_counter()
        pm = fit_production(train, seed, opts=opts, drift=drift, goal_line=goal_line,
                            progress=_tag(progress, str(t)), targets=targets)
        t1 = time.perf_counter()
        bl = (fit_baselines_refit(train, seed, progress=_tag(progress, str(t)))
              if baselines else None)
        t2 = time.perf_counter()
        seen = pm.meta["seasons_seen"]
        assert max(seen) < t, (t, seen)  # no fit behind a prediction of t saw t
        rows = score_season(pm, bl, test, base_rates(train))
        all_rows[t] = rows
        result["seasons"][str(t)] = {
            "holdout_season": t, "train_seasons": seen,
            "val_season": pm.meta["selection_fit"]["val_season"],
            "selection_fit_seasons": pm.meta["selection_fit"]["train_seasons"],
            "baseline_seasons": train_seasons if baselines else None,
            "selection": pm.selection, "settings": pm.meta["settings"],
            "drift": pm.meta["drift"],
            "train_seconds": {"play_models": round(t1 - t0, 1), "baselines": round(t2 - t1, 1)},
            **metrics_of(rows),
        }
        if progress:
            progress(f"{t} evaluated")
    result["pooled"] = metrics_of(pool_rows([all_rows[t] for t in seasons]))
    if keep_rows:
        result["rows"] = all_rows
    return result
