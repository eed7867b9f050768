"""The prediction step of the scoring stage: `play_predictions` of a model version for every
game whose dropbacks were (re)built since that version last predicted it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb

from passing_score.models.artifact import Artifact
from passing_score.models.predict import predict_dropbacks
from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.warehouse import (
    query_pl,
    require_table,
    table_exists,
    transaction,
)

Progress = Callable[[int, int], Any]


def refresh_predictions(con: duckdb.DuckDBPyConnection, art: Artifact, full: bool = False,
                        progress: Progress | None = None) -> tuple[int, int]:
    """Predict the games whose dropbacks were (re)built since this version last predicted them
    (all games with `full`), and drop predictions of games no longer in `dropbacks`.

    One transaction: readers keep seeing the previous predictions until it commits.
    Returns (games predicted, rows written).
    """
    require_table(con, "dropbacks", "run `passing-score features` first")
    built = query_pl(con, "SELECT game_id, built_at FROM dropbacks_log")
    if table_exists(con, "predictions_log") and not full:
        done = query_pl(con, "SELECT game_id, built_at FROM predictions_log "
                             "WHERE model_version = ?", [art.version])
        todo = built.join(done, on=["game_id", "built_at"], how="anti")
    else:
        todo = built
    con.register("_todo", todo)
    try:
        dropbacks = query_pl(con, "SELECT d.* FROM dropbacks d SEMI JOIN _todo USING (game_id) "
                                  "ORDER BY game_id, play_id")
        history = None
        sc = art.scorer
        if dropbacks.height and any(sc.in_season(n) for n in sc.levels):
            # in-season level updates: week k's league level comes from the same season's
            # weeks < k, so read the touched seasons' dropbacks (the models take frames)
            con.register("_seasons", dropbacks.select("season").unique())
            try:
                history = query_pl(con, "SELECT * FROM dropbacks WHERE season IN "
                                        "(SELECT season FROM _seasons)")
            finally:
                con.unregister("_seasons")
        pred = predict_dropbacks(sc, dropbacks, art.version, progress, history) \
            if dropbacks.height else None
        with transaction(con):
            tables.ensure(con, "predictions_log")
            tables.ensure(con, "play_predictions")
            if pred is not None:
                tables.replace_rows(con, "play_predictions", pred,
                                    "model_version = ? AND game_id IN (SELECT game_id FROM "
                                    "_todo)", [art.version])
            # games gone from dropbacks lose their predictions of this version
            con.execute("DELETE FROM play_predictions WHERE model_version = ? AND game_id NOT "
                        "IN (SELECT game_id FROM dropbacks_log)", [art.version])
            con.execute("DELETE FROM predictions_log WHERE model_version = ? AND (game_id IN "
                        "(SELECT game_id FROM _todo) OR game_id NOT IN (SELECT game_id FROM "
                        "dropbacks_log))", [art.version])
            con.execute("INSERT INTO predictions_log SELECT game_id, ?, built_at, "
                        "now()::TIMESTAMP FROM _todo", [art.version])
    finally:
        con.unregister("_todo")
    return todo.height, 0 if pred is None else pred.height
