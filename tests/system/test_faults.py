"""Fault tests: kill -9 during a writing stage leaves the last good state and a rerun
completes with the same result; a corrupt model artifact is one line naming the file.

`score` and `update` are killed at fractions of their measured uninterrupted run; the tests
marked `soak` (`make soak`, SOAK_ITERATIONS kills per verb) kill ingest, features, score and
update at many random times.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from passing_score.features.build import build_dropbacks
from passing_score.pipeline.cli import app
from passing_score.pipeline.foundation.warehouse import (
    connect,
    query_pl,
    table_columns,
    table_exists,
)
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource
from tests.factories.pbp import TEAMS, make_pbp
from tests.factories.trained import TrainedLeague

CLI = [sys.executable, "-m", "passing_score.pipeline.cli"]
SOAK_ITERATIONS = int(os.environ.get("SOAK_ITERATIONS", "25"))
# every table a job writes, with its row key; columns that hold wall-clock times are ignored
JOB_TABLES: dict[str, tuple[str, ...]] = {
    "plays": ("game_id", "play_id"),
    "ingested_games": ("game_id",),
    "ingest_log": ("source", "path_or_key"),
    "dropbacks": ("game_id", "play_id"),
    "dropbacks_log": ("game_id",),
    "play_predictions": ("model_version", "game_id", "play_id"),
    "predictions_log": ("model_version", "game_id"),
    "score_weights": ("model_version",),
    "qb_game_scores": ("model_version", "game_id", "passer_id"),
    "qb_season_scores": ("model_version", "season", "season_type", "passer_id"),
}
CLOCK_COLUMNS = frozenset({"ingested_at", "built_at", "predicted_at", "scored_at", "seconds"})
Tables = dict[str, pl.DataFrame]


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


def _run_and_kill(cmd: list[str], env: dict[str, str], after: float) -> bool:
    """Start a CLI command and SIGKILL it after `after` seconds; True if it was still running."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed


def _dropbacks(db: Path) -> pl.DataFrame:
    con = connect(db, read_only=True)
    df = query_pl(con, "SELECT * FROM dropbacks ORDER BY game_id, play_id")
    con.close()
    return df


# fractions of the uninterrupted `features --full` (about half a second here): fixed times of
# a second or more landed after it had finished
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_kill_during_features_then_rerun(plays_db: Path, features_job: JobRun, tmp_path: Path,
                                         fraction: float) -> None:
    after = fraction * features_job.seconds
    reference = tmp_path / "ref.duckdb"
    shutil.copy(plays_db, reference)
    con = connect(reference)
    build_dropbacks(con, full=True)
    con.close()
    db = tmp_path / "w.duckdb"
    shutil.copy(plays_db, db)
    env = {**os.environ, "PASSING_SCORE_DB": str(db)}
    killed = _run_and_kill([*CLI, "features", "--full"], env, after)
    print(f"features: {'killed' if killed else 'finished'} at {after:.2f} s")
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


# ---------------------------------------------------------------- score and update, killed


def snapshot(db: Path) -> Tables:
    """Every job table of a warehouse, rows sorted, clock columns dropped ({} if no file)."""
    if not db.exists():
        return {}
    con = connect(db, read_only=True)
    try:
        out: Tables = {}
        for name, key in JOB_TABLES.items():
            if not table_exists(con, name):
                continue
            cols = [c for c in table_columns(con, name) if c not in CLOCK_COLUMNS]
            order = [*key, *(c for c in cols if c not in key)]  # a total order, ties or not
            quoted = ", ".join('"' + c + '"' for c in cols)
            out[name] = query_pl(con, f"SELECT {quoted} FROM {name} ORDER BY "
                                      + ", ".join('"' + c + '"' for c in order))
        return out
    finally:
        con.close()


def differing(a: Tables, b: Tables) -> list[str]:
    """Tables present in only one snapshot or with other content."""
    return sorted(n for n in set(a) | set(b) if n not in a or n not in b or not a[n].equals(b[n]))


def _timed_run(args: list[str], env: dict[str, str]) -> float:
    """Run a CLI command to completion (it must succeed); its wall-clock seconds."""
    t0 = time.perf_counter()
    r = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    return seconds


@dataclass(frozen=True)
class JobRun:
    """A CLI command run uninterrupted on a copy of `start`: the tables before and after it."""

    args: tuple[str, ...]
    start: Path
    result: Path
    env: dict[str, str]
    before: Tables
    reference: Tables
    seconds: float


