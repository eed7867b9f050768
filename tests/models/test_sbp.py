"""Tests for the Spliced Binned-Pareto distribution (models/sbp.py).

Checks are against independent references where one exists: numerical integration of
``exp(log_prob)``, scipy's ``genpareto``, finite differences (``gradcheck``), Monte Carlo,
known tail indices (Student-t), and held-out likelihood on real yards-after-catch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import passing_score.models.sbp.numerics as sbp_numerics
from passing_score.models.sbp import SBPOutput, SplicedBinnedPareto, fit_sbp, gpd_pwm

F64 = torch.float64
TensorFn = Callable[[torch.Tensor], torch.Tensor]


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    """Run this module's many small tensor ops on one thread (restored afterwards): on a
    shared 2-core box, 2-thread OpenMP regions are up to ~15x slower under load."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_sbp(
    lower_xi: float = 0.1,
    upper_xi: float = 0.2,
    lower_beta: float = 0.7,
    upper_beta: float = 1.3,
    n_bins: int = 20,
    alpha: float = 0.05,
    dtype: torch.dtype = F64,
    seed: int = 0,
) -> SplicedBinnedPareto:
    """A scalar SBP with a bumpy random body on [-3, 4]."""
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n_bins, generator=g) - 0.3 * torch.linspace(-2, 2, n_bins) ** 2).to(dtype)
    return SplicedBinnedPareto(
        logits, -3.0, 4.0, lower_xi, lower_beta, upper_xi, upper_beta, alpha=alpha
    )


def tail_integral(
    d: SplicedBinnedPareto, side: str, fn: TensorFn | None = None, n: int = 100_001
) -> float:
    """Integral of ``fn(x) * density`` over one tail via ``x = splice +- s * u / (1 - u)``.

    The map sends [0, 1) onto [0, inf) and tames polynomially decaying tails; the
    integrand at u = 1 is 0 for every xi < 1 used here.
    """
    s = float(d.upper_beta if side == "upper" else d.lower_beta)
    u = torch.linspace(0.0, 1.0, n, dtype=F64)[:-1]
    z = s * u / (1 - u)
    x = d.upper_splice + z if side == "upper" else d.lower_splice - z
    dens = d.log_prob(x).exp()
    w = fn(x) if callable(fn) else 1.0
    y = dens * w * s / (1 - u) ** 2
    return float(torch.trapezoid(torch.cat([y, y.new_zeros(1)]), torch.cat([u, u.new_ones(1)])))


def body_integral(d: SplicedBinnedPareto, fn: TensorFn | None = None, order: int = 12) -> float:
    """Integral of ``fn(x) * density`` over ``[x_l, x_u]``: Gauss-Legendre on every piece
    between consecutive bin edges / splice points (the density is constant on each)."""
    x_l, x_u = float(d.lower_splice), float(d.upper_splice)
    edges = d.bin_edges.double().numpy()
    brk = np.unique(np.concatenate([[x_l, x_u], edges[(edges > x_l) & (edges < x_u)]]))
    nodes, weights = np.polynomial.legendre.leggauss(order)
    a, b = brk[:-1, None], brk[1:, None]
    x = torch.as_tensor(((b - a) * nodes / 2 + (a + b) / 2).ravel(), dtype=F64)
    w = torch.as_tensor(((b - a) / 2 * weights).ravel(), dtype=F64)
    g = fn(x) if callable(fn) else 1.0
    return float((d.log_prob(x).exp() * g * w).sum())


# ----------------------------------------------------------------------------- density
@pytest.mark.parametrize("xi", [-0.3, 0.0, 0.2, 0.8])
def test_density_integrates_to_one(xi: float) -> None:
    d = make_sbp(lower_xi=xi, upper_xi=xi)
    lower, body, upper = tail_integral(d, "lower"), body_integral(d), tail_integral(d, "upper")
    assert lower == pytest.approx(d.alpha, abs=5e-4)
    assert upper == pytest.approx(d.alpha, abs=5e-4)
    assert body == pytest.approx(1 - 2 * d.alpha, abs=5e-4)
    assert lower + body + upper == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("xi", [-0.3, -1e-9, 0.0, 1e-9, 0.2, 0.8, 1.5])
def test_tail_log_prob_matches_scipy_genpareto(xi: float) -> None:
    d = make_sbp(lower_xi=xi, upper_xi=xi)
    z = torch.tensor([0.0, 1e-6, 0.3, 1.0, 2.0, 4.3, 50.0, 1e4], dtype=F64)
    for side, beta, x in (
        ("upper", float(d.upper_beta), d.upper_splice + z),
        ("lower", float(d.lower_beta), d.lower_splice - z),
    ):
        ours = d.log_prob(x[1:]).numpy()  # z = 0 is the splice point itself: body density
        ref = math.log(d.alpha) + stats.genpareto.logpdf(z[1:].numpy(), c=xi, scale=beta)
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12, err_msg=side)


