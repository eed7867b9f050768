"""The board's columns: the row every surface promises (CLI, exports, API; docs/design.md)."""

from __future__ import annotations

from passing_score.pipeline.foundation.vocabulary import COMPONENTS

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
# columns where "lower first" is the natural order when sorting
ASCENDING_BY_DEFAULT: frozenset[str] = frozenset({"rank", "passer_id", "passer_name", "team"})
