"""The aggregator: a fitted model that turns per-play components into per-game and
per-season Passing Scores (50-99). Frames in, frames out; no warehouse I/O (docs/scoring.md).

`summarise(plays, components)` makes the sufficient statistics of play_predictions rows;
`fit(plays or stats, train_seasons, version, config)` learns an `Aggregator`; `game_rows`,
`season_rows`, `season_to_date` and `board_by_week` apply it; `rank_rows` is the one ranking.
"""

from passing_score.models.aggregator.apply import game_rows, season_rows
from passing_score.models.aggregator.board import board_by_week, board_rows, season_to_date
from passing_score.models.aggregator.candidates import CANDIDATES, PRODUCTION, REPORT_ONLY
from passing_score.models.aggregator.describe import params_markdown
from passing_score.models.aggregator.fit import fit
from passing_score.models.aggregator.params import (
    GAME_MIN_DROPBACKS,
    INTERVAL,
    SEASON_DROPBACKS_PER_GAME,
    Z_INTERVAL,
    Aggregator,
    Config,
    FitSummary,
    Prior,
    Scale,
)
from passing_score.models.aggregator.posterior import noise_cov, rank_rows, to_score
from passing_score.models.aggregator.sums import (
    PLAY_COLUMNS,
    SOURCES,
    Stats,
    group_sums,
    league_means,
    summarise,
)

__all__ = ["CANDIDATES", "GAME_MIN_DROPBACKS", "INTERVAL", "PLAY_COLUMNS", "PRODUCTION",
           "REPORT_ONLY", "SEASON_DROPBACKS_PER_GAME", "SOURCES", "Z_INTERVAL", "Aggregator",
           "Config", "FitSummary", "Prior", "Scale", "Stats", "board_by_week", "board_rows",
           "fit", "game_rows", "group_sums", "league_means", "noise_cov", "params_markdown",
           "rank_rows", "season_rows", "season_to_date", "summarise", "to_score"]
