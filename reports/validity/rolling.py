"""The rolling-origin validity study (the default of `passing-score validate`, docs/validity.md).

Every origin season t is scored by play models that never saw it (the origin's predictions
of seasons first..t, made by the jobs layer) and by aggregators fitted on the REG seasons < t
with those predictions. Which pre-specified candidate scores t is chosen by leave-one-season-
out criteria within the seasons < t (nested choice), so no statistic of an evaluated season
enters a fit or a choice. Peers come from `plays` on the same QB-seasons. Frames in, a JSON-
ready dict out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from passing_score.models.aggregator import (
    CANDIDATES,
    PRODUCTION,
    REPORT_ONLY,
    Aggregator,
    Config,
    Stats,
    fit,
    summarise,
)
from passing_score.pipeline.foundation.errors import InputError
from passing_score.reports.validity import checks
from passing_score.reports.validity.ours import OURS, season_and_halves
from passing_score.reports.validity.peers import PEERS, match_qbr, peer_tables
from passing_score.reports.validity.stats import (
    CRITERIA,
    bootstrap,
    correlations,
    pair_tables,
    pearson,
    r4,
    team_changers,
)

BOOT = 2000
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Origin:
    """One origin: season t and the play_predictions rows of seasons first..t made by play
    models fitted on `model_seasons` (all < t)."""

    season: int
    model_version: str
    model_seasons: tuple[int, ...]
    plays: pl.DataFrame = field(repr=False)


class _Cache:
    """Statistics of one origin's predictions per component list."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self._stats: dict[tuple[str, ...], Stats] = {}

    def stats(self, components: tuple[str, ...]) -> Stats:
        if components not in self._stats:
            self._stats[components] = summarise(self.origin.plays, components)
        return self._stats[components]


def _check(origins: Sequence[Origin]) -> None:
    """The protocol's promise: no origin's play models saw its season, and its predictions
    reach no later season."""
    for o in origins:
        late = [s for s in o.model_seasons if s >= o.season]
        after = sorted({int(s) for s in o.plays["season"].unique().to_list() if s > o.season})
        if late or after:
            raise ValueError(f"origin {o.season}: play models saw {late} or predictions "
                             f"reach {after}")


def _train(o: Origin, first: int) -> list[int]:
    """The aggregator's training seasons of an origin: every season first..t-1."""
    return list(range(first, o.season))


def _score(cfg: Config, caches: Mapping[int, _Cache], first: int
           ) -> tuple[pl.DataFrame, pl.DataFrame, dict[int, Aggregator]]:
    """A candidate out of sample: season and half values of every origin season."""
    fs, hs, fits = [], [], {}
    for t, c in caches.items():
        st = c.stats(cfg.components)
        agg = fit(st, _train(c.origin, first), f"rolling-{t}-{cfg.name}", cfg)
        a, b = season_and_halves(agg, st, [t])
        fs.append(a)
        hs.append(b)
        fits[t] = agg
    return pl.concat(fs), pl.concat(hs), fits


def inner_criteria(cfg: Config, cache: _Cache, peers_s: pl.DataFrame, peers_h: pl.DataFrame,
                   first: int) -> dict[str, float | None]:
    """Leave-one-season-out criteria within the training seasons of an origin (seasons < t,
    origin-t predictions); J = their mean. Bootstrap refits off: values do not use them."""
    quick = dataclasses.replace(cfg, boot=0)
    st = cache.stats(cfg.components)
    train = _train(cache.origin, first)
    fs, hs = [], []
    for s in train:
        try:
            agg = fit(st, [x for x in train if x != s], "inner", quick)
        except InputError:  # too few pairs without season s: no criterion, never chosen
            return {**dict.fromkeys(CRITERIA), "J": None}
        a, b = season_and_halves(agg, st, [s])
        fs.append(a.select("season", "passer_id", OURS))
        hs.append(b.select("season", "passer_id", "half", OURS))
    seas = peers_s.join(pl.concat(fs), on=["season", "passer_id"], how="left")
    hal = peers_h.join(pl.concat(hs), on=["season", "passer_id", "half"], how="left")
    r = correlations(pair_tables(seas, hal, [OURS, "epa_per_dropback"], min(train),
                                 max(train)), [OURS])[OURS]
    vals = [v for c in CRITERIA if (v := r[c]) is not None]
    return {**{c: r4(r[c]) for c in CRITERIA}, "J": r4(float(np.mean(vals))) if vals else None}


