"""Compiled (numba) SBP ``log_prob`` / ``cdf`` for float32 inputs that need no autograd.

They compute what ``distribution.py`` computes, in the same float32 operations, but row by
row in cache: max, exp, sum and the alpha / 1-alpha body quantiles of a row in one pass over
its logits, then the points of that row, with no ``(N, K)`` intermediate. Differences are
last-bit rounding: ``exp`` is a vectorisable Cephes polynomial (within 2 ulp of torch's),
running sums are float64 in another order (torch's cumsum also accumulates in float64).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

F32 = np.float32
Arr = npt.NDArray[np.float32]
Real = float | np.floating[Any]  # numba scalars: float32 or float64
INF = F32(np.inf)
SERIES_CUT = F32(1e-3)  # as numerics.SERIES_CUT
L0, L1, L2, L3, L4, L5 = (F32((-1.0) ** n / (n + 1)) for n in range(6))  # log1p(u)/u
LOG2E, LN2_HI, LN2_LO = F32(1.4426950408889634), F32(0.693359375), F32(-2.12194440e-4)
EXP_LO = F32(-87.33654)  # below it exp(x) underflows float32's normal range
P0, P1, P2 = F32(1.9875691500e-4), F32(1.3981999507e-3), F32(8.3334519073e-3)
P3, P4, P5 = F32(4.1665795894e-2), F32(1.6666665459e-1), F32(5.0000001201e-1)
ROW_BLOCK = 512  # rows per parallel task (one scratch row per task)
FAST = {"nsz", "reassoc", "contract", "arcp"}  # no nnan/ninf: inf and NaN stay IEEE


@intrinsic
def f32_from_bits(typingctx: Any, bits: Any) -> Any:  # pragma: no cover - compiled
    """The float32 whose bit pattern is the int32 ``bits`` (a bitcast, so loops vectorise)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(cache=True)
def row_max(row: Arr, acc: Arr) -> Real:  # pragma: no cover - compiled
    """Largest logit of a row (NaN is caught by the caller), as 8 independent running maxima
    in the scratch ``acc[:8]`` (one chain of 100 dependent compares is 2x slower)."""
    n = row.shape[0]
    nb = n // 8 * 8 if n >= 16 else 0
    for j in range(8 if nb else 0):
        acc[j] = row[j]
    for k in range(8, nb, 8):
        for j in range(8):
            v = row[k + j]
            acc[j] = v if v > acc[j] else acc[j]
    m = acc[0] if nb else row[0]
    for j in range(1, 8 if nb else 0):
        m = acc[j] if acc[j] > m else m
    for k in range(nb, n):
        m = row[k] if row[k] > m else m
    return m


@njit(cache=True, fastmath=FAST)
def row_exp(row: Arr, e: Arr) -> tuple[Real, Real]:  # pragma: no cover - compiled
    """Fill ``e = exp(row - max)``; return ``(max, sum)``, a NaN max when a logit is NaN or
    +inf or all are -inf (the torch path gives NaN there too).

    Cephes' expf (range reduction, degree-6 polynomial) times ``2**n`` from its exponent
    bits, so the loop vectorises; inputs below ``EXP_LO`` give ~``2**-126``, not 0."""
    m = row_max(row, e)
    total = 0.0
    check = F32(0.0)  # NaN if a logit is NaN (or +inf and -inf both occur)
    for k in range(row.shape[0]):
        check += row[k]
        x = row[k] - m
        x = x if x > EXP_LO else EXP_LO
        fx = np.floor(x * LOG2E + F32(0.5))
        r = x - fx * LN2_HI - fx * LN2_LO
        p = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5
        two_n: Real = f32_from_bits((np.int32(fx) + 127) << 23)  # type: ignore[call-arg]
        v = (p * (r * r) + r + F32(1.0)) * two_n
        e[k] = v
        total += v
    return (m if math.isfinite(m) and check == check else F32(np.nan)), total


