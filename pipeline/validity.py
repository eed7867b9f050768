"""Validity study: is the Passing Score more stable and more predictive than peer QB metrics?

Split-half reliability, year-over-year stability, next-season EPA/dropback prediction, game
level association with points and wins, and ESPN QBR agreement, all on the same QB-seasons
(REG, >= 200 dropbacks; halves >= 50). Method and results: docs/validity.md.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
from scipy.stats import rankdata

from pipeline import scoring
from pipeline.errors import InputError
from pipeline.warehouse import query_pl, require_table, table_columns

SEASON_MIN = 200  # REG dropbacks of a qualified QB-season
HALF_MIN = 50  # dropbacks in each half (odd / even weeks)
GAME_MIN = scoring.GAME_MIN_DROPBACKS
OURS = "passing_score"
PEERS: tuple[str, ...] = ("epa_per_dropback", "success_rate", "cpoe", "passer_rating", "any_a",
                          "epa_cpoe_composite")
EXTRA: tuple[str, ...] = ("passing_score_unshrunk", "passing_score_loso")
QBR_TEAMS = {"WSH": "WAS", "LAR": "LA"}
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
# the figures the study should reproduce for the peers (2016-2024 REG, same thresholds)
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


def shared_dir() -> Path:
    """The read-only nflverse folder (PASSING_SCORE_SHARED, else ../shared/nflverse)."""
    root = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("PASSING_SCORE_SHARED", root.parent / "shared" / "nflverse"))


# ---------------------------------------------------------------- small statistics


def pearson(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float | None:
    """Pearson r over pairs where both are finite (None with < 3 pairs or no spread)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def spearman_brown(r: float | None) -> float | None:
    """Reliability of the full season from the half-season correlation: 2r / (1 + r)."""
    if r is None or r <= -1:
        return None
    return 2 * r / (1 + r)


