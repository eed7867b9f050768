"""qb-passing-score: NFL quarterback Passing Scores from nflverse play-by-play.

The stage packages live under this namespace (`passing_score.pipeline`, `.features`,
`.models`, `.reports`); this module is the small public surface for notebooks.
"""

from __future__ import annotations

__version__ = "0.2.0"
