"""The validity study: statistics on hand cases, and the whole study on the synthetic league."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from passing_score.models.aggregator import CANDIDATES
from passing_score.pipeline.foundation.warehouse import connect, query_pl
from passing_score.pipeline.scoring import scores as scoring
from passing_score.reports.leaderboard import board as lb
from passing_score.reports.validity import peers, stats
from passing_score.reports.validity import study as validity
from passing_score.reports.validity.markdown import (
    BEGIN,
    END,
    rolling_markdown,
    write_markdown,
    write_validity_markdown,
)
from passing_score.reports.validity.rolling import Origin, rolling_study
from tests.factories.league import MV, N_QBS, SEASONS, STAR, make_league, write_league
from tests.factories.talent import peer_games, simulate


def test_pearson_and_spearman_brown_hand_cases() -> None:
    assert stats.pearson([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert stats.pearson([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert stats.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert stats.pearson([1, 2], [1, 2]) is None  # too few pairs
    assert stats.pearson([1, 1, 1], [1, 2, 3]) is None  # no spread
    assert stats.pearson([1, 2, float("nan"), 4], [1, 2, 9, 4]) == pytest.approx(1.0)
    assert stats.spearman_brown(0.5) == pytest.approx(2 / 3)
    assert stats.spearman_brown(0.0) == 0.0
    assert stats.spearman_brown(1.0) == pytest.approx(1.0)
    assert stats.spearman_brown(None) is None


def test_auc_hand_cases() -> None:
    assert stats.auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert stats.auc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    assert stats.auc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5  # ties count half
    assert stats.auc([1, 2, 3, 9], [0, 1, 0, 0.5]) == 0.5  # the draw is dropped
    assert stats.auc([1, 2], [1, 1]) is None


def test_half_and_next_season_pairs() -> None:
    halves = pl.DataFrame({"season": [2020, 2020, 2020, 2021], "passer_id": ["a", "a", "b", "b"],
                           "half": [1, 0, 1, 0], "m": [1.0, 2.0, 3.0, 4.0]})
    hp = stats.half_pairs(halves, "m")
    assert hp.rows() == [(2020, "a", 1.0, 2.0)]  # b has no even half in 2020
    seasons = pl.DataFrame({"season": [2020, 2021, 2023, 2020, 2022],
                            "passer_id": ["a", "a", "a", "b", "b"],
                            "m": [1.0, 2.0, 3.0, 5.0, 6.0], "t": [10.0, 20.0, 30.0, 50.0, 60.0]})
    yoy = stats.next_season_pairs(seasons, "m", "m")
    assert yoy.rows() == [(2020, "a", 1.0, 2.0)]  # consecutive seasons only
    nxt = stats.next_season_pairs(seasons, "m", "t")
    assert nxt.rows() == [(2020, "a", 1.0, 20.0)]


def test_peer_metrics_box_score_line() -> None:
    # 20/30, 250 yards, 2 TD, 1 INT, 2 sacks for 10 yards, 32 dropbacks
    sums = pl.DataFrame({"db": [32.0], "epa_n": [32.0], "epa_s": [3.2], "succ": [16.0],
                         "cp_n": [30.0], "cp_s": [60.0], "att": [30.0], "cmp": [20.0],
                         "yds": [250.0], "td": [2.0], "ints": [1.0], "sk": [2.0],
                         "sky": [10.0]})
    m = peers.peer_metrics(sums).row(0, named=True)
    a, b, c, d = (20 / 30 - .3) * 5, (250 / 30 - 3) * .25, 2 / 30 * 20, 2.375 - 25 / 30
    assert m["passer_rating"] == pytest.approx((a + b + c + d) / 6 * 100)
    assert m["any_a"] == pytest.approx((250 + 40 - 45 - 10) / 32)
    assert m["epa_per_dropback"] == pytest.approx(0.1)
    assert m["success_rate"] == pytest.approx(0.5)
    assert m["cpoe"] == pytest.approx(2.0)
    assert m["epa_cpoe_composite"] == pytest.approx(0.2 * 0.1 + 0.009 * 2 + 0.09)
    capped = peers.peer_metrics(sums.with_columns(pl.lit(30.0).alias("cmp"),
                                                     pl.lit(600.0).alias("yds"),
                                                     pl.lit(10.0).alias("td"),
                                                     pl.lit(0.0).alias("ints")))
    assert capped["passer_rating"][0] == pytest.approx(158.333, abs=1e-3)


def test_qbr_name_matching() -> None:
    assert peers._name_key("G.Minshew II") == "minshew"
    assert peers._name_key("Wilson Jr.") == "wilson"
    assert peers._name_key("A.St. Brown") == "stbrown"
    qbs = pl.DataFrame({"season": [2022, 2022, 2022], "passer_id": ["x", "y", "z"],
                        "team": ["CAR", "WAS", "KC"],
                        "passer_name": ["B.Mayfield", "T.Heinicke", "P.Mahomes"]})
    qbr = pl.DataFrame({"season": [2022, 2022], "team": ["LA", "WAS"],
                        "key": ["mayfield", "heinicke"], "initial": ["b", "t"],
                        "qbr": [26.3, 40.0]})
    m = peers.match_qbr(qbs, qbr)
    assert m.rows() == [(2022, "x", 26.3), (2022, "y", 40.0)]  # x by name (traded)


def test_study_on_the_synthetic_league(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    write_league(con, *make_league())
    scoring.score(con, MV)
    result = validity.validity_study(con, loso=False, qbr_path=tmp_path / "none.csv")
    json.dumps(result)  # JSON-serialisable
    assert result["protocol"]["name"] == "in-sample"
    met = result["metrics"]
    assert set(met) >= {"passing_score", *validity.PEERS}
    ours = met["passing_score"]
    assert ours["n_qb_seasons"] == N_QBS * len(SEASONS)  # the 40-dropback backup is out
    assert ours["n_yoy_pairs"] == N_QBS and ours["n_half_pairs"] == N_QBS * len(SEASONS)
    # the peers' split-half r, recomputed independently from the plays table
    plays = query_pl(con, "SELECT season, passer_id, week % 2 AS half, avg(qb_epa) AS e, "
                          "count(*) AS n FROM plays WHERE season_type = 'REG' GROUP BY ALL")
    wide = plays.filter(pl.col("n") >= validity.HALF_MIN).pivot(
        "half", index=["season", "passer_id"], values="e").drop_nulls()
    r = float(np.corrcoef(wide["0"].to_numpy(), wide["1"].to_numpy())[0, 1])
    assert met["epa_per_dropback"]["split_half"] == pytest.approx(r, abs=1e-3)
    assert met["epa_per_dropback"]["split_half_sb"] == pytest.approx(2 * r / (1 + r), abs=1e-3)
    for m in ("passing_score", "epa_per_dropback"):
        assert ours["split_half"] is not None and math.isfinite(met[m]["split_half"])
    # the star's skill is real and persistent: the score is reliable across halves and years
    assert ours["split_half"] > 0.5 and ours["yoy"] > 0.5
    gl = result["game_level"]
    assert gl["n_games"] > 0 and gl["metrics"]["score"]["r_points"] > 0
    assert 0.5 < gl["metrics"]["score"]["auc_win"] <= 1
    assert result["qbr"] == {"available": False}
    md = write_validity_markdown(result, tmp_path / "v" / "validity.md").read_text()
    assert "Spearman-Brown" in md and "Passing Score ranks" in md
    board = lb.board(con, SEASONS[0])
    assert board["passer_id"][0] == STAR
    con.close()


# ---------------------------------------------------------------- the rolling protocol

FIRST, LAST = 2001, 2006


@pytest.fixture(scope="module")
def rolling() -> dict:
    """The rolling study on a synthetic league: origins 2003-2006, three candidates."""
    league = simulate(seasons=LAST - FIRST + 1, teams=16, first=FIRST, seed=5)
    # a team's starter is the same QB every season (his talent is drawn anew each season)
    pred = league.pred.with_columns(pl.col("passer_id").str.slice(5))
    origins = [Origin(t, f"pm-synth-{t}", tuple(range(FIRST, t)),
                      pred.filter(pl.col("season") <= t))
               for t in range(FIRST + 2, LAST + 1)]
    cands = {n: CANDIDATES[n] for n in ("mv", "mv_recv", "uni_board")}
    return rolling_study(origins, peer_games(pred), None, None, candidates=cands,
                         report_only={}, boot=40)


def test_rolling_study_json_layout(rolling: dict) -> None:
    json.dumps(rolling)
    assert set(rolling) >= {"protocol", "metrics", "variants", "bootstrap", "team_changers",
                            "drift", "half_coverage", "game_level", "chosen", "inner", "qbr"}
    assert set(rolling["metrics"]) == {"passing_score", *validity.PEERS}
    assert set(rolling["variants"]) == {"ours_mv", "ours_mv_recv", "ours_uni_board"}
    pr = rolling["protocol"]
    assert pr["name"] == "rolling-origin" and pr["evaluated_seasons"] == [FIRST + 3, LAST]
    ours = rolling["metrics"]["passing_score"]
    assert ours["n_yoy_pairs"] > 0 and ours["split_half"] is not None
    b = rolling["bootstrap"]["epa_per_dropback"]["yoy"]
    assert len(b["ci"]) == 2 and len(b["diff_ours_minus"]) == 2 and 0 <= b["p_ours_better"] <= 1
    assert set(rolling["drift"]["nested"]["median"]) == {str(k) for k in range(1, 18)}
    assert rolling["half_coverage"]["all"]["observed"] is not None
    assert {"n_changers", "n_stayers", "metrics"} <= set(rolling["team_changers"])
    assert set(rolling["chosen"].values()) <= {"mv", "mv_recv", "uni_board"}


def test_no_evaluated_season_in_any_fit(rolling: dict) -> None:
    for t, o in rolling["protocol"]["origins"].items():
        assert max(o["play_model_seasons"]) < int(t)
        assert max(o["aggregator_seasons"]) < int(t) and min(o["aggregator_seasons"]) == FIRST
        assert max(o["predicted_seasons"]) == int(t)
    inner = rolling["inner"]
    assert set(inner) == set(rolling["protocol"]["origins"])
    league = simulate(seasons=3, teams=8, first=FIRST, seed=1)
    with pytest.raises(ValueError, match="origin 2002"):  # play models that saw the season
        rolling_study([Origin(2002, "x", (2001, 2002), league.pred)], peer_games(league.pred))


def test_rolling_markdown_goes_between_the_markers(rolling: dict, tmp_path: Path) -> None:
    text = rolling_markdown(rolling)
    assert "Spearman-Brown" in text and "Team changers" in text and "| max over k >= 4 |" in text
    doc = tmp_path / "validity.md"
    doc.write_text(f"# Validity\n\nprose before\n\n{BEGIN}\nold tables\n{END}\n\nprose after\n")
    write_markdown(text, doc)
    out = doc.read_text()
    assert out.startswith("# Validity\n\nprose before") and out.rstrip().endswith("prose after")
    assert "old tables" not in out and text in out
