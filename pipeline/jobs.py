"""Jobs: what each CLI verb runs, as library functions (train, evaluate, score, the weekly
update, the end-to-end run's training decision; the validity study is in `validation`).

Multi-stage jobs run as one unit: `score` (predictions + scores) and the weekly update
(ingest -> features -> predictions -> scores) are each one transaction on one writer
connection, so a crash or a bad file anywhere leaves the warehouse as it was and a reader (the
API) never sees a week ingested but not yet scored. Connections are closed in `finally`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from passing_score.features.build import BuildReport, build_dropbacks
from passing_score.features.read import completed_seasons, dropback_seasons, load_dropbacks
from passing_score.models import artifact
from passing_score.models.artifact import Artifact
from passing_score.models.inference.warm import warm_in_background
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.errors import InputError, WarehouseError
from passing_score.pipeline.foundation.versions import current_version
from passing_score.pipeline.foundation.warehouse import atomic, connect, fetch_one, writing
from passing_score.pipeline.ingest.load import IngestReport, PlayFilter, parse_range
from passing_score.pipeline.ingest.load import ingest as run_ingest
from passing_score.pipeline.ingest.players import PlayersReport, load_players
from passing_score.pipeline.ingest.sources import make_source
from passing_score.pipeline.scoring.predictions import refresh_predictions
from passing_score.pipeline.scoring.scores import score as run_score

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
                     holdout_season: int | None, completed: list[int] | None = None
                     ) -> list[int]:
    """The seasons `train` fits on (the last one chooses iterations / epochs, then all are
    refitted): the given range, else every season before the holdout, else every completed
    season (`completed`; default: all of `have`)."""
    seasons = parse_range(train_seasons, "train-seasons")
    if seasons is None:
        if holdout_season is not None:
            return [s for s in have if s < holdout_season]
        return list(have if completed is None else completed)
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
    """The production fit on the chosen seasons (default: every completed one); saves the
    artifact and returns its folder."""
    from passing_score.models.training import split_seasons, train_models

    con = connect(settings.db, read_only=True)
    try:
        seasons = training_seasons(dropback_seasons(con), train_seasons, holdout_season,
                                   completed_seasons(con))
        split_seasons(seasons)
        df = load_dropbacks(con, seasons)
    finally:
        con.close()
    return train_models(df, seasons, settings.models_dir, seed, baselines, progress)


def planned_version(settings: Settings, holdout_season: int | None = None,
                    seed: int = 0) -> str:
    """The version `train` would produce now (same code, seasons and data give the same)."""
    from passing_score.models.training import split_seasons

    con = connect(settings.db, read_only=True)
    try:
        seasons = training_seasons(dropback_seasons(con), None, holdout_season,
                                   completed_seasons(con))
        _, val = split_seasons(seasons)
        marks = ", ".join("?" * len(seasons))
        row = fetch_one(con, f"SELECT count(*) FROM dropbacks WHERE season IN ({marks})",
                        list(seasons))
    finally:
        con.close()
    return artifact.make_version(sorted(seasons), val, int(row[0]) if row else 0, seed)


def needs_training(settings: Settings, holdout_season: int | None = None,
                   seed: int = 0) -> bool:
    """Whether no artifact exists for the current data and code version."""
    version = planned_version(settings, holdout_season, seed)
    return not (settings.models_dir / version / "meta.json").exists()


def evaluate(settings: Settings, holdout: int, seed: int = 0,
             progress: Progress | None = None) -> dict[str, Any]:
    """Held-out metrics of every play model and baseline on season `holdout`, with the newest
    artifact trained before it (trained now when there is none)."""
    from passing_score.models.training import ensure_baselines, train_models
    from passing_score.models.training import evaluate as evaluate_artifact

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


def evaluate_rolling(settings: Settings, seasons: list[int], seed: int = 0,
                     progress: Progress | None = None) -> dict[str, Any]:
    """Rolling-origin evaluation: each season of `seasons` predicted by our production models
    and every baseline trained through the season before (models.rolling); per-season blocks
    in the layout of `evaluate --holdout-season`, plus a pooled row."""
    from passing_score.models.training import rolling

    if not seasons:
        raise InputError("--rolling needs a season range, e.g. 2020-2024")
    con = connect(settings.db, read_only=True)
    try:
        have = dropback_seasons(con)
        missing = [s for s in seasons if s not in have]
        if missing:
            raise InputError(f"--rolling: no dropbacks for {missing} (have {have})")
        if len([s for s in have if s < min(seasons)]) < 2:
            raise InputError(f"--rolling: season {min(seasons)} needs two earlier seasons "
                             f"(have {have})")
        df = load_dropbacks(con, [s for s in have if s <= max(seasons)])
    finally:
        con.close()
    frames = {int(s): df.filter(pl.col("season") == s) for s in df["season"].unique()}
    return rolling(frames, sorted(seasons), seed, progress)


# ---------------------------------------------------------------- scoring


def model_for_scoring(settings: Settings, model_version: str | None = None) -> Artifact:
    """The artifact `score` uses: the named version, else the newest trained one. Its scorer
    is loaded before any writer connection opens, so the lock is held only for the writes
    (and the fitted torch / scikit-learn models are read only when it has no scorer yet)."""
    art = artifact.load(artifact.resolve(settings.models_dir, model_version), models=False)
    _ = art.scorer
    return art


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


def game_week(game_id: str) -> tuple[int, int]:
    """(season, week) of an nflverse game id `SEASON_WW_AWAY_HOME`; InputError otherwise."""
    parts = game_id.split("_")
    if len(parts) != 4 or not (parts[0].isdigit() and parts[1].isdigit()):
        raise InputError(f"--game {game_id!r}: use an nflverse game id like 2024_18_CLE_BAL")
    return int(parts[0]), int(parts[1])


def live_update(settings: Settings, game_id: str, source: str = "local",
                path: Path | None = None, on_stage: Stage = _noop) -> UpdateSummary:
    """Re-score one game from a (partial) play-by-play file of it, as one transaction: the
    weekly update restricted to that game. A file without nflverse's closing "END GAME" play
    marks the game in progress (`game_status.final` false); a later complete file replaces it."""
    season, week = game_week(game_id)
    return weekly_update(settings, season, week, source, path, on_stage, game=game_id)


def weekly_update(settings: Settings, season: int, week: int, source: str = "local",
                  path: Path | None = None, on_stage: Stage = _noop,
                  game: str | None = None) -> UpdateSummary:
    """Ingest one week (or one `game` of it), rebuild its features, predict with the frozen
    model and rescore, as a single transaction; any rejected file aborts the whole update
    (nothing is written)."""
    t0 = time.perf_counter()
    flt = PlayFilter.parse(str(season), str(week), None)
    if game is not None:
        flt = PlayFilter(flt.seasons, flt.weeks, None, game)
    art = model_for_update(settings)  # fails before touching the warehouse
    if settings.warm_kernels:
        warm_in_background(art.scorer)  # numba's start-up overlaps ingest (models.inference)
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
                what = f"game {game}" if game else f"{season} week {week}"
                raise InputError(f"update: no plays of {what} in the {source} "
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


# ---------------------------------------------------------------- player names


def load_player_names(settings: Settings, source: str = "local") -> PlayersReport:
    """Load the `players` table beside the plays: the local players folder
    (`../shared/nflverse/players`, or `data/raw/players`) for every source; nflreadpy's
    `load_players()` too when the plays came from nflreadpy. Never fails the ingest: when
    neither delivers, the note says so and boards show abbreviated names."""
    folder = settings.shared / "players"
    if not folder.is_dir():
        folder = settings.raw_dir / "players"
    with writing(settings.db) as con:
        return load_players(con, folder if folder.is_dir() else None,
                            online=source == "nflreadpy")
