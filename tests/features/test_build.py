"""`dropbacks` features: registry and docs, leakage, incremental = full, bad input, real data."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import passing_score.features.build as fb
from passing_score.features.build import build_dropbacks
from passing_score.features.columns import (
    BY_NAME,
    DOCS_PATH,
    DTYPES,
    FEATURE_STAGES,
    K_ATTEMPTS,
    K_DROPBACKS,
    SOURCE_TYPES,
    SPECS,
    STAGES,
    WEEK1_CMP,
    WEEK1_EPA,
    columns,
    feature_columns,
    render_markdown,
)
from passing_score.pipeline.foundation.errors import WarehouseError
from passing_score.pipeline.foundation.warehouse import (
    connect,
    fetch_one,
    query_pl,
    transaction,
)
from passing_score.pipeline.ingest.store import write_games
from passing_score.pipeline.ingest.validate import validate_plays
from tests.factories.pbp import make_pbp

KEY = ["game_id", "play_id"]
OPP = ["opp_def_epa_per_db", "opp_def_cmp_rate", "opp_def_dropbacks", "opp_def_games"]
# Source columns that describe what happened on a play or in a game and that no registry
# column of the play's own row reads: changing them must not move any feature.
SAME_PLAY_SOURCES = {c for s in SPECS if s.stage not in ("outcome", "baseline")
                     and not s.prior_games for c in s.sources}
OUTCOME_ONLY = sorted({c for s in SPECS if s.stage in ("outcome", "baseline")
                       for c in s.sources} - SAME_PLAY_SOURCES)
EXTRA_POST_PLAY = ("success", "incomplete_pass", "touchdown", "wpa", "passing_yards",
                   "receiving_yards", "air_epa", "yac_epa", "qb_epa", "home_score", "away_score",
                   "result", "total")


def load(con: duckdb.DuckDBPyConnection, df: pl.DataFrame, key: str = "x") -> None:
    """Validate and write a play-by-play frame into the warehouse, as ingestion does."""
    with transaction(con):
        write_games(con, validate_plays(df, key), "test", key)


def table(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The whole `dropbacks` table in key order."""
    return query_pl(con, "SELECT * FROM dropbacks ORDER BY game_id, play_id")


def perturb_outcomes(df: pl.DataFrame, game_id: str, seed: int = 1) -> pl.DataFrame:
    """Replace every outcome column of one game's plays with random (valid) values."""
    rng = np.random.default_rng(seed)
    mask = df["game_id"] == game_id
    n = int(mask.sum())
    out = df
    for c in (*OUTCOME_ONLY, *EXTRA_POST_PLAY):
        dtype = df.schema[c]
        if c in ("cp",):
            vals = pl.Series(rng.uniform(0, 1, n))
        elif c in ("cpoe",):
            vals = pl.Series(rng.uniform(-60, 60, n))
        elif dtype == pl.Float64:
            vals = pl.Series(rng.normal(0, 3, n))
        elif c in ("yards_gained", "yards_after_catch", "passing_yards", "receiving_yards",
                   "home_score", "away_score", "result", "total"):
            vals = pl.Series(rng.integers(-10, 60, n))
        else:  # 0/1 flags
            vals = pl.Series(rng.integers(0, 2, n))
        full = pl.Series(c, [None] * df.height, dtype=dtype).scatter(
            mask.arg_true(), vals.cast(dtype))
        out = out.with_columns(pl.when(mask).then(full).otherwise(pl.col(c)).alias(c))
    return out


# -- registry and docs ---------------------------------------------------------------------------

