"""Compiled (numba) kernels of the scoring path: tree ensembles, SBP yards summaries on the
integer-yard grid, and the normal quantile function.

They compute what the fitted play models compute (scikit-learn's histogram gradient
boosting predictor, `models.sbp` and `models.families.SBPFamily.cdf` in float64,
`models.predict.grid_summary`), row by row in cache, in parallel over rows; differences are
last-bit rounding (the order of a few float additions, libm's exp/log), never the maths.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

SERIES_CUT = 1e-3  # as models.sbp.numerics
LOG1P_COEFS = (1.0, -0.5, 1.0 / 3.0, -0.25, 0.2, -1.0 / 6.0)
GRID_LO, GRID_N = -40.0, 151  # models.predict.YARD_GRID: -40 .. 110
BLOCK = 64  # rows per block of the tree kernel (their features stay in L1)


# ---------------------------------------------------------------- tree ensembles


@njit(parallel=True, cache=True, nogil=True)
def tree_raw(X, feature, threshold, missing_left, left, depth, value, tree_start,
             tree_class, baseline):  # pragma: no cover - compiled
    """Raw scores (n, K): baseline + the leaf value of every tree, added in tree order
    (scikit-learn's `_raw_predict`: iteration by iteration, class by class).

    Nodes are laid out breadth first with the right child next to the left one, and a
    leaf points to itself (threshold +inf), so a tree is `depth` branch-free steps
    `node = left[node] + (not go_left)` whatever path a row takes; the steps of a block of
    rows are independent, so their loads overlap. `threshold` is float32, rounded down from
    scikit-learn's float64 one: for float32 features `x <= t32` exactly when `x <= t64`.
    Rows with a NaN feature take the missing-value side of each split."""
    n = X.shape[0]
    k_out = baseline.shape[0]
    n_trees = tree_start.shape[0]
    out = np.empty((n, k_out))
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        acc = np.empty((m, k_out))
        for r in range(m):
            for k in range(k_out):
                acc[r, k] = 0.0 + baseline[k]
        has_nan = False
        for r in range(m):
            for f in range(X.shape[1]):
                has_nan |= np.isnan(X[lo + r, f])
        cur = np.empty(m, np.int32)
        for t in range(n_trees):
            cur[:] = tree_start[t]
            if has_nan:
                for _ in range(depth[t]):
                    for r in range(m):
                        node = cur[r]
                        v = X[lo + r, feature[node]]
                        go_right = ~((v <= threshold[node])
                                     | (np.isnan(v) & (missing_left[node] > 0)))
                        cur[r] = left[node] + np.int32(go_right)
            else:
                for _ in range(depth[t]):
                    for r in range(m):
                        node = cur[r]
                        cur[r] = left[node] + np.int32(X[lo + r, feature[node]] > threshold[node])
            k = tree_class[t]
            for r in range(m):
                acc[r, k] += value[cur[r]]
        for r in range(m):
            for k in range(k_out):
                out[lo + r, k] = acc[r, k]
    return out


# ---------------------------------------------------------------- the SBP family


@njit(cache=True, inline="always")
def _log1p_div(xi, t, u):  # pragma: no cover - compiled
    if abs(u) < SERIES_CUT:
        s = LOG1P_COEFS[5]
        s = s * u + LOG1P_COEFS[4]
        s = s * u + LOG1P_COEFS[3]
        s = s * u + LOG1P_COEFS[2]
        s = s * u + LOG1P_COEFS[1]
        s = s * u + LOG1P_COEFS[0]
        return t * s
    return math.log1p(u) / xi


@njit(cache=True, inline="always")
def _sigmoid(x):  # pragma: no cover - compiled
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, inline="always")
def _softplus(x):  # pragma: no cover - compiled
    return x if x > 20.0 else math.log1p(math.exp(x))


@njit(cache=True)
def sbp_prepare(raw, cfg, p, cum):  # pragma: no cover - compiled
    """Fill the bin probabilities `p` and their running sum `cum` of one row; return
    (lower splice, upper splice, lower xi, lower beta, upper xi, upper beta).

    cfg = (n_bins, low, width, alpha, xi_min, xi_max, xi_offset, beta_scale, beta_eps,
    eps, centre, scale, log(alpha))."""
    nb = int(cfg[0])
    low, width, alpha = cfg[1], cfg[2], cfg[3]
    m = np.float64(raw[0])
    for j in range(1, nb):
        m = max(m, np.float64(raw[j]))
    tot = 0.0
    for j in range(nb):  # running sum of exp(l - max): the body quantiles' table
        e = math.exp(np.float64(raw[j]) - m)
        p[j] = e
        tot += e
        cum[j] = tot
    pos0 = 0.0
    pos1 = 0.0
    for i in range(2):
        target = tot * (alpha if i == 0 else 1.0 - alpha)
        k = 0
        while k < nb and cum[k] <= target:
            k += 1
        k = min(k, nb - 1)
        frac = (target - cum[k] + p[k]) / p[k]
        if i == 0:
            pos0 = k + min(max(frac, 0.0), 1.0)
        else:
            pos1 = k + min(max(frac, 0.0), 1.0)
    lse = m + math.log(tot)
    run = 0.0
    for j in range(nb):
        p[j] = math.exp(np.float64(raw[j]) - lse)
        run += p[j]
        cum[j] = run
    span = cfg[5] - cfg[4]
    lxi = cfg[4] + span * _sigmoid(np.float64(raw[nb]) + cfg[6])
    lbeta = cfg[7] * _softplus(np.float64(raw[nb + 1])) + cfg[8]
    uxi = cfg[4] + span * _sigmoid(np.float64(raw[nb + 2]) + cfg[6])
    ubeta = cfg[7] * _softplus(np.float64(raw[nb + 3])) + cfg[8]
    return low + width * pos0, low + width * pos1, lxi, lbeta, uxi, ubeta


@njit(cache=True, inline="always")
def wide_cdf(x, cfg):  # pragma: no cover - compiled
    """The Laplace(centre, scale) contamination's cdf (SBPFamily._wide_cdf)."""
    zc = (x - cfg[10]) / cfg[11]
    return 0.5 * math.exp(min(zc, 0.0)) if zc < 0 else 1.0 - 0.5 * math.exp(-max(zc, 0.0))


@njit(cache=True)
def wide_grid(cfg):  # pragma: no cover - compiled
    """wide_cdf at the grid's half-yard points -39.5 .. 110.5, then -40.5 (per model)."""
    out = np.empty(GRID_N + 1)
    for j in range(GRID_N):
        out[j] = wide_cdf(GRID_LO + j + 0.5, cfg)
    out[GRID_N] = wide_cdf(GRID_LO - 0.5, cfg)
    return out


@njit(cache=True, inline="always")
def family_cdf(x, cfg, p, cum, xl, xu, lxi, lbeta, uxi, ubeta, wide):  # pragma: no cover
    """(1 - eps) * SBP cdf + eps * `wide` (the Laplace cdf at x) (SBPFamily.cdf)."""
    if math.isnan(x):
        return math.nan
    nb = int(cfg[0])
    low, width, eps = cfg[1], cfg[2], cfg[9]
    upper = x > xu
    lower = x < xl
    if upper or lower:
        z = max(x - xu if upper else xl - x, 0.0)
        xi = uxi if upper else lxi
        beta = ubeta if upper else lbeta
        t = z / beta
        u = xi * t
        tail = math.exp(cfg[12] - _log1p_div(xi, t, u)) if u > -1.0 else 0.0
        sbp = 1.0 - tail if upper else tail
    else:
        uu = (x - low) / width
        kf = min(max(math.floor(uu), 0.0), nb - 1.0)
        k = int(kf)
        frac = min(max(uu - kf, 0.0), 1.0)
        sbp = cum[k] - p[k] * (1.0 - frac)
    return (1.0 - eps) * sbp + eps * wide


@njit(cache=True, inline="always")
def _summarise(hi, lo0, f_ylo, f_yhi, out, i):  # pragma: no cover - compiled
    """mean, q10, q50, q90 on the grid and the mid PIT (models.predict.grid_summary)."""
    num = 0.0
    den = 0.0
    prev = lo0
    c10 = 0
    c50 = 0
    c90 = 0
    for j in range(GRID_N):
        mass = max(hi[j] - prev, 0.0)
        prev = hi[j]
        num += mass * (GRID_LO + j)
        den += mass
        c10 += hi[j] < 0.1
        c50 += hi[j] < 0.5
        c90 += hi[j] < 0.9
    out[i, 0] = num / max(den, 1e-12)
    out[i, 1] = GRID_LO + min(c10, GRID_N - 1)
    out[i, 2] = GRID_LO + min(c50, GRID_N - 1)
    out[i, 3] = GRID_LO + min(c90, GRID_N - 1)
    out[i, 4] = min(max(0.5 * (f_ylo + f_yhi), 0.0), 1.0)


@njit(cache=True, inline="always")
def _td_cdf(x, f, fg, p_td, g):  # pragma: no cover - compiled
    if x < g - 0.5:
        return (1.0 - p_td) * min(f / max(fg, 1e-12), 1.0)
    return 1.0 - p_td if x < g else 1.0


@njit(parallel=True, cache=True, nogil=True)
def summaries(kind, raw_a, cfg_a, raw_b, cfg_b, w, p_td, goal, y):  # pragma: no cover
    """(n, 5) grid summaries of one yards model's forecasts; kind 0: an SBP-family forecast
    (air yards); 1: yards after catch, P(touchdown) at the goal line and the SBP below it
    (play_models.TouchdownAwareForecast); 2: dropback yards, w_sack F_sack + w_zero 1{x >= 0}
    + w_gain F_gain (play_models.MixtureForecast, w in SACK, NO_GAIN, GAIN order); 3: the same
    with the goal line in the gain part (P(touchdown) p_td at `goal` = yardline_100 and F_gain
    truncated below it, as kind 1 does for yards after catch)."""
    n = raw_a.shape[0]
    na, nb = int(cfg_a[0]), int(cfg_b[0])
    wa, wb = wide_grid(cfg_a), wide_grid(cfg_b)
    out = np.empty((n, 5))
    n_blocks = (n + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        pa, ca = np.empty(na), np.empty(na)
        pb, cb = np.empty(nb), np.empty(nb)
        vals = np.empty(GRID_N + 3)
        for i in range(blk * BLOCK, min(n, (blk + 1) * BLOCK)):
            a0, a1, a2, a3, a4, a5 = sbp_prepare(raw_a[i], cfg_a, pa, ca)
            b0 = b1 = b2 = b3 = b4 = b5 = 0.0
            if kind >= 2:
                b0, b1, b2, b3, b4, b5 = sbp_prepare(raw_b[i], cfg_b, pb, cb)
            fg = 0.0
            if kind == 1:
                xg = goal[i] - 0.5
                fg = family_cdf(xg, cfg_a, pa, ca, a0, a1, a2, a3, a4, a5, wide_cdf(xg, cfg_a))
            elif kind == 3:
                xg = goal[i] - 0.5
                fg = family_cdf(xg, cfg_b, pb, cb, b0, b1, b2, b3, b4, b5, wide_cdf(xg, cfg_b))
            for j in range(GRID_N + 3):
                if j <= GRID_N:  # the grid's half-yard points, then -40.5
                    x = GRID_LO + j + 0.5 if j < GRID_N else GRID_LO - 0.5
                    w_a, w_b = wa[j], wb[j]
                else:  # y - 0.5 and y + 0.5
                    x = y[i] - 0.5 if j == GRID_N + 1 else y[i] + 0.5
                    w_a, w_b = wide_cdf(x, cfg_a), wide_cdf(x, cfg_b)
                f = family_cdf(x, cfg_a, pa, ca, a0, a1, a2, a3, a4, a5, w_a)
                if kind == 1:
                    f = _td_cdf(x, f, fg, p_td[i], goal[i])
                elif kind >= 2:
                    fb = family_cdf(x, cfg_b, pb, cb, b0, b1, b2, b3, b4, b5, w_b)
                    if kind == 3:
                        fb = _td_cdf(x, fb, fg, p_td[i], goal[i])
                    f = w[i, 0] * f + w[i, 1] * (1.0 if x >= 0 else 0.0) + w[i, 2] * fb
                vals[j] = f
            _summarise(vals, vals[GRID_N], vals[GRID_N + 1], vals[GRID_N + 2], out, i)
    return out


# ---------------------------------------------------------------- the normal quantile

# Cephes' ndtri (scipy.special.ndtri, which scipy.stats.norm.ppf calls): the two rational
# approximations that cover probabilities in [exp(-32), 1 - exp(-32)].
_S2PI = 2.50662827463100050242e0
_P0 = (-5.99633501014107895267e1, 9.80010754185999661536e1, -5.66762857469070293439e1,
       1.39312609387279679503e1, -1.23916583867381258016e0)
_Q0 = (1.95448858338141759834e0, 4.67627912898881538453e0, 8.63602421390890590575e1,
       -2.25462687854119370527e2, 2.00260212380060660359e2, -8.20372256168333339912e1,
       1.59056225126211695515e1, -1.18331621121330003142e0)
_P1 = (4.05544892305962419923e0, 3.15251094599893866154e1, 5.71628192246421288162e1,
       4.40805073893200834700e1, 1.46849561928858024014e1, 2.18663306850790267539e0,
       -1.40256079171354495875e-1, -3.50424626827848203418e-2, -8.57456785154685413611e-4)
_Q1 = (1.57799883256466749731e1, 4.53907635128879210584e1, 4.13172038254672030440e1,
       1.50425385692907503408e1, 2.50464946208309415979e0, -1.42182922854787788574e-1,
       -3.80806407691578277194e-2, -9.33259480895457427372e-4)
_EXP_M2 = 0.13533528323661269189  # exp(-2)


@njit(cache=True, inline="always")
def _polevl(x, c):  # pragma: no cover - compiled
    ans = c[0]
    for i in range(1, len(c)):
        ans = ans * x + c[i]
    return ans


@njit(cache=True, inline="always")
def _p1evl(x, c):  # pragma: no cover - compiled
    ans = x + c[0]
    for i in range(1, len(c)):
        ans = ans * x + c[i]
    return ans


@njit(cache=True)
def ndtri_clipped(p, lo, hi):  # pragma: no cover - compiled
    """Normal quantile of each p clipped to [lo, hi] (exp(-32) < lo <= hi < 1 - exp(-32));
    NaN stays NaN."""
    out = np.empty(p.shape[0])
    for i in range(p.shape[0]):
        y0 = p[i]
        if math.isnan(y0):
            out[i] = math.nan
            continue
        y = min(max(y0, lo), hi)
        negate = True
        if y > 1.0 - _EXP_M2:
            y = 1.0 - y
            negate = False
        if y > _EXP_M2:
            y = y - 0.5
            y2 = y * y
            x = y + y * (y2 * _polevl(y2, _P0) / _p1evl(y2, _Q0))
            out[i] = x * _S2PI
            continue
        x = math.sqrt(-2.0 * math.log(y))
        x0 = x - math.log(x) / x
        z = 1.0 / x
        x1 = z * _polevl(z, _P1) / _p1evl(z, _Q1)
        out[i] = -(x0 - x1) if negate else x0 - x1
    return out
