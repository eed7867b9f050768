"""Output families of the yards networks: SBP (ours) and the Gaussian, Student-t and binned
baselines. Each maps raw network outputs to a distribution, a training loss and a numpy cdf.

All families are trained on the integer-yard likelihood where they can express it (SBP,
binned) and on the density otherwise (Gaussian, Student-t), and are scored the same way.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import torch
from scipy import stats
from torch.nn import functional as F

from passing_score.models.sbp import SBPOutput


class Family(Protocol):
    """A distribution head: width of the raw output, loss, and a cdf for scoring."""

    name: str
    width: int

    def loss(self, raw: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None
             ) -> torch.Tensor:
        """Mean negative log-likelihood of y (weighted by w when given)."""
        ...

    def cdf(self, raw: torch.Tensor, x: np.ndarray) -> np.ndarray:
        """P(Y <= x) per row; x is (n,) or (n, m)."""
        ...

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for saving."""
        ...


def _wmean(v: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """Mean of v, weighted by w when given."""
    return v.mean() if w is None else (v * w).sum() / w.sum()


def _rows(raw: torch.Tensor, x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Broadcast raw (n, w) against x (n,) or (n, m): returns raw-ready params and x tensor."""
    xt = torch.tensor(np.asarray(x, np.float64), dtype=torch.float64)
    two_d = xt.dim() == 2
    return raw.to(torch.float64), xt, two_d


class SBPFamily:
    """Spliced Binned-Pareto head (models.sbp): binned body, GPD tails of any sign.

    The predictive distribution is (1 - eps) * SBP + eps * Laplace(centre, width): a tiny
    contamination component keeps the likelihood finite (and gradients alive) for a play
    beyond the end of a bounded (xi < 0) tail, which the SBP alone gives probability zero.
    """

    name = "sbp"

    def __init__(self, low: float, high: float, n_bins: int = 60, alpha: float = 0.05,
                 eps: float = 1e-3) -> None:
        self.low, self.high, self.n_bins, self.alpha, self.eps = low, high, n_bins, alpha, eps
        self.out = SBPOutput(n_bins, low, high, alpha=alpha, beta_scale=max(1.0, (high - low) / 20))
        self.width = self.out.total_dim
        self._centre, self._scale = 0.5 * (low + high), max(1.0, 0.5 * (high - low))

    def dist(self, raw: torch.Tensor) -> Any:
        """The SBP part of each row."""
        return self.out.distribution(raw)

    def _wide_cdf(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self._centre) / self._scale
        return torch.where(z < 0, 0.5 * torch.exp(z.clamp(max=0)),
                           1 - 0.5 * torch.exp(-z.clamp(min=0)))

    def loss(self, raw: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None
             ) -> torch.Tensor:
        """-log P(y - 0.5 < Y <= y + 0.5): the likelihood of integer yards."""
        lp = self.dist(raw).interval_log_prob(y - 0.5, y + 0.5)
        wide = (self._wide_cdf(y + 0.5) - self._wide_cdf(y - 0.5)).clamp_min(1e-30).log()
        mix = torch.logaddexp(lp + math.log1p(-self.eps), wide + math.log(self.eps))
        return -_wmean(mix, w)

    def cdf(self, raw: torch.Tensor, x: np.ndarray) -> np.ndarray:
        """Mixture cdf in float64."""
        r, xt, two_d = _rows(raw, x)
        with torch.no_grad():
            d = self.dist(r)
            # (n, m) points: evaluate as (m, n) so the batch of n rows broadcasts untouched
            sbp = d.cdf(xt.T).T if two_d else d.cdf(xt)
            return ((1 - self.eps) * sbp + self.eps * self._wide_cdf(xt)).numpy()

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"low": self.low, "high": self.high, "n_bins": self.n_bins, "alpha": self.alpha,
                "eps": self.eps}


class GaussianFamily:
    """Conditional Gaussian baseline: mean and softplus scale."""

    name = "gaussian"
    width = 2

    def __init__(self, scale: float = 10.0) -> None:
        self.scale = scale

    def _params(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return raw[..., 0] * self.scale, F.softplus(raw[..., 1]) * self.scale + 1e-3

    def loss(self, raw: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None
             ) -> torch.Tensor:
        """Gaussian density NLL."""
        mu, sd = self._params(raw)
        return -_wmean(torch.distributions.Normal(mu, sd).log_prob(y), w)

    def cdf(self, raw: torch.Tensor, x: np.ndarray) -> np.ndarray:
        """Normal cdf."""
        with torch.no_grad():
            mu, sd = (t.double().numpy() for t in self._params(raw))
        x = np.asarray(x, float)
        if x.ndim == 2:
            mu, sd = mu[:, None], sd[:, None]
        return stats.norm.cdf(x, mu, sd)

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"scale": self.scale}


class StudentTFamily:
    """Conditional Student-t baseline: location, scale and degrees of freedom (> 1)."""

    name = "student_t"
    width = 3

    def __init__(self, scale: float = 10.0) -> None:
        self.scale = scale

    def _params(self, raw: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (raw[..., 0] * self.scale, F.softplus(raw[..., 1]) * self.scale + 1e-3,
                1.0 + F.softplus(raw[..., 2] + 2.0))

    def loss(self, raw: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None
             ) -> torch.Tensor:
        """Student-t density NLL."""
        loc, sc, df = self._params(raw)
        return -_wmean(torch.distributions.StudentT(df, loc, sc).log_prob(y), w)

    def cdf(self, raw: torch.Tensor, x: np.ndarray) -> np.ndarray:
        """Student-t cdf (scipy)."""
        with torch.no_grad():
            loc, sc, df = (t.double().numpy() for t in self._params(raw))
        x = np.asarray(x, float)
        if x.ndim == 2:
            loc, sc, df = loc[:, None], sc[:, None], df[:, None]
        return stats.t.cdf(x, df, loc, sc)

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"scale": self.scale}


class BinnedFamily:
    """Softmax over integer yards in [low, high], no tails: values outside are clipped to the
    edge bins (a binned model cannot express them otherwise)."""

    name = "binned"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = int(low), int(high)
        self.width = self.high - self.low + 1

    def _index(self, y: torch.Tensor) -> torch.Tensor:
        return (y.round().clamp(self.low, self.high) - self.low).long()

    def loss(self, raw: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None
             ) -> torch.Tensor:
        """Cross-entropy over integer bins."""
        return _wmean(F.cross_entropy(raw, self._index(y), reduction="none"), w)

    def cdf(self, raw: torch.Tensor, x: np.ndarray) -> np.ndarray:
        """Step cdf over the integer support."""
        with torch.no_grad():
            cum = torch.softmax(raw.double(), -1).cumsum(-1).numpy()
        x = np.asarray(x, float)
        idx = np.floor(x).astype(np.int64) - self.low  # last support point <= x
        rows = np.arange(cum.shape[0]).reshape((-1,) + (1,) * (x.ndim - 1))
        out = np.where(idx >= 0, cum[rows, np.clip(idx, 0, self.width - 1)], 0.0)
        return np.clip(out, 0.0, 1.0)

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"low": self.low, "high": self.high}


FAMILIES = {"sbp": SBPFamily, "gaussian": GaussianFamily, "student_t": StudentTFamily,
            "binned": BinnedFamily}


def make_family(name: str, **kw: Any) -> Family:
    """Build a family by name."""
    return FAMILIES[name](**kw)


