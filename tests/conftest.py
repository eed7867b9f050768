"""Shared fixtures: synthetic play-by-play, the real nflverse files, a real-data warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource
from tests.factories.pbp import make_pbp
from tests.factories.trained import TrainedLeague, make_trained_league

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


@pytest.fixture(scope="session")
def trained_league(tmp_path_factory: pytest.TempPathFactory) -> TrainedLeague:
    """Three small seasons ingested, featurized, a small model trained on the first two and
    everything scored, except the last week of the last season, kept in its own folder for
    `passing-score update` (read the db only; copy it to write)."""
    return make_trained_league(tmp_path_factory.mktemp("league"))
