"""The foundation: one table registry with enforced keys, one model-version rule, one
vocabulary, and one-line errors even from exceptions without a message."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from passing_score.models.predict import predict_dropbacks
from passing_score.pipeline.foundation import tables, warehouse
from passing_score.pipeline.foundation.errors import NotFoundError, WarehouseError, first_line
from passing_score.pipeline.foundation.versions import current_version, scored_versions
from passing_score.pipeline.foundation.vocabulary import (
    parse_season_type,
    regular_season_weeks,
    week_season_type,
)


@pytest.mark.parametrize("name", [n for n, t in tables.TABLES.items() if t.columns])
def test_every_contract_table_enforces_its_key(name: str) -> None:
    con = duckdb.connect()
    tables.create(con, name)
    assert tables.has_key(con, name)
    spec = tables.spec(name)
    assert spec.columns is not None
    row = {c: None for c in spec.columns}
    samples = {"VARCHAR": "x", "BIGINT": 1, "INTEGER": 1, "DOUBLE": 1.0, "BOOLEAN": True,
               "TIMESTAMP": datetime(2024, 1, 1)}
    for k in spec.key:
        row[k] = samples[spec.columns[k]]
    con.register("_row", pl.DataFrame([row], schema_overrides={}, strict=False))
    cols = ", ".join(f'"{c}"' for c in spec.key)
    con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _row")
    with pytest.raises(duckdb.ConstraintException):
        con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _row")


def test_play_predictions_layout_is_what_predict_writes(trained_league) -> None:
    from passing_score.features.read import load_dropbacks
    from passing_score.models import artifact

    con = duckdb.connect(str(trained_league.db), read_only=True)
    rows = load_dropbacks(con, [trained_league.season]).head(50)
    con.close()
    art = artifact.load(artifact.resolve(trained_league.data_dir / "models"))
    pred = predict_dropbacks(art.play_models, rows, art.version)
    assert set(pred.columns) == set(tables.PLAY_PREDICTION_COLUMNS)


def test_ensure_adds_new_columns_and_rebuilds_other_layouts() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE score_weights (model_version VARCHAR PRIMARY KEY, "
                "train_seasons VARCHAR, params VARCHAR)")
    con.execute("INSERT INTO score_weights VALUES ('v1', '[]', '{}')")
    tables.ensure(con, "score_weights")
    assert list(warehouse.table_columns(con, "score_weights"))[-1] == "scored_at"
    assert con.execute("SELECT count(*) FROM score_weights").fetchall() == [(1,)]
    con.execute("CREATE TABLE predictions_log (game_id VARCHAR, other VARCHAR)")
    notes: list[str] = []
    tables.ensure(con, "predictions_log", notes)
    assert notes and tables.has_key(con, "predictions_log")


def _scores(con: duckdb.DuckDBPyConnection, version: str, week: int) -> None:
    tables.create(con, "qb_season_scores")
    tables.create(con, "qb_game_scores")
    con.execute("INSERT INTO qb_season_scores (passer_id, season, season_type, model_version) "
                "VALUES ('q', 2024, 'REG', ?)", [version])
    con.execute("INSERT INTO qb_game_scores (passer_id, game_id, model_version, season, week) "
                "VALUES ('q', ?, ?, 2024, ?)", [f"g{week}", version, week])


def test_one_version_rule_newest_scored_then_furthest_week() -> None:
    con = duckdb.connect()
    with pytest.raises(WarehouseError, match="no Passing Scores"):
        current_version(con)
    _scores(con, "pm-a", 10)
    _scores(con, "pm-b", 9)
    assert current_version(con) == "pm-a"  # no stamps: the one reaching the latest week
    tables.ensure(con, "score_weights")
    con.execute("INSERT INTO score_weights VALUES ('pm-a', '[]', '{}', '2024-01-01'), "
                "('pm-b', '[]', '{}', '2024-02-01')")
    assert scored_versions(con) == ["pm-b", "pm-a"] and current_version(con) == "pm-b"
    assert current_version(con, "pm-a") == "pm-a"
    with pytest.raises(NotFoundError, match="pm-zz"):
        current_version(con, "pm-zz")


def test_week_18_is_postseason_through_2020() -> None:
    assert [regular_season_weeks(s) for s in (2016, 2020, 2021, 2024)] == [17, 17, 18, 18]
    assert week_season_type(2020, 18) == "POST" and week_season_type(2021, 18) == "REG"
    assert week_season_type(2024, 19) == "POST"
    assert parse_season_type("all") == "ALL"


def test_an_error_without_a_message_is_still_one_line(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    assert first_line(ValueError()) == "ValueError"
    assert first_line(ValueError("  \nsecond")) == "second"

    def broken(*_: object, **__: object) -> None:
        raise duckdb.IOException("")

    monkeypatch.setattr(warehouse.duckdb, "connect", broken)
    with pytest.raises(WarehouseError, match=r"cannot be opened: IOException$"):
        warehouse.connect(tmp_path / "w.duckdb")


def test_design_doc_lists_the_registry() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()
    assert tables.markdown() in doc, "regenerate the table from tables.markdown()"
