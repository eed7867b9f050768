"""The fitted parameters as markdown (docs/scoring.md quotes it)."""

from __future__ import annotations

import numpy as np

from passing_score.models.aggregator.params import Aggregator, arr


def params_markdown(agg: Aggregator) -> str:
    """Weights, reliabilities, priors and the scale of a fitted aggregator as markdown."""
    f, sc = agg.fit, agg.scale
    mu, t, mu_g = arr(agg.season.mean), arr(agg.season.cov), arr(agg.game.mean)
    off = arr(agg.game.fill_in) if agg.game.fill_in is not None else np.zeros(len(mu))
    lines = ["| component | weight (EPA/db per unit) | standardized | reliability at 400 "
             "dropbacks | season prior mean (sd) | fill-in game offset |",
             "|---|---|---|---|---|---|"]
    for i, c in enumerate(agg.components):
        lines.append(f"| {c} | {agg.weights[c]:.4f} | {agg.weights_std[c]:.4f} | "
                     f"{f.reliability_400[c]:.2f} | {mu[i]:+.4f} ({np.sqrt(t[i, i]):.4f}) | "
                     f"{off[i]:+.4f} |")
    lines += ["", "| constant | value |", "|---|---|",
              f"| candidate | {agg.config.name} ({agg.config.shrink}, prior {agg.config.prior},"
              f" target {agg.config.target}) |",
              f"| training seasons | {', '.join(map(str, agg.train_seasons))} |",
              f"| weights: target, pairs, ridge lambda (LOSO CV), R^2 | {f.target}; {f.pairs}; "
              f"{f.ridge_lambda}; {f.r2:.3f} |",
              f"| board population (QB-seasons), qualified games | {f.board_seasons}, "
              f"{f.qualified_games} |",
              f"| scale: centre, sd (EPA/db, league-relative) | {sc.mean:+.4f}, {sc.sd:.4f} |",
              f"| game prior mean value (EPA/db) | {float(agg.w @ mu_g):+.4f} |",
              f"| bootstrap refits of the priors | {len(agg.season.boot)} |"]
    return "\n".join(lines) + "\n"
