"""Player names beside the plays: the `players` table (gsis id -> full and abbreviated name).

Play-by-play carries only abbreviated names (`J.Allen`); boards, the API, the report and the
exports show full names from nflverse's players table when the warehouse holds it. Sources, in
order: a local folder (`../shared/nflverse/players`, any parquet or csv with a `gsis_id`
column), `nflreadpy.load_players()` online, or nothing (a note; readers then fall back to the
abbreviated name). The table is small (one row per player) and replaced whole on each load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.errors import first_line
from passing_score.pipeline.foundation.warehouse import query_pl, table_exists, transaction

PLAYER_SUFFIXES = (".parquet", ".csv", ".csv.gz")
FULL_NAME_COLUMNS = ("full_name_nflverse", "display_name", "full_name", "name")
SHORT_NAME_COLUMNS = ("passer_player_name", "short_name", "abbreviated_name")
SEASON_COLUMNS = ("season", "last_season", "rookie_season")


@dataclass(frozen=True)
class PlayersReport:
    """What a players load did: rows written (0 when skipped), where from, and a note."""

    rows: int
    source: str | None
    note: str


def _first(df: pl.DataFrame, names: tuple[str, ...]) -> pl.Expr:
    have = [pl.col(c).cast(pl.String) for c in names if c in df.columns]
    return pl.coalesce(have) if have else pl.lit(None, pl.String)


def normalize_players(df: pl.DataFrame) -> pl.DataFrame:
    """One row per gsis id: the newest non-empty full and abbreviated names and the season span.

    Accepts nflverse's players table (display_name, short_name, rookie_season, last_season)
    and the shared passers-by-season file (passer_player_name, full_name_nflverse, season)."""
    if "gsis_id" not in df.columns:
        raise ValueError("no gsis_id column")
    seasons = [c for c in SEASON_COLUMNS if c in df.columns]
    season = (pl.coalesce([pl.col(c).cast(pl.Int64, strict=False) for c in seasons])
              if seasons else pl.lit(None, pl.Int64))
    first = (pl.col("rookie_season").cast(pl.Int64, strict=False) if "rookie_season" in df.columns
             else season)
    rows = df.select(pl.col("gsis_id").cast(pl.String), _first(df, FULL_NAME_COLUMNS)
                     .str.strip_chars().alias("full_name"),
                     _first(df, SHORT_NAME_COLUMNS).str.strip_chars().alias("short_name"),
                     first.alias("_first"), season.alias("_season"))
    rows = rows.filter(pl.col("gsis_id").is_not_null() & (pl.col("gsis_id") != ""))
    rows = rows.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                             for c in ("full_name", "short_name"))
    return (rows.sort(["gsis_id", "_season"], nulls_last=False)
            .group_by("gsis_id", maintain_order=True)
            .agg(pl.col("full_name").drop_nulls().last(), pl.col("short_name").drop_nulls().last(),
                 pl.col("_first").min().alias("first_season"),
                 pl.col("_season").max().alias("last_season"))
            .sort("gsis_id"))


def read_local_players(folder: Path) -> pl.DataFrame | None:
    """Every players file in a folder, normalized; None when the folder has none."""
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.name.lower().endswith(PLAYER_SUFFIXES))
    frames = []
    for f in files:
        df = (pl.read_parquet(f) if f.name.lower().endswith(".parquet")
              else pl.read_csv(f, infer_schema_length=None, null_values=["NA", ""]))
        if "gsis_id" in df.columns:
            frames.append(df)
    if not frames:
        return None
    return normalize_players(pl.concat(frames, how="diagonal_relaxed"))


def download_players() -> pl.DataFrame:
    """nflverse's players table through nflreadpy (needs the network)."""
    import nflreadpy

    return normalize_players(nflreadpy.load_players())


def write_players(con: duckdb.DuckDBPyConnection, players: pl.DataFrame, source: str) -> int:
    """Replace the players table with these rows (one transaction)."""
    frame = players.with_columns(pl.lit(source).alias("source"),
                                 pl.lit(None, pl.Datetime("us")).alias("loaded_at"))
    with transaction(con):
        tables.ensure(con, "players")
        tables.replace_rows(con, "players", frame.drop("loaded_at"), "true")
        con.execute("UPDATE players SET loaded_at = now()::TIMESTAMP")
    return players.height


def load_players(con: duckdb.DuckDBPyConnection, folder: Path | None,
                 online: bool = False) -> PlayersReport:
    """Load player names from `folder` (offline) or nflreadpy (`online`); when neither
    delivers, the warehouse keeps what it had and the note says why."""
    errors: list[str] = []
    if folder is not None:
        local = None
        try:
            local = read_local_players(folder)
        except Exception as exc:  # a broken side file never fails the plays' ingest
            errors.append(f"{folder}: {first_line(exc)[:160]}")
        if local is not None and local.height:
            return PlayersReport(write_players(con, local, f"local:{folder}"), str(folder),
                                 f"{local.height} players from {folder}")
    if online:
        try:
            got = download_players()
            return PlayersReport(write_players(con, got, "nflreadpy"), "nflreadpy",
                                 f"{got.height} players from nflreadpy")
        except Exception as exc:
            errors.append(f"nflreadpy: {first_line(exc)[:160]}")
    where = "; ".join(errors) if errors else (
        f"no players file in {folder}" if folder is not None else "no players source")
    return PlayersReport(0, None, f"player names not loaded ({where}): boards show "
                                  "abbreviated names")


def full_names(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """passer_id -> passer_full_name of every player with a full name (empty without the
    players table)."""
    if not table_exists(con, "players"):
        return pl.DataFrame(schema={"passer_id": pl.String, "passer_full_name": pl.String})
    return query_pl(con, "SELECT gsis_id AS passer_id, full_name AS passer_full_name "
                         "FROM players WHERE full_name IS NOT NULL")


def with_full_names(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> pl.DataFrame:
    """`df` with a `passer_full_name` column (null where unknown), joined on passer_id."""
    df = df.drop("passer_full_name", strict=False)
    names = full_names(con)
    if df.is_empty() or names.is_empty() or "passer_id" not in df.columns:
        return df.with_columns(pl.lit(None, pl.String).alias("passer_full_name"))
    return df.join(names, on="passer_id", how="left")


def display_name(row: dict[str, object]) -> str:
    """The name people read: full name, else the abbreviated one, else the id."""
    for key in ("passer_full_name", "passer_name", "passer_id"):
        v = row.get(key)
        if v:
            return str(v)
    return "-"
