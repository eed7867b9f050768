"""Writing plays per game: content hashes decide which games changed; a changed game's rows are
replaced as a unit, and `plays` widens its columns when a newer file brings more."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.warehouse import (
    fetch_one,
    query_pl,
    table_columns,
    table_exists,
)

SOURCE_TABLE_EXTRAS = ("source", "source_key", "ingested_at")


SCALE = 1e6  # numbers are compared to 1e-6 (text files round floats; pbp values are small)


def _value_hashes(df: pl.DataFrame) -> pl.DataFrame:
    """One hash per value, the same whatever file format the value came from: columns in name
    order; numbers, flags and numeric text hashed as float64 rounded to 1e-6 (a CSV reader
    infers integers, booleans or numbers where parquet stores doubles or text, and text
    writers round floats); other text as text; nulls as null. Decided value by value, so a
    game hashes the same in any file that holds it."""
    exprs = []
    for name in sorted(df.columns):  # one seed: a null hashes alike in any column type
        c, dtype = pl.col(name), df.schema[name]
        if dtype.is_numeric() or dtype == pl.Boolean:
            h = (c.cast(pl.Float64) * SCALE).round().hash(seed=1)
        elif dtype == pl.Null:
            h = c.hash(seed=1)
        else:
            text = c.cast(pl.String)
            num = text.cast(pl.Float64, strict=False)
            h = (pl.when(num.is_not_null()).then((num * SCALE).round().hash(seed=1))
                 .otherwise(text.hash(seed=1)))
        exprs.append(h.alias(name))
    return df.select(exprs)


def game_hashes(df: pl.DataFrame) -> pl.DataFrame:
    """Per-game content hash (order and file-format independent) of the source columns of a
    plays frame: the same plays published as parquet or CSV hash the same."""
    src = df.drop([c for c in (*SOURCE_TABLE_EXTRAS, "game_week") if c in df.columns])
    src = _value_hashes(src)
    h = src.hash_rows(seed=0)
    return (
        pl.DataFrame({"game_id": df["game_id"], "hi": h // (1 << 32), "lo": h % (1 << 32)})
        .group_by("game_id")
        .agg(pl.col("hi").sum(), pl.col("lo").sum(), pl.len().alias("rows"))
        .select("game_id", "rows",
                pl.format("{}-{}-{}-{}", "hi", "lo", "rows", pl.lit(len(src.columns)))
                .alias("content_hash"))
    )


def game_status(df: pl.DataFrame, live: bool = False) -> pl.DataFrame:
    """Per game: final or in progress, the wall time of its last play (`time_of_day`) and the
    quarter and clock of its last play. A game loaded as a live game (`update --game`) is in
    progress until its plays include nflverse's closing "END GAME" row; other loads are
    final."""
    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String) if name in df.columns else pl.lit(None, pl.String)

    secs = pl.col("quarter_seconds_remaining").cast(pl.Int64)
    clock = col("time").fill_null(pl.format("{}:{}", (secs // 60).cast(pl.String).str.zfill(2),
                                            (secs % 60).cast(pl.String).str.zfill(2)))
    last = df.sort("play_id").group_by("game_id", maintain_order=True).agg(
        (col("desc").str.strip_chars().str.to_uppercase() == "END GAME").any().alias("final"),
        col("time_of_day").drop_nulls().max().alias("last_play_at"),
        pl.format("Q{} {}", col("qtr").last(), clock.last()).alias("last_play"),
        pl.len().cast(pl.Int64).alias("plays"))
    return last.with_columns(pl.col("final").fill_null(False) | (not live))


@dataclass
class WriteResult:
    """What one transactional write did."""

    rows_written: int
    games: int
    games_written: int


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")


def _frame_types(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> dict[str, str]:
    """DuckDB type of every column of a frame (all-null columns report "NULL")."""
    con.register("_probe", df.head(0))
    rows = con.execute("DESCRIBE SELECT * FROM _probe").fetchall()
    con.unregister("_probe")
    return {r[0]: r[1] for r in rows}


def _widened(have: str, incoming: str) -> str:
    """A type that holds both: numbers widen to BIGINT/DOUBLE, anything else to VARCHAR."""
    if have in _NUMERIC and incoming in _NUMERIC:
        return "DOUBLE" if "DOUBLE" in (have, incoming) or "FLOAT" in (have, incoming) \
            else "BIGINT"
    return "VARCHAR"


def _ensure_plays_columns(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> None:
    """Create `plays` from the first frame, add columns a newer file brings, widen on conflict.

    All-null source columns carry no type; they are stored as VARCHAR until a file brings real
    values, when the (still empty) column takes that file's type.
    """
    incoming = _frame_types(con, df)
    if not table_exists(con, "plays"):
        cols = {n: "VARCHAR" if t == "NULL" else t for n, t in incoming.items()}
        tables.create(con, "plays", {**cols, "source": "VARCHAR", "source_key": "VARCHAR",
                                     "ingested_at": "TIMESTAMP"})
        return
    have = table_columns(con, "plays")
    for name, t in incoming.items():
        q = '"' + name.replace('"', '""') + '"'
        if name not in have:
            con.execute(f"ALTER TABLE plays ADD COLUMN {q} {'VARCHAR' if t == 'NULL' else t}")
        elif t != "NULL" and t != have[name]:
            filled = fetch_one(con, f"SELECT count({q}) FROM plays")
            new_type = t if filled and filled[0] == 0 else _widened(have[name], t)
            if new_type != have[name]:
                con.execute(f"ALTER TABLE plays ALTER COLUMN {q} TYPE {new_type}")


def write_games(con: duckdb.DuckDBPyConnection, df: pl.DataFrame, source: str,
                source_key: str, live: bool = False) -> WriteResult:
    """Replace the games of `df` whose content changed; caller holds the transaction."""
    tables.create(con, "ingested_games")
    hashes = game_hashes(df)
    known = (
        query_pl(con, "SELECT game_id, content_hash FROM ingested_games")
        if hashes.height else pl.DataFrame(schema={"game_id": pl.String, "content_hash": pl.String})
    )
    changed = hashes.join(known, on=["game_id", "content_hash"], how="anti")
    if changed.height == 0:
        return WriteResult(0, hashes.height, 0)
    new = df.filter(pl.col("game_id").is_in(changed["game_id"].implode()))
    _ensure_plays_columns(con, new)
    con.register("_changed", changed)
    con.register("_new", new)
    con.execute("DELETE FROM plays WHERE game_id IN (SELECT game_id FROM _changed)")
    con.execute("INSERT INTO plays BY NAME SELECT *, ? AS source, ? AS source_key, "
                "now()::TIMESTAMP AS ingested_at FROM _new", [source, source_key])
    con.execute("INSERT OR REPLACE INTO ingested_games SELECT game_id, content_hash, rows, "
                "?, ?, now()::TIMESTAMP FROM _changed", [source, source_key])
    tables.ensure(con, "game_status")
    con.register("_status", game_status(new, live))
    con.execute("INSERT OR REPLACE INTO game_status SELECT *, now()::TIMESTAMP FROM _status")
    for view in ("_changed", "_new", "_status"):
        con.unregister(view)
    return WriteResult(new.height, hashes.height, changed.height)
