"""Passing Scores: per-play over/under expectation -> per-game and per-season QB scores (50-99).

Reads warehouse tables only (`play_predictions`, and `plays` for final scores) and writes
`qb_game_scores`, `qb_season_scores` and `score_weights` for one model version in one
transaction. The method (weights, shrinkage, scale, intervals) is described in docs/scoring.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import polars as pl
from scipy.optimize import nnls
from scipy.stats import norm

from pipeline.errors import InputError, WarehouseError
from pipeline.warehouse import (
    fetch_one,
    query_pl,
    require_table,
    table_columns,
    table_exists,
    transaction,
)

# component name -> play_predictions column; every component is "higher = better for the QB"
# except aggressiveness, a style axis (deeper throws than expected) whose sign the fit decides
COMPONENTS: tuple[str, ...] = ("completion", "interception", "sack", "yards", "aggressiveness")
SOURCE: dict[str, str] = {"completion": "cpoe", "interception": "int_avoided",
                          "sack": "sack_avoided", "yards": "yards_z",
                          "aggressiveness": "aggressiveness_z"}
NONNEG: frozenset[str] = frozenset({"completion", "interception", "sack", "yards"})

SEASON_TYPES: tuple[str, ...] = ("REG", "POST", "ALL")
INTERVAL = 0.80  # central posterior interval of every score
Z_INTERVAL = float(norm.ppf(0.5 + INTERVAL / 2))
GAME_MIN_DROPBACKS = 15  # a qualified game
SEASON_DROPBACKS_PER_GAME = 14  # a qualified season: dropbacks per team game played
HALF_MIN = 50  # fit: scored dropbacks in each half-season of a QB-season
TAU_MIN_SEASON = 100  # QB-seasons behind the between-QB variance
RIDGE_GRID: tuple[float, ...] = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_RIDGE = 0.1  # when fewer than 3 training seasons allow no leave-one-season-out choice
SCALE_LOW, SCALE_SPAN = 50.0, 49.0
PARAMS_FORMAT = 1
HINT = "run `passing-score score` (it fills play_predictions) first"

Progress = Callable[[int, int], Any]

GAME_COLUMNS: dict[str, str] = {
    "passer_id": "VARCHAR NOT NULL", "game_id": "VARCHAR NOT NULL",
    "model_version": "VARCHAR NOT NULL", "passer_name": "VARCHAR", "team": "VARCHAR",
    "opponent": "VARCHAR", "season": "BIGINT", "season_type": "VARCHAR", "week": "BIGINT",
    "dropbacks": "BIGINT", "scored_dropbacks": "BIGINT", "play_value": "DOUBLE",
    "play_value_shrunk": "DOUBLE", "play_value_sd": "DOUBLE", "league_mean": "DOUBLE",
    "score": "DOUBLE", "score_low": "DOUBLE", "score_high": "DOUBLE", "qualified": "BOOLEAN",
    "rank": "BIGINT",
    **{f"comp_{c}": "DOUBLE" for c in COMPONENTS}, **{f"val_{c}": "DOUBLE" for c in COMPONENTS},
    "epa_per_dropback": "DOUBLE", "cpoe": "DOUBLE", "cp_attempts": "BIGINT",
    "team_points": "BIGINT", "opp_points": "BIGINT", "win": "DOUBLE",
}
SEASON_COLUMNS: dict[str, str] = {
    "passer_id": "VARCHAR NOT NULL", "season": "BIGINT NOT NULL",
    "season_type": "VARCHAR NOT NULL", "model_version": "VARCHAR NOT NULL",
    "passer_name": "VARCHAR", "team": "VARCHAR", "games": "BIGINT", "team_games": "BIGINT",
    "dropbacks": "BIGINT", "scored_dropbacks": "BIGINT", "play_value": "DOUBLE",
    "play_value_shrunk": "DOUBLE", "play_value_sd": "DOUBLE", "league_mean": "DOUBLE",
    "score": "DOUBLE", "score_low": "DOUBLE", "score_high": "DOUBLE", "qualified": "BOOLEAN",
    "rank": "BIGINT",
    **{f"comp_{c}": "DOUBLE" for c in COMPONENTS}, **{f"val_{c}": "DOUBLE" for c in COMPONENTS},
    "epa_per_dropback": "DOUBLE", "cpoe": "DOUBLE", "cp_attempts": "BIGINT",
}
TABLE_KEYS = {"qb_game_scores": ("passer_id", "game_id", "model_version"),
              "qb_season_scores": ("passer_id", "season", "season_type", "model_version")}
WEIGHTS_COLUMNS = {"model_version": "VARCHAR NOT NULL", "train_seasons": "VARCHAR",
                   "params": "VARCHAR"}

_SUM_COLS = ["n", "db", "epa_n", "epa_s", "cp_n", "cp_s", "v", *(f"c_{c}" for c in COMPONENTS)]


@dataclass
class ScoreReport:
    """What one `score` run did."""

    model_version: str
    train_seasons: list[int]
    seasons: list[int]
    game_rows: int
    season_rows: int
    fitted: bool
    weights: dict[str, float]
    seconds: float
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- loading and play values


def resolve_model_version(con: duckdb.DuckDBPyConnection, model_version: str | None,
                          table: str = "play_predictions") -> str:
    """The model version to use: the given one (checked) or the only one the table holds."""
    require_table(con, table, HINT)
    versions = [r[0] for r in con.execute(
        f"SELECT DISTINCT model_version FROM {table} ORDER BY 1").fetchall()]
    if model_version is not None:
        if model_version not in versions:
            raise InputError(f"model version {model_version!r} is not in {table} "
                             f"(it holds: {', '.join(versions) or 'nothing'})")
        return model_version
    if not versions:
        raise WarehouseError(f"table {table!r} is empty: {HINT}")
    if len(versions) > 1:
        raise InputError(f"{table} holds several model versions ({', '.join(versions)}): "
                         "pass one with --model-version")
    return str(versions[0])


# Football splits a board can be restricted to: SQL over `dropbacks` (alias d) and the
# default qualified threshold (season dropbacks in the split; about 14 per team game scaled
# by the split's share of dropbacks). Air-yards splits hold throws only.
SPLITS: dict[str, tuple[str, int, str]] = {
    "deep": ("d.air_yards >= 20", 25, "throws 20+ air yards downfield"),
    "intermediate": ("d.air_yards BETWEEN 10 AND 19", 40, "throws 10-19 air yards"),
    "short": ("d.air_yards BETWEEN 0 AND 9", 120, "throws 0-9 air yards"),
    "behind_los": ("d.air_yards < 0", 25, "throws behind the line of scrimmage"),
    "under_pressure": ("coalesce(d.qb_hit, 0) = 1 OR d.out_sack = 1", 40,
                       "dropbacks with a QB hit or a sack"),
    "clean_pocket": ("NOT (coalesce(d.qb_hit, 0) = 1 OR d.out_sack = 1)", 150,
                     "dropbacks without a hit or sack"),
    "third_fourth_down": ("d.down IN (3, 4)", 60, "third and fourth down"),
    "red_zone": ("d.yardline_100 <= 20", 30, "snaps inside the opponent's 20"),
    "trailing": ("d.score_differential < 0", 100, "the offense trails"),
    "fourth_quarter": ("d.qtr >= 4", 50, "fourth quarter and overtime"),
}


def split_sql(split: str | None) -> str | None:
    """The SQL predicate of a split; a one-line error naming the valid ones."""
    if split is None:
        return None
    if split not in SPLITS:
        raise InputError(f"--split {split!r}: use one of {', '.join(SPLITS)}")
    return SPLITS[split][0]


def load_plays(con: duckdb.DuckDBPyConnection, model_version: str,
               seasons: Sequence[int] | None = None, split: str | None = None) -> pl.DataFrame:
    """Dropbacks of one model version with the columns scoring needs, in a fixed order."""
    require_table(con, "play_predictions", HINT)
    cols = ["game_id", "play_id", "passer_id", "passer", "posteam", "defteam", "season",
            "week", "season_type", "model_eligible", "epa", *SOURCE.values()]
    sql = (f"SELECT {', '.join(cols)} FROM play_predictions "
           "WHERE model_version = ? AND passer_id IS NOT NULL")
    params: list[object] = [model_version]
    if seasons is not None:
        sql += f" AND season IN ({', '.join('?' for _ in seasons)})"
        params += list(seasons)
    pred = split_sql(split)
    if pred is not None:
        require_table(con, "dropbacks", "run `passing-score features` first")
        sql += (" AND (game_id, play_id) IN (SELECT d.game_id, d.play_id FROM dropbacks d "
                f"WHERE {pred})")
    df = query_pl(con, sql, params)
    return _prepare(df)


def _prepare(df: pl.DataFrame) -> pl.DataFrame:
    """Cast, sort by (season, week, game, play) and add the per-play sum columns."""
    scored = pl.col("model_eligible").cast(pl.Boolean).fill_null(False)
    df = df.with_columns(
        pl.col("season").cast(pl.Int64), pl.col("week").cast(pl.Int64),
        pl.col("play_id").cast(pl.Int64), pl.col("passer").cast(pl.String),
        pl.col("epa").cast(pl.Float64),
        *[pl.col(s).cast(pl.Float64) for s in SOURCE.values()],
    ).sort(["season", "week", "game_id", "play_id", "passer_id"], maintain_order=True)
    return df.with_columns(
        scored.cast(pl.Float64).alias("n"),
        pl.lit(1.0).alias("db"),
        pl.col("epa").is_not_null().cast(pl.Float64).alias("epa_n"),
        pl.col("epa").fill_null(0.0).alias("epa_s"),
        (pl.col("cpoe").is_not_null() & scored).cast(pl.Float64).alias("cp_n"),
        pl.when(scored).then(pl.col("cpoe")).fill_null(0.0).alias("cp_s"),
        *[pl.when(scored).then(pl.col(SOURCE[c])).otherwise(0.0).fill_null(0.0)
          .alias(f"c_{c}") for c in COMPONENTS],
    )


def with_values(p: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Add the play value v = sum_k w_k * c_k (0 on unscored dropbacks)."""
    v = pl.lit(0.0)
    for c in COMPONENTS:
        v = v + pl.col(f"c_{c}") * float(weights[c])
    return p.with_columns(v.alias("v"))


