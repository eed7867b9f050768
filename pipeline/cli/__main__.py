"""`python -m passing_score.pipeline.cli`: the same as the `passing-score` script."""

from passing_score.pipeline.cli import entry

entry()
