"""The one rule for which model version a reader answers with (CLI, API, report, validity).

A version has Passing Scores when `qb_season_scores` holds its rows. Readers default to the
version scored most recently: every `score` or `update` run stamps `score_weights.scored_at`;
a warehouse without those stamps (score tables copied elsewhere) falls back to the version whose
game scores reach the latest week, which is the one the weekly job keeps current.
"""

from __future__ import annotations

import duckdb

from passing_score.pipeline.foundation.errors import NotFoundError, WarehouseError
from passing_score.pipeline.foundation.warehouse import table_columns, table_exists

SCORES_HINT = "run `passing-score score` first"


def scored_versions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Model versions with Passing Scores, the default (most recently scored) first."""
    if not table_exists(con, "qb_season_scores"):
        return []
    joins, order = [], []
    if table_exists(con, "score_weights") and "scored_at" in table_columns(con, "score_weights"):
        joins.append("LEFT JOIN score_weights w USING (model_version)")
        order.append("w.scored_at DESC NULLS LAST")
    if table_exists(con, "qb_game_scores"):
        joins.append("LEFT JOIN (SELECT model_version, max(season * 100 + week) AS reach "
                     "FROM qb_game_scores GROUP BY ALL) g USING (model_version)")
        order.append("g.reach DESC NULLS LAST")
    order.append("s.model_version DESC")
    sql = (f"SELECT s.model_version FROM (SELECT DISTINCT model_version FROM qb_season_scores) "
           f"s {' '.join(joins)} ORDER BY {', '.join(order)}")
    return [str(r[0]) for r in con.execute(sql).fetchall()]


def current_version(con: duckdb.DuckDBPyConnection, requested: str | None = None) -> str:
    """The requested version (checked: NotFoundError when it has no scores) or the default
    one; WarehouseError when the warehouse holds no scores at all."""
    versions = scored_versions(con)
    if not versions:
        raise WarehouseError(f"the warehouse holds no Passing Scores (qb_season_scores): "
                             f"{SCORES_HINT}")
    if requested is None:
        return versions[0]
    if requested not in versions:
        raise NotFoundError(f"model version {requested!r} has no scores "
                            f"(the warehouse holds: {', '.join(sorted(versions))})")
    return requested
