"""The compiled scorer computes what the fitted play models compute (float rounding apart)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from passing_score.features.build import build_dropbacks
from passing_score.features.read import load_dropbacks
from passing_score.models import artifact
from passing_score.models.inference import Scorer
from passing_score.models.predict import grid_summary, standardize_pit
from passing_score.models.samples import TARGETS
from passing_score.models.training import train_models
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource
from tests.factories.pbp import TEAMS, make_pbp

KEYS = ("mean", "q10", "q50", "q90", "pit")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[artifact.Artifact, object]:
    d = tmp_path_factory.mktemp("syn")
    for i, season in enumerate((2028, 2029, 2030)):
        make_pbp(season=season, weeks=tuple(range(1, 7)), teams=TEAMS[:8], seed=i,
                 plays_per_game=120).write_parquet(d / f"s{season}.parquet")
    con = connect(d / "w.duckdb")
    assert not ingest(con, LocalSource(d), PlayFilter()).rejected
    build_dropbacks(con, full=True)
    path = train_models(load_dropbacks(con, [2028, 2029]), [2028, 2029],
                        tmp_path_factory.mktemp("m"), seed=0)
    test = load_dropbacks(con, [2030])
    con.close()
    return artifact.load(path), test


def test_scorer_matches_the_fitted_models(trained: tuple[artifact.Artifact, object]) -> None:
    art, test = trained
    pm, sc = art.play_models, art.scorer
    assert (art.path / "scorer.npz").exists()  # saved with the artifact at training
    assert "gain_td" in sc.trees  # the goal line of the dropback-yards gain part
    for name in ("completion", "interception", "sack"):
        s = test.filter(TARGETS[name].sample.fill_null(False))  # type: ignore[attr-defined]
        m = getattr(pm, name)
        # the season shift for seasons after the newest seen (2030 > 2029) included
        np.testing.assert_allclose(sc.probability(name, s), m.predict(s), rtol=0, atol=1e-12)
        # and the in-season update: week k from the same season's weeks < k
        np.testing.assert_allclose(sc.probability(name, s, history=s),
                                   m.predict_in_season(s, TARGETS[name].target),
                                   rtol=0, atol=1e-12)
    assert sc.in_season("completion") and sc.in_season("sack")
    assert not sc.in_season("interception") and sc.levels["interception"].season_offset != 0
    for name in ("yac", "air_yards", "dropback_yards"):
        s = test.filter(TARGETS[name].sample.fill_null(False))  # type: ignore[attr-defined]
        y = s[TARGETS[name].target].to_numpy().astype(float)
        ref = grid_summary(getattr(pm, name).predict_dist(s), y)
        got = sc.summary(name, s, y)
        for i, k in enumerate(KEYS):
            # float32 network outputs differ in the last bits (BLAS summation order)
            close = np.isclose(got[:, i], ref[k], rtol=0, atol=1e-4 if k == "mean" else 1e-5)
            assert close.mean() > (0.99 if k.startswith("q") else 0.9999), (name, k)


def test_scorer_context_models_match_the_fitted_ones(
        trained: tuple[artifact.Artifact, object]) -> None:
    """Expected QB EPA, success and EPA after the catch: the arrays give the fitted boosters'
    predictions (regressors and the classifier), also after a save and load."""
    art, test = trained
    want = art.play_models.context.predict(test)
    for sc in (art.scorer, Scorer.load(art.path)):
        assert sc is not None
        got = sc.context(test)
        for k in ("xepa", "p_success", "xyac_epa"):
            assert np.isfinite(want[k]).sum() > 0, k
            np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-9, err_msg=k)


def test_scorer_round_trip_without_the_fitted_models(trained: tuple[artifact.Artifact, object]
                                                     ) -> None:
    art, test = trained
    again = Scorer.load(art.path)
    assert again is not None
    s = test.filter(TARGETS["dropback_yards"].sample.fill_null(False))  # type: ignore[attr-defined]
    y = s["out_yards_gained"].to_numpy().astype(float)
    assert np.array_equal(again.summary("dropback_yards", s, y),
                          art.scorer.summary("dropback_yards", s, y))
    assert again.levels == art.scorer.levels  # the drift state survives the file
    s = test.filter(TARGETS["completion"].sample.fill_null(False))  # type: ignore[attr-defined]
    assert np.array_equal(again.probability("completion", s, history=s),
                          art.scorer.probability("completion", s, history=s))
    lazy = artifact.load(art.path, models=False)
    assert lazy._play_models is None and lazy.scorer is not None
    assert lazy._play_models is None  # scoring never read play_models.joblib


def test_normal_quantile_is_scipys() -> None:
    p = np.random.default_rng(0).uniform(size=20_000)
    p[:6] = [0.0, 1.0, 0.001, 0.999, 0.5, np.nan]
    want = norm.ppf(np.clip(p, 0.001, 0.999))
    assert np.array_equal(standardize_pit(p), want, equal_nan=True)


WARM_CHECK = """
import sys
from pathlib import Path
import polars as pl
from passing_score.models import artifact
from passing_score.models.inference import kernels
from passing_score.models.inference.warm import warm
from passing_score.models.predict import predict_dropbacks
art = artifact.load(Path(sys.argv[1]), models=False)
warm(art.scorer)
ds = (kernels.tree_raw, kernels.summaries, kernels.ndtri_clipped)
before = [len(d.signatures) for d in ds]
predict_dropbacks(art.scorer, pl.read_parquet(sys.argv[2]), art.version)
print(before, [len(d.signatures) for d in ds])
"""


def test_warm_up_loads_the_signatures_scoring_uses(
        trained: tuple[artifact.Artifact, object], tmp_path: Path) -> None:
    """In a fresh process, scoring after `warm` compiles or loads no further kernel signature:
    the weekly job's background warm-up loads exactly what scoring then calls."""
    art, test = trained
    test.write_parquet(tmp_path / "test.parquet")  # type: ignore[attr-defined]
    r = subprocess.run([sys.executable, "-c", WARM_CHECK, str(art.path),
                        str(tmp_path / "test.parquet")], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    before, after = r.stdout.strip().split("] [")
    assert before.strip("[]") == after.strip("[]") and "0" not in before.strip("[]").split(", ")