def _peers(peer_games: pl.DataFrame, qbr: pl.DataFrame | None, seasons: list[int]
           ) -> tuple[pl.DataFrame, pl.DataFrame]:
    s, h = peer_tables(peer_games, seasons)
    if qbr is not None and qbr.height:
        s = s.join(match_qbr(s, qbr), on=["season", "passer_id"], how="left")
    else:
        s = s.with_columns(pl.lit(None, pl.Float64).alias("qbr"))
    return (s.select("season", "passer_id", "team", "passer_name", "db", *PEERS, "qbr"),
            h.select("season", "passer_id", "half", "db", *PEERS))


def _qbr_block(seas: pl.DataFrame, lo: int, hi: int) -> dict[str, Any]:
    """QBR's own stability on the pairs it covers, ours on the same pairs."""
    tabs = pair_tables(seas.filter(pl.col("qbr").is_not_null()), seas.head(0).with_columns(
        pl.lit(0).alias("half")), [OURS, "qbr", "epa_per_dropback"], lo, hi)
    p = tabs["yoy"].drop_nulls(["qbr", "qbr_b"])
    return {"n_pairs": p.height, "yoy": r4(pearson(p["qbr"], p["qbr_b"])),
            "next_season_epa": r4(pearson(p["qbr"], p["epa_per_dropback_b"])),
            "ours_yoy_same_pairs": r4(pearson(p[OURS], p[f"{OURS}_b"])),
            "ours_next_same_pairs": r4(pearson(p[OURS], p["epa_per_dropback_b"]))}


