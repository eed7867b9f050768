"""`evaluate --rolling`: the job hands the models one frame per season through the newest
evaluated one, the CLI checks its options, `--markdown` rewrites only the marked block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from passing_score.features.build import build_dropbacks
from passing_score.models import training
from passing_score.pipeline import jobs
from passing_score.pipeline.cli import app
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource
from passing_score.reports.model_rolling import BEGIN, END, rolling_markdown, write_markdown
from tests.factories.pbp import TEAMS, make_pbp


@pytest.fixture(scope="module")
def three_seasons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small warehouse with dropbacks of 2028-2030 (nothing trained)."""
    d = tmp_path_factory.mktemp("three")
    for i, season in enumerate((2028, 2029, 2030)):
        make_pbp(season=season, weeks=(1, 2), teams=TEAMS[:4], seed=i,
                 plays_per_game=60).write_parquet(d / f"s{season}.parquet")
    con = connect(d / "w.duckdb")
    assert not ingest(con, LocalSource(d), PlayFilter()).rejected
    build_dropbacks(con, full=True)
    con.close()
    return d / "w.duckdb"


def _fake_result() -> dict[str, Any]:
    b = {"log_loss": 0.5, "brier": 0.2, "auc": 0.7, "calibration_error": 0.01, "n": 10,
         "calibration_floor": {"mean": 0.009, "p90": 0.012}}
    y = {"nll": 2.5, "crps": 2.7, "coverage_error": {"lower": 0.0, "body": 0.01, "upper": 0.0},
         "quantiles": {"0.1": 0.1, "0.5": 0.5, "0.9": 0.9}, "quantile_coverage_error": 0.001,
         "n": 10}
    block = {"completion": {"ours": b, "base_rate": b}, "yac": {"ours": y, "binned": y}}
    return {"rolling": [2029, 2030], "seasons": {"2029": block, "2030": block},
            "pooled": block, "seconds": 1.0}


def test_the_job_gives_each_fold_only_earlier_seasons(three_seasons: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    got: dict[str, Any] = {}

    def fake(frames: dict[int, pl.DataFrame], seasons: list[int], seed: int = 0,
             progress: Any = None) -> dict[str, Any]:
        got.update(frames=frames, seasons=seasons)
        return _fake_result()

    monkeypatch.setattr(training, "rolling", fake)
    settings = Settings(db=three_seasons, data_dir=tmp_path)
    jobs.evaluate_rolling(settings, [2030])
    assert got["seasons"] == [2030] and sorted(got["frames"]) == [2028, 2029, 2030]
    for s, f in got["frames"].items():
        assert f["season"].unique().to_list() == [s]
    with pytest.raises(InputError, match="two earlier seasons"):
        jobs.evaluate_rolling(settings, [2029])
    with pytest.raises(InputError, match="no dropbacks"):
        jobs.evaluate_rolling(settings, [2030, 2031])


@pytest.mark.parametrize(("args", "message"), [
    (["evaluate"], "exactly one of"),
    (["evaluate", "--holdout-season", "2030", "--rolling", "2030"], "exactly one of"),
    (["evaluate", "--holdout-season", "2030", "--markdown", "x.md"], "--markdown goes with"),
])
def test_evaluate_checks_its_options(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "none.duckdb"), *args])
    assert result.exit_code == 1 and message in result.output, result.output


def test_markdown_replaces_only_the_marked_block(tmp_path: Path) -> None:
    doc = tmp_path / "models.md"
    doc.write_text(f"# title\n\nbefore\n\n{BEGIN}\nold table\n{END}\n\nafter\n")
    write_markdown(_fake_result(), doc)
    text = doc.read_text()
    assert text.startswith("# title\n\nbefore\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert "old table" not in text and rolling_markdown(_fake_result()) in text
    assert "| **ours** | 0.5000 | 0.5000 | 0.5000 |" in text  # 2029, 2030, pooled
    write_markdown(_fake_result(), doc)  # idempotent
    assert doc.read_text() == text
    (tmp_path / "bare.md").write_text("no markers\n")
    with pytest.raises(InputError, match="rolling:begin"):
        write_markdown(_fake_result(), tmp_path / "bare.md")
    assert not list(tmp_path.glob(".*.tmp"))


def test_train_defaults_to_every_completed_season(three_seasons: Path) -> None:
    from passing_score.features.read import completed_seasons, dropback_seasons

    con = connect(three_seasons, read_only=True)
    try:
        have, done = dropback_seasons(con), completed_seasons(con)
    finally:
        con.close()
    assert have == [2028, 2029, 2030]
    assert done == [2028, 2029]  # 2030 has no postseason game yet: in progress
    assert jobs.training_seasons(have, None, None, done) == [2028, 2029]
    assert jobs.training_seasons(have, None, 2029, done) == [2028]
    assert jobs.training_seasons(have, "2028-2030", None, done) == [2028, 2029, 2030]
