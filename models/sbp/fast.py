"""Routing of SBP ``log_prob`` / ``cdf`` to the compiled kernels (``kernels.py``).

Only float32 CPU tensors that need no autograd take it; everything else (training's loss,
float64, other devices) gets ``None`` back and stays on the torch path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from passing_score.models.sbp import kernels

__all__ = ["compiled_eval", "needs_torch", "vector"]


def needs_torch(tensors: Sequence[torch.Tensor]) -> bool:
    """True when the torch path is required: autograd, another device or dtype."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return True
    return any(t.device.type != "cpu" or t.dtype != torch.float32 for t in tensors)


def compiled_eval(
    logits: torch.Tensor,
    params: Sequence[torch.Tensor],
    alpha: float,
    x: torch.Tensor,
    batch_shape: torch.Size,
    want_cdf: bool,
) -> torch.Tensor | None:
    """``cdf`` (``want_cdf``) or ``log_prob`` of ``x`` by the compiled kernels, or ``None``.

    ``logits`` is ``(*rows, K)`` with ``rows`` broadcasting to ``batch_shape``; ``params`` are
    ``(low, high, lower_xi, lower_beta, upper_xi, upper_beta)``. One point per row takes the
    fused kernel; otherwise (shared parameters, sample dimensions) per-row tables are built
    once and every point reads its row's."""
    if needs_torch([logits, x, *params]):
        return None
    shape = torch.broadcast_shapes(x.shape, batch_shape)
    if math.prod(shape) == 0:
        return None
    n_bins = logits.shape[-1]
    rows = logits.shape[:-1]
    xv, low, high, lxi, lbeta, uxi, ubeta = (vector(t, shape) for t in (x, *params))
    table = logits.detach().reshape(-1, n_bins).contiguous().numpy()
    tails = (lxi, lbeta, uxi, ubeta)
    if rows == shape:
        out = kernels.eval_per_row(table, xv, low, high, *tails, alpha, want_cdf)
    else:
        lse, pos, cum = kernels.row_tables(table, alpha, want_cdf)
        row = vector(torch.arange(table.shape[0]).reshape(rows), shape)
        out = kernels.eval_gathered(
            table, lse, pos, cum, row, math.prod(shape), xv, low, high, *tails, alpha, want_cdf
        )
    return torch.from_numpy(out).reshape(shape)


def vector(t: torch.Tensor, shape: torch.Size) -> np.ndarray:
    """``t`` broadcast to ``shape`` as a contiguous vector, or its one value if it holds one
    (an expanded scalar is not copied): the kernels then have one signature."""
    te = t.detach().expand(shape)
    if all(s == 0 or d == 1 for s, d in zip(te.stride(), te.shape, strict=True)):
        return te.as_strided((1,), (1,)).numpy()
    return te.reshape(-1).contiguous().numpy()
