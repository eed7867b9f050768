"""Leaderboards: ranked QB Passing Scores for a season to date or one week, and their exports.

`board` wraps `pipeline.scoring.leaderboard` (season to date, recomputed from play_predictions
with the frozen weights) and adds the single-week board (from `qb_game_scores`), team filter,
sorting and input checks. Football splits (`split=`) are computed by `pipeline.scoring`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from rich.table import Table

from pipeline import scoring
from pipeline.errors import InputError, WarehouseError
from pipeline.warehouse import fetch_one, query_pl, table_exists

COMPONENTS: tuple[str, ...] = scoring.COMPONENTS
SEASON_TYPES: tuple[str, ...] = ("REG", "POST")
FORMATS: tuple[str, ...] = ("csv", "json", "parquet")
# the DESIGN row: what the CLI, the exports and the API promise
ROW_COLUMNS: list[str] = [
    "rank", "passer_id", "passer_name", "team", "games", "dropbacks", "score", "score_low",
    "score_high", "qualified", *(f"comp_{c}" for c in COMPONENTS), "epa_per_dropback", "cpoe",
    "score_change"]
# kept after the row columns: the components' contributions (EPA/dropback units) and context
EXTRA_COLUMNS: list[str] = [*(f"val_{c}" for c in COMPONENTS), "play_value_shrunk", "season",
                            "week", "season_type", "model_version"]
BOARD_COLUMNS: list[str] = [*ROW_COLUMNS, *EXTRA_COLUMNS]
META_COLUMNS: frozenset[str] = frozenset({"season", "week", "season_type", "model_version"})
# columns where "higher first" is the natural order when sorting
ASCENDING_BY_DEFAULT: frozenset[str] = frozenset({"rank", "passer_id", "passer_name", "team"})
SCORES_HINT = "run `passing-score score` first"
MAX_MIN_DROPBACKS = 10_000  # no QB has more dropbacks in a season (as the API's bound)


class NotFoundError(InputError):
    """A well-formed request for data the warehouse does not hold (the API answers 404)."""


# ---------------------------------------------------------------- what the warehouse holds


def score_versions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Model versions present in qb_season_scores (sorted)."""
    if not table_exists(con, "qb_season_scores"):
        return []
    return [str(r[0]) for r in con.execute(
        "SELECT DISTINCT model_version FROM qb_season_scores ORDER BY 1").fetchall()]


def default_score_version(con: duckdb.DuckDBPyConnection, model_version: str | None = None
                          ) -> str:
    """The score tables' model version: the given one (checked), the only one, or the one
    whose game scores reach the latest (season, week): what the weekly job keeps current."""
    versions = score_versions(con)
    if not versions:
        raise WarehouseError(f"the warehouse holds no Passing Scores (qb_season_scores): "
                             f"{SCORES_HINT}")
    if model_version is not None:
        if model_version not in versions:
            raise NotFoundError(f"model version {model_version!r} has no scores "
                                f"(the warehouse holds: {', '.join(versions)})")
        return model_version
    if len(versions) == 1 or not table_exists(con, "qb_game_scores"):
        return versions[-1]
    row = fetch_one(con, "SELECT model_version FROM qb_game_scores "
                         "ORDER BY season DESC, week DESC, model_version LIMIT 1")
    return str(row[0]) if row else versions[-1]


def available_seasons(con: duckdb.DuckDBPyConnection, model_version: str | None = None
                      ) -> list[int]:
    """Seasons with scores (qb_season_scores, else play_predictions) for a model version."""
    for table in ("qb_season_scores", "play_predictions"):
        if table_exists(con, table):
            sql = f"SELECT DISTINCT season FROM {table}"
            args: list[object] = []
            if model_version is not None:
                sql += " WHERE model_version = ?"
                args.append(model_version)
            seasons = [int(r[0]) for r in con.execute(sql + " ORDER BY 1", args).fetchall()]
            if seasons:
                return seasons
    return []


def _seasons_text(seasons: Sequence[int]) -> str:
    return ", ".join(str(s) for s in seasons) if seasons else "none"


def check_season(con: duckdb.DuckDBPyConnection, season: int,
                 model_version: str | None = None) -> None:
    """InputError listing the available seasons when `season` has no scores."""
    seasons = available_seasons(con, model_version)
    if season not in seasons:
        raise NotFoundError(f"season {season} has no Passing Scores in this warehouse "
                            f"(available seasons: {_seasons_text(seasons)})")


