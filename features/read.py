"""Reading `dropbacks`: the rows the play models train and predict on, by season."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from passing_score.pipeline.foundation.warehouse import query_pl, require_table

HINT = "run `passing-score features` first"


def dropback_seasons(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Seasons present in `dropbacks`."""
    require_table(con, "dropbacks", HINT)
    return [int(r[0]) for r in con.execute("SELECT DISTINCT season FROM dropbacks ORDER BY 1")
            .fetchall()]


def load_dropbacks(con: duckdb.DuckDBPyConnection, seasons: Sequence[int] | None = None
                   ) -> pl.DataFrame:
    """Dropbacks of the given seasons (all when None), ordered by game and play."""
    require_table(con, "dropbacks", HINT)
    if seasons is None:
        return query_pl(con, "SELECT * FROM dropbacks ORDER BY game_id, play_id")
    marks = ", ".join("?" * len(seasons))
    return query_pl(con, f"SELECT * FROM dropbacks WHERE season IN ({marks}) "
                         "ORDER BY game_id, play_id", list(seasons))


def completed_seasons(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Seasons in `dropbacks` that are complete: every one but the newest while it has no
    postseason game yet (the production fit's default seasons)."""
    require_table(con, "dropbacks", HINT)
    rows = con.execute("SELECT season, bool_or(season_type = 'POST') FROM dropbacks "
                       "GROUP BY season ORDER BY 1").fetchall()
    if rows and not rows[-1][1]:
        rows = rows[:-1]
    return [int(r[0]) for r in rows]
