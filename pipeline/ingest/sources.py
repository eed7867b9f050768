"""Play-by-play sources behind one interface: a local folder, nflreadpy, nfl_data_py.

Each source yields `Batch`es (one file or one downloaded season); reading is lazy so the
ingester can skip a file whose checksum it has already loaded without parsing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import polars as pl

from passing_score.pipeline.foundation.errors import (
    InputError,
    SourceError,
    ValidationError,
    first_line,
)

PBP_SUFFIXES = (".parquet", ".csv", ".csv.gz")
SOURCES = ("local", "nflreadpy", "nfl-data-py")
CSV_NULLS = ["NA", "NULL", ""]


@dataclass
class Batch:
    """One unit of ingestion: a file or a downloaded season, read on demand."""

    source: str
    key: str
    load: Callable[[], pl.DataFrame]
    checksum: str | None = None  # known before loading for files; computed after for downloads
    peek: Callable[[], pl.DataFrame] | None = None  # cheap read of season/week/season_type


class PbpSource(Protocol):
    """Anything that yields play-by-play batches for the requested seasons."""

    name: str

    def batches(self, seasons: Iterable[int] | None) -> Iterator[Batch]:
        """Yield the batches that may hold plays of these seasons (None: all)."""
        ...


def file_checksum(path: Path) -> str:
    """sha256 of a file's bytes: identifies a file's exact content across re-ingestions."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_checksum(df: pl.DataFrame) -> str:
    """Content hash of a frame (row order independent) for downloads that have no file."""
    row_hashes = df.hash_rows(seed=0)
    return hashlib.sha256(
        f"{df.height}:{df.width}:{row_hashes.sum()}:{','.join(df.columns)}".encode()
    ).hexdigest()


def read_pbp_file(path: Path) -> pl.DataFrame:
    """Read one parquet / csv / csv.gz file; a corrupt or truncated file is a one-line error."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pl.read_parquet(path)
        # csv: read everything as text-inferred with the whole file, strict on ragged lines
        return pl.read_csv(path, infer_schema_length=None, null_values=CSV_NULLS,
                           raise_if_empty=True)
    except Exception as exc:  # polars raises several types for broken files
        reason = first_line(exc)[:200]
        raise ValidationError(str(path), None, None,
                              f"cannot be read (corrupt or truncated?): {reason}") from exc


def _peek_parquet(path: Path) -> pl.DataFrame:
    """Only the filter columns of a parquet file (column pruning makes this cheap)."""
    try:
        return pl.read_parquet(path, columns=["season", "week", "season_type", "game_id"])
    except Exception:
        return pl.DataFrame()  # unreadable or missing columns: the full read reports it


def discover_files(path: Path) -> list[Path]:
    """All play-by-play files under a folder (recursive), or the file itself, sorted."""
    if not path.exists():
        raise InputError(f"--path {path}: no such file or folder")
    if path.is_file():
        if not path.name.lower().endswith(PBP_SUFFIXES):
            raise InputError(f"--path {path}: not a .parquet, .csv or .csv.gz file")
        return [path]
    files = sorted(p for p in path.rglob("*")
                   if p.is_file() and p.name.lower().endswith(PBP_SUFFIXES))
    if not files:
        raise InputError(f"--path {path}: no .parquet, .csv or .csv.gz files in this folder")
    return files


@dataclass
class LocalSource:
    """A folder of nflverse play-by-play files: per season, week or game, mixed freely."""

    path: Path
    name: str = "local"

    def batches(self, seasons: Iterable[int] | None = None) -> Iterator[Batch]:
        """One batch per file; the checksum is the file's sha256."""
        for f in discover_files(self.path):
            peek = partial(_peek_parquet, f) if f.name.lower().endswith(".parquet") else None
            yield Batch(self.name, str(f.resolve()), partial(read_pbp_file, f),
                        file_checksum(f), peek)


def _require_seasons(seasons: Iterable[int] | None, source: str) -> list[int]:
    if seasons is None:
        raise InputError(f"--source {source} needs --seasons (e.g. --seasons 2023-2024)")
    return sorted(set(seasons))


@dataclass
class NflreadpySource:
    """Seasons downloaded with nflverse's maintained loader (`nflreadpy.load_pbp`)."""

    name: str = "nflreadpy"

    def batches(self, seasons: Iterable[int] | None) -> Iterator[Batch]:
        """One batch per season; checksum from the downloaded content."""
        for season in _require_seasons(seasons, self.name):
            yield Batch(self.name, f"nflreadpy:pbp:{season}", partial(self._load, season))

    @staticmethod
    def _load(season: int) -> pl.DataFrame:
        try:
            import nflreadpy
        except ImportError as exc:
            raise SourceError("nflreadpy is not installed: run `make install` "
                              "(or pip install nflreadpy)") from exc
        try:
            df = nflreadpy.load_pbp(seasons=[season])
        except Exception as exc:
            first = first_line(exc)[:160]
            raise SourceError(
                f"nflreadpy could not download season {season} ({first}); check the network, "
                "or use --source local --path DIR with downloaded files") from exc
        if df.height == 0:
            raise SourceError(f"nflreadpy returned no plays for season {season}")
        return df


@dataclass
class NflDataPySource:
    """Seasons through `nfl_data_py.import_pbp_data` (optional extra); `path` = its cache dir."""

    path: Path | None = None
    name: str = "nfl-data-py"

    def batches(self, seasons: Iterable[int] | None) -> Iterator[Batch]:
        """One batch per season; checksum from the returned content."""
        for season in _require_seasons(seasons, self.name):
            where = f":{self.path}" if self.path else ""
            yield Batch(self.name, f"nfl_data_py:pbp:{season}{where}",
                        partial(self._load, season))

    def _load(self, season: int) -> pl.DataFrame:
        try:
            import nfl_data_py
        except ImportError as exc:
            raise SourceError("the nfl-data-py extra is not installed: run `make nfl-data-py` "
                              "(pip install -e .[nfl-data-py] && "
                              "pip install --no-deps nfl_data_py==0.3.3)") from exc
        if self.path is not None and not (self.path / f"season={season}").is_dir():
            raise SourceError(f"nfl_data_py cache {self.path} has no season={season} folder")
        chatter = io.StringIO()
        try:
            with contextlib.redirect_stdout(chatter):
                pdf = nfl_data_py.import_pbp_data(
                    [season], downcast=False, include_participation=False,
                    cache=self.path is not None,
                    alt_path=str(self.path) if self.path is not None else None)
        except Exception as exc:
            raise SourceError(f"nfl_data_py failed for season {season}: {exc}") from exc
        if pdf is None or len(pdf) == 0:
            said = " ".join(chatter.getvalue().split())[:200]
            raise SourceError(
                f"nfl_data_py returned an empty frame for season {season} (offline or not "
                f"published; it said: {said or 'nothing'}); use --source local --path DIR, or "
                "--path with an nfl_data_py cache folder")
        return pl.from_pandas(pdf)


def make_source(name: str, path: Path | None, default_path: Path) -> PbpSource:
    """The source named on the command line."""
    if name == "local":
        return LocalSource(path or default_path)
    if name == "nflreadpy":
        return NflreadpySource()
    if name == "nfl-data-py":
        return NflDataPySource(path)
    raise InputError(f"--source {name!r}: choose one of {', '.join(SOURCES)}")
