"""Writing plays per game: content hashes decide which games changed; changed games' rows are
replaced as units, set-wise, and `plays` widens its columns when a newer file brings more."""

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
    schema = df.schema  # built once: each `df.schema` call walks all ~320 columns
    for name in sorted(df.columns):  # one seed: a null hashes alike in any column type
        c, dtype = pl.col(name), schema[name]
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
    wanted = ("game_id", "play_id", "desc", "time_of_day", "qtr", "time",
              "quarter_seconds_remaining")
    slim = df.select([c for c in wanted if c in df.columns])
    last = slim.sort("play_id").group_by("game_id", maintain_order=True).agg(
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
    """DuckDB type of every column of a frame (all-null columns report "NULL"; DuckDB 2 spells
    it quoted, which left such columns typed NULL and altered later)."""
    con.register("_probe", df.head(0))
    rows = con.execute("DESCRIBE SELECT * FROM _probe").fetchall()
    con.unregister("_probe")
    return {r[0]: "NULL" if r[1] == '"NULL"' else r[1] for r in rows}


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


FLUSH_ROWS = 200_000  # pending plays that fill a set-wise write (bounds memory; DuckDB
# writes full row groups in parallel during a large INSERT, small ones single-threaded)


def _groups(frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """Concatenate frames whose shared typed columns agree (all-null columns dropped: an
    INSERT BY NAME leaves them null), so most runs insert in one statement."""
    groups: list[tuple[dict[str, pl.DataType], list[pl.DataFrame]]] = []
    for df in frames:
        df = df.select([n for n, t in df.schema.items() if t != pl.Null])
        sch = dict(df.schema)
        for have, members in groups:
            if all(have[n] == t for n, t in sch.items() if n in have):
                have.update(sch)
                members.append(df)
                break
        else:
            groups.append((sch, [df]))
    return [pl.concat(m, how="diagonal", rechunk=False) if len(m) > 1 else m[0]
            for _, m in groups]


class GameWriter:
    """Writes changed games set-wise: `add` hashes a file's games and keeps those whose
    content is new, `flush` writes them all with one DELETE and one INSERT. The caller holds
    the transaction; a game in several files takes its last version, as file by file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, live: bool = False) -> None:
        self.con, self.live = con, live
        tables.create(con, "ingested_games")
        known = query_pl(con, "SELECT game_id, content_hash FROM ingested_games")
        self.known: dict[str, str] = dict(zip(known["game_id"].to_list(),
                                              known["content_hash"].to_list(), strict=True))
        self.frames: list[pl.DataFrame] = []
        self.changed: list[pl.DataFrame] = []
        self.status: list[pl.DataFrame] = []
        self.pending: set[str] = set()

    def add(self, df: pl.DataFrame, source: str, source_key: str) -> WriteResult:
        """Keep the games of `df` whose content hash differs from the stored (or pending) one."""
        hashes = game_hashes(df)
        old = pl.Series("content_hash", [self.known.get(g) for g in hashes["game_id"]],
                        dtype=pl.String)
        changed = hashes.filter(hashes["content_hash"].ne_missing(old))
        if changed.height == 0:
            return WriteResult(0, hashes.height, 0)
        ids = changed["game_id"]
        new = df if changed.height == hashes.height else \
            df.filter(pl.col("game_id").is_in(ids.implode()))
        if not self.pending.isdisjoint(ids.to_list()):  # a pending game replaced by this file
            keep = ~pl.col("game_id").is_in(ids.implode())
            self.frames = [f.filter(keep) for f in self.frames]
            self.changed = [f.filter(keep) for f in self.changed]
            self.status = [f.filter(keep) for f in self.status]
        self.known.update(zip(ids.to_list(), changed["content_hash"].to_list(), strict=True))
        extras = {"source": pl.lit(source, pl.String), "source_key": pl.lit(source_key, pl.String)}
        self.frames.append(new.with_columns(**extras))
        self.changed.append(changed.with_columns(**extras))
        self.status.append(game_status(new, self.live))
        self.pending.update(ids.to_list())
        return WriteResult(new.height, hashes.height, changed.height)

    @property
    def full(self) -> bool:
        """Enough plays pending for one set-wise write."""
        return sum(f.height for f in self.frames) >= FLUSH_ROWS

    def flush(self) -> None:
        """Write the pending games: DELETE their old rows, INSERT the new set-wise."""
        if not self.frames:
            return
        con = self.con
        changed = pl.concat(self.changed)
        status = pl.concat(self.status)
        for f in self.frames:
            _ensure_plays_columns(con, f.drop("source", "source_key"))
        con.register("_changed", changed)
        con.execute("DELETE FROM plays WHERE game_id IN (SELECT game_id FROM _changed)")
        for group in _groups(self.frames):  # Arrow string views: no copy of the text columns
            con.register("_new", group.to_arrow(compat_level=pl.CompatLevel.newest()))
            con.execute("INSERT INTO plays BY NAME SELECT *, now()::TIMESTAMP AS ingested_at "
                        "FROM _new")
            con.unregister("_new")
        con.execute("INSERT OR REPLACE INTO ingested_games SELECT game_id, content_hash, rows, "
                    "source, source_key, now()::TIMESTAMP FROM _changed")
        tables.ensure(con, "game_status")
        con.register("_status", status)
        con.execute("INSERT OR REPLACE INTO game_status SELECT *, now()::TIMESTAMP FROM _status")
        for view in ("_changed", "_status"):
            con.unregister(view)
        self.frames, self.changed, self.status = [], [], []
        self.pending.clear()


def write_games(con: duckdb.DuckDBPyConnection, df: pl.DataFrame, source: str,
                source_key: str, live: bool = False) -> WriteResult:
    """Replace the games of `df` whose content changed; caller holds the transaction."""
    writer = GameWriter(con, live)
    result = writer.add(df, source, source_key)
    writer.flush()
    return result
