"""Validity study: is the Passing Score more stable and more predictive than peer QB metrics?

Split-half reliability, year-over-year stability, next-season EPA/dropback prediction, game
level association with points and wins, and ESPN QBR agreement, all on the same QB-seasons
(REG, >= 200 dropbacks; halves >= 50). Method and results: docs/validity.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from passing_score.models import aggregator
from passing_score.models.aggregator import GAME_MIN_DROPBACKS, Aggregator, Stats
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.scalars import as_int
from passing_score.pipeline.foundation.versions import current_version
from passing_score.pipeline.scoring.readers import game_results, load_aggregator, load_plays
from passing_score.pipeline.scoring.scores import default_train_seasons
from passing_score.reports.validity.ours import OURS, UNSHRUNK, season_and_halves
from passing_score.reports.validity.peers import (
    HALF_MIN,
    PEERS,
    SEASON_MIN,
    load_qbr,
    match_qbr,
    peer_game_sums,
    peer_metrics,
    peer_tables,
)
from passing_score.reports.validity.stats import (
    auc,
    half_pairs,
    next_season_pairs,
    pearson,
    spearman_brown,
)

GAME_MIN = GAME_MIN_DROPBACKS
EXTRA: tuple[str, ...] = ("passing_score_unshrunk", "passing_score_loso")
REFERENCE: dict[str, dict[str, float]] = {
    "epa_per_dropback": {"split_half": .486, "split_half_sb": .654, "yoy": .424,
                         "next_season_epa": .424},
    "success_rate": {"split_half": .522, "split_half_sb": .686, "yoy": .447,
                     "next_season_epa": .389},
    "cpoe": {"split_half": .442, "split_half_sb": .613, "yoy": .444, "next_season_epa": .338},
    "passer_rating": {"split_half": .400, "split_half_sb": .571, "yoy": .396,
                      "next_season_epa": .395},
    "any_a": {"split_half": .446, "split_half_sb": .617, "yoy": .378, "next_season_epa": .407},
    "qbr": {"yoy": .317, "next_season_epa": .292},
}


# ---------------------------------------------------------------- our score per QB-season/half


def _ours(agg: Aggregator, stats: Stats) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shrunk and unshrunk value (relative to the league) per REG QB-season and QB-half."""
    full, half = season_and_halves(agg, stats)
    return (full.select("season", "passer_id", OURS, UNSHRUNK),
            half.select("season", "passer_id", "half", OURS, UNSHRUNK))


