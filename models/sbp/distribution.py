"""Spliced Binned-Pareto (SBP) distribution in torch.

Ehrlich, Aubet & Callot, "Spliced Binned-Pareto Distribution for Robust Modeling of
Heavy-tailed Time Series" (ICLR 2021 RobustML workshop): a piecewise-uniform ("binned")
body on ``[low, high]`` whose ``alpha`` and ``1 - alpha`` quantiles are the splice points
``x_l`` / ``x_u``; beyond them the mass ``alpha`` of each side follows a Generalized Pareto
distribution (GPD) of the distance to the splice point:

* ``x < x_l``:          density ``alpha * g(x_l - x; lower_xi, lower_beta)``
* ``x_l <= x <= x_u``:  density ``p_k / width`` (bin ``k``; the body mass there is exactly
  ``1 - 2 alpha`` by construction, so no renormalisation is needed)
* ``x > x_u``:          density ``alpha * g(x - x_u; upper_xi, upper_beta)``

Compared with GluonTS' torch version this one is a normalised density (GluonTS' body term
is a bin *mass*, not a density), allows tail shapes of any sign (bounded tails for
``xi < 0``, exponential at ``xi = 0``, stable near 0 through series branches), has an exact
``mean``/``variance``/``entropy``, reparameterised sampling through ``icdf``, broadcasting
batch shapes and O(1)-per-point evaluation (arithmetic bin index plus gathers). See
``docs/sbp.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import torch
from torch.distributions import Distribution, constraints

from passing_score.models.sbp.fast import compiled_eval, needs_torch
from passing_score.models.sbp.numerics import (
    body_moments,
    cum_p_at_rows,
    expm1_div,
    gpd_mean_var,
    log1p_div,
    row_stats,
    searchsorted,
    take,
)

__all__ = ["SplicedBinnedPareto"]

Number = float | int
TensorLike = torch.Tensor | Number

def _as_tensor(v: TensorLike, like: torch.Tensor) -> torch.Tensor:
    """Convert ``v`` to a tensor with ``like``'s floating dtype and device."""
    return torch.as_tensor(v, dtype=like.dtype, device=like.device)


