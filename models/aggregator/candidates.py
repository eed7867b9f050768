"""The pre-specified candidate aggregators of issue 15 (fixed before any evaluation run) and
the production choice.

The validity study scores every candidate out of sample and picks one per origin season by
leave-one-season-out criteria within the training seasons (docs/validity.md); the rule chose
`mv_recv` at every recent origin, which production uses. REPORT_ONLY candidates are scored and
reported but never chosen: the season role prior scores the depth chart, not the plays.
"""

from __future__ import annotations

from passing_score.models.aggregator.params import Config
from passing_score.pipeline.foundation.vocabulary import COMPONENTS

V1 = ("completion", "interception", "sack", "yards", "aggressiveness")  # before issue 15
POINTS = (*V1, "epa", "success")
RECEIVER = COMPONENTS  # receiver's YAC separated: yards_qb, yac, epa_qb, success
LEAN = ("completion", "yards", "epa", "success")

CANDIDATES: dict[str, Config] = {c.name: c for c in (
    Config("uni_board", V1, shrink="univariate"),
    Config("mv", V1),
    Config("mv_epa", (*V1, "epa")),
    Config("mv_succ", (*V1, "success")),
    Config("mv_pts", POINTS),
    Config("mv_recv", RECEIVER),
    Config("mv_both", V1, target="both"),
    Config("mv_pts_next", POINTS, target="next_season"),
    Config("mv_pts_both", POINTS, target="both"),
    Config("mv_recv_both", RECEIVER, target="both"),
    Config("mv_lean_both", LEAN, target="both"),
    Config("mv_league", V1, prior="league"),
    Config("mv_pts_both_nocl", POINTS, target="both", clustered=False),
)}
REPORT_ONLY: dict[str, Config] = {c.name: c for c in (
    Config("mv_recv_role_prior", RECEIVER, prior="role"),
    Config("mv_pts_both_role_prior", POINTS, target="both", prior="role"),
)}
PRODUCTION: Config = CANDIDATES["mv_recv"]