def test_registry_is_consistent() -> None:
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
    assert all(s.stage in STAGES and s.dtype in DTYPES for s in SPECS)
    assert all(set(s.sources) <= set(SOURCE_TYPES) for s in SPECS), \
        [s.name for s in SPECS if not set(s.sources) <= set(SOURCE_TYPES)]
    assert all(s.name.startswith("out_") for s in SPECS if s.stage == "outcome")
    assert not any(s.name.startswith("out_") for s in SPECS if s.stage != "outcome")
    assert columns("key") == KEY
    assert set(feature_columns()) == set(columns(*FEATURE_STAGES))
    assert {"cp", "cpoe"} == set(columns("baseline"))
    assert "model_eligible" in columns("flag") and BY_NAME["model_eligible"].dtype == "BOOLEAN"
    assert not set(feature_columns()) & set(columns("outcome", "baseline", "flag"))
    with pytest.raises(ValueError, match="unknown stage"):
        columns("feature")  # type: ignore[arg-type]
    # the leakage test below must really move the main outcomes
    assert {"complete_pass", "interception", "yards_gained", "yards_after_catch", "epa",
            "first_down", "cp", "cpoe", "pass_touchdown"} <= set(OUTCOME_ONLY)


def test_docs_are_generated_from_registry() -> None:
    text = DOCS_PATH.read_text()
    assert text == render_markdown(), "run `python -m features.columns` to regenerate"
    for s in SPECS:
        assert f"| `{s.name}` | {s.dtype} |" in text


# -- synthetic builds ----------------------------------------------------------------------------

def test_build_synthetic_shape_and_types(con: duckdb.DuckDBPyConnection) -> None:
    df = make_pbp(weeks=(1, 2, 3))
    load(con, df)
    seen: list[tuple[int, int]] = []
    rep = build_dropbacks(con, on_progress=lambda d, t: seen.append((d, t)))
    out = table(con)
    n_db = df.filter(pl.col("qb_dropback") == 1).height
    assert rep.full and rep.rows == out.height == n_db == rep.rows_total
    assert rep.games_rebuilt == df["game_id"].n_unique() and rep.plays_in == df.height
    assert seen == [(0, rep.games_rebuilt), (rep.games_rebuilt, rep.games_rebuilt)]
    assert out.columns == columns()
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'dropbacks'").fetchall())
    assert types == {s.name: s.dtype for s in SPECS}
    assert out.select(KEY).is_duplicated().sum() == 0
    kinds = out.select(pl.sum_horizontal(pl.col("out_pass_attempt", "out_sack", "out_scramble")
                                         .cast(pl.Int32)))
    assert kinds.to_series().eq(1).all()
    not_att = out.filter(~pl.col("out_pass_attempt"))
    assert not_att.select(columns("at_throw")).null_count().row(0) == (not_att.height,) * len(
        columns("at_throw"))
    att = out.filter(pl.col("out_pass_attempt"))
    assert (att["air_to_sticks"] == att["air_yards"] - att["ydstogo"]).all()
    assert (att["air_to_goal"] == att["yardline_100"] - att["air_yards"]).all()
    w1 = out.filter(pl.col("week") == 1)
    assert (w1["opp_def_games"] == 0).all() and (w1["opp_def_dropbacks"] == 0).all()
    assert w1["opp_def_epa_per_db"].unique().to_list() == [WEEK1_EPA]
    assert w1["opp_def_cmp_rate"].unique().to_list() == [WEEK1_CMP]
    assert (out.filter(pl.col("week") == 3)["opp_def_games"] == 2).all()
    # indoor games: weather imputed, not "missing"; synthetic dome games have null temp
    dome = out.filter(pl.col("roof").is_in(["dome", "closed"]))
    assert dome.height and (dome["temp"] == 70.0).all() and not dome["weather_missing"].any()
    # nothing changed: a second build rebuilds nothing
    again = build_dropbacks(con)
    assert (again.games_rebuilt, again.games_removed, again.rows, again.full) == (0, 0, 0, False)
    assert_frame_equal(table(con), out)


