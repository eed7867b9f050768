"""Train the play models (and their baselines) on chosen seasons and save a versioned artifact;
evaluate every model and baseline on a held-out season, on exactly the same plays."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from models import artifact
from models.baselines import fit_baselines, yards_forecast
from models.metrics import binary_metrics, distribution_metrics
from models.play_models import fit_play_models, sample
from models.samples import TARGETS
from pipeline.errors import InputError
from pipeline.warehouse import query_pl, require_table

Progress = Callable[[str], None]


def load_dropbacks(con: duckdb.DuckDBPyConnection, seasons: list[int] | None = None
                   ) -> pl.DataFrame:
    """Dropbacks of the given seasons (all when None) from the warehouse."""
    require_table(con, "dropbacks", "run `passing-score features` first")
    if seasons is None:
        return query_pl(con, "SELECT * FROM dropbacks ORDER BY game_id, play_id")
    marks = ", ".join("?" * len(seasons))
    return query_pl(con, f"SELECT * FROM dropbacks WHERE season IN ({marks}) "
                         "ORDER BY game_id, play_id", list(seasons))


def available_seasons(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Seasons present in `dropbacks`."""
    require_table(con, "dropbacks", "run `passing-score features` first")
    return [r[0] for r in con.execute("SELECT DISTINCT season FROM dropbacks ORDER BY 1")
            .fetchall()]


def train_models(con: duckdb.DuckDBPyConnection, seasons: list[int], models_dir: Path,
                 seed: int = 0, baselines: bool = False, progress: Progress | None = None
                 ) -> Path:
    """Fit on all but the last of `seasons`; the last one drives early stopping and selection."""
    have = set(available_seasons(con))
    missing = [s for s in seasons if s not in have]
    if missing:
        raise InputError(f"--train-seasons: no dropbacks for {missing} in the warehouse "
                         f"(have {sorted(have)}); ingest and run `passing-score features`")
    if len(seasons) < 2:
        raise InputError("--train-seasons needs at least two seasons (the last one validates)")
    train_seasons, val_season = sorted(seasons)[:-1], sorted(seasons)[-1]
    df = load_dropbacks(con, sorted(seasons))
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


def validation_metrics(pm: Any, val: pl.DataFrame) -> dict[str, Any]:
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


def evaluate(con: duckdb.DuckDBPyConnection, holdout: int, models_dir: Path, seed: int = 0,
             progress: Progress | None = None) -> dict[str, Any]:
    """Held-out metrics of every model and baseline on season `holdout` (trains only if no
    artifact for earlier seasons exists)."""
    have = available_seasons(con)
    if holdout not in have:
        raise InputError(f"--holdout-season {holdout}: no dropbacks for it (have {have})")
    path = artifact.find_for_holdout(models_dir, holdout)
    trained = False
    if path is None:
        before = [s for s in have if s < holdout]
        if len(before) < 2:
            raise InputError(f"--holdout-season {holdout}: need two earlier seasons to train")
        path = train_models(con, before, models_dir, seed, progress=progress)
        trained = True
    art = artifact.load(path)
    if art.baselines is None:  # fitted once on the artifact's own seasons, then kept with it
        seasons = [*art.meta["train_seasons"], art.meta["val_season"]]
        df = load_dropbacks(con, seasons)
        art.baselines = fit_baselines(df.filter(pl.col("season") != art.meta["val_season"]),
                                      df.filter(pl.col("season") == art.meta["val_season"]),
                                      seed, progress)
        artifact.add_baselines(path, art.baselines)
        trained = True
    test = load_dropbacks(con, [holdout])
    result: dict[str, Any] = {
        "holdout_season": holdout, "train_seasons": art.meta["train_seasons"],
        "val_season": art.meta["val_season"], "model_version": art.version,
        "trained_now": trained, "selection": art.meta.get("selection"),
        "train_seconds": art.meta.get("seconds"),
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
            block["base_rate"] = binary_metrics(y, np.full(len(y), float(
                sample(load_dropbacks(con, art.meta["train_seasons"][-1:]), name)[t.target]
                .mean())))
        else:
            block["ours"] = distribution_metrics(getattr(pm, name).predict_dist(s), y)
            for b, m in bl[name].items():
                block[b] = distribution_metrics(yards_forecast(m, s), y)
        result[name] = block
        if progress:
            progress(f"evaluated {name}")
    return result


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write the evaluation JSON (NaN as null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=float).replace("NaN", "null") + "\n")
