"""The one registry of warehouse tables: each table's key (enforced as a PRIMARY KEY), its
columns where the layout is a contract, and the helpers every stage creates and writes through.

`plays` and `dropbacks` take their columns from the stage that writes them (the source files
and the features registry); their keys are still declared and enforced here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from passing_score.pipeline.foundation.vocabulary import COMPONENTS
from passing_score.pipeline.foundation.warehouse import table_columns, table_exists


@dataclass(frozen=True)
class Table:
    """A warehouse table: name, key, grain and (for contract tables) its columns in order."""

    name: str
    key: tuple[str, ...]
    grain: str
    columns: Mapping[str, str] | None = None  # None: columns come from the writing stage


def _components(prefix: str) -> dict[str, str]:
    return {f"{prefix}{c}": "DOUBLE" for c in COMPONENTS}


_SCORE_TAIL: dict[str, str] = {
    "scored_dropbacks": "BIGINT", "play_value": "DOUBLE", "play_value_shrunk": "DOUBLE",
    "play_value_sd": "DOUBLE", "league_mean": "DOUBLE", "score": "DOUBLE",
    "score_low": "DOUBLE", "score_high": "DOUBLE", "qualified": "BOOLEAN", "rank": "BIGINT",
    **_components("comp_"), **_components("val_"),
    "epa_per_dropback": "DOUBLE", "cpoe": "DOUBLE", "cp_attempts": "BIGINT",
}

PLAY_PREDICTION_COLUMNS: dict[str, str] = {
    "game_id": "VARCHAR", "play_id": "BIGINT", "passer_id": "VARCHAR", "passer": "VARCHAR",
    "posteam": "VARCHAR", "defteam": "VARCHAR", "season": "BIGINT", "week": "BIGINT",
    "season_type": "VARCHAR", "p_complete": "DOUBLE", "p_int": "DOUBLE", "p_sack": "DOUBLE",
    "exp_yac": "DOUBLE", "yac_q10": "DOUBLE", "yac_q50": "DOUBLE", "yac_q90": "DOUBLE",
    "yac_pit": "DOUBLE",
    "exp_air": "DOUBLE", "air_q10": "DOUBLE", "air_q50": "DOUBLE", "air_q90": "DOUBLE",
    "air_pit": "DOUBLE", "exp_yards": "DOUBLE", "yards_q10": "DOUBLE", "yards_q50": "DOUBLE",
    "yards_q90": "DOUBLE", "yards_pit": "DOUBLE", "complete": "BOOLEAN",
    "interception": "BOOLEAN", "sack": "BOOLEAN", "pass_attempt": "BOOLEAN",
    "scramble": "BOOLEAN", "yards_gained": "INTEGER", "air_yards": "INTEGER", "epa": "DOUBLE",
    "first_down": "BOOLEAN", "touchdown": "BOOLEAN", "cp": "DOUBLE", "model_eligible": "BOOLEAN",
    "model_version": "VARCHAR", "cpoe": "DOUBLE", "int_avoided": "DOUBLE",
    "sack_avoided": "DOUBLE", "yards_z": "DOUBLE", "aggressiveness_z": "DOUBLE",
    "yac_z": "DOUBLE",
    # context models (models/context.py) and the components built on them (docs/scoring.md)
    "qb_epa": "DOUBLE", "yac_epa": "DOUBLE", "xepa": "DOUBLE", "p_success": "DOUBLE",
    "xyac_epa": "DOUBLE", "epa_oe": "DOUBLE", "success_oe": "DOUBLE", "epa_qb_oe": "DOUBLE",
    "yards_qb_z": "DOUBLE",
}

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("plays", ("game_id", "play_id"), "one nflverse play"),
    Table("ingest_log", ("source", "path_or_key"), "one ingested file or download", {
        "source": "VARCHAR", "path_or_key": "VARCHAR", "checksum": "VARCHAR",
        "filter_spec": "VARCHAR", "rows": "BIGINT", "games": "BIGINT",
        "games_written": "BIGINT", "seconds": "DOUBLE", "ingested_at": "TIMESTAMP"}),
    Table("ingested_games", ("game_id",), "one game: its content hash", {
        "game_id": "VARCHAR", "content_hash": "VARCHAR", "rows": "BIGINT", "source": "VARCHAR",
        "source_key": "VARCHAR", "ingested_at": "TIMESTAMP"}),
    Table("game_status", ("game_id",),
          "one game: final or in progress (a live partial file), and its last play", {
              "game_id": "VARCHAR", "final": "BOOLEAN", "last_play_at": "VARCHAR",
              "last_play": "VARCHAR", "plays": "BIGINT", "updated_at": "TIMESTAMP"}),
    Table("dropbacks", ("game_id", "play_id"), "one QB dropback (features registry)"),
    Table("dropbacks_log", ("game_id",), "one game: when its dropbacks were built", {
        "game_id": "VARCHAR", "ingested_at": "TIMESTAMP", "built_at": "TIMESTAMP",
        "spec": "VARCHAR"}),
    Table("play_predictions", ("game_id", "play_id", "model_version"),
          "one dropback x model version", PLAY_PREDICTION_COLUMNS),
    Table("predictions_log", ("game_id", "model_version"),
          "one game x model version: which dropbacks build was predicted", {
              "game_id": "VARCHAR", "model_version": "VARCHAR", "built_at": "TIMESTAMP",
              "predicted_at": "TIMESTAMP"}),
    Table("qb_game_scores", ("passer_id", "game_id", "model_version"), "QB x game", {
        "passer_id": "VARCHAR", "game_id": "VARCHAR", "model_version": "VARCHAR",
        "passer_name": "VARCHAR", "team": "VARCHAR", "opponent": "VARCHAR",
        "season": "BIGINT", "season_type": "VARCHAR", "week": "BIGINT", "dropbacks": "BIGINT",
        **_SCORE_TAIL,
        "team_points": "BIGINT", "opp_points": "BIGINT", "win": "DOUBLE"}),
    Table("qb_season_scores", ("passer_id", "season", "season_type", "model_version"),
          "QB x season x season type (REG, POST, ALL)", {
              "passer_id": "VARCHAR", "season": "BIGINT", "season_type": "VARCHAR",
              "model_version": "VARCHAR", "passer_name": "VARCHAR", "team": "VARCHAR",
              "games": "BIGINT", "team_games": "BIGINT", "dropbacks": "BIGINT",
              **_SCORE_TAIL}),
    Table("players", ("gsis_id",), "one player: full and abbreviated name (nflverse players)", {
        "gsis_id": "VARCHAR", "full_name": "VARCHAR", "short_name": "VARCHAR",
        "first_season": "BIGINT", "last_season": "BIGINT", "source": "VARCHAR",
        "loaded_at": "TIMESTAMP"}),
    Table("score_weights", ("model_version",),
          "one model version: the fitted aggregator (JSON) and when it last scored", {
              "model_version": "VARCHAR", "train_seasons": "VARCHAR", "params": "VARCHAR",
              "scored_at": "TIMESTAMP"}),
)}


def spec(name: str) -> Table:
    """The registry entry of a table (KeyError names the unknown table)."""
    return TABLES[name]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ddl(t: Table, columns: Mapping[str, str]) -> str:
    cols = ", ".join(f"{_q(c)} {typ}{' NOT NULL' if c in t.key else ''}"
                     for c, typ in columns.items())
    return f"{_q(t.name)} ({cols}, PRIMARY KEY ({', '.join(_q(k) for k in t.key)}))"


def create(con: duckdb.DuckDBPyConnection, name: str,
           columns: Mapping[str, str] | None = None) -> None:
    """CREATE TABLE IF NOT EXISTS with the registry's key (and columns, unless the writing
    stage supplies them)."""
    t = TABLES[name]
    cols = columns if columns is not None else t.columns
    if cols is None:
        raise ValueError(f"table {name} takes its columns from the stage that writes it")
    con.execute(f"CREATE TABLE IF NOT EXISTS {_ddl(t, cols)}")


def ensure(con: duckdb.DuckDBPyConnection, name: str, notes: list[str] | None = None) -> None:
    """Create a contract table, or bring an older layout up to date: columns the registry
    added are appended; any other difference rebuilds the table (noted in `notes`)."""
    t = TABLES[name]
    assert t.columns is not None, name
    if not table_exists(con, name):
        create(con, name)
        return
    have = list(table_columns(con, name))
    want = list(t.columns)
    if have == want:
        return
    if want[:len(have)] == have:
        for c in want[len(have):]:
            con.execute(f"ALTER TABLE {_q(name)} ADD COLUMN {_q(c)} {t.columns[c]}")
        return
    con.execute(f"DROP TABLE {_q(name)}")
    create(con, name)
    if notes is not None:
        notes.append(f"{name} had an older layout and was rebuilt")


def create_as(con: duckdb.DuckDBPyConnection, name: str, select_sql: str,
              params: Sequence[object] | None = None) -> None:
    """CREATE OR REPLACE TABLE name AS select, then enforce the registry's key."""
    t = TABLES[name]
    con.execute(f"CREATE OR REPLACE TABLE {_q(name)} AS {select_sql}", list(params or []))
    con.execute(f"ALTER TABLE {_q(name)} ADD PRIMARY KEY ({', '.join(_q(k) for k in t.key)})")


def replace_rows(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, where: str,
                 args: Sequence[object] = ()) -> None:
    """DELETE the rows `where` selects, then INSERT the frame BY NAME (caller holds the
    transaction, so readers see the old rows or the new ones, never a mix)."""
    con.execute(f"DELETE FROM {_q(name)} WHERE {where}", list(args))
    if frame.height:
        view = f"_new_{name}"
        con.register(view, frame)
        try:
            con.execute(f"INSERT INTO {_q(name)} BY NAME SELECT * FROM {view}")
        finally:
            con.unregister(view)


def has_key(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the table enforces the registry's key (tables made by older code may not)."""
    rows = con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE "
                       "table_name = ? AND constraint_type = 'PRIMARY KEY' AND "
                       "database_name = current_database()", [name]).fetchall()
    return any(tuple(r[0]) == TABLES[name].key for r in rows)


def markdown() -> str:
    """The registry as the markdown table of docs/design.md (name, grain, key)."""
    lines = ["| table | grain | key |", "|---|---|---|"]
    lines += [f"| `{t.name}` | {t.grain} | ({', '.join(t.key)}) |" for t in TABLES.values()]
    return "\n".join(lines) + "\n"