def test_opponent_strength_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    """Week-2 opponent numbers equal a direct computation from week-1 plays only."""
    df = make_pbp(weeks=(1, 2), seed=3)
    load(con, df)
    build_dropbacks(con)
    out = table(con)
    elig = df.filter(pl.col("qb_dropback") == 1, pl.col("play_type") != "no_play",
                     pl.col("two_point_attempt") == 0, pl.col("qb_spike") == 0,
                     pl.col("down").is_between(1, 4), pl.col("ydstogo").is_between(1, 99),
                     pl.col("yardline_100").is_between(1, 99),
                     pl.col("ydstogo") <= pl.col("yardline_100"), pl.col("week") == 1)
    lg_epa = elig["epa"].mean()
    att = elig.filter(pl.col("pass_attempt") == 1, pl.col("sack") == 0)
    lg_cmp = att["complete_pass"].mean()
    checked = 0
    for d in out.filter(pl.col("week") == 2)["defteam"].unique().to_list():
        e = elig.filter(pl.col("defteam") == d)
        a = att.filter(pl.col("defteam") == d)
        want_epa = (e["epa"].sum() + K_DROPBACKS * lg_epa) / (e.height + K_DROPBACKS)
        want_cmp = (a["complete_pass"].sum() + K_ATTEMPTS * lg_cmp) / (a.height + K_ATTEMPTS)
        got = out.filter(pl.col("week") == 2, pl.col("defteam") == d)
        assert got["opp_def_epa_per_db"].n_unique() == 1
        assert got["opp_def_epa_per_db"][0] == pytest.approx(want_epa, abs=1e-6)
        assert got["opp_def_cmp_rate"][0] == pytest.approx(want_cmp, abs=1e-12)
        assert got["opp_def_dropbacks"][0] == e.height and got["opp_def_games"][0] == 1
        checked += 1
    assert checked == 8


def test_leakage_outcomes_never_reach_features(con: duckdb.DuckDBPyConnection) -> None:
    """Change every outcome of a week-3 game: weeks 1-3 features stay, later opponents move."""
    df = make_pbp(weeks=(1, 2, 3, 4, 5), seed=5)
    load(con, df)
    build_dropbacks(con)
    before = table(con)
    game = sorted(df.filter(pl.col("week") == 3)["game_id"].unique().to_list())[0]
    changed = perturb_outcomes(df, game)
    assert not changed.filter(pl.col("game_id") == game).equals(
        df.filter(pl.col("game_id") == game))
    load(con, changed, "y")
    rep = build_dropbacks(con)
    assert not rep.full and rep.games_changed == 1
    assert rep.games_rebuilt == df.filter(pl.col("week") >= 3)["game_id"].n_unique()
    after = table(con)
    feats = [*KEY, "week", *feature_columns()]
    # the game's own outcomes did change ...
    own_b = before.filter(pl.col("game_id") == game)
    own_a = after.filter(pl.col("game_id") == game)
    assert not own_b.select(columns("outcome")).equals(own_a.select(columns("outcome")))
    # ... but no feature of weeks 1-3 (the game itself and its same-week games included)
    early = pl.col("week") <= 3
    assert_frame_equal(before.filter(early).select(feats), after.filter(early).select(feats))
    # later weeks: only the opponent numbers may move, and they do (the test is not vacuous)
    rest = [c for c in feats if c not in OPP]
    late = pl.col("week") >= 4
    assert_frame_equal(before.filter(late).select(rest), after.filter(late).select(rest))
    moved = before.filter(late).select(KEY + OPP).join(
        after.filter(late).select(KEY + OPP), on=KEY, suffix="_new")
    assert (moved["opp_def_epa_per_db"] != moved["opp_def_epa_per_db_new"]).any()


def test_same_week_and_later_dated_games_are_not_seen(con: duckdb.DuckDBPyConnection) -> None:
    """A week-2 game played on the week-3 date is invisible to week 3, visible to week 4."""
    df = make_pbp(weeks=(1, 2, 3, 4), seed=7)
    moved = sorted(df.filter(pl.col("week") == 2)["game_id"].unique().to_list())[0]
    week3_date = df.filter(pl.col("week") == 3)["game_date"][0]
    df = df.with_columns(pl.when(pl.col("game_id") == moved).then(pl.lit(week3_date))
                         .otherwise(pl.col("game_date")).alias("game_date"))
    teams = df.filter(pl.col("game_id") == moved).select("home_team", "away_team").row(0)
    load(con, df)
    build_dropbacks(con)
    out = table(con)
    w3 = out.filter(pl.col("week") == 3)
    assert (w3.filter(pl.col("defteam").is_in(teams))["opp_def_games"] == 1).all()
    assert (w3.filter(~pl.col("defteam").is_in(teams))["opp_def_games"] == 2).all()
    assert (out.filter(pl.col("week") == 4)["opp_def_games"] == 3).all()


