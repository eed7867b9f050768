"""The board's columns: the row every surface promises (CLI, exports, API; docs/design.md)."""

from __future__ import annotations

from passing_score.pipeline.foundation.vocabulary import COMPONENTS

# the DESIGN row: what the CLI, the exports and the API promise. `passer_name` is nflverse's
# abbreviated name (J.Allen); `passer_full_name` the players table's (Josh Allen), null when
# the warehouse has no players table or the player is not in it.
ROW_COLUMNS: list[str] = [
    "rank", "passer_id", "passer_name", "passer_full_name", "team", "games", "dropbacks",
    "score", "score_low", "score_high", "qualified", *(f"comp_{c}" for c in COMPONENTS),
    "epa_per_dropback", "cpoe", "score_change"]
# kept after the row columns: the components' contributions (EPA/dropback units), the game of
# a single-week row (game_id, opponent; null on season boards) and what the board is
EXTRA_COLUMNS: list[str] = [*(f"val_{c}" for c in COMPONENTS), "play_value_shrunk", "game_id",
                            "opponent", "season", "week", "game_week", "season_type", "split",
                            "model_version"]
BOARD_COLUMNS: list[str] = [*ROW_COLUMNS, *EXTRA_COLUMNS]
# what the board is (the same on every row): the JSON export's header, columns in CSV/parquet
META_COLUMNS: frozenset[str] = frozenset({"season", "week", "game_week", "season_type", "split",
                                          "model_version"})
# columns where "lower first" is the natural order when sorting
ASCENDING_BY_DEFAULT: frozenset[str] = frozenset({"rank", "passer_id", "passer_name",
                                                  "passer_full_name", "team"})
