"""One meaning per parameter on every surface: `week` = the season through week W and
`game_week` = week W's games only give the same rows from the CLI, the API and Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import passing_score as ps
from passing_score.reports.api.app import create_app
from tests.factories.boards import SEASONS, make_scored_warehouse

SEASON = SEASONS[-1]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scored_warehouse(tmp_path_factory.mktemp("vocab") / "w.duckdb")


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PASSING_SCORE_DB": str(db), "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "passing_score.pipeline.cli", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def _key(rows: list[dict]) -> list[tuple]:
    return [(r["rank"], r["passer_id"], round(r["score"], 6), r.get("game_id")) for r in rows]


@pytest.mark.parametrize("param", ["week", "game_week"])
def test_cli_api_and_python_agree_on_week_and_game_week(db: Path, param: str) -> None:
    w = 4
    out = _cli(db, "leaderboard", "--season", str(SEASON), f"--{param.replace('_', '-')}",
               str(w), "--format", "json")
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    with TestClient(create_app(db)) as c:
        api = c.get("/leaderboard", params={"season": SEASON, param: w, "limit": 500}).json()
    py = ps.leaderboard(SEASON, db=db, **{param: w}).to_dicts()
    assert _key(cli["rows"]) == _key(api["rows"]) == _key(py) and py
    assert cli["week"] == api["week"] == w
    if param == "game_week":
        assert cli["game_week"] == api["game_week"] == w
        assert all(r["game_id"].startswith(f"{SEASON}_{w:02d}_") for r in py)
    else:
        assert cli["game_week"] is None and api["game_week"] is None
        assert max(r["games"] for r in py) == w  # four weeks of games, not one


def test_week_and_game_week_are_different_boards(db: Path) -> None:
    through = ps.leaderboard(SEASON, week=4, db=db)
    games = ps.leaderboard(SEASON, game_week=4, db=db)
    assert through["dropbacks"].sum() > games["dropbacks"].sum()


def test_cli_errors_name_flags_and_exports_describe_themselves(db: Path, tmp_path: Path
                                                                ) -> None:
    bad = _cli(db, "leaderboard", "--season", str(SEASON), "--split", "deep", "--game-week", "2")
    assert bad.returncode == 1 and "use --week (the season through a week), not --game-week" \
        in bad.stderr
    helptext = _cli(db, "leaderboard", "--help")
    assert "red_zone" in helptext.stdout and "under_pressure" in helptext.stdout
    assert "REG, POST or ALL" in helptext.stdout
    both = _cli(db, "leaderboard", "--season", str(SEASON), "--season-type", "ALL")
    assert both.returncode == 0 and "Passing Score 2023 ALL" in both.stdout
    csv = tmp_path / "deep.csv"
    assert _cli(db, "leaderboard", "--season", str(SEASON), "--split", "deep", "--week", "5",
                "--format", "csv", "--out", str(csv)).returncode == 0
    import polars as pl

    df = pl.read_csv(csv)
    assert df["split"].unique().to_list() == ["deep"] and df["week"].unique().to_list() == [5]
    assert df["season_type"].unique().to_list() == ["REG"] and df["model_version"][0]
    js = json.loads(_cli(db, "leaderboard", "--season", str(SEASON), "--split", "deep",
                         "--format", "json").stdout)
    assert js["split"] == "deep" and js["season_type"] == "REG" and js["model_version"]


def test_piped_table_is_plain_unwrapped_with_a_key(db: Path) -> None:
    out = _cli(db, "leaderboard", "--season", str(SEASON))
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and "\x1b[" not in out.stdout
    assert max(len(x) for x in lines[1:-1]) > 80  # every column, COLUMNS=80 notwithstanding
    assert "cmp" in lines[1] and "CPOE" in lines[1] and lines[-1].startswith("key: ")
    assert "…" not in out.stdout