def _board_tables(split: str | None) -> tuple[str, ...]:
    """Tables a recomputed board reads: play_predictions and fitted weights, plus the
    dropbacks a split's filter reads."""
    return ("play_predictions", "score_weights", *(("dropbacks",) if split else ()))


def can_compute(con: duckdb.DuckDBPyConnection, split: str | None = None) -> bool:
    """Whether season-to-date boards (of `split`, if given) can be recomputed."""
    return all(table_exists(con, t) for t in _board_tables(split))


# ---------------------------------------------------------------- the board


def _norm_season_type(season_type: str) -> str:
    st = str(season_type).upper()
    if st not in SEASON_TYPES:
        raise InputError(f"season type {season_type!r} is not one of {', '.join(SEASON_TYPES)}")
    return st


def _scoring_board(con: duckdb.DuckDBPyConnection, season: int, week: int | None,
                   season_type: str, min_dropbacks: int | None, model_version: str | None,
                   split: str | None) -> pl.DataFrame:
    """pipeline.scoring.leaderboard: season to date, optionally one football split."""
    return scoring.leaderboard(con, season, week=week, season_type=season_type,
                               min_dropbacks=min_dropbacks, model_version=model_version,
                               split=split)


def _week_board(con: duckdb.DuckDBPyConnection, season: int, week: int, season_type: str,
                min_dropbacks: int | None, model_version: str | None) -> pl.DataFrame:
    """The games of one week, ranked by game score; score_change vs the QB's previous game."""
    mv = default_score_version(con, model_version)
    if not table_exists(con, "qb_game_scores"):
        raise WarehouseError(f"table 'qb_game_scores' is missing: {SCORES_HINT}")
    games = query_pl(con, "SELECT * FROM qb_game_scores WHERE season = ? AND model_version = ? "
                          "AND season_type = ? AND week <= ?", [season, mv, season_type, week])
    this = games.filter(pl.col("week") == week)
    if this.height == 0:
        weeks = sorted(set(games["week"].to_list()))
        raise NotFoundError(f"season {season} has no {season_type} games in week {week} "
                            f"(weeks with games: {_seasons_text(weeks)})")
    prev = (games.filter(pl.col("week") < week).sort(["passer_id", "week"])
            .group_by("passer_id", maintain_order=True).last()
            .select("passer_id", pl.col("score").alias("_prev")))
    qualified = (pl.col("dropbacks") >= min_dropbacks) if min_dropbacks is not None \
        else pl.col("qualified").fill_null(False)
    this = this.with_columns(qualified.alias("qualified")).filter(pl.col("qualified"))
    this = (this.sort(["score", "passer_id"], descending=[True, False], nulls_last=True)
            .with_columns(pl.int_range(1, pl.len() + 1).cast(pl.Int64).alias("rank"),
                          pl.lit(1, pl.Int64).alias("games"))
            .join(prev, on="passer_id", how="left")
            .with_columns((pl.col("score") - pl.col("_prev")).alias("score_change"))
            .drop("_prev"))
    return this.select(BOARD_COLUMNS)


def _sort(df: pl.DataFrame, sort: str) -> pl.DataFrame:
    """Sort by a column; `-col` / `+col` force the direction, else scores go high first."""
    name, desc = sort, None
    if sort[:1] in "+-" and len(sort) > 1:
        name, desc = sort[1:], sort[0] == "-"
    allowed = [c for c in BOARD_COLUMNS if c not in META_COLUMNS]
    if name not in allowed:
        raise InputError(f"cannot sort by {name!r}: use one of {', '.join(allowed)}")
    if desc is None:
        desc = name not in ASCENDING_BY_DEFAULT
    return df.sort([name, "rank", "passer_id"], descending=[desc, False, False], nulls_last=True)


