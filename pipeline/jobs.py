"""Jobs: what each CLI verb runs, as library functions (train, evaluate, score, the weekly
update, the end-to-end run's training decision, the validity study and its rolling origins).

Multi-stage jobs run as one unit: `score` (predictions + scores) and the weekly update
(ingest -> features -> predictions -> scores) are each one transaction on one writer
connection, so a crash or a bad file anywhere leaves the warehouse as it was and a reader (the
API) never sees a week ingested but not yet scored. Connections are closed in `finally`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from passing_score.features.build import BuildReport, build_dropbacks
from passing_score.features.read import dropback_seasons, load_dropbacks
from passing_score.models import artifact
from passing_score.models.aggregator import PLAY_COLUMNS
from passing_score.models.artifact import Artifact
from passing_score.models.predict import predict_dropbacks
from passing_score.models.training import ensure_baselines, split_seasons, train_models
from passing_score.models.training import evaluate as evaluate_artifact
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.errors import InputError, WarehouseError
from passing_score.pipeline.foundation.versions import current_version
from passing_score.pipeline.foundation.warehouse import atomic, connect, fetch_one, writing
from passing_score.pipeline.ingest.load import IngestReport, PlayFilter, parse_range
from passing_score.pipeline.ingest.load import ingest as run_ingest
from passing_score.pipeline.ingest.sources import make_source
from passing_score.pipeline.scoring.predictions import refresh_predictions
from passing_score.pipeline.scoring.readers import game_results
from passing_score.pipeline.scoring.scores import score as run_score
from passing_score.reports.validity.peers import load_qbr, peer_game_sums
from passing_score.reports.validity.rolling import BOOT, Origin, rolling_study
from passing_score.reports.validity.study import validity_study

Stage = Callable[[str, int | None, int | None], None]  # (stage, done, total) for progress bars
Progress = Callable[[str], None]


@dataclass
class ScoreSummary:
    """What one scoring run wrote."""

    model_version: str
    games_predicted: int
    rows_predicted: int
    game_rows: int
    season_rows: int


@dataclass
class UpdateSummary:
    """What the weekly update wrote, stage by stage."""

    ingest: IngestReport
    games_rebuilt: int
    dropbacks_written: int
    score: ScoreSummary
    seconds: float


def _noop(_stage: str, _done: int | None, _total: int | None) -> None:
    return None


# ---------------------------------------------------------------- ingest and features


def ingest(settings: Settings, source: str = "local", path: Path | None = None,
           seasons: str | None = None, weeks: str | None = None,
           season_type: str | None = None,
           on_batch: Callable[[int, int], None] | None = None) -> IngestReport:
    """Load play-by-play into `plays` (validated, per game, transactional, idempotent);
    `on_batch(done, total)` after each file or download."""
    flt = PlayFilter.parse(seasons, weeks, season_type)
    src = make_source(source, path, settings.default_pbp_path)
    batches = list(src.batches(flt.seasons))
    done = 0

    def batch_done(_: object) -> None:
        nonlocal done
        done += 1
        if on_batch is not None:
            on_batch(done, len(batches))

    if on_batch is not None:
        on_batch(0, len(batches))
    with writing(settings.db) as con:
        return run_ingest(con, src, flt, on_batch=batch_done, batches=batches)


def features(settings: Settings, full: bool = False,
             on_progress: Callable[[int, int], None] | None = None) -> BuildReport:
    """Rebuild `dropbacks` from `plays` (incremental per game unless `full`)."""
    with writing(settings.db) as con:
        return build_dropbacks(con, full=full, on_progress=on_progress)


# ---------------------------------------------------------------- training


def training_seasons(have: list[int], train_seasons: str | None,
                     holdout_season: int | None) -> list[int]:
    """The seasons `train` fits on (the last one validates): the given range, else every
    season before the holdout (default: the newest season is held out)."""
    seasons = parse_range(train_seasons, "train-seasons")
    if seasons is None:
        hold = holdout_season if holdout_season is not None else max(have)
        return [s for s in have if s < hold]
    if holdout_season is not None and holdout_season in seasons:
        raise InputError(f"--holdout-season {holdout_season} is inside --train-seasons")
    missing = [s for s in seasons if s not in have]
    if missing:
        raise InputError(f"--train-seasons: no dropbacks for {missing} in the warehouse "
                         f"(have {have}); ingest and run `passing-score features`")
    return seasons


def train(settings: Settings, train_seasons: str | None = None,
          holdout_season: int | None = None, seed: int = 0, baselines: bool = False,
          progress: Progress | None = None) -> Path:
    """Fit the play models on the chosen seasons and save the artifact; returns its folder."""
    con = connect(settings.db, read_only=True)
    try:
        seasons = training_seasons(dropback_seasons(con), train_seasons, holdout_season)
        split_seasons(seasons)
        df = load_dropbacks(con, seasons)
    finally:
        con.close()
    return train_models(df, seasons, settings.models_dir, seed, baselines, progress)


def planned_version(settings: Settings, holdout_season: int | None = None,
                    seed: int = 0) -> str:
    """The version `train` would produce now (same code, seasons and data give the same)."""
    con = connect(settings.db, read_only=True)
    try:
        seasons = training_seasons(dropback_seasons(con), None, holdout_season)
        fit, val = split_seasons(seasons)
        marks = ", ".join("?" * len(seasons))
        row = fetch_one(con, f"SELECT count(*) FROM dropbacks WHERE season IN ({marks})",
                        list(seasons))
    finally:
        con.close()
    return artifact.make_version(fit, val, int(row[0]) if row else 0, seed)


def needs_training(settings: Settings, holdout_season: int | None = None,
                   seed: int = 0) -> bool:
    """Whether no artifact exists for the current data and code version."""
    version = planned_version(settings, holdout_season, seed)
    return not (settings.models_dir / version / "meta.json").exists()


def evaluate(settings: Settings, holdout: int, seed: int = 0,
             progress: Progress | None = None) -> dict[str, Any]:
    """Held-out metrics of every play model and baseline on season `holdout`, with the newest
    artifact trained before it (trained now when there is none)."""
    con = connect(settings.db, read_only=True)
    try:
        have = dropback_seasons(con)
        if holdout not in have:
            raise InputError(f"--holdout-season {holdout}: no dropbacks for it (have {have})")
        path = artifact.find_for_holdout(settings.models_dir, holdout)
        trained = path is None
        if path is None:
            before = [s for s in have if s < holdout]
            if len(before) < 2:
                raise InputError(f"--holdout-season {holdout}: need two earlier seasons to "
                                 "train")
            path = train_models(load_dropbacks(con, before), before, settings.models_dir, seed,
                                progress=progress)
        art = artifact.load(path)
        seen = [*art.meta["train_seasons"], art.meta["val_season"]]
        if art.baselines is None:
            trained |= ensure_baselines(art, load_dropbacks(con, seen), seed, progress)
        test = load_dropbacks(con, [holdout])
        base = load_dropbacks(con, art.meta["train_seasons"][-1:])
    finally:
        con.close()
    return {**evaluate_artifact(art, test, base, progress), "trained_now": trained}


# ---------------------------------------------------------------- scoring


def model_for_scoring(settings: Settings, model_version: str | None = None) -> Artifact:
    """The artifact `score` uses: the named version, else the newest trained one. Loaded
    before any writer connection opens, so the lock is held only for the writes."""
    return artifact.load(artifact.resolve(settings.models_dir, model_version))


def model_for_update(settings: Settings, model_version: str | None = None) -> Artifact:
    """The artifact the weekly job uses: the named version, else the one the warehouse scores
    now (the frozen model stays frozen when a newer one is trained), else the newest."""
    if model_version is None and settings.db.exists():
        con = connect(settings.db, read_only=True)
        try:
            model_version = current_version(con)
        except WarehouseError:
            model_version = None
        finally:
            con.close()
    return model_for_scoring(settings, model_version)


def score_all(con: duckdb.DuckDBPyConnection, art: Artifact, full: bool = False,
              season: int | None = None, week: int | None = None,
              on_stage: Stage = _noop) -> ScoreSummary:
    """Predict new or rebuilt games and refresh QB scores, in one transaction on `con`."""
    with atomic(con):
        games, rows = refresh_predictions(con, art, full,
                                          progress=lambda d, t: on_stage("predict", d, t))
        report = run_score(con, art.version, season=season, week=week,
                           progress=lambda d, t: on_stage("score", d, t))
    return ScoreSummary(art.version, games, rows, report.game_rows, report.season_rows)


def score(settings: Settings, model_version: str | None = None, full: bool = False,
          season: int | None = None, week: int | None = None,
          on_stage: Stage = _noop) -> ScoreSummary:
    """The `score` verb: load the model, then predict and score in one transaction."""
    art = model_for_scoring(settings, model_version)
    con = connect(settings.db)
    try:
        return score_all(con, art, full, season, week, on_stage)
    finally:
        con.close()


def weekly_update(settings: Settings, season: int, week: int, source: str = "local",
                  path: Path | None = None, on_stage: Stage = _noop) -> UpdateSummary:
    """Ingest one week, rebuild its features, predict with the frozen model and rescore, as a
    single transaction; any rejected file aborts the whole update (nothing is written)."""
    t0 = time.perf_counter()
    flt = PlayFilter.parse(str(season), str(week), None)
    art = model_for_update(settings)  # fails before touching the warehouse
    src = make_source(source, path, settings.default_pbp_path)
    batches = list(src.batches(flt.seasons))
    con = connect(settings.db)
    try:
        with atomic(con):
            on_stage("ingest", 0, len(batches))
            done = 0

            def batch_done(_: object) -> None:
                nonlocal done
                done += 1
                on_stage("ingest", done, len(batches))

            ing = run_ingest(con, src, flt, on_batch=batch_done, batches=batches)
            if ing.rejected:
                raise InputError(f"update {season} week {week} aborted, nothing written: "
                                 f"{ing.rejected[0].error}")
            if not any(r.status in ("loaded", "unchanged") for r in ing.results):
                raise InputError(f"update: no plays of {season} week {week} in the {source} "
                                 f"source{f' at {path}' if path else ''}")
            fb = build_dropbacks(con, full=False,
                                 on_progress=lambda d, t: on_stage("features", d, t))
            sc = score_all(con, art, season=season, week=week, on_stage=on_stage)
    finally:
        con.close()
    return UpdateSummary(ing, fb.games_rebuilt, fb.rows, sc, time.perf_counter() - t0)


def newest_scored_season(settings: Settings) -> int:
    """The newest season with season scores (the board `run` prints)."""
    con = connect(settings.db, read_only=True)
    try:
        row = fetch_one(con, "SELECT max(season) FROM qb_season_scores")
    finally:
        con.close()
    if not row or row[0] is None:
        raise InputError("no scores in the warehouse: `passing-score score` produced nothing")
    return int(row[0])


# ---------------------------------------------------------------- validation


def origin_artifact(settings: Settings, dropbacks: pl.DataFrame, seasons: list[int],
                    seed: int = 0, progress: Progress | None = None) -> Artifact:
    """The play models fitted on `seasons` (the last validates) by the function `train` uses,
    kept under data/models: reused when the same code, seasons and data made one before."""
    df = dropbacks.filter(pl.col("season").is_in(seasons))
    fit_seasons, val = split_seasons(seasons)
    path = settings.models_dir / artifact.make_version(fit_seasons, val, df.height, seed)
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
    plays = predict_dropbacks(art.play_models, df, art.version).select(PLAY_COLUMNS)
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
        seen = (*art.meta["train_seasons"], art.meta["val_season"])
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