def auc(score: Sequence[float] | np.ndarray, win: Sequence[float] | np.ndarray) -> float | None:
    """P(score of a win > score of a loss) (Mann-Whitney; ties count half; draws dropped)."""
    s = np.asarray(score, dtype=np.float64)
    w = np.asarray(win, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(w) & (w != 0.5)
    s, w = s[ok], w[ok]
    n1, n0 = int((w == 1).sum()), int((w == 0).sum())
    if n1 == 0 or n0 == 0:
        return None
    r = rankdata(s)
    return float((r[w == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def half_pairs(halves: pl.DataFrame, metric: str) -> pl.DataFrame:
    """(odd, even) values of a metric per QB-season: columns season, passer_id, a, b."""
    odd = halves.filter(pl.col("half") == 1).select("season", "passer_id",
                                                    pl.col(metric).alias("a"))
    even = halves.filter(pl.col("half") == 0).select("season", "passer_id",
                                                     pl.col(metric).alias("b"))
    return odd.join(even, on=["season", "passer_id"]).sort(["season", "passer_id"])


def next_season_pairs(seasons: pl.DataFrame, metric: str, target: str,
                      later: pl.DataFrame | None = None) -> pl.DataFrame:
    """Same QB in seasons t and t+1: columns season, passer_id, a (metric, t), b (target, t+1).

    `later` (default: seasons) holds the t+1 rows.
    """
    later = seasons if later is None else later
    now = seasons.select("season", "passer_id", pl.col(metric).alias("a"))
    nxt = later.select((pl.col("season") - 1).alias("season"), "passer_id",
                       pl.col(target).alias("b"))
    return now.join(nxt, on=["season", "passer_id"]).sort(["season", "passer_id"])


# ---------------------------------------------------------------- peer metrics from plays


def peer_game_sums(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Box-score sums per QB x game from `plays` (dropbacks, two-point tries excluded)."""
    require_table(con, "plays", "run `passing-score ingest` first")
    have = table_columns(con, "plays")
    week = "game_week" if "game_week" in have else "week"
    two = "coalesce(two_point_attempt, 0) = 0" if "two_point_attempt" in have else "TRUE"
    yards = ("coalesce(passing_yards, yards_gained)" if "passing_yards" in have
             else "yards_gained")
    epa = "qb_epa" if "qb_epa" in have else "epa"
    cpoe = "cpoe" if "cpoe" in have else "NULL::DOUBLE"
    sql = f"""
        SELECT season, season_type, {week} AS week, game_id, passer_id,
          mode(posteam) AS team, mode(passer) AS passer_name,
          count(*)::DOUBLE AS db,
          count({epa})::DOUBLE AS epa_n, sum({epa}) AS epa_s,
          sum(CASE WHEN {epa} > 0 THEN 1 ELSE 0 END)::DOUBLE AS succ,
          count({cpoe})::DOUBLE AS cp_n, coalesce(sum({cpoe}), 0)::DOUBLE AS cp_s,
          sum(CASE WHEN pass_attempt = 1 AND coalesce(sack, 0) = 0 THEN 1 ELSE 0 END)::DOUBLE
            AS att,
          sum(coalesce(complete_pass, 0))::DOUBLE AS cmp,
          sum(CASE WHEN complete_pass = 1 THEN coalesce({yards}, 0) ELSE 0 END)::DOUBLE AS yds,
          sum(coalesce(pass_touchdown, 0))::DOUBLE AS td,
          sum(coalesce(interception, 0))::DOUBLE AS ints,
          sum(coalesce(sack, 0))::DOUBLE AS sk,
          sum(CASE WHEN sack = 1 THEN -coalesce(yards_gained, 0) ELSE 0 END)::DOUBLE AS sky
        FROM plays
        WHERE qb_dropback = 1 AND passer_id IS NOT NULL AND {two}
        GROUP BY ALL
    """
    df = query_pl(con, sql)
    return df.with_columns(pl.col("season").cast(pl.Int64), pl.col("week").cast(pl.Int64),
                           pl.col("epa_s").cast(pl.Float64)).sort(
        ["season", "week", "game_id", "passer_id"])


PEER_SUMS = ("db", "epa_n", "epa_s", "succ", "cp_n", "cp_s", "att", "cmp", "yds", "td", "ints",
             "sk", "sky")


def peer_metrics(sums: pl.DataFrame) -> pl.DataFrame:
    """EPA/db, success rate, CPOE, passer rating, ANY/A and the EPA+CPOE composite from sums."""
    def clip(e: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(pl.max_horizontal(e, pl.lit(0.0)), pl.lit(2.375))

    att = pl.col("att")
    ok_att = att > 0
    epa = pl.when(pl.col("epa_n") > 0).then(pl.col("epa_s") / pl.col("epa_n"))
    cpoe = pl.when(pl.col("cp_n") > 0).then(pl.col("cp_s") / pl.col("cp_n"))
    rating = pl.when(ok_att).then(
        (clip((pl.col("cmp") / att - 0.3) * 5) + clip((pl.col("yds") / att - 3) * 0.25)
         + clip(pl.col("td") / att * 20) + clip(2.375 - pl.col("ints") / att * 25)) / 6 * 100)
    dropbacks_thrown = att + pl.col("sk")
    any_a = pl.when(dropbacks_thrown > 0).then(
        (pl.col("yds") + 20 * pl.col("td") - 45 * pl.col("ints") - pl.col("sky"))
        / dropbacks_thrown)
    return sums.with_columns(
        epa.alias("epa_per_dropback"),
        pl.when(pl.col("epa_n") > 0).then(pl.col("succ") / pl.col("epa_n")).alias("success_rate"),
        cpoe.alias("cpoe"), rating.alias("passer_rating"), any_a.alias("any_a"),
        (0.2 * epa + 0.009 * cpoe + 0.09).alias("epa_cpoe_composite"),
    )


def _peer_sum(games: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return scoring.group_sums(games, keys, PEER_SUMS)


# ---------------------------------------------------------------- our score per QB-season/half


def _ours(p: pl.DataFrame, params: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shrunk and unshrunk play value per REG QB-season and per QB-half (odd/even weeks)."""
    tv = scoring.with_values(p, params["weights"])
    league = scoring.league_by_week(tv)
    reg = tv.filter(pl.col("season_type") == "REG").with_columns(
        (pl.col("week") % 2).alias("half"))
    end = reg.group_by("season").agg(pl.col("week").max().alias("week_end"))
    out = []
    for keys in (["season", "passer_id"], ["season", "passer_id", "half"]):
        s = scoring.summarise(reg, keys, end, league, params["k_season"],
                              params["sigma2_season"])
        out.append(s.select(*keys, pl.col("play_value_shrunk").alias(OURS),
                            pl.col("play_value").alias("passing_score_unshrunk")))
    return out[0], out[1]


def _ours_loso(p: pl.DataFrame, mv: str) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Our score with weights, shrinkage and scale fitted leaving the scored season out."""
    seasons = sorted(set(p.filter(pl.col("season_type") == "REG")["season"].to_list()))
    if len(seasons) < 3:
        return None
    parts_s, parts_h = [], []
    for s in seasons:
        params = scoring.fit_params(p, [x for x in seasons if x != s], mv)
        a, b = _ours(p.filter(pl.col("season") == s), params)
        parts_s.append(a.select("season", "passer_id", pl.col(OURS).alias("passing_score_loso")))
        parts_h.append(b.select("season", "passer_id", "half",
                                pl.col(OURS).alias("passing_score_loso")))
    return pl.concat(parts_s), pl.concat(parts_h)


# ---------------------------------------------------------------- QBR


def _name_key(name: str | None) -> str:
    """Lower-case last name without suffixes or punctuation ('G.Minshew II' -> 'minshew')."""
    if not name:
        return ""
    last = name.split(".", 1)[1] if "." in name.split(" ")[0] else name
    words = [w for w in "".join(ch if ch.isalpha() or ch == " " else " " for ch in
                                last.lower()).split() if w not in NAME_SUFFIXES]
    return "".join(words)


def load_qbr(path: Path | None = None) -> pl.DataFrame | None:
    """ESPN season QBR (regular season): season, team, last-name key, initial, qbr."""
    path = path or shared_dir() / "qbr" / "qbr-nfl-season.csv"
    if not path.exists():
        return None
    q = pl.read_csv(path, infer_schema_length=10000)
    q = q.filter(pl.col("season_type") == "Regular")
    return q.select(
        pl.col("season").cast(pl.Int64),
        pl.col("team_abb").replace(QBR_TEAMS).alias("team"),
        pl.col("name_last").map_elements(_name_key, return_dtype=pl.String).alias("key"),
        pl.col("name_first").str.slice(0, 1).str.to_lowercase().alias("initial"),
        pl.col("qbr_total").cast(pl.Float64).alias("qbr"),
    ).filter(pl.col("qbr").is_not_null())


def match_qbr(qbs: pl.DataFrame, qbr: pl.DataFrame) -> pl.DataFrame:
    """Attach QBR to QB-seasons (season, team, passer_name) by team + last name, else name."""
    ours = qbs.select("season", "passer_id", "team", "passer_name").with_columns(
        pl.col("passer_name").map_elements(_name_key, return_dtype=pl.String).alias("key"),
        pl.col("passer_name").str.slice(0, 1).str.to_lowercase().alias("initial"))
    by_team = qbr.unique(["season", "team", "key"], keep="none")
    first = ours.join(by_team.select("season", "team", "key", "qbr"),
                      on=["season", "team", "key"], how="inner")
    rest = ours.join(first.select("season", "passer_id"), on=["season", "passer_id"],
                     how="anti")
    by_name = qbr.group_by(["season", "key", "initial"]).agg(
        pl.col("qbr").first(), pl.len().alias("n")).filter(pl.col("n") == 1).drop("n")
    second = rest.join(by_name, on=["season", "key", "initial"], how="inner")
    return pl.concat([first.select("season", "passer_id", "qbr"),
                      second.select("season", "passer_id", "qbr")]).sort(
        ["season", "passer_id"])


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
    mv = scoring.resolve_model_version(con, model_version)
    params = scoring.load_params(con, mv)
    p = scoring.load_plays(con, mv)
    if p.height == 0:
        raise InputError(f"model {mv} has no play_predictions")
    all_seasons = sorted(set(p["season"].to_list()))
    if params is None:
        params = scoring.fit_params(p, scoring.default_train_seasons(all_seasons), mv)
        params_note = "weights fitted for this study (no score_weights stored)"
    else:
        params_note = "stored score_weights"
    games = peer_game_sums(con).filter(pl.col("season").is_in(all_seasons))
    reg = games.filter(pl.col("season_type") == "REG").with_columns(
        (pl.col("week") % 2).alias("half"))
    team = (reg.group_by(["season", "passer_id", "team"]).agg(pl.col("db").sum())
            .sort(["season", "passer_id", "db", "team"], descending=[False, False, True, False])
            .unique(["season", "passer_id"], keep="first", maintain_order=True)
            .select("season", "passer_id", "team"))
    name = (reg.group_by(["season", "passer_id", "passer_name"]).agg(pl.col("db").sum())
            .sort(["season", "passer_id", "db", "passer_name"],
                  descending=[False, False, True, False])
            .unique(["season", "passer_id"], keep="first", maintain_order=True)
            .select("season", "passer_id", "passer_name"))
    seasons = peer_metrics(_peer_sum(reg, ["season", "passer_id"])).filter(
        pl.col("db") >= SEASON_MIN).join(team, on=["season", "passer_id"], how="left").join(
        name, on=["season", "passer_id"], how="left")
    halves = peer_metrics(_peer_sum(reg, ["season", "passer_id", "half"])).filter(
        pl.col("db") >= HALF_MIN).join(seasons.select("season", "passer_id"),
                                       on=["season", "passer_id"])
    ours_s, ours_h = _ours(p, params)
    seasons = seasons.join(ours_s, on=["season", "passer_id"], how="left")
    halves = halves.join(ours_h, on=["season", "passer_id", "half"], how="left")
    metrics_order = [OURS, *PEERS, "passing_score_unshrunk"]
    if loso:
        lo = _ours_loso(p, mv)
        if lo is not None:
            seasons = seasons.join(lo[0], on=["season", "passer_id"], how="left")
            halves = halves.join(lo[1], on=["season", "passer_id", "half"], how="left")
            metrics_order.append("passing_score_loso")
    metrics = {m: _metric_block(seasons, halves, m) for m in metrics_order}

    result: dict[str, Any] = {
        "model_version": mv, "seasons": all_seasons, "params": params_note,
        "train_seasons": params["train_seasons"],
        "definitions": {
            "sample": f"REG QB-seasons with >= {SEASON_MIN} dropbacks; halves = odd vs even "
                      f"weeks with >= {HALF_MIN} dropbacks each; dropbacks = qb_dropback plays "
                      "with a passer_id, two-point tries excluded",
            "passing_score": "season (or half) play value shrunk toward the league mean "
                             "(empirical Bayes), the quantity the 50-99 score maps monotonically",
            "epa_per_dropback": "mean qb_epa; success_rate = share with qb_epa > 0",
            "cpoe": "mean of the source's cpoe (nflfastR)",
            "epa_cpoe_composite": "0.2 * EPA/db + 0.009 * CPOE + 0.09",
        },
        "metrics": metrics,
        "game_level": _game_level(con, p, params, games),
        "qbr": _qbr_block(seasons, qbr_path),
        "reference": REFERENCE,
    }
    return result


def _game_level(con: duckdb.DuckDBPyConnection, p: pl.DataFrame, params: dict[str, Any],
                games: pl.DataFrame) -> dict[str, Any]:
    """Association of QB-game metrics with the team's points and win (qualified games)."""
    tv = scoring.with_values(p, params["weights"])
    g = scoring.game_rows(tv, scoring.league_by_week(tv), params, scoring.game_results(con))
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
        "available": True, "seasons": f"{overlap['season'].min()}-{overlap['season'].max()}",
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


# ---------------------------------------------------------------- markdown

LABELS = {OURS: "**Passing Score** (shrunk play value)",
          "passing_score_unshrunk": "Passing Score, unshrunk mean",
          "passing_score_loso": "Passing Score, leave-one-season-out weights",
          "epa_per_dropback": "EPA / dropback", "success_rate": "Success rate", "cpoe": "CPOE",
          "passer_rating": "Passer rating", "any_a": "ANY/A",
          "epa_cpoe_composite": "EPA+CPOE composite", "score": "**Game score** (50-99)",
          "play_value_shrunk": "Game play value (shrunk)"}


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def validity_markdown(result: dict[str, Any]) -> str:
    """The study as markdown tables (what `validate` prints and docs/validity.md quotes)."""
    met = result["metrics"]
    lines = [f"## Validity results: model `{result['model_version']}`", "",
             f"Seasons {result['seasons'][0]}-{result['seasons'][-1]} (REG); weights: "
             f"{result['params']}, trained on {result['train_seasons']}.", "",
             "| metric | split-half r | Spearman-Brown | year-over-year r | next-season EPA/db r "
             "| QB-seasons | half pairs | yoy pairs |",
             "|---|---|---|---|---|---|---|---|"]
    for m, v in met.items():
        lines.append(f"| {LABELS.get(m, m)} | {_f(v['split_half'])} | {_f(v['split_half_sb'])} "
                     f"| {_f(v['yoy'])} | {_f(v['next_season_epa'])} | {v['n_qb_seasons']} "
                     f"| {v['n_half_pairs']} | {v['n_yoy_pairs']} |")
    lines += ["", _verdict(met), ""]
    gl = result["game_level"]
    lines += [f"### Game level ({gl['n_games']} QB-games, {gl['qualified']})", "",
              "| metric | r with team points | r with win | AUC for win |", "|---|---|---|---|"]
    for m, v in gl["metrics"].items():
        lines.append(f"| {LABELS.get(m, m)} | {_f(v['r_points'])} | {_f(v['r_win'])} "
                     f"| {_f(v['auc_win'])} |")
    q = result["qbr"]
    if q.get("available"):
        lines += ["", f"### ESPN QBR ({q['seasons']}: {q['matched']} of {q['qb_seasons']} "
                      "QB-seasons matched)", "", "| metric | r with QBR |", "|---|---|"]
        lines += [f"| {LABELS.get(k, k)} | {_f(v)} |" for k, v in q["r_with_qbr"].items()]
        lines += ["", "| on the QBR-matched QB-seasons | year-over-year r | next-season EPA/db r |",
                  "|---|---|---|",
                  f"| QBR | {_f(q['qbr']['yoy'])} | {_f(q['qbr']['next_season_epa'])} |",
                  f"| Passing Score | {_f(q['passing_score_same_qb_seasons']['yoy'])} "
                  f"| {_f(q['passing_score_same_qb_seasons']['next_season_epa'])} |"]
    return "\n".join(lines) + "\n"


def _verdict(met: dict[str, Any]) -> str:
    """One line per criterion: where the Passing Score ranks among the peers."""
    out = []
    for key, label in (("split_half", "split-half reliability"), ("yoy", "year-over-year"),
                       ("next_season_epa", "next-season EPA/db")):
        vals = {m: met[m][key] for m in (OURS, *PEERS) if met[m][key] is not None}
        if OURS not in vals:
            continue
        order = sorted(vals, key=lambda m: -vals[m])
        pos = order.index(OURS) + 1
        best = order[0] if order[0] != OURS else (order[1] if len(order) > 1 else OURS)
        out.append(f"- {label}: Passing Score ranks {pos} of {len(order)} "
                   f"({_f(vals[OURS])}; best peer {LABELS.get(best, best)} {_f(vals[best])})")
    return "\n".join(out)


def write_validity_markdown(result: dict[str, Any], path: Path | str) -> Path:
    """Write the study's markdown tables to path (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(validity_markdown(result))
    return path