class SplicedBinnedPareto(Distribution):
    """Spliced Binned-Pareto distribution: binned body, GPD tails of any shape sign.

    Args:
        logits: ``(..., K)`` unnormalised log-probabilities of ``K`` equal-width bins.
        low, high: body range (floats or tensors broadcastable to the batch shape).
        lower_xi, lower_beta: GPD shape (any sign) and scale (> 0) of the lower tail.
        upper_xi, upper_beta: the same for the upper tail.
        alpha: probability mass of each tail, in ``(0, 0.5)``.

    The batch shape is the broadcast of ``logits.shape[:-1]`` with all other parameters.
    """

    arg_constraints = {  # noqa: RUF012 - torch's Distribution API declares a class dict
        "logits": constraints.real_vector,
        "low": constraints.real,
        "high": constraints.real,
        "lower_xi": constraints.real,
        "lower_beta": constraints.positive,
        "upper_xi": constraints.real,
        "upper_beta": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(
        self,
        logits: torch.Tensor,
        low: TensorLike,
        high: TensorLike,
        lower_xi: TensorLike,
        lower_beta: TensorLike,
        upper_xi: TensorLike,
        upper_beta: TensorLike,
        alpha: float = 0.05,
        validate_args: bool | None = None,
    ) -> None:
        if not torch.is_tensor(logits) or logits.dim() < 1:
            raise ValueError("logits must be a tensor of shape (..., n_bins)")
        if not logits.is_floating_point():
            logits = logits.to(torch.get_default_dtype())
        if not 0.0 < float(alpha) < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
        if logits.shape[-1] < 2:
            raise ValueError("need at least 2 bins")
        self.alpha = float(alpha)
        self.n_bins = int(logits.shape[-1])
        low_t, high_t = _as_tensor(low, logits), _as_tensor(high, logits)
        tails = [_as_tensor(v, logits) for v in (lower_xi, lower_beta, upper_xi, upper_beta)]
        batch_shape = torch.broadcast_shapes(
            logits.shape[:-1], low_t.shape, high_t.shape, *(v.shape for v in tails)
        )
        self.logits = logits
        self.low, self.high = low_t, high_t
        # Tail parameters are stored as (free) expanded views so every output has the full
        # batch shape even when the tables below broadcast from a smaller shape.
        self.lower_xi, self.lower_beta, self.upper_xi, self.upper_beta = (
            v.expand(batch_shape) for v in tails
        )
        super().__init__(batch_shape, validate_args=validate_args)
        if self._validate_args and not bool((high_t > low_t).all()):
            raise ValueError("high must be greater than low")
        self._build_tables()

    def _build_tables(self) -> None:
        """Bin width; per-row log-normaliser and splice points unless the compiled
        ``log_prob`` / ``cdf`` need none (no autograd; then built on first use). Per-bin tables
        (``_log_p``, ``_p``, ``_cum``) are built only when a method needs them: for 1e6 x 100
        bins writing three fresh 400 MB tables costs more than everything else."""
        self._logits_base = self.logits  # un-expanded; `expand` keeps pointing here
        self._width = (self.high - self.low) / self.n_bins
        self._log_width = self._width.log()
        self._stats: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        if needs_torch([self.logits, *self._params()]):
            self._row_stats()

    def _params(self) -> tuple[torch.Tensor, ...]:
        """``(low, high, lower_xi, lower_beta, upper_xi, upper_beta)``."""
        return self.low, self.high, self.lower_xi, self.lower_beta, self.upper_xi, self.upper_beta

    def _compiled(self, x: torch.Tensor, cdf: bool) -> torch.Tensor | None:
        """``cdf`` / ``log_prob`` by the compiled kernels when nothing needs autograd."""
        args = (self._logits_base, self._params(), self.alpha, x, self.batch_shape, cdf)
        return compiled_eval(*args)

    def _row_stats(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(lse, lower_splice, upper_splice)``, in cache-sized row chunks, once."""
        if self._stats is None:
            lse, pos = row_stats(self._logits_base, self.alpha)
            lo, up = (self.low + self._width * pos[..., i] for i in (0, 1))
            self._stats = (lse, lo, up)
        return self._stats

    @property
    def lower_splice(self) -> torch.Tensor:
        """``x_l``, the body's alpha quantile."""
        return self._row_stats()[1]

    @property
    def upper_splice(self) -> torch.Tensor:
        """``x_u``, the body's 1-alpha quantile."""
        return self._row_stats()[2]

    @cached_property
    def _log_p(self) -> torch.Tensor:
        """Per-bin log-probabilities ``log_softmax(logits)``."""
        return self._logits_base - self._row_stats()[0].unsqueeze(-1)

    @cached_property
    def _p(self) -> torch.Tensor:
        """Per-bin probabilities."""
        return self._log_p.exp()

    @cached_property
    def _cum(self) -> torch.Tensor:
        """Inclusive cumulative bin probabilities: body cdf at each bin's right edge."""
        return self._p.cumsum(-1)

    def _cum_p_at(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cum[k], p[k])``; chunked without full tables when ``k`` is one index per row."""
        base = self._logits_base
        rows = base.shape[:-1]
        if (
            "_cum" in self.__dict__
            or len(rows) == 0
            or torch.broadcast_shapes(k.shape, rows) != rows
        ):
            return take(self._cum, k), take(self._p, k)
        return cum_p_at_rows(base, self._row_stats()[0], k)

    # ------------------------------------------------------------------ torch API
    def expand(
        self, batch_shape: Sequence[int], _instance: SplicedBinnedPareto | None = None
    ) -> SplicedBinnedPareto:
        """Expand to ``batch_shape`` without copying or recomputing the bin tables."""
        new = self._get_checked_instance(SplicedBinnedPareto, _instance)
        batch_shape = torch.Size(batch_shape)
        new.alpha, new.n_bins = self.alpha, self.n_bins
        new.logits = self.logits.expand(*batch_shape, self.n_bins)
        new.low, new.high = self.low.expand(batch_shape), self.high.expand(batch_shape)
        for name in ("lower_xi", "lower_beta", "upper_xi", "upper_beta"):
            setattr(new, name, getattr(self, name).expand(batch_shape))
        for name in ("_logits_base", "_width", "_log_width"):
            setattr(new, name, getattr(self, name))
        new._stats = None
        if self._stats is not None:
            lse, lo, up = self._stats
            new._stats = (lse, lo.expand(batch_shape), up.expand(batch_shape))
        for name in ("_log_p", "_p", "_cum"):  # cached tables, if already built
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name]
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def bin_edges(self) -> torch.Tensor:
        """Bin edges, shape ``(*low.shape, K + 1)``."""
        steps = torch.arange(self.n_bins + 1, dtype=self.low.dtype, device=self.low.device)
        return self.low.unsqueeze(-1) + self._width.unsqueeze(-1) * steps

    @property
    def bin_probs(self) -> torch.Tensor:
        """Body bin probabilities ``softmax(logits)``."""
        return self._p

    @property
    def bin_log_density(self) -> torch.Tensor:
        """Log density inside each body bin, ``log p_k - log width`` (what a point in bin k
        contributes to ``log_prob``; the fit sums it over per-bin counts)."""
        return self._log_p - self._log_width.unsqueeze(-1)

    def _bin_index(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Arithmetic bin index (clamped to the body) and position in bin units."""
        u = (x - self.low) / self._width
        k = torch.nan_to_num(u.floor(), nan=0.0).clamp_(0, self.n_bins - 1).long()
        return k, u

    def _tail_terms(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """GPD quantities for the tail each point falls in (one evaluation serves both).

        Returns ``(lower, upper, xi, beta, inside, h)``: tail masks, the tail's shape and
        scale, whether ``x`` is inside a bounded tail's support, and
        ``h = log1p(xi t) / xi`` with ``t = z / beta`` the scaled distance past the splice
        point (0 for body points and outside the support), so that
        ``log S(t) = -h`` and ``log g = -log beta - (1 + xi) h``.
        """
        lower = x < self.lower_splice
        upper = x > self.upper_splice
        z = torch.where(upper, x - self.upper_splice, self.lower_splice - x).clamp_(min=0.0)
        xi = torch.where(upper, self.upper_xi, self.lower_xi)
        beta = torch.where(upper, self.upper_beta, self.lower_beta)
        t = z / beta
        u = xi * t
        inside = u > -1.0  # 1 + xi t > 0; False for 0 * inf (x = +-inf) as well
        t = torch.where(inside, t, 0.0)
        h = log1p_div(xi, t, torch.where(inside, u, 0.0))
        return lower, upper, xi, beta, inside, h

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Log density; ``-inf`` beyond the end point of a bounded (``xi < 0``) tail."""
        x = torch.as_tensor(value, dtype=self.logits.dtype, device=self.logits.device)
        if self._validate_args:
            self._validate_sample(x)
        if (fast := self._compiled(x, cdf=False)) is not None:
            return fast
        k, _ = self._bin_index(x)
        body = take(self._logits_base, k) - self._row_stats()[0] - self._log_width
        lower, upper, xi, beta, inside, h = self._tail_terms(x)
        tail = (math.log(self.alpha) - beta.log()) - (1.0 + xi) * h
        tail = torch.where(inside, tail, -math.inf)
        out = torch.where(lower | upper, tail, body)
        return torch.where(x.isnan(), math.nan, out)

    def _cdf_parts(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(lower, upper, log_tail, body_cdf)``: tail masks, ``log(alpha * S(t))`` for the
        tail a point is in (the log-cdf below ``x_l``, the log-survival above ``x_u``;
        ``-inf`` beyond a bounded tail's end point) and the body cdf."""
        k, u = self._bin_index(x)
        frac = (u - k).clamp(0.0, 1.0)
        cum_k, p_k = self._cum_p_at(k)
        body = cum_k - p_k * (1.0 - frac)
        lower, upper, _, _, inside, h = self._tail_terms(x)
        log_tail = torch.where(inside, math.log(self.alpha) - h, -math.inf)
        return lower, upper, log_tail, body

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        """Cumulative distribution function (continuous, including at the splice points)."""
        x = torch.as_tensor(value, dtype=self.logits.dtype, device=self.logits.device)
        if self._validate_args:
            self._validate_sample(x)
        if (fast := self._compiled(x, cdf=True)) is not None:
            return fast
        lower, upper, log_tail, body = self._cdf_parts(x)
        tail = log_tail.exp()
        out = torch.where(upper, 1.0 - tail, torch.where(lower, tail, body))
        return torch.where(x.isnan(), math.nan, out)

    def interval_log_prob(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``log P(a < X <= b)`` for ``a <= b``; within one tail it is computed from the
        tail's log-survival (``log S_a + log1p(-S_b / S_a)``), free of cancellation."""
        a = torch.as_tensor(a, dtype=self.logits.dtype, device=self.logits.device)
        b = torch.as_tensor(b, dtype=self.logits.dtype, device=self.logits.device)
        lo_a, up_a, lt_a, body_a = self._cdf_parts(a)
        lo_b, up_b, lt_b, body_b = self._cdf_parts(b)
        ta, tb = lt_a.exp(), lt_b.exp()
        cdf_a = torch.where(up_a, 1.0 - ta, torch.where(lo_a, ta, body_a))
        cdf_b = torch.where(up_b, 1.0 - tb, torch.where(lo_b, tb, body_b))
        tiny = torch.finfo(a.dtype).tiny
        diff = (cdf_b - cdf_a).clamp_min(tiny).log()
        # both above x_u: alpha (S(a) - S(b)); both below x_l: alpha (S(x_l - b) - S(x_l - a))
        hi_tail, lo_tail = torch.where(up_a, lt_a, lt_b), torch.where(up_a, lt_b, lt_a)
        gap = torch.where(hi_tail.isfinite(), lo_tail - hi_tail, -math.inf).clamp(max=-tiny)
        same = hi_tail + torch.log(-torch.expm1(gap))  # -inf when beyond a bounded tail
        return torch.where(up_a | lo_b, same, diff)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        """Quantile function; differentiable w.r.t. all parameters (used by ``rsample``)."""
        q = torch.as_tensor(value, dtype=self.logits.dtype, device=self.logits.device)
        a = self.alpha
        # body: invert the piecewise-linear body cdf
        k = searchsorted(self._cum, q)
        cum_k, p_k = take(self._cum, k), take(self._p, k)
        frac = ((q - cum_k + p_k) / p_k).clamp(0.0, 1.0)
        body = self.low + self._width * (k.to(q.dtype) + frac)
        # tails: survival s = q/alpha (lower) or (1-q)/alpha (upper); -log s = ell >= 0
        lower, upper = q < a, q > 1.0 - a
        tiny = torch.finfo(q.dtype).tiny
        q_lo = torch.where(lower, q, a).clamp_min(tiny)
        q_up = torch.where(upper, q, 1.0 - a).clamp_max(1.0 - torch.finfo(q.dtype).eps / 2)
        ell = torch.where(upper, math.log(a) - torch.log1p(-q_up), math.log(a) - q_lo.log())
        ell = ell.clamp_min(0.0)
        xi = torch.where(upper, self.upper_xi, self.lower_xi)
        beta = torch.where(upper, self.upper_beta, self.lower_beta)
        z = beta * expm1_div(xi, ell)
        # exact end points for q == 0 / q == 1
        at_end = (upper & (q >= 1.0)) | (lower & (q <= 0.0))
        end = torch.where(xi < 0, -beta / torch.where(xi < 0, xi, -1.0), math.inf)
        z = torch.where(at_end, end, z)
        out = torch.where(
            upper, self.upper_splice + z, torch.where(lower, self.lower_splice - z, body)
        )
        return torch.where(q.isnan() | (q < 0) | (q > 1), math.nan, out)

    def rsample(self, sample_shape: Sequence[int] = torch.Size()) -> torch.Tensor:
        """Reparameterised sample ``icdf(U)``, ``U ~ Uniform(0, 1)``."""
        shape = self._extended_shape(torch.Size(sample_shape))
        u = torch.rand(shape, dtype=self.logits.dtype, device=self.logits.device)
        return self.icdf(u.clamp_min(torch.finfo(u.dtype).tiny))

    def sample(self, sample_shape: Sequence[int] = torch.Size()) -> torch.Tensor:
        """Sample without gradient tracking."""
        with torch.no_grad():
            return self.rsample(sample_shape)

    # ------------------------------------------------------------------ moments
    def _body_moments(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mass, mean and variance of the body restricted to ``[x_l, x_u]``."""
        lo, up = self.lower_splice, self.upper_splice
        return body_moments(self.bin_edges, lo, up, self._p, self._width)

    @property
    def mean(self) -> torch.Tensor:
        """Exact mean: +inf if ``upper_xi >= 1``, -inf if ``lower_xi >= 1``, NaN if both."""
        a = self.alpha
        _, mu_b, _ = self._body_moments()
        ez_l, _ = gpd_mean_var(self.lower_xi, self.lower_beta)
        ez_u, _ = gpd_mean_var(self.upper_xi, self.upper_beta)
        return (
            a * (self.lower_splice - ez_l) + (1 - 2 * a) * mu_b + a * (self.upper_splice + ez_u)
        ).expand(self.batch_shape)

    @property
    def variance(self) -> torch.Tensor:
        """Exact variance (law of total variance); inf if either ``xi >= 1/2``."""
        a = self.alpha
        _, mu_b, var_b = self._body_moments()
        ez_l, vz_l = gpd_mean_var(self.lower_xi, self.lower_beta)
        ez_u, vz_u = gpd_mean_var(self.upper_xi, self.upper_beta)
        finite = (self.lower_xi < 0.5) & (self.upper_xi < 0.5)
        ez_l, vz_l = torch.where(finite, ez_l, 0.0), torch.where(finite, vz_l, 0.0)
        ez_u, vz_u = torch.where(finite, ez_u, 0.0), torch.where(finite, vz_u, 0.0)
        mu_l, mu_u = self.lower_splice - ez_l, self.upper_splice + ez_u
        mu = a * mu_l + (1 - 2 * a) * mu_b + a * mu_u
        var = (
            a * (vz_l + (mu_l - mu) ** 2)
            + (1 - 2 * a) * (var_b + (mu_b - mu) ** 2)
            + a * (vz_u + (mu_u - mu) ** 2)
        )
        return torch.where(finite, var, math.inf).expand(self.batch_shape)

    def entropy(self) -> torch.Tensor:
        """Differential entropy (GPD entropy is ``log beta + xi + 1``)."""
        a = self.alpha
        edges = self.bin_edges
        lo = torch.maximum(edges[..., :-1], self.lower_splice.unsqueeze(-1))
        hi = torch.maximum(lo, torch.minimum(edges[..., 1:], self.upper_splice.unsqueeze(-1)))
        mass = self._p * (hi - lo) / self._width.unsqueeze(-1)
        body = -(mass * (self._log_p - self._log_width.unsqueeze(-1))).sum(-1)
        tails = a * (self.lower_beta.log() + self.lower_xi + 1 - math.log(a))
        tails = tails + a * (self.upper_beta.log() + self.upper_xi + 1 - math.log(a))
        return (body + tails).expand(self.batch_shape)
