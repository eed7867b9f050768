"""qb-passing-score: NFL quarterback Passing Scores from nflverse play-by-play.

The stage packages live under this namespace (`passing_score.pipeline`, `.features`,
`.models`, `.reports`); this module is the small public surface for notebooks::

    import passing_score as ps
    board = ps.leaderboard(2024, week=10)           # the season through week 10
    games = ps.load_scores(2024, level="game", game_week=10)  # week 10's games
    board.to_pandas()

Everything is imported lazily: `import passing_score` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["InputError", "PassingScoreError", "WarehouseError", "leaderboard", "load_scores",
           "splits"]

if TYPE_CHECKING:
    from passing_score.loaders import leaderboard, load_scores, splits
    from passing_score.pipeline.foundation.errors import (
        InputError,
        PassingScoreError,
        WarehouseError,
    )


def __getattr__(name: str) -> Any:
    """Lazy public names: the loaders and the errors they raise."""
    if name in ("leaderboard", "load_scores", "splits"):
        from passing_score import loaders

        return getattr(loaders, name)
    if name in ("InputError", "PassingScoreError", "WarehouseError"):
        from passing_score.pipeline.foundation import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'passing_score' has no attribute {name!r}")
