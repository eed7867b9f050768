"""Maximum-likelihood fit of an unconditional SBP to a 1-D sample (L-BFGS in float64)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch

from passing_score.models.sbp.distribution import SplicedBinnedPareto
from passing_score.models.sbp.output import SBPOutput

__all__ = ["fit_sbp", "gpd_pwm"]


def gpd_pwm(exceedances: np.ndarray) -> tuple[float, float]:
    """Probability-weighted-moment (Hosking & Wallis 1987) GPD estimate ``(xi, beta)``."""
    z = np.sort(np.asarray(exceedances, dtype=np.float64))
    n = z.size
    if n < 3 or not np.all(np.isfinite(z)):
        return 0.0, max(float(np.mean(z)), 1e-3) if n else 1.0
    a0 = z.mean()
    a1 = np.mean(z * (n - 1 - np.arange(n)) / (n - 1))  # weights (n - i) / (n - 1), i = 1..n
    denom = a0 - 2.0 * a1
    if denom <= 0:
        return 0.0, float(max(a0, 1e-3))
    return float(2.0 - a0 / denom), float(max(2.0 * a0 * a1 / denom, 1e-6))


def _default_bounds(
    x: np.ndarray, n_bins: int, alpha: float, margin: float, grid: float | None
) -> tuple[float, float]:
    """Body range covering the alpha / 1-alpha sample quantiles with a relative margin.

    With a data ``grid`` the edges sit on half-grid points and the bin width is a multiple
    of the grid, so every bin holds whole grid cells.
    """
    qa, qb = np.quantile(x, [alpha, 1 - alpha])
    span = max(qb - qa, 1e-6 * max(1.0, abs(qa)))
    lo, hi = qa - margin * span, qb + margin * span
    if grid is None:
        return float(lo), float(hi)
    low = (math.floor(lo / grid) - 0.5) * grid
    width = grid * max(1, math.ceil((hi - low) / (n_bins * grid)))
    return float(low), float(low + n_bins * width)


def fit_sbp(
    x: torch.Tensor | np.ndarray | Sequence[float],
    n_bins: int = 50,
    alpha: float = 0.05,
    low: float | None = None,
    high: float | None = None,
    seed: int = 0,
    *,
    grid: float | None = None,
    margin: float = 0.25,
    xi_bounds: tuple[float, float] = (-0.5, 1.0),
    max_iter: int = 300,
    max_points: int = 2_000_000,
    dtype: torch.dtype = torch.float64,
) -> SplicedBinnedPareto:
    """Maximum-likelihood fit of an unconditional SBP to a 1-D sample.

    Args:
        x: the sample (NaNs are dropped).
        n_bins, alpha: body resolution and tail mass.
        low, high: body range; by default the alpha / 1-alpha sample quantiles widened by
            ``margin`` times their distance (see ``_default_bounds``).
        seed: seeds the subsample taken when ``len(x) > max_points`` (the fit is otherwise
            deterministic: L-BFGS in float64 from a data-driven start).
        grid: if the data are rounded to multiples of ``grid`` (e.g. integer yards), fit the
            interval-censored likelihood ``P(x - grid/2 < X <= x + grid/2)`` instead of the
            density, and align bins to half-grid points.
        xi_bounds: tail shapes are kept in this open interval by a sigmoid map.

    Starts from the clipped histogram (logits) and PWM estimates of the exceedances beyond
    the start's splice points (tails); optimises unconstrained ``(logits, raw xi, log beta)``.
    """
    arr = x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
    arr = arr.astype(np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    if arr.size < 10:
        raise ValueError("need at least 10 non-NaN points")
    if arr.size > max_points:
        rng = np.random.default_rng(seed)
        arr = rng.choice(arr, size=max_points, replace=False)
    dlow, dhigh = _default_bounds(arr, n_bins, alpha, margin, grid)
    low = dlow if low is None else float(low)
    high = dhigh if high is None else float(high)
    if not high > low:
        raise ValueError("high must exceed low")

    # --- initialisation: clipped histogram + PWM tails
    width = (high - low) / n_bins
    idx = np.clip(np.floor((arr - low) / width), 0, n_bins - 1).astype(np.int64)
    hist = np.bincount(idx, minlength=n_bins).astype(np.float64) + 0.5
    logits0 = torch.as_tensor(np.log(hist / hist.sum()), dtype=dtype)
    probe = SplicedBinnedPareto(logits0, low, high, 0.0, 1.0, 0.0, 1.0, alpha=alpha)
    x_l, x_u = float(probe.lower_splice), float(probe.upper_splice)
    out = SBPOutput(n_bins, low, high, alpha=alpha, xi_bounds=xi_bounds)
    eps_xi = 0.02 * (out.xi_max - out.xi_min)
    raw0: list[torch.Tensor] = [logits0]
    for exc in (x_l - arr[arr < x_l], arr[arr > x_u] - x_u):
        xi0, beta0 = gpd_pwm(exc)
        if grid is not None:
            beta0 = max(beta0, grid / 4)
        xi0 = float(np.clip(xi0, out.xi_min + eps_xi, out.xi_max - eps_xi))
        if xi0 < 0:  # keep every observed exceedance inside the start's support
            zmax = float(exc.max()) if exc.size else 0.0
            beta0 = max(beta0, -xi0 * zmax * 1.05 + 1e-9)
        raw0 += [out.xi_unmap(torch.tensor(xi0, dtype=dtype)), torch.tensor(math.log(beta0))]
    params = [r.to(dtype).clone().requires_grad_(True) for r in raw0]

    def build(p: list[torch.Tensor]) -> SplicedBinnedPareto:
        xi_l, xi_u = out.xi_map(p[1]), out.xi_map(p[3])
        return SplicedBinnedPareto(
            p[0], low, high, xi_l, p[2].exp(), xi_u, p[4].exp(), alpha=alpha, validate_args=False
        )

    if grid is not None:
        # Rounded data: interval-censored likelihood over the (few) distinct values.
        vals, counts = np.unique(arr, return_counts=True)
        xv = torch.as_tensor(vals, dtype=dtype)
        w = torch.as_tensor(counts / counts.sum(), dtype=dtype)
        half = grid / 2.0

        def nll(d: SplicedBinnedPareto) -> torch.Tensor:
            return -(w * d.interval_log_prob(xv - half, xv + half)).sum()

        _lbfgs(params, lambda: nll(build(params)), max_iter)
    else:
        # Continuous data: points well inside the body only ever contribute
        # log p_k - log(width), so they enter through per-bin counts; only the outer
        # `band` fraction on each side is evaluated point by point. If a splice point ends
        # up outside its band the fit is repeated with every point evaluated.
        xs = np.sort(arr)
        n = xs.size
        band = min(0.5, 3.0 * alpha)
        i_lo, i_hi = int(n * band), n - int(n * band)
        for attempt in range(2):
            if attempt == 1 or xs[i_lo] < low or xs[i_hi - 1] > high or i_lo >= i_hi:
                i_lo, i_hi = 0, 0
            cand = torch.as_tensor(np.concatenate([xs[:i_lo], xs[i_hi:]]), dtype=dtype)
            mid = xs[i_lo:i_hi]
            mid_idx = np.clip(np.floor((mid - low) / width), 0, n_bins - 1).astype(np.int64)
            mid_counts = torch.as_tensor(np.bincount(mid_idx, minlength=n_bins), dtype=dtype)

            def nll_c(d: SplicedBinnedPareto, c: torch.Tensor = cand,
                      mc: torch.Tensor = mid_counts) -> torch.Tensor:
                body = (mc * d.bin_log_density).sum()
                return -(d.log_prob(c).sum() + body) / n

            _lbfgs(params, partial(_loss_of, nll_c, build, params), max_iter)
            if i_lo == 0:
                break
            with torch.no_grad():
                d = build(params)
            if float(d.lower_splice) < xs[i_lo] and float(d.upper_splice) > xs[i_hi - 1]:
                break
    with torch.no_grad():
        return build([p.detach() for p in params])


def _loss_of(nll: Callable[[SplicedBinnedPareto], torch.Tensor],
             build: Callable[[list[torch.Tensor]], SplicedBinnedPareto],
             params: list[torch.Tensor]) -> torch.Tensor:
    """The loss closure L-BFGS re-evaluates: the distribution rebuilt from the parameters."""
    return nll(build(params))


def _lbfgs(params: list[torch.Tensor], loss_fn: Callable[[], torch.Tensor], max_iter: int
           ) -> None:
    """Run L-BFGS (strong Wolfe) on ``loss_fn``; non-finite trial losses are mapped to a
    large constant so the line search backs off instead of propagating NaN."""
    opt = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=max_iter,
        max_eval=2 * max_iter,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-8,
        tolerance_change=1e-10,
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn()
        if not torch.isfinite(loss):
            return torch.tensor(1e10, dtype=loss.dtype)
        loss.backward()
        return loss

    opt.step(closure)