def rolling_study(origins: Sequence[Origin], peer_games: pl.DataFrame,
                  qbr: pl.DataFrame | None = None, results: pl.DataFrame | None = None, *,
                  candidates: Mapping[str, Config] = CANDIDATES,
                  report_only: Mapping[str, Config] = REPORT_ONLY,
                  evaluated: tuple[int, int] | None = None, boot: int = BOOT,
                  progress: Progress | None = None) -> dict[str, Any]:
    """The rolling study: every candidate out of sample, the nested choice (the headline
    `metrics.passing_score`), peers, bootstrap CIs, team changers, drift, interval coverage,
    single games. `evaluated` (default: every origin but the first) bounds the seasons the
    targets are judged on."""
    say = progress or (lambda _msg: None)
    _check(origins)
    origins = sorted(origins, key=lambda o: o.season)
    first = min(min(o.plays["season"].to_list()) for o in origins)
    lo, hi = evaluated or ((origins[1].season if len(origins) > 1 else origins[0].season),
                           origins[-1].season)
    caches = {o.season: _Cache(o) for o in origins}
    peers_s, peers_h = _peers(peer_games, qbr, list(range(first, origins[-1].season + 1)))

    scores: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}
    fits: dict[str, dict[int, Aggregator]] = {}
    for name, cfg in {**candidates, **report_only}.items():
        a, b, f = _score(cfg, caches, first)
        scores[name], fits[name] = (a, b), f
        say(f"candidate {name} scored")
    inner: dict[int, dict[str, Any]] = {}
    chosen: dict[int, str] = {}
    for t, c in caches.items():
        inner[t] = {n: inner_criteria(cfg, c, peers_s, peers_h, first)
                    for n, cfg in candidates.items()}
        ok = {n: v["J"] for n, v in inner[t].items() if v["J"] is not None}
        chosen[t] = max(sorted(ok), key=lambda n: ok[n]) if ok else PRODUCTION.name
        say(f"origin {t}: chose {chosen[t]}")
    scores["nested"] = (
        pl.concat([scores[chosen[t]][0].filter(pl.col("season") == t) for t in caches]),
        pl.concat([scores[chosen[t]][1].filter(pl.col("season") == t) for t in caches]))

    seas, hal = peers_s, peers_h
    for name, (a, b) in scores.items():
        col = OURS if name == "nested" else f"ours_{name}"
        seas = seas.join(a.select("season", "passer_id", pl.col(OURS).alias(col)),
                         on=["season", "passer_id"], how="left")
        hal = hal.join(b.select("season", "passer_id", "half", pl.col(OURS).alias(col)),
                       on=["season", "passer_id", "half"], how="left")
    variants = [f"ours_{n}" for n in scores if n != "nested"]
    metrics = [OURS, *PEERS]
    tabs = pair_tables(seas, hal, [*metrics, *variants], lo, hi)
    corr = correlations(tabs, [*metrics, *variants])
    say("correlations done; bootstrap")
    boot_res = bootstrap(tabs, metrics, OURS, reps=boot)

    drift_rows, last_rows, cover, games = [], [], {}, {}
    for t, c in caches.items():
        agg = fits[chosen[t]][t]
        st = c.stats(agg.components)
        drift_rows.append(checks.boards(agg, st, t))
        cover[t] = checks.half_coverage(agg, st, t)
        games[t] = checks.game_level(agg, st, t, results)
    t_last = origins[-1].season
    last_fit = fits[chosen[t_last]][t_last]
    last_stats = caches[t_last].stats(last_fit.components)
    for s in range(first, t_last + 1):
        last_rows.append(checks.boards(last_fit, last_stats, s))
    checked = [v for v in cover.values() if v["pairs"]]
    allc = {k: r4(float(np.average([v[k] for v in checked],
                                   weights=[v["pairs"] for v in checked]))) if checked else None
            for k in ("observed", "implied", "z_sd", "z_cover_80")}
    say("drift, coverage and games done")
    return {
        "protocol": {
            "name": "rolling-origin", "first_season": first,
            "evaluated_seasons": [lo, hi],
            "origins": {str(o.season): {
                "play_models": o.model_version, "play_model_seasons": list(o.model_seasons),
                "predicted_seasons": sorted({int(x) for x in o.plays["season"].to_list()}),
                "aggregator_seasons": _train(o, first), "chosen": chosen[o.season]}
                for o in origins},
            "selection": "nested: at origin t each pre-specified candidate's J = mean(split-"
                         "half r, year-over-year r, next-season EPA/db r) by leave-one-season-"
                         "out within the seasons < t; the argmax scores t",
            "pairs": "year-over-year and next-season pairs (t, t+1) with both seasons "
                     "evaluated, each scored out of sample",
            "candidates": {n: c.to_dict() for n, c in candidates.items()},
            "report_only": {n: c.to_dict() for n, c in report_only.items()},
            "production": PRODUCTION.name},
        "chosen": {str(t): n for t, n in chosen.items()},
        "inner": {str(t): v for t, v in inner.items()},
        "metrics": {m: {**{k: r4(v) for k, v in corr[m].items()},
                        "n_half_pairs": tabs["split_half"].height,
                        "n_yoy_pairs": tabs["yoy"].height} for m in metrics},
        "variants": {m: {k: r4(v) for k, v in corr[m].items()} for m in variants},
        "qbr": _qbr_block(seas, lo, hi),
        "bootstrap": boot_res,
        "team_changers": team_changers(seas, [*metrics, "qbr", *variants], lo, hi),
        "drift": {"nested": checks.drift_table(pl.concat(drift_rows)),
                  "last_fit_all_seasons": checks.drift_table(pl.concat(last_rows))},
        "half_coverage": {"by_season": {str(t): v for t, v in cover.items()}, "all": allc},
        "game_level": {str(t): v for t, v in games.items()},
        "weights": {n: {str(t): {c: round(w, 4) for c, w in f.weights.items()}
                        for t, f in fs.items()} for n, fs in fits.items()},
    }
