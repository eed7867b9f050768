"""Train the play models (and their baselines) on chosen seasons and save a versioned artifact;
evaluate every model and baseline on a held-out season, on exactly the same plays.

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
from passing_score.models.baselines import fit_baselines, yards_forecast
from passing_score.models.metrics import binary_metrics, distribution_metrics
from passing_score.models.play_models import PlayModels, fit_play_models, sample
from passing_score.models.samples import TARGETS
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.scalars import as_float, as_int

Progress = Callable[[str], None]


def split_seasons(seasons: list[int]) -> tuple[list[int], int]:
    """(fit seasons, validation season): the last season validates (early stopping and
    model selection)."""
    if len(seasons) < 2:
        raise InputError("--train-seasons needs at least two seasons (the last one validates)")
    s = sorted(seasons)
    return s[:-1], s[-1]


def train_models(df: pl.DataFrame, seasons: list[int], models_dir: Path, seed: int = 0,
                 baselines: bool = False, progress: Progress | None = None) -> Path:
    """Fit on all but the last of `seasons` (rows of `df`); the last one drives early
    stopping and selection. Saves and returns the artifact folder."""
    train_seasons, val_season = split_seasons(seasons)
    df = df.filter(pl.col("season").is_in(seasons))
    train, val = df.filter(pl.col("season") != val_season), df.filter(pl.col("season") ==
                                                                       val_season)
    t0 = time.perf_counter()
    pm = fit_play_models(train, val, seed, progress)
    t_models = time.perf_counter() - t0
    bl = fit_baselines(train, val, seed, progress) if baselines else None
    t_all = time.perf_counter() - t0
    meta = {
        "version": artifact.make_version(train_seasons, val_season, df.height, seed),
        "train_seasons": train_seasons, "val_season": val_season, "seed": seed,
        "train_rows": train.height, "val_rows": val.height,
        "code_version": artifact.code_version(), "selection": pm.selection,
        "seconds": {"play_models": round(t_models, 1), "with_baselines": round(t_all, 1)},
        "val_metrics": validation_metrics(pm, val),
    }
    return artifact.save(models_dir, meta, pm, bl)


def validation_metrics(pm: PlayModels, val: pl.DataFrame) -> dict[str, Any]:
    """Headline metrics of our models on the validation season (stored in meta.json)."""
    out: dict[str, Any] = {}
    for name, t in TARGETS.items():
        s = sample(val, name)
        if t.kind == "binary":
            out[name] = binary_metrics(s[t.target].to_numpy(), getattr(pm, name).predict(s))
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
        if name == "completion":
            s = s.filter(pl.col("cp").is_not_null())  # the same plays for every model
        y = s[t.target].to_numpy()
        block: dict[str, Any] = {}
        if t.kind == "binary":
            block["ours"] = binary_metrics(y, getattr(pm, name).predict(s))
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
