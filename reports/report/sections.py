"""The season report's added sections and labels: full names, the season-type wording of the
header, the playoffs, the split leaders and the board as a CSV download inside the page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import duckdb
import polars as pl

from passing_score.features.splits import SPLITS
from passing_score.pipeline.foundation.errors import PassingScoreError
from passing_score.pipeline.foundation.vocabulary import COMPONENTS, regular_season_weeks
from passing_score.pipeline.foundation.warehouse import query_pl
from passing_score.pipeline.ingest.players import with_full_names
from passing_score.reports.leaderboard.board import board, can_compute
from passing_score.reports.leaderboard.terminal import format_number

REPORT_SPLITS = ("deep", "under_pressure", "red_zone")
SPLIT_LEADERS = 5
PLAYOFF_MIN_DROPBACKS = 15  # a playoff row needs about half a game of dropbacks
CSV_COLUMNS = ["rank", "passer_id", "passer_name", "passer_full_name", "team", "games",
               "dropbacks", "score", "score_low", "score_high",
               *(f"comp_{c}" for c in COMPONENTS), "epa_per_dropback", "cpoe", "season",
               "season_type", "model_version"]


def _f(v: Any, f: str = "{:.1f}") -> str:
    return format_number(v, f, missing="\u2013")


def named(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> pl.DataFrame:
    """Rows with `passer_full_name` joined and `passer_name` showing the full name where the
    players table has one (the abbreviated one otherwise): what the report's charts print."""
    if df.is_empty() or "passer_id" not in df.columns:
        return df
    out = with_full_names(con, df)
    return out.with_columns(pl.col("passer_name").alias("passer_short_name"),
                            pl.coalesce("passer_full_name", "passer_name").alias("passer_name"))


def season_scope(season: int, games: pl.DataFrame) -> dict[str, Any]:
    """The header's wording by season type: `2024 regular season through week 18` (the last
    REG week with games), and the playoff weeks when there are any."""
    reg_last = regular_season_weeks(season)
    reg = games.filter(pl.col("season_type") == "REG") if games.height else games
    post = games.filter(pl.col("season_type") == "POST") if games.height else games
    last = int(reg["week"].max()) if reg.height else None  # type: ignore[arg-type]
    label = f"{season} regular season" + (
        "" if last is None else f" through week {last}" + (" (complete)" if last >= reg_last
                                                           else ""))
    playoffs = None
    if post.height:
        weeks = sorted(set(post["week"].to_list()))
        playoffs = f"playoffs through week {weeks[-1]} ({len(weeks)} rounds)"
    return {"label": label, "through_week": last, "playoffs": playoffs}


def playoff_rows(con: duckdb.DuckDBPyConnection, season: int, mv: str) -> list[dict[str, Any]]:
    """The season's playoff QBs (qb_season_scores POST) by score: small samples, shown with
    their intervals, every QB with at least PLAYOFF_MIN_DROPBACKS dropbacks."""
    df = query_pl(con, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = "
                       "'POST' AND model_version = ? AND dropbacks >= ? ORDER BY score DESC",
                  [season, mv, PLAYOFF_MIN_DROPBACKS])
    return [{"passer_name": r["passer_name"], "team": r["team"] or "", "games": r["games"],
             "dropbacks": _f(r["dropbacks"], "{:,}"), "score": _f(r["score"]),
             "interval": f"{_f(r['score_low'])}\u2013{_f(r['score_high'])}",
             "epa": _f(r["epa_per_dropback"], "{:+.3f}")}
            for r in named(con, df).to_dicts()]


def split_leaders(con: duckdb.DuckDBPyConnection, season: int, mv: str
                  ) -> tuple[list[dict[str, Any]], str | None]:
    """The leaders of the report's splits (REG season boards), or a note why there are none."""
    if not can_compute(con, "deep"):
        return [], ("Split boards are recomputed from play_predictions and dropbacks, which "
                    "this warehouse lacks.")
    out = []
    for name in REPORT_SPLITS:
        try:
            b = board(con, season, split=name, model_version=mv)
        except PassingScoreError as exc:
            out.append({"name": name, "description": SPLITS[name].description,
                        "threshold": SPLITS[name].min_dropbacks, "rows": [], "note": str(exc)})
            continue
        rows = [{"rank": r["rank"], "passer_name": r["passer_full_name"] or r["passer_name"],
                 "team": r["team"] or "", "dropbacks": r["dropbacks"], "score": _f(r["score"]),
                 "interval": f"{_f(r['score_low'])}\u2013{_f(r['score_high'])}"}
                for r in b.head(SPLIT_LEADERS).to_dicts()]
        out.append({"name": name, "description": SPLITS[name].description,
                    "threshold": SPLITS[name].min_dropbacks, "rows": rows, "note": None})
    return out, None


def csv_href(board_rows: pl.DataFrame) -> str:
    """The board as a `data:` URI the page offers as a CSV download (no server needed)."""
    if "passer_short_name" in board_rows.columns:  # `named` rows: the CSV keeps both names
        board_rows = board_rows.with_columns(pl.col("passer_short_name").alias("passer_name"))
    cols = [c for c in CSV_COLUMNS if c in board_rows.columns]
    text = board_rows.select(cols).write_csv()
    return "data:text/csv;charset=utf-8," + quote(text)
