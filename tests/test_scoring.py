"""Passing Score aggregation on a synthetic league with a QB built to beat expectation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from pipeline import scoring
from pipeline.errors import InputError, WarehouseError
from pipeline.warehouse import connect, query_pl

MV = "pm-test-0001"
SEASONS = (2022, 2023)
N_QBS = 30
WEEKS = 17
PER_GAME = 35
STAR = "00-0000STAR"
BACKUP = "00-000BACKUP"
STAR_CPOE = 0.08  # the star completes 8 points more often than expected
STAR_YARDS_Z = 0.35  # and gains 0.35 sd more dropback yards than expected


def _qb(i: int) -> str:
    return STAR if i == 0 else f"00-00{i:05d}"


def make_league(seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(play_predictions, plays) of 30 QBs x 2 seasons x 17 weeks x 35 dropbacks + playoffs.

    QB 0 (the star) beats expectation by a known margin; a 40-dropback backup of team T05 in
    the last two weeks of 2023 has a far better (but tiny-sample) mean.
    """
    rng = np.random.default_rng(seed)
    teams = [f"T{i:02d}" for i in range(N_QBS)]
    skill = {k: rng.normal(0, s, N_QBS) for k, s in
             (("c", 0.025), ("y", 0.1), ("s", 0.01), ("i", 0.003), ("a", 0.1))}
    skill["c"][0], skill["y"][0] = STAR_CPOE, STAR_YARDS_Z
    skill["s"][0], skill["i"][0] = 0.02, 0.004
    rows: dict[str, list] = {k: [] for k in ("game_id", "passer_id", "passer", "posteam",
                                             "defteam", "season", "week", "season_type", "qb",
                                             "home", "away")}
    for season in SEASONS:
        for week in range(1, WEEKS + 2):
            post = week == WEEKS + 1
            order = rng.permutation(N_QBS) if not post else np.arange(4)
            for a, h in zip(order[::2], order[1::2], strict=True):
                gid = f"{season}_{week:02d}_{teams[a]}_{teams[h]}"
                for side, other in ((a, h), (h, a)):
                    backup = (season == SEASONS[-1] and side == 5 and week in (WEEKS - 1, WEEKS))
                    for j in range(PER_GAME):
                        is_b = backup and j < 20
                        rows["game_id"].append(gid)
                        rows["passer_id"].append(BACKUP if is_b else _qb(side))
                        rows["passer"].append("B.Backup" if is_b else
                                              ("S.Star" if side == 0 else f"Q.B{side:02d}"))
                        rows["posteam"].append(teams[side])
                        rows["defteam"].append(teams[other])
                        rows["season"].append(season)
                        rows["week"].append(week)
                        rows["season_type"].append("POST" if post else "REG")
                        rows["qb"].append(-1 if is_b else side)
                        rows["home"].append(teams[h])
                        rows["away"].append(teams[a])
    df = pl.DataFrame(rows)
    n = df.height
    qb = df["qb"].to_numpy()
    idx = np.where(qb < 0, 0, qb)

    def sk(k: str, backup: float) -> np.ndarray:
        return np.where(qb < 0, backup, skill[k][idx])

    p_sack = rng.uniform(0.04, 0.10, n)
    sack = rng.random(n) < np.clip(p_sack - sk("s", 0.0), 0.005, 0.5)
    scramble = ~sack & (rng.random(n) < 0.04)
    attempt = ~sack & ~scramble
    p_complete = rng.uniform(0.45, 0.8, n)
    complete = attempt & (rng.random(n) < np.clip(p_complete + sk("c", 0.1), 0.01, 0.99))
    p_int = rng.uniform(0.01, 0.04, n)
    interception = attempt & ~complete & (rng.random(n) < np.clip(p_int - sk("i", 0.0), 0, 1))
    yards_z = np.clip(rng.normal(sk("y", 0.5) + 1.0 * (complete - p_complete * attempt)
                                 - 1.2 * (sack - p_sack) - 1.0 * (interception - 0.01), 0.8),
                      -3.09, 3.09)
    aggr_z = np.clip(rng.normal(sk("a", 0.0), 1.0, n), -3.09, 3.09)
    epa = 0.45 * yards_z - 2.0 * interception - 0.2 * sack + rng.normal(0.05, 0.6, n)
    eligible = rng.random(n) > 0.01  # ~1% spikes / bad context: not scored
    f = pl.Series
    pred = df.drop("qb", "home", "away").with_columns(
        f("play_id", np.arange(1, n + 1) * 10),
        f("p_complete", np.where(attempt & eligible, p_complete, np.nan)),
        f("p_int", np.where(attempt & eligible, p_int, np.nan)),
        f("p_sack", np.where(eligible, p_sack, np.nan)),
        f("yards_pit", np.where(eligible, norm.cdf(yards_z), np.nan)),
        f("air_pit", np.where(attempt & eligible, norm.cdf(aggr_z), np.nan)),
        f("complete", complete), f("interception", interception), f("sack", sack),
        f("pass_attempt", attempt), f("scramble", scramble),
        f("yards_gained", np.round(8 + 10 * yards_z).astype(np.int64)),
        f("epa", epa), f("cp", np.where(attempt, p_complete + 0.02, np.nan)),
        f("model_eligible", eligible), pl.lit(MV).alias("model_version"),
    ).with_columns(pl.col(c).fill_nan(None) for c in ("p_complete", "p_int", "p_sack",
                                                        "yards_pit", "air_pit", "cp"))
    pred = pred.with_columns(
        (pl.col("complete").cast(pl.Float64) - pl.col("p_complete")).alias("cpoe"),
        (pl.col("p_int") - pl.col("interception").cast(pl.Float64)).alias("int_avoided"),
        (pl.col("p_sack") - pl.col("sack").cast(pl.Float64)).alias("sack_avoided"),
        pl.when(pl.col("p_sack").is_not_null()).then(pl.Series(yards_z)).alias("yards_z"),
        pl.when(pl.col("air_pit").is_not_null()).then(pl.Series(aggr_z))
        .alias("aggressiveness_z"),
        pl.lit(None, pl.Float64).alias("yac_z"),
    )
    plays = _plays(df, pred, rng)
    return pred, plays


