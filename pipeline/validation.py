"""Validation jobs: the validity study (`passing-score validate`) and its rolling origins:
for each evaluated season t, play models fitted on the seasons before t (trained once per
code, seasons and data, kept under data/models) and their predictions, cached under
data/rolling. A sibling of `jobs` in the layers (docs/design.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import polars as pl

from passing_score.features.read import dropback_seasons, load_dropbacks
from passing_score.models import artifact
from passing_score.models.aggregator import PLAY_COLUMNS
from passing_score.models.artifact import Artifact
from passing_score.models.predict import predict_dropbacks
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import connect, fetch_one
from passing_score.pipeline.scoring.readers import game_results
from passing_score.reports.validity.peers import load_qbr, peer_game_sums
from passing_score.reports.validity.rolling import BOOT, Origin, rolling_study
from passing_score.reports.validity.study import validity_study

Progress = Callable[[str], None]


def origin_artifact(settings: Settings, dropbacks: pl.DataFrame, seasons: list[int],
                    seed: int = 0, progress: Progress | None = None) -> Artifact:
    """The play models fitted on `seasons` (the last validates) by the function `train` uses,
    kept under data/models: reused when the same code, seasons and data made one before."""
    from passing_score.models.training import split_seasons, train_models

    df = dropbacks.filter(pl.col("season").is_in(seasons))
    _, val = split_seasons(seasons)
    path = settings.models_dir / artifact.make_version(sorted(seasons), val, df.height, seed)
    if not (path / "meta.json").exists():
        path = train_models(df, seasons, settings.models_dir, seed, progress=progress)
    return artifact.load(path)


def _origin_plays(settings: Settings, art: Artifact, dropbacks: pl.DataFrame,
                  seasons: list[int], built: str) -> pl.DataFrame:
    """The origin's predictions of `seasons` (PLAY_COLUMNS), cached under data/rolling by
    model version, seasons and the dropbacks build they came from."""
    df = dropbacks.filter(pl.col("season").is_in(seasons))
    key = hashlib.sha256(json.dumps([art.version, seasons, df.height, built]).encode())
    path = (settings.data_dir / "rolling"
            / f"{art.version}_{min(seasons)}-{max(seasons)}_{key.hexdigest()[:10]}.parquet")
    if path.exists():
        return pl.read_parquet(path)
    plays = predict_dropbacks(art.scorer, df, art.version).select(PLAY_COLUMNS)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    plays.write_parquet(tmp)
    tmp.replace(path)
    return plays


def rolling_origins(settings: Settings, origins: list[int] | None = None, seed: int = 0,
                    progress: Progress | None = None
                    ) -> tuple[list[Origin], pl.DataFrame, pl.DataFrame]:
    """For each origin season t (default: every season with two before it): play models
    fitted on the seasons before t, their predictions of the seasons up to t. Returns the
    origins, the peers' game sums and the game results (read before any training)."""
    con = connect(settings.db, read_only=True)
    try:
        have = dropback_seasons(con)
        dropbacks = load_dropbacks(con)
        row = fetch_one(con, "SELECT max(built_at)::VARCHAR FROM dropbacks_log")
        peers, results = peer_game_sums(con), game_results(con)
    finally:
        con.close()
    wanted = origins if origins is not None else [t for t in have if t >= have[0] + 2]
    bad = [t for t in wanted if t not in have or len([s for s in have if s < t]) < 2]
    if bad or not wanted:
        raise InputError(f"rolling origins {bad or wanted}: each needs its dropbacks and two "
                         f"earlier seasons (have {have})")
    out = []
    for t in wanted:
        if progress is not None:
            progress(f"origin {t}: play models on {have[0]}-{t - 1}")
        art = origin_artifact(settings, dropbacks, [s for s in have if s < t], seed, progress)
        plays = _origin_plays(settings, art, dropbacks, [s for s in have if s <= t],
                              str(row[0] if row else ""))
        # every season any stage of the fit saw (the refit sees the validation season too)
        seen = sorted({*art.meta.get("seasons_seen", art.meta["train_seasons"]),
                       art.meta["val_season"]})
        out.append(Origin(t, art.version, tuple(int(s) for s in seen), plays))
    return out, peers, results


def validate(settings: Settings, protocol: str = "rolling", model_version: str | None = None,
             origins: list[int] | None = None, boot: int = BOOT, seed: int = 0,
             progress: Progress | None = None) -> dict[str, Any]:
    """The validity study: `rolling` (out of sample, the default) or `in-sample` (the stored
    aggregator of a model version scores every season)."""
    if protocol == "in-sample":
        con = connect(settings.db, read_only=True)
        try:
            return validity_study(con, model_version)
        finally:
            con.close()
    if protocol != "rolling":
        raise InputError(f"--protocol {protocol!r}: use rolling or in-sample")
    if model_version is not None:
        raise InputError("--model-version applies to --protocol in-sample (the rolling "
                         "protocol trains its own play models per origin)")
    found, peers, results = rolling_origins(settings, origins, seed, progress)
    return rolling_study(found, peers, load_qbr(), results, boot=boot, progress=progress)
