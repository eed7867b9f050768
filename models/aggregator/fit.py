"""Fitting the aggregator on training seasons: component weights (sign-constrained ridge of
a QB's other-half-season EPA/dropback on his half-season component means), empirical-Bayes
shrinkage constants for seasons and games, and the 50-99 scales (docs/scoring.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from passing_score.models.aggregator.apply import game_rows, season_rows
from passing_score.models.aggregator.params import (
    GAME_MIN_DROPBACKS,
    Aggregator,
    Scale,
    WeightFit,
)
from passing_score.models.aggregator.sums import (
    NONNEG,
    group_sums,
    league_by_week,
    with_values,
)
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.vocabulary import COMPONENTS

HALF_MIN = 50  # fit: scored dropbacks in each half-season of a QB-season
TAU_MIN_SEASON = 100  # QB-seasons behind the between-QB variance
RIDGE_GRID: tuple[float, ...] = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_RIDGE = 0.1  # when fewer than 3 training seasons allow no leave-one-season-out choice


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
    from scipy.optimize import nnls  # only when fitting: a heavy import

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
    y_sd = float(sy) if sy > 0 else 1.0
    z = (x - mx) / sx
    t = (y - my) / y_sd
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
    return {"coef_std": b, "coef": b * y_sd / sx, "lambda": lam, "cv_mse": cv,
            "x_sd": sx, "y_sd": y_sd,
            "r2": float(1 - (w * (t - z @ b) ** 2).sum() / (w * t * t).sum())}


def fit(p: pl.DataFrame, train_seasons: Sequence[int], model_version: str) -> Aggregator:
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
    agg = Aggregator(
        model_version=model_version, train_seasons=tuple(train), weights=weights,
        weights_std={c: float(fit["coef_std"][i]) for i, c in enumerate(COMPONENTS)},
        component_sd={c: float(fit["x_sd"][i]) for i, c in enumerate(COMPONENTS)},
        fit=WeightFit(target="EPA per dropback in the other half-season (odd vs even weeks)",
                      pairs=pairs.height, ridge_lambda=fit["lambda"], cv_mse=fit["cv_mse"],
                      r2=fit["r2"], epa_sd=fit["y_sd"]),
        sigma2_season=sig_s, tau2_season=tau_s, k_season=k_s,
        sigma2_game=sig_g, tau2_game=tau_g, k_game=k_g)
    # the 50-99 scale: distribution of the shrunk values of qualified training rows
    league = league_by_week(with_values(p.filter(pl.col("season").is_in(train)), weights))
    seasons = season_rows(tv, league, agg, scopes=("REG",))
    games = game_rows(tv, league, agg)
    return agg.with_scales(season=_scale_of(seasons.filter(pl.col("qualified"))),
                           game=_scale_of(games.filter(pl.col("qualified"))))


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


def _scale_of(rows: pl.DataFrame) -> Scale:
    """Mean and sd of shrunk values (and each shrunk component) over qualified rows."""
    if rows.height < 2:
        raise InputError("too few qualified rows in the training seasons to fit the 50-99 scale")

    def ms(col: str) -> tuple[float, float]:
        a = rows[col].to_numpy().astype(np.float64)
        return float(a.mean()), float(a.std())

    mean, sd = ms("play_value_shrunk")
    return Scale(mean=mean, sd=sd, rows=rows.height,
                 components={c: ms(f"shrunk_{c}") for c in COMPONENTS})


def params_markdown(agg: Aggregator) -> str:
    """The fitted weights, shrinkage constants and scale as a markdown table (docs/scoring.md)."""
    lines = ["| component | weight (EPA/db per unit) | standardized weight |", "|---|---|---|"]
    lines += [f"| {c} | {agg.weights[c]:.4f} | {agg.weights_std[c]:.4f} |" for c in COMPONENTS]
    fit, season, game = agg.fit, agg.scales["season"], agg.scales["game"]
    lines += ["", "| constant | value |", "|---|---|",
              f"| ridge lambda (LOSO CV) | {fit.ridge_lambda} |",
              f"| QB-half pairs, R^2 of the other-half fit | {fit.pairs}, {fit.r2:.3f} |",
              f"| sigma^2 within QB-season / QB-game | {agg.sigma2_season:.4f} / "
              f"{agg.sigma2_game:.4f} |",
              f"| tau^2 between QB-seasons / QB-games | {agg.tau2_season:.5f} / "
              f"{agg.tau2_game:.5f} |",
              f"| k season / game (dropbacks) | {agg.k_season:.0f} / {agg.k_game:.0f} |",
              f"| scale season: mu, s ({season.rows} qualified QB-seasons) | "
              f"{season.mean:.4f}, {season.sd:.4f} |",
              f"| scale game: mu, s ({game.rows} qualified games) | "
              f"{game.mean:.4f}, {game.sd:.4f} |"]
    return "\n".join(lines) + "\n"
