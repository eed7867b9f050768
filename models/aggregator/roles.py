"""A QB's role: his share of his team's dropbacks, which sets the prior of a fill-in's game
(and, in the report-only `role` candidate, of his season)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from passing_score.models.aggregator.posterior import role_indicator


def season_share(games: pl.DataFrame, rows: pl.DataFrame, extra: Sequence[str] = ()
                 ) -> np.ndarray:
    """Share of his main team's dropbacks of each (season, passer_id, *extra) row, from the
    game statistics of the same scope and only the row's own games (a half-season row uses
    that half's games: nothing from the other half enters it)."""
    ex = [e for e in extra if e in games.columns and e in rows.columns]
    team_db = games.group_by(["season", *ex, "team"]).agg(pl.col("db").sum().alias("team_db"))
    main = (games.group_by(["season", "passer_id", *ex, "team"]).agg(pl.col("db").sum())
            .sort(["season", "passer_id", *ex, "db", "team"],
                  descending=[False, False, *[False] * len(ex), True, False])
            .unique(["season", "passer_id", *ex], keep="first", maintain_order=True)
            .join(team_db, on=["season", *ex, "team"])
            .select("season", "passer_id", *ex,
                    (pl.col("db") / pl.col("team_db")).alias("_share")))
    j = rows.select("season", "passer_id", *ex).join(main, on=["season", "passer_id", *ex],
                                                     how="left", maintain_order="left")
    return j["_share"].fill_null(1.0).clip(0.0, 1.0).to_numpy()


def game_share(games: pl.DataFrame) -> np.ndarray:
    """Each game row's QB share of his team's dropbacks in the season through that week."""
    team = (games.group_by(["season", "team", "week"]).agg(pl.col("db").sum().alias("t"))
            .sort(["season", "team", "week"])
            .with_columns(pl.col("t").cum_sum().over(["season", "team"]).alias("tc")))
    qb = (games.group_by(["season", "passer_id", "team", "week"])
          .agg(pl.col("db").sum().alias("q")).sort(["season", "passer_id", "team", "week"])
          .with_columns(pl.col("q").cum_sum().over(["season", "passer_id", "team"]).alias("qc")))
    j = (games.select("season", "passer_id", "team", "week")
         .join(qb.select("season", "passer_id", "team", "week", "qc"),
               on=["season", "passer_id", "team", "week"], how="left", maintain_order="left")
         .join(team.select("season", "team", "week", "tc"), on=["season", "team", "week"],
               how="left", maintain_order="left"))
    return (j["qc"] / j["tc"]).fill_null(1.0).fill_nan(1.0).clip(0.0, 1.0).to_numpy()


def fill_in_offset(x: np.ndarray, share: np.ndarray, n: np.ndarray, use: np.ndarray
                   ) -> np.ndarray:
    """Per-component mean of a fill-in's relative means minus a primary passer's (weighted
    least squares on the role indicator, weights n, rows `use`)."""
    xs, ind, w = x[use], role_indicator(share[use]), n[use].astype(np.float64)
    if len(ind) == 0 or ind.min() == ind.max():
        return np.zeros(x.shape[1])
    a = np.column_stack([np.ones_like(ind), ind - 1.0])
    aw = a * w[:, None]
    coef = np.linalg.lstsq(aw.T @ a, aw.T @ xs, rcond=None)[0]
    return -coef[1]