# ---------------------------------------------------------------- deterministic group sums


def group_sums(df: pl.DataFrame, keys: list[str], cols: Sequence[str]) -> pl.DataFrame:
    """Sums of cols per key group, summed sequentially in row order (bit-for-bit repeatable)."""
    df = df.sort(keys, maintain_order=True)
    if df.height == 0:
        return df.select(keys).with_columns([pl.lit(0.0).alias(c) for c in cols]).head(0)
    change = np.zeros(df.height, dtype=bool)
    change[0] = True
    for k in keys:
        a = df[k].to_numpy()
        change[1:] |= a[1:] != a[:-1]
    starts = np.flatnonzero(change)
    out = df.select(keys)[starts]
    return out.with_columns([
        pl.Series(c, np.add.reduceat(df[c].to_numpy().astype(np.float64), starts))
        for c in cols])


def _mode(df: pl.DataFrame, keys: list[str], col: str, out: str) -> pl.DataFrame:
    """Most frequent non-null value of col per group (ties: alphabetical)."""
    counts = (df.filter(pl.col(col).is_not_null()).group_by([*keys, col]).len()
              .sort([*keys, "len", col], descending=[False] * len(keys) + [True, False]))
    return counts.unique(keys, keep="first", maintain_order=True).select(
        *keys, pl.col(col).alias(out))


