"""Fault tests: kill -9 during a writing stage leaves the last good state and a rerun
completes with the same result; a corrupt model artifact is one line naming the file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from features.build import build_dropbacks
from pipeline.ingest import PlayFilter, ingest
from pipeline.sources import LocalSource
from pipeline.warehouse import connect, query_pl
from tests.synthetic import TEAMS, make_pbp

CLI = [sys.executable, "-m", "pipeline.cli"]


@pytest.fixture(scope="module")
def plays_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with two synthetic seasons of plays (no features yet)."""
    d = tmp_path_factory.mktemp("faults")
    for i, season in enumerate((2028, 2029)):
        make_pbp(season=season, weeks=tuple(range(1, 13)), teams=TEAMS, seed=i,
                 plays_per_game=150).write_parquet(d / f"s{season}.parquet")
    db = d / "w.duckdb"
    con = connect(db)
    assert not ingest(con, LocalSource(d), PlayFilter()).rejected
    con.close()
    return db


def _run_and_kill(cmd: list[str], env: dict[str, str], after: float) -> None:
    """Start a CLI command and SIGKILL it after `after` seconds (if still running)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _dropbacks(db: Path) -> pl.DataFrame:
    con = connect(db, read_only=True)
    df = query_pl(con, "SELECT * FROM dropbacks ORDER BY game_id, play_id")
    con.close()
    return df


@pytest.mark.parametrize("after", [0.8, 1.6, 2.4])
def test_kill_during_features_then_rerun(plays_db: Path, tmp_path: Path, after: float) -> None:
    reference = tmp_path / "ref.duckdb"
    shutil.copy(plays_db, reference)
    con = connect(reference)
    build_dropbacks(con, full=True)
    con.close()
    db = tmp_path / "w.duckdb"
    shutil.copy(plays_db, db)
    env = {**os.environ, "PASSING_SCORE_DB": str(db)}
    _run_and_kill([*CLI, "features", "--full"], env, after)
    con = connect(db, read_only=True)  # opens: the WAL replays or rolls back cleanly
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
            .fetchall()}
    if "dropbacks" in have:  # committed whole or not at all
        n = con.execute("SELECT count(*) FROM dropbacks").fetchall()[0][0]
        assert n in (0, _dropbacks(reference).height)
    con.close()
    r = subprocess.run([*CLI, "features"], env=env, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert _dropbacks(db).equals(_dropbacks(reference))


def test_corrupt_model_artifact_is_one_line(plays_db: Path, tmp_path: Path) -> None:
    version = tmp_path / "models" / "pm-2028-2029-deadbeef"
    version.mkdir(parents=True)
    (version / "meta.json").write_text('{"version": "pm-2028-2029-deadbeef", "val_season": 2029}')
    (version / "play_models.joblib").write_bytes(b"\x80\x04 truncated")
    db = tmp_path / "w.duckdb"
    shutil.copy(plays_db, db)
    env = {**os.environ, "PASSING_SCORE_DB": str(db), "PASSING_SCORE_DATA_DIR": str(tmp_path)}
    r = subprocess.run([*CLI, "score"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 1
    assert "play_models.joblib" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
