"""Scoring without torch or scikit-learn: the play models as arrays (`Scorer`) evaluated by
compiled kernels (`kernels`)."""

from passing_score.models.inference.scorer import Scorer

__all__ = ["Scorer"]
