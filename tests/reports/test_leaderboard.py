"""Leaderboards (reports.leaderboard) on small synthetic warehouses (tests.factories.boards)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from passing_score.pipeline.foundation.errors import InputError, NotFoundError
from passing_score.pipeline.foundation.versions import current_version
from passing_score.pipeline.foundation.warehouse import query_pl
from passing_score.reports.leaderboard import board as lb
from passing_score.reports.leaderboard.columns import ROW_COLUMNS
from passing_score.reports.leaderboard.export import board_meta, export
from passing_score.reports.leaderboard.terminal import board_title, render_board, render_table
from tests.factories.boards import (
    BACKUP_ID,
    MV,
    PER_GAME,
    REG_WEEKS,
    SEASONS,
    TEAMS,
    make_score_warehouse,
    make_scored_warehouse,
    qb,
)


@pytest.fixture(scope="module")
def scored_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scored synthetic warehouse (built once per module; tests only read it)."""
    return make_scored_warehouse(tmp_path_factory.mktemp("lb") / "w.duckdb")


@pytest.fixture()
def ro(scored_db: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the scored warehouse."""
    c = duckdb.connect(str(scored_db), read_only=True)
    yield c
    c.close()


# ---------------------------------------------------------------- tests


def test_board_has_the_design_row_and_matches_the_season_table(ro) -> None:
    b = lb.board(ro, SEASONS[-1])
    assert b.columns[:len(ROW_COLUMNS)] == ROW_COLUMNS
    table = query_pl(ro, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = "
                         "'REG' AND qualified ORDER BY rank", [SEASONS[-1]])
    assert b["passer_id"].to_list() == table["passer_id"].to_list()
    assert np.allclose(b["score"].to_numpy(), table["score"].to_numpy())
    assert b["rank"].to_list() == list(range(1, b.height + 1))
    assert (b["score_low"] <= b["score"]).all() and (b["score"] <= b["score_high"]).all()
    assert b["passer_id"][0] in {qb(0), qb(1), qb(2)}  # the best built-in skills


def test_week_game_week_team_sort_and_min_dropbacks(ro) -> None:
    s = SEASONS[-1]
    w3 = lb.board(ro, s, week=3)
    assert w3["week"][0] == 3 and w3["dropbacks"].max() <= 3 * PER_GAME
    assert w3["score_change"].null_count() == 0
    one = lb.board(ro, s, game_week=4)
    assert one["week"].unique().to_list() == [4] and one["games"].max() == 1
    assert one["game_week"].unique().to_list() == [4]
    assert one["game_id"].null_count() == 0 and one["opponent"].null_count() == 0
    assert w3["game_week"].null_count() == w3.height and w3["game_id"].null_count() == w3.height
    assert one["rank"].to_list() == list(range(1, one.height + 1))
    assert one["score_change"].null_count() == 0  # every QB played in week 3 too
    kc = lb.board(ro, s, team="kc")
    assert kc["team"].to_list() == ["KC"] and kc["rank"][0] >= 1
    by_cpoe = lb.board(ro, s, sort="cpoe")
    assert by_cpoe["cpoe"].to_list() == sorted(by_cpoe["cpoe"].to_list(), reverse=True)
    by_name = lb.board(ro, s, sort="passer_name")
    assert by_name["passer_name"].to_list() == sorted(by_name["passer_name"].to_list())
    low = lb.board(ro, s, sort="-rank")
    assert low["rank"].to_list() == sorted(low["rank"].to_list(), reverse=True)
    none = lb.board(ro, s, min_dropbacks=10_000)
    assert none.height == 0
    post = lb.board(ro, s, season_type="post")
    assert set(post["team"].to_list()) <= set(TEAMS[:4]) and post.height > 0


def test_bad_input_is_one_line_input_error(ro) -> None:
    with pytest.raises(InputError, match=r"season 1999 .*available seasons: 2022, 2023"):
        lb.board(ro, 1999)
    with pytest.raises(InputError, match="season_type 'PRE'"):
        lb.board(ro, SEASONS[0], season_type="PRE")
    with pytest.raises(InputError, match="cannot sort by 'nope'"):
        lb.board(ro, SEASONS[0], sort="nope")
    with pytest.raises(InputError, match="not both"):
        lb.board(ro, SEASONS[0], game_week=2, week=3)
    with pytest.raises(InputError, match="week=30"):
        lb.board(ro, SEASONS[0], week=30)
    with pytest.raises(InputError, match="team=XYZ"):
        lb.board(ro, SEASONS[0], team="XYZ")
    with pytest.raises(InputError, match="week 9"):
        lb.board(ro, SEASONS[0], game_week=9)
    with pytest.raises(InputError, match="model version"):
        lb.board(ro, SEASONS[0], game_week=2, model_version="nope")
    with pytest.raises(InputError, match="game_week"):
        lb.board(ro, SEASONS[0], split="deep", game_week=2)


def test_errors_speak_each_surfaces_terms(ro) -> None:
    for surface, week, split in (("cli", "--week 30", "--split"), ("api", "week=30", "split"),
                                 ("python", "week=30", "split")):
        with pytest.raises(InputError) as e:
            lb.board(ro, SEASONS[0], week=30, surface=surface)
        assert str(e.value).startswith(week)
        with pytest.raises(InputError) as e:
            lb.board(ro, SEASONS[0], split="nope", surface=surface)
        assert str(e.value).startswith(f"{split} 'nope' is not one of deep,")
    with pytest.raises(InputError, match=r"use week \(the season through a week\), not "
                                         r"game_week"):
        lb.board(ro, SEASONS[0], split="deep", game_week=2, surface="api")


def test_season_type_all_on_every_board(ro) -> None:
    s = SEASONS[-1]
    both = lb.board(ro, s, season_type="ALL")
    reg = lb.board(ro, s)
    assert both["season_type"].unique().to_list() == ["ALL"]
    assert both["dropbacks"].sum() > reg["dropbacks"].sum()
    assert lb.board(ro, s, season_type="all", week=3).height > 0
    post_week = lb.board(ro, s, season_type="ALL", game_week=REG_WEEKS + 1)
    assert post_week["game_week"].unique().to_list() == [REG_WEEKS + 1]


def test_a_split_board_scores_only_the_split_plays(ro) -> None:
    b = lb.board(ro, SEASONS[0], week=4, split="deep", min_dropbacks=0)
    deep = query_pl(ro, "SELECT p.passer_id, count(*) AS n FROM play_predictions p JOIN "
                        "dropbacks d USING (game_id, play_id) WHERE p.season = ? AND p.week <= 4 "
                        "AND p.season_type = 'REG' AND d.air_yards >= 20 GROUP BY ALL",
                    [SEASONS[0]])
    assert b["week"][0] == 4 and b.height == deep.height > 0
    assert b["split"].unique().to_list() == ["deep"]
    assert dict(zip(b["passer_id"], b["dropbacks"], strict=True)) == dict(
        zip(deep["passer_id"], deep["n"], strict=True))
    full = lb.board(ro, SEASONS[0], week=4, min_dropbacks=0)
    assert not np.allclose(b.sort("passer_id")["score"].to_numpy(),
                           full.sort("passer_id")["score"].to_numpy())


def test_exports_csv_json_parquet(ro, tmp_path: Path) -> None:
    s = SEASONS[-1]
    b = lb.board(ro, s)
    meta = board_meta(b, s, "REG")
    assert meta["model_version"] == MV and meta["week"] == REG_WEEKS
    assert meta["game_week"] is None and meta["split"] is None
    export(b, "json", tmp_path / "b.json", meta)
    doc = json.loads((tmp_path / "b.json").read_text())
    assert {k: doc[k] for k in ("season", "week", "season_type", "model_version")} == {
        "season": s, "week": REG_WEEKS, "season_type": "REG", "model_version": MV}
    assert len(doc["rows"]) == b.height and set(ROW_COLUMNS) <= set(doc["rows"][0])
    export(b, "csv", tmp_path / "sub" / "b.csv", meta)
    csv = pl.read_csv(tmp_path / "sub" / "b.csv")
    assert csv.columns[:len(ROW_COLUMNS)] == ROW_COLUMNS and csv.height == b.height
    assert {"season", "week", "game_week", "season_type", "split", "model_version"} <= set(
        csv.columns)
    export(b, "parquet", tmp_path / "b.parquet", meta)
    pq = pl.read_parquet(tmp_path / "b.parquet")
    assert pq["passer_id"].to_list() == b["passer_id"].to_list()
    text = export(b, "json", None, meta)
    assert text is not None and json.loads(text)["rows"][0]["rank"] == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_out_paths_are_one_line(ro, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    b = lb.board(ro, SEASONS[-1])
    meta = board_meta(b, SEASONS[-1], "REG")
    with pytest.raises(InputError, match="is a directory"):
        export(b, "csv", tmp_path, meta)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        export(b, "csv", blocker / "b.csv", meta)
    with pytest.raises(InputError, match="cannot"):
        export(b, "csv", Path("/proc/passing-score/b.csv"), meta)
    with pytest.raises(InputError, match="format"):
        export(b, "xlsx", tmp_path / "b.xlsx", meta)
    with pytest.raises(InputError, match="parquet needs --out"):
        export(b, "parquet", None, meta)
    monkeypatch.chdir(tmp_path / "..")
    export(b, "csv", Path(tmp_path.name) / ".." / tmp_path.name / "up.csv", meta)
    assert (tmp_path / "up.csv").exists()


def test_terminal_board_fits_the_width_and_never_cuts(ro) -> None:
    b = lb.board(ro, SEASONS[-1])
    title = board_title(SEASONS[-1], "REG", week=3, model_version=MV)
    wide = render_board(b, title, None).splitlines()
    assert wide[0] == "Passing Score 2023 REG through week 3 (model pm-synth-0001)"
    assert b["passer_name"][0] in wide[3] and "cmp" in wide[1] and "CPOE" in wide[1]
    assert wide[-1].startswith("key: score 50-99 with its 80% interval;")
    assert "not shown" not in wide[-1]
    for width in (60, 80, 100):
        text = render_board(b, title, width).splitlines()
        table = text[1:-1]
        assert all(len(line) <= width for line in table), width
        assert all(n in "\n".join(table) for n in b["passer_name"].to_list())  # whole names
        assert all(f"{v:.1f}" in "\n".join(table) for v in b["score"].to_list())
        for must in ("#", "QB", "team", "db", "score", "80% int"):
            assert must in text[1], (width, text[1])
    narrow = render_board(b, title, 60).splitlines()
    assert "not shown at this width" in narrow[-1] and "cmp" not in narrow[1].split()
    lines, _ = render_table(b.head(0))
    assert lines[-1] == "no qualified QB"
    games = lb.board(ro, SEASONS[-1], game_week=4)
    assert "opp" in render_board(games, "t", 80).splitlines()[1].split()


def test_boards_on_score_tables_only(tmp_path: Path) -> None:
    db = make_score_warehouse(tmp_path / "s.duckdb")
    con = duckdb.connect(str(db), read_only=True)
    assert not lb.can_compute(con)
    wk = lb.board(con, SEASONS[-1], game_week=5)
    assert BACKUP_ID not in wk["passer_id"].to_list()  # 12 dropbacks: not a qualified game
    assert wk["rank"].to_list() == list(range(1, wk.height + 1))
    assert current_version(con) == MV
    assert lb.available_seasons(con) == list(SEASONS)
    season = lb.board(con, SEASONS[-1])  # read from qb_season_scores
    table = query_pl(con, "SELECT passer_id FROM qb_season_scores WHERE season = ? AND "
                          "season_type = 'REG' AND qualified ORDER BY rank", [SEASONS[-1]])
    assert season["passer_id"].to_list() == table["passer_id"].to_list()
    assert season["score_change"].null_count() == season.height
    assert season["week"][0] == REG_WEEKS
    assert lb.board(con, SEASONS[-1], week=REG_WEEKS).height == season.height
    assert lb.board(con, SEASONS[-1], season_type="ALL").height > 0
    assert lb.board(con, SEASONS[-1], min_dropbacks=1)["passer_id"].to_list()[-1] == BACKUP_ID
    with pytest.raises(NotFoundError, match="play_predictions"):
        lb.board(con, SEASONS[-1], week=3)
    with pytest.raises(NotFoundError, match="splits"):
        lb.board(con, SEASONS[-1], split="deep")
    con.close()
