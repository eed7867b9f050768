"""Fitting the aggregator on the REG games of training seasons (docs/scoring.md):

* the play noise (within-QB-game covariance Sigma) and, with `clustered`, the game-to-game
  covariance D of a QB's true game means around his season level;
* the season prior (mu, T) over the board population (QB-seasons with >= BOARD_MIN scored
  dropbacks) and the game prior over qualified games, both by the method of moments on
  league-relative means, with a fill-in offset for fill-in games and bootstrap refits;
* the weights: sign-constrained ridge of the target (other-half EPA/db, next-season EPA/db or
  both) on the posterior means, lambda by leave-one-season-out CV;
* the one 50-99 scale: centre and spread of the board population's true values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from passing_score.models.aggregator.candidates import PRODUCTION
from passing_score.models.aggregator.params import (
    BOARD_MIN,
    GAME_MIN_DROPBACKS,
    HALF_MIN,
    NEXT_MIN,
    Aggregator,
    Config,
    FitSummary,
    Prior,
    Scale,
    arr,
    mat,
    vec,
)
from passing_score.models.aggregator.posterior import (
    noise_cov,
    posterior,
    prior_means,
    role_indicator,
)
from passing_score.models.aggregator.ridge import fit_ridge
from passing_score.models.aggregator.roles import fill_in_offset, game_share, season_share
from passing_score.models.aggregator.sums import (
    FREE_SIGN,
    Stats,
    league_means,
    sum_by,
    summarise,
)
from passing_score.pipeline.foundation.errors import InputError

BOOT_SEED = 20250115
LEAGUE_PRIOR_MIN = 100  # scored dropbacks of a QB-season behind the "league" prior
ROLE_FIT_MIN = 50  # scored dropbacks of a QB-season behind the season fill-in offset
TARGET_TEXT = {"other_half": "EPA per dropback in the other half-season (odd vs even weeks)",
               "next_season": "EPA per dropback in the next season",
               "both": "EPA per dropback in the other half-season and in the next season"}


def arrays(g: pl.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, S (R, K), Q (R, K, K)) of summed rows."""
    n = g["n"].to_numpy().astype(np.float64)
    s = (np.column_stack([g[f"s{i}"].to_numpy() for i in range(k)]).astype(np.float64)
         if g.height else np.zeros((0, k)))
    q = np.zeros((g.height, k, k))
    for i in range(k):
        for j in range(i, k):
            q[:, i, j] = q[:, j, i] = g[f"q{i}_{j}"].to_numpy()
    return n, s, q


def relative(g: pl.DataFrame, league: pl.DataFrame, k: int, week_col: str) -> np.ndarray:
    """League-relative component means of summed rows (league joined on season and the row's
    `week_col`)."""
    j = g.join(league.rename({"week": week_col}), on=["season", week_col], how="left",
               maintain_order="left")
    n = j["n"].to_numpy().astype(np.float64)
    s = np.column_stack([j[f"s{i}"].to_numpy() for i in range(k)]).astype(np.float64)
    lm = np.column_stack([j[f"L{i}"].fill_null(0.0).to_numpy() for i in range(k)])
    return s / np.maximum(n, 1e-9)[:, None] - lm


