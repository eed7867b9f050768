"""The compiled SBP ``log_prob`` / ``cdf`` (models/sbp/kernels.py) against the torch path.

The torch path is the reference: the same distribution evaluated with the compiled route
switched off. Points cover both tails (near and far), the exact bin edges and body bounds,
beyond the bounds and past a bounded tail's end point, the splice points, infinities, NaN,
and tail shapes at and around 0 (the series branch).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

import passing_score.models.sbp.distribution as sbp_distribution
from passing_score.models.sbp import SplicedBinnedPareto, kernels
from passing_score.models.sbp.numerics import row_stats

LOW, HIGH, K, ALPHA = -3.0, 4.0, 24, 0.05
XIS = (0.0, 1e-7, -1e-7, 5e-4, -5e-4, 2e-3, -2e-3, 0.05, 0.3, -0.3, -0.9)
Method = Callable[[SplicedBinnedPareto, torch.Tensor], torch.Tensor]
METHODS: dict[str, Method] = {
    "log_prob": SplicedBinnedPareto.log_prob,
    "cdf": SplicedBinnedPareto.cdf,
}


def torch_path(
    monkeypatch: pytest.MonkeyPatch, d: SplicedBinnedPareto, method: str, x: torch.Tensor
) -> torch.Tensor:
    """``method`` of ``d`` with the compiled route switched off (the reference)."""
    with monkeypatch.context() as m:
        m.setattr(sbp_distribution, "compiled_eval", lambda *args: None)
        return METHODS[method](d, x)


def compiled(d: SplicedBinnedPareto, method: str, x: torch.Tensor) -> torch.Tensor:
    """``method`` of ``d`` by the compiled route, checking it was taken (no torch row stats)."""
    out = METHODS[method](d, x)
    assert d._stats is None, "the torch path ran instead of the compiled kernels"
    return out


def assert_same(got: torch.Tensor, want: torch.Tensor) -> None:
    """Equal in float64 within float32 tolerance; infinities and NaN in the same places."""
    assert got.shape == want.shape and got.dtype == want.dtype
    torch.testing.assert_close(got.double(), want.double(), atol=1e-5, rtol=1e-6, equal_nan=True)


def per_point_params(n_rows: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """float32 parameters of ``n_rows`` rows: bumpy and peaked bodies, every tail shape in
    ``XIS`` on either side."""
    g = torch.Generator().manual_seed(seed)
    scale = torch.where(torch.arange(n_rows) % 3 == 0, 6.0, 1.5).unsqueeze(-1)
    logits = scale * torch.randn(n_rows, K, generator=g)
    xi = torch.tensor(XIS)
    return {
        "logits": logits,
        "lower_xi": xi[torch.randint(len(XIS), (n_rows,), generator=g)],
        "lower_beta": 0.3 + 1.2 * torch.rand(n_rows, generator=g),
        "upper_xi": xi[torch.randint(len(XIS), (n_rows,), generator=g)],
        "upper_beta": 0.3 + 1.2 * torch.rand(n_rows, generator=g),
    }


def make(p: dict[str, torch.Tensor]) -> SplicedBinnedPareto:
    """The SBP on ``[LOW, HIGH]`` with parameters ``p``."""
    return SplicedBinnedPareto(
        p["logits"], LOW, HIGH, p["lower_xi"], p["lower_beta"], p["upper_xi"],
        p["upper_beta"], alpha=ALPHA, validate_args=False,
    )  # fmt: skip


def probe_points(d: SplicedBinnedPareto) -> torch.Tensor:
    """``(J, *batch)`` float32 points per row: bin edges and bounds exactly, near and far
    tails, beyond the bounds, past a bounded tail's end point, +-inf and NaN."""
    x_l, x_u = d.lower_splice.detach(), d.upper_splice.detach()
    width = torch.tensor((HIGH - LOW) / K, dtype=torch.float32)
    low, high = torch.tensor(LOW), torch.tensor(HIGH)
    shape = x_l.shape
    cols = [low + width * float(k) for k in (0, 1, 7, 12, 23)] + [high]
    cols += [x_l - 1e-3, x_l + 1e-3, x_u - 1e-3, x_u + 1e-3, 0.5 * (x_l + x_u)]
    cols += [x_l - 0.7, x_u + 0.7, x_l - 40.0, x_u + 40.0, x_l - 1e4, x_u + 1e4]
    cols += [low - 0.25, high + 0.25, torch.tensor(-math.inf), torch.tensor(math.inf)]
    cols += [torch.tensor(math.nan)]
    return torch.stack([torch.as_tensor(c, dtype=torch.float32).expand(shape) for c in cols])