def test_incremental_equals_full(con: duckdb.DuckDBPyConnection) -> None:
    base = pl.concat([make_pbp(weeks=(1, 2, 3, 4), seed=11),
                      make_pbp(season=2031, weeks=(1, 2), seed=12)])
    load(con, base)
    first = build_dropbacks(con)
    assert first.full and first.games_rebuilt == base["game_id"].n_unique()
    # a corrected week-2 game (features change), a new week 5, a week-3 game withdrawn
    g2 = sorted(base.filter(pl.col("season") == 2030, pl.col("week") == 2)["game_id"]
                .unique().to_list())[0]
    g3 = sorted(base.filter(pl.col("season") == 2030, pl.col("week") == 3)["game_id"]
                .unique().to_list())[0]
    fixed = base.filter(pl.col("game_id") == g2).with_columns(
        pl.when(pl.col("ydstogo") > 1).then(pl.col("ydstogo") - 1).otherwise(pl.col("ydstogo"))
        .alias("ydstogo"), pl.lit(1).alias("shotgun"))
    load(con, fixed, "fix")
    load(con, make_pbp(weeks=(5,), seed=13), "week5")
    with transaction(con):
        con.execute("DELETE FROM plays WHERE game_id = ?", [g3])
        con.execute("DELETE FROM ingested_games WHERE game_id = ?", [g3])
    rep = build_dropbacks(con)
    n_after = fetch_one(con, "SELECT count(DISTINCT game_id) FROM plays WHERE season = 2030 "
                        "AND game_week >= 2")
    assert not rep.full and rep.games_removed == 1 and rep.games_changed == 2 + 4
    assert rep.games_rebuilt == n_after[0]  # season 2031 untouched
    assert fetch_one(con, "SELECT count(*) FROM dropbacks WHERE game_id = ?", [g3]) == (0,)
    incremental = table(con)
    assert incremental.filter(pl.col("game_id") == g2)["shotgun"].all()
    full = build_dropbacks(con, full=True)
    assert full.full and full.rows == incremental.height
    assert_frame_equal(table(con), incremental)
    log = fetch_one(con, "SELECT count(*), count(DISTINCT game_id) FROM dropbacks_log")
    games = fetch_one(con, "SELECT count(DISTINCT game_id) FROM plays")
    assert log == (games[0], games[0])