def _within(n: np.ndarray, s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Pooled within-group covariance of plays."""
    ok = n > 0
    n, s, q = n[ok], s[ok], q[ok]
    ss = q - s[:, :, None] * s[:, None, :] / n[:, None, None]
    return ss.sum(0) / max(float(n.sum()) - len(n), 1.0)


def _psd(t: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Symmetric, eigenvalues floored at 1e-4 of the within variances' scale."""
    t = (t + t.T) / 2
    val, vecs = np.linalg.eigh(t)
    floor = 1e-4 * float(np.mean(np.diag(sigma)))
    return (vecs * np.maximum(val, floor)) @ vecs.T


def _between(xbar: np.ndarray, noise: np.ndarray, sigma: np.ndarray,
             center: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance of true means) by the method of moments; noise (R, K, K) = sampling
    covariance of each row's mean; `center` fixes the mean (the league prior)."""
    mu = xbar.mean(0) if center is None else center
    d = xbar - mu
    raw = (d[:, :, None] * d[:, None, :]).mean(0)
    if center is None:
        raw = raw * len(d) / max(len(d) - 1, 1)
    return mu, _psd(raw - noise.mean(0), sigma)


def _game_to_game(reg: pl.DataFrame, n_g: np.ndarray, s_g: np.ndarray, sigma: np.ndarray
                  ) -> np.ndarray:
    """Covariance D of true game means around the QB-season's level (form, opponent) by the
    method of moments: E[sum_j n_j (xbar_j - xbar)(xbar_j - xbar)'] = (G - 1) Sigma
    + D (n - sum_j n_j^2 / n) per QB-season."""
    ok = n_g > 0
    key = (reg["season"].cast(pl.String) + "|" + reg["passer_id"]).to_numpy()[ok]
    n_g, s_g = n_g[ok], s_g[ok]
    k = s_g.shape[1]
    outer = s_g[:, :, None] * s_g[:, None, :] / n_g[:, None, None]
    uk, inv = np.unique(key, return_inverse=True)
    b = np.zeros((len(uk), k, k))
    np.add.at(b, inv, outer)
    n = np.bincount(inv, weights=n_g)
    n2 = np.bincount(inv, weights=n_g ** 2)
    games = np.bincount(inv)
    s = np.zeros((len(uk), k))
    np.add.at(s, inv, s_g)
    w = b - s[:, :, None] * s[:, None, :] / n[:, None, None]
    denom = float((n - n2 / n).sum())
    d = (w.sum(0) - sigma * float((games - 1).sum())) / max(denom, 1e-9)
    return _psd(d, sigma)


def _boot(x: np.ndarray, noise: np.ndarray, sigma: np.ndarray, center: np.ndarray | None,
          rng: np.random.Generator) -> tuple[tuple[float, ...], tuple[tuple[float, ...], ...]]:
    i = rng.integers(0, len(x), len(x))
    m, t = _between(x[i], noise[i], sigma, center)
    return vec(m), mat(t)


def _priors(cfg: Config, reg: pl.DataFrame, seas: pl.DataFrame, league: pl.DataFrame, k: int
            ) -> tuple[Prior, Prior, dict[str, np.ndarray]]:
    """Season and game priors (with bootstrap refits) and the arrays the weights reuse."""
    n_s, s_s, q_s = arrays(seas, k)
    n_g, s_g, q_g = arrays(reg, k)
    sigma_g = _within(n_g, s_g, q_g)
    sigma, dmat = ((sigma_g, _game_to_game(reg, n_g, s_g, sigma_g)) if cfg.clustered
                   else (_within(n_s, s_s, q_s), None))
    xrel = relative(seas, league, k, "week_end")
    base = Prior(vec(np.zeros(k)), mat(np.eye(k)), mat(sigma),
                 None if dmat is None else mat(dmat))
    noise_s = noise_cov(base, n_s, seas["n2"].to_numpy())
    # games: relative to the league to date, as the research fitted them (docs/scoring.md)
    xg = relative(reg, league, k, "week")
    qual = reg["db"].to_numpy() >= GAME_MIN_DROPBACKS
    noise_g = sigma_g[None] / np.maximum(n_g, 1e-9)[:, None, None]
    share_s = share_g = off_s = off_g = None
    x_fit, xg_fit = xrel, xg
    if cfg.prior == "role":
        share_s = season_share(reg, seas)
        off_s = fill_in_offset(xrel, share_s, n_s, n_s >= ROLE_FIT_MIN)
        x_fit = xrel - off_s * (1.0 - role_indicator(share_s))[:, None]
    if cfg.prior == "role" or (cfg.game_prior == "role" and cfg.prior == "board"):
        share_g = game_share(reg)
        off_g = fill_in_offset(xg, share_g, n_g, qual)
        xg_fit = xg - off_g * (1.0 - role_indicator(share_g))[:, None]
    center = None if cfg.prior in ("board", "role") else np.zeros(k)
    pop = n_s >= (BOARD_MIN if center is None else LEAGUE_PRIOR_MIN)
    if pop.sum() < 2 or qual.sum() < 2:
        raise InputError(f"too few QB-seasons ({int(pop.sum())}) or qualified games "
                         f"({int(qual.sum())}) in the training seasons to fit the priors")
    mu, t = _between(x_fit[pop], noise_s[pop], sigma, center)
    mu_g, t_g = _between(xg_fit[qual], noise_g[qual], sigma_g, center)
    boot_s, boot_g = [], []
    if cfg.boot and cfg.shrink == "multivariate":
        rng = np.random.default_rng(BOOT_SEED)
        for _ in range(cfg.boot):
            boot_s.append(_boot(x_fit[pop], noise_s[pop], sigma, center, rng))
            boot_g.append(_boot(xg_fit[qual], noise_g[qual], sigma_g, center, rng))
    season = Prior(vec(mu), mat(t), mat(sigma), base.game_to_game,
                   None if off_s is None else vec(off_s), tuple(boot_s))
    game = Prior(vec(mu_g), mat(t_g), mat(sigma_g), None,
                 None if off_g is None else vec(off_g), tuple(boot_g))
    extra = {"xrel": xrel, "n_s": n_s, "pop": pop, "qual": qual}
    if share_s is not None:
        extra["share_s"] = share_s
    return season, game, extra


def _predictors(cfg: Config, prior: Prior, x: np.ndarray, n: np.ndarray, n2: np.ndarray,
                share: np.ndarray | None) -> np.ndarray:
    """Regression inputs of the weights: posterior means (multivariate) or raw means."""
    if cfg.shrink == "univariate":
        return x
    mu = prior_means(prior, share, len(n))
    return posterior(x, n, mu, arr(prior.cov), noise_cov(prior, n, n2))[0]


def _design(cfg: Config, prior: Prior, reg: pl.DataFrame, seas: pl.DataFrame,
            reg_end: pl.DataFrame, league: pl.DataFrame, k: int, xrel: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, weight, season) rows the weights are fitted on, per the config's target."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    need_share = prior.fill_in is not None
    lepa = league.join(reg_end.rename({"week_end": "week"}), on=["season", "week"]).select(
        "season", "L_epa")
    y_rel = (pl.col("epa_s") / pl.col("epa_n") - pl.col("L_epa")).alias("y")
    if cfg.target in ("other_half", "both"):
        reg_h = reg.with_columns((pl.col("week") % 2).alias("half"))
        halves = sum_by(reg_h, ["season", "passer_id", "half"], k).join(reg_end, on="season")
        halves = halves.filter((pl.col("n") >= HALF_MIN) & (pl.col("epa_n") > 0))
        xh = relative(halves, league, k, "week_end")
        halves = halves.with_columns(*[pl.Series(f"x{i}", xh[:, i]) for i in range(k)]).join(
            lepa, on="season").with_columns(y_rel)
        pairs = halves.filter(pl.col("half") == 1).join(halves.filter(pl.col("half") == 0),
                                                        on=["season", "passer_id"], suffix="_o")
        for src, dst, half in (("", "_o", 1), ("_o", "", 0)):
            x = np.column_stack([pairs[f"x{i}{src}"].to_numpy() for i in range(k)])
            n = pairs[f"n{src}"].to_numpy().astype(np.float64)
            share = (season_share(reg_h, pairs.with_columns(pl.lit(half).alias("half")),
                                  ("half",)) if need_share else None)
            xs.append(_predictors(cfg, prior, x, n, pairs[f"n2{src}"].to_numpy(), share))
            ys.append(pairs[f"y{dst}"].to_numpy())
            ws.append(1.0 / (1.0 / n + 1.0 / pairs[f"n{dst}"].to_numpy()))
            groups.append(pairs["season"].to_numpy())
    if cfg.target in ("next_season", "both"):
        full = seas.with_columns(*[pl.Series(f"x{i}", xrel[:, i]) for i in range(k)]).join(
            lepa, on="season").with_columns(y_rel).filter(pl.col("n") >= NEXT_MIN)
        nxt = full.join(full.select((pl.col("season") - 1).alias("season"), "passer_id",
                                    pl.col("y").alias("y1"), pl.col("n").alias("n1")),
                        on=["season", "passer_id"])
        if nxt.height:
            x = np.column_stack([nxt[f"x{i}"].to_numpy() for i in range(k)])
            n = nxt["n"].to_numpy().astype(np.float64)
            share = season_share(reg, nxt) if need_share else None
            xs.append(_predictors(cfg, prior, x, n, nxt["n2"].to_numpy(), share))
            ys.append(nxt["y1"].to_numpy())
            w_n = 1.0 / (1.0 / n + 1.0 / nxt["n1"].to_numpy())
            if ws:  # "both": the next-season pairs weigh as much as the half pairs
                w_n = w_n * sum(float(w.sum()) for w in ws) / float(w_n.sum())
            ws.append(w_n)
            groups.append(nxt["season"].to_numpy())
    if not xs:
        return np.zeros((0, k)), np.zeros(0), np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws), np.concatenate(groups)


