"""Multi-stage jobs run as one unit: the weekly update (ingest -> features -> predictions ->
scores in a single transaction) and scoring (predictions + scores).

Orchestration lives in `pipeline` with the CLI; later stages are imported inside the functions
(as the CLI verbs do), so `pipeline` itself never depends on `features` or `models` at import.
One writer connection and one transaction per job: a crash or a bad file anywhere leaves the
warehouse as it was, and a reader (the API) never sees a week ingested but not yet scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipeline.config import Settings
from pipeline.errors import InputError
from pipeline.ingest import IngestReport, PlayFilter
from pipeline.ingest import ingest as run_ingest
from pipeline.sources import make_source
from pipeline.warehouse import atomic, connect

if TYPE_CHECKING:
    from models.artifact import Artifact

Stage = Callable[[str, int | None, int | None], None]  # (stage, done, total) for progress bars


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


def frozen_model(settings: Settings, model_version: str | None = None) -> Artifact:
    """The model artifact to score with (the newest unless a version is named), loaded before
    any writer connection is opened so the warehouse lock is held only for the writes."""
    from models import artifact

    return artifact.load(artifact.resolve(settings.models_dir, model_version))


def score_all(con: duckdb.DuckDBPyConnection, art: Artifact, full: bool = False,
              season: int | None = None, week: int | None = None,
              on_stage: Stage = _noop) -> ScoreSummary:
    """Predict new or rebuilt games and refresh QB scores, in one transaction on `con`."""
    from models.predict import refresh_predictions
    from pipeline.scoring import score as run_score

    with atomic(con):
        games, rows = refresh_predictions(con, art, full,
                                          progress=lambda d, t: on_stage("predict", d, t))
        report = run_score(con, art.version, season=season, week=week,
                           progress=lambda d, t: on_stage("score", d, t))
    return ScoreSummary(art.version, games, rows, report.game_rows, report.season_rows)


def weekly_update(settings: Settings, season: int, week: int, source: str = "local",
                  path: Path | None = None, on_stage: Stage = _noop) -> UpdateSummary:
    """Ingest one week, rebuild its features, predict with the frozen model and rescore, as a
    single transaction; any rejected file aborts the whole update (nothing is written)."""
    from features.build import build_dropbacks

    t0 = time.perf_counter()
    flt = PlayFilter.parse(str(season), str(week), None)
    art = frozen_model(settings)  # fails before touching the warehouse
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