# ---------------------------------------------------------------- league means, shrinkage


def league_by_week(p: pl.DataFrame) -> pl.DataFrame:
    """Cumulative league sums per (season, week): the season-to-date shrinkage targets."""
    cols = ["n", "v", *(f"c_{c}" for c in COMPONENTS)]
    wk = group_sums(p, ["season", "week"], cols).sort(["season", "week"])
    return wk.with_columns([pl.col(c).cum_sum().over("season").alias(f"cum_{c}") for c in cols])


def _league_at(league: pl.DataFrame, frame: pl.DataFrame, week_col: str) -> pl.DataFrame:
    """Join the league means through week `week_col` of the same season onto frame."""
    cols = ["v", *(f"c_{c}" for c in COMPONENTS)]
    lm = league.select(
        "season", pl.col("week").alias(week_col),
        *[(pl.col(f"cum_{c}") / pl.col("cum_n")).alias(f"m_{c}") for c in cols])
    out = frame.with_columns(pl.col(week_col).cast(pl.Int64)).join(
        lm, on=["season", week_col], how="left")
    return out.with_columns([pl.col(f"m_{c}").fill_null(0.0).fill_nan(0.0) for c in cols])


def summarise(p: pl.DataFrame, keys: list[str], week_end: pl.DataFrame | str,
              league: pl.DataFrame, k: float, sigma2: float) -> pl.DataFrame:
    """Aggregate plays per keys and shrink: mean, shrunk mean, posterior sd, contributions.

    week_end is a column of keys (game rows: the game's week) or a frame keyed on a subset
    of keys with a `week_end` column (season rows: the last week of the scope).
    """
    g = group_sums(p, keys, _SUM_COLS)
    if isinstance(week_end, str):
        g = g.with_columns(pl.col(week_end).alias("week_end"))
    else:
        g = g.join(week_end, on=[c for c in week_end.columns if c != "week_end"], how="left")
    g = _league_at(league, g, "week_end")
    n = pl.col("n")
    b = n / (n + k)
    exprs = [
        pl.when(n > 0).then(pl.col("v") / n).alias("play_value"),
        (pl.col("m_v") + b * (pl.when(n > 0).then(pl.col("v") / n).otherwise(pl.col("m_v"))
                              - pl.col("m_v"))).alias("play_value_shrunk"),
        (float(sigma2) / (n + k)).sqrt().alias("play_value_sd"),
        pl.col("m_v").alias("league_mean"),
        pl.when(pl.col("epa_n") > 0).then(pl.col("epa_s") / pl.col("epa_n"))
        .alias("epa_per_dropback"),
        pl.when(pl.col("cp_n") > 0).then(100.0 * pl.col("cp_s") / pl.col("cp_n")).alias("cpoe"),
        pl.col("db").cast(pl.Int64).alias("dropbacks"),
        n.cast(pl.Int64).alias("scored_dropbacks"),
        pl.col("cp_n").cast(pl.Int64).alias("cp_attempts"),
    ]
    for c in COMPONENTS:
        mean_c = pl.when(n > 0).then(pl.col(f"c_{c}") / n).otherwise(pl.col(f"m_c_{c}"))
        exprs.append((pl.col(f"m_c_{c}") + b * (mean_c - pl.col(f"m_c_{c}")))
                     .alias(f"shrunk_{c}"))
    return g.with_columns(exprs).sort(keys)


# ---------------------------------------------------------------- the 50-99 scale


def to_score(x: np.ndarray | float, mean: float, sd: float) -> np.ndarray:
    """The monotone map to 50-99: 50 + 49 * Phi((x - mean) / sd); bounded by construction."""
    z = (np.asarray(x, dtype=np.float64) - mean) / sd if sd > 0 else \
        np.zeros_like(np.asarray(x, dtype=np.float64))
    return SCALE_LOW + SCALE_SPAN * norm.cdf(z)


def _score_expr(col: str | pl.Expr, mean: float, sd: float) -> pl.Expr:
    """to_score as a polars expression (nulls stay null)."""
    e = pl.col(col) if isinstance(col, str) else col
    return e.map_batches(lambda s: pl.Series(to_score(s.to_numpy(allow_copy=True)
                                                      .astype(np.float64), mean, sd)),
                         return_dtype=pl.Float64)


def apply_scale(df: pl.DataFrame, params: dict[str, Any], level: str) -> pl.DataFrame:
    """Scores, interval and component scores/contributions of summarised rows."""
    sc = params["scale"][level]
    w = params["weights"]
    x = pl.col("play_value_shrunk")
    half = Z_INTERVAL * pl.col("play_value_sd")
    out = df.with_columns(
        _score_expr(x, sc["mean"], sc["sd"]).alias("score"),
        _score_expr(x - half, sc["mean"], sc["sd"]).alias("score_low"),
        _score_expr(x + half, sc["mean"], sc["sd"]).alias("score_high"),
        *[_score_expr(f"shrunk_{c}", *sc["components"][c]).alias(f"comp_{c}")
          for c in COMPONENTS],
        *[(pl.col(f"shrunk_{c}") * float(w[c])).alias(f"val_{c}") for c in COMPONENTS],
    )
    return out


