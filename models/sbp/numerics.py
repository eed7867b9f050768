"""Numerical kernels of the SBP: stable series near xi = 0, gathers and row-chunked tables."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

# |xi * t| below which log1p(u)/u and expm1(u)/u are evaluated by their Taylor series.
# With 6 terms the truncation error is < 2e-19 there, while the direct formula's
# cancellation in d/dxi stays below ~2 eps / 1e-3 (5e-13 in float64) just above the cut.
SERIES_CUT = 1e-3
LOG1P_COEFS = tuple((-1.0) ** n / (n + 1) for n in range(6))  # log1p(u)/u
EXPM1_COEFS = tuple(1.0 / math.factorial(n + 1) for n in range(6))  # expm1(u)/u


def horner(u: torch.Tensor, coefs: Sequence[float]) -> torch.Tensor:
    """Evaluate ``sum_n coefs[n] * u**n`` by Horner's rule."""
    out = torch.full_like(u, coefs[-1])
    for c in reversed(coefs[:-1]):
        out = out * u + c
    return out


def log1p_div(xi: torch.Tensor, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``log1p(u) / xi`` with ``u = xi * t`` (``-> t`` as ``xi -> 0``), finite gradients
    near ``xi = 0``.

    The caller guarantees finite ``t >= 0`` and ``u > -1``. Both branches are fed safe
    inputs so that ``torch.where`` never back-propagates a NaN from the unused one.
    """
    small = u.abs() < SERIES_CUT
    direct = torch.log1p(torch.where(small, 0.0, u)) / torch.where(small, 1.0, xi)
    series = t * horner(torch.where(small, u, 0.0), LOG1P_COEFS)
    return torch.where(small, series, direct)


def expm1_div(xi: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``expm1(xi * s) / xi`` (``-> s`` as ``xi -> 0``); finite ``s >= 0``, stable near 0."""
    v = xi * s
    small = v.abs() < SERIES_CUT
    direct = torch.expm1(torch.where(small, 0.0, v)) / torch.where(small, 1.0, xi)
    series = s * horner(torch.where(small, v, 0.0), EXPM1_COEFS)
    return torch.where(small, series, direct)


def take(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Gather ``table[..., idx]`` with ``table`` of shape ``(*B, K)`` and ``idx`` broadcasting
    against ``B``; returns shape ``broadcast(idx.shape, B)``."""
    if table.dim() == 1:
        return table[idx]
    shape = torch.broadcast_shapes(idx.shape, table.shape[:-1])
    tab = table.expand(*shape, table.shape[-1])
    return tab.gather(-1, idx.expand(shape).unsqueeze(-1)).squeeze(-1)


def searchsorted(cum: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Bin index ``k`` with ``cum[k-1] <= q < cum[k]`` (clamped to ``[0, K-1]``) for a sorted
    inclusive cumulative table ``cum`` of shape ``(*B, K)`` and ``q`` broadcasting against
    ``B``."""
    n_bins = cum.shape[-1]
    if cum.dim() == 1:
        return torch.searchsorted(cum, q.contiguous(), right=True).clamp_(max=n_bins - 1)
    nb = cum.dim() - 1
    shape = torch.broadcast_shapes(q.shape, cum.shape[:-1])
    lead, tail = shape[: len(shape) - nb], shape[len(shape) - nb :]
    seq = cum.expand(*tail, n_bins).contiguous()
    vals = q.expand(shape).reshape(-1, *tail).movedim(0, -1).contiguous()  # (*tail, M)
    k = torch.searchsorted(seq, vals, right=True).clamp_(max=n_bins - 1)
    return k.movedim(-1, 0).reshape(shape) if lead else k.reshape(shape)


CHUNK_ELEMS = 1 << 21  # 8 MB of float32 per row chunk: stays in L3, few parallel regions


def row_chunks(n_rows: int, n_bins: int) -> list[slice]:
    """Row slices of about ``CHUNK_ELEMS`` elements each."""
    step = max(1, CHUNK_ELEMS // n_bins)
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]


def row_stats(logits: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-normaliser ``logsumexp(logits)`` and the body's alpha / 1-alpha quantiles in bin
    units (shape ``(..., 2)``), computed in row chunks so intermediates stay in cache."""
    rows, n_bins = logits.shape[:-1], logits.shape[-1]
    flat = logits.reshape(-1, n_bins)
    qs = torch.tensor([alpha, 1.0 - alpha], dtype=logits.dtype, device=logits.device)
    parts: list[tuple[torch.Tensor, ...]] = []
    for sl in row_chunks(flat.shape[0], n_bins):
        chunk = flat[sl]
        m = chunk.detach().amax(-1, keepdim=True)  # any shift is exact; detach saves work
        e = (chunk - m).exp_()
        c = e.cumsum(-1)
        tot = c[:, -1:]
        k = torch.searchsorted(c.detach(), (tot.detach() * qs), right=True)
        k = k.clamp_(max=n_bins - 1)
        parts.append((m, tot, k, c.gather(-1, k), e.gather(-1, k)))
    m, tot, k, c_k, e_k = (torch.cat(p) for p in zip(*parts, strict=True))
    frac = ((tot * qs - c_k + e_k) / e_k).clamp(0.0, 1.0)
    pos = (k.to(logits.dtype) + frac).reshape(*rows, 2)
    lse = (m + tot.log()).reshape(rows)
    return lse, pos


def cum_p_at_rows(
    base: torch.Tensor, lse: torch.Tensor, k: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cum[k], p[k])`` for one bin index per row of logits ``base`` ``(*rows, K)`` (log-
    normaliser ``lse``), in row chunks without writing the full per-bin tables."""
    rows, n_bins = base.shape[:-1], base.shape[-1]
    flat = base.reshape(-1, n_bins)
    lse = lse.reshape(-1, 1)
    kf = k.expand(rows).reshape(-1, 1)
    cum_parts, p_parts = [], []
    for sl in row_chunks(flat.shape[0], n_bins):
        e = (flat[sl] - lse[sl]).exp_()
        cum_parts.append(e.cumsum(-1).gather(-1, kf[sl]))
        p_parts.append(e.gather(-1, kf[sl]))
    return torch.cat(cum_parts).reshape(rows), torch.cat(p_parts).reshape(rows)


def gpd_mean_var(xi: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """GPD mean (inf for xi >= 1) and variance (inf for xi >= 1/2)."""
    xi_m = torch.where(xi < 1, xi, 0.0)
    xi_v = torch.where(xi < 0.5, xi, 0.0)
    mean = torch.where(xi < 1, beta / (1 - xi_m), math.inf)
    var = torch.where(xi < 0.5, beta**2 / ((1 - xi_v) ** 2 * (1 - 2 * xi_v)), math.inf)
    return mean, var


def body_moments(
    edges: torch.Tensor, lo: torch.Tensor, up: torch.Tensor, p: torch.Tensor, width: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mass, mean and variance of a binned body (bin ``edges``, probabilities ``p``) on
    ``[lo, up]``: per-bin overlap integrals, exact for piecewise-uniform densities, shifted to
    the centre for numerical stability."""
    centre = 0.5 * (lo + up)
    edges = edges - centre.unsqueeze(-1)
    a = torch.maximum(edges[..., :-1], (lo - centre).unsqueeze(-1))
    b = torch.minimum(edges[..., 1:], (up - centre).unsqueeze(-1))
    b = torch.maximum(a, b)
    dens = p / width.unsqueeze(-1)
    mass = (dens * (b - a)).sum(-1)
    m1 = (dens * (b * b - a * a) / 2).sum(-1) / mass
    a_c, b_c = a - m1.unsqueeze(-1), b - m1.unsqueeze(-1)
    var = (dens * (b_c**3 - a_c**3) / 3).sum(-1) / mass
    return mass, centre + m1, var