def test_failed_build_keeps_previous_table(con: duckdb.DuckDBPyConnection,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    df = make_pbp(weeks=(1, 2), seed=17)
    load(con, df)
    build_dropbacks(con)
    before = table(con)
    game = df["game_id"][0]
    load(con, perturb_outcomes(df, game), "y")
    monkeypatch.setattr(fb, "_rows_sql", lambda have, seasons: "SELECT broken FROM nowhere")
    with pytest.raises(WarehouseError, match="previous table kept"):
        build_dropbacks(con)
    assert_frame_equal(table(con), before)
    monkeypatch.undo()
    rep = build_dropbacks(con)  # the change is still pending and gets built now
    assert rep.games_changed == 1 and rep.games_rebuilt >= 1


def test_other_code_or_schema_forces_full_rebuild(con: duckdb.DuckDBPyConnection,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    df = make_pbp(weeks=(1, 2), seed=23)
    load(con, df)
    build_dropbacks(con)
    games = df["game_id"].n_unique()
    monkeypatch.setattr(fb, "spec_hash", lambda: "other-sql")
    rep = build_dropbacks(con)
    assert rep.full and rep.games_rebuilt == games
    assert fetch_one(con, "SELECT DISTINCT spec FROM dropbacks_log") == ("other-sql",)
    assert build_dropbacks(con).games_rebuilt == 0
    con.execute("ALTER TABLE dropbacks DROP COLUMN cpoe")  # an older table layout
    rep = build_dropbacks(con)
    assert rep.full and table(con).columns == columns()


def test_missing_plays_or_columns_is_one_line(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(WarehouseError, match=r"'plays' is missing.*ingest"):
        build_dropbacks(con)
    con.execute("CREATE TABLE plays (game_id VARCHAR, play_id BIGINT)")
    with pytest.raises(WarehouseError, match="qb_dropback"):
        build_dropbacks(con)


def test_bad_input_is_flagged_never_crashes(con: duckdb.DuckDBPyConnection) -> None:
    """Values validation would refuse, typed wrong or missing, planted straight into `plays`."""
    df = make_pbp(weeks=(1, 2), seed=19)
    load(con, df)
    build_dropbacks(con)
    untouched = table(con).select(*KEY, "is_bad_context")
    att = df.filter(pl.col("qb_dropback") == 1, pl.col("pass_attempt") == 1,
                    pl.col("sack") == 0, pl.col("week") == 2).select(KEY).rows()
    bad = {  # row -> SQL SET clause
        att[0]: "down = 'abc'",  # wrong type: down is now text
        att[1]: "yardline_100 = '150'",
        att[2]: "air_yards = NULL",
        att[3]: "down = NULL",
        att[4]: "xpass = 7.5",
        att[5]: "qtr = '9'",
        att[6]: "posteam = NULL",
        att[7]: "defteam = NULL",
        att[8]: "ydstogo = '-3'",
        att[9]: "game_seconds_remaining = '99999999999999'",
    }
    with transaction(con):
        for col in ("down", "yardline_100", "qtr", "ydstogo", "game_seconds_remaining"):
            con.execute(f"ALTER TABLE plays ALTER COLUMN {col} TYPE VARCHAR")
        con.execute("ALTER TABLE plays DROP COLUMN aborted_play")  # an optional column absent
        for (g, p), set_clause in bad.items():
            con.execute(f"UPDATE plays SET {set_clause} WHERE game_id = ? AND play_id = ?", [g, p])
    rep = build_dropbacks(con, full=True)
    out = table(con)
    assert rep.rows == df.filter(pl.col("qb_dropback") == 1).height == out.height
    flagged = out.join(pl.DataFrame(list(bad), schema=KEY, orient="row"), on=KEY)
    by_key = {(r["game_id"], r["play_id"]): r for r in flagged.iter_rows(named=True)}
    for k in bad:
        r = by_key[k]
        if k == att[2]:
            assert r["air_yards_missing"] and r["air_yards"] is None and r["model_eligible"]
            assert not r["is_bad_context"]
        else:
            assert r["is_bad_context"] and not r["model_eligible"], (k, bad[k])
    assert by_key[att[0]]["down"] is None and by_key[att[1]]["yardline_100"] == 150
    assert by_key[att[7]]["opp_def_epa_per_db"] is None
    assert by_key[att[9]]["game_seconds_remaining"] is None  # too big for INTEGER: null
    # every other row keeps the flag it had before the tampering
    others = out.select(*KEY, "is_bad_context").join(untouched, on=KEY, suffix="_before")
    others = others.join(pl.DataFrame(list(bad), schema=KEY, orient="row"), on=KEY, how="anti")
    assert others.height == out.height - len(bad)
    assert (others["is_bad_context"] == others["is_bad_context_before"]).all()


# -- real data -----------------------------------------------------------------------------------

# Dropbacks per season in the shared files (docs: ../shared/nflverse/SOURCES.md).
SOURCE_DROPBACKS = {2016: 21094, 2017: 20448, 2018: 20783, 2019: 20883, 2020: 21212,
                    2021: 22104, 2022: 21481, 2023: 21979, 2024: 21293}


@pytest.fixture(scope="module")
def real_dropbacks(real_warehouse: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """A copy of the real-data warehouse with `dropbacks` built once for this module."""
    db = tmp_path_factory.mktemp("features") / "warehouse.duckdb"
    shutil.copy(real_warehouse, db)
    con = connect(db)
    build_dropbacks(con, full=True)
    yield con
    con.close()


@pytest.mark.real_data
def test_real_counts_per_season(real_dropbacks: duckdb.DuckDBPyConnection) -> None:
    con = real_dropbacks
    ours = dict(con.execute("SELECT season, count(*) FROM dropbacks GROUP BY 1").fetchall())
    independent = dict(con.execute(
        "SELECT season, count(*) FROM plays WHERE qb_dropback = 1 GROUP BY 1").fetchall())
    assert ours == independent == SOURCE_DROPBACKS
    assert fetch_one(con, "SELECT count(*) - count(DISTINCT (game_id, play_id)), "
                     "count(*) - count(passer_id), count(*) FILTER (WHERE passer_from_desc), "
                     "count(*) FILTER (WHERE is_nullified), count(*) FILTER (WHERE "
                     "out_pass_attempt::INT + out_sack::INT + out_scramble::INT <> 1) "
                     "FROM dropbacks") == (0, 0, 537, 531, 0)


@pytest.mark.real_data
def test_real_games_checked_by_hand(real_dropbacks: duckdb.DuckDBPyConnection) -> None:
    """Values worked out from the shared 2018/2023 parquet files, not copied from the table."""
    con = real_dropbacks
    # Super Bowl LVIII: Mahomes 55 dropbacks = 46 attempts + 3 sacks + 6 scrambles
    assert fetch_one(con, "SELECT count(*), sum(out_pass_attempt::INT), sum(out_sack::INT), "
                     "sum(out_scramble::INT), sum(out_complete::INT) FROM dropbacks "
                     "WHERE game_id = '2023_22_SF_KC' AND passer_id = '00-0033873'") \
        == (55, 46, 3, 6, 34)
    # 1st-and-10 at the SF 39 (yardline 61), 48 air yards to Hardman: 38 past the sticks,
    # caught 13 yards from the goal line
    assert fetch_one(con, "SELECT week, season_type, air_yards, air_to_sticks, air_to_goal, "
                     "pass_length, out_complete FROM dropbacks WHERE game_id = "
                     "'2023_22_SF_KC' AND play_id = 1013") == (22, "POST", 48, 38, 13, "deep",
                                                               True)
    # Week 2 2023, JAX vs the KC defense: KC's week-1 defense faced 35 eligible dropbacks
    # (EPA sum 2.507222, 22/34 completions); league week 1: -0.079864 EPA, 0.642791 cmp
    row = fetch_one(con, "SELECT DISTINCT opp_def_games, opp_def_dropbacks, "
                    "opp_def_epa_per_db, opp_def_cmp_rate FROM dropbacks "
                    "WHERE game_id = '2023_02_KC_JAX' AND defteam = 'KC'")
    assert row is not None and row[:2] == (1, 35)
    assert row[2] == pytest.approx(-0.05120168, abs=1e-6)
    assert row[3] == pytest.approx(0.64370338, abs=1e-7)
    # a nullified Mahomes scramble: no passer id in the source, recovered from the text
    assert fetch_one(con, "SELECT passer_id, passer, is_nullified, passer_from_desc, "
                     "model_eligible, out_scramble FROM dropbacks WHERE game_id = "
                     "'2018_02_KC_PIT' AND play_id = 4118") \
        == ("00-0033873", "P.Mahomes", True, True, False, True)
    # 4th-and-6 at the JAX 1 with goal to go: impossible context in the source
    assert fetch_one(con, "SELECT is_bad_context, model_eligible FROM dropbacks "
                     "WHERE game_id = '2018_13_IND_JAX' AND play_id = 1243") == (True, False)


@pytest.mark.real_data
def test_real_incremental_rebuild_of_one_game(real_dropbacks: duckdb.DuckDBPyConnection) -> None:
    """Re-ingesting one 2024 week-10 game rebuilds weeks 10+ of 2024 only, identically."""
    con = real_dropbacks
    before = query_pl(con, "SELECT * FROM dropbacks WHERE season = 2024 "
                      "ORDER BY game_id, play_id")
    con.execute("UPDATE plays SET ingested_at = now()::TIMESTAMP "
                "WHERE game_id = '2024_10_DET_HOU'")
    rep = build_dropbacks(con)
    n = fetch_one(con, "SELECT count(DISTINCT game_id) FROM plays "
                  "WHERE season = 2024 AND game_week >= 10")
    assert (rep.full, rep.games_changed, rep.games_rebuilt) == (False, 1, n[0])
    assert_frame_equal(query_pl(con, "SELECT * FROM dropbacks WHERE season = 2024 "
                                "ORDER BY game_id, play_id"), before)
