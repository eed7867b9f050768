"""The notebook API: `import passing_score as ps; ps.load_scores(...)`, `ps.leaderboard(...)`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import passing_score as ps
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.players import write_players
from tests.factories.boards import (
    NAMES,
    PER_GAME,
    REG_WEEKS,
    SEASONS,
    make_scored_warehouse,
    qb,
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_scored_warehouse(tmp_path_factory.mktemp("py") / "w.duckdb")
    con = connect(path)
    write_players(con, pl.DataFrame({"gsis_id": [qb(0)], "full_name": ["Patrick Mahomes"],
                                     "short_name": ["P.Mahomes"], "first_season": [2017],
                                     "last_season": [2024]}), "test")
    con.close()
    return path


def test_load_scores_levels(db: Path) -> None:
    season = ps.load_scores(SEASONS, db=db)
    assert isinstance(season, pl.DataFrame) and set(season["season"]) == set(SEASONS)
    assert season.filter(pl.col("passer_id") == qb(0))["passer_full_name"][0] == "Patrick Mahomes"
    assert season.filter(pl.col("passer_id") == qb(1))["passer_full_name"][0] is None
    games = ps.load_scores(SEASONS[-1], level="game", game_week=3, db=db)
    assert games["week"].unique().to_list() == [3] and games["game_id"].null_count() == 0
    to_date = ps.load_scores(SEASONS[-1], level="game", week=3, db=db)
    assert sorted(to_date["week"].unique().to_list()) == [1, 2, 3]
    post = ps.load_scores(SEASONS[-1], level="game", season_type="POST", db=db)
    assert post["week"].unique().to_list() == [REG_WEEKS + 1]
    plays = ps.load_scores(SEASONS[-1], level="play", game_week=2, db=db)
    assert plays.height == 8 * PER_GAME and "epa" in plays.columns
    deep = ps.load_scores(SEASONS[-1], level="play", split="deep", db=db)
    assert 0 < deep.height < ps.load_scores(SEASONS[-1], level="play", db=db).height
    everyone = ps.load_scores(SEASONS[-1], min_dropbacks=0, db=db)
    assert everyone.height >= ps.load_scores(SEASONS[-1], db=db).height
    assert everyone.to_pandas().shape[0] == everyone.height


def test_leaderboard_matches_the_board(db: Path) -> None:
    b = ps.leaderboard(SEASONS[-1], week=4, db=db)
    assert b["rank"].to_list() == list(range(1, b.height + 1)) and b["week"][0] == 4
    assert set(b["passer_name"]) <= set(NAMES)
    kc = ps.leaderboard(SEASONS[-1], team="KC", split="red_zone", min_dropbacks=0, db=db)
    assert kc["team"].to_list() == ["KC"] and kc["split"][0] == "red_zone"
    assert "deep" in ps.splits()["split"].to_list()


def test_clear_errors(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ps.InputError, match="level='weekly' is not one of season, game, play"):
        ps.load_scores(SEASONS, level="weekly", db=db)
    with pytest.raises(ps.InputError, match="week=40"):
        ps.leaderboard(SEASONS[-1], week=40, db=db)
    with pytest.raises(ps.InputError, match="season 1999"):
        ps.load_scores(1999, db=db)
    with pytest.raises(ps.WarehouseError, match="does not exist yet"):
        ps.load_scores(2023, db=tmp_path / "none.duckdb")
    empty = tmp_path / "empty.duckdb"
    connect(empty).close()
    with pytest.raises(ps.WarehouseError, match=r"no Passing Scores.*passing-score score"):
        ps.leaderboard(2023, db=empty)
    monkeypatch.setenv("PASSING_SCORE_DB", str(db))
    assert ps.leaderboard(SEASONS[-1]).height > 0  # db=None: the configured warehouse