@njit(cache=True)
def body_quantiles(e: Arr, total: Real, q_lo: Real, q_hi: Real) -> tuple[Real, Real]:
    """Alpha / 1-alpha quantiles of the body in bin units, as ``numerics.row_stats``: the
    float32 running sum ``c``, ``k = searchsorted(c, tot * q, right)``, linear in bin k."""
    n_bins = e.shape[0]
    tot = F32(total)
    t_lo, t_hi = tot * F32(q_lo), tot * F32(q_hi)
    acc, k_lo, c_lo = 0.0, n_bins - 1, tot
    for k in range(n_bins):  # from the left: the lower quantile is near the start
        acc += e[k]
        if F32(acc) > t_lo:
            k_lo, c_lo = k, F32(acc)
            break
    suffix, k_hi, c_prev, c_hi = 0.0, -1, F32(total), F32(total)
    for k in range(n_bins - 1, -1, -1):  # from the right: c[k] = total - sum(e[k+1:])
        c = F32(total - suffix)
        if c <= t_hi:
            k_hi, c_hi = min(k + 1, n_bins - 1), c_prev
            break
        c_prev = c
        suffix += e[k]
    if k_hi < 0:  # every c[k] > t_hi
        k_hi, c_hi = 0, c_prev
    f_lo = min(max((t_lo - c_lo + e[k_lo]) / e[k_lo], F32(0.0)), F32(1.0))
    f_hi = min(max((t_hi - c_hi + e[k_hi]) / e[k_hi], F32(0.0)), F32(1.0))
    return F32(k_lo) + f_lo, F32(k_hi) + f_hi


@njit(cache=True, fastmath=FAST)
def prefix(e: Arr, total: Real, k: int) -> Real:
    """``sum(e[:k + 1])`` in float64, summed from the nearer end of the row."""
    n_bins = e.shape[0]
    s = 0.0
    if 2 * k < n_bins:
        for j in range(k + 1):
            s += e[j]
        return s
    for j in range(k + 1, n_bins):
        s += e[j]
    return total - s


@njit(cache=True)
def point(x: Real, low: Real, high: Real, lxi: Real, lbeta: Real, uxi: Real,
          ubeta: Real, n_bins: int, pos_lo: Real,
          pos_hi: Real) -> tuple[int, Real, int, Real]:
    """Bin index, position in the bin, side (-1 lower tail, 1 upper, 0 body) and the tail's
    ``h = log1p(xi t) / xi`` (``inf`` beyond a bounded tail's end point), as the torch path."""
    width = (high - low) / F32(n_bins)
    u = (x - low) / width
    fu = np.floor(u)
    k = 0 if fu != fu else int(min(max(fu, F32(0.0)), F32(n_bins - 1)))
    frac = min(max(u - F32(k), F32(0.0)), F32(1.0))
    x_lo, x_hi = low + width * F32(pos_lo), low + width * F32(pos_hi)
    side = 1 if x > x_hi else (-1 if x < x_lo else 0)
    if side == 0:
        return k, frac, 0, F32(0.0)
    z = max(x - x_hi if side == 1 else x_lo - x, F32(0.0))
    xi, beta = (uxi, ubeta) if side == 1 else (lxi, lbeta)
    t = z / beta
    v = xi * t
    if not v > F32(-1.0):  # outside a bounded tail's support (or 0 * inf)
        return k, frac, side, INF
    if abs(v) < SERIES_CUT:
        return k, frac, side, t * (((((L5 * v + L4) * v + L3) * v + L2) * v + L1) * v + L0)
    return k, frac, side, math.log1p(v) / xi


@njit(cache=True)
def finish(x: Real, side: int, h: Real, lbeta: Real, lxi: Real, ubeta: Real,
           uxi: Real, log_alpha: Real, body: Real, want_cdf: bool) -> Real:
    """Combine a point's tail term and body value into ``log_prob`` or ``cdf``."""
    if x != x:
        return F32(np.nan)
    if side == 0:
        return body
    if want_cdf:
        tail = F32(0.0) if h == INF else math.exp(F32(log_alpha) - h)
        return F32(1.0) - tail if side == 1 else tail
    if h == INF:
        return -INF
    xi, beta = (uxi, ubeta) if side == 1 else (lxi, lbeta)
    return (F32(log_alpha) - math.log(beta)) - (F32(1.0) + xi) * h


@njit(cache=True)
def at(a: npt.NDArray[np.generic], i: int) -> Any:  # pragma: no cover - compiled
    """``a[i]``, or ``a[0]`` when ``a`` holds one value shared by every point."""
    return a[i] if a.shape[0] > 1 else a[0]


