"""Jobs: `run` trains once per data and code version, not merely when no model exists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from passing_score.pipeline import jobs
from passing_score.pipeline.foundation.config import Settings
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
