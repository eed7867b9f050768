"""A synthetic league of play_predictions rows with known, constant true QB levels (issue 15):
what the aggregator's drift and interval-coverage tests score.

Every QB-season has a constant true vector of component means theta (relative to the league's
true mean); each game adds a game-level deviation delta (form, opponent), each play a noise
vector. Starters play most games; backups (worse on average) start some games and mop up.
Optionally the league-wide environment drifts within a season (`league_trend`: the same shift
for every QB, e.g. offenses warming up relative to fixed play-model expectations) and a season
offset (`season_shift`: the play models lag the league), which change no QB's level relative
to the league. Columns: the play_predictions columns the aggregator reads (the production
components), and the truth per QB-season and QB-game (`true_<column>`, league-relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# the production components' play_predictions columns and their sd of true season means /
# game deviations / plays
COLS = ("cpoe", "int_avoided", "sack_avoided", "yards_qb_z", "aggressiveness_z", "yac_z",
        "epa_qb_oe", "success_oe")
TRUE_SD = np.array([0.030, 0.006, 0.010, 0.10, 0.15, 0.08, 0.06, 0.025])
GAME_SD = np.array([0.030, 0.004, 0.012, 0.10, 0.10, 0.08, 0.08, 0.03])
PLAY_SD = np.array([0.45, 0.15, 0.25, 1.0, 1.0, 1.0, 1.5, 0.49])
# true-level correlation (yards / epa / success / completion move together)
CORR = np.array([
    [1.0, 0.2, 0.0, 0.6, -0.3, 0.2, 0.6, 0.6],
    [0.2, 1.0, 0.0, 0.2, -0.2, 0.0, 0.3, 0.1],
    [0.0, 0.0, 1.0, 0.3, -0.2, 0.0, 0.3, 0.2],
    [0.6, 0.2, 0.3, 1.0, 0.2, 0.3, 0.8, 0.7],
    [-0.3, -0.2, -0.2, 0.2, 1.0, -0.1, 0.1, -0.1],
    [0.2, 0.0, 0.0, 0.3, -0.1, 1.0, 0.3, 0.2],
    [0.6, 0.3, 0.3, 0.8, 0.1, 0.3, 1.0, 0.8],
    [0.6, 0.1, 0.2, 0.7, -0.1, 0.2, 0.8, 1.0],
])
EPA_WEIGHTS = np.array([0.6, 0.0, 0.0, 0.3, 0.0, 0.1, 0.6, 0.4])  # qb_epa = b . c + noise


@dataclass(frozen=True)
class League:
    """Plays and the truth they were drawn from."""

    pred: pl.DataFrame  # play rows
    truth_season: pl.DataFrame  # season, passer_id, true_<col> (relative to league)
    truth_game: pl.DataFrame  # season, game_id, passer_id, true_<col> (relative)


def simulate(seasons: int = 8, teams: int = 32, weeks: int = 17, plays: int = 36,
             backup_gap: float = 1.0, backup_start: float = 0.08, mop_up: int = 3,
             league_trend: float = 0.0, season_shift: float = 0.0, first: int = 2001,
             seed: int = 0) -> League:
    """Simulate `seasons` REG seasons; gaps and trends are in units of TRUE_SD."""
    rng = np.random.default_rng(seed)
    k = len(COLS)
    cov_t = CORR * np.outer(TRUE_SD, TRUE_SD)
    cov_t = (cov_t + cov_t.T) / 2
    lt = np.linalg.cholesky(cov_t + 1e-12 * np.eye(k))
    play_cov = np.diag(PLAY_SD ** 2) * 0.7 + 0.3 * np.outer(PLAY_SD, PLAY_SD) * np.where(
        np.eye(k) == 1, 1.0, 0.25 * CORR)
    play_cov = (play_cov + play_cov.T) / 2
    lp = np.linalg.cholesky(play_cov)
    tseason = []
    gcols: dict[str, list[np.ndarray]] = {x: [] for x in ("season", "week", "team", "opp",
                                                           "role", "n", "mean", "env")}
    for si in range(seasons):
        season = first + si
        shift = season_shift * TRUE_SD * (1 if si == seasons - 1 else 0)
        starters = rng.standard_normal((teams, k)) @ lt.T
        backups = rng.standard_normal((teams, k)) @ lt.T - backup_gap * TRUE_SD
        for team in range(teams):
            for role, th in (("S", starters[team]), ("B", backups[team])):
                tseason.append((season, f"{season}-{team:02d}-{role}", *th))
        for week in range(1, weeks + 1):
            env = shift + league_trend * TRUE_SD * ((week - 1) / max(weeks - 1, 1) - 0.5)
            perm = rng.permutation(teams)
            bstart = rng.random(teams) < backup_start
            for role in ("S", "B"):
                n = np.where(bstart, 0 if role == "S" else plays,
                             plays - mop_up if role == "S" else mop_up)
                th = starters if role == "S" else backups
                delta = rng.standard_normal((teams, k)) * GAME_SD
                gcols["season"].append(np.full(teams, season))
                gcols["week"].append(np.full(teams, week))
                gcols["team"].append(np.arange(teams))
                gcols["opp"].append(perm)
                gcols["role"].append(np.full(teams, role))
                gcols["n"].append(n)
                gcols["mean"].append(th + delta)
                gcols["env"].append(np.broadcast_to(env, (teams, k)))
    g = {x: np.concatenate(v) for x, v in gcols.items()}
    keep = g["n"] > 0
    g = {x: v[keep] for x, v in g.items()}
    reps = g["n"].astype(int)
    idx = np.repeat(np.arange(len(reps)), reps)
    total = int(reps.sum())
    c = g["mean"][idx] + g["env"][idx] + rng.standard_normal((total, k)) @ lp.T
    epa = c @ EPA_WEIGHTS + rng.normal(0, 0.8, total)
    season_a, week_a, team_a, opp_a, role_a = (g[x][idx] for x in ("season", "week", "team",
                                                                    "opp", "role"))
    lo, hi = np.minimum(team_a, opp_a), np.maximum(team_a, opp_a)
    start = np.cumsum(reps) - reps
    play_id = np.arange(total) - start[idx] + np.where(role_a == "S", 0, 1000)
    team_s = np.char.zfill(team_a.astype(str), 2)
    pid = np.char.add(np.char.add(np.char.add(season_a.astype(str), "-"), team_s),
                      np.char.add("-", role_a))
    gid = np.char.add(np.char.add(np.char.add(np.char.add(season_a.astype(str), "_"),
                                              np.char.zfill(week_a.astype(str), 2)), "_"),
                      np.char.add(np.char.add(np.char.zfill(lo.astype(str), 2), "_"),
                                  np.char.zfill(hi.astype(str), 2)))
    pred = pl.DataFrame({
        "game_id": gid, "play_id": play_id.astype(np.int64), "passer_id": pid,
        "passer": np.char.add("Q", pid), "posteam": np.char.add("T", team_s),
        "defteam": np.char.add("T", np.char.zfill(opp_a.astype(str), 2)),
        "season": season_a.astype(np.int64), "week": week_a.astype(np.int64),
        "season_type": np.full(total, "REG"), "model_eligible": np.ones(total, bool),
        "epa": epa, "qb_epa": epa, **{col: c[:, i] for i, col in enumerate(COLS)}})
    # the older candidates' columns (validity study): the same signals under their names
    pred = pred.with_columns(pl.col("yards_qb_z").alias("yards_z"),
                             pl.col("epa_qb_oe").alias("epa_oe"))
    gkeep_pid = np.char.add(np.char.add(np.char.add(g["season"].astype(str), "-"),
                                        np.char.zfill(g["team"].astype(str), 2)),
                            np.char.add("-", g["role"]))
    glo, ghi = np.minimum(g["team"], g["opp"]), np.maximum(g["team"], g["opp"])
    ggid = np.char.add(np.char.add(np.char.add(np.char.add(g["season"].astype(str), "_"),
                                               np.char.zfill(g["week"].astype(str), 2)), "_"),
                       np.char.add(np.char.add(np.char.zfill(glo.astype(str), 2), "_"),
                                   np.char.zfill(ghi.astype(str), 2)))
    tgame = [tuple(r) for r in zip(g["season"].tolist(), g["week"].tolist(), ggid.tolist(),
                                   gkeep_pid.tolist(), g["n"].tolist(),
                                   *[g["mean"][:, i].tolist() for i in range(k)], strict=True)]
    tg = pl.DataFrame(tgame, schema=["season", "week", "game_id", "passer_id", "n",
                                     *[f"true_{c}" for c in COLS]], orient="row")
    ts = pl.DataFrame(tseason, schema=["season", "passer_id", *[f"true_{c}" for c in COLS]],
                      orient="row")
    # relative truth: minus the league's dropback-weighted true mean (per season; per season
    # to date for games, as the aggregator's league reference)
    tcols = [f"true_{c}" for c in COLS]
    lg = (tg.group_by(["season", "week"]).agg(*[(pl.col(c) * pl.col("n")).sum() for c in tcols],
                                              pl.col("n").sum()).sort(["season", "week"])
          .with_columns(*[pl.col(c).cum_sum().over("season") for c in [*tcols, "n"]]))
    lg = lg.select("season", "week", *[(pl.col(c) / pl.col("n")).alias(f"L_{c}") for c in tcols])
    tg = tg.join(lg, on=["season", "week"]).with_columns(
        *[(pl.col(c) - pl.col(f"L_{c}")).alias(c) for c in tcols]).drop([f"L_{c}" for c in tcols])
    # season truth: the QB's talent theta (the shifts are league-wide, not his)
    # talent relative to the league's dropback-weighted talent of the season
    wts = tg.group_by(["season", "passer_id"]).agg(pl.col("n").sum())
    ts = ts.join(wts, on=["season", "passer_id"], how="inner")
    lm = ts.group_by("season").agg(*[((pl.col(c) * pl.col("n")).sum() / pl.col("n").sum())
                                     .alias(f"M_{c}") for c in tcols])
    ts = ts.join(lm, on="season").with_columns(
        *[(pl.col(c) - pl.col(f"M_{c}")).alias(c) for c in tcols]).drop(
        [f"M_{c}" for c in tcols])
    return League(pred, ts, tg)


def peer_games(pred: pl.DataFrame) -> pl.DataFrame:
    """Box-score sums per QB-game (the columns of `validity.peers.peer_game_sums`) of the
    synthetic plays: every dropback a pass attempt, a completion when cpoe > 0."""
    keys = ["season", "season_type", "week", "game_id", "passer_id"]
    return pred.group_by(keys).agg(
        pl.col("posteam").first().alias("team"), pl.col("passer").first().alias("passer_name"),
        pl.len().cast(pl.Float64).alias("db"), pl.len().cast(pl.Float64).alias("epa_n"),
        pl.col("qb_epa").sum().alias("epa_s"),
        (pl.col("qb_epa") > 0).sum().cast(pl.Float64).alias("succ"),
        pl.len().cast(pl.Float64).alias("cp_n"), (100 * pl.col("cpoe")).sum().alias("cp_s"),
        pl.len().cast(pl.Float64).alias("att"),
        (pl.col("cpoe") > 0).sum().cast(pl.Float64).alias("cmp"),
        (8.0 + 6.0 * pl.col("yards_qb_z")).clip(0).sum().alias("yds"),
        (pl.col("qb_epa") > 2.5).sum().cast(pl.Float64).alias("td"),
        (pl.col("int_avoided") < -0.4).sum().cast(pl.Float64).alias("ints"),
        (pl.col("sack_avoided") < -0.6).sum().cast(pl.Float64).alias("sk"),
        (pl.col("sack_avoided") < -0.6).sum().cast(pl.Float64).mul(7.0).alias("sky"),
    ).sort(keys)