@njit(cache=True, parallel=True)
def eval_per_row(logits: Arr, x: Arr, low: Arr, high: Arr, lxi: Arr, lbeta: Arr, uxi: Arr,
                 ubeta: Arr, alpha: Real, want_cdf: bool) -> Arr:  # pragma: no cover
    """Point ``i`` of row ``i`` (logits ``(N, K)``; the rest ``(N,)`` or one value): its row's
    statistics and its value in one pass over the row while it is in cache."""
    n, n_bins = logits.shape
    out = np.empty(n, np.float32)
    log_alpha = math.log(alpha)
    for b in prange((n + ROW_BLOCK - 1) // ROW_BLOCK):
        e = np.empty(n_bins, np.float32)
        for i in range(b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK)):
            m, total = row_exp(logits[i], e)
            if m != m:  # NaN or +inf logits: NaN, as the torch path
                out[i] = np.nan
                continue
            pos_lo, pos_hi = body_quantiles(e, total, alpha, 1.0 - alpha)
            xv, lo, hi = at(x, i), at(low, i), at(high, i)
            lx, lb, ux, ub = at(lxi, i), at(lbeta, i), at(uxi, i), at(ubeta, i)
            k, frac, side, h = point(xv, lo, hi, lx, lb, ux, ub, n_bins, pos_lo, pos_hi)
            body = F32(0.0)
            if side == 0 and want_cdf:
                p_k = F32(e[k] / total)
                body = F32(prefix(e, total, k) / total) - p_k * (F32(1.0) - frac)
            elif side == 0:  # log p_k - log width, with lse = m + log(total)
                body = logits[i, k] - m - F32(math.log(F32(total) * ((hi - lo) / F32(n_bins))))
            out[i] = finish(xv, side, h, lb, lx, ub, ux, log_alpha, body, want_cdf)
    return out


@njit(cache=True, parallel=True)
def row_tables(logits: Arr, alpha: Real, want_cdf: bool) -> tuple[Arr, Arr, Arr]:
    """Per-row ``lse`` and body quantiles ``(R, 2)``; with ``want_cdf`` also the body cdf
    at each bin's right edge ``(R, K)`` (else an empty table)."""
    n, n_bins = logits.shape
    lse = np.empty(n, np.float32)
    pos = np.empty((n, 2), np.float32)
    cum = np.empty((n if want_cdf else 0, n_bins), np.float32)
    for b in prange((n + ROW_BLOCK - 1) // ROW_BLOCK):
        e = np.empty(n_bins, np.float32)
        for i in range(b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK)):
            m, total = row_exp(logits[i], e)
            if m != m:  # NaN or +inf logits: NaN statistics, as the torch path
                lse[i], pos[i, 0], pos[i, 1] = np.nan, np.nan, np.nan
                if want_cdf:
                    cum[i, :] = np.nan
                continue
            lse[i] = m + F32(math.log(F32(total)))
            pos[i, 0], pos[i, 1] = body_quantiles(e, total, alpha, 1.0 - alpha)
            if want_cdf:
                acc = 0.0
                for k in range(n_bins):
                    acc += e[k]
                    cum[i, k] = F32(acc / total)
    return lse, pos, cum


@njit(cache=True, parallel=True)
def eval_gathered(logits: Arr, lse: Arr, pos: Arr, cum: Arr, row: npt.NDArray[np.int64],
                  n: int, x: Arr, low: Arr, high: Arr, lxi: Arr, lbeta: Arr, uxi: Arr,
                  ubeta: Arr, alpha: Real, want_cdf: bool) -> Arr:  # pragma: no cover
    """Point ``i`` (of ``n``) of row ``row[i]`` from the per-row tables of ``row_tables``;
    every vector holds ``n`` values or one."""
    n_bins = logits.shape[1]
    out = np.empty(n, np.float32)
    log_alpha = math.log(alpha)
    for i in prange(n):
        r = at(row, i)
        xv, lo, hi = at(x, i), at(low, i), at(high, i)
        lx, lb, ux, ub = at(lxi, i), at(lbeta, i), at(uxi, i), at(ubeta, i)
        k, frac, side, h = point(xv, lo, hi, lx, lb, ux, ub, n_bins, pos[r, 0], pos[r, 1])
        body = F32(0.0)
        if side == 0 and want_cdf:
            p_k = math.exp(logits[r, k] - lse[r])
            body = cum[r, k] - p_k * (F32(1.0) - frac)
        elif side == 0:
            body = logits[r, k] - lse[r] - F32(math.log((hi - lo) / F32(n_bins)))
        out[i] = finish(xv, side, h, lb, lx, ub, ux, log_alpha, body, want_cdf)
    return out