@pytest.mark.parametrize("method", ["log_prob", "cdf"])
def test_compiled_matches_torch_per_point(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """One distribution per point (logits ``(N, K)``, params and x ``(N,)``): the fused kernel."""
    p = per_point_params(300)
    pts = probe_points(make(p))
    n_cols = pts.shape[0]
    rep = {k: v.repeat(n_cols, *([1] * (v.dim() - 1))) for k, v in p.items()}
    x = pts.reshape(-1)  # column j of row i is point j * 300 + i
    ref = torch_path(monkeypatch, make(rep), method, x)
    assert_same(compiled(make(rep), method, x), ref)
    assert ref.isfinite().float().mean() > 0.7  # mostly finite values, not all inf / NaN


@pytest.mark.parametrize("method", ["log_prob", "cdf"])
def test_compiled_matches_torch_shared(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """One parameter set (logits ``(K,)``, scalar params) at many points: the gathered kernel."""
    for i, (lxi, uxi) in enumerate([(0.0, 1e-7), (-0.3, 0.3), (5e-4, -2e-3), (0.05, -0.9)]):
        p = per_point_params(1, seed=i)
        p = {"logits": p["logits"][0], "lower_beta": p["lower_beta"][0],
             "upper_beta": p["upper_beta"][0], "lower_xi": torch.tensor(lxi),
             "upper_xi": torch.tensor(uxi)}  # fmt: skip
        g = torch.Generator().manual_seed(i)
        x = torch.cat([probe_points(make(p)), 4.0 * torch.randn(5000, generator=g)])
        ref = torch_path(monkeypatch, make(p), method, x)
        assert_same(compiled(make(p), method, x), ref)


@pytest.mark.parametrize("method", ["log_prob", "cdf"])
def test_compiled_broadcasts_as_torch(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Batch shapes that broadcast: sample dims over per-row logits, rows against columns of
    tail parameters, a scalar point against every row, and an expanded distribution."""
    p = per_point_params(12, seed=3)
    p["logits"] = p["logits"].reshape(3, 4, K)[:, :1]  # (3, 1, K)
    p["lower_xi"] = p["lower_xi"][:4]  # (4,) against rows (3, 1)
    p["upper_beta"] = p["upper_beta"][:4]
    p["lower_beta"] = p["lower_beta"][:3].reshape(3, 1)
    p["upper_xi"] = p["upper_xi"][:1]
    g = torch.Generator().manual_seed(3)
    for x in (6.0 * torch.randn(5, 3, 4, generator=g), torch.tensor(0.25), torch.tensor(-9.0)):
        ref = torch_path(monkeypatch, make(p), method, x)
        assert_same(compiled(make(p), method, x), ref)
    q = per_point_params(40, seed=4)
    x = 6.0 * torch.randn(2, 40, generator=g)
    ref = torch_path(monkeypatch, make(q).expand((2, 40)), method, x)
    assert_same(METHODS[method](make(q).expand((2, 40)), x), ref)
    ref = torch_path(monkeypatch, make(q), method, torch.tensor(1.5))
    assert_same(compiled(make(q), method, torch.tensor(1.5)), ref)


def test_compiled_at_splice_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the splice points themselves: the cdf (continuous there) matches, and log_prob is
    the torch value on one side or the other of the (discontinuous) density's splice."""
    p = per_point_params(400, seed=5)
    d = make(p)
    for x in (d.lower_splice.detach(), d.upper_splice.detach()):
        assert_same(compiled(make(p), "cdf", x), torch_path(monkeypatch, d, "cdf", x))
        got = compiled(make(p), "log_prob", x).double()
        sides = [
            torch_path(monkeypatch, d, "log_prob", torch.nextafter(x, x + s)).double()
            for s in (-1.0, 0.0, 1.0)
        ]
        close = [(got - s).abs() <= 1e-5 + 1e-6 * s.abs() for s in sides]
        assert bool((close[0] | close[1] | close[2]).all())
        assert bool(close[1].float().mean() > 0.9)


def test_row_statistics_match_torch() -> None:
    """The kernels' log-normaliser and body quantiles (bin units) equal ``row_stats``', for
    bin counts below, at and off the kernels' block of 8."""
    for n_bins in (3, 15, 24, 101):
        logits = 4.0 * torch.randn(700, n_bins, generator=torch.Generator().manual_seed(n_bins))
        lse, pos, cum = kernels.row_tables(logits.numpy(), ALPHA, True)
        ref_lse, ref_pos = row_stats(logits, ALPHA)
        np.testing.assert_allclose(lse, ref_lse.numpy(), atol=1e-5, rtol=1e-6)
        np.testing.assert_allclose(pos, ref_pos.numpy(), atol=1e-4)
        ref_cum = torch.softmax(logits.double(), -1).cumsum(-1)
        np.testing.assert_allclose(cum, ref_cum.numpy(), atol=1e-6)


def test_nan_logits_give_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row with a NaN or +inf logit evaluates to NaN on both paths (other rows unharmed)."""
    p = per_point_params(4, seed=7)
    p["logits"][1, 3] = math.nan
    p["logits"][2, 5] = math.inf
    x = torch.tensor([0.1, 0.2, 0.3, 0.4])
    for method in METHODS:
        ref = torch_path(monkeypatch, make(p), method, x)
        got = compiled(make(p), method, x)
        assert_same(got, ref)
        assert got[1:3].isnan().all() and got[[0, 3]].isfinite().all()


def test_autograd_and_other_dtypes_keep_the_torch_path() -> None:
    """Gradients (the training loss) and float64 never take the compiled route."""
    p = per_point_params(50, seed=8)
    x = torch.randn(50)
    logits = p["logits"].clone().requires_grad_(True)
    d = make({**p, "logits": logits})
    assert d._stats is not None
    lp = d.log_prob(x)
    assert lp.grad_fn is not None
    lp.sum().backward()
    assert logits.grad is not None and logits.grad.isfinite().all()
    d64 = make({k: v.double() for k, v in p.items()})
    assert d64._stats is not None and d64.cdf(x.double()).dtype == torch.float64
    with torch.no_grad():
        d_ng = make({**p, "logits": logits})
        assert d_ng._stats is None
        d_ng.log_prob(x)
        assert d_ng._stats is None
    xg = x.clone().requires_grad_(True)
    d2 = make(p)
    out = d2.log_prob(xg)
    assert d2._stats is not None and out.grad_fn is not None


def test_kernels_compile_once() -> None:
    """Calls of other sizes reuse the compiled kernels (no new signature per call)."""
    p = per_point_params(30, seed=9)
    make(p).log_prob(torch.randn(30))
    before = len(kernels.eval_per_row.signatures)
    q = per_point_params(77, seed=10)
    make(q).log_prob(torch.randn(77))
    make(q).cdf(torch.randn(77))
    assert len(kernels.eval_per_row.signatures) == before
