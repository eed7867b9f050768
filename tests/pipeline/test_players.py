"""Player names beside the plays (pipeline.ingest.players) and their place on the boards."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from passing_score.pipeline.foundation import tables
from passing_score.pipeline.ingest.players import (
    display_name,
    full_names,
    load_players,
    normalize_players,
    with_full_names,
)


def _passers() -> pl.DataFrame:
    return pl.DataFrame({
        "gsis_id": ["00-1", "00-1", "00-2", "00-3"], "season": [2019, 2023, 2018, 2023],
        "team": ["BUF", "BUF", "NO", "KC"],
        "passer_player_name": ["J.Allen", "J.Allen", "D.Brees", "P.Mahomes"],
        "full_name_nflverse": [None, "Josh Allen", None, "Patrick Mahomes"]})


def test_normalize_takes_the_newest_names() -> None:
    n = normalize_players(_passers())
    assert n.columns == ["gsis_id", "full_name", "short_name", "first_season", "last_season"]
    row = n.filter(pl.col("gsis_id") == "00-1").row(0, named=True)
    assert row == {"gsis_id": "00-1", "full_name": "Josh Allen", "short_name": "J.Allen",
                   "first_season": 2019, "last_season": 2023}
    assert n.filter(pl.col("gsis_id") == "00-2")["full_name"][0] is None
    nflverse = normalize_players(pl.DataFrame({
        "gsis_id": ["00-9"], "display_name": ["Tom Brady"], "short_name": ["T.Brady"],
        "rookie_season": [2000], "last_season": [2022]}))
    assert nflverse.row(0) == ("00-9", "Tom Brady", "T.Brady", 2000, 2022)


def test_load_from_a_folder_and_fall_back(con: duckdb.DuckDBPyConnection, tmp_path: Path
                                          ) -> None:
    folder = tmp_path / "players"
    folder.mkdir()
    _passers().write_parquet(folder / "passers.parquet")
    r = load_players(con, folder)
    assert r.rows == 3 and r.source == str(folder) and tables.has_key(con, "players")
    assert dict(full_names(con).iter_rows()) == {"00-1": "Josh Allen",
                                                 "00-3": "Patrick Mahomes"}
    again = load_players(con, folder)  # replaced whole, idempotent
    assert again.rows == 3 and con.execute("SELECT count(*) FROM players").fetchone() == (3,)
    missing = load_players(con, tmp_path / "nowhere")
    assert missing.rows == 0 and "abbreviated names" in missing.note
    assert con.execute("SELECT count(*) FROM players").fetchone() == (3,)  # kept
    board = pl.DataFrame({"passer_id": ["00-1", "00-2"], "passer_name": ["J.Allen", "D.Brees"]})
    named = with_full_names(con, board)
    assert [display_name(r) for r in named.to_dicts()] == ["Josh Allen", "D.Brees"]


def test_without_the_table_names_are_null(con: duckdb.DuckDBPyConnection) -> None:
    out = with_full_names(con, pl.DataFrame({"passer_id": ["x"], "passer_name": ["A.B"]}))
    assert out["passer_full_name"].to_list() == [None]


@pytest.mark.real_data
def test_the_shared_players_file(con: duckdb.DuckDBPyConnection, shared_dir: Path) -> None:
    r = load_players(con, shared_dir / "players")
    assert r.rows > 300
    names = dict(full_names(con).iter_rows())
    assert names.get("00-0034857") == "Josh Allen"
