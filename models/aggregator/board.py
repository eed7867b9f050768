"""Season-to-date boards: the season rows of one scope through a week, the change since the
previous week, and the re-centred scale of a football split."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from passing_score.models.aggregator.apply import rank_rows, season_rows
from passing_score.models.aggregator.params import Aggregator, Scale
from passing_score.models.aggregator.sums import league_by_week
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.scalars import as_float
from passing_score.pipeline.foundation.vocabulary import COMPONENTS


def board_rows(tv: pl.DataFrame, league: pl.DataFrame, agg: Aggregator, season_type: str,
               week: int, min_dropbacks: int | None) -> pl.DataFrame:
    """Season rows of one scope through `week`; qualified/rank by min_dropbacks if given."""
    rows = season_rows(tv.filter(pl.col("week") <= week), league, agg, scopes=(season_type,))
    if min_dropbacks is not None:
        rows = rank_rows(rows.with_columns((pl.col("dropbacks") >= min_dropbacks)
                                           .alias("qualified")), ["season", "season_type"])
    return rows


def recentred(agg: Aggregator, full: pl.DataFrame, part: pl.DataFrame) -> Aggregator:
    """Scale of a split: shifted so the split's league average scores like the season's league
    average (a deep-throw value is compared with other deep throws, not with all dropbacks);
    the spread stays the season's, so split and season scores read on the same scale.
    `full` and `part` are valued plays (`with_values`) of the season and of the split."""
    sc = agg.scales["season"]
    mean = sc.mean + (as_float(part["v"].mean()) - as_float(full["v"].mean()))
    comps = {}
    for c in COMPONENTS:
        m, sd = sc.components[c]
        shift = as_float(part[f"c_{c}"].mean()) - as_float(full[f"c_{c}"].mean())
        comps[c] = (m + shift, sd)
    season = Scale(mean=mean, sd=sc.sd, rows=sc.rows, components=comps)
    return replace(agg, scales={**agg.scales, "season": season})


def season_to_date(tv: pl.DataFrame, agg: Aggregator, season: int, season_type: str,
                   week: int | None, min_dropbacks: int | None) -> pl.DataFrame:
    """The qualified QBs of one season and scope through `week` (default: all of it), ranked,
    with `score_change` against the board of the previous week with games and a `week`
    column naming the last week included. `tv`: valued plays of that season."""
    scope = tv if season_type == "ALL" else tv.filter(pl.col("season_type") == season_type)
    weeks = sorted(set(scope["week"].to_list()))
    if not weeks:
        raise InputError(f"season {season} has no {season_type} games")
    last = weeks[-1] if week is None else max([w for w in weeks if w <= week], default=None)
    if last is None:
        raise InputError(f"season {season} has no {season_type} games by week {week} "
                         f"(first week: {weeks[0]})")
    league = league_by_week(tv)
    board = board_rows(tv, league, agg, season_type, last, min_dropbacks)
    prev = [w for w in weeks if w < last]
    if prev:
        before = board_rows(tv, league, agg, season_type, prev[-1], min_dropbacks)
        board = board.join(before.select("passer_id", pl.col("score").alias("_prev")),
                           on="passer_id", how="left").with_columns(
            (pl.col("score") - pl.col("_prev")).alias("score_change")).drop("_prev")
    else:
        board = board.with_columns(pl.lit(None, pl.Float64).alias("score_change"))
    board = board.filter(pl.col("qualified")).sort(["rank"])
    return board.with_columns(pl.lit(last).cast(pl.Int64).alias("week"))
