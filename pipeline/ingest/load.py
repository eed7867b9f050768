"""Ingestion: read each batch, validate it whole, filter it, then write the changed games of
many batches set-wise in one transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.errors import InputError, PassingScoreError, first_line
from passing_score.pipeline.foundation.vocabulary import parse_season_type
from passing_score.pipeline.foundation.warehouse import (
    atomic,
    fetch_one,
    in_atomic,
    transaction,
)
from passing_score.pipeline.ingest.sources import Batch, PbpSource, frame_checksum
from passing_score.pipeline.ingest.store import GameWriter, write_games
from passing_score.pipeline.ingest.validate import validate_plays


def parse_range(text: str | None, what: str) -> list[int] | None:
    """'2019-2023', '2019,2021', '5' -> sorted ints; None stays None."""
    if text is None or str(text).strip() == "":
        return None
    out: set[int] = set()
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a:
                    raise ValueError
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
    except ValueError:
        raise InputError(f"--{what} {text!r}: use a number, a range like 2019-2023, "
                         "or a comma list") from None
    return sorted(out)


@dataclass(frozen=True)
class PlayFilter:
    """Which plays to take: seasons, weeks (REG 1-18 then POST 19-22, as in game ids), type."""

    seasons: tuple[int, ...] | None = None
    weeks: tuple[int, ...] | None = None
    season_type: str | None = None  # REG or POST; None (or ALL when parsed) takes both
    game: str | None = None  # one game id (a live game's partial file)

    def __post_init__(self) -> None:
        if self.season_type is not None and self.season_type not in ("REG", "POST"):
            raise InputError(f"--season-type {self.season_type!r}: use REG, POST or ALL")

    @classmethod
    def parse(cls, seasons: str | None = None, weeks: str | None = None,
              season_type: str | None = None) -> PlayFilter:
        """Build from CLI text."""
        s, w = parse_range(seasons, "seasons"), parse_range(weeks, "weeks")
        st = parse_season_type(season_type, "--season-type") if season_type else None
        return cls(tuple(s) if s else None, tuple(w) if w else None,
                   None if st == "ALL" else st)

    def spec(self) -> str:
        """Stable text form recorded in the ingest log."""
        spec = f"seasons={self.seasons};weeks={self.weeks};type={self.season_type}"
        return spec + (f";game={self.game}" if self.game else "")

    def expr(self) -> pl.Expr:
        """Polars predicate over `season`, `game_week` (or `game_id`) and `season_type`."""
        e = pl.lit(True)
        if self.seasons:
            e &= pl.col("season").is_in(list(self.seasons))
        if self.weeks:
            gw = pl.col("game_id").str.slice(5, 2).cast(pl.Int64, strict=False)
            e &= gw.is_in(list(self.weeks))
        if self.season_type:
            e &= pl.col("season_type") == self.season_type
        if self.game:
            e &= pl.col("game_id") == self.game
        return e


@dataclass
class BatchResult:
    """What happened to one file or download."""

    key: str
    status: str  # loaded | unchanged | no-match | rejected
    rows: int = 0
    games: int = 0
    games_written: int = 0
    error: str | None = None


@dataclass
class IngestReport:
    """Results per batch, in order."""

    results: list[BatchResult] = field(default_factory=list)

    @property
    def rejected(self) -> list[BatchResult]:
        """Batches refused at the door."""
        return [r for r in self.results if r.status == "rejected"]

    @property
    def rows_written(self) -> int:
        """Plays written (new or replaced) across batches."""
        return sum(r.rows for r in self.results if r.status == "loaded")


def _already_logged(con: duckdb.DuckDBPyConnection, b: Batch, spec: str) -> bool:
    row = fetch_one(con, "SELECT checksum, filter_spec FROM ingest_log WHERE source = ? AND "
                    "path_or_key = ?", [b.source, b.key])
    return row is not None and row[0] == b.checksum and row[1] == spec


class _StoreFailed(Exception):
    """A batch could not be stored inside the run's shared transaction (now aborted)."""


