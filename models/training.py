"""Train the production play models (and their baselines) on chosen seasons and save a
versioned artifact; evaluate every model and baseline on a held-out season, on exactly the same
plays, or on each season of a rolling-origin range.

Frames in, frames out: the caller reads `dropbacks` and passes the seasons' rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from passing_score.models import artifact
from passing_score.models.baselines import fit_baselines, fit_baselines_refit, yards_forecast
from passing_score.models.fitting import FitOptions
from passing_score.models.metrics import binary_metrics, distribution_metrics
from passing_score.models.play_models import PlayModels, sample
from passing_score.models.rolling import (
    DriftOptions,
    fit_production,
    predict_probability,
    rolling_evaluate,
)
from passing_score.models.samples import TARGETS
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.scalars import as_float, as_int

Progress = Callable[[str], None]


# The drift handling the rolling evaluation 2020-2024 kept by its fixed selection rule
# (docs/models.md, "Season drift"); every difference between the candidates is within about
# two standard errors, so these are the rule's picks, not large wins.
PRODUCTION_OPTS: dict[str, FitOptions] = {
    "completion": FitOptions(half_life=4.0),  # recency weights + the in-season update
    "interception": FitOptions(era=False),    # no era input + the linear season trend
    "sack": FitOptions(era=False),            # no era input + trend + in-season update
}
PRODUCTION_DRIFT = DriftOptions(trend="linear", trend_targets=("interception", "sack"),
                                in_season=("completion", "sack"))


def split_seasons(seasons: list[int]) -> tuple[list[int], int]:
    """(selection-fit seasons, validation season): the last season chooses boosting rounds,
    network epochs and the calibration maps with a fit on the others; the production models
    are then refitted on all of them."""
    if len(seasons) < 2:
        raise InputError("--train-seasons needs at least two seasons (the last one validates)")
    s = sorted(seasons)
    return s[:-1], s[-1]


def train_models(df: pl.DataFrame, seasons: list[int], models_dir: Path, seed: int = 0,
                 baselines: bool = False, progress: Progress | None = None) -> Path:
    """The production fit (models.rolling.fit_production) on `seasons` (rows of `df`):
    iterations / epochs and calibration chosen on the last season with a fit on the others,
    then every model refitted on all of them, so the newest season counts. Saves and returns
    the artifact folder; meta records the seasons each stage saw."""
    selection_seasons, val_season = split_seasons(seasons)
    seasons = sorted(seasons)
    df = df.filter(pl.col("season").is_in(seasons))
    val = df.filter(pl.col("season") == val_season)
    t0 = time.perf_counter()
    pm = fit_production(df, seed, val_season, opts=PRODUCTION_OPTS, drift=PRODUCTION_DRIFT,
                        progress=progress)
    t_models = time.perf_counter() - t0
    bl = fit_baselines_refit(df, seed, val_season, progress) if baselines else None
    t_all = time.perf_counter() - t0
    meta = {
        "version": artifact.make_version(seasons, val_season, df.height, seed),
        # every season the production models saw (the refit); the selection fit saw
        # `selection_train_seasons` and chose iterations / epochs on `val_season`
        "train_seasons": seasons, "val_season": val_season, "seed": seed,
        "seasons_seen": pm.meta["seasons_seen"], "selection_train_seasons": selection_seasons,
        "refit": True, "settings": pm.meta["settings"], "drift": pm.meta["drift"],
        "options": pm.meta["options"], "train_rows": df.height, "val_rows": val.height,
        "code_version": artifact.code_version(), "selection": pm.selection,
        "seconds": {"play_models": round(t_models, 1), "with_baselines": round(t_all, 1),
                    **pm.meta["seconds"]},
        # the selection fit's out-of-sample figures are in `selection`; these are in-sample
        "val_metrics_in_sample": validation_metrics(pm, val),
    }
    return artifact.save(models_dir, meta, pm, bl)


def rolling(frames_by_season: dict[int, pl.DataFrame], seasons: list[int], seed: int = 0,
            progress: Progress | None = None) -> dict[str, Any]:
    """Rolling-origin evaluation of the production configuration: each season of `seasons`
    predicted by our models and every baseline trained through the season before."""
    t0 = time.perf_counter()
    res = rolling_evaluate(frames_by_season, sorted(seasons), seed, opts=PRODUCTION_OPTS,
                           drift=PRODUCTION_DRIFT, progress=progress)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def validation_metrics(pm: PlayModels, val: pl.DataFrame) -> dict[str, Any]:
    """Headline metrics of our models on the validation season (stored in meta.json)."""
    out: dict[str, Any] = {}
    for name, t in TARGETS.items():
        s = sample(val, name)
        if t.kind == "binary":
            out[name] = binary_metrics(s[t.target].to_numpy(), predict_probability(pm, name, s))
        else:
            m = distribution_metrics(getattr(pm, name).predict_dist(s), s[t.target].to_numpy())
            out[name] = {k: m[k] for k in ("nll", "crps", "n")}
    return out


def ensure_baselines(art: artifact.Artifact, df: pl.DataFrame, seed: int = 0,
                     progress: Progress | None = None) -> bool:
    """Fit the comparison baselines once on the artifact's own seasons (rows of `df`) and
    keep them with it; False when they were already there."""
    if art.baselines is not None:
        return False
    val = art.meta["val_season"]
    if art.meta.get("refit"):  # a production artifact: baselines through the same seasons
        art.baselines = fit_baselines_refit(
            df.filter(pl.col("season").is_in(art.meta["train_seasons"])), seed, val, progress)
    else:
        art.baselines = fit_baselines(
            df.filter(pl.col("season").is_in(art.meta["train_seasons"])),
            df.filter(pl.col("season") == val), seed, progress)
    artifact.add_baselines(art.path, art.baselines)
    return True


def evaluate(art: artifact.Artifact, test: pl.DataFrame, base: pl.DataFrame,
             progress: Progress | None = None) -> dict[str, Any]:
    """Metrics of every model and baseline of `art` on the held-out rows `test`; `base`
    (the newest training season) gives the base rates."""
    holdout = as_int(test["season"].max()) if test.height else None
    result: dict[str, Any] = {
        "holdout_season": holdout, "train_seasons": art.meta["train_seasons"],
        "val_season": art.meta["val_season"], "model_version": art.version,
        "selection": art.meta.get("selection"), "train_seconds": art.meta.get("seconds"),
    }
    pm, bl = art.play_models, art.baselines.models
    for name, t in TARGETS.items():
        s = sample(test, name)
        # the in-season update sees the held-out season's earlier weeks only (all of them)
        p_ours = predict_probability(pm, name, s) if t.kind == "binary" else None
        if name == "completion":
            keep = s["cp"].is_not_null().to_numpy()  # the same plays for every model
            s, p_ours = s.filter(pl.Series(keep)), np.asarray(p_ours)[keep]
        y = s[t.target].to_numpy()
        block: dict[str, Any] = {}
        if t.kind == "binary":
            block["ours"] = binary_metrics(y, np.asarray(p_ours))
            for b, m in bl[name].items():
                block[b] = binary_metrics(y, m.predict(s))
            if name == "completion":
                block["cp_column"] = binary_metrics(y, s["cp"].to_numpy())
            block["base_rate"] = binary_metrics(y, np.full(len(y), as_float(
                sample(base, name)[t.target].mean())))
        else:
            block["ours"] = distribution_metrics(getattr(pm, name).predict_dist(s), y)
            for b, m in bl[name].items():
                block[b] = distribution_metrics(yards_forecast(m, s), y)
        result[name] = block
        if progress:
            progress(f"evaluated {name}")
    return result


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write the evaluation JSON (NaN as null) through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=float).replace("NaN", "null") + "\n")
    tmp.replace(path)
