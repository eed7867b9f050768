"""The play-by-play columns the pipeline needs, their kinds and allowed ranges (docs/data.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "float", "str", "flag"]


@dataclass(frozen=True)
class Column:
    """One required nflverse column: its kind, its allowed range and what it is for."""

    name: str
    kind: Kind
    doc: str
    lo: float | None = None
    hi: float | None = None
    nullable: bool = True


KEY = ("game_id", "play_id")

REQUIRED: tuple[Column, ...] = (
    # identity
    Column("game_id", "str", "nflverse game id `SEASON_WW_AWAY_HOME`", nullable=False),
    Column("play_id", "int", "play id, unique within a game", lo=0, nullable=False),
    Column("season", "int", "season (year the season starts)", lo=1999, hi=2100, nullable=False),
    Column("week", "int", "week; POST weeks may be 1-4 or continue the REG numbering",
           lo=1, hi=23, nullable=False),
    Column("season_type", "str", "`REG` or `POST`", nullable=False),
    Column("game_date", "str", "game date, ISO"),
    Column("home_team", "str", "home team abbreviation", nullable=False),
    Column("away_team", "str", "away team abbreviation", nullable=False),
    Column("posteam", "str", "team in possession"),
    Column("defteam", "str", "team on defense"),
    # situation before the snap
    Column("down", "int", "down 1-4 (null on kickoffs, extra points, ...)", lo=1, hi=4),
    Column("ydstogo", "int", "yards to a first down", lo=0, hi=100),
    Column("yardline_100", "int", "yards from the opponent's end zone", lo=0, hi=100),
    Column("goal_to_go", "flag", "1 when the line to gain is the goal line"),
    Column("qtr", "int", "quarter, 5 = overtime", lo=1, hi=6),
    Column("quarter_seconds_remaining", "int", "seconds left in the quarter", lo=0, hi=900),
    Column("half_seconds_remaining", "int", "seconds left in the half", lo=0, hi=1800),
    Column("game_seconds_remaining", "int", "seconds left in regulation", lo=0, hi=3600),
    Column("score_differential", "int", "possession team score minus defense score"),
    Column("posteam_timeouts_remaining", "int", "offense timeouts left", lo=0, hi=3),
    Column("defteam_timeouts_remaining", "int", "defense timeouts left", lo=0, hi=3),
    Column("shotgun", "flag", "snap from shotgun"),
    Column("no_huddle", "flag", "no-huddle snap"),
    Column("roof", "str", "outdoors, dome, closed, open"),
    Column("surface", "str", "playing surface"),
    Column("temp", "float", "temperature, F (null for domes)"),
    Column("wind", "float", "wind, mph (null for domes)"),
    Column("xpass", "float", "nflfastR's pass probability of the situation", lo=0, hi=1),
    # the play
    Column("play_type", "str", "pass, run, no_play, qb_spike, qb_kneel, ..."),
    Column("desc", "str", "play description text"),
    Column("qb_dropback", "flag", "pass attempt, sack or scramble"),
    Column("pass_attempt", "flag", "pass attempt (sacks included)"),
    Column("sack", "flag", "sack"),
    Column("qb_scramble", "flag", "QB scramble"),
    Column("qb_spike", "flag", "spike"),
    Column("qb_kneel", "flag", "kneel"),
    Column("two_point_attempt", "flag", "two-point conversion attempt"),
    Column("penalty", "flag", "a penalty on the play"),
    Column("complete_pass", "flag", "completed pass"),
    Column("incomplete_pass", "flag", "incomplete pass"),
    Column("interception", "flag", "interception"),
    Column("qb_hit", "flag", "QB hit on the play"),
    Column("pass_length", "str", "short or deep"),
    Column("pass_location", "str", "left, middle, right"),
    Column("air_yards", "int", "air yards of the throw", lo=-100, hi=120),
    Column("yards_after_catch", "int", "yards after the catch", lo=-100, hi=120),
    Column("yards_gained", "int", "yards gained on the play", lo=-120, hi=120),
    Column("passer_player_id", "str", "GSIS id of the passer on attempts and sacks"),
    Column("passer_player_name", "str", "passer name on attempts and sacks"),
    Column("passer_id", "str", "GSIS id of the dropback QB (scrambles too)"),
    Column("passer", "str", "dropback QB name (scrambles too)"),
    # outcomes from nflfastR's models and scoring
    Column("epa", "float", "expected points added"),
    Column("cp", "float", "nflfastR-style completion probability (runs high here)", lo=0, hi=1),
    Column("cpoe", "float", "completion over expected, percentage points", lo=-100, hi=100),
    Column("success", "flag", "epa > 0"),
    Column("touchdown", "flag", "a touchdown on the play"),
    Column("pass_touchdown", "flag", "passing touchdown"),
    Column("first_down", "flag", "the play earned a first down"),
)


# Columns the pipeline adds to every stored play.
ADDED_COLUMNS = {
    "game_week": "week from the game id: POST continues the REG numbering (18-22)",
    "source": "where the row came from: local, nflreadpy, nfl-data-py",
    "source_key": "file path or download key the row came from",
    "ingested_at": "UTC time the game was (re)written",
}


def data_doc() -> str:
    """docs/data.md, generated from REQUIRED so the page and the validator never disagree."""
    kinds = {"int": "whole number", "flag": "0/1", "float": "number", "str": "text"}
    lines = [
        "# Play-by-play input: required columns and checks",
        "",
        "Generated from `pipeline/ingest/schema.py`",
        "(`python -m passing_score.pipeline.ingest.schema > docs/data.md`); a test keeps it in",
        "sync. Input is nflverse/nflfastR play-by-play, one row per play, as parquet,",
        "csv or csv.gz (one file per season, week or game, mixed freely), or a download through",
        "nflreadpy / nfl_data_py. Every source column is stored in `plays`; the columns below must",
        "be present (all-null is allowed where nullable) with values of the given kind. Numbers",
        "stored as text in CSV are accepted when they parse.",
        "",
        "## Checks, per file, before anything is written",
        "- the file can be read (not corrupt or truncated) and has rows;",
        "- every required column is present and each value has its kind (first bad row named);",
        "- values lie in their range (down 1-4, ydstogo >= 0, yardline_100 0-100, flags 0/1 ...);",
        "- `season_type` is REG or POST; `game_id` is `SEASON_WW_AWAY_HOME` and its season and",
        "  week match the `season` and `week` columns (POST weeks may be numbered 1-4 or continue",
        "  the regular season: 18-21 through 2020, 19-22 from 2021);",
        "- no duplicate `(game_id, play_id)`; one season type per game.",
        "",
        "A failing file is rejected with one line naming the file, the column and the first bad",
        "row (1-based data row, with its game_id and play_id); no row of it is written and the",
        "other files still load.",
        "",
        "## Required columns",
        "| column | kind | range | null allowed | meaning |",
        "|---|---|---|---|---|",
    ]
    for c in REQUIRED:
        rng = "" if c.lo is None and c.hi is None else f"{_fmt(c.lo)}..{_fmt(c.hi)}"
        lines.append(f"| `{c.name}` | {kinds[c.kind]} | {rng} | {'yes' if c.nullable else 'no'} "
                     f"| {c.doc} |")
    lines += ["", "## Columns the pipeline adds to `plays`", "| column | meaning |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in ADDED_COLUMNS.items()]
    return "\n".join(lines) + "\n"


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


if __name__ == "__main__":
    print(data_doc(), end="")
