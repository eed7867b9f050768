"""The board in a terminal: a rich table and its one-line title."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from rich.table import Table

from passing_score.pipeline.foundation.vocabulary import COMPONENT_SHORT, COMPONENTS


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
    for c in COMPONENTS:
        t.add_column(COMPONENT_SHORT.get(c, c[:4]), justify="right")
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
