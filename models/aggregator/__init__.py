"""The aggregator: a fitted model that turns per-play components into per-game and
per-season Passing Scores (50-99). Frames in, frames out; no warehouse I/O.

`fit(plays, train_seasons, version)` learns an `Aggregator`; `game_rows` / `season_rows` /
`season_to_date` apply it to plays prepared by `prepare` and valued by `with_values`.
"""

from passing_score.models.aggregator.apply import (
    apply_scale,
    game_rows,
    rank_rows,
    season_rows,
    shrink,
    summarise,
    to_score,
)
from passing_score.models.aggregator.board import board_rows, recentred, season_to_date
from passing_score.models.aggregator.fit import fit, params_markdown
from passing_score.models.aggregator.params import (
    GAME_MIN_DROPBACKS,
    INTERVAL,
    SEASON_DROPBACKS_PER_GAME,
    Aggregator,
    Scale,
    WeightFit,
)
from passing_score.models.aggregator.sums import (
    PLAY_COLUMNS,
    SOURCE,
    group_sums,
    league_by_week,
    prepare,
    with_values,
)

__all__ = ["GAME_MIN_DROPBACKS", "INTERVAL", "PLAY_COLUMNS", "SEASON_DROPBACKS_PER_GAME",
           "SOURCE", "Aggregator", "Scale", "WeightFit", "apply_scale", "board_rows", "fit",
           "game_rows", "group_sums", "league_by_week", "params_markdown", "prepare",
           "rank_rows", "recentred", "season_rows", "season_to_date", "shrink", "summarise",
           "to_score",
           "with_values"]
