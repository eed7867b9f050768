"""CLI verbs close what they open, also when they fail."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from passing_score.pipeline.cli import app
from tests.factories.boards import make_scored_warehouse


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
