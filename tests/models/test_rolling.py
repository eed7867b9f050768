"""Issue 17: the rolling-origin evaluation never lets a fit see the season it predicts; the
production fit chooses on the newest season, then refits on every season; the in-season level
update sees earlier weeks only."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from passing_score.features.build import build_dropbacks
from passing_score.features.read import load_dropbacks
from passing_score.models import rolling
from passing_score.models.drift import in_season_offsets
from passing_score.models.encoding import TabularEncoder
from passing_score.models.rolling import fit_production, rolling_evaluate
from passing_score.models.training import PRODUCTION_DRIFT, PRODUCTION_OPTS
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource
from tests.factories.pbp import TEAMS, make_pbp

SEASONS = (2027, 2028, 2029, 2030)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[int, pl.DataFrame]:
    """Four small synthetic seasons of dropbacks (the real pbp schema), one frame each."""
    d = tmp_path_factory.mktemp("roll")
    for i, season in enumerate(SEASONS):
        make_pbp(season=season, weeks=tuple(range(1, 7)), teams=TEAMS[:8], seed=10 + i,
                 plays_per_game=110).write_parquet(d / f"s{season}.parquet")
    con = connect(d / "w.duckdb")
    assert not ingest(con, LocalSource(d), PlayFilter()).rejected
    build_dropbacks(con, full=True)
    df = load_dropbacks(con)
    con.close()
    return {s: df.filter(pl.col("season") == s) for s in SEASONS}


def test_no_fit_sees_the_season_it_predicts(frames: dict[int, pl.DataFrame],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every frame any fit of a fold receives (encoder scaling included: every model and
    baseline fits a TabularEncoder on its training rows; the production and baseline fits
    get the fold's frame, the xgboost recipes are built from it) holds only seasons < t, and
    the newest one, t-1, is in it."""
    seen: list[tuple[str, int]] = []
    enc_fit = TabularEncoder.fit

    def spy_enc(self: TabularEncoder, df: pl.DataFrame) -> TabularEncoder:
        seen.append(("encoder", int(df["season"].max())))
        return enc_fit(self, df)

    real_prod, real_bl = rolling.fit_production, rolling.fit_baselines_refit

    def spy_prod(frame: pl.DataFrame, *a: object, **k: object) -> object:
        seen.append(("production", int(frame["season"].max())))
        return real_prod(frame, *a, **k)  # type: ignore[arg-type]

    def spy_bl(frame: pl.DataFrame, *a: object, **k: object) -> object:
        seen.append(("baselines", int(frame["season"].max())))
        return real_bl(frame, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(TabularEncoder, "fit", spy_enc)
    monkeypatch.setattr(rolling, "fit_production", spy_prod)
    monkeypatch.setattr(rolling, "fit_baselines_refit", spy_bl)
    for t in (2029, 2030):
        seen.clear()
        res = rolling_evaluate(frames, [t], opts=PRODUCTION_OPTS, drift=PRODUCTION_DRIFT)
        kinds = {k for k, _ in seen}
        assert {"encoder", "production", "baselines"} <= kinds
        assert max(s for _, s in seen) == t - 1, seen  # the newest season counts, t never
        info = res["seasons"][str(t)]
        assert info["holdout_season"] == t
        assert info["train_seasons"] == [s for s in SEASONS if s < t]
        assert info["val_season"] == t - 1
        assert max(info["selection_fit_seasons"]) == t - 2
        assert info["baseline_seasons"] == [s for s in SEASONS if s < t]
        for target in ("completion", "interception", "sack", "yac", "air_yards",
                       "dropback_yards"):
            block = res["seasons"][str(t)][target]
            assert "ours" in block and len(block) > 1  # ours and the baselines
            assert res["pooled"][target]["ours"]["n"] == block["ours"]["n"]
        assert {"nflfastr_recipe", "logistic", "mlp", "cp_column", "base_rate"} <= set(
            res["seasons"][str(t)]["completion"])
        assert "ours_static" in res["seasons"][str(t)]["completion"]  # in-season update on


def test_production_chooses_on_the_newest_then_refits_on_every_season(
        frames: dict[int, pl.DataFrame]) -> None:
    df = pl.concat([frames[s] for s in SEASONS])
    pm = fit_production(df, opts=PRODUCTION_OPTS, drift=PRODUCTION_DRIFT)
    assert pm.meta["seasons_seen"] == list(SEASONS)
    assert pm.meta["refit_seasons"] == list(SEASONS)
    assert pm.meta["selection_fit"] == {"train_seasons": [2027, 2028, 2029], "val_season": 2030}
    for name in ("completion", "interception", "sack"):
        m = getattr(pm, name)
        # the refit runs exactly the rounds the selection fit chose on 2030, on every season
        assert m.model.n_iter_ == pm.meta["settings"][name]["iterations"]
        assert m.last_season == 2030
        assert m.kind.startswith("hgb+")  # the selection fit's calibrator, fitted on 2030
    assert pm.completion.in_season_tau is not None and pm.sack.in_season_tau is not None
    assert pm.interception.in_season_tau is None  # kept static
    assert "era" not in pm.interception.encoder.numeric + pm.interception.encoder.categorical
    assert "new_season_offset" in pm.meta["drift"]["interception"]
    for name in ("yac", "dropback_yards"):
        assert pm.meta["settings"][name]  # every component's rounds / epochs recorded
    assert pm.dropback_yards.gain_touchdown is not None  # the goal line in the gain part
    with pytest.raises(ValueError, match="earlier season"):
        fit_production(frames[2030])


def test_in_season_offsets_use_earlier_weeks_only() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    weeks = rng.integers(1, 7, n)
    seasons = np.where(rng.random(n) < 0.5, 2029, 2030)
    z = rng.normal(0.5, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(z + 0.3)))).astype(float)
    d = in_season_offsets(seasons, weeks, z, y, tau=0.2)
    assert np.all(d[weeks == 1] == 0.0)
    assert d[(weeks == 6)].mean() > 0.1  # it learns the +0.3 shift
    # changing outcomes of week >= 4 leaves the offsets of weeks <= 4 unchanged
    y2 = y.copy()
    y2[weeks >= 4] = 1 - y2[weeks >= 4]
    d2 = in_season_offsets(seasons, weeks, z, y2, tau=0.2)
    assert np.array_equal(d[weeks <= 4], d2[weeks <= 4])
    assert not np.array_equal(d[weeks == 5], d2[weeks == 5])
    # seasons never see each other
    y3 = y.copy()
    y3[seasons == 2029] = 1.0
    d3 = in_season_offsets(seasons, weeks, z, y3, tau=0.2)
    assert np.array_equal(d[seasons == 2030], d3[seasons == 2030])
