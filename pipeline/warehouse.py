"""The DuckDB warehouse: connections, table creation and transactional per-game writes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import WarehouseError

SOURCE_TABLE_EXTRAS = ("source", "source_key", "ingested_at")

DDL = """
CREATE TABLE IF NOT EXISTS ingest_log (
    source VARCHAR NOT NULL,
    path_or_key VARCHAR NOT NULL,
    checksum VARCHAR NOT NULL,
    filter_spec VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    games BIGINT NOT NULL,
    games_written BIGINT NOT NULL,
    seconds DOUBLE NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, path_or_key)
);
CREATE TABLE IF NOT EXISTS ingested_games (
    game_id VARCHAR PRIMARY KEY,
    content_hash VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL
);
"""


def connect(db: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a missing file (read-only) or a lock held elsewhere is one line."""
    db = Path(db)
    if read_only and not db.exists():
        raise WarehouseError(f"warehouse {db} does not exist yet: run `passing-score ingest` "
                             "(or `make run`) first, or point --db / PASSING_SCORE_DB at one")
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        msg = str(exc).splitlines()[0]
        if "lock" in msg.lower():
            raise WarehouseError(f"warehouse {db} is in use by another process: {msg}") from exc
        raise WarehouseError(f"warehouse {db} cannot be opened: {msg}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"warehouse {db} cannot be opened: {str(exc).splitlines()[0]}") \
            from exc
    if not read_only:
        con.execute(DDL)
    return con


_ATOMIC: set[int] = set()  # ids of connections inside an `atomic` block


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN/COMMIT, ROLLBACK on any error: a failed write leaves the last good state.

    Inside an `atomic` block of the same connection it joins the outer transaction instead.
    """
    if id(con) in _ATOMIC:
        yield con
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextlib.contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction around several stages (ingest, features, predictions, scores): a crash
    or error anywhere leaves the warehouse as it was before, and readers never see a week that
    is ingested but not yet scored. Stages' own `transaction` blocks join it."""
    if id(con) in _ATOMIC:
        yield con
        return
    with transaction(con):
        _ATOMIC.add(id(con))
        try:
            yield con
        finally:
            _ATOMIC.discard(id(con))


def query_pl(con: duckdb.DuckDBPyConnection, sql: str,
             params: list[object] | None = None) -> pl.DataFrame:
    """Run a query and return a polars frame (through Arrow, zero-copy where possible)."""
    rel = con.sql(sql, params=params or None)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    out = pl.from_arrow(fetch())
    assert isinstance(out, pl.DataFrame)
    return out


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str,
              params: list[object] | None = None) -> tuple | None:
    """First row of a query, reading the result to its end (DuckDB 2 blocks unfinished ones)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table exists in the main schema."""
    row = fetch_one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                    [name])
    return bool(row and row[0])


def table_columns(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position", [name]).fetchall()
    return {n: t for n, t in rows}


def require_table(con: duckdb.DuckDBPyConnection, name: str, hint: str) -> None:
    """Fail with a one-line hint when a stage's input table is missing."""
    if not table_exists(con, name):
        raise WarehouseError(f"table {name!r} is missing from the warehouse: {hint}")


def game_hashes(df: pl.DataFrame) -> pl.DataFrame:
    """Per-game content hash (order independent) of the source columns of a plays frame."""
    src = df.drop([c for c in (*SOURCE_TABLE_EXTRAS, "game_week") if c in df.columns])
    src = src.select(sorted(src.columns))
    h = src.hash_rows(seed=0)
    return (
        pl.DataFrame({"game_id": df["game_id"], "hi": h // (1 << 32), "lo": h % (1 << 32)})
        .group_by("game_id")
        .agg(pl.col("hi").sum(), pl.col("lo").sum(), pl.len().alias("rows"))
        .select("game_id", "rows",
                pl.format("{}-{}-{}-{}", "hi", "lo", "rows", pl.lit(len(src.columns)))
                .alias("content_hash"))
    )


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
        cols = ", ".join(f'"{n}" {"VARCHAR" if t == "NULL" else t}' for n, t in incoming.items())
        con.execute(f"CREATE TABLE plays ({cols}, source VARCHAR, source_key VARCHAR, "
                    "ingested_at TIMESTAMP)")
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
                source_key: str) -> WriteResult:
    """Replace the games of `df` whose content changed; caller holds the transaction."""
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
    con.unregister("_changed")
    con.unregister("_new")
    return WriteResult(new.height, hashes.height, changed.height)