def _read_batch(con: duckdb.DuckDBPyConnection, b: Batch, flt: PlayFilter,
                spec: str) -> BatchResult | tuple[pl.DataFrame, str]:
    """Skip, refuse or read one batch: a result when nothing is to be written, else its
    validated, filtered plays and checksum."""
    if b.checksum is not None and _already_logged(con, b, spec):
        return BatchResult(b.key, "unchanged")
    if b.peek is not None and (flt.seasons or flt.weeks or flt.season_type or flt.game):
        peek = b.peek()
        if peek.height and "game_id" in peek.columns and peek.filter(flt.expr()).height == 0:
            return BatchResult(b.key, "no-match")
    try:
        raw = b.load()
        checksum = b.checksum or frame_checksum(raw)
        plays = validate_plays(raw, b.key).filter(flt.expr())
    except PassingScoreError as exc:
        return BatchResult(b.key, "rejected", error=str(exc))
    if plays.height == 0:
        return BatchResult(b.key, "no-match")
    return plays, checksum


def ingest_batch(con: duckdb.DuckDBPyConnection, b: Batch, flt: PlayFilter,
                 writer: GameWriter | None = None) -> BatchResult:
    """Validate and write one batch in one transaction; a bad batch writes nothing. With a
    run's `writer` its games join the run's set-wise write and a store error raises."""
    start = time.perf_counter()
    spec = flt.spec()
    read = _read_batch(con, b, flt, spec)
    if isinstance(read, BatchResult):
        return read
    plays, checksum = read
    try:
        with transaction(con):
            if writer is None:
                w = write_games(con, plays, b.source, b.key, live=flt.game is not None)
            else:
                w = writer.add(plays, b.source, b.key)
            con.execute(
                "INSERT OR REPLACE INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                "now()::TIMESTAMP)",
                [b.source, b.key, checksum, spec, plays.height, w.games, w.games_written,
                 time.perf_counter() - start])
    except duckdb.Error as exc:
        if writer is not None:
            raise _StoreFailed from exc
        msg = first_line(exc)[:300]
        return BatchResult(b.key, "rejected", error=f"file {b.key}: could not be stored: {msg}")
    status = "loaded" if w.games_written else "unchanged"
    return BatchResult(b.key, status, w.rows_written, w.games, w.games_written)


def _run(con: duckdb.DuckDBPyConnection, todo: list[Batch], flt: PlayFilter,
         report: IngestReport, on_batch: Callable[[BatchResult], None] | None,
         writer: GameWriter | None) -> None:
    """Ingest the batches not yet in the report, in order, reporting each; with a writer,
    write its pending games set-wise whenever it holds enough plays, and at the end."""
    for b in todo[len(report.results):]:
        try:
            res = ingest_batch(con, b, flt, writer)
        except PassingScoreError as exc:  # a download that failed: report, go on
            res = BatchResult(b.key, "rejected", error=str(exc))
        report.results.append(res)
        if on_batch is not None:
            on_batch(res)
        if writer is not None and writer.full:
            _flush(writer)
    if writer is not None:
        _flush(writer)


def _flush(writer: GameWriter) -> None:
    try:
        writer.flush()
    except duckdb.Error as exc:
        raise _StoreFailed from exc


def ingest(con: duckdb.DuckDBPyConnection, source: PbpSource, flt: PlayFilter,
           on_batch: Callable[[BatchResult], None] | None = None,
           batches: Iterable[Batch] | None = None) -> IngestReport:
    """Ingest every batch of a source; rejected batches are reported, the rest still load.

    The run is one transaction writing the changed games of many files at a time set-wise
    (one DELETE, one INSERT): DuckDB checkpoints once, not per file. If storing fails, the run
    is rolled back and redone file by file, so only the failing file is refused. Inside a
    caller's `atomic` block the caller's transaction holds it, file by file.
    """
    report = IngestReport()
    tables.create(con, "ingest_log")
    tables.create(con, "ingested_games")
    todo = list(batches if batches is not None else source.batches(flt.seasons))
    if in_atomic(con):
        _run(con, todo, flt, report, on_batch, None)
        return report
    try:
        with atomic(con):
            _run(con, todo, flt, report, on_batch, GameWriter(con, live=flt.game is not None))
    except _StoreFailed:
        done = len(report.results)  # batches reported already stay quiet on the redo
        report = IngestReport()
        _run(con, todo[:done], flt, report, None, None)
        _run(con, todo, flt, report, on_batch, None)
    return report
