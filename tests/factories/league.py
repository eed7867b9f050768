"""A synthetic league of play_predictions (and plays) with a QB built to beat expectation by a
known margin: what the scoring and validity tests score."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
from scipy.stats import norm

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
    xepa = 0.05 + 0.3 * (p_complete - 0.6)  # the situation's expected EPA
    p_success = np.clip(0.47 + 0.5 * (p_complete - 0.6), 0.05, 0.95)
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
        pl.when(pl.col("complete")).then(pl.Series(rng.normal(0.0, 1.0, n))).alias("yac_z"),
        pl.Series("qb_epa", epa),
        pl.Series("xepa", xepa), pl.Series("p_success", p_success),
    ).with_columns(
        pl.col("yards_z").alias("yards_qb_z"),
        (pl.col("qb_epa") - pl.col("xepa")).alias("epa_oe"),
        (pl.col("qb_epa") - pl.col("xepa")).alias("epa_qb_oe"),
        ((pl.col("qb_epa") > 0).cast(pl.Float64) - pl.col("p_success")).alias("success_oe"),
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
