"""The board in a terminal: a plain text table that fits the width, its title and a key.

Columns come in priority order: rank, QB, team, dropbacks, score and its interval always;
then (as the width allows) the change, the game's opponent, the component scores, EPA/dropback,
CPOE and games. Nothing is ever cut: a column that does not fit is left out whole (the key
says so). Piped output (not a terminal) gets every column, without wrapping or colour, so
lines stay greppable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from passing_score.pipeline.foundation.vocabulary import COMPONENT_HELP, COMPONENT_SHORT, COMPONENTS
from passing_score.pipeline.ingest.players import display_name

GAP = "  "


def format_number(v: Any, fmt: str = "{:.1f}", missing: str = "-") -> str:
    """A number for people: None/NaN as `missing`, and never "-0.0"."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return missing
    text = fmt.format(v)
    return fmt.format(0.0) if isinstance(v, float) and text.lstrip("+-").strip("0.") == "" \
        else text


@dataclass(frozen=True)
class Column:
    """One terminal column: header, key text, how to format a row, alignment, priority."""

    header: str
    key: str
    cell: Callable[[dict[str, Any]], str]
    right: bool = True
    priority: int = 0  # 0 = always shown; higher = dropped first when narrow


def _num(col: str, fmt: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: format_number(r.get(col), fmt)


def columns(game_week: bool) -> list[Column]:
    """The terminal columns in display order (priority says which go first when narrow)."""
    cols = [
        Column("#", "rank among qualified QBs", _num("rank", "{}")),
        Column("QB", "", lambda r: display_name(r), right=False),
        Column("team", "", lambda r: str(r.get("team") or "-"), right=False),
    ]
    if game_week:
        cols.append(Column("opp", "opponent", lambda r: str(r.get("opponent") or "-"),
                           right=False, priority=1))
    cols += [
        Column("G", "games", _num("games", "{}"), priority=13),
        Column("db", "dropbacks", _num("dropbacks", "{:,}")),
        Column("score", "Passing Score 50-99", _num("score", "{:.1f}")),
        Column("80% int", "80% interval of the score",
               lambda r: f"{format_number(r.get('score_low'))}-"
                         f"{format_number(r.get('score_high'))}"),
        Column("chg", "change vs the previous week" if not game_week
               else "change vs his previous game", _num("score_change", "{:+.1f}"), priority=2),
    ]
    cols += [Column(COMPONENT_SHORT.get(c, c[:4]), f"{COMPONENT_HELP.get(c, c)} (50-99)",
                    _num(f"comp_{c}", "{:.0f}"), priority=4 + i)
             for i, c in enumerate(COMPONENTS)]
    cols += [Column("EPA/db", "EPA per dropback", _num("epa_per_dropback", "{:+.3f}"),
                    priority=3),
             Column("CPOE", "completion % over expected", _num("cpoe", "{:+.1f}"), priority=10)]
    return cols


def _width(col: Column, cells: list[str]) -> int:
    return max([len(col.header), *(len(c) for c in cells)])


def render_table(df: pl.DataFrame, width: int | None = None) -> tuple[list[str], list[Column]]:
    """The board as text lines that fit `width` characters (None: no limit), and the
    columns left out. Cells are never cut: whole columns go, least important first."""
    game_week = "game_week" in df.columns and df["game_week"].drop_nulls().len() > 0
    cols = columns(game_week)
    rows = df.to_dicts()
    cells = {c.header: [c.cell(r) for r in rows] for c in cols}
    widths = {c.header: _width(c, cells[c.header]) for c in cols}
    shown = list(cols)

    def total(cs: list[Column]) -> int:
        return sum(widths[c.header] for c in cs) + len(GAP) * (len(cs) - 1)

    if width is not None:
        for c in sorted((c for c in cols if c.priority), key=lambda c: -c.priority):
            if total(shown) <= width:
                break
            shown.remove(c)

    def line(values: list[str]) -> str:
        out = [v.rjust(widths[c.header]) if c.right else v.ljust(widths[c.header])
               for c, v in zip(shown, values, strict=True)]
        return GAP.join(out).rstrip()

    lines = [line([c.header for c in shown]),
             line(["-" * widths[c.header] for c in shown])]
    lines += [line([cells[c.header][i] for c in shown]) for i in range(len(rows))]
    if not rows:
        lines.append("no qualified QB")
    return lines, [c for c in cols if c not in shown]


COMPONENT_KEY: dict[str, str] = {"completion": "completions", "interception": "INTs avoided",
                                 "sack": "sacks avoided", "yards": "yards",
                                 "aggressiveness": "air yards (style)"}


def key_line(df: pl.DataFrame, hidden: list[Column]) -> str:
    """The one-line key of the columns shown (compact), and which were left out for width."""
    game_week = "game_week" in df.columns and df["game_week"].drop_nulls().len() > 0
    gone = {c.header for c in hidden}
    shown = [c for c in columns(game_week) if c.header not in gone]
    comps = [c for c in COMPONENTS if COMPONENT_SHORT.get(c, c[:4]) not in gone]
    parts = ["score 50-99 with its 80% interval", "db dropbacks"]
    short = {c.header: c for c in shown}
    if "G" in short:
        parts.insert(1, "G games")
    if "opp" in short:
        parts.append("opp opponent")
    if "chg" in short:
        parts.append("chg " + ("vs his previous game" if game_week else "vs a week earlier"))
    if comps:
        parts.append("component scores 50-99, over expected: " + ", ".join(
            f"{COMPONENT_SHORT.get(c, c[:4])} {COMPONENT_KEY.get(c, c)}" for c in comps))
    if "EPA/db" in short:
        parts.append("EPA/db EPA per dropback")
    if "CPOE" in short:
        parts.append("CPOE completion % over expected")
    text = "key: " + "; ".join(parts)
    if hidden:
        text += (f" | not shown at this width: {', '.join(c.header for c in hidden)} "
                 "(widen the terminal, pipe it, or --format csv)")
    return text


def render_board(df: pl.DataFrame, title: str, width: int | None = None) -> str:
    """Title, table and key as plain text (no markup), fitted to `width` when given."""
    lines, hidden = render_table(df, width)
    return "\n".join([title, *lines, key_line(df, hidden)]) + "\n"


def board_title(season: int, season_type: str, week: int | None = None,
                game_week: int | None = None, split: str | None = None,
                model_version: str | None = None) -> str:
    """A one-line title such as `Passing Score 2023 REG through week 9 (model pm-1)`."""
    parts = [f"Passing Score {season} {season_type.upper()}"]
    if game_week is not None:
        parts.append(f"week {game_week} games only")
    elif week is not None:
        parts.append(f"through week {week}")
    if split:
        parts.append(f"split {split}")
    if model_version:
        parts.append(f"(model {model_version})")
    return " ".join(parts)
