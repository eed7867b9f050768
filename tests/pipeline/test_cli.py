"""CLI verbs close what they open, also when they fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from passing_score.pipeline.cli import app
from tests.factories.boards import make_scored_warehouse
from tests.factories.trained import TrainedLeague


@pytest.mark.parametrize("args", [
    ["leaderboard", "--season", "1999"],
    ["leaderboard", "--season", "2023", "--split", "blitzed"],
    ["report", "--season", "1999", "--out", "r.html"],
    ["validate", "--model-version", "nope"],
    ["status"],
])
def test_a_failed_or_finished_verb_leaves_no_connection_open(args: list[str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    db = make_scored_warehouse(tmp_path / "w.duckdb")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--db", str(db), *args])  # keeps the traceback alive
    # a read-only connection left open in this process would make a writer fail here
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE probe AS SELECT 1 AS x")
    con.close()
    assert result.exit_code in (0, 1), result.output


def test_validate_defaults_to_the_rolling_protocol(trained_league: TrainedLeague,
                                                   tmp_path: Path) -> None:
    """`validate` trains (here: reuses) each origin's play models and writes the JSON and the
    tables between the markers of an existing page."""
    data = tmp_path / "data"
    shutil.copytree(trained_league.data_dir / "models", data / "models")
    doc = tmp_path / "validity.md"
    doc.write_text("# Validity\n\n<!-- validate:begin -->\nold\n<!-- validate:end -->\n")
    env = {"PASSING_SCORE_DATA_DIR": str(data)}
    out = tmp_path / "v.json"
    result = CliRunner().invoke(app, ["--db", str(trained_league.db), "validate", "--boot",
                                      "20", "--json", str(out), "--markdown", str(doc)],
                                env=env)
    assert result.exit_code == 0, result.output
    res = json.loads(out.read_text())
    assert res["protocol"]["name"] == "rolling-origin"
    assert res["protocol"]["origins"]["2030"]["play_model_seasons"] == [2028, 2029]
    assert res["protocol"]["origins"]["2030"]["aggregator_seasons"] == [2028, 2029]
    assert {"passing_score", "epa_per_dropback"} <= set(res["metrics"])
    assert "ours_mv_recv" in res["variants"] and "old" not in doc.read_text()
    bad = CliRunner().invoke(app, ["--db", str(trained_league.db), "validate",
                                   "--model-version", "x"], env=env)
    assert bad.exit_code == 1 and "in-sample" in bad.output
