"""The words every surface shares: season types, score components, weeks.

One definition each, used by the warehouse tables, the aggregator, the boards, the API and the
CLI, so a parameter means the same thing everywhere (docs/design.md).
"""

from __future__ import annotations

from passing_score.pipeline.foundation.errors import InputError

# REG = regular season, POST = playoffs, ALL = both (a season scope, never a data value)
SEASON_TYPES: tuple[str, ...] = ("REG", "POST", "ALL")
DATA_SEASON_TYPES: tuple[str, ...] = ("REG", "POST")  # the values plays and dropbacks carry

# score components (docs/scoring.md), each "higher = better for the QB" except aggressiveness
# and yac, whose signs the fit decides. yards_qb and epa_qb replace the receiver's yards after
# the catch by their expectation; yac keeps that part separate.
COMPONENTS: tuple[str, ...] = ("completion", "interception", "sack", "yards_qb", "aggressiveness",
                               "yac", "epa_qb", "success")
COMPONENT_HELP: dict[str, str] = {
    "completion": "completions over expected",
    "interception": "interceptions avoided",
    "sack": "sacks avoided",
    "yards_qb": "yards over the predicted distribution (the receiver's yards after the catch "
                "replaced by their expectation)",
    "aggressiveness": "air yards over expected (a style axis)",
    "yac": "yards after the catch over expected",
    "epa_qb": "EPA over the situation's expectation (the receiver's yards after the catch "
              "replaced by their expectation)",
    "success": "successful plays (EPA > 0) over the situation's expectation"}
COMPONENT_SHORT: dict[str, str] = {"completion": "cmp", "interception": "int", "sack": "sack",
                                   "yards_qb": "yds", "aggressiveness": "aggr", "yac": "yac",
                                   "epa_qb": "epa", "success": "succ"}

MAX_WEEK = 22  # weeks follow nflverse game ids: REG 1-17 (through 2020) or 1-18, POST after


def regular_season_weeks(season: int) -> int:
    """Weeks in the regular season: 17 through 2020, 18 from 2021."""
    return 17 if season <= 2020 else 18


def week_season_type(season: int, week: int) -> str:
    """REG or POST for a week number in game-id numbering (POST continues after REG)."""
    return "REG" if week <= regular_season_weeks(season) else "POST"


def parse_season_type(value: str, what: str = "season type") -> str:
    """REG, POST or ALL (any case); a one-line InputError naming the valid values."""
    st = str(value).strip().upper()
    if st not in SEASON_TYPES:
        raise InputError(f"{what} {value!r} is not one of {', '.join(SEASON_TYPES)}")
    return st


# ---------------------------------------------------------------- one name per parameter
# A board request has the same parameters on every surface: `week` = the season through week W
# (season to date), `game_week` = that week's games only. Each surface names them in its own
# terms in error messages (CLI flags, API query parameters, Python keyword arguments).
SURFACES: tuple[str, ...] = ("cli", "api", "python")


def term(param: str, surface: str = "python") -> str:
    """How a surface spells a parameter: `--game-week` (cli), `game_week` (api, python)."""
    return "--" + param.replace("_", "-") if surface == "cli" else param


def say(param: str, value: object, surface: str = "python") -> str:
    """A parameter and its value as a user typed it: `--week 30`, `week=30`."""
    return f"{term(param, surface)} {value}" if surface == "cli" else f"{param}={value}"
