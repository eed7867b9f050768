"""The DuckDB warehouse: connections, transactions and small query helpers every stage uses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from passing_score.pipeline.foundation.errors import WarehouseError, first_line


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
        msg = first_line(exc)
        if "lock" in msg.lower():
            raise WarehouseError(f"warehouse {db} is in use by another process: {msg}") from exc
        raise WarehouseError(f"warehouse {db} cannot be opened: {msg}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"warehouse {db} cannot be opened: {first_line(exc)}") \
            from exc
    return con


@contextlib.contextmanager
def reading(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection closed when the block ends, however it ends."""
    con = connect(db, read_only=True)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def writing(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writer connection closed when the block ends, however it ends."""
    con = connect(db)
    try:
        yield con
    finally:
        con.close()


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


def in_atomic(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection is inside an `atomic` block (its transactions join that one)."""
    return id(con) in _ATOMIC


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