def reference_run(args: list[str], start: Path | None, env: dict[str, str], work: Path
                  ) -> JobRun:
    """Run `args` uninterrupted on a copy of `start` (None: no warehouse yet) in `work`."""
    db = work / "reference.duckdb"
    if start is not None:
        shutil.copy(start, db)
    seconds = _timed_run(args, {**env, "PASSING_SCORE_DB": str(db)})
    print(f"\nuninterrupted `passing-score {' '.join(args[:1])}`: {seconds:.1f} s")
    empty = work / "nothing.duckdb"
    return JobRun(tuple(args), start if start is not None else empty, db, env,
                  snapshot(start) if start is not None else {}, snapshot(db), seconds)


def rerun(job: JobRun, env: dict[str, str]) -> None:
    """Run the job's command again, in this process (no interpreter start-up); it must pass."""
    r = CliRunner().invoke(app, list(job.args), env=env)
    assert r.exit_code == 0 and r.exception is None, r.output


def before_or_after(state: Tables, job: JobRun) -> str:
    """The state a killed job left must be the one before it or after it, never a mix."""
    not_before, not_after = differing(state, job.before), differing(state, job.reference)
    assert not not_before or not not_after, (
        f"a mix: {not_before} differ from the state before the command, {not_after} from "
        "the state after it")
    return "as before the command" if not not_before else "as after the command"


def kill_then_rerun(job: JobRun, after: float, work: Path,
                    check: Callable[[Tables, JobRun], str] = before_or_after) -> str:
    """SIGKILL the job `after` seconds in, on a copy of its start; `check` judges the state
    it left, and a rerun must give the reference. Returns a line saying what happened."""
    db = work / "killed.duckdb"
    if job.start.exists():
        shutil.copy(job.start, db)
    env = {**job.env, "PASSING_SCORE_DB": str(db)}
    killed = _run_and_kill([*CLI, *job.args], env, after)
    try:
        left = check(snapshot(db), job)
    except AssertionError as exc:
        raise AssertionError(f"{job.args[0]} killed at {after:.2f} s: {exc}") from None
    rerun(job, env)
    assert differing(snapshot(db), job.reference) == []
    outcome = (f"{job.args[0]}: {'killed' if killed else 'finished'} at {after:.2f} s of "
               f"{job.seconds:.2f} s, left the warehouse {left}")
    print(outcome)
    return outcome


SCORE_OUTPUTS = ("play_predictions", "predictions_log", "score_weights", "qb_game_scores",
                 "qb_season_scores")


def _job_env(league: TrainedLeague) -> dict[str, str]:
    """Environment of the league's CLI runs (its models), without a warehouse path."""
    env = {**os.environ, "PASSING_SCORE_DATA_DIR": str(league.data_dir), "COLUMNS": "200"}
    env.pop("PASSING_SCORE_DB", None)
    return env


@pytest.fixture(scope="module")
def score_job(trained_league: TrainedLeague, tmp_path_factory: pytest.TempPathFactory
              ) -> JobRun:
    """`passing-score score`, uninterrupted, on the trained league's warehouse without its
    predictions and scores (ingested, featurized, a model trained: as before `score`)."""
    work = tmp_path_factory.mktemp("score_ref")
    featurized = work / "featurized.duckdb"
    shutil.copy(trained_league.db, featurized)
    con = connect(featurized)
    for table in SCORE_OUTPUTS:
        con.execute(f"DROP TABLE {table}")
    con.close()
    job = reference_run(["score"], featurized, _job_env(trained_league), work)
    assert set(SCORE_OUTPUTS) <= set(differing(job.before, job.reference))
    return job


@pytest.fixture(scope="module")
def update_job(trained_league: TrainedLeague, tmp_path_factory: pytest.TempPathFactory
               ) -> JobRun:
    """`passing-score update` of the league's held-back week on its scored warehouse."""
    lg = trained_league
    job = reference_run(["update", "--season", str(lg.season), "--week", str(lg.week),
                         "--path", str(lg.week_dir)], lg.db, _job_env(lg),
                        tmp_path_factory.mktemp("update_ref"))
    assert {"plays", "dropbacks", "play_predictions", "qb_game_scores", "qb_season_scores"
            } <= set(differing(job.before, job.reference))
    return job


# fractions of the uninterrupted run: the first ~half of a run is interpreter start-up and
# imports (torch), so the kills aim at its second half, where the transaction runs
SCORE_KILLS = (0.62, 0.72, 0.82)
UPDATE_KILLS = (0.3, 0.55, 0.8)