def _stored_board(con: duckdb.DuckDBPyConnection, season: int, through_week: int | None,
                  season_type: str, min_dropbacks: int | None, model_version: str
                  ) -> pl.DataFrame:
    """The season board read from qb_season_scores (no play_predictions to recompute from):
    the full season only, without score_change."""
    if not table_exists(con, "qb_game_scores"):
        raise WarehouseError(f"table 'qb_game_scores' is missing: {SCORES_HINT}")
    row = fetch_one(con, "SELECT max(week) FROM qb_game_scores WHERE season = ? AND "
                         "season_type = ? AND model_version = ?",
                    [season, season_type, model_version])
    last = row[0] if row else None
    if last is None:
        raise NotFoundError(f"season {season} has no {season_type} scores")
    if through_week is not None and through_week < last:
        raise NotFoundError(f"boards through week {through_week} (before week {last}, the "
                            "last of the season) are recomputed from play_predictions, which "
                            "this warehouse lacks")
    df = query_pl(con, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = ? "
                       "AND model_version = ?", [season, season_type, model_version])
    if min_dropbacks is not None:
        df = df.with_columns((pl.col("dropbacks") >= min_dropbacks).alias("qualified"))
        ranked = (df.filter(pl.col("qualified"))
                  .sort(["score", "passer_id"], descending=[True, False], nulls_last=True)
                  .with_columns(pl.int_range(1, pl.len() + 1).cast(pl.Int64).alias("_r"))
                  .select("passer_id", "_r"))
        df = df.join(ranked, on="passer_id", how="left").with_columns(
            pl.col("_r").alias("rank")).drop("_r")
    return (df.filter(pl.col("qualified").fill_null(False)).sort(["rank", "passer_id"])
            .with_columns(pl.lit(None, pl.Float64).alias("score_change"),
                          pl.lit(int(last), pl.Int64).alias("week"))
            .select(BOARD_COLUMNS))


def _refine(df: pl.DataFrame, team: str | None, sort: str | None) -> pl.DataFrame:
    """Team filter (after ranking: ranks stay league ranks) and sort."""
    if team is not None:
        teams = sorted({t for t in df["team"].to_list() if t is not None})
        df = df.filter(pl.col("team").str.to_uppercase() == team.upper())
        if df.height == 0:
            raise NotFoundError(f"team {team!r} has no ranked QB on this board "
                                f"(teams: {', '.join(teams) or 'none'})")
    return _sort(df, sort) if sort is not None else df


def board(con: duckdb.DuckDBPyConnection, season: int, week: int | None = None,
          through_week: int | None = None, season_type: str = "REG",
          min_dropbacks: int | None = None, team: str | None = None, sort: str | None = None,
          model_version: str | None = None, split: str | None = None) -> pl.DataFrame:
    """Ranked QB rows (BOARD_COLUMNS): season to date (through_week, default: all of it) or the
    games of one `week`; `split` is passed to pipeline.scoring.leaderboard, which computes it.

    Season-to-date boards are recomputed by pipeline.scoring.leaderboard from play_predictions;
    a warehouse holding only the score tables serves the full season from qb_season_scores
    (score_change null). Ranks are league ranks among qualified QBs (`min_dropbacks`
    redefines qualified); `team` filters after ranking; `sort` names a column (`-col` /
    `+col` force the direction). Bad input raises InputError (NotFoundError: no such data).
    """
    st = _norm_season_type(season_type)
    if week is not None and through_week is not None:
        raise InputError("give either a week (that week's games) or a through-week "
                         "(season to date), not both")
    for name, value in (("week", week), ("through-week", through_week)):
        if value is not None and not 1 <= value <= 22:
            raise InputError(f"{name} {value} is not a week number (1-22)")
    if min_dropbacks is not None and not 0 <= min_dropbacks <= MAX_MIN_DROPBACKS:
        raise InputError(f"min-dropbacks {min_dropbacks} is out of range "
                         f"(0-{MAX_MIN_DROPBACKS:,})")
    if sort is not None:
        _sort(pl.DataFrame(schema=dict.fromkeys(BOARD_COLUMNS, pl.Int64)), sort)
    if week is not None and split is not None:
        raise InputError("splits are season-to-date boards: use through-week, not week")
    if week is not None or not can_compute(con, split):
        if split is not None:
            lacks = [t for t in _board_tables(split) if not table_exists(con, t)]
            raise NotFoundError(f"splits are computed from {', '.join(_board_tables(split))}; "
                                f"this warehouse lacks {', '.join(lacks)}")
        mv = default_score_version(con, model_version)
        check_season(con, season, mv)
        df = (_week_board(con, season, week, st, min_dropbacks, mv) if week is not None
              else _stored_board(con, season, through_week, st, min_dropbacks, mv))
    else:
        seasons = [int(r[0]) for r in con.execute(
            "SELECT DISTINCT season FROM play_predictions ORDER BY 1").fetchall()]
        if season not in seasons:
            raise NotFoundError(f"season {season} has no Passing Scores in this warehouse "
                                f"(available seasons: {_seasons_text(seasons)})")
        if model_version is not None:
            fitted = [str(r[0]) for r in con.execute(
                "SELECT model_version FROM score_weights ORDER BY 1").fetchall()]
            if model_version not in fitted:
                raise NotFoundError(f"model version {model_version!r} has no fitted scores "
                                    f"(the warehouse holds: {', '.join(fitted) or 'none'})")
        df = _scoring_board(con, season, through_week, st, min_dropbacks, model_version, split)
        df = df.select([c for c in BOARD_COLUMNS if c in df.columns])
    return _refine(df, team, sort)


