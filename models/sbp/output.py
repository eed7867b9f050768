"""The output layer of the SBP: a network's raw outputs mapped to valid parameters.

The network never knows about constraints (GluonTS' DistributionOutput split): logits pass
through, tail scales go through softplus and tail shapes through a smooth bounded map.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from passing_score.models.sbp.distribution import SplicedBinnedPareto

__all__ = ["SBPOutput"]


class SBPOutput:
    """Maps a raw network output of width ``total_dim`` to SBP parameters.

    ``logits`` pass through; ``beta = beta_scale * softplus(raw) + beta_eps``;
    ``xi = xi_min + (xi_max - xi_min) * sigmoid(raw + c)`` with ``c`` chosen so that
    ``raw = 0`` gives ``xi = 0``. A smooth bounded map (not GluonTS' ``abs``) keeps
    gradients informative through ``xi = 0`` and allows light (bounded) tails.
    """

    def __init__(
        self,
        n_bins: int,
        low: float,
        high: float,
        alpha: float = 0.05,
        xi_bounds: tuple[float, float] = (-0.5, 1.0),
        beta_scale: float = 1.0,
        beta_eps: float = 1e-4,
    ) -> None:
        if n_bins < 2 or not high > low:
            raise ValueError("need n_bins >= 2 and high > low")
        xi_min, xi_max = xi_bounds
        if not xi_min < 0.0 < xi_max:
            raise ValueError("xi_bounds must bracket 0")
        self.n_bins, self.low, self.high, self.alpha = int(n_bins), float(low), float(high), alpha
        self.xi_min, self.xi_max = float(xi_min), float(xi_max)
        self.beta_scale, self.beta_eps = float(beta_scale), float(beta_eps)
        self._xi_offset = math.log(-self.xi_min / self.xi_max)  # logit(-xi_min / range)
        self.args_dim: dict[str, int] = {
            "logits": self.n_bins,
            "lower_xi": 1,
            "lower_beta": 1,
            "upper_xi": 1,
            "upper_beta": 1,
        }

    @property
    def total_dim(self) -> int:
        """Width of the raw parameter vector a model head must output."""
        return sum(self.args_dim.values())

    def split(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split a ``(..., total_dim)`` tensor into the raw pieces named in ``args_dim``."""
        if raw.shape[-1] != self.total_dim:
            raise ValueError(f"expected last dim {self.total_dim}, got {raw.shape[-1]}")
        parts = torch.split(raw, list(self.args_dim.values()), dim=-1)
        return dict(zip(self.args_dim, parts, strict=True))

    def xi_map(self, raw: torch.Tensor) -> torch.Tensor:
        """Smooth bounded map ``R -> (xi_min, xi_max)`` with ``0 -> 0``."""
        return self.xi_min + (self.xi_max - self.xi_min) * torch.sigmoid(raw + self._xi_offset)

    def xi_unmap(self, xi: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`xi_map`."""
        r = (xi - self.xi_min) / (self.xi_max - self.xi_min)
        return torch.logit(r) - self._xi_offset

    def beta_map(self, raw: torch.Tensor) -> torch.Tensor:
        """``beta_scale * softplus(raw) + beta_eps``."""
        return self.beta_scale * F.softplus(raw) + self.beta_eps

    def domain_map(
        self,
        logits: torch.Tensor,
        lower_xi: torch.Tensor,
        lower_beta: torch.Tensor,
        upper_xi: torch.Tensor,
        upper_beta: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Map raw pieces (tail pieces with a trailing dim of 1) to valid parameters."""
        return {
            "logits": logits,
            "lower_xi": self.xi_map(lower_xi.squeeze(-1)),
            "lower_beta": self.beta_map(lower_beta.squeeze(-1)),
            "upper_xi": self.xi_map(upper_xi.squeeze(-1)),
            "upper_beta": self.beta_map(upper_beta.squeeze(-1)),
        }

    def params(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        """``domain_map`` applied to ``split(raw)``."""
        return self.domain_map(**self.split(raw))

    def distribution(
        self, raw: torch.Tensor, validate_args: bool | None = None
    ) -> SplicedBinnedPareto:
        """The SBP whose parameters are ``params(raw)``; batch shape ``raw.shape[:-1]``."""
        return SplicedBinnedPareto(
            low=self.low,
            high=self.high,
            alpha=self.alpha,
            validate_args=validate_args,
            **self.params(raw),
        )
