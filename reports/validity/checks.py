"""Checks of one scale and honest intervals on real data: the drift of season-to-date boards,
half-season interval coverage, and single-game scores against points and wins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import norm

from passing_score.models.aggregator import (
    Z_INTERVAL,
    Aggregator,
    Stats,
    board_by_week,
    game_rows,
    noise_cov,
)
from passing_score.pipeline.foundation.scalars import as_float, as_int
from passing_score.reports.validity.ours import season_and_halves
from passing_score.reports.validity.stats import auc, pearson, r4

DRIFT_WEEKS: tuple[int, ...] = tuple(range(1, 18))
DRIFT_FROM = 4  # the target: within 3 points for every k >= 4
HALF_MIN_COVERAGE = 50  # scored dropbacks in each half of a checked QB-season


def boards(agg: Aggregator, stats: Stats, season: int,
           weeks: Sequence[int] = DRIFT_WEEKS) -> pl.DataFrame:
    """Season-to-date REG boards after each week k (and after the last REG week): season,
    after_week, passer_id, score, qualified."""
    reg = stats.games.filter((pl.col("season") == season) & (pl.col("season_type") == "REG"))
    if reg.height == 0:
        return pl.DataFrame(schema={"season": pl.Int64, "after_week": pl.Int64,
                                    "passer_id": pl.String, "score": pl.Float64,
                                    "qualified": pl.Boolean})
    last = as_int(reg["week"].max())
    b = board_by_week(agg, stats, season, sorted({*[w for w in weeks if w <= last], last}))
    return b.select("season", "after_week", "passer_id", "score", "qualified")


def drift_table(stacked: pl.DataFrame, weeks: Sequence[int] = DRIFT_WEEKS) -> dict[str, Any]:
    """Median over seasons of (median qualified season-to-date score after week k - the final
    median), per season, and the largest absolute median from week DRIFT_FROM on."""
    per: dict[int, dict[str, float]] = {}
    for (season,), b in stacked.group_by(["season"], maintain_order=True):
        q = b.filter(pl.col("qualified"))
        if q.height == 0:
            continue
        last = as_int(q["after_week"].max())
        final = as_float(q.filter(pl.col("after_week") == last)["score"].median())
        row: dict[str, float] = {"final_median": round(final, 2)}
        for k in weeks:
            wk = q.filter(pl.col("after_week") == k)
            if wk.height:
                row[str(k)] = round(as_float(wk["score"].median()) - final, 2)
        per[int(str(season))] = row
    med: dict[str, float | None] = {}
    for k in weeks:
        vals = [v[str(k)] for v in per.values() if str(k) in v]
        med[str(k)] = round(float(np.median(vals)), 2) if vals else None
    late = [abs(v) for k, v in med.items() if int(k) >= DRIFT_FROM and v is not None]
    return {"by_season": per, "median": med,
            "max_abs_from_week_4": max(late) if late else None}


def half_coverage(agg: Aggregator, stats: Stats, season: int) -> dict[str, Any]:
    """Does a half-season's 80% interval cover the other half's raw relative value as often as
    the two variances imply? z = (raw_B - value_A) / sqrt(sd_A^2 + noise_B), both directions."""
    _, half = season_and_halves(agg, stats, [season])
    h = half.with_columns((pl.col("play_value") - pl.col("league_mean")).alias("raw"))
    pr = h.filter(pl.col("half") == 1).join(h.filter(pl.col("half") == 0),
                                            on=["season", "passer_id"], suffix="_o").filter(
        (pl.col("scored_dropbacks") >= HALF_MIN_COVERAGE)
        & (pl.col("scored_dropbacks_o") >= HALF_MIN_COVERAGE))
    if pr.height == 0:
        return {"pairs": 0, "observed": None, "implied": None, "z_sd": None,
                "z_cover_80": None}
    w = agg.w
    hit, imp, zs = [], [], []
    for src, dst in (("", "_o"), ("_o", "")):
        v, sd = pr[f"passing_score{src}"].to_numpy(), pr[f"play_value_sd{src}"].to_numpy()
        x = pr[f"raw{dst}"].to_numpy()
        nz = noise_cov(agg.season, pr[f"n{dst}"].to_numpy().astype(np.float64),
                       pr[f"n2{dst}"].to_numpy())
        tot = np.sqrt(sd ** 2 + np.einsum("i,rij,j->r", w, nz, w))
        hit.append(np.abs(x - v) <= Z_INTERVAL * sd)
        imp.append(2 * norm.cdf(Z_INTERVAL * sd / tot) - 1)
        zs.append((x - v) / tot)
    a, b, z = np.concatenate(hit), np.concatenate(imp), np.concatenate(zs)
    return {"pairs": len(a), "observed": r4(float(a.mean())), "implied": r4(float(b.mean())),
            "z_sd": r4(float(z.std())),
            "z_cover_80": r4(float((np.abs(z) <= Z_INTERVAL).mean()))}


def game_level(agg: Aggregator, stats: Stats, season: int, results: pl.DataFrame | None
               ) -> dict[str, Any]:
    """Single-game scores of a season (qualified REG games, each against its week's league):
    spread of the weekly medians, r of a game's value with the QB's other games of the season
    (>= 200 scored dropbacks), r with the team's points and AUC for a win."""
    st = stats.seasons([season])
    g = game_rows(agg, st, results).filter(pl.col("qualified")
                                           & (pl.col("season_type") == "REG"))
    if g.height == 0:
        return {"n_games": 0}
    med = g.group_by("week").agg(pl.col("score").median()).sort("week")["score"].to_numpy()
    reg = st.games.filter(pl.col("season_type") == "REG")
    k = len(agg.components)
    tot = reg.group_by("passer_id").agg(pl.col("n").sum(),
                                        *[pl.col(f"s{i}").sum() for i in range(k)])
    j = g.join(tot, on="passer_id", suffix="_tot")
    n_o = (j["n_tot"] - j["n"]).to_numpy()
    s_o = np.column_stack([(j[f"s{i}_tot"] - j[f"s{i}"]).to_numpy() for i in range(k)])
    lg = st.league.select(pl.col("n").sum(), *[pl.col(f"s{i}").sum() for i in range(k)])
    lvec = np.array([lg[f"s{i}"][0] / max(float(lg["n"][0]), 1.0) for i in range(k)])
    ok = n_o >= 200
    rest = (s_o[ok] / n_o[ok][:, None] - lvec) @ agg.w
    out: dict[str, Any] = {
        "n_games": g.height, "week_median_sd": round(float(med.std()), 2),
        "week_median_range": [round(float(med.min()), 1), round(float(med.max()), 1)],
        "r_rest_of_season": r4(pearson(j["value_rel"].to_numpy()[ok], rest))}
    if results is not None and g["team_points"].drop_nulls().len():
        gr = g.filter(pl.col("team_points").is_not_null())
        out["r_points"] = r4(pearson(gr["score"], gr["team_points"]))
        out["auc_win"] = r4(auc(gr["score"].to_numpy(), gr["win"].to_numpy()))
    return out