# ---------------------------------------------------------------- exports


def board_meta(df: pl.DataFrame, season: int, season_type: str, week: int | None = None,
               model_version: str | None = None, **extra: Any) -> dict[str, Any]:
    """The envelope of a JSON export: season, week, season_type, model_version (+ extras)."""
    def first(col: str) -> Any:
        return df[col][0] if col in df.columns and df.height else None
    return {"season": season, "week": week if week is not None else first("week"),
            "season_type": season_type.upper(),
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
    """The documented JSON export: {season, week, season_type, model_version, rows: [...]}."""
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


# ---------------------------------------------------------------- terminal


def format_number(v: Any, fmt: str = "{:.1f}", missing: str = "-") -> str:
    """A number for people: None/NaN as `missing`, and never "-0.0"."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return missing
    text = fmt.format(v)
    return fmt.format(0.0) if isinstance(v, float) and text.lstrip("+-").strip("0.") == "" \
        else text


def _change(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    color = "green" if v > 0.05 else "red" if v < -0.05 else "dim"
    return f"[{color}]{format_number(v, '{:+.1f}')}[/]"


def rich_table(df: pl.DataFrame, title: str) -> Table:
    """The board as a rich Table: rank, QB, team, dropbacks, score [80% interval], change,
    component scores, EPA/dropback and CPOE."""
    t = Table(title=title, title_justify="left", header_style="bold")
    t.add_column("#", justify="right")
    t.add_column("QB")
    t.add_column("team")
    t.add_column("db", justify="right")
    t.add_column("score", justify="right")
    t.add_column("80% interval", justify="right")
    t.add_column("chg", justify="right")
    short = {"completion": "cmp", "interception": "int", "sack": "sack", "yards": "yds",
             "aggressiveness": "aggr"}
    for c in COMPONENTS:
        t.add_column(short.get(c, c[:4]), justify="right")
    t.add_column("EPA/db", justify="right")
    t.add_column("CPOE", justify="right")
    for r in df.to_dicts():
        t.add_row(
            format_number(r.get("rank"), "{}"), str(r.get("passer_name") or r.get("passer_id")),
            str(r.get("team") or "-"), format_number(r.get("dropbacks"), "{:,}"),
            f"[bold]{format_number(r.get('score'))}[/]",
            f"{format_number(r.get('score_low'))}-{format_number(r.get('score_high'))}",
            _change(r.get("score_change")),
            *[format_number(r.get(f"comp_{c}"), "{:.0f}") for c in COMPONENTS],
            format_number(r.get("epa_per_dropback"), "{:+.3f}"),
            format_number(r.get("cpoe"), "{:+.1f}"))
    if df.height == 0:
        t.caption = "no qualified QB"
    return t


def board_title(season: int, season_type: str, week: int | None = None,
                through_week: int | None = None, split: str | None = None,
                model_version: str | None = None) -> str:
    """A one-line title such as `Passing Score 2023 REG through week 9 (model pm-1)`."""
    parts = [f"Passing Score {season} {season_type.upper()}"]
    if week is not None:
        parts.append(f"week {week} games")
    elif through_week is not None:
        parts.append(f"through week {through_week}")
    if split:
        parts.append(f"split {split}")
    if model_version:
        parts.append(f"(model {model_version})")
    return " ".join(parts)
