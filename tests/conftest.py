"""Shared fixtures: synthetic play-by-play, the real nflverse files, a real-data warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.ingest import PlayFilter, ingest
from pipeline.sources import LocalSource
from pipeline.warehouse import connect
from tests.synthetic import make_pbp

ROOT = Path(__file__).resolve().parents[1]


def shared_nflverse() -> Path:
    """The read-only nflverse copy beside the project (or PASSING_SCORE_SHARED)."""
    return Path(os.environ.get("PASSING_SCORE_SHARED", ROOT.parent / "shared" / "nflverse"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ../shared/nflverse; skips the test when the real data is absent."""
    d = shared_nflverse()
    if not (d / "pbp").is_dir():
        pytest.skip(f"real nflverse data not found at {d}")
    return d


@pytest.fixture(scope="session")
def real_warehouse(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with every shared season ingested once per test session (read it only)."""
    db = tmp_path_factory.mktemp("real") / "warehouse.duckdb"
    con = connect(db)
    report = ingest(con, LocalSource(shared_dir / "pbp"), PlayFilter())
    con.close()
    assert not report.rejected, report.rejected
    return db


@pytest.fixture()
def synthetic_pbp() -> pl.DataFrame:
    """Two weeks of a small simulated league with the real schema."""
    return make_pbp()


@pytest.fixture()
def tmp_db(tmp_path: Path) -> Iterator[Path]:
    """Path for a fresh warehouse."""
    yield tmp_path / "warehouse.duckdb"


@pytest.fixture()
def con(tmp_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open connection to a fresh warehouse."""
    c = connect(tmp_db)
    yield c
    c.close()


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


@pytest.fixture(scope="session")
def trained_league(tmp_path_factory: pytest.TempPathFactory) -> TrainedLeague:
    """Three small seasons ingested, featurized, a small model trained on the first two and
    everything scored, except the last week of the last season, kept in its own folder for
    `passing-score update` (read the db only; copy it to write)."""
    from features.build import build_dropbacks
    from models.training import train_models
    from pipeline.config import Settings
    from pipeline.jobs import frozen_model, score_all
    from tests.synthetic import TEAMS

    d = tmp_path_factory.mktemp("league")
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
    train_models(con, [2028, 2029], data_dir / "models", seed=0)
    score_all(con, frozen_model(Settings(db=db, data_dir=data_dir)))
    con.close()
    return TrainedLeague(db, data_dir, week_dir, season, week)