# ---------------------------------------------------------------- fitting


def _weighted_sd(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = (w[:, None] * x).sum(0) / w.sum() if x.ndim == 2 else (w * x).sum() / w.sum()
    d = x - m
    v = (w[:, None] * d * d).sum(0) / w.sum() if x.ndim == 2 else (w * d * d).sum() / w.sum()
    return m, np.sqrt(v)


def _nn_ridge(z: np.ndarray, t: np.ndarray, w: np.ndarray, lam: float,
              nonneg: np.ndarray) -> np.ndarray:
    """Ridge on standardized columns with sign constraints (NNLS on the augmented system)."""
    k = z.shape[1]
    free = ~nonneg
    cols = np.hstack([z, -z[:, free]])
    sw = np.sqrt(w / w.sum())
    a = np.vstack([cols * sw[:, None], np.sqrt(lam) * np.eye(cols.shape[1])])
    rhs = np.concatenate([t * sw, np.zeros(cols.shape[1])])
    sol, _ = nnls(a, rhs, maxiter=50 * cols.shape[1])
    b = sol[:k].copy()
    b[free] -= sol[k:]
    return b


def fit_ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, groups: np.ndarray,
              nonneg: np.ndarray) -> dict[str, Any]:
    """Sign-constrained ridge of y on x (weights w); lambda by leave-one-group-out CV."""
    mx, sx = _weighted_sd(x, w)
    my, sy = _weighted_sd(y, w)
    sx = np.where(sx > 0, sx, 1.0)
    sy = float(sy) if sy > 0 else 1.0
    z = (x - mx) / sx
    t = (y - my) / sy
    uniq = np.unique(groups)
    cv: dict[str, float] = {}
    lam = DEFAULT_RIDGE
    if len(uniq) >= 3:
        for cand in RIDGE_GRID:
            pred = np.empty_like(t)
            for g in uniq:
                m = groups == g
                pred[m] = z[m] @ _nn_ridge(z[~m], t[~m], w[~m], cand, nonneg)
            cv[str(cand)] = float((w * (t - pred) ** 2).sum() / w.sum())
        lam = min(RIDGE_GRID, key=lambda c: (round(cv[str(c)], 12), -c))
    b = _nn_ridge(z, t, w, lam, nonneg)
    return {"coef_std": b, "coef": b * sy / sx, "lambda": lam, "cv_mse": cv,
            "x_sd": sx, "y_sd": sy,
            "r2": float(1 - (w * (t - z @ b) ** 2).sum() / (w * t * t).sum())}


def fit_params(p: pl.DataFrame, train_seasons: Sequence[int], model_version: str
               ) -> dict[str, Any]:
    """Fit weights, shrinkage constants and the 50-99 scale on the training seasons' REG plays.

    Weights: sign-constrained ridge predicting a QB's EPA/dropback in the other half of the
    season (odd vs even weeks) from his component means in this half (docs/scoring.md).
    """
    train = sorted({int(s) for s in train_seasons})
    tr = p.filter(pl.col("season").is_in(train) & (pl.col("season_type") == "REG"))
    if tr.height == 0:
        raise InputError(f"no REG dropbacks of model {model_version} in training seasons "
                         f"{train}")
    cols = ["n", "epa_n", "epa_s", *(f"c_{c}" for c in COMPONENTS)]
    halves = group_sums(tr.with_columns((pl.col("week") % 2).alias("half")),
                        ["season", "passer_id", "half"], cols)
    halves = halves.filter((pl.col("n") >= HALF_MIN) & (pl.col("epa_n") > 0)).with_columns(
        *[(pl.col(f"c_{c}") / pl.col("n")).alias(f"x_{c}") for c in COMPONENTS],
        (pl.col("epa_s") / pl.col("epa_n")).alias("y"))
    a = halves.filter(pl.col("half") == 1)
    b = halves.filter(pl.col("half") == 0)
    pairs = a.join(b, on=["season", "passer_id"], suffix="_o")
    pairs = pl.concat([
        pairs.select(*[pl.col(f"x_{c}") for c in COMPONENTS], pl.col("y_o").alias("y"),
                     "season", "passer_id", pl.col("n"), pl.col("n_o")),
        pairs.select(*[pl.col(f"x_{c}_o").alias(f"x_{c}") for c in COMPONENTS], "y",
                     "season", "passer_id", pl.col("n_o").alias("n"), pl.col("n").alias("n_o")),
    ]).sort(["season", "passer_id", "n"])
    if pairs.height < 2 * len(COMPONENTS):
        raise InputError(f"too few QB half-seasons (>= {HALF_MIN} dropbacks in both halves) in "
                         f"training seasons {train} to fit the score weights: {pairs.height}")
    x = pairs.select([f"x_{c}" for c in COMPONENTS]).to_numpy().astype(np.float64)
    y = pairs["y"].to_numpy().astype(np.float64)
    w = 1.0 / (1.0 / pairs["n"].to_numpy() + 1.0 / pairs["n_o"].to_numpy())
    nonneg = np.array([c in NONNEG for c in COMPONENTS])
    fit = fit_ridge(x, y, w, pairs["season"].to_numpy(), nonneg)
    weights = {c: float(fit["coef"][i]) for i, c in enumerate(COMPONENTS)}
    if not any(weights.values()):
        raise InputError("the score weights fitted to zero: the components do not predict "
                         "EPA per dropback in the training seasons")

    tv = with_values(tr, weights)
    sig_s, tau_s, k_s = _variance_split(tv, ["season", "passer_id"], TAU_MIN_SEASON)
    sig_g, tau_g, k_g = _variance_split(tv, ["season", "passer_id", "game_id"],
                                        GAME_MIN_DROPBACKS)
    params: dict[str, Any] = {
        "format": PARAMS_FORMAT, "model_version": model_version, "train_seasons": train,
        "components": list(COMPONENTS), "weights": weights,
        "weights_std": {c: float(fit["coef_std"][i]) for i, c in enumerate(COMPONENTS)},
        "component_sd": {c: float(fit["x_sd"][i]) for i, c in enumerate(COMPONENTS)},
        "fit": {"target": "EPA per dropback in the other half-season (odd vs even weeks)",
                "pairs": pairs.height, "ridge_lambda": fit["lambda"], "cv_mse": fit["cv_mse"],
                "r2": fit["r2"], "epa_sd": fit["y_sd"]},
        "sigma2_season": sig_s, "tau2_season": tau_s, "k_season": k_s,
        "sigma2_game": sig_g, "tau2_game": tau_g, "k_game": k_g,
        "interval": INTERVAL,
        "qualify": {"game_dropbacks": GAME_MIN_DROPBACKS,
                    "season_dropbacks_per_team_game": SEASON_DROPBACKS_PER_GAME},
        "scale": {},
    }
    # the 50-99 scale: distribution of the shrunk values of qualified training rows
    league = league_by_week(with_values(p.filter(pl.col("season").is_in(train)), weights))
    seasons = season_rows(tv, league, params, scopes=("REG",))
    games = game_rows(tv, league, params)
    params["scale"] = {"season": _scale_of(seasons.filter(pl.col("qualified"))),
                       "game": _scale_of(games.filter(pl.col("qualified")))}
    return params


