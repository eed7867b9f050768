"""The Spliced Binned-Pareto distribution: the distribution, its network output layer and an
unconditional maximum-likelihood fit, one module each."""

from passing_score.models.sbp.distribution import SplicedBinnedPareto
from passing_score.models.sbp.fit import fit_sbp, gpd_pwm
from passing_score.models.sbp.output import SBPOutput

__all__ = ["SBPOutput", "SplicedBinnedPareto", "fit_sbp", "gpd_pwm"]