def test_body_log_prob_is_bin_density() -> None:
    d = make_sbp()
    edges = d.bin_edges
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside = (centres > d.lower_splice) & (centres < d.upper_splice)
    width = float(edges[1] - edges[0])
    expected = torch.log_softmax(d.logits, -1) - math.log(width)
    torch.testing.assert_close(d.log_prob(centres)[inside], expected[inside])


def test_bounded_tail_support() -> None:
    d = make_sbp(lower_xi=-0.25, upper_xi=-0.4)
    up_end = d.upper_splice + d.upper_beta / 0.4
    lo_end = d.lower_splice - d.lower_beta / 0.25
    beyond = torch.stack([up_end + 1e-6, up_end + 10, lo_end - 1e-6, lo_end - 1e3])
    assert torch.isneginf(d.log_prob(beyond)).all()
    torch.testing.assert_close(d.cdf(beyond), torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=F64))
    ends = d.icdf(torch.tensor([0.0, 1.0], dtype=F64))
    torch.testing.assert_close(ends, torch.stack([lo_end, up_end]))
    assert torch.isfinite(d.log_prob(torch.stack([up_end - 1e-3, lo_end + 1e-3]))).all()


def test_unbounded_icdf_end_points() -> None:
    d = make_sbp(lower_xi=0.0, upper_xi=0.3)
    ends = d.icdf(torch.tensor([0.0, 1.0], dtype=F64))
    assert ends[0] == -math.inf and ends[1] == math.inf


# ----------------------------------------------------------------------------- cdf / icdf
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_cdf_monotone_and_continuous_at_splices(dtype: torch.dtype) -> None:
    d = make_sbp(lower_xi=-0.2, upper_xi=0.4, dtype=dtype)
    x = torch.linspace(-30, 60, 200_001, dtype=dtype)
    c = d.cdf(x)
    assert (c.diff() >= 0).all()
    assert float(c[0]) >= 0 and float(c[-1]) <= 1
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    for splice, level in ((d.lower_splice, d.alpha), (d.upper_splice, 1 - d.alpha)):
        eps = 1e-4 * max(1.0, abs(float(splice)))
        left, mid, right = d.cdf(torch.stack([splice - eps, splice, splice + eps]))
        assert float(mid) == pytest.approx(level, abs=tol)
        # the density is bounded, so the jump over 2 eps is at most 2 eps * max density
        bound = 2 * eps * float(d.log_prob(torch.stack([splice - eps, splice + eps])).exp().max())
        assert 0 <= float(right - left) <= bound * 1.01 + tol