def _variance_split(tv: pl.DataFrame, keys: list[str], min_n: int) -> tuple[float, float, float]:
    """(within-play variance, between-group variance of true means, k = within / between)."""
    g = group_sums(tv.with_columns((pl.col("v") * pl.col("v")).alias("v2")), keys,
                   ["n", "v", "v2"]).filter(pl.col("n") > 0)
    n = g["n"].to_numpy()
    s = g["v"].to_numpy()
    ss = g["v2"].to_numpy() - s * s / n
    dof = n.sum() - len(n)
    sigma2 = float(ss.sum() / dof) if dof > 0 else 1.0
    big = n >= min_n
    if big.sum() < 2:
        big = n > 0
    # league mean per season of the groups used, the shrinkage target
    seas = g["season"].to_numpy()
    dev2 = np.empty(len(n))
    for sv in np.unique(seas):
        m = seas == sv
        mu = s[m].sum() / n[m].sum()
        dev2[m] = (s[m] / n[m] - mu) ** 2
    tau2 = float(dev2[big].mean() - sigma2 * (1.0 / n[big]).mean())
    tau2 = max(tau2, 1e-4 * sigma2)
    return sigma2, tau2, sigma2 / tau2


def _scale_of(rows: pl.DataFrame) -> dict[str, Any]:
    """Mean and sd of shrunk values (and each shrunk component) over qualified rows."""
    if rows.height < 2:
        raise InputError("too few qualified rows in the training seasons to fit the 50-99 scale")

    def ms(col: str) -> list[float]:
        a = rows[col].to_numpy().astype(np.float64)
        return [float(a.mean()), float(a.std())]

    mean, sd = ms("play_value_shrunk")
    return {"mean": mean, "sd": sd, "rows": rows.height,
            "components": {c: ms(f"shrunk_{c}") for c in COMPONENTS}}


# ---------------------------------------------------------------- rows