def _ours_loso(stats: Stats, mv: str, config: aggregator.Config
               ) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Our score with weights, priors and scale fitted leaving the scored season out."""
    reg = stats.games.filter(pl.col("season_type") == "REG")
    seasons = sorted(set(reg["season"].to_list()))
    if len(seasons) < 3:
        return None
    parts_s, parts_h = [], []
    for s in seasons:
        agg = aggregator.fit(stats, [x for x in seasons if x != s], mv, config)
        a, b = season_and_halves(agg, stats, [s])
        parts_s.append(a.select("season", "passer_id", pl.col(OURS).alias("passing_score_loso")))
        parts_h.append(b.select("season", "passer_id", "half",
                                pl.col(OURS).alias("passing_score_loso")))
    return pl.concat(parts_s), pl.concat(parts_h)


# ---------------------------------------------------------------- the study


def _metric_block(seasons: pl.DataFrame, halves: pl.DataFrame, metric: str) -> dict[str, Any]:
    hp = half_pairs(halves, metric).drop_nulls()
    r = pearson(hp["a"], hp["b"])
    ny = next_season_pairs(seasons, metric, metric).drop_nulls()
    ne = next_season_pairs(seasons, metric, "epa_per_dropback").drop_nulls()
    return {"split_half": _r(r), "split_half_sb": _r(spearman_brown(r)),
            "yoy": _r(pearson(ny["a"], ny["b"])),
            "next_season_epa": _r(pearson(ne["a"], ne["b"])),
            "n_qb_seasons": int(seasons[metric].drop_nulls().len()),
            "n_half_pairs": hp.height, "n_yoy_pairs": ny.height}


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 4)


def validity_study(con: duckdb.DuckDBPyConnection, model_version: str | None = None, *,
                   loso: bool = True, qbr_path: Path | None = None) -> dict[str, Any]:
    """Stability and predictiveness of the Passing Score vs peer metrics (all seasons, REG)."""
    mv = current_version(con, model_version)
    agg = load_aggregator(con, mv)
    p = load_plays(con, mv)
    if p.height == 0:
        raise InputError(f"model {mv} has no play_predictions")
    all_seasons = sorted(set(p["season"].to_list()))
    config = agg.config if agg is not None else aggregator.PRODUCTION
    stats = aggregator.summarise(p, config.components)
    if agg is None:
        agg = aggregator.fit(stats, default_train_seasons(all_seasons), mv, config)
        params_note = "weights fitted for this study (no score_weights stored)"
    else:
        params_note = "stored score_weights"
    games = peer_game_sums(con).filter(pl.col("season").is_in(all_seasons))
    seasons, halves = peer_tables(games)
    ours_s, ours_h = _ours(agg, stats)
    seasons = seasons.join(ours_s, on=["season", "passer_id"], how="left")
    halves = halves.join(ours_h, on=["season", "passer_id", "half"], how="left")
    metrics_order = [OURS, *PEERS, UNSHRUNK]
    if loso:
        lo = _ours_loso(stats, mv, config)
        if lo is not None:
            seasons = seasons.join(lo[0], on=["season", "passer_id"], how="left")
            halves = halves.join(lo[1], on=["season", "passer_id", "half"], how="left")
            metrics_order.append("passing_score_loso")
    metrics = {m: _metric_block(seasons, halves, m) for m in metrics_order}

    result: dict[str, Any] = {
        "protocol": {"name": "in-sample",
                     "note": "the stored aggregator (fitted on every season but the newest) "
                             "scores every season, its own training seasons included"},
        "model_version": mv, "seasons": all_seasons, "params": params_note,
        "train_seasons": list(agg.train_seasons),
        "definitions": {
            "sample": f"REG QB-seasons with >= {SEASON_MIN} dropbacks; halves = odd vs even "
                      f"weeks with >= {HALF_MIN} dropbacks each; dropbacks = qb_dropback plays "
                      "with a passer_id, two-point tries excluded",
            "passing_score": "season (or half) play value relative to the league, shrunk "
                             "(multivariate empirical Bayes): the quantity the 50-99 score "
                             "maps monotonically",
            "epa_per_dropback": "mean qb_epa; success_rate = share with qb_epa > 0",
            "cpoe": "mean of the source's cpoe (nflfastR)",
            "epa_cpoe_composite": "0.2 * EPA/db + 0.009 * CPOE + 0.09",
        },
        "metrics": metrics,
        "game_level": _game_level(con, stats, agg, games),
        "qbr": _qbr_block(seasons, qbr_path),
        "reference": REFERENCE,
    }
    return result


def _game_level(con: duckdb.DuckDBPyConnection, stats: Stats, agg: Aggregator,
                games: pl.DataFrame) -> dict[str, Any]:
    """Association of QB-game metrics with the team's points and win (qualified games)."""
    g = aggregator.game_rows(agg, stats, game_results(con))
    peers = peer_metrics(games).select("game_id", "passer_id", "epa_per_dropback", "cpoe",
                                       "passer_rating", "any_a", "success_rate")
    g = g.filter(pl.col("qualified") & pl.col("team_points").is_not_null()).select(
        "game_id", "passer_id", "score", "play_value_shrunk", "team_points", "win").join(
        peers, on=["game_id", "passer_id"], how="left")
    out: dict[str, Any] = {"n_games": g.height, "qualified": f">= {GAME_MIN} dropbacks",
                           "metrics": {}}
    for m in ("score", "play_value_shrunk", "epa_per_dropback", "success_rate", "cpoe",
              "passer_rating", "any_a"):
        out["metrics"][m] = {"r_points": _r(pearson(g[m], g["team_points"])),
                             "r_win": _r(pearson(g[m], g["win"])),
                             "auc_win": _r(auc(g[m].to_numpy(), g["win"].to_numpy()))}
    return out


def _qbr_block(seasons: pl.DataFrame, qbr_path: Path | None) -> dict[str, Any]:
    """Agreement with ESPN QBR and QBR's own stability, on the overlapping seasons."""
    qbr = load_qbr(qbr_path)
    if qbr is None:
        return {"available": False}
    m = match_qbr(seasons, qbr)
    overlap = seasons.filter(pl.col("season") <= qbr["season"].max())
    have = seasons.join(m, on=["season", "passer_id"])  # QB-seasons QBR rates
    ny = next_season_pairs(have, "qbr", "qbr").drop_nulls()
    # pairs with QBR in both seasons (as in the reference figures); ours on the same pairs
    nxt = next_season_pairs(have, "qbr", "epa_per_dropback").drop_nulls()
    ours_y = next_season_pairs(have, OURS, OURS).drop_nulls()
    ours_n = next_season_pairs(have, OURS, "epa_per_dropback").drop_nulls()
    return {
        "available": True,
        "seasons": f"{as_int(overlap['season'].min())}-{as_int(overlap['season'].max())}",
        "matched": overlap.join(m, on=["season", "passer_id"]).height,
        "qb_seasons": overlap.height,
        "r_with_qbr": {k: _r(pearson(have[k], have["qbr"])) for k in (OURS, *PEERS)},
        "qbr": {"yoy": _r(pearson(ny["a"], ny["b"])), "n_yoy_pairs": ny.height,
                "next_season_epa": _r(pearson(nxt["a"], nxt["b"])),
                "n_next_pairs": nxt.height},
        "passing_score_same_qb_seasons": {"yoy": _r(pearson(ours_y["a"], ours_y["b"])),
                                          "next_season_epa": _r(pearson(ours_n["a"],
                                                                        ours_n["b"]))},
    }
