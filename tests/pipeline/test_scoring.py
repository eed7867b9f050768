"""Passing Score aggregation on a synthetic league with a QB built to beat expectation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from passing_score.models.aggregator import to_score
from passing_score.models.aggregator.sums import FREE_SIGN
from passing_score.pipeline.foundation.errors import InputError, WarehouseError
from passing_score.pipeline.foundation.vocabulary import COMPONENTS
from passing_score.pipeline.foundation.warehouse import connect, query_pl
from passing_score.pipeline.scoring import scores as scoring
from passing_score.pipeline.scoring.readers import load_aggregator
from passing_score.reports.leaderboard import board as lb
from tests.factories.league import (
    BACKUP,
    MV,
    N_QBS,
    PER_GAME,
    SEASONS,
    STAR,
    STAR_CPOE,
    make_league,
    write_league,
)


@pytest.fixture(scope="module")
def league() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The synthetic league (built once per module)."""
    return make_league()


@pytest.fixture(scope="module")
def scored(league: tuple[pl.DataFrame, pl.DataFrame],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse holding the league, scored once (tests only read it)."""
    db = tmp_path_factory.mktemp("scored") / "w.duckdb"
    con = connect(db)
    write_league(con, *league)
    scoring.score(con, MV)
    yield con
    con.close()


def _season(con: duckdb.DuckDBPyConnection, season_type: str = "REG") -> pl.DataFrame:
    return query_pl(con, "SELECT * FROM qb_season_scores WHERE season_type = ? ORDER BY ALL",
                    [season_type])


def test_star_ranks_first_with_interval_excluding_league_mean(scored) -> None:
    agg = load_aggregator(scored, MV)
    assert agg is not None
    rows = _season(scored)
    for season in SEASONS:
        s = rows.filter(pl.col("season") == season)
        star = s.filter(pl.col("passer_id") == STAR).row(0, named=True)
        assert star["rank"] == 1 and star["qualified"]
        league_score = float(to_score(0.0, agg.scale.mean, agg.scale.sd))  # league level
        assert star["score_low"] > league_score
        assert star["score_low"] <= star["score"] <= star["score_high"] <= 99
        # the known margin comes back out: ~8 points of completion over expected
        assert abs(star["cpoe"] - 100 * STAR_CPOE) < 3
        assert star["comp_completion"] == s["comp_completion"].max()


def test_shrinkage_pulls_a_small_sample_toward_the_mean(scored) -> None:
    s = _season(scored).filter(pl.col("season") == SEASONS[-1])
    backup = s.filter(pl.col("passer_id") == BACKUP).row(0, named=True)
    star = s.filter(pl.col("passer_id") == STAR).row(0, named=True)
    assert backup["dropbacks"] == 40 and not backup["qualified"] and backup["rank"] is None
    assert backup["play_value"] > star["play_value"]  # the better raw mean ...
    assert backup["play_value_shrunk"] < star["play_value_shrunk"]  # ... does not top the board
    agg = load_aggregator(scored, MV)
    assert agg is not None
    # pulled toward the prior (the average qualified starter, relative to the league)
    m = backup["league_mean"] + float(agg.w @ np.asarray(agg.season.mean))
    assert abs(backup["play_value_shrunk"] - m) < 0.5 * abs(backup["play_value"] - m)
    assert backup["score_high"] - backup["score_low"] > star["score_high"] - star["score_low"]
    board = lb.board(scored, SEASONS[-1], min_dropbacks=0)
    assert board["passer_id"][0] == STAR
    assert board.filter(pl.col("passer_id") == BACKUP)["rank"][0] > 1


def test_scale_is_monotone_and_bounded(scored) -> None:
    x = np.linspace(-1e3, 1e3, 20001)
    y = to_score(x, 0.01, 0.05)
    assert np.all(np.diff(y) >= 0) and y.min() >= 50 and y.max() <= 99
    assert to_score(0.01, 0.01, 0.05) == pytest.approx(74.5)
    for table in ("qb_season_scores", "qb_game_scores"):
        t = query_pl(scored, f"SELECT * FROM {table}")
        for c in ("score", "score_low", "score_high", *(f"comp_{k}" for k in
                                                        COMPONENTS)):
            assert t[c].min() >= 50 and t[c].max() <= 99, (table, c)
        assert (t["score_low"] <= t["score"]).all() and (t["score"] <= t["score_high"]).all()
        # ordered by the shrunk value relative to the league, on one scale for both levels
        o = t.sort(pl.col("play_value_shrunk") - pl.col("league_mean"))
        assert (o["score"].diff().drop_nulls() >= -1e-12).all()


def test_decomposition_and_game_to_season_consistency(scored) -> None:
    s = query_pl(scored, "SELECT * FROM qb_season_scores")
    total = sum(s[f"val_{c}"] for c in COMPONENTS)
    assert np.allclose(total.to_numpy(), (s["play_value_shrunk"] - s["league_mean"]).to_numpy(),
                       atol=1e-12)
    agg = query_pl(scored, """
        SELECT g.passer_id, g.season, s.season_type,
               sum(g.play_value * g.scored_dropbacks) / sum(g.scored_dropbacks) AS m,
               sum(g.dropbacks) AS db, count(*) AS games,
               any_value(s.play_value) AS season_value, any_value(s.dropbacks) AS season_db,
               any_value(s.games) AS season_games
        FROM qb_game_scores g JOIN qb_season_scores s
          ON s.passer_id = g.passer_id AND s.season = g.season
         AND (s.season_type = g.season_type OR s.season_type = 'ALL')
        WHERE g.scored_dropbacks > 0 GROUP BY ALL""")
    assert agg.height == s.height
    assert np.allclose(agg["m"].to_numpy(), agg["season_value"].to_numpy(), atol=1e-12)
    assert (agg["db"] == agg["season_db"]).all() and (agg["games"] == agg["season_games"]).all()


def test_weights_are_fitted_on_training_seasons_and_stored(scored) -> None:
    agg = load_aggregator(scored, MV)
    assert agg is not None
    assert agg.train_seasons == (SEASONS[0],)  # all seasons but the newest
    w = agg.weights
    assert set(w) == set(COMPONENTS) and agg.config.name == "mv_recv"
    assert w["yards_qb"] + w["epa_qb"] + w["completion"] > 0
    assert all(w[c] >= 0 for c in COMPONENTS if c not in FREE_SIGN)
    assert all(0 < r < 1 for r in agg.fit.reliability_400.values()) and agg.scale.sd > 0
    row = query_pl(scored, "SELECT * FROM score_weights")
    assert row.height == 1 and row["model_version"][0] == MV


def test_scores_identical_across_runs_and_week_rescore(league, tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    write_league(con, *league)
    first = scoring.score(con, MV)
    assert first.fitted
    a = query_pl(con, "SELECT * FROM qb_season_scores ORDER BY ALL")
    ga = query_pl(con, "SELECT * FROM qb_game_scores ORDER BY ALL")
    again = scoring.score(con, MV, refit=True)
    assert again.fitted and again.weights == first.weights
    assert a.equals(query_pl(con, "SELECT * FROM qb_season_scores ORDER BY ALL"))
    assert ga.equals(query_pl(con, "SELECT * FROM qb_game_scores ORDER BY ALL"))
    week = scoring.score(con, MV, season=SEASONS[-1], week=5)
    assert not week.fitted and week.game_rows == N_QBS
    assert a.equals(query_pl(con, "SELECT * FROM qb_season_scores ORDER BY ALL"))
    assert ga.equals(query_pl(con, "SELECT * FROM qb_game_scores ORDER BY ALL"))
    con.close()


def test_leaderboard_matches_the_season_table_and_filters_by_week(scored) -> None:
    season = SEASONS[-1]
    board = lb.board(scored, season)
    table = _season(scored).filter((pl.col("season") == season) & pl.col("qualified")
                                   ).sort("rank")
    assert board["passer_id"].to_list() == table["passer_id"].to_list()
    assert np.allclose(board["score"].to_numpy(), table["score"].to_numpy())
    assert board["rank"].to_list() == list(range(1, board.height + 1))
    assert board["score_change"].null_count() == 0
    w5 = lb.board(scored, season, week=5)
    assert w5["week"][0] == 5 and w5["dropbacks"].max() <= 5 * PER_GAME
    assert set(w5.columns) >= {"rank", "passer_name", "team", "score", "score_low",
                               "score_high", "comp_completion", "epa_per_dropback", "cpoe",
                               "score_change"}
    post = lb.board(scored, season, season_type="POST")
    assert post.height > 0 and set(post["team"]) <= {"T00", "T01", "T02", "T03"}
    games = query_pl(scored, "SELECT * FROM qb_game_scores WHERE season = ? AND week = 3",
                     [season])
    assert games["rank"].drop_nulls().sort().to_list() == list(range(1, N_QBS + 1))
    assert games["team_points"].null_count() == 0 and set(games["win"].to_list()) <= {0, .5, 1}


def test_bad_input_is_one_line(scored, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="season 1999"):
        lb.board(scored, 1999)
    with pytest.raises(InputError, match="season_type"):
        lb.board(scored, SEASONS[0], season_type="PRE")
    with pytest.raises(InputError, match="model version"):
        scoring.score(scored, "nope")
    con = connect(tmp_path / "empty.duckdb")
    with pytest.raises(WarehouseError, match="play_predictions"):
        scoring.score(con, MV)
    con.close()
