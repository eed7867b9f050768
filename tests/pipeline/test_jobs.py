"""Jobs: `run` trains once per data and code version, not merely when no model exists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from passing_score.pipeline import jobs, validation
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.errors import InputError
from tests.factories.trained import TrainedLeague


def test_run_trains_when_no_model_matches_this_data_and_code(trained_league: TrainedLeague,
                                                             tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "models" / "pm-other").mkdir(parents=True)  # a model of other data or code
    (data / "models" / "pm-other" / "meta.json").write_text(json.dumps(
        {"version": "pm-other", "train_seasons": [2028], "val_season": 2029}))
    settings = Settings(db=trained_league.db, data_dir=data)
    assert jobs.needs_training(settings)
    shutil.copytree(trained_league.data_dir / "models", data / "models", dirs_exist_ok=True)
    assert not jobs.needs_training(settings)  # the league's model is this data's and code's
    assert jobs.planned_version(settings) in {p.name for p in (data / "models").iterdir()}


def test_rolling_origins_train_with_the_library_and_see_only_earlier_seasons(
        trained_league: TrainedLeague, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(trained_league.data_dir / "models", data / "models")
    before = sorted(p.name for p in (data / "models").iterdir())
    settings = Settings(db=trained_league.db, data_dir=data)
    origins, peers, results = validation.rolling_origins(settings)
    assert [o.season for o in origins] == [2030]  # the only season with two before it
    o = origins[0]
    # the artifact `train` made for 2028-2029 is reused (same code, seasons and data)
    assert sorted(p.name for p in (data / "models").iterdir()) == before
    assert o.model_version in before and o.model_seasons == (2028, 2029)
    assert sorted(set(o.plays["season"].to_list())) == [2028, 2029, 2030]
    assert peers.height and results.height
    cached = list((data / "rolling").glob(f"{o.model_version}_2028-2030_*.parquet"))
    assert len(cached) == 1
    again, _, _ = validation.rolling_origins(settings, [2030])
    assert again[0].plays.equals(o.plays)  # read back from the cache
    with pytest.raises(InputError, match="two earlier seasons"):
        validation.rolling_origins(settings, [2029])