def test_density_is_derivative_of_cdf() -> None:
    d = make_sbp(lower_xi=-0.2, upper_xi=0.6)
    g = torch.Generator().manual_seed(1)
    x = d.icdf(torch.rand(2000, generator=g, dtype=F64))
    h = 1e-6
    fd = (d.cdf(x + h) - d.cdf(x - h)) / (2 * h)
    edges = d.bin_edges
    near_kink = torch.cat([edges, d.lower_splice.view(1), d.upper_splice.view(1)])
    smooth = ((x.unsqueeze(-1) - near_kink).abs() > 10 * h).all(-1)
    torch.testing.assert_close(fd[smooth], d.log_prob(x[smooth]).exp(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_icdf_inverts_cdf(dtype: torch.dtype) -> None:
    d = make_sbp(lower_xi=0.0, upper_xi=0.5, dtype=dtype)
    q = torch.cat([torch.linspace(1e-6, 1 - 1e-6, 10_001, dtype=F64), torch.tensor([0.5])])
    q = q.to(dtype)
    x = d.icdf(q)
    rtol = 2e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(d.cdf(x), q, rtol=rtol, atol=rtol * 1e-2)
    xs = torch.tensor([-1e6, -50.0, -2.9, 0.0, 0.1, 3.9, 50.0, 1e6], dtype=dtype)
    back = d.icdf(d.cdf(xs))
    inner = (d.cdf(xs) > 1e-5) & (d.cdf(xs) < 1 - 1e-4)  # float32 cannot resolve 1 - tiny
    torch.testing.assert_close(back[inner], xs[inner], rtol=rtol, atol=1e-4)
    if dtype == F64:  # everything whose cdf is representable in (0, 1)
        c = d.cdf(xs)
        ok = (c > 0) & (c < 1 - 1e-9)  # 1 - c must keep enough digits to invert
        assert int(ok.sum()) == 6  # all but -1e6 (exponential lower tail) and +1e6
        torch.testing.assert_close(d.icdf(c)[ok], xs[ok], rtol=1e-6, atol=1e-8)


@st.composite
def sbp_params(draw: st.DrawFn) -> dict[str, Any]:
    n_bins = draw(st.integers(2, 40))
    logits = draw(st.lists(st.floats(-6, 6, allow_nan=False), min_size=n_bins, max_size=n_bins))
    low = draw(st.floats(-50, 50))
    width = draw(st.floats(0.1, 100))
    return {
        "logits": logits,
        "low": low,
        "high": low + width,
        "lower_xi": draw(st.floats(-0.45, 0.95)),
        "upper_xi": draw(st.floats(-0.45, 0.95)),
        "lower_beta": draw(st.floats(0.05, 20)),
        "upper_beta": draw(st.floats(0.05, 20)),
        "alpha": draw(st.floats(0.005, 0.3)),
    }


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(p=sbp_params(), dtype=st.sampled_from([torch.float32, F64]))
def test_properties_random_parameters(p: dict[str, Any], dtype: torch.dtype) -> None:
    d = SplicedBinnedPareto(
        torch.tensor(p["logits"], dtype=dtype), p["low"], p["high"], p["lower_xi"],
        p["lower_beta"], p["upper_xi"], p["upper_beta"], alpha=p["alpha"],
    )  # fmt: skip
    q = torch.linspace(0.002, 0.998, 499, dtype=dtype)
    x = d.icdf(q)
    assert torch.isfinite(x).all()
    assert (x.diff() >= 0).all()
    scale = float(p["high"] - p["low"]) + 1.0
    tol = 1e-3 if dtype == torch.float32 else 1e-9
    torch.testing.assert_close(d.cdf(x), q, rtol=tol, atol=tol)
    lp = d.log_prob(x)
    assert torch.isfinite(lp).all()
    c = d.cdf(torch.linspace(float(x[0]) - scale, float(x[-1]) + scale, 2001, dtype=dtype))
    assert (c.diff() >= 0).all() and float(c.min()) >= 0 and float(c.max()) <= 1
    assert float(d.cdf(d.lower_splice)) == pytest.approx(p["alpha"], abs=tol)
    assert float(d.cdf(d.upper_splice)) == pytest.approx(1 - p["alpha"], abs=tol)


# ----------------------------------------------------------------------------- moments
@pytest.mark.parametrize(("lxi", "uxi"), [(-0.2, 0.15), (0.0, 0.0), (0.1, 0.3)])
def test_mean_variance_entropy_match_integration(lxi: float, uxi: float) -> None:
    d = make_sbp(lower_xi=lxi, upper_xi=uxi)

    def integral(fn: TensorFn) -> float:
        return tail_integral(d, "lower", fn) + body_integral(d, fn) + tail_integral(d, "upper", fn)

    mean = integral(lambda x: x)
    var = integral(lambda x: (x - mean) ** 2)
    ent = integral(lambda x: -d.log_prob(x).clamp_min(-700))
    assert float(d.mean) == pytest.approx(mean, abs=2e-4)
    assert float(d.variance) == pytest.approx(var, rel=1e-3)
    assert float(d.entropy()) == pytest.approx(ent, abs=1e-3)


def test_sample_mean_and_quantiles_agree() -> None:
    torch.manual_seed(0)
    d = make_sbp(lower_xi=-0.2, upper_xi=0.2)
    n = 1_000_000
    s = d.sample((n,))
    se = math.sqrt(float(d.variance) / n)
    assert float(s.mean()) == pytest.approx(float(d.mean), abs=4 * se)
    assert float(s.var()) == pytest.approx(float(d.variance), rel=0.02)
    q = torch.tensor([0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999], dtype=F64)
    emp_cdf = (s.unsqueeze(-1) <= d.icdf(q)).double().mean(0)
    torch.testing.assert_close(emp_cdf, q, atol=4 * float((0.25 / n) ** 0.5), rtol=0)
    # Kolmogorov-Smirnov at the 1% level over the whole range
    xs, _ = s.sort()
    ks = (d.cdf(xs) - torch.arange(1, n + 1, dtype=F64) / n).abs().max()
    assert float(ks) < 1.63 / math.sqrt(n)


def test_infinite_moments() -> None:
    assert float(make_sbp(upper_xi=1.0).mean) == math.inf
    assert float(make_sbp(lower_xi=1.2).mean) == -math.inf
    assert math.isnan(float(make_sbp(lower_xi=1.0, upper_xi=1.0).mean))
    assert math.isfinite(float(make_sbp(upper_xi=0.9).mean))
    assert float(make_sbp(upper_xi=0.5).variance) == math.inf
    assert float(make_sbp(lower_xi=0.7).variance) == math.inf
    assert math.isfinite(float(make_sbp(lower_xi=0.49, upper_xi=-0.4).variance))


# ----------------------------------------------------------------------------- gradients
def _leaf_params(dtype: torch.dtype, lxi: float, uxi: float) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    vals = {
        "logits": torch.randn(12, generator=g),
        "low": torch.tensor(-2.0),
        "high": torch.tensor(3.0),
        "lower_xi": torch.tensor(lxi),
        "lower_beta": torch.tensor(0.6),
        "upper_xi": torch.tensor(uxi),
        "upper_beta": torch.tensor(1.4),
    }
    return {k: v.to(dtype).requires_grad_(True) for k, v in vals.items()}


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize(("lxi", "uxi"), [(0.0, 0.0), (-0.3, 1e-8), (0.4, -1e-7), (0.9, 0.005)])
def test_rsample_and_log_prob_gradients_finite(dtype: torch.dtype, lxi: float, uxi: float) -> None:
    torch.manual_seed(0)
    p = _leaf_params(dtype, lxi, uxi)
    d = SplicedBinnedPareto(alpha=0.05, **p)
    s = d.rsample((20_000,))
    s.sum().backward()
    for name, v in p.items():
        assert v.grad is not None and torch.isfinite(v.grad).all(), name
        assert v.grad.abs().sum() > 0, name
        v.grad = None
    # log_prob / cdf at the splice points, far out, and inside the body
    d = SplicedBinnedPareto(alpha=0.05, **p)
    x = torch.stack([d.lower_splice, d.upper_splice]).detach()
    far = torch.tensor([-1e6, 1e6], dtype=dtype)
    pts = torch.cat([x, torch.linspace(-1.9, 2.9, 50, dtype=dtype), far])
    lp = d.log_prob(pts)
    finite = torch.isfinite(lp)  # bounded tails give -inf far out: excluded
    assert finite[:-2].all()
    (lp[finite].sum() + d.cdf(pts).sum()).backward()
    for name, v in p.items():
        assert v.grad is not None and torch.isfinite(v.grad).all(), name
        v.grad = None
    # integer-grid likelihood, mixed with a constant as a training loss would (so that
    # -inf entries beyond a bounded tail take part in the backward pass)
    d = SplicedBinnedPareto(alpha=0.05, **p)
    y = torch.cat([torch.arange(-60, 61, dtype=dtype), far])
    ilp = d.interval_log_prob(y - 0.5, y + 0.5)
    assert torch.isfinite(ilp[(y >= -3) & (y <= 60)]).all()  # inside every support here
    torch.logaddexp(ilp, torch.tensor(-30.0, dtype=dtype)).sum().backward()
    for name, v in p.items():
        assert v.grad is not None and torch.isfinite(v.grad).all(), name


def test_gradcheck_log_prob_cdf_icdf() -> None:
    """Analytic vs finite-difference gradients, including exactly xi = 0 (series branch)."""
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(8, generator=g, dtype=F64)
    x = torch.tensor([-5.0, -2.6, -0.3, 0.71, 2.05, 6.5, 30.0], dtype=F64)
    q = torch.tensor([1e-4, 0.02, 0.3, 0.77, 0.97, 0.9999], dtype=F64)
    for lxi, uxi in ((0.0, 0.0), (-0.2, 0.35), (0.006, -0.004), (0.02, 0.5)):
        args = [
            logits.clone().requires_grad_(True),
            torch.tensor(lxi, dtype=F64, requires_grad=True),
            torch.tensor(0.8, dtype=F64, requires_grad=True),
            torch.tensor(uxi, dtype=F64, requires_grad=True),
            torch.tensor(1.7, dtype=F64, requires_grad=True),
        ]

        def fns(*a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            d = SplicedBinnedPareto(a[0], -2.5, 2.5, *a[1:], alpha=0.07)
            return d.log_prob(x), d.cdf(x), d.icdf(q)

        assert torch.autograd.gradcheck(fns, args, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_xi_series_branch_is_continuous() -> None:
    """Values and gradients agree across the series / direct switch and at xi = 0."""
    beta, t = 1.3, 5.0
    cut = sbp_numerics.SERIES_CUT  # the switch is at |xi * t| = cut

    def value_and_grads(xi: float) -> torch.Tensor:
        xi_t = torch.tensor(xi, dtype=F64, requires_grad=True)
        beta_t = torch.tensor(beta, dtype=F64, requires_grad=True)
        d = make_sbp(upper_xi=xi_t, upper_beta=beta_t)
        x = (d.upper_splice + t * beta).detach()
        lp = d.log_prob(x)
        grads = torch.autograd.grad(lp, [xi_t, beta_t])
        return torch.stack([lp.detach(), *grads])

    for xi_switch in (cut / t, -cut / t):
        below, above = (
            value_and_grads(xi_switch * (1 - 1e-9)),
            value_and_grads(xi_switch * (1 + 1e-9)),
        )
        torch.testing.assert_close(below, above, rtol=1e-7, atol=1e-9)
    at0, tiny_pos, tiny_neg = value_and_grads(0.0), value_and_grads(1e-12), value_and_grads(-1e-12)
    torch.testing.assert_close(at0, tiny_pos, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(at0, tiny_neg, rtol=1e-9, atol=1e-9)
    # at xi = 0: lp = log(alpha / beta) - t and d lp / d xi = t^2 / 2 - t
    assert float(at0[0]) == pytest.approx(math.log(0.05 / beta) - t, rel=1e-12)
    assert float(at0[1]) == pytest.approx(t * t / 2 - t, rel=1e-12)
    # and the same gradient from the direct formula at a small xi on the other branch
    xi = 0.05
    direct = value_and_grads(xi)
    h = math.log1p(xi * t) / xi
    dh = t / (xi * (1 + xi * t)) - h / xi
    assert float(direct[1]) == pytest.approx(-h - (1 + xi) * dh, rel=1e-10)


def test_extreme_values_float32_vs_float64() -> None:
    x = torch.tensor([-1e6, -1e3, 1e3, 1e6])
    for lxi, uxi in ((0.0, 0.0), (0.3, 0.7), (1e-6, -1e-6)):
        d32 = make_sbp(lower_xi=lxi, upper_xi=uxi, dtype=torch.float32)
        d64 = make_sbp(lower_xi=lxi, upper_xi=uxi, dtype=F64)
        lp32, lp64 = d32.log_prob(x), d64.log_prob(x.double())
        assert torch.isfinite(lp32).all()
        torch.testing.assert_close(lp32.double(), lp64, rtol=1e-5, atol=1e-3)


# ----------------------------------------------------------------------------- shapes
def test_broadcasting_matches_scalar_loop() -> None:
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(3, 1, 6, generator=g, dtype=F64)
    lower_xi = torch.tensor([-0.2, 0.0, 0.3, 0.6], dtype=F64)
    low = torch.tensor([[-1.0], [0.0], [2.0]], dtype=F64)
    d = SplicedBinnedPareto(logits, low, low + 4.0, lower_xi, 0.5, 0.25, 1.0, alpha=0.1)
    assert d.batch_shape == (3, 4)
    x = torch.linspace(-8, 12, 5 * 3 * 4, dtype=F64).reshape(5, 3, 4)
    q = torch.linspace(0.01, 0.99, 5 * 3 * 4, dtype=F64).reshape(5, 3, 4)
    lp, c, xq = d.log_prob(x), d.cdf(x), d.icdf(q)
    assert lp.shape == c.shape == xq.shape == (5, 3, 4)
    for i in range(3):
        for j in range(4):
            dij = SplicedBinnedPareto(
                logits[i, 0], low[i, 0], low[i, 0] + 4.0, lower_xi[j], 0.5, 0.25, 1.0, alpha=0.1
            )
            torch.testing.assert_close(lp[:, i, j], dij.log_prob(x[:, i, j]))
            torch.testing.assert_close(c[:, i, j], dij.cdf(x[:, i, j]))
            torch.testing.assert_close(xq[:, i, j], dij.icdf(q[:, i, j]))
            torch.testing.assert_close(d.mean[i, j], dij.mean)
            torch.testing.assert_close(d.variance[i, j], dij.variance)
    e = d.expand((2, 3, 4))
    assert e.batch_shape == (2, 3, 4) and e.sample((7,)).shape == (7, 2, 3, 4)
    torch.testing.assert_close(e.log_prob(x[:2]), lp[:2])
    torch.testing.assert_close(e.cdf(x[:2]), c[:2])
    torch.testing.assert_close(e.mean, d.mean.expand(2, 3, 4))


@pytest.mark.parametrize("chunk", [None, 2000])
def test_per_point_batch_matches_shared(chunk: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-row (N, K) logits, evaluated in row chunks, equal the scalar distributions."""
    if chunk is not None:  # force many row chunks (the default holds 2**21 elements)
        monkeypatch.setattr(sbp_numerics, "CHUNK_ELEMS", chunk)
    g = torch.Generator().manual_seed(4)
    n, k = 3000, 17
    logits = torch.randn(n, k, generator=g)
    xi = 0.4 * torch.rand(n, generator=g) - 0.1
    x = 4 * torch.randn(n, generator=g)
    d = SplicedBinnedPareto(logits, -3.0, 3.0, xi, 1.0, xi, 0.5, alpha=0.05)
    lp, c = d.log_prob(x), d.cdf(x)
    for i in range(0, n, 211):
        di = SplicedBinnedPareto(logits[i], -3.0, 3.0, xi[i], 1.0, xi[i], 0.5, alpha=0.05)
        torch.testing.assert_close(lp[i], di.log_prob(x[i]))
        torch.testing.assert_close(c[i], di.cdf(x[i]))
    # cdf with sample dims uses the full tables: same numbers
    torch.testing.assert_close(d.cdf(x.expand(2, n))[1], c)
    # gradients through the chunked path equal those through the full tables
    lg = logits.clone().requires_grad_(True)
    SplicedBinnedPareto(lg, -3.0, 3.0, xi, 1.0, xi, 0.5).cdf(x).sum().backward()
    lg2 = logits.clone().requires_grad_(True)
    SplicedBinnedPareto(lg2, -3.0, 3.0, xi, 1.0, xi, 0.5).cdf(x.expand(1, n)).sum().backward()
    torch.testing.assert_close(lg.grad, lg2.grad)


def test_cdf_agrees_with_gluonts() -> None:
    """Same model as GluonTS' torch SBP (for xi > 0): the cdfs must coincide."""
    gl = pytest.importorskip("gluonts.torch.distributions")
    g = torch.Generator().manual_seed(6)
    n, k = 2000, 40
    logits = torch.randn(n, k, generator=g, dtype=F64)
    lxi, uxi = 0.05 + 0.5 * torch.rand(2, n, generator=g, dtype=F64)
    lb, ub = 0.3 + torch.rand(2, n, generator=g, dtype=F64)
    x = 5 * torch.randn(n, generator=g, dtype=F64)
    ours = SplicedBinnedPareto(logits, -4.0, 4.0, lxi, lb, uxi, ub, alpha=0.1).cdf(x)
    theirs = gl.SplicedBinnedPareto(
        -4.0, 4.0, logits, uxi[:, None], ub[:, None], lxi[:, None], lb[:, None],
        numb_bins=k, tail_percentile_gen_pareto=0.1,
    ).cdf(x)  # fmt: skip
    torch.testing.assert_close(ours, theirs.to(F64), rtol=1e-6, atol=1e-6)


def test_validation_errors() -> None:
    logits = torch.zeros(5)
    with pytest.raises(ValueError):
        SplicedBinnedPareto(logits, 1.0, 0.0, 0.1, 1.0, 0.1, 1.0)
    with pytest.raises(ValueError):
        SplicedBinnedPareto(logits, 0.0, 1.0, 0.1, -1.0, 0.1, 1.0)
    with pytest.raises(ValueError):
        SplicedBinnedPareto(logits, 0.0, 1.0, 0.1, 1.0, 0.1, 1.0, alpha=0.5)
    with pytest.raises(ValueError):
        SplicedBinnedPareto(logits, 0.0, 1.0, 0.1, 1.0, 0.1, 1.0).log_prob(torch.tensor(math.nan))


# ----------------------------------------------------------------------------- output layer
def test_sbp_output_layer() -> None:
    out = SBPOutput(n_bins=30, low=-5.0, high=40.0, alpha=0.03)
    assert out.args_dim == {
        "logits": 30, "lower_xi": 1, "lower_beta": 1, "upper_xi": 1, "upper_beta": 1
    }  # fmt: skip
    assert out.total_dim == 34
    raw = (torch.randn(8, 5, out.total_dim) * 30).requires_grad_(True)
    d = out.distribution(raw)
    assert d.batch_shape == (8, 5)
    for xi in (d.lower_xi, d.upper_xi):
        assert ((xi >= out.xi_min) & (xi <= out.xi_max)).all()  # float32 sigmoid saturates
    assert (d.lower_beta > 0).all() and (d.upper_beta > 0).all()
    zero = out.params(torch.zeros(out.total_dim))
    assert float(zero["lower_xi"]) == pytest.approx(0.0, abs=1e-7)
    xi = torch.tensor([-0.4, -0.01, 0.0, 0.3, 0.9])
    torch.testing.assert_close(out.xi_map(out.xi_unmap(xi)), xi)
    y = torch.linspace(-10, 80, 40).expand(8, 5, 40).movedim(-1, 0)
    d.log_prob(y).sum().backward()
    assert torch.isfinite(raw.grad).all() and raw.grad[..., 30:].abs().sum() > 0
    with pytest.raises(ValueError):
        out.split(torch.zeros(3, out.total_dim + 1))


# ----------------------------------------------------------------------------- fitting
def test_gpd_pwm_estimates() -> None:
    z = stats.genpareto.rvs(c=0.25, scale=2.0, size=200_000, random_state=0)
    xi, beta = gpd_pwm(z)
    assert xi == pytest.approx(0.25, abs=0.02) and beta == pytest.approx(2.0, rel=0.02)


def test_parameter_recovery() -> None:
    k = 30
    logits = -0.5 * torch.linspace(-2, 2, k, dtype=F64) ** 2
    true = SplicedBinnedPareto(logits, -3.0, 3.0, 0.1, 0.5, 0.3, 0.8, alpha=0.05)
    torch.manual_seed(0)
    x = true.sample((100_000,))
    fit = fit_sbp(x, n_bins=k, alpha=0.05, low=-3.0, high=3.0)
    assert float(fit.lower_xi) == pytest.approx(0.1, abs=0.05)
    assert float(fit.upper_xi) == pytest.approx(0.3, abs=0.05)
    assert float(fit.lower_beta) == pytest.approx(0.5, rel=0.10)
    assert float(fit.upper_beta) == pytest.approx(0.8, rel=0.10)
    # bins beyond the splice points only matter through their total mass: compare the rest
    edges = true.bin_edges
    inner = (edges[:-1] > true.lower_splice) & (edges[1:] < true.upper_splice)
    torch.testing.assert_close(fit.bin_probs[inner], true.bin_probs[inner], atol=0.005, rtol=0.1)


def test_fit_is_deterministic_and_handles_tensor_or_numpy() -> None:
    torch.manual_seed(1)
    x = make_sbp(lower_xi=0.2, upper_xi=0.2).sample((20_000,))
    a = fit_sbp(x, n_bins=25, seed=3, max_iter=40)
    b = fit_sbp(x.numpy(), n_bins=25, seed=3, max_iter=40)
    torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=0)
    torch.testing.assert_close(a.upper_xi, b.upper_xi, rtol=0, atol=0)
    # subsampling (len(x) > max_points) is seeded
    c = fit_sbp(x, n_bins=25, seed=3, max_iter=5, max_points=5000)
    d = fit_sbp(x, n_bins=25, seed=3, max_iter=5, max_points=5000)
    e = fit_sbp(x, n_bins=25, seed=4, max_iter=5, max_points=5000)
    torch.testing.assert_close(c.logits, d.logits, rtol=0, atol=0)
    assert not torch.equal(c.logits, e.logits)


def test_student_t_tail_index() -> None:
    y = stats.t.rvs(3, size=100_000, random_state=np.random.default_rng(0))
    fit = fit_sbp(y, n_bins=50, alpha=0.05)
    assert float(fit.upper_xi) == pytest.approx(1 / 3, abs=0.1)
    assert float(fit.lower_xi) == pytest.approx(1 / 3, abs=0.1)


def test_fit_bounded_tail() -> None:
    """A light (uniform-like) tail must come out with xi < 0, which an abs() map forbids."""
    rng = np.random.default_rng(1)
    y = rng.beta(2.0, 1.0, size=50_000)  # bounded above at 1 with density -> 2 there
    fit = fit_sbp(y, n_bins=40, alpha=0.05)
    assert float(fit.upper_xi) < -0.2
    assert float(fit.icdf(torch.tensor(1.0, dtype=F64))) == pytest.approx(1.0, abs=0.02)


# ----------------------------------------------------------------------------- real data
def shared_nflverse() -> Path:
    """``../shared/nflverse`` beside the project, or ``$PASSING_SCORE_SHARED``."""
    default = Path(__file__).resolve().parents[3] / "shared" / "nflverse"
    return Path(os.environ.get("PASSING_SCORE_SHARED", default))


def load_yac(season: int) -> np.ndarray:
    path = shared_nflverse() / "pbp" / str(season) / f"play_by_play_{season}.parquet"
    if not path.exists():
        pytest.skip(f"real nflverse data not found: {path}")
    import pyarrow.parquet as pq

    col = pq.read_table(path, columns=["yards_after_catch"]).column("yards_after_catch")
    y = col.to_numpy(zero_copy_only=False).astype(np.float64)
    return y[~np.isnan(y)]


def grid_nll_sbp(d: SplicedBinnedPareto, y: np.ndarray) -> float:
    """Mean -log P(y - 0.5 < Y <= y + 0.5)."""
    t = torch.as_tensor(y, dtype=F64)
    return -float(d.interval_log_prob(t - 0.5, t + 0.5).mean())


def grid_nll_scipy(dist: Any, y: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The same for a frozen scipy distribution (upper half via sf to avoid cancellation)."""
    lo, hi = y - 0.5, y + 0.5
    p = np.where(y > dist.median(), dist.sf(lo) - dist.sf(hi), dist.cdf(hi) - dist.cdf(lo))
    return -float(np.average(np.log(np.maximum(p, 1e-300)), weights=weights))


def fit_interval_mle(make: Callable[[np.ndarray], Any], x0: list[float], y: np.ndarray) -> Any:
    """Maximum likelihood of a scipy family on the same integer-grid likelihood."""
    vals, counts = np.unique(y, return_counts=True)

    def nll(theta: np.ndarray) -> float:
        return grid_nll_scipy(make(theta), vals, counts)

    res = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
    assert res.success, res.message
    return make(res.x)


class Histogram:
    """Binned-only baseline: 1-yard bins over [-30.5, 110.5] (every physically possible
    YAC), add-``lam`` smoothing; no tail model at all."""

    def __init__(self, y: np.ndarray, lam: float) -> None:
        self.edges = np.arange(-30.5, 111.5)
        counts, _ = np.histogram(y, self.edges)
        self.p = (counts + lam) / (counts + lam).sum()

    def nll_each(self, y: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.edges, y, side="right") - 1
        assert ((idx >= 0) & (idx < self.p.size)).all()
        return -np.log(self.p[idx])

    def nll(self, y: np.ndarray) -> float:
        return float(self.nll_each(y).mean())


@pytest.mark.real_data
def test_yac_heldout_nll_beats_baselines() -> None:
    """Train 2022-2023, test 2024, NLL on the integer-yard grid for every model.

    * SBP: ``fit_sbp(grid=1)`` (interval likelihood), 50 one-yard bins; the tail mass alpha
      is picked from {0.01, 0.02, 0.05} by fitting 2022 and scoring 2023 (no 2024 peeking).
    * Gaussian and Student-t (df, loc, scale free): maximum likelihood of the same
      integer-grid likelihood.
    * Binned-only: smoothed 1-yard histogram over [-30.5, 110.5] (141 bins, more than the
      SBP's 50), pseudo-count picked from {0.05, 0.2, 0.5, 1} on the same 2022->2023 split.
    """
    y22, y23, y24 = load_yac(2022), load_yac(2023), load_yac(2024)
    train = np.concatenate([y22, y23])

    val = {
        a: grid_nll_sbp(fit_sbp(y22, n_bins=50, alpha=a, grid=1.0), y23) for a in (0.01, 0.02, 0.05)
    }
    alpha = min(val, key=val.get)
    fit = fit_sbp(train, n_bins=50, alpha=alpha, grid=1.0)
    t24 = torch.as_tensor(y24, dtype=F64)
    sbp_each = -fit.interval_log_prob(t24 - 0.5, t24 + 0.5).numpy()
    sbp = float(sbp_each.mean())

    lam_val = {lam: Histogram(y22, lam).nll(y23) for lam in (0.05, 0.2, 0.5, 1.0)}
    hist_each = Histogram(train, min(lam_val, key=lam_val.get)).nll_each(y24)
    hist = float(hist_each.mean())
    diff = sbp_each - hist_each  # paired per-catch difference
    in_tail = (y24 + 0.5 <= float(fit.lower_splice)) | (y24 - 0.5 >= float(fit.upper_splice))

    gauss = fit_interval_mle(
        lambda th: stats.norm(th[0], math.exp(th[1])), [train.mean(), math.log(train.std())], train
    )
    t0 = stats.t.fit(train)
    student = fit_interval_mle(
        lambda th: stats.t(math.exp(th[0]), th[1], math.exp(th[2])),
        [math.log(t0[0]), t0[1], math.log(t0[2])],
        train,
    )
    nll = {
        "sbp": sbp,
        "gaussian": grid_nll_scipy(gauss, y24),
        "student_t": grid_nll_scipy(student, y24),
        "binned_only": hist,
    }
    print(
        f"\nYAC held-out 2024 NLL (nats/catch, n={y24.size}, SBP alpha={alpha}):",
        {k: round(v, 4) for k, v in nll.items()},
        f"\nSBP - binned_only = {diff.mean():.4f} +- {diff.std() / math.sqrt(diff.size):.4f} (SE)",
        f"of which tail catches ({int(in_tail.sum())}): {diff[in_tail].sum() / diff.size:.4f}",
        f"\nSBP tails: lower xi={float(fit.lower_xi):.3f} beta={float(fit.lower_beta):.2f}, "
        f"upper xi={float(fit.upper_xi):.3f} beta={float(fit.upper_beta):.2f}",
    )
    assert nll["sbp"] < nll["gaussian"]
    assert nll["sbp"] < nll["student_t"]
    assert nll["sbp"] < nll["binned_only"]


def test_interval_log_prob_matches_cdf_difference() -> None:
    d = make_sbp(lower_xi=0.3, upper_xi=0.1)
    a = torch.linspace(-40, 60, 1001, dtype=F64)
    b = a + 0.5
    ref = (d.cdf(b) - d.cdf(a)).log()
    ok = ref > -15  # where the difference of cdfs is itself accurate to ~1e-9
    torch.testing.assert_close(d.interval_log_prob(a, b)[ok], ref[ok], rtol=1e-8, atol=1e-9)
    far = d.interval_log_prob(torch.tensor(1e4, dtype=F64), torch.tensor(1e4 + 1, dtype=F64))
    ref_far = math.log(d.alpha) + stats.genpareto.logsf(
        [1e4 - float(d.upper_splice), 1e4 + 1 - float(d.upper_splice)],
        c=0.1,
        scale=float(d.upper_beta),
    )
    assert float(far) == pytest.approx(
        ref_far[0] + math.log(-math.expm1(ref_far[1] - ref_far[0])), rel=1e-9
    )
