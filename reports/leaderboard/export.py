"""Board exports: csv, json (the documented envelope) and parquet, written atomically to a
checked `--out` path (docs/design.md: the --out policy)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from passing_score.pipeline.foundation.errors import InputError
from passing_score.reports.leaderboard.columns import META_COLUMNS

FORMATS: tuple[str, ...] = ("csv", "json", "parquet")


def board_meta(df: pl.DataFrame, season: int, season_type: str, week: int | None = None,
               game_week: int | None = None, split: str | None = None,
               model_version: str | None = None, **extra: Any) -> dict[str, Any]:
    """The header of an export: what the board is (season, week = through week, game_week =
    one week's games, season_type, split, model_version), the same values the CSV and parquet
    carry as columns on every row."""
    def first(col: str) -> Any:
        return df[col][0] if col in df.columns and df.height else None
    return {"season": season, "week": week if week is not None else first("week"),
            "game_week": game_week if game_week is not None else first("game_week"),
            "season_type": season_type.upper(), "split": split or first("split"),
            "model_version": model_version or first("model_version"), **extra}


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN / inf become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rows_of(df: pl.DataFrame, drop_meta: bool = True) -> list[dict[str, Any]]:
    """Board rows as JSON-safe dicts (without the per-row season/week/... by default)."""
    cols = [c for c in df.columns if not (drop_meta and c in META_COLUMNS)]
    return [{k: _clean(v) for k, v in r.items()} for r in df.select(cols).to_dicts()]


def to_json(df: pl.DataFrame, meta: Mapping[str, Any]) -> str:
    """The documented JSON export: {season, week, game_week, season_type, split,
    model_version, rows: [...]}."""
    return json.dumps({**meta, "rows": rows_of(df)}, indent=2, allow_nan=False,
                      default=str) + "\n"


def _out_error(out: Path | str, problem: str) -> InputError:
    """A one-line error naming the --out path (repr when it holds unprintable characters)."""
    text = str(out)
    return InputError(f"--out {text if text.isprintable() else repr(text)}: {problem}")


def check_out_path(out: Path) -> Path:
    """The file an export to `out` writes, or a one-line InputError naming the path.

    Policy: `out` is taken relative to the working folder (`..` allowed) and symlinks are
    followed, so the file written is `os.path.realpath(out)`; it must be absent or a regular
    file (not a folder, device, pipe or socket) in a folder that exists or can be created.
    Nothing is created here: `atomic_write` makes missing folders and writes.
    """
    text = str(out)
    if text.strip() == "":
        raise InputError("--out is empty")
    if "\0" in text:
        raise _out_error(out, "contains a NUL byte")
    try:
        target = Path(os.path.realpath(out))
        if target.is_symlink():
            raise _out_error(out, "is a symlink loop")
        try:
            mode = target.stat().st_mode
        except FileNotFoundError:
            mode = None
        except NotADirectoryError:
            mode = None  # a parent is a file: reported below
        if mode is not None and stat.S_ISDIR(mode):
            raise _out_error(out, "is a directory: give a file name")
        if mode is not None and not stat.S_ISREG(mode):
            raise _out_error(out, "is not a regular file (a device, pipe or socket)")
        folder = target.parent
        while not folder.exists():
            folder = folder.parent
    except OSError as exc:
        raise _out_error(out, f"cannot be used ({exc.strerror or exc})") from exc
    if not folder.is_dir():
        raise _out_error(out, f"{folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _out_error(out, f"folder {folder} is not writable")
    return target


def atomic_write(out: Path, write: Callable[[Path], None]) -> Path:
    """Write the file `check_out_path(out)` names through a temporary sibling renamed into
    place (readers never see half a file); on any failure the temporary file and the folders
    made for it are removed. Permissions follow the umask; OS errors are one-line InputErrors.
    Returns the path written."""
    target = check_out_path(out)
    made: list[Path] = []
    tmp: Path | None = None
    done = False
    try:
        for folder in reversed([target.parent, *target.parent.parents]):
            if not folder.exists():
                folder.mkdir()
                made.append(folder)
        fd, name = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp",
                                    dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        tmp = None
        done = True
    except OSError as exc:
        raise _out_error(out, f"cannot write {target} ({exc.strerror or exc})") from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if not done:
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return target


def export(df: pl.DataFrame, fmt: str, out: Path | None, meta: Mapping[str, Any]) -> str | None:
    """Write the board as csv / json / parquet to `out` (atomically); with no `out`, return
    the csv or json text for the caller to print. Bad formats or paths are one-line errors."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"format {fmt!r} is not one of {', '.join(FORMATS)} (or table)")
    if out is None:
        if fmt == "parquet":
            raise InputError("--format parquet needs --out PATH")
        return to_json(df, meta) if fmt == "json" else df.write_csv()

    def write(tmp: Path) -> None:
        if fmt == "json":
            tmp.write_text(to_json(df, meta), encoding="utf-8")
        elif fmt == "csv":
            df.write_csv(tmp)
        else:
            df.write_parquet(tmp, metadata={k: json.dumps(v, default=str)
                                            for k, v in meta.items()})

    atomic_write(Path(out), write)
    return None
