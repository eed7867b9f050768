"""The `passing-score` command line: thin typer verbs that parse, call one library function,
print, and close what they open (one module per group of verbs).

Each verb imports the stage it runs when it runs: `status` or `leaderboard` must not pay for
loading torch. These imports sit above every stage in the layers contract (`make lint`
checks them like any other), so deferring them hides no cycle.
"""

from passing_score.pipeline.cli import data, modelling, reporting
from passing_score.pipeline.cli.app import app, entry

__all__ = ["app", "data", "entry", "modelling", "reporting"]