@pytest.mark.parametrize("fraction", SCORE_KILLS)
def test_kill_during_score_leaves_before_or_after_then_rerun(
        score_job: JobRun, tmp_path: Path, fraction: float,
        record_property: pytest.RecordProperty) -> None:
    record_property("kill", kill_then_rerun(score_job, fraction * score_job.seconds, tmp_path))


@pytest.mark.parametrize("fraction", UPDATE_KILLS)
def test_kill_during_update_leaves_before_or_after_then_rerun(
        update_job: JobRun, tmp_path: Path, fraction: float,
        record_property: pytest.RecordProperty) -> None:
    record_property("kill", kill_then_rerun(update_job, fraction * update_job.seconds,
                                            tmp_path))


# ---------------------------------------------------------------- soak: many random kill times


def _soak_fraction(verb: str, i: int) -> float:
    """Kill time of soak iteration i as a fraction of the uninterrupted run: one random time in
    each of SOAK_ITERATIONS equal slices of 0.05-1.05 (the last ones past its end)."""
    return 0.05 + (i + random.Random(f"{verb}:{i}").random()) / SOAK_ITERATIONS


def whole_files(state: Tables, job: JobRun) -> str:
    """A killed ingest commits per file: each season file is in the warehouse whole or absent."""
    ref_plays = job.reference["plays"]
    plays = state.get("plays", ref_plays.clear())
    loaded = sorted(set(plays["season"].to_list()))
    for season in loaded:
        assert plays.filter(pl.col("season") == season).equals(
            ref_plays.filter(pl.col("season") == season)), f"season {season} is partial"
    games = state.get("ingested_games", job.reference["ingested_games"].clear())
    assert set(games["game_id"].to_list()) == set(plays["game_id"].to_list())
    log = state.get("ingest_log", job.reference["ingest_log"].clear())
    assert log.height == len(loaded) and log.join(job.reference["ingest_log"], on=log.columns,
                                                  how="anti").height == 0
    return f"with {len(loaded)} of {ref_plays['season'].n_unique()} files loaded"


@pytest.fixture(scope="module")
def ingest_job(plays_db: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    """`passing-score ingest` of the two season files into a new warehouse, uninterrupted."""
    work = tmp_path_factory.mktemp("ingest_ref")
    (work / "pbp").mkdir()
    for f in plays_db.parent.glob("*.parquet"):
        shutil.copy(f, work / "pbp" / f.name)
    return reference_run(["ingest", "--path", str(work / "pbp")], None,
                         {**os.environ, "PASSING_SCORE_DATA_DIR": str(work)}, work)


@pytest.fixture(scope="module")
def features_job(plays_db: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    """`passing-score features --full` on the ingested warehouse, uninterrupted."""
    work = tmp_path_factory.mktemp("features_ref")
    return reference_run(["features", "--full"], plays_db,
                         {**os.environ, "PASSING_SCORE_DATA_DIR": str(work)}, work)


@pytest.mark.soak
@pytest.mark.parametrize("i", range(SOAK_ITERATIONS))
def test_soak_kill_during_ingest(ingest_job: JobRun, tmp_path: Path, i: int) -> None:
    kill_then_rerun(ingest_job, _soak_fraction("ingest", i) * ingest_job.seconds, tmp_path,
                    whole_files)


@pytest.mark.soak
@pytest.mark.parametrize("i", range(SOAK_ITERATIONS))
def test_soak_kill_during_features(features_job: JobRun, tmp_path: Path, i: int) -> None:
    kill_then_rerun(features_job, _soak_fraction("features", i) * features_job.seconds,
                    tmp_path)


@pytest.mark.soak
@pytest.mark.parametrize("i", range(SOAK_ITERATIONS))
def test_soak_kill_during_score(score_job: JobRun, tmp_path: Path, i: int) -> None:
    kill_then_rerun(score_job, _soak_fraction("score", i) * score_job.seconds, tmp_path)


@pytest.mark.soak
@pytest.mark.parametrize("i", range(SOAK_ITERATIONS))
def test_soak_kill_during_update(update_job: JobRun, tmp_path: Path, i: int) -> None:
    kill_then_rerun(update_job, _soak_fraction("update", i) * update_job.seconds, tmp_path)


def test_a_half_written_job_is_caught(score_job: JobRun) -> None:
    """The kill checks can fail: predictions committed without their scores are a mix."""
    mixed = {**score_job.before, "play_predictions": score_job.reference["play_predictions"]}
    with pytest.raises(AssertionError, match="play_predictions"):
        before_or_after(mixed, score_job)
