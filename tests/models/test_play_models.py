"""Play models: estimator contracts, determinism, artifact round trip, evaluation JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from passing_score.features.build import build_dropbacks
from passing_score.features.read import load_dropbacks
from passing_score.models import artifact
from passing_score.models.estimators import DistributionRegressor, TorchBinaryClassifier
from passing_score.models.play_models import sample
from passing_score.models.predict import predict_dropbacks
from passing_score.models.samples import TARGETS
from passing_score.models.training import train_models
from passing_score.pipeline import jobs
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource
from tests.factories.pbp import TEAMS, make_pbp

SMALL = {"epochs": 15, "batch_size": 64, "lr": 2e-2, "patience": 4, "hidden": (16,)}


@parametrize_with_checks([
    TorchBinaryClassifier(**SMALL),
    *(DistributionRegressor(family=f, **SMALL)
      for f in ("sbp", "gaussian", "student_t", "binned")),
])
def test_sklearn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_distribution_regressor_is_deterministic_and_learns() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 3)).astype(np.float32)
    y = np.round(5 + 4 * X[:, 0] + rng.standard_t(3, 4000) * 2)
    a = DistributionRegressor(seed=1, batch_size=256, epochs=20).fit(X[:3000], y[:3000])
    b = DistributionRegressor(seed=1, batch_size=256, epochs=20).fit(X[:3000], y[:3000])
    xs = np.array([0.0, 5.0, 10.0])
    assert np.array_equal(a.predict_dist(X[3000:3010]).cdf(np.broadcast_to(xs, (10, 3))),
                          b.predict_dist(X[3000:3010]).cdf(np.broadcast_to(xs, (10, 3))))
    # the median follows the signal
    med = a.predict(np.array([[-1, 0, 0], [1, 0, 0]], dtype=np.float32))
    assert 6 < med[1] - med[0] < 10  # the true difference is 8


@pytest.fixture(scope="module")
def synthetic_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small synthetic seasons ingested and featurized."""
    d = tmp_path_factory.mktemp("syn")
    for i, season in enumerate((2028, 2029, 2030)):
        make_pbp(season=season, weeks=tuple(range(1, 9)), teams=TEAMS[:10], seed=i,
                 plays_per_game=120).write_parquet(d / f"s{season}.parquet")
    db = d / "w.duckdb"
    con = connect(db)
    assert not ingest(con, LocalSource(d), PlayFilter()).rejected
    build_dropbacks(con, full=True)
    con.close()
    return db


def test_train_save_load_round_trip_and_evaluate(synthetic_warehouse: Path, tmp_path: Path
                                                 ) -> None:
    con = connect(synthetic_warehouse, read_only=True)
    models_dir = tmp_path / "models"
    train_rows = load_dropbacks(con, [2028, 2029])
    path = train_models(train_rows, [2028, 2029], models_dir, seed=0)
    meta = json.loads((path / "meta.json").read_text())
    # the production fit: chosen on 2029 with a fit on 2028, then refitted on both
    assert meta["train_seasons"] == [2028, 2029] and meta["val_season"] == 2029
    assert meta["seasons_seen"] == [2028, 2029] and meta["selection_train_seasons"] == [2028]
    assert meta["refit"] and set(meta["settings"]) == set(TARGETS)
    assert meta["drift"]["completion"]["in_season_tau"] is not None
    assert set(meta["features"]) == set(TARGETS)
    art = artifact.load(path)
    test = load_dropbacks(con, [2030])
    p1 = predict_dropbacks(art.play_models, test, art.version)
    p2 = predict_dropbacks(artifact.load(path).play_models, test, art.version)
    assert p1.equals(p2)
    assert p1.height == test.height
    ok = p1.filter(pl.col("p_complete").is_not_null())
    assert ok.height == sample(test, "completion").height
    assert ok["p_complete"].is_between(0, 1).all()
    assert p1["yards_pit"].drop_nulls().is_between(0, 1).all()
    # a second training run with the same seed and data gives the same version and predictions
    path2 = train_models(train_rows, [2028, 2029], tmp_path / "models2", seed=0)
    assert path2.name == path.name
    p3 = predict_dropbacks(artifact.load(path2).play_models, test, art.version)
    assert p1.equals(p3)

    con.close()
    settings = Settings(db=synthetic_warehouse, data_dir=tmp_path)
    result = jobs.evaluate(settings, 2030)
    assert result["model_version"] == art.version  # the artifact for seasons before 2030
    assert (path / "baselines.joblib").exists()  # baselines fitted once, kept with it
    assert jobs.evaluate(settings, 2030)["trained_now"] is False
    for target in ("completion", "interception", "sack"):
        assert {"ours", "logistic"} <= set(result[target])
        assert set(result[target]["ours"]) == {"log_loss", "brier", "auc",
                                               "calibration_error", "n"}
    assert {"nflfastr_recipe", "cp_column", "mlp"} <= set(result["completion"])
    for target in ("yac", "air_yards", "dropback_yards"):
        assert {"ours", "gaussian", "student_t", "binned"} <= set(result[target])
        m = result[target]["ours"]
        assert set(m["coverage_error"]) == {"lower", "body", "upper"}
        assert set(m["share_below"]) == {"0.01", "0.05", "0.95", "0.99"}
    assert "nflfastr_recipe" in result["yac"]
    # every model of a target is scored on the same plays
    for target, block in result.items():
        if isinstance(block, dict) and "ours" in block:
            assert len({m["n"] for m in block.values()}) == 1, target


def test_corrupt_artifact_names_the_file(synthetic_warehouse: Path, tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "meta.json").write_text('{"version": "v1"}')
    (tmp_path / "v1" / "play_models.joblib").write_bytes(b"not a model")
    with pytest.raises(artifact.ArtifactError, match=r"play_models\.joblib"):
        artifact.load(tmp_path / "v1")
    with pytest.raises(artifact.ArtifactError, match="not found"):
        artifact.resolve(tmp_path, "v2")


def test_score_then_weekly_update_cli(synthetic_warehouse: Path, tmp_path: Path) -> None:
    """score fills predictions and scores; update ingests one new week with the frozen model."""
    import os
    import shutil
    import subprocess
    import sys

    db = tmp_path / "w.duckdb"
    shutil.copy(synthetic_warehouse, db)
    con = connect(db, read_only=True)
    train_models(load_dropbacks(con, [2028, 2029]), [2028, 2029], tmp_path / "models", seed=0)
    con.close()
    env = {**os.environ, "PASSING_SCORE_DB": str(db), "PASSING_SCORE_DATA_DIR": str(tmp_path),
           "COLUMNS": "200"}
    cli = [sys.executable, "-m", "passing_score.pipeline.cli"]
    r = subprocess.run([*cli, "score"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    week9 = make_pbp(season=2030, weeks=(9,), teams=TEAMS[:10], seed=2, plays_per_game=120)
    week9.write_parquet(tmp_path / "week9.parquet")
    r = subprocess.run([*cli, "update", "--season", "2030", "--week", "9", "--path",
                        str(tmp_path / "week9.parquet")], env=env, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "Passing Score 2030" in r.stdout
    con = connect(db, read_only=True)
    weeks = {w for (w,) in con.execute(
        "SELECT DISTINCT week FROM qb_game_scores WHERE season = 2030").fetchall()}
    assert 9 in weeks
    con.close()