def _plays(df: pl.DataFrame, pred: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A `plays` table (one row per dropback) with final scores and box-score columns."""
    pts = (pred.group_by(["game_id", "posteam"]).agg(pl.col("epa").sum().alias("e"))
           .sort(["game_id", "posteam"]))
    pts = pts.with_columns(pl.Series("pts", np.clip(np.round(
        21 + 1.2 * pts["e"].to_numpy() + rng.normal(0, 6, pts.height)), 0, None).astype(int)))
    home = df.select("game_id", "home", "away").unique("game_id")
    home = (home.join(pts.select("game_id", pl.col("posteam").alias("home"),
                                 pl.col("pts").alias("home_score")), on=["game_id", "home"])
            .join(pts.select("game_id", pl.col("posteam").alias("away"),
                             pl.col("pts").alias("away_score")), on=["game_id", "away"]))
    p = pred.join(home, on="game_id").select(
        "game_id", "play_id", "season", "season_type", pl.col("week").alias("game_week"),
        "week", pl.col("home").alias("home_team"), pl.col("away").alias("away_team"),
        "home_score", "away_score", "posteam", "defteam", "passer_id", "passer",
        pl.lit(1).alias("qb_dropback"), pl.col("epa").alias("qb_epa"), "epa",
        (pl.col("cpoe") * 100).alias("cpoe"),
        (pl.col("pass_attempt") | pl.col("sack")).cast(pl.Int64).alias("pass_attempt"),
        pl.col("sack").cast(pl.Int64), pl.col("complete").cast(pl.Int64).alias("complete_pass"),
        pl.when(pl.col("complete")).then(pl.col("yards_gained").clip(0)).alias("passing_yards"),
        "yards_gained", pl.col("interception").cast(pl.Int64),
        (pl.col("complete") & (pl.col("yards_gained") > 25)).cast(pl.Int64)
        .alias("pass_touchdown"), pl.lit(0).alias("two_point_attempt"))
    return p


def write_league(con: duckdb.DuckDBPyConnection, pred: pl.DataFrame,
                 plays: pl.DataFrame | None) -> None:
    """Store a synthetic league as the warehouse tables scoring reads."""
    con.register("_pred", pred)
    con.execute("CREATE OR REPLACE TABLE play_predictions AS SELECT * FROM _pred")
    con.unregister("_pred")
    if plays is not None:
        con.register("_plays", plays)
        con.execute("CREATE OR REPLACE TABLE plays AS SELECT * FROM _plays")
        con.unregister("_plays")


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
    scoring.score(con)
    yield con
    con.close()


def _season(con: duckdb.DuckDBPyConnection, season_type: str = "REG") -> pl.DataFrame:
    return query_pl(con, "SELECT * FROM qb_season_scores WHERE season_type = ? ORDER BY ALL",
                    [season_type])


def test_star_ranks_first_with_interval_excluding_league_mean(scored) -> None:
    params = scoring.load_params(scored, MV)
    assert params is not None
    rows = _season(scored)
    for season in SEASONS:
        s = rows.filter(pl.col("season") == season)
        star = s.filter(pl.col("passer_id") == STAR).row(0, named=True)
        assert star["rank"] == 1 and star["qualified"]
        league_score = float(scoring.to_score(star["league_mean"],
                                              params["scale"]["season"]["mean"],
                                              params["scale"]["season"]["sd"]))
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
    m = backup["league_mean"]
    assert abs(backup["play_value_shrunk"] - m) < 0.5 * abs(backup["play_value"] - m)
    assert backup["score_high"] - backup["score_low"] > star["score_high"] - star["score_low"]
    board = scoring.leaderboard(scored, SEASONS[-1], min_dropbacks=0)
    assert board["passer_id"][0] == STAR
    assert board.filter(pl.col("passer_id") == BACKUP)["rank"][0] > 1


def test_scale_is_monotone_and_bounded(scored) -> None:
    x = np.linspace(-1e3, 1e3, 20001)
    y = scoring.to_score(x, 0.01, 0.05)
    assert np.all(np.diff(y) >= 0) and y.min() >= 50 and y.max() <= 99
    assert scoring.to_score(0.01, 0.01, 0.05) == pytest.approx(74.5)
    for table in ("qb_season_scores", "qb_game_scores"):
        t = query_pl(scored, f"SELECT * FROM {table}")
        for c in ("score", "score_low", "score_high", *(f"comp_{k}" for k in
                                                        scoring.COMPONENTS)):
            assert t[c].min() >= 50 and t[c].max() <= 99, (table, c)
        assert (t["score_low"] <= t["score"]).all() and (t["score"] <= t["score_high"]).all()
        # ordered by the shrunk value within a level
        o = t.sort("play_value_shrunk")
        assert (o["score"].diff().drop_nulls() >= -1e-12).all()


def test_decomposition_and_game_to_season_consistency(scored) -> None:
    s = query_pl(scored, "SELECT * FROM qb_season_scores")
    total = sum(s[f"val_{c}"] for c in scoring.COMPONENTS)
    assert np.allclose(total.to_numpy(), s["play_value_shrunk"].to_numpy(), atol=1e-12)
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
    params = scoring.load_params(scored, MV)
    assert params is not None
    assert params["train_seasons"] == [SEASONS[0]]  # all seasons but the newest
    w = params["weights"]
    assert w["yards"] > 0 and w["completion"] >= 0 and w["interception"] >= 0
    assert all(w[c] >= 0 for c in scoring.NONNEG)
    assert 0 < params["k_season"] < 5000 and params["scale"]["season"]["sd"] > 0
    row = query_pl(scored, "SELECT * FROM score_weights")
    assert row.height == 1 and row["model_version"][0] == MV


def test_scores_identical_across_runs_and_week_rescore(league, tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    write_league(con, *league)
    first = scoring.score(con)
    assert first.fitted
    a = query_pl(con, "SELECT * FROM qb_season_scores ORDER BY ALL")
    ga = query_pl(con, "SELECT * FROM qb_game_scores ORDER BY ALL")
    again = scoring.score(con, refit=True)
    assert again.fitted and again.weights == first.weights
    assert a.equals(query_pl(con, "SELECT * FROM qb_season_scores ORDER BY ALL"))
    assert ga.equals(query_pl(con, "SELECT * FROM qb_game_scores ORDER BY ALL"))
    week = scoring.score(con, season=SEASONS[-1], week=5)
    assert not week.fitted and week.game_rows == N_QBS
    assert a.equals(query_pl(con, "SELECT * FROM qb_season_scores ORDER BY ALL"))
    assert ga.equals(query_pl(con, "SELECT * FROM qb_game_scores ORDER BY ALL"))
    con.close()


def test_leaderboard_matches_the_season_table_and_filters_by_week(scored) -> None:
    season = SEASONS[-1]
    board = scoring.leaderboard(scored, season)
    table = _season(scored).filter((pl.col("season") == season) & pl.col("qualified")
                                   ).sort("rank")
    assert board["passer_id"].to_list() == table["passer_id"].to_list()
    assert np.allclose(board["score"].to_numpy(), table["score"].to_numpy())
    assert board["rank"].to_list() == list(range(1, board.height + 1))
    assert board["score_change"].null_count() == 0
    w5 = scoring.leaderboard(scored, season, week=5)
    assert w5["week"][0] == 5 and w5["dropbacks"].max() <= 5 * PER_GAME
    assert set(w5.columns) >= {"rank", "passer_name", "team", "score", "score_low",
                               "score_high", "comp_completion", "epa_per_dropback", "cpoe",
                               "score_change"}
    post = scoring.leaderboard(scored, season, season_type="POST")
    assert post.height > 0 and set(post["team"]) <= {"T00", "T01", "T02", "T03"}
    games = query_pl(scored, "SELECT * FROM qb_game_scores WHERE season = ? AND week = 3",
                     [season])
    assert games["rank"].drop_nulls().sort().to_list() == list(range(1, N_QBS + 1))
    assert games["team_points"].null_count() == 0 and set(games["win"].to_list()) <= {0, .5, 1}


def test_bad_input_is_one_line(scored, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="season 1999"):
        scoring.leaderboard(scored, 1999)
    with pytest.raises(InputError, match="season type"):
        scoring.leaderboard(scored, SEASONS[0], season_type="PRE")
    with pytest.raises(InputError, match="model version"):
        scoring.score(scored, model_version="nope")
    con = connect(tmp_path / "empty.duckdb")
    with pytest.raises(WarehouseError, match="play_predictions"):
        scoring.score(con)
    con.close()