def fit(data: pl.DataFrame | Stats, train_seasons: Sequence[int], model_version: str,
        config: Config = PRODUCTION) -> Aggregator:
    """Fit an aggregator on the REG games of the training seasons.

    `data`: play_predictions rows (PLAY_COLUMNS) or their statistics (`summarise`) for the
    config's components. A next-season target without two consecutive training seasons
    falls back to the other-half target.
    """
    comps = config.components
    k = len(comps)
    stats = data if isinstance(data, Stats) else summarise(data, comps)
    if stats.components != comps:
        raise ValueError(f"statistics of {stats.components} cannot fit {comps}")
    train = sorted({int(s) for s in train_seasons})
    st = stats.seasons(train)
    reg = st.games.filter(pl.col("season_type") == "REG")
    if reg.height == 0:
        raise InputError(f"no REG dropbacks of model {model_version} in training seasons "
                         f"{train}")
    reg_end = reg.group_by("season").agg(pl.col("week").max().alias("week_end"))
    league = league_means(st.league, k)
    seas = sum_by(reg, ["season", "passer_id"], k).join(reg_end, on="season")
    season, game, extra = _priors(config, reg, seas, league, k)
    x, y, w, grp = _design(config, season, reg, seas, reg_end, league, k, extra["xrel"])
    if len(y) == 0 and config.target == "next_season":
        fallback = Config(**{**config.to_dict(), "components": comps, "target": "other_half"})
        x, y, w, grp = _design(fallback, season, reg, seas, reg_end, league, k, extra["xrel"])
    if len(y) < k + 2:
        raise InputError(f"too few QB half-seasons (>= {HALF_MIN} dropbacks in both halves) "
                         f"in training seasons {train} to fit the score weights: {len(y)}")
    nonneg = np.array([c not in FREE_SIGN for c in comps])
    rf = fit_ridge(x, y, w, grp, nonneg)
    weights = np.asarray(rf["coef"], dtype=np.float64)
    if not np.any(weights):
        raise InputError("the score weights fitted to zero: the components do not predict "
                         "EPA per dropback in the training seasons")
    pop, qual = extra["pop"], extra["qual"]
    centre = prior_means(season, extra.get("share_s"), len(extra["n_s"]))[pop].mean(0)
    t = np.asarray(season.cov)
    scale = Scale(float(weights @ centre), float(np.sqrt(weights @ t @ weights)),
                  {c: (float(season.mean[i]), float(np.sqrt(t[i, i])))
                   for i, c in enumerate(comps)})
    sig = np.asarray(season.noise)
    rel = np.diag(t) / (np.diag(t) + np.diag(sig) / 400.0)
    summary = FitSummary(target=TARGET_TEXT[config.target], pairs=len(y),
                         ridge_lambda=float(rf["lambda"]), cv_mse=rf["cv_mse"],
                         r2=float(rf["r2"]), epa_sd=float(rf["y_sd"]),
                         board_seasons=int(pop.sum()), qualified_games=int(qual.sum()),
                         reliability_400={c: float(rel[i]) for i, c in enumerate(comps)})
    return Aggregator(
        model_version=model_version, train_seasons=tuple(train), config=config,
        weights={c: float(weights[i]) for i, c in enumerate(comps)},
        weights_std={c: float(rf["coef_std"][i]) for i, c in enumerate(comps)},
        season=season, game=game, scale=scale, fit=summary)