def _rank(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Rank (1 = best score) among qualified rows within groups; ties by passer_id."""
    q = (df.filter(pl.col("qualified")).sort([*by, "score", "passer_id"],
                                             descending=[False] * len(by) + [True, False])
         .with_columns(pl.int_range(1, pl.len() + 1).over(by).cast(pl.Int64).alias("rank"))
         .select(*by, "passer_id", "rank"))
    return df.join(q, on=[*by, "passer_id"], how="left")


def game_rows(tv: pl.DataFrame, league: pl.DataFrame, params: dict[str, Any],
              results: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per QB x game: play value, shrunk value, score, interval, components."""
    keys = ["season", "season_type", "week", "game_id", "passer_id"]
    g = summarise(tv, keys, "week", league, params["k_game"], params["sigma2_game"])
    g = g.with_columns((pl.col("dropbacks") >= GAME_MIN_DROPBACKS).alias("qualified"))
    if params.get("scale"):
        g = apply_scale(g, params, "game")
        g = _rank(g, ["season", "season_type", "week"])
    g = (g.join(_mode(tv, keys, "passer", "passer_name"), on=keys, how="left")
         .join(_mode(tv, keys, "posteam", "team"), on=keys, how="left")
         .join(_mode(tv, keys, "defteam", "opponent"), on=keys, how="left"))
    if results is not None and results.height:
        g = g.join(results, on=["game_id", "team"], how="left")
    else:
        g = g.with_columns(pl.lit(None, pl.Int64).alias("team_points"),
                           pl.lit(None, pl.Int64).alias("opp_points"),
                           pl.lit(None, pl.Float64).alias("win"))
    return g.sort(keys)


def _scoped(tv: pl.DataFrame, scopes: Sequence[str]) -> pl.DataFrame:
    """Plays relabelled by season scope: REG, POST, ALL (= both)."""
    parts = []
    for s in scopes:
        sub = tv if s == "ALL" else tv.filter(pl.col("season_type") == s)
        parts.append(sub.with_columns(pl.lit(s).alias("season_type")))
    return pl.concat(parts) if parts else tv.head(0)


def season_rows(tv: pl.DataFrame, league: pl.DataFrame, params: dict[str, Any],
                scopes: Sequence[str] = SEASON_TYPES) -> pl.DataFrame:
    """One row per QB x season x scope (REG, POST, ALL), season to date of the plays given."""
    sc = _scoped(tv, scopes)
    keys = ["season", "season_type", "passer_id"]
    week_end = sc.group_by(["season", "season_type"]).agg(pl.col("week").max()
                                                          .alias("week_end"))
    s = summarise(sc, keys, week_end, league, params["k_season"], params["sigma2_season"])
    team = _mode(sc, keys, "posteam", "team")
    team_games = (sc.select("season", "season_type", pl.col("posteam").alias("team"), "game_id")
                  .unique().group_by(["season", "season_type", "team"]).len()
                  .rename({"len": "team_games"}))
    games = (sc.select(*keys, "game_id").unique().group_by(keys).len()
             .rename({"len": "games"}))
    s = (s.join(_mode(sc, keys, "passer", "passer_name"), on=keys, how="left")
         .join(team, on=keys, how="left")
         .join(team_games, on=["season", "season_type", "team"], how="left")
         .join(games, on=keys, how="left")
         .with_columns(pl.col("team_games").cast(pl.Int64), pl.col("games").cast(pl.Int64)))
    s = s.with_columns((pl.col("dropbacks") >= SEASON_DROPBACKS_PER_GAME
                        * pl.col("team_games").fill_null(0)).alias("qualified"))
    if params.get("scale"):
        s = apply_scale(s, params, "season")
        s = _rank(s, ["season", "season_type"])
    return s.sort(keys)


def game_results(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Final points and win (1 / 0.5 / 0) of each team in each game, from `plays`."""
    empty = pl.DataFrame(schema={"game_id": pl.String, "team": pl.String,
                                 "team_points": pl.Int64, "opp_points": pl.Int64,
                                 "win": pl.Float64})
    if not table_exists(con, "plays"):
        return empty
    have = table_columns(con, "plays")
    if not {"home_team", "away_team", "home_score", "away_score"} <= set(have):
        return empty
    g = query_pl(con, "SELECT game_id, any_value(home_team) AS home, any_value(away_team) AS away,"
                      " max(home_score) AS hs, max(away_score) AS as_ FROM plays "
                      "GROUP BY game_id")
    g = g.with_columns(pl.col("hs").cast(pl.Int64), pl.col("as_").cast(pl.Int64))
    home = g.select("game_id", pl.col("home").alias("team"), pl.col("hs").alias("team_points"),
                    pl.col("as_").alias("opp_points"))
    away = g.select("game_id", pl.col("away").alias("team"), pl.col("as_").alias("team_points"),
                    pl.col("hs").alias("opp_points"))
    out = pl.concat([home, away]).with_columns(
        pl.when(pl.col("team_points") > pl.col("opp_points")).then(1.0)
        .when(pl.col("team_points") < pl.col("opp_points")).then(0.0)
        .when(pl.col("team_points").is_not_null()).then(0.5).otherwise(None).alias("win"))
    return out.filter(pl.col("team").is_not_null()).unique(["game_id", "team"], keep="first")


# ---------------------------------------------------------------- storage


def _ensure_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str],
                  key: Sequence[str], notes: list[str]) -> None:
    """Create a score table; one with other columns (older code) is rebuilt from scratch."""
    if table_exists(con, name):
        if list(table_columns(con, name)) == list(columns):
            return
        con.execute(f"DROP TABLE {name}")
        notes.append(f"{name} had an older layout and was rebuilt (all model versions)")
    cols = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    con.execute(f"CREATE TABLE {name} ({cols}, PRIMARY KEY ({', '.join(key)}))")


def load_params(con: duckdb.DuckDBPyConnection, model_version: str) -> dict[str, Any] | None:
    """The stored weights, shrinkage and scale of a model version (None when never fitted)."""
    if not table_exists(con, "score_weights"):
        return None
    row = fetch_one(con, "SELECT params FROM score_weights WHERE model_version = ?",
                    [model_version])
    if row is None:
        return None
    params = json.loads(row[0])
    return params if params.get("format") == PARAMS_FORMAT else None


def default_train_seasons(seasons: Sequence[int]) -> list[int]:
    """All seasons but the newest (all of them when there is only one)."""
    s = sorted(set(seasons))
    return s[:-1] if len(s) > 1 else s


def score(con: duckdb.DuckDBPyConnection, model_version: str | None = None,
          progress: Progress | None = None, *, train_seasons: Sequence[int] | None = None,
          season: int | None = None, week: int | None = None,
          refit: bool = False) -> ScoreReport:
    """Fill qb_game_scores / qb_season_scores (and score_weights) for one model version.

    Weights and scale are fitted once per model version and reused (frozen) afterwards unless
    `refit` or other `train_seasons` are asked for; a refit rescores every season. `season`
    (and `week`) limit the rewrite to that season's season rows (and that week's game rows).
    """
    t0 = time.perf_counter()
    steps = 4

    def tick(i: int) -> None:
        if progress is not None:
            progress(i, steps)

    mv = resolve_model_version(con, model_version)
    if week is not None and season is None:
        raise InputError("--week needs --season")
    all_seasons = [int(r[0]) for r in con.execute(
        "SELECT DISTINCT season FROM play_predictions WHERE model_version = ? ORDER BY 1",
        [mv]).fetchall()]
    if season is not None and season not in all_seasons:
        raise InputError(f"season {season} has no play_predictions for model {mv} "
                         f"(seasons: {_span(all_seasons)})")
    params = load_params(con, mv)
    want_train = sorted({int(s) for s in train_seasons}) if train_seasons is not None else None
    if want_train is not None:
        missing = sorted(set(want_train) - set(all_seasons))
        if missing:
            raise InputError(f"training seasons {missing} have no play_predictions for {mv}")
    fitted = params is None or refit or (want_train is not None
                                         and want_train != params["train_seasons"])
    train = want_train or (params["train_seasons"] if params and not refit
                           else default_train_seasons(all_seasons))
    notes: list[str] = []
    if fitted and season is not None:
        notes.append("weights were (re)fitted, so every season was rescored")
        season, week = None, None
    tick(1)
    needed = None if fitted or season is None else [season]
    p = load_plays(con, mv, needed)
    if fitted:
        params = fit_params(p, train, mv)
    assert params is not None
    tick(2)
    tv = with_values(p, params["weights"])
    league = league_by_week(tv)
    games = game_rows(tv if week is None else tv.filter(pl.col("week") == week), league,
                      params, game_results(con))
    seasons = season_rows(tv, league, params)
    tick(3)
    games = games.with_columns(pl.lit(mv).alias("model_version")).select(list(GAME_COLUMNS))
    seasons = seasons.with_columns(pl.lit(mv).alias("model_version")).select(
        list(SEASON_COLUMNS))
    with transaction(con):
        _ensure_table(con, "qb_game_scores", GAME_COLUMNS, TABLE_KEYS["qb_game_scores"], notes)
        _ensure_table(con, "qb_season_scores", SEASON_COLUMNS, TABLE_KEYS["qb_season_scores"],
                      notes)
        _ensure_table(con, "score_weights", WEIGHTS_COLUMNS, ("model_version",), notes)
        where, args = "model_version = ?", [mv]
        if season is not None:
            where += " AND season = ?"
            args.append(season)
        gwhere, gargs = where, list(args)
        if week is not None:
            gwhere += " AND week = ?"
            gargs.append(week)
        con.execute(f"DELETE FROM qb_game_scores WHERE {gwhere}", gargs)
        con.execute(f"DELETE FROM qb_season_scores WHERE {where}", args)
        con.register("_qb_games", games)
        con.register("_qb_seasons", seasons)
        con.execute("INSERT INTO qb_game_scores BY NAME SELECT * FROM _qb_games")
        con.execute("INSERT INTO qb_season_scores BY NAME SELECT * FROM _qb_seasons")
        con.unregister("_qb_games")
        con.unregister("_qb_seasons")
        if fitted:
            con.execute("DELETE FROM score_weights WHERE model_version = ?", [mv])
            con.execute("INSERT INTO score_weights VALUES (?, ?, ?)",
                        [mv, json.dumps(params["train_seasons"]),
                         json.dumps(params, sort_keys=True)])
    tick(4)
    done = sorted(set(p["season"].to_list())) if season is None else [season]
    return ScoreReport(model_version=mv, train_seasons=list(params["train_seasons"]),
                       seasons=done, game_rows=games.height, season_rows=seasons.height,
                       fitted=fitted, weights=dict(params["weights"]),
                       seconds=time.perf_counter() - t0, notes=notes)


def _span(seasons: Sequence[int]) -> str:
    return f"{min(seasons)}-{max(seasons)}" if seasons else "none"


# ---------------------------------------------------------------- leaderboard

BOARD_COLUMNS = ["rank", "passer_id", "passer_name", "team", "games", "dropbacks", "score",
                 "score_low", "score_high", "qualified", *(f"comp_{c}" for c in COMPONENTS),
                 *(f"val_{c}" for c in COMPONENTS), "play_value_shrunk", "epa_per_dropback",
                 "cpoe", "score_change", "season", "week", "season_type", "model_version"]


def leaderboard(con: duckdb.DuckDBPyConnection, season: int, week: int | None = None,
                season_type: str = "REG", min_dropbacks: int | None = None,
                model_version: str | None = None, split: str | None = None) -> pl.DataFrame:
    """Season-to-date board (games with week <= W): ranked qualified QBs, with score_change.

    Computed from play_predictions with the stored weights, shrinkage and scale, so the board
    of the season's last week equals qb_season_scores. A `split` scores only that split's
    plays on the same scale (shrunk toward the split's league mean), qualified by the split's
    own dropback threshold unless `min_dropbacks` is given.
    """
    if split is not None and min_dropbacks is None:
        split_sql(split)
        min_dropbacks = SPLITS[split][1]
    season_type = season_type.upper()
    if season_type not in SEASON_TYPES:
        raise InputError(f"season type {season_type!r} is not one of {', '.join(SEASON_TYPES)}")
    if week is not None and week < 1:
        raise InputError(f"week {week} is not a week number (1-22)")
    if min_dropbacks is not None and min_dropbacks < 0:
        raise InputError(f"--min-dropbacks {min_dropbacks} is negative")
    mv = _board_version(con, model_version)
    params = load_params(con, mv)
    if params is None:
        raise WarehouseError(f"model version {mv} has no fitted score weights: "
                             "run `passing-score score` first")
    p = load_plays(con, mv, [season], split)
    if p.height == 0:
        seasons = [int(r[0]) for r in con.execute(
            "SELECT DISTINCT season FROM play_predictions WHERE model_version = ? ORDER BY 1",
            [mv]).fetchall()]
        raise InputError(f"season {season} has no play_predictions for model {mv} "
                         f"(seasons: {_span(seasons)})")
    tv = with_values(p, params["weights"])
    if split is not None:
        params = _recentred(params, with_values(load_plays(con, mv, [season]),
                                                params["weights"]), tv)
    scope = tv if season_type == "ALL" else tv.filter(pl.col("season_type") == season_type)
    weeks = sorted(set(scope["week"].to_list()))
    if not weeks:
        raise InputError(f"season {season} has no {season_type} games")
    last = weeks[-1] if week is None else max([w for w in weeks if w <= week], default=None)
    if last is None:
        raise InputError(f"season {season} has no {season_type} games by week {week} "
                         f"(first week: {weeks[0]})")
    league = league_by_week(tv)
    board = _board(tv, league, params, season_type, last, min_dropbacks)
    prev = [w for w in weeks if w < last]
    if prev:
        before = _board(tv, league, params, season_type, prev[-1], min_dropbacks)
        board = board.join(before.select("passer_id", pl.col("score").alias("_prev")),
                           on="passer_id", how="left").with_columns(
            (pl.col("score") - pl.col("_prev")).alias("score_change")).drop("_prev")
    else:
        board = board.with_columns(pl.lit(None, pl.Float64).alias("score_change"))
    board = board.filter(pl.col("qualified")).sort(["rank"])
    return board.with_columns(pl.lit(last).cast(pl.Int64).alias("week"),
                              pl.lit(mv).alias("model_version")).select(BOARD_COLUMNS)


def _recentred(params: dict[str, Any], full: pl.DataFrame, part: pl.DataFrame
               ) -> dict[str, Any]:
    """Scale of a split: shifted so the split's league average scores like the season's league
    average (a deep-throw value is compared with other deep throws, not with all dropbacks);
    the spread stays the season's, so split and season scores read on the same scale."""
    out = json.loads(json.dumps(params))
    sc = out["scale"]["season"]
    sc["mean"] += float(part["v"].mean() or 0.0) - float(full["v"].mean() or 0.0)
    for c in COMPONENTS:
        m, sd = sc["components"][c]
        shift = float(part[f"c_{c}"].mean() or 0.0) - float(full[f"c_{c}"].mean() or 0.0)
        sc["components"][c] = [m + shift, sd]
    return out


def _board_version(con: duckdb.DuckDBPyConnection, model_version: str | None) -> str:
    """The board's model version: the given one, else the only one with fitted weights."""
    if model_version is None and table_exists(con, "score_weights"):
        versions = [r[0] for r in con.execute(
            "SELECT model_version FROM score_weights ORDER BY 1").fetchall()]
        if len(versions) == 1:
            return str(versions[0])
    return resolve_model_version(con, model_version)


def _board(tv: pl.DataFrame, league: pl.DataFrame, params: dict[str, Any], season_type: str,
           week: int, min_dropbacks: int | None) -> pl.DataFrame:
    """Season rows of one scope through `week`; qualified/rank by min_dropbacks if given."""
    rows = season_rows(tv.filter(pl.col("week") <= week), league, params, scopes=(season_type,))
    if min_dropbacks is not None:
        rows = _rank(rows.drop("rank").with_columns(
            (pl.col("dropbacks") >= min_dropbacks).alias("qualified")),
            ["season", "season_type"])
    return rows


def params_markdown(params: dict[str, Any]) -> str:
    """The fitted weights, shrinkage constants and scale as a markdown table (docs/scoring.md)."""
    lines = ["| component | weight (EPA/db per unit) | standardized weight |", "|---|---|---|"]
    lines += [f"| {c} | {params['weights'][c]:.4f} | {params['weights_std'][c]:.4f} |"
              for c in COMPONENTS]
    fit, sc = params["fit"], params["scale"]
    lines += ["", "| constant | value |", "|---|---|",
              f"| ridge lambda (LOSO CV) | {fit['ridge_lambda']} |",
              f"| QB-half pairs, R^2 of the other-half fit | {fit['pairs']}, {fit['r2']:.3f} |",
              f"| sigma^2 within QB-season / QB-game | {params['sigma2_season']:.4f} / "
              f"{params['sigma2_game']:.4f} |",
              f"| tau^2 between QB-seasons / QB-games | {params['tau2_season']:.5f} / "
              f"{params['tau2_game']:.5f} |",
              f"| k season / game (dropbacks) | {params['k_season']:.0f} / "
              f"{params['k_game']:.0f} |",
              f"| scale season: mu, s ({sc['season']['rows']} qualified QB-seasons) | "
              f"{sc['season']['mean']:.4f}, {sc['season']['sd']:.4f} |",
              f"| scale game: mu, s ({sc['game']['rows']} qualified games) | "
              f"{sc['game']['mean']:.4f}, {sc['game']['sd']:.4f} |"]
    return "\n".join(lines) + "\n"
