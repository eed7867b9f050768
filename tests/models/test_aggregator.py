"""The aggregator as a fitted model on plain frames: no warehouse, typed parameters that survive
storage, one ranking."""

from __future__ import annotations

import polars as pl
import pytest

from passing_score.models import aggregator
from passing_score.models.aggregator import Aggregator
from tests.factories.league import MV, SEASONS, STAR, make_league


@pytest.fixture(scope="module")
def plays() -> pl.DataFrame:
    pred, _ = make_league()
    return aggregator.prepare(pred.select(aggregator.PLAY_COLUMNS))


@pytest.fixture(scope="module")
def fitted(plays: pl.DataFrame) -> Aggregator:
    return aggregator.fit(plays, [SEASONS[0]], MV)


def test_fit_and_apply_on_frames(plays: pl.DataFrame, fitted: Aggregator) -> None:
    assert fitted.train_seasons == (SEASONS[0],) and set(fitted.scales) == {"season", "game"}
    tv = aggregator.with_values(plays, fitted.weights)
    league = aggregator.league_by_week(tv)
    seasons = aggregator.season_rows(tv, league, fitted)
    games = aggregator.game_rows(tv, league, fitted)
    reg = seasons.filter((pl.col("season_type") == "REG") & pl.col("qualified"))
    assert reg.filter(pl.col("passer_id") == STAR)["rank"].to_list() == [1, 1]
    assert games["score"].drop_nulls().is_between(50, 99).all()
    assert set(seasons["season_type"]) == {"REG", "POST", "ALL"}


def test_parameters_survive_their_json_form(fitted: Aggregator) -> None:
    text = fitted.to_json()
    back = Aggregator.from_json(text)
    assert back == fitted and back is not None and back.to_json() == text
    assert Aggregator.from_json('{"format": 0}') is None  # another format: refit


def test_season_to_date_board_and_its_week(plays: pl.DataFrame, fitted: Aggregator) -> None:
    tv = aggregator.with_values(plays.filter(pl.col("season") == SEASONS[-1]), fitted.weights)
    board = aggregator.season_to_date(tv, fitted, SEASONS[-1], "REG", 5, None)
    assert board["week"].unique().to_list() == [5] and board["rank"][0] == 1
    assert board["score_change"].null_count() == 0  # week 4 exists before it
    full = aggregator.season_to_date(tv, fitted, SEASONS[-1], "ALL", None, None)
    assert full["week"][0] == tv["week"].max()


def test_rank_rows_ranks_qualified_rows_only_ties_by_id() -> None:
    df = pl.DataFrame({"g": [1, 1, 1, 1, 2], "passer_id": ["b", "a", "c", "d", "e"],
                       "score": [70.0, 70.0, 90.0, 99.0, 60.0],
                       "qualified": [True, True, True, False, True]})
    out = aggregator.rank_rows(df, ["g"]).sort("passer_id")
    assert out["rank"].to_list() == [2, 3, 1, None, 1]
