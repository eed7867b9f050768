"""A trained, scored synthetic league with one held-back week: what the CLI, update and fault
tests run `passing-score` against."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from passing_score.features.build import build_dropbacks
from passing_score.features.read import load_dropbacks
from passing_score.models.training import train_models
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource
from passing_score.pipeline.jobs import model_for_scoring, score_all
from tests.factories.pbp import TEAMS, make_pbp


@dataclass(frozen=True)
class TrainedLeague:
    """A scored synthetic warehouse with a trained model, and one held-back week to update."""

    db: Path
    data_dir: Path
    week_dir: Path
    season: int
    week: int

    def env(self, db: Path) -> dict[str, str]:
        """Environment for a CLI subprocess on `db` with this league's models."""
        return {**os.environ, "PASSING_SCORE_DB": str(db),
                "PASSING_SCORE_DATA_DIR": str(self.data_dir), "COLUMNS": "160"}


def make_trained_league(d: Path) -> TrainedLeague:
    """Three small seasons ingested, featurized, a small model trained on the first two and
    everything scored, except the last week of the last season, kept in its own folder for
    `passing-score update` (read the db only; copy it to write)."""
    src, week_dir, data_dir = d / "pbp", d / "week", d / "data"
    for p in (src, week_dir, data_dir):
        p.mkdir()
    season, week = 2030, 8
    for i, s in enumerate((2028, 2029, season)):
        df = make_pbp(season=s, weeks=tuple(range(1, week + 1)), teams=TEAMS[:10], seed=i,
                      plays_per_game=120)
        if s == season:
            df.filter(pl.col("week") == week).write_parquet(week_dir / "week.parquet")
            df = df.filter(pl.col("week") < week)
        df.write_parquet(src / f"s{s}.parquet")
    db = d / "w.duckdb"
    con = connect(db)
    assert not ingest(con, LocalSource(src), PlayFilter()).rejected
    build_dropbacks(con, full=True)
    train_models(load_dropbacks(con, [2028, 2029]), [2028, 2029], data_dir / "models", seed=0)
    score_all(con, model_for_scoring(Settings(db=db, data_dir=data_dir)))
    con.close()
    return TrainedLeague(db, data_dir, week_dir, season, week)
